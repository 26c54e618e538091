"""The asyncio side of one simulated Binance connection: its session and its timers.

Binance pings every 20 s and drops a client that stays silent to them, cuts a
client that sends more than 5 messages (pings and pongs included) in any
second with close 1008, and ends every connection after 24 h, optionally
announced by ``serverShutdown`` (protocols.md 1.7 and 1.8). The frames come
from :mod:`.session`, :mod:`.frames` and :mod:`.malformed`.
"""

from __future__ import annotations

from collections import deque

from websockets.frames import Frame

from ..faults import Fault, MalformedKind
from ..link import COUNTED_OPCODES, ConnectionInfo, Host, Link, SimConnection
from ..market import Step
from .frames import server_shutdown
from .malformed import malformed_frame
from .session import BinanceSession, parse_url

__all__ = ["RATE_LIMIT_CLOSE", "BinanceLink"]

#: Close code and reason of the cut for too many inbound messages.
RATE_LIMIT_CLOSE = (1008, "Too many requests")


class BinanceLink(Link):
    """One Binance connection: combined or raw streams, rate limit, lifetime."""

    exchange = "binance"
    binary = False

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(host, ws, info, faults)
        url = parse_url(info.path)
        assert url is not None, "routed a path Binance does not serve"
        ws.ping_interval = self.config.binance_ping_interval
        ws.ping_timeout = self.config.binance_ping_timeout
        self.session = BinanceSession(
            url,
            host.symbols("binance"),
            max_streams=self.config.binance_max_streams,
            phases=host.phases("binance"),
        )
        self._window: deque[float] = deque()
        self._watch()

    def _watch(self) -> None:
        """Have the market serve the listed symbols this connection asks for."""
        market = self.live_market()
        if market is not None:
            market.watch("binance", self.session.watched)

    def inbound(self, frame: Frame) -> None:
        limit = self.config.binance_rate_limit
        if limit is None or frame.opcode not in COUNTED_OPCODES or self.closing:
            return
        now = self.loop.time()
        self._window.append(now)
        while self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) > limit:
            # Binance disconnects a client that sends more than 5 messages in a second.
            self.closing = True
            self.spawn(self.ws.close(*RATE_LIMIT_CLOSE))

    async def serve(self) -> None:
        if self.config.binance_lifetime is not None:
            self.spawn(self.cut(self.config.binance_lifetime, self.config.binance_shutdown_notice))
        if self.replay is not None:
            self.replay.attach(self)
        async for message in self.ws:
            if self.closing:
                continue
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self.control(self.session.handle(text))
            self._watch()

    def on_step(self, step: Step) -> None:
        assert self.market is not None
        for stream, text in self.session.frames(step, self.market):
            self.emit(stream, text)

    def _now_us(self) -> int:
        return self.market.now_us if self.market else int(self.config.clock() * 1e6)

    def announce_shutdown(self) -> None:
        self.control(
            server_shutdown(
                self._now_us(), combined=self.session.combined, time_unit=self.session.time_unit
            )
        )

    @property
    def shutdown_close_code(self) -> int:
        return self.config.binance_lifetime_close_code

    def malformed_text(self, kind: MalformedKind) -> str:
        market = self.live_market()
        return malformed_frame(kind, self.session, market, self._now_us())
