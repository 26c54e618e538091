"""Every error btclib raises on purpose, under one root.

Catch :class:`BtclibError` to handle them all (the command line does: one
line, ``btclib: error: ...``, exit 1). Each subclass names a place where a run
can end for a reason retrying will not heal, and its message names what was
wrong and, where there is one, the way out.

A run that ends on an error has still written whole lines: the error's
``summary`` holds what was recorded until then (``None`` when the error
happened before recording began).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .recorder.summary import RunSummary

__all__ = [
    "BtclibError",
    "CaptureError",
    "ExchangeError",
    "RecordingError",
    "SelfCheckError",
    "SinkError",
]


class BtclibError(Exception):
    """The root of btclib's errors."""

    summary: RunSummary | None = None
    """What the run recorded before it stopped on this error, if it had begun."""


class RecordingError(BtclibError):
    """The run stopped on something retrying cannot heal; the message says what.

    Refused handshakes (HTTP 451, 4xx), invalid URLs, connection after
    connection that never sent data (an unknown symbol), too many refusals.
    """


class ExchangeError(BtclibError):
    """The exchange sent an error message about our request.

    Retrying the same request would get the same answer, so the recorder
    stops and reports it instead of reconnecting forever. Each exchange
    module has its own subclass (``BinanceError``, ``UpbitError``).
    """


class SinkError(BtclibError, OSError):
    """A data, events or capture file cannot be written (full disk, no permission, locked).

    Also an :class:`OSError`, with the ``errno`` of the failure.
    """


class CaptureError(BtclibError, ValueError):
    """A capture file is not one btclib can read (wrong format, damaged)."""


class SelfCheckError(BtclibError, AssertionError):
    """A notebook's self-check found that what it printed does not hold (the counts of a run
    disagree with its file, say): raised so that nbmake and ``make report`` fail on it."""
