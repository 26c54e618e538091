"""The asyncio layer: one WebSocket port speaking both exchanges' protocols.

Requests are routed by path: ``/ws...`` and ``/stream...`` go to the Binance
side, ``/websocket/v1`` to the Upbit side, anything else gets HTTP 404. Each
accepted connection gets a link that owns one protocol session
(:mod:`.binance` or :mod:`.upbit`, both pure), an outgoing queue drained by a
writer task in order, the timers of the exchange's rules and the faults chosen
for it. The market itself is stepped by :class:`~.feed.MarketFeed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response

from .binance import BinanceSession, UrlRequest, format_depth, parse_url, server_shutdown, wrap
from .config import SimConfig
from .faults import (
    Drop,
    Exchange,
    Fault,
    Malformed,
    MalformedKind,
    MicrosecondTimestamps,
    Refuse,
    Stall,
)
from .feed import MarketFeed
from .market import Market, Step, default_instruments
from .numbers import fixed8
from .replay import Replay
from .upbit import STATUS_UP, UpbitSession

__all__ = [
    "BINANCE_451_BODY",
    "ConnectionInfo",
    "SentFrame",
    "Simulator",
    "banner",
    "main",
    "run_simulator",
]

logger = logging.getLogger("btclib.simulator")

HOST = "127.0.0.1"
UPBIT_PATH = "/websocket/v1"

#: Body of Binance's HTTP 451 answer from restricted locations (protocols.md 1.10).
BINANCE_451_BODY = (
    '{"code":0,"msg":"Service unavailable from a restricted location according to '
    "'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer "
    'service if you believe you received this message in error."}'
)
_REFUSAL_BODIES: dict[tuple[Exchange, int], str] = {
    ("binance", 451): BINANCE_451_BODY,
    ("binance", 429): '{"code":-1003,"msg":"Too many requests."}',
    ("upbit", 429): '{"error":{"name":"too_many_requests","message":"Too many API requests."}}',
}
_NOT_JSON = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
_COUNTED = (Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG)


@dataclass(frozen=True)
class SentFrame:
    """One market data frame as it was handed to the socket."""

    conn_id: int
    exchange: Exchange
    payload: bytes | str
    binary: bool


@dataclass(frozen=True)
class ConnectionInfo:
    """An accepted WebSocket connection."""

    conn_id: int
    exchange: Exchange
    #: 0-based index among this exchange's connection attempts (as in fault rules).
    index: int
    path: str


def route(path: str) -> Exchange | None:
    """Which exchange a request path belongs to, or None (HTTP 404)."""
    if path.split("?", 1)[0] == UPBIT_PATH:
        return "upbit"
    if parse_url(path) is not None:
        return "binance"
    return None


class SimConnection(ServerConnection):
    """A server connection that shows every inbound frame to its link.

    websockets answers pings itself and never hands ping or pong frames to the
    application; Binance counts them against its rate limit and Upbit counts
    them as activity, so the link must see them here.
    """

    link: _Link | None = None

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and self.link is not None:
            self.link.inbound(event)
        super().process_event(event)


@dataclass(frozen=True)
class _Out:
    text: str | bytes
    #: Stream (Binance) or type (Upbit) of a data frame; None for control frames.
    channel: str | None
    #: Injected malformed frame: listed in ``Simulator.injected``.
    injected: bool = False
    #: Opcode override (replay); None: the exchange's own.
    binary: bool | None = None
    #: Sentinel: the writer drops the connection here.
    abort: bool = False


class _Link:
    """Everything one accepted connection needs beyond its protocol session."""

    exchange: Exchange
    binary: bool

    def __init__(
        self, sim: Simulator, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        self.sim = sim
        self.config = sim.config
        self.ws = ws
        self.info = info
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[_Out] = asyncio.Queue()
        self.data_sent = 0
        self.opened = self.loop.time()
        self.closing = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.drops = [f for f in faults if isinstance(f, Drop)]
        self.stalls = [f for f in faults if isinstance(f, Stall)]
        self.malformed = [f for f in faults if isinstance(f, Malformed)]
        self.micro = any(isinstance(f, MicrosecondTimestamps) for f in faults)
        self._stall_start: dict[int, float] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._writer_task: asyncio.Task[Any] | None = None

    # -- hooks for subclasses ---------------------------------------------------------

    def inbound(self, frame: Frame) -> None:
        """Called for every frame received, pings and pongs included."""

    async def serve(self) -> None:
        raise NotImplementedError

    def on_step(self, step: Step) -> None:
        raise NotImplementedError

    def malformed_text(self, kind: MalformedKind) -> str:
        raise NotImplementedError

    # -- common machinery -------------------------------------------------------------

    @property
    def market(self) -> Market | None:
        return self.sim.feed.market

    async def run(self) -> None:
        self._writer_task = self.spawn(self._writer())
        for drop in self.drops:
            if drop.after_seconds is not None:
                self.spawn(self._abort_later(drop.after_seconds))
        if self.sim.replay is None:
            self.sim.feed.start()
            self._unsubscribe = self.sim.feed.subscribe(self._step)
        try:
            await self.serve()
        except ConnectionClosed:
            pass  # the client went away or a fault cut the connection: nothing to report
        finally:
            self.closing = True
            if self._unsubscribe is not None:
                self._unsubscribe()
            if self.sim.replay is not None:
                self.sim.replay.detach(self)
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self.tasks.append(task)
        return task

    def _step(self, step: Step) -> None:
        if not self.closing:
            self.on_step(step)

    def emit(self, channel: str, text: str) -> None:
        """Queue one market data frame unless a stall silences its channel."""
        if not self.closing and not self._stalled(channel):
            self.queue.put_nowait(_Out(text, channel))

    def control(self, text: str) -> None:
        """Queue one non-data frame (reply, error, status, event)."""
        if not self.closing:
            self.queue.put_nowait(_Out(text, None))

    def replayed(self, payload: str | bytes, binary: bool, data: bool) -> None:
        """Queue one captured frame, exactly as captured."""
        if self.closing:
            return
        if data:
            if not self._stalled("replay"):
                self.queue.put_nowait(_Out(payload, "replay", binary=binary))
        else:
            self.queue.put_nowait(_Out(payload, None, binary=binary))

    async def flushed(self) -> None:
        """Wait until every queued frame was handed to the socket (or the writer ended)."""
        assert self._writer_task is not None, "link not running"
        join = self.loop.create_task(self.queue.join())
        try:
            await asyncio.wait({join, self._writer_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            join.cancel()

    def _stalled(self, channel: str) -> bool:
        now = self.loop.time()
        for i, stall in enumerate(self.stalls):
            start = self._stall_start.get(i)
            if start is None:
                by_count = (
                    stall.after_messages is not None and self.data_sent >= stall.after_messages
                )
                by_time = (
                    stall.after_seconds is not None and now >= self.opened + stall.after_seconds
                )
                if (
                    by_count
                    or by_time
                    or (stall.after_messages is None and stall.after_seconds is None)
                ):
                    start = self._stall_start[i] = now
                else:
                    continue
            if stall.duration is not None and now >= start + stall.duration:
                continue
            if stall.covers(channel):
                return True
        return False

    async def send_frame(self, out: _Out) -> tuple[bytes | str, bool]:
        binary = self.binary if out.binary is None else out.binary
        payload = out.text
        if binary and isinstance(payload, str):
            payload = payload.encode()
        elif not binary and isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        await self.ws.send(payload)
        return payload, binary

    async def _writer(self) -> None:
        for fault in self.malformed:
            if fault.after_messages == 0:
                self.queue.put_nowait(_Out(self.malformed_text(fault.kind), None, True))
        try:
            while True:
                out = await self.queue.get()
                try:
                    if out.abort:
                        await self._abort()
                        return
                    payload, binary = await self.send_frame(out)
                    frame = SentFrame(self.info.conn_id, self.exchange, payload, binary)
                    if out.injected:
                        self.sim.injected.append(frame)
                    if out.channel is None:
                        continue
                    self.data_sent += 1
                    if self.config.record_sent:
                        self.sim.sent.append(frame)
                    for fault in self.malformed:
                        if fault.after_messages == self.data_sent:
                            # Sent right now, not queued: it lands exactly after
                            # the N-th data frame whatever is waiting.
                            bad = _Out(self.malformed_text(fault.kind), None, True)
                            payload, binary = await self.send_frame(bad)
                            self.sim.injected.append(
                                SentFrame(self.info.conn_id, self.exchange, payload, binary)
                            )
                    if any(
                        d.after_messages is not None and self.data_sent >= d.after_messages
                        for d in self.drops
                    ):
                        await self._abort()
                        return
                finally:
                    self.queue.task_done()
        except ConnectionClosed:
            self.closing = True

    async def _abort_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.request_abort()

    def request_abort(self) -> None:
        """Have the writer drop the connection once the frames queued so far are out.

        Only the writer touches the socket, so every frame listed in
        ``Simulator.sent`` was written before the cut, and none after it.
        """
        self.closing = True
        self.queue.put_nowait(_Out("", None, abort=True))

    async def _abort(self) -> None:
        """Drop the TCP connection without a close frame, after flushing what was sent."""
        self.closing = True
        transport = self.ws.transport
        if transport.is_closing():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                transport.set_write_buffer_limits(high=0)
                await self.ws.drain()
        transport.abort()


class _BinanceLink(_Link):
    exchange = "binance"
    binary = False

    def __init__(
        self,
        sim: Simulator,
        ws: SimConnection,
        info: ConnectionInfo,
        faults: tuple[Fault, ...],
        url: UrlRequest,
    ) -> None:
        super().__init__(sim, ws, info, faults)
        self.session = BinanceSession(
            url, sim.symbols("binance"), max_streams=self.config.binance_max_streams
        )
        self._window: deque[float] = deque()

    def inbound(self, frame: Frame) -> None:
        limit = self.config.binance_rate_limit
        if limit is None or frame.opcode not in _COUNTED or self.closing:
            return
        now = self.loop.time()
        self._window.append(now)
        while self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) > limit:
            # Binance disconnects a client that sends more than 5 messages in a second.
            self.closing = True
            self.spawn(self.ws.close(1008, "Too many requests"))

    async def serve(self) -> None:
        if self.config.binance_lifetime is not None:
            self.spawn(self._lifetime(self.config.binance_lifetime))
        if self.sim.replay is not None:
            self.sim.replay.attach(self)
        async for message in self.ws:
            if self.closing:
                continue
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            self.control(self.session.handle(text))

    def on_step(self, step: Step) -> None:
        assert self.market is not None
        for stream, text in self.session.frames(step, self.market):
            self.emit(stream, text)

    async def _lifetime(self, lifetime: float) -> None:
        notice = self.config.binance_shutdown_notice
        if notice is not None and 0 <= notice < lifetime:
            await asyncio.sleep(lifetime - notice)
            now_us = self.market.now_us if self.market else int(self.config.clock() * 1e6)
            self.control(
                server_shutdown(
                    now_us, combined=self.session.combined, time_unit=self.session.time_unit
                )
            )
            await asyncio.sleep(notice)
        else:
            await asyncio.sleep(lifetime)
        await self.flushed()
        self.closing = True
        await self.ws.close(self.config.binance_lifetime_close_code)

    def malformed_text(self, kind: MalformedKind) -> str:
        market = self.sim.feed.start() if self.sim.replay is None else None
        depth_name = next(
            (n for n, s in self.session.streams.items() if s.kind == "depth"), "btcusdt@depth5"
        )
        book = market.book("binance", "BTCUSDT") if market else None
        depth = (
            format_depth(book)
            if book
            else (
                '{"lastUpdateId":1,"bids":[["95000.00000000","0.10000000"]],'
                '"asks":[["95000.01000000","0.10000000"]]}'
            )
        )
        if kind is MalformedKind.NOT_JSON:
            return _NOT_JSON
        if kind is MalformedKind.TRUNCATED:
            text = self.session.frame(depth_name, depth)
            return text[: len(text) // 2]
        if kind is MalformedKind.MISSING_BIDS:
            cut = depth[: depth.index(',"bids":')] + depth[depth.index(',"asks":') :]
            return self.session.frame(depth_name, cut)
        # FOREIGN_STREAM: a trade of a symbol nobody asked for.
        foreign = next(
            n for n in ("ethusdt@trade", "btcusdt@trade") if n not in self.session.streams
        )
        symbol = foreign.split("@")[0].upper()
        eth = market.book("binance", symbol) if market else None
        price = fixed8(eth.asks[0].price * 10**6) if eth else "3300.00000000"
        ms = (market.now_us if market else int(self.config.clock() * 1e6)) // 1000
        payload = (
            f'{{"e":"trade","E":{ms},"s":"{symbol}","t":1,"p":"{price}","q":"0.01000000",'
            f'"T":{ms},"m":false,"M":true}}'
        )
        return wrap(foreign, payload) if self.session.combined else payload


class _UpbitLink(_Link):
    exchange = "upbit"
    binary = True

    def __init__(
        self, sim: Simulator, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(sim, ws, info, faults)
        self.session = UpbitSession(
            microseconds=self.micro, publish_ms=self.config.upbit_publish_ms
        )
        self.last_inbound = self.loop.time()
        self._status: asyncio.Task[None] | None = None

    def inbound(self, frame: Frame) -> None:
        if frame.opcode in _COUNTED:
            self.last_inbound = self.loop.time()

    async def serve(self) -> None:
        if self.config.upbit_idle_timeout is not None:
            self.spawn(self._idle(self.config.upbit_idle_timeout))
        market = self.market if self.sim.replay is None else None
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
                self._status = self.loop.create_task(self._status_up())
                self.tasks.append(self._status)
            if reply.subscribed and self.sim.replay is not None:
                self.sim.replay.attach(self)
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
        market = self.sim.feed.start() if self.sim.replay is None else None
        if kind is MalformedKind.NOT_JSON:
            return _NOT_JSON
        wanted = {
            code
            for sub in (self.session.request.subscriptions if self.session.request else ())
            for code, _ in sub.codes
        }
        code = "KRW-BTC"
        if kind is MalformedKind.FOREIGN_STREAM:
            code = next(c for c in ("KRW-ETH", "KRW-USDT", "KRW-BTC") if c not in wanted)
        book = market.book("upbit", code) if market else None
        if book is None:
            text = (
                f'{{"type":"orderbook","code":"{code}","timestamp":0,"total_ask_size":0.0,'
                '"total_bid_size":0.0,"orderbook_units":[],"stream_type":"REALTIME","level":0}'
            )
        else:
            text = self.session.orderbook(book, 15, "REALTIME")
        if kind is MalformedKind.TRUNCATED:
            return text[: len(text) // 2]
        if kind is MalformedKind.MISSING_BIDS:
            return re.sub(r',"(orderbook_units|obu)":\[[^]]*\]', "", text)
        return text


class Simulator:
    """Local Binance + Upbit WebSocket server on 127.0.0.1.

    Use it as an async context manager::

        async with Simulator(SimConfig(seed=1)) as sim:
            url = sim.binance_base + "/stream?streams=btcusdt@depth5/btcusdt@trade"
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self.feed = MarketFeed(
            self.config.market,
            seed=self.config.seed,
            speedup=self.config.speedup,
            clock=self.config.clock,
        )
        #: Every market data frame sent, in send order (when ``record_sent``).
        self.sent: list[SentFrame] = []
        #: Malformed frames injected by :class:`~.faults.Malformed` faults.
        self.injected: list[SentFrame] = []
        #: Accepted WebSocket connections, in acceptance order.
        self.connections: list[ConnectionInfo] = []
        self.replay: Replay | None = (
            Replay(self.config.replay, self.config.replay_speed, self.config.replay_start_timeout)
            if self.config.replay is not None
            else None
        )
        self._server: Server | None = None
        self._attempts: dict[Exchange, int] = {"binance": 0, "upbit": 0}
        self._ids = itertools.count(1)
        self._accepted = asyncio.Condition()
        self._instruments = default_instruments(self.config.market)

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind to 127.0.0.1 and start accepting connections."""
        self._server = await serve(
            self._handler,
            HOST,
            self.config.port,
            process_request=self._process_request,
            create_connection=SimConnection,
            ping_interval=None,  # set per connection in _process_request
            max_queue=None,
            # A client that stopped reading must not hold a shutdown for 10 s.
            close_timeout=2.0,
        )

    async def stop(self) -> None:
        """Close every connection (1001), stop the market."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.feed.aclose()
        if self.replay is not None:
            await self.replay.aclose()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await asyncio.get_running_loop().create_future()

    # -- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def binance_base(self) -> str:
        """Base URL; append ``/ws/<stream>`` or ``/stream?streams=a/b``."""
        return f"ws://{HOST}:{self.port}"

    @property
    def upbit_url(self) -> str:
        return f"ws://{HOST}:{self.port}{UPBIT_PATH}"

    @property
    def urls(self) -> dict[str, str]:
        """Exchange name -> the URL a client uses in place of that exchange's live URL.

        Binance: the base, to which a client appends ``/stream?streams=...`` or
        ``/ws/<stream>``; Upbit: the whole ``/websocket/v1`` URL.
        """
        return {"binance": self.binance_base, "upbit": self.upbit_url}

    @property
    def market(self) -> Market | None:
        """The synthetic market, once the first client connected."""
        return self.feed.market

    @property
    def replay_finished(self) -> asyncio.Event:
        """Set when a replay sent its last frame and closed its connections."""
        assert self.replay is not None, "no replay configured"
        return self.replay.finished

    def symbols(self, venue: Exchange) -> list[str]:
        return [i.symbol for i in self._instruments if i.venue == venue]

    async def wait_connections(self, n: int) -> None:
        """Wait until ``n`` WebSocket connections were accepted in total."""
        async with self._accepted:
            await self._accepted.wait_for(lambda: len(self.connections) >= n)

    # -- connection handling ------------------------------------------------------------

    def _process_request(self, connection: SimConnection, request: Request) -> Response | None:
        exchange = route(request.path)
        if exchange is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        index = self._attempts[exchange]
        self._attempts[exchange] += 1
        faults = self.config.faults.matching(exchange, index)
        refuse = next((f for f in faults if isinstance(f, Refuse)), None)
        if refuse is not None:
            return self._refusal(connection, exchange, refuse)
        info = ConnectionInfo(next(self._ids), exchange, index, request.path)
        if exchange == "binance":
            connection.ping_interval = self.config.binance_ping_interval
            connection.ping_timeout = self.config.binance_ping_timeout
            url = parse_url(request.path)
            assert url is not None
            connection.link = _BinanceLink(self, connection, info, faults, url)
        else:
            # Upbit never pings; it only answers.
            connection.ping_interval = None
            connection.link = _UpbitLink(self, connection, info, faults)
        return None

    def _refusal(self, connection: SimConnection, exchange: Exchange, refuse: Refuse) -> Response:
        body = refuse.body
        if body is None:
            body = _REFUSAL_BODIES.get((exchange, refuse.status))
        if body is None:
            body = http.HTTPStatus(refuse.status).phrase + "\n"
        response = connection.respond(refuse.status, body)
        if body.startswith("{"):
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json;charset=UTF-8"
        return response

    async def _handler(self, ws: ServerConnection) -> None:
        link = getattr(ws, "link", None)
        if link is None:
            return
        async with self._accepted:
            self.connections.append(link.info)
            self._accepted.notify_all()
        await link.run()


