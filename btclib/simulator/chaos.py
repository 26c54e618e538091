"""Random faults from the catalogue, drawn per connection attempt: a fault soak's exchange.

Each fault test injects one fault; real outages come mixed. :class:`RandomFaults`
answers the server's question for every connection attempt ("which faults
for attempt ``index`` of ``exchange``?") with a draw from a seeded
:class:`random.Random`: a 429 refusal of a reconnect; an end for the
connection (a drop without a close frame, a close with one, a lifetime cut
announced by ``serverShutdown`` or not); a stall of one stream, short (a
hiccup) or long (a dead stream); garbage and foreign-stream frames.

Pure: no clock, no socket. The draw for an attempt depends only on the seed,
the exchange and the index (not on which exchange asked first), so a seed
reproduces the same faults connection by connection, and a test reads the
plan without running a server.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from .faults import (
    Drop,
    Exchange,
    Fault,
    Malformed,
    MalformedKind,
    Refuse,
    Shutdown,
    Stall,
)

__all__ = ["CHANNELS", "Odds", "RandomFaults"]

#: Channels a stall can silence, per exchange (a substring of the stream or type name).
CHANNELS: Mapping[Exchange, tuple[str, ...]] = {
    "binance": ("depth", "trade"),
    "upbit": ("orderbook",),
}

#: Close codes a server ends a connection with: going away, internal error, restart.
CLOSE_CODES = (1000, 1001, 1011, 1012)


@dataclass(frozen=True)
class Odds:
    """How often each fault is drawn, and how soon it strikes (seconds after the handshake)."""

    #: A reconnect (never the first attempt, never two in a row) is refused with 429.
    refuse: float = 0.15
    #: The connection is ended by the server (drop, close, or lifetime cut).
    end: float = 0.9
    #: Of those ends, the share of each kind; the rest are drops without a close frame.
    close_frame: float = 0.3
    shutdown_notice: float = 0.3
    lifetime_cut: float = 0.15
    #: The end strikes this long after the handshake.
    end_after: tuple[float, float] = (0.5, 4.0)
    #: A stream stalls.
    stall: float = 0.35
    stall_after: tuple[float, float] = (0.3, 3.0)
    #: A stall is a short hiccup this often (its length below); else it lasts until the end.
    stall_hiccup: float = 0.4
    hiccup: tuple[float, float] = (0.1, 0.5)
    #: Garbage or foreign-stream frames are injected (1 to 3 of them).
    malformed: float = 0.35
    #: Injected after this many data frames at most.
    malformed_after: int = 100
    #: Seconds of notice before an announced shutdown.
    notice: tuple[float, float] = (0.5, 2.0)


@dataclass(frozen=True)
class RandomFaults:
    """A fault source (``SimConfig.faults``) drawing each attempt's faults at random."""

    seed: int
    odds: Odds = field(default_factory=Odds)
    channels: Mapping[Exchange, tuple[str, ...]] = field(default_factory=lambda: dict(CHANNELS))

    def _rng(self, exchange: Exchange, index: int) -> random.Random:
        return random.Random(f"{self.seed}/{exchange}/{index}")

    def _refused(self, exchange: Exchange, index: int) -> bool:
        """Attempt ``index`` draws a refusal (before the rule that forbids two in a row)."""
        return index > 0 and self._rng(exchange, index).random() < self.odds.refuse

    def matching(self, exchange: Exchange, index: int) -> tuple[Fault, ...]:
        """The faults of connection attempt ``index`` of ``exchange``.

        A refusal is never drawn for the first attempt nor right after another
        one, so the recorder's limit on refusals in a row is never what ends
        the soak.
        """
        if self._refused(exchange, index) and not self._refused(exchange, index - 1):
            return (Refuse(429),)
        rng = self._rng(exchange, index)
        rng.random()  # the refusal draw above
        odds = self.odds
        faults: list[Fault] = []
        if rng.random() < odds.end:
            faults.append(self._end(rng))
        channels = self.channels.get(exchange, ())
        if channels and rng.random() < odds.stall:
            duration = rng.uniform(*odds.hiccup) if rng.random() < odds.stall_hiccup else None
            faults.append(
                Stall(
                    after_seconds=round(rng.uniform(*odds.stall_after), 3),
                    duration=None if duration is None else round(duration, 3),
                    channels=(rng.choice(channels),),
                )
            )
        if rng.random() < odds.malformed:
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(list(MalformedKind))
                faults.append(Malformed(kind, after_messages=rng.randint(0, odds.malformed_after)))
        return tuple(faults)

    def _end(self, rng: random.Random) -> Fault:
        odds = self.odds
        after = round(rng.uniform(*odds.end_after), 3)
        kind = rng.random()
        if kind < odds.close_frame:
            return Drop(after_seconds=after, close_code=rng.choice(CLOSE_CODES))
        kind -= odds.close_frame
        if kind < odds.shutdown_notice:
            return Shutdown(after, notice=round(rng.uniform(*odds.notice), 3))
        kind -= odds.shutdown_notice
        if kind < odds.lifetime_cut:
            return Shutdown(after)
        return Drop(after_seconds=after)
