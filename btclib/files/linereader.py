"""Read a file line by line in bounded memory, whatever it holds.

Captures, events logs and data files are read back for replays, run listings
and analysis. A damaged file (a crash, two writers, a disk error) may hold one
enormous "line": ``for line in f`` would hold all of it in memory (a 1.5 MB
``.gz`` that inflates to one 1.5 GB line took 3 GB). :func:`read_lines` yields
whole lines up to ``limit`` bytes and, for a longer one, a :class:`Skipped`
record saying where it was and how long, without ever holding more than
``limit`` bytes of it. Gzip files (``.gz``) are inflated as a stream, member
after member; a damaged stretch is skipped to the next member.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import CaptureError

__all__ = ["CHUNK", "Skipped", "bounded_lines", "read_lines"]

logger = logging.getLogger("btclib")

CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True, slots=True)
class Skipped:
    """Line ``line`` (1-based) was ``size`` bytes long, over the limit: skipped unread.

    ``size`` is -1 for a stretch of damaged compressed data (its length in
    lines is unknown).
    """

    line: int
    size: int


def bounded_lines(pieces: Iterable[bytes | None], limit: int) -> Iterator[bytes | Skipped]:
    """Lines (with their ``\\n``; the last may lack it) from a stream of byte pieces.

    ``None`` in ``pieces`` marks damage: the torn line before it is dropped
    and reported as skipped.
    """
    pending = bytearray()
    skipping = 0  # bytes of an overlong line seen so far (0: not skipping)
    number = 0
    for piece in pieces:
        if piece is None:
            if pending or skipping:
                number += 1
                yield Skipped(number, -1)
            pending.clear()
            skipping = 0
            continue
        start = 0
        while True:
            end = piece.find(b"\n", start)
            if end < 0:
                rest = len(piece) - start
                if skipping:
                    skipping += rest
                elif len(pending) + rest > limit:
                    skipping = len(pending) + rest
                    pending.clear()
                else:
                    pending += piece[start:]
                break
            number += 1
            size = end + 1 - start
            if skipping:
                yield Skipped(number, skipping + size)
                skipping = 0
            elif len(pending) + size > limit:
                yield Skipped(number, len(pending) + size)
                pending.clear()
            else:
                pending += piece[start : end + 1]
                yield bytes(pending)
                pending.clear()
            start = end + 1
    if skipping:
        yield Skipped(number + 1, skipping)
    elif pending:
        yield bytes(pending)


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


def _next_member(f: BinaryIO, data: bytes) -> bytes:
    """Bytes from the next gzip header on (``b""``: none left)."""
    while True:
        found = data.find(_GZIP_MAGIC)
        if found >= 0:
            return data[found:]
        more = f.read(CHUNK)
        if not more:
            return b""
        data = data[-2:] + more


def inflate(f: BinaryIO, path: Path) -> Iterator[bytes | None]:
    """Decompress gzip member after member, a chunk at a time; ``None`` marks damage.

    ``gzip.open`` stops at the first damage. A capture can be damaged by a
    crash (a member without its end marker) or by two processes appending at
    once; every member after the damage is still good, so skip to the next
    gzip header and go on.
    """
    data = f.read(CHUNK)
    if data and not data.startswith(_GZIP_MAGIC):
        raise CaptureError(f"{path}: not a gzip file")
    z = zlib.decompressobj(31)
    while data:
        try:
            out = z.decompress(data, CHUNK)
            while True:  # output comes CHUNK at a time: a tiny member may inflate to gigabytes
                if out:
                    yield out
                # At a member's end the rest is in unused_data (asking again would
                # append unconsumed_tail to it a second time).
                if z.eof or not z.unconsumed_tail:
                    break
                out = z.decompress(z.unconsumed_tail, CHUNK)
        except zlib.error as exc:
            logger.warning("%s: damaged gzip data skipped (%s)", path, exc)
            yield None
            data, z = _next_member(f, data[1:]), zlib.decompressobj(31)
            continue
        if z.eof:
            data, z = z.unused_data, zlib.decompressobj(31)
            if data:
                continue
        data = f.read(CHUNK)
    if not z.eof:  # a member cut short (a crash): what it inflated to so far
        with contextlib.suppress(zlib.error):
            if tail := z.flush():
                yield tail


def read_lines(path: str | Path, limit: int) -> Iterator[bytes | Skipped]:
    """The lines of ``path`` (inflated when it ends in ``.gz``), none longer than ``limit``."""
    path = Path(path)
    with path.open("rb") as f:
        pieces = inflate(f, path) if path.name.endswith(".gz") else _chunks(f)
        yield from bounded_lines(pieces, limit)
