"""Deterministic fault injection, chosen per exchange and per connection.

A :class:`Faults` is a list of :class:`Rule`; each rule applies one fault to
the connections it selects: an exchange (or both) and the connection's index
among that exchange's connection attempts (0 = the first, None = every one).
So "refuse the first Binance handshake with HTTP 451, accept the retry" is::

    Faults.of(Rule(Refuse(451), exchange="binance", connection=0))

The behaviours every real exchange always has (Binance's 5 messages per second
limit and 24 h lifetime, Upbit's idle timeout) are not faults; their settings
live in :class:`~btclib.simulator.config.SimConfig`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "PROXY_ERROR_PAGE",
    "Drop",
    "Exchange",
    "Fault",
    "FaultSource",
    "Faults",
    "Fired",
    "Malformed",
    "MalformedKind",
    "MicrosecondTimestamps",
    "Refuse",
    "Rule",
    "Shutdown",
    "Stall",
    "Stalls",
]

#: An exchange's registry name (:data:`btclib.simulator.registry.EXCHANGES`).
Exchange = str


@dataclass(frozen=True)
class Drop:
    """Abort the TCP connection without a close frame (the client sees 1006).

    Triggers after ``after_messages`` data frames or ``after_seconds`` since
    the handshake, whichever comes first. Frames already sent are flushed
    first, so everything listed in ``Simulator.sent`` did reach the socket.
    With ``close_code`` the server ends the connection with that close frame
    instead (a server restarting says 1001, a crashing one 1011).
    """

    after_messages: int | None = None
    after_seconds: float | None = None
    close_code: int | None = None


@dataclass(frozen=True)
class Shutdown:
    """End the connection ``after_seconds`` after the handshake, the way a lifetime cut does.

    Binance first announces it with ``serverShutdown`` ``notice`` seconds
    before (None: no notice, a bare lifetime cut), then closes with
    ``SimConfig.binance_lifetime_close_code``; an exchange without such a
    notice just closes (1001). Unlike ``SimConfig.binance_lifetime`` it picks
    connections like any fault, so one connection can be cut early.
    """

    after_seconds: float
    notice: float | None = None


@dataclass(frozen=True)
class Stall:
    """Stop sending data while the socket stays open and pings are answered.

    Starts after ``after_messages`` data frames or ``after_seconds`` (default:
    at once) and lasts ``duration`` seconds (None: until the connection ends).
    ``channels`` limits the stall to streams whose name contains one of the
    strings, e.g. ``("depth",)`` silences Binance depth while trades flow;
    Upbit channels are ``"orderbook"`` and ``"trade"``.
    """

    after_messages: int | None = None
    after_seconds: float | None = None
    duration: float | None = None
    channels: tuple[str, ...] | None = None

    def covers(self, channel: str) -> bool:
        return self.channels is None or any(c in channel for c in self.channels)


class Stalls:
    """When the :class:`Stall` faults of one connection silence a channel.

    Pure: the caller passes the time and the data frames sent so far, so the
    rule runs in a test without a socket or a clock. Each stall starts once,
    when its trigger is first seen on a data frame, and holds from then on.
    """

    def __init__(self, stalls: Iterable[Stall], opened: float) -> None:
        self.stalls = tuple(stalls)
        self.opened = opened
        self._start: dict[int, float] = {}
        #: Stalls that have begun, in the order they began.
        self.started: list[Stall] = []

    def silences(self, channel: str, now: float, data_sent: int) -> bool:
        """Whether a data frame of ``channel`` is held back at ``now``."""
        for i, stall in enumerate(self.stalls):
            start = self._start.get(i)
            if start is None:
                by_count = stall.after_messages is not None and data_sent >= stall.after_messages
                by_time = (
                    stall.after_seconds is not None and now >= self.opened + stall.after_seconds
                )
                if (
                    by_count
                    or by_time
                    or (stall.after_messages is None and stall.after_seconds is None)
                ):
                    start = self._start[i] = now
                    self.started.append(stall)
                else:
                    continue
            if stall.duration is not None and now >= start + stall.duration:
                continue
            if stall.covers(channel):
                return True
        return False


@dataclass(frozen=True)
class Refuse:
    """Refuse the opening handshake with an HTTP error.

    ``body`` defaults to what the exchange sends: Binance's JSON for 451.
    """

    status: int = 451
    body: str | None = None


class MalformedKind(StrEnum):
    """Broken frames an exchange (or a proxy in front of it) can send."""

    #: A frame that is not JSON at all (an HTML error page).
    NOT_JSON = "not_json"
    #: A data frame cut in the middle.
    TRUNCATED = "truncated"
    #: A depth payload without ``bids`` (Upbit: an orderbook without units).
    MISSING_BIDS = "missing_bids"
    #: Data of a stream the client never asked for (``ethusdt@trade``, ``KRW-ETH``).
    FOREIGN_STREAM = "foreign_stream"


#: What a proxy in front of any exchange sends instead of JSON (``NOT_JSON``).
PROXY_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
)


@dataclass(frozen=True)
class Malformed:
    """Inject one malformed frame after ``after_messages`` data frames.

    Injected frames are listed in ``Simulator.injected``, never in ``sent``.
    """

    kind: MalformedKind
    after_messages: int = 0


@dataclass(frozen=True)
class MicrosecondTimestamps:
    """Upbit: time fields in microseconds (seen on some markets in 2023)."""


Fault = Drop | Stall | Refuse | Malformed | MicrosecondTimestamps | Shutdown


@dataclass(frozen=True)
class Rule:
    """Apply ``fault`` to the selected connections."""

    fault: Fault
    #: None: both exchanges.
    exchange: Exchange | None = None
    #: 0-based index among this exchange's connection attempts; None: all.
    connection: int | None = None

    def selects(self, exchange: Exchange, index: int) -> bool:
        return (self.exchange in (None, exchange)) and self.connection in (None, index)


@dataclass(frozen=True)
class Faults:
    """The fault rules of a simulator run; empty means a healthy exchange."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def of(cls, *items: Rule | Fault) -> Faults:
        """Build from rules; a bare fault applies to every connection."""
        return cls(tuple(i if isinstance(i, Rule) else Rule(i) for i in items))

    def matching(self, exchange: Exchange, index: int) -> tuple[Fault, ...]:
        """Faults that apply to connection ``index`` of ``exchange``."""
        return tuple(r.fault for r in self.rules if r.selects(exchange, index))


class FaultSource(Protocol):
    """What the server asks for each connection attempt: :class:`Faults`, or a random plan
    (:class:`~btclib.simulator.chaos.RandomFaults`)."""

    def matching(self, exchange: Exchange, index: int) -> tuple[Fault, ...]: ...


@dataclass(frozen=True)
class Fired:
    """A fault that took effect: on which connection attempt, and when (wall clock).

    ``Simulator.fired`` lists them, so a run can say how many faults it
    really met (a fault chosen for a connection that ended first never fires).
    """

    time: float
    exchange: Exchange
    #: The connection attempt's index (as in :class:`Rule`).
    index: int
    fault: Fault
    #: The accepted connection's id; 0 for a refused handshake.
    conn_id: int = field(default=0)
