"""Drive the pure :class:`~btclib.simulator.market.Market` in real time.

One task steps the market on its fixed grid, ``speedup`` times faster than the
wall clock, and hands every :class:`~btclib.simulator.market.Step` to the
listeners (one per connection). When the event loop falls behind, the missed
steps run back to back in bounded batches: the content stays the same, only
delivery bunches up; on a machine too slow for the speedup, market time slows.

The market starts with the first connection, so a client that connects to a
fresh simulator sees the same frames for the same seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from .market import Instrument, Market, MarketParams, Step

__all__ = ["MarketFeed"]

logger = logging.getLogger("btclib.simulator")

Listener = Callable[[Step], None]

#: Steps run back to back before the loop gets to serve connections again.
_MAX_BATCH = 50
#: Largest delay (seconds) the market catches up on; beyond it, it slows down.
_MAX_LAG = 0.5


class MarketFeed:
    """Owns the market and its stepping task; listeners are called synchronously."""

    def __init__(
        self,
        params: MarketParams,
        *,
        seed: int,
        speedup: float,
        clock: Callable[[], float],
        listed: Iterable[Instrument] = (),
        added: Iterable[Instrument] = (),
    ) -> None:
        """``listed``: markets served once a client subscribes to them (:meth:`Market.watch`);
        ``added``: books exchange packages add to the default ones (stepped with them)."""
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.params = params
        self.seed = seed
        self.speedup = speedup
        self.clock = clock
        self.listed = tuple(listed)
        self.added = tuple(added)
        self.market: Market | None = None
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Market:
        """Create the market and start stepping it, once."""
        if self.market is None:
            # Start on a whole second so that publication grids (Binance 1000 ms,
            # Upbit 100 ms) fall on round timestamps, as on the real exchanges.
            start_ms = int(self.clock()) * 1000
            self.market = Market(
                self.params,
                seed=self.seed,
                start_us=start_ms * 1000,
                listed=self.listed,
                added=self.added,
            )
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self.market

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every step; returns the function that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        assert self.market is not None
        market = self.market
        loop = asyncio.get_running_loop()
        origin = loop.time()
        step_s = self.params.step_ms / 1000.0 / self.speedup
        while True:
            due = int((loop.time() - origin) / step_s)
            behind = due - market.steps
            if behind * step_s > _MAX_LAG:
                # The machine cannot keep up with this speedup: let market time
                # slow down rather than starve every connection of the loop.
                origin += (behind - 1) * step_s
                due = market.steps + 1
            for _ in range(min(due - market.steps, _MAX_BATCH)):
                step = market.step()
                for listener in list(self._listeners):
                    try:
                        listener(step)
                    except Exception:
                        logger.exception("market listener failed")
            next_at = origin + (market.steps + 1) * step_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))
