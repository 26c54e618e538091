"""The recorder's timings and limits, and the rules they make for each feed."""

from __future__ import annotations

from dataclasses import dataclass

from ..feed import Feed
from ..files.sink import MAX_QUEUED_BYTES
from .supervisor import (
    Rules,
)

__all__ = ["RecorderOptions"]


@dataclass
class RecorderOptions:
    """Timings and limits; the defaults suit the live exchanges, tests shorten them."""

    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    open_timeout: float = 10.0
    close_timeout: float = 2.0
    ping_timeout: float = 20.0
    rotate_before: float = 600.0
    """Open the replacement this long before the server's connection lifetime ends."""
    overlap_max: float = 10.0
    """Close the old connection at the latest this long after the new one opened."""
    rotation_retry: float = 30.0
    """After a replacement failed, try rotating again this much later."""
    check_interval: float = 0.25
    progress_interval: float = 0.5
    max_refusals: int = 5
    """Give up after this many HTTP 429 refusals in a row."""
    max_silent: int = 3
    """Give up after this many connections in a row that never sent any data."""
    max_queued_bytes: int = MAX_QUEUED_BYTES
    """Bound of the queue to a slow disk; when full, reading waits for room."""
    fsync_interval: float = 1.0

    def rules(self, feed: Feed) -> Rules:
        """The supervisor's rules for ``feed``: its own limits with these timings."""
        return Rules(
            exchange=feed.exchange,
            url=feed.url,
            streams=feed.streams,
            stall_after=feed.stall_after,
            contiguous=feed.contiguous,
            lifetime=feed.lifetime,
            first_data_within=feed.first_data_within,
            connect_limit=feed.connect_limit,
            silence_hint=feed.silence_hint,
            status_hints=feed.status_hints,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            rotate_before=self.rotate_before,
            overlap_max=self.overlap_max,
            rotation_retry=self.rotation_retry,
            max_refusals=self.max_refusals,
            max_silent=self.max_silent,
        )
