"""The asyncio side of one connection of the quotation family
(:mod:`btclib.simulator.quotation`): the request loop and the timers its venues share;
each venue's link subclasses it with its session and its timings.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from websockets.frames import Frame

from ..link import COUNTED_OPCODES, Link
from ..market import Market, Step
from .session import STATUS_UP, Reply

__all__ = ["QuotationLink", "QuotationSession"]


class QuotationSession(Protocol):
    """What :class:`QuotationLink` asks of a venue's session (pure, no I/O)."""

    request: Any
    """The subscription in force (its ``subscriptions``, each with ``codes``), or None."""

    def handle(self, text: str, market: Market | None) -> Reply: ...

    def frames(self, step: Step, market: Market) -> list[tuple[str, str]]: ...


class QuotationLink(Link):
    """One connection of the family: binary frames, status after PING, idle timeout,
    an error answered then a close 1000. A venue's subclass sets :attr:`session` and
    says its timings (read when used, so a test's config change is seen)."""

    binary = True
    session: QuotationSession

    @property
    def idle_timeout(self) -> float | None:
        """Seconds without inbound traffic before the socket is dropped (None: never)."""
        raise NotImplementedError

    @property
    def status_interval(self) -> float:
        """Seconds between status UP frames after a text PING."""
        raise NotImplementedError

    @property
    def error_close_delay(self) -> float:
        """Seconds between an error answered and the close 1000."""
        raise NotImplementedError

    def start(self) -> None:
        """The family's timers' starting state; a subclass's ``__init__`` calls it."""
        self.ws.ping_interval = None  # the server never pings; it answers
        self.last_inbound = self.loop.time()
        self._status: asyncio.Task[None] | None = None

    def inbound(self, frame: Frame) -> None:
        if frame.opcode in COUNTED_OPCODES:
            self.last_inbound = self.loop.time()

    async def serve(self) -> None:
        idle = self.idle_timeout
        if idle is not None:
            self.spawn(self._idle(idle))
        market = self.market if self.replay is None else None
        async for message in self.ws:
            if self.closing:
                continue
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            reply = self.session.handle(text, market)
            for frame in reply.control:
                self.control(frame)
            for channel, frame in reply.data:
                self.emit(channel, frame)
            if reply.ping and self._status is None:
                self._status = self.spawn(self._status_up())
            if reply.subscribed and self.replay is not None:
                self.replay.attach(self)
            if reply.close:
                await self.flushed()
                self.closing = True
                await asyncio.sleep(self.error_close_delay)
                await self.ws.close(1000)
                return

    def on_step(self, step: Step) -> None:
        assert self.market is not None
        for channel, text in self.session.frames(step, self.market):
            self.emit(channel, text)

    async def _status_up(self) -> None:
        interval = self.status_interval
        while True:
            await asyncio.sleep(interval)
            self.control(STATUS_UP)

    async def _idle(self, timeout: float) -> None:
        while True:
            remaining = self.last_inbound + timeout - self.loop.time()
            if remaining <= 0:
                # Observed on both venues: an idle socket is dropped, 1006, no close frame.
                self.request_abort()
                return
            await asyncio.sleep(remaining)
