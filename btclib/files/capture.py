"""Captures: every frame as received, with times, so a run can be replayed anywhere.

Format (version 1), JSON lines, gzip-compressed when the name ends in ``.gz``:

- line 1, the header::

    {"format":"btclib-capture","version":1,"btclib":"0.1.0","started":"2026-11-25T15:00:00Z",
     "started_ns":1795000000000000000,"exchanges":{"binance":{"url":"wss://...",
     "streams":["btcusdt@orderbook","btcusdt@trade"],"source":"live"}}}

- one record per received frame::

    {"t":<wall clock ns>,"m":<monotonic ns>,"c":<connection id>,"n":<seq in connection>,
     "x":"binance","b":false,"f":"<the frame exactly as received>"}

  ``b`` is true when the frame came as a binary WebSocket frame (Upbit); ``f``
  then holds its UTF-8 text. Frames that are not valid UTF-8 are stored as
  ``"fx"`` (hex) instead of ``"f"``.

- one record per event (connect, subscribe, close with code and reason,
  reconnect, stall, rotation, gap): ``{"t":..,"m":..,"c":..,"x":..,"ev":"closed",...}``.

A capture is written through a :class:`~btclib.files.sink.LineSink`, so it never
blocks the event loop and every record is a whole line. Compressed captures
are flushed with ``Z_SYNC_FLUSH`` per chunk: a capture cut short by a crash
is still readable up to its last chunk.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CaptureError
from ..feed import MAX_FRAME_BYTES, Feed
from ..version import __version__
from .linereader import Skipped, read_lines
from .sink import LineSink

logger = logging.getLogger("btclib")

FORMAT = "btclib-capture"
VERSION = 1
MAX_RECORD_BYTES = 2 * MAX_FRAME_BYTES + 4096
"""The longest record a recorder writes: a frame of the recorder's own size limit in hex,
with its fields. A longer line is damage."""


class _GzipWriter:
    """``os.write`` replacement that gzips each chunk, flushed so readers see it at once."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)

    def write(self, fd: int, data: memoryview) -> int:
        out = self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)
        view = memoryview(out)
        while view:
            view = view[os.write(fd, view) :]
        return len(data)

    def close(self, fd: int) -> None:
        tail = self._z.flush(zlib.Z_FINISH)
        while tail:
            tail = tail[os.write(fd, tail) :]


class CaptureWriter:
    """A :class:`~btclib.recorder.FrameTap` that writes a capture file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.frames = 0
        kwargs: dict[str, Any] = {}
        if self.path.name.endswith(".gz"):
            gz = _GzipWriter()
            kwargs = {"write": gz.write, "on_close": gz.close, "end_torn_line": False}
        self.sink = LineSink(self.path, **kwargs)

    def open(self, feeds: list[Feed], sources: dict[str, str]) -> None:
        self.sink.open()
        now = time.time_ns()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "btclib": __version__,
            "started": dt.datetime.fromtimestamp(now / 1e9, dt.UTC).isoformat(),
            "started_ns": now,
            "exchanges": {
                feed.exchange: {
                    "url": feed.url,
                    "streams": list(feed.streams),
                    "source": sources.get(feed.exchange, "live"),
                }
                for feed in feeds
            },
        }
        self._emit(header)

    def _emit(self, record: dict[str, Any]) -> None:
        self.sink.write(
            json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )

    def frame(self, exchange: str, conn: int, n: int, data: bytes, binary: bool) -> None:
        record: dict[str, Any] = {
            "t": time.time_ns(),
            "m": time.monotonic_ns(),
            "c": conn,
            "n": n,
            "x": exchange,
            "b": binary,
        }
        try:
            record["f"] = data.decode("utf-8")
        except UnicodeDecodeError:
            record["fx"] = data.hex()
        self.frames += 1
        self._emit(record)

    def event(self, exchange: str, conn: int, event: str, **fields: Any) -> None:
        record = {"t": time.time_ns(), "m": time.monotonic_ns(), "c": conn, "x": exchange}
        record["ev"] = event
        record.update(fields)
        self._emit(record)

    async def aclose(self) -> None:
        await self.sink.aclose()


@dataclass(frozen=True)
class Frame:
    """One captured frame."""

    wall_ns: int
    mono_ns: int
    conn: int
    n: int
    exchange: str
    data: bytes
    binary: bool


def read_capture(
    path: str | Path, skipped: list[Skipped] | None = None
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header and an iterator over the records (frames and events) of a capture.

    Memory stays bounded whatever the file holds: a record longer than
    :data:`MAX_RECORD_BYTES` (none the recorder writes is) or one that is not
    JSON is skipped unread, appended to ``skipped`` when given, and logged.
    """
    path = Path(path)
    lines = read_lines(path, MAX_RECORD_BYTES)
    first = next(lines, None)
    if isinstance(first, Skipped):
        raise CaptureError(f"{path}: not a btclib capture (its first line is {first.size} bytes)")
    try:
        header = json.loads(first) if first is not None else None
    except ValueError as exc:
        raise CaptureError(f"{path}: empty or not JSON lines") from exc
    if first is None:
        raise CaptureError(f"{path}: empty or not JSON lines")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CaptureError(f"{path}: not a btclib capture (no {FORMAT!r} header)")
    if header.get("version") != VERSION:
        raise CaptureError(
            f"{path}: capture format version {header.get('version')}, this btclib reads {VERSION}"
        )

    def skip(item: Skipped) -> None:
        logger.warning("%s: record %d skipped (%d bytes: damaged?)", path, item.line, item.size)
        if skipped is not None:
            skipped.append(item)

    def records() -> Iterator[dict[str, Any]]:
        number = 1  # the header's
        for line in lines:
            if isinstance(line, Skipped):
                number = line.line
                skip(line)
                continue
            number += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if line.endswith(b"\n"):
                    skip(Skipped(number, len(line)))
                    continue
                return  # a torn last line of a capture cut short
            if isinstance(record, dict):
                yield record

    return header, records()


def frames(path: str | Path, skipped: list[Skipped] | None = None) -> Iterator[Frame]:
    """Only the frames of a capture, in order, as bytes exactly as received.

    ``skipped`` collects the records skipped as damaged (see :func:`read_capture`).
    """
    _, records = read_capture(path, skipped)
    for r in records:
        if "ev" in r or "format" in r:  # events, and the header of an appended run
            continue
        data = r["f"].encode("utf-8") if "f" in r else bytes.fromhex(r["fx"])
        yield Frame(r["t"], r["m"], r["c"], r["n"], r["x"], data, bool(r.get("b")))


__all__ = [
    "MAX_RECORD_BYTES",
    "CaptureError",
    "CaptureWriter",
    "Frame",
    "Skipped",
    "frames",
    "read_capture",
]
