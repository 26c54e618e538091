"""The asyncio side of one simulated Upbit connection: its session and its timers.

Upbit never pings; it answers a text ``PING`` with ``{"status":"UP"}`` and
repeats that every 10 s, drops a client silent for 120 s without a close
frame, and answers a bad request with an error, then closes normally about
150 ms later (protocols.md 2.6 and 2.7). The frames come from :mod:`.session`,
:mod:`.frames` and :mod:`.malformed`.
"""

from __future__ import annotations

import asyncio

from websockets.frames import Frame

from ..faults import Fault, MalformedKind
from ..link import COUNTED_OPCODES, ConnectionInfo, Host, Link, SimConnection
from ..market import Step
from .frames import STATUS_UP
from .malformed import malformed_frame
from .session import UpbitSession

__all__ = ["UpbitLink"]


class UpbitLink(Link):
    """One Upbit connection: binary frames, status after PING, idle timeout."""

    exchange = "upbit"
    binary = True

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(host, ws, info, faults)
        # Upbit never pings; it only answers.
        ws.ping_interval = None
        self.session = UpbitSession(
            microseconds=self.micro, publish_ms=self.config.upbit_publish_ms
        )
        self.last_inbound = self.loop.time()
        self._status: asyncio.Task[None] | None = None

    def inbound(self, frame: Frame) -> None:
        if frame.opcode in COUNTED_OPCODES:
            self.last_inbound = self.loop.time()

    async def serve(self) -> None:
        if self.config.upbit_idle_timeout is not None:
            self.spawn(self._idle(self.config.upbit_idle_timeout))
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
                # Upbit answers a bad request, then closes normally ~150 ms later.
                await self.flushed()
                self.closing = True
                await asyncio.sleep(self.config.upbit_error_close_delay)
                await self.ws.close(1000)
                return

    def on_step(self, step: Step) -> None:
        assert self.market is not None
        for channel, text in self.session.frames(step, self.market):
            self.emit(channel, text)

    async def _status_up(self) -> None:
        while True:
            await asyncio.sleep(self.config.upbit_status_interval)
            self.control(STATUS_UP)

    async def _idle(self, timeout: float) -> None:
        while True:
            remaining = self.last_inbound + timeout - self.loop.time()
            if remaining <= 0:
                # Observed: Upbit drops idle sockets with no close frame (1006).
                self.request_abort()
                return
            await asyncio.sleep(remaining)

    def malformed_text(self, kind: MalformedKind) -> str:
        return malformed_frame(kind, self.session, self.live_market())
