"""Every error btclib raises on purpose, under one root.

Catch :class:`BtclibError` to handle them all (the command line does: one
line, ``btclib: error: ...``, exit 1). Each subclass names a place where a run
can end for a reason retrying will not heal, and its message names what was
wrong and, where there is one, the way out. The whole tree (each class is
defined here, except each exchange module's own :class:`ExchangeError`, which
adds the exchange's words)::

    BtclibError
    |-- RecordingError           a refusal, an invalid URL, silence, too many 429s
    |   `-- ListingError         the exchange's market listing (``all``) unreadable
    |-- ExchangeError            the exchange answered our request with an error
    |   `-- <Name>Error          one per exchange module: BinanceError, UpbitError, ...
    |                            (Upbit's and Bithumb's under QuotationError, their shared shape)
    |-- BrokerError              the message broker refused or cannot be reached at the start
    |-- SinkError (OSError)      a data, events or capture file cannot be written
    |-- CaptureError (ValueError)  a capture file btclib cannot read
    |-- SelfCheckError (AssertionError)  a notebook's self-check does not hold
    `-- BuildError (RuntimeError)  the C++ twin btcrec cannot be built

Each also derives from the built-in exception in brackets, so code that
catches that one keeps working.

A run that ends on an error has still written whole lines: the error's
``summary`` holds what was recorded until then (``None`` when the error
happened before recording began).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .recorder.summary import RunSummary

__all__ = [
    "BrokerError",
    "BtclibError",
    "BuildError",
    "CaptureError",
    "ExchangeError",
    "ListingError",
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


class ListingError(RecordingError):
    """The exchange's market listing could not be fetched or read; the message says why.

    Raised by :mod:`btclib.exchanges.markets` when ``all`` markets are asked for.
    """


class ExchangeError(BtclibError):
    """The exchange sent an error message about our request.

    Retrying the same request would get the same answer, so the recorder
    stops and reports it instead of reconnecting forever. Each exchange
    module has its own subclass (``BinanceError``, ``UpbitError``).
    """


class BrokerError(BtclibError):
    """The message broker (``--publish``, ``consume``) refused or cannot be reached at the
    start: no server, bad credentials, no JetStream, a stream with other subjects. The
    message names the way out. (Once a recording runs, an outage is not an error: lines
    wait in the spool.)"""


class SinkError(BtclibError, OSError):
    """A data, events or capture file cannot be written (full disk, no permission, locked).

    Also an :class:`OSError`, with the ``errno`` of the failure.
    """


class CaptureError(BtclibError, ValueError):
    """A capture file is not one btclib can read (wrong format, damaged)."""


class SelfCheckError(BtclibError, AssertionError):
    """A notebook's self-check found that what it printed does not hold (the counts of a run
    disagree with its file, say): raised so that nbmake and ``make report`` fail on it."""


class BuildError(BtclibError, RuntimeError):
    """btcrec (the C++ twin) could not be built; the message says why in plain words, then
    the end of the build's output (:mod:`btclib.tools.btcrec`)."""
