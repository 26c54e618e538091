"""btclib: record Binance and Upbit market data over WebSocket, byte-exact.

The pieces, each in its own module: :mod:`btclib.exchanges` (one module
per exchange, found through a small registry: URLs, requests, frame -> line,
line -> record; pure functions),
:mod:`btclib.recorder` (connect, keep alive, reconnect, write),
:mod:`btclib.files.sink` (one writer per file), :mod:`btclib.steps.sources` (live or
simulator), :mod:`btclib.simulator` (the local exchanges) and
:mod:`btclib.steps` (the assignment's steps as one call each).
"""

from .errors import BtclibError, CaptureError, ExchangeError, RecordingError, SinkError
from .quality import check
from .recorder import Progress, RecorderOptions, RunSummary
from .steps.steps import record, record_sync
from .version import __version__

__all__ = [
    "BtclibError",
    "CaptureError",
    "ExchangeError",
    "Progress",
    "RecorderOptions",
    "RecordingError",
    "RunSummary",
    "SinkError",
    "__version__",
    "check",
    "record",
    "record_sync",
]
