"""Files for weeks: when a data file is switched, what the files of a set are called, and
how a closed one is compressed.

Why: a recorder left running writes about 94 MB an hour into one file that grows forever.
``rotate="daily"`` starts a new file at each UTC midnight, ``rotate="500MB"`` before a file
would pass that size; ``split="market"`` writes one file per market. The pieces here are
the rules and the names, without I/O on the hot path (the sinks in
:mod:`btclib.files.rotating` do the switching):

- :func:`due` is the pure rule "switch before writing this chunk?", given the time, the
  file's size and the chunk's. The clock is the caller's, so a test forces a midnight
  without sleeping to one.
- Names. A set is named by its *base*, the path a plain recording would have
  (``outputs/stream-data-multi.txt``). Its files put a key between the stem and the suffix:
  the UTC date for daily files (``stream-data-multi.2026-12-01.txt``), a six-digit
  sequence number from 1 for size-limited ones (``stream-data-multi.000002.txt``), the
  market (the line key's symbol, before ``@``) when split (``stream-data-multi.btcusdt.txt``,
  ``stream-data-multi.btcusdt.2026-12-01.txt``). Closed files get ``.gz`` appended.
- :func:`set_files` finds a set's files in recording order (what readers use).
- :func:`compress` gzips a closed file so that a crash at any moment leaves a complete copy:
  it writes ``NAME.gz.part``, fsyncs it, renames it to ``NAME.gz`` and only then removes
  ``NAME``. A reader takes ``NAME`` over ``NAME.gz`` when both exist (the ``.gz`` is then a
  finished copy whose original was not removed yet) and never reads a ``.part``.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DAILY",
    "Compressed",
    "Rotation",
    "Switch",
    "compress",
    "due",
    "file_key",
    "market_of",
    "member_name",
    "parse_rotate",
    "parse_split",
    "set_base",
    "set_files",
]

DAILY = "daily"
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
MIN_ROTATE_BYTES = 1024
"""Smaller limits are refused: a file per line or two is a typo, not a plan."""
_MARKET = re.compile(rb"^[a-z0-9_-]{1,64}$")
_OTHER = "other"
"""The file of lines whose key has no market (none of the SPEC's lines)."""
_GZ_CHUNK = 1 << 20
_KEYED = re.compile(
    r"^(?P<stem>.+?)(?:\.[a-z0-9_-]+)?\.(?:\d{4}-\d{2}-\d{2}|\d{6,})(?P<suf>\.[^.]*)$"
)


@dataclass(frozen=True)
class Rotation:
    """How files are switched: at each UTC midnight (``daily``) or before ``max_bytes``."""

    daily: bool = False
    max_bytes: int | None = None

    def __str__(self) -> str:
        return DAILY if self.daily else f"{self.max_bytes}B"

    def first_key(self, now: float, keys: list[str]) -> str:
        """The key of the file to write first, given the keys of the set's files."""
        if self.daily:
            return _date(now)
        return keys[-1] if keys else _seq(1)

    def next_key(self, now: float, key: str) -> str:
        """The key of the file after ``key``."""
        return _date(now) if self.daily else _seq(int(key) + 1)

    def until(self, key: str) -> float:
        """When a file with this key must be closed (seconds since the epoch; inf: never)."""
        if not self.daily:
            return float("inf")
        day = dt.date.fromisoformat(key) + dt.timedelta(days=1)
        return float(calendar.timegm(day.timetuple()))


@dataclass(frozen=True)
class Switch:
    """Lines stopped going to ``closed`` at byte ``end_offset`` (this run wrote ``lines``
    lines into it) and go on in ``opened`` from byte ``offset``."""

    closed: Path
    end_offset: int
    lines: int
    opened: Path
    offset: int
    market: str | None = None


@dataclass(frozen=True)
class Compressed:
    """Closed file ``path`` became ``gz`` (``None`` and ``error``: it stays as it was)."""

    path: Path
    gz: Path | None
    error: str | None = None


def due(now: float, until: float, size: int, adding: int, max_bytes: int | None) -> bool:
    """Switch to a new file before writing ``adding`` bytes of whole lines?

    Yes at or after ``until`` (the file's UTC midnight), or when the file holds something
    and the chunk would take it past ``max_bytes`` (so a file passes the limit only when a
    single chunk of lines is larger than the limit).
    """
    if now >= until:
        return True
    return max_bytes is not None and size > 0 and size + adding > max_bytes


def parse_rotate(value: str | Rotation | None) -> Rotation | None:
    """``None``, ``"daily"`` or a size (``"500MB"``, ``"2GiB"``, ``"1000000"``)."""
    if value is None or isinstance(value, Rotation):
        return value
    text = str(value).strip()
    if text.lower() == DAILY:
        return Rotation(daily=True)
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"rotate must be 'daily' or a size such as 500MB or 2GiB (B, KB, MB, GB, TB, "
            f"KiB, MiB, GiB, TiB), not {value!r}"
        )
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < MIN_ROTATE_BYTES:
        raise ValueError(f"rotate size must be at least {MIN_ROTATE_BYTES} bytes, not {value!r}")
    return Rotation(max_bytes=size)


