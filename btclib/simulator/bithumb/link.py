"""The asyncio side of one simulated Bithumb connection: its session and its timers.

Bithumb (docs/protocols-bithumb.md 6): drops a connection with nothing sent or
received for 60 s (documented: about 120 s), without a close frame; answers WebSocket
pings with pongs; answers a text ``PING`` with ``{"status":"UP"}`` and repeats it
every 10 s; sends no pings of its own. A bad request gets an error, then a close
1000. The settings come from ``SimConfig.settings`` by the names
in :data:`SETTINGS`, defaulting to the documented values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from websockets.frames import Frame

from ..faults import Fault, MalformedKind
from ..link import COUNTED_OPCODES, ConnectionInfo, Host, Link, SimConnection
from ..market import Step
from .frames import STATUS_UP
from .malformed import malformed_frame
from .session import BithumbSession

__all__ = ["SETTINGS", "BithumbLink", "setting"]

SETTINGS: Mapping[str, float] = {
    "bithumb_idle_timeout": 60.0,
    "bithumb_status_interval": 10.0,
    "bithumb_error_close_delay": 0.15,
    "bithumb_publish_ms": 100,
    "bithumb_connect_count": 10,
    "bithumb_connect_window": 1.0,
}
"""Each setting's value on the wire (docs/protocols-bithumb.md 6): an idle socket dropped
at 60 s (the docs say about 120 s; the probe saw 60 s, 1006, no close frame); status UP
every 10 s after a text PING; an error answered, then a close 1000 (delay UNCONFIRMED,
Upbit's 150 ms); books on a 100 ms grid (about 10 a second on KRW-BTC); 10 connection
requests a second per IP (documented)."""


def setting(settings: Mapping[str, Any], name: str) -> Any:
    """``SimConfig.settings[name]``, else its documented value (:data:`SETTINGS`);
    ``bithumb_idle_timeout`` may be None (never close an idle client)."""
    return settings.get(name, SETTINGS[name])


class BithumbLink(Link):
    """One Bithumb connection: status after PING, idle timeout, binary data frames."""

    exchange = "bithumb"
    binary = True

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(host, ws, info, faults)
        ws.ping_interval = None  # Bithumb does not ping; it answers
        self.settings = self.config.settings
        self.session = BithumbSession(publish_ms=int(setting(self.settings, "bithumb_publish_ms")))
        self.last_inbound = self.loop.time()
        self._status: asyncio.Task[None] | None = None

    def inbound(self, frame: Frame) -> None:
        if frame.opcode in COUNTED_OPCODES:
            self.last_inbound = self.loop.time()

    async def serve(self) -> None:
        idle = setting(self.settings, "bithumb_idle_timeout")
        if idle is not None:
            self.spawn(self._idle(float(idle)))
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
                await asyncio.sleep(float(setting(self.settings, "bithumb_error_close_delay")))
                await self.ws.close(1000)
                return

    def on_step(self, step: Step) -> None:
        assert self.market is not None
        for channel, text in self.session.frames(step, self.market):
            self.emit(channel, text)

    async def _status_up(self) -> None:
        interval = float(setting(self.settings, "bithumb_status_interval"))
        while True:
            await asyncio.sleep(interval)
            self.control(STATUS_UP)

    async def _idle(self, timeout: float) -> None:
        while True:
            remaining = self.last_inbound + timeout - self.loop.time()
            if remaining <= 0:
                # Probed: an idle socket is dropped at 60 s, 1006, no close frame.
                self.request_abort()
                return
            await asyncio.sleep(remaining)

    def malformed_text(self, kind: MalformedKind) -> str:
        return malformed_frame(kind, self.session, self.live_market())
