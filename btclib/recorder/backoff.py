"""When to try connecting again: pure policies, no I/O, injectable randomness and clock."""

from __future__ import annotations

import random
from collections import deque

__all__ = ["Backoff", "ConnectBudget"]


class Backoff:
    """Exponential backoff with full jitter, capped.

    Delay ``n`` is uniform in ``[0, min(cap, base * 2**n)]`` ("full jitter",
    which spreads many clients' retries best); ``base`` and ``cap`` are the
    recorder's timings (:data:`~btclib.recorder.options.TIMINGS`). :meth:`reset` after a
    connection that worked, so one drop in a day is retried at once.
    """

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class ConnectBudget:
    """At most ``limit`` connection attempts in any ``window`` seconds.

    Each exchange allows so many connection attempts per window from one IP
    (its module's ``LIMITS.connect_budget`` per ``connect_window``: Binance's are
    counted in minutes, Upbit's in seconds); going over gets the IP refused or
    banned, so a reconnect storm is slowed down here instead.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds to wait before the next attempt is allowed (0 if allowed now)."""
        while self._times and now - self._times[0] >= self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window - now

    def spend(self, now: float) -> None:
        self._times.append(now)
