"""The tap that sees every frame as it arrived (a capture is one).

The events log itself (its records, writer and reader) belongs to
:mod:`btclib.files.eventlog`; a tap also receives the events that concern an exchange.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["FrameTap"]


class FrameTap(Protocol):
    """Receives every frame as it arrived (for captures); see :mod:`btclib.files.capture`."""

    def frame(self, exchange: str, conn: int, n: int, data: bytes, binary: bool) -> None: ...

    def event(self, exchange: str, conn: int, event: str, **fields: Any) -> None: ...