def parse_split(value: str | None) -> str | None:
    """``None`` or ``"market"`` (one file per market)."""
    if value is None or value == "market":
        return value
    raise ValueError(f"split must be 'market' (one file per market), not {value!r}")


def market_of(line: bytes) -> str:
    """The market a line belongs to: its key's symbol, before ``@`` (``btcusdt``)."""
    market = line[: line.find(b"@")]
    return market.decode() if _MARKET.match(market) else _OTHER


def _date(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def _seq(n: int) -> str:
    return f"{n:06d}"


def member_name(base: Path, market: str | None, key: str | None) -> Path:
    """The file of set ``base`` for ``market`` (split) and ``key`` (date or number)."""
    parts = [base.stem, *(p for p in (market, key) if p is not None)]
    return base.with_name(".".join(parts) + base.suffix)


def _member(base: Path) -> re.Pattern[str]:
    stem, suffix = re.escape(base.stem), re.escape(base.suffix)
    # ``backfill`` names a companion (the trades fetched again after a gap,
    # btclib.quality.backfill), never a market: it is not a member of the set.
    market = r"(?:\.(?P<market>(?!backfill\.)(?=[a-z0-9_-]*[a-z_])[a-z0-9_-]+))?"
    key = r"(?:\.(?P<key>\d{4}-\d{2}-\d{2}|\d{6,}))?"
    return re.compile(f"^{stem}{market}{key}{suffix}(?P<gz>\\.gz)?$")


def file_key(base: Path, path: Path) -> tuple[str, str] | None:
    """``(market, key)`` of a member of set ``base`` (``""`` where absent), else None."""
    match = _member(base).match(path.name)
    if match is None or path.parent != base.parent:
        return None
    return match.group("market") or "", match.group("key") or ""


def set_files(base: str | Path) -> list[Path]:
    """The files of the set named by ``base`` in recording order, ``.gz`` included.

    ``base`` itself first when it exists (what was recorded before rotating), then each
    market's files (one group when not split) by date or number. Of ``NAME`` and
    ``NAME.gz`` only ``NAME`` is read (the ``.gz`` is a finished copy whose original was
    not yet removed); ``.part`` files (an unfinished compression) are never read.
    """
    base = Path(base)
    pattern = _member(base)
    found: dict[tuple[str, str], Path] = {}
    try:
        names = os.listdir(base.parent if str(base.parent) else ".")
    except FileNotFoundError:
        return []
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        where = (match.group("market") or "", match.group("key") or "")
        if where == ("", ""):
            if match.group("gz") is None:
                found[where] = base.with_name(name)  # the base itself (not its .gz)
            continue
        if match.group("gz") is None or where not in found:
            found[where] = base.with_name(name)
    return [found[where] for where in sorted(found)]


def set_base(path: str | Path) -> Path:
    """The base of the set a file belongs to (``x.2026-12-01.txt.gz`` -> ``x.txt``), or
    ``path`` itself when its name carries no date or number."""
    path = Path(path)
    name = path.name.removesuffix(".gz")
    match = _KEYED.match(name)
    if match is None:
        return path
    return path.with_name(match.group("stem") + match.group("suf"))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # Windows cannot open a folder: nothing to sync there
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def compress(path: Path, *, write: Callable[[object, bytes], object] | None = None) -> Path:
    """Gzip closed file ``path`` into ``path.gz`` and remove ``path``; returns ``path.gz``.

    The copy is written as ``path.gz.part``, fsynced and renamed, and the folder fsynced,
    before ``path`` goes: whenever it stops (a crash, a full disk) ``path`` is still there
    whole, or ``path.gz`` is complete. ``write(file, data)`` stands in for the copy's
    writes (tests fail it half-way).
    """
    gz = path.with_name(path.name + ".gz")
    part = path.with_name(path.name + ".gz.part")
    put = write or (lambda f, data: f.write(data))
    try:
        with path.open("rb") as src, part.open("wb") as dst:
            z = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip member
            while chunk := src.read(_GZ_CHUNK):
                put(dst, z.compress(chunk))
            put(dst, z.flush())
            dst.flush()
            os.fsync(dst.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    os.replace(part, gz)
    _fsync_dir(path.parent)
    path.unlink()
    _fsync_dir(path.parent)
    return gz
