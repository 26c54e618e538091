"""The events log beside each data file, and the tap that sees every frame."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

__all__ = ["EventLog", "FrameTap"]

logger = logging.getLogger("btclib")


class FrameTap(Protocol):
    """Receives every frame as it arrived (for captures); see :mod:`btclib.files.capture`."""

    def frame(self, exchange: str, conn: int, n: int, data: bytes, binary: bool) -> None: ...

    def event(self, exchange: str, conn: int, event: str, **fields: Any) -> None: ...


class EventLog:
    """What happened during a run, one JSON object a line, beside the data file.

    The data file keeps the SPEC line format, so it cannot say where it has
    holes; this log can: connects, closes with code and reason, stalls,
    rotations, gaps with the trades missed, bad frames, errors.
    """

    def __init__(self, path: Path | None, tap: FrameTap | None = None) -> None:
        self.path = path
        self._tap = tap
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Binary: a text-mode file would end each line with \r\n on Windows.
            self._file = path.open("ab")

    def __call__(self, event: str, exchange: str = "", conn: int = 0, **fields: Any) -> None:
        record = {"time": round(time.time(), 6), "event": event}
        if exchange:
            record["exchange"] = exchange
        if conn:
            record["conn"] = conn
        record.update(fields)
        level = logging.DEBUG if event in ("reply", "status") else logging.INFO
        logger.log(level, "%s", json.dumps(record, ensure_ascii=False))
        if self._file is not None and level > logging.DEBUG:
            self._file.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            self._file.flush()
        if self._tap is not None and exchange:
            self._tap.event(exchange, conn, event, **fields)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