def banner(sim: Simulator) -> str:
    """How to connect to a running simulator, for humans."""
    base = sim.binance_base
    request = '[{"ticket":"test"},{"type":"orderbook","codes":["KRW-BTC"]}]'
    lines = [
        f"btclib exchange simulator listening on {base} (seed {sim.config.seed})",
        "",
        "Binance (combined stream, depth5 + trade):",
        f"  wscat -c '{base}/stream?streams=btcusdt@depth5/btcusdt@trade'",
        "Binance (raw stream):",
        f"  wscat -c {base}/ws/btcusdt@depth5",
        "Upbit:",
        f"  wscat -c {sim.upbit_url}",
        f"  then paste: {request}",
        "  (Upbit frames are binary; wscat prints them as text.)",
        "",
        "Press Ctrl+C to stop.",
    ]
    if sim.config.replay is not None:
        lines.insert(1, f"replaying {sim.config.replay} at speed {sim.config.replay_speed}")
    return "\n".join(lines)


async def run_simulator(
    config: SimConfig, *, ready: Callable[[Simulator], None] | None = None
) -> None:
    """Serve until cancelled; ``ready`` is called once the port is bound."""
    async with Simulator(config) as sim:
        if ready is not None:
            ready(sim)
        await sim.serve_forever()


def main(
    port: int = 8765,
    seed: int | None = None,
    *,
    replay: str | Path | None = None,
    speed: float | Literal["max"] = 1.0,
    **options: Any,
) -> int:
    """Blocking entry point for ``python -m btclib simulate``; returns an exit status.

    ``seed`` None means 1; ``replay``/``speed`` serve a capture; ``options`` are
    further :class:`SimConfig` fields (``speedup``, ``faults``...).
    """
    config = SimConfig(
        port=port,
        seed=1 if seed is None else seed,
        replay=Path(replay) if replay is not None else None,
        replay_speed=speed,
        **options,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_simulator(config, ready=lambda sim: print(banner(sim), flush=True)))
    return 0
