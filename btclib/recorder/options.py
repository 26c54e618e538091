"""The recorder's timings, written once, and the rules they make with each feed.

Two kinds of numbers supervise a feed, and each is written in one place:

- what the exchange allows and how its server behaves (connect budget,
  streams per connection, lifetime, stall limits): the exchange module's
  :class:`~btclib.feed.Limits`, carried by each :class:`~btclib.feed.Feed`;
- how patient the recorder is (backoff, how early to rotate, how long to
  overlap, timeouts, the queue to a slow disk): :class:`RecorderOptions`,
  whose defaults are the production values (:data:`TIMINGS`).

:class:`Rules` puts one of each together for the supervisor and copies
neither: it reads the feed's fields and the timings' fields where they are.
The C++ twin is checked against :data:`TIMINGS` (/work/tools/CONTRACT.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..feed import Feed
from ..files.sink import MAX_QUEUED_BYTES

__all__ = ["TIMINGS", "RecorderOptions", "Rules"]


@dataclass
class RecorderOptions:
    """Timings and limits of the recorder; the defaults suit the live exchanges (they are
    :data:`TIMINGS`), tests shorten them."""

    backoff_base: float = 0.5
    """First reconnect delay ceiling (full jitter: uniform in 0..base*2**attempt)."""
    backoff_cap: float = 30.0
    """Largest reconnect delay ceiling."""
    open_timeout: float = 10.0
    """Seconds a WebSocket handshake may take."""
    close_timeout: float = 2.0
    """Seconds a closing handshake may take."""
    ping_timeout: float = 20.0
    """Seconds a client ping may wait for its pong before the connection counts as dead."""
    rotate_before: float = 600.0
    """Open the replacement this long before the server's connection lifetime ends."""
    overlap_max: float = 10.0
    """Close the old connection at the latest this long after the new one opened."""
    rotation_retry: float = 30.0
    """After a replacement failed, try rotating again this much later."""
    check_interval: float = 0.25
    """Seconds between two looks of the supervisor at every rule (a fifth while rotating)."""
    progress_interval: float = 0.5
    """Seconds between two progress reports."""
    max_refusals: int = 5
    """Give up after this many HTTP 418/429 refusals in a row."""
    max_silent: int = 3
    """Give up after this many connections in a row that never sent any data."""
    max_queued_bytes: int = MAX_QUEUED_BYTES
    """Bound of the queue to a slow disk; when full, reading waits for room."""
    fsync_interval: float = 1.0
    """Seconds between two fsyncs of the data file."""
    probe_timeout: float = 5.0
    """Seconds ``source="auto"`` gives a live endpoint to answer before the simulator stands
    in (:func:`btclib.steps.sources.open_source`; btcrec's runs too)."""

    def rules(self, feed: Feed) -> Rules:
        """The supervisor's rules for ``feed``: its own limits with these timings."""
        return Rules(feed, self)


TIMINGS = RecorderOptions()
"""The production timings: what a recording uses unless told otherwise (read-only by
convention: build a :class:`RecorderOptions` of your own to change one)."""


@dataclass(frozen=True)
class Rules:
    """What one feed is supervised by: the exchange's limits (``feed``) and the
    recorder's patience (``timings``), each read where it is written."""

    feed: Feed
    timings: RecorderOptions

    @property
    def title(self) -> str:
        """The exchange as people write it (its module's ``TITLE``), for messages."""
        return self.feed.title or self.feed.exchange

    def rotation_due(self, opened: float) -> float | None:
        """When a connection opened at ``opened`` should be replaced (``None``: never)."""
        lifetime = self.feed.lifetime
        if lifetime is None:
            return None
        return opened + lifetime - min(self.timings.rotate_before, lifetime / 2)
