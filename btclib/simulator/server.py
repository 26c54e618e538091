"""The asyncio server: one WebSocket port on which every simulated exchange listens.

It routes and moves bytes, and names no exchange: each request path is offered
to the exchanges of :data:`~.registry.EXCHANGES` in turn (none serves it: HTTP
404); the one that serves it gives the link class that owns the connection
(its protocol session, timers and frames, see :mod:`.link`) and the body of a
refused handshake. The market itself is stepped by :class:`~.feed.MarketFeed`;
a capture is served by :class:`~.replay.Replay`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import http
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from .clock import MarketFeed
from .config import SimConfig
from .faults import Fired, Refuse
from .link import ConnectionInfo, ConnectionSpan, SentFrame, SentLog, SimConnection
from .listing import listed_instruments
from .market import Market
from .registry import EXCHANGES, SimExchange, added_books, connect_limit
from .replay import Replay

__all__ = [
    "ConnectionInfo",
    "ConnectionSpan",
    "SentFrame",
    "Simulator",
    "banner",
    "main",
    "run_simulator",
]

logger = logging.getLogger("btclib.simulator")

HOST = "127.0.0.1"


class Simulator:
    """Local exchanges' WebSocket server on 127.0.0.1, one port for all of them.

    Use it as an async context manager::

        async with Simulator(SimConfig(seed=1)) as sim:
            url = sim.urls["binance"] + "/stream?streams=btcusdt@depth5/btcusdt@trade"
    """

    def __init__(self, config: SimConfig | None = None, *, sent: SentLog | None = None) -> None:
        """``sent``: where the data frames sent go when ``record_sent`` (default: a list)."""
        self.config = config if config is not None else SimConfig()
        #: The exchanges served, name -> simulated exchange, in routing order.
        self.exchanges: dict[str, SimExchange] = dict(EXCHANGES)
        added = added_books(self.config.market)
        #: Every market listed and served: the default five, the generated ones, then the
        #: books exchange packages add (:func:`~.registry.added_books`).
        self.instruments = (*listed_instruments(self.config.market), *added)
        self.feed = MarketFeed(
            self.config.market,
            seed=self.config.seed,
            speedup=self.config.speedup,
            clock=self.config.clock,
            listed=self.instruments,
            added=added,
        )
        #: Every market data frame sent, in send order (when ``record_sent``).
        self.sent: list[SentFrame] | SentLog = [] if sent is None else sent
        #: Malformed frames injected by :class:`~.faults.Malformed` faults.
        self.injected: list[SentFrame] = []
        #: Faults that took effect, in order (a refusal, a drop, a stall beginning...).
        self.fired: list[Fired] = []
        #: Accepted WebSocket connections, in acceptance order.
        self.connections: list[ConnectionInfo] = []
        #: When each accepted connection was up, in acceptance order.
        self.spans: list[ConnectionSpan] = []
        self.replay: Replay | None = (
            Replay(self.config.replay, self.config.replay_speed, self.config.replay_start_timeout)
            if self.config.replay is not None
            else None
        )
        self._server: Server | None = None
        self._attempts: dict[str, int] = dict.fromkeys(self.exchanges, 0)
        #: Per exchange with a simulated connection limit, when its recent handshakes came.
        self._handshakes = {
            name: (limit, collections.deque[float]())
            for name in self.exchanges
            if (limit := connect_limit(name, self.config.settings)) is not None
        }
        self._ids = itertools.count(1)
        self._accepted = asyncio.Condition()
        self._symbols = {
            name: [i.symbol for i in self.instruments if i.venue == name] for name in self.exchanges
        }
        #: Per exchange with a REST side (old trades, server time): its ``make_rest`` state.
        self.rest = {
            name: x.make_rest(self.config)
            for name, x in self.exchanges.items()
            if hasattr(x, "make_rest")
        }
        for rest in self.rest.values():
            self.feed.subscribe(rest.on_step)
        self._phases = {
            name: {i.symbol: i.phase_ms for i in self.instruments if i.venue == name}
            for name in self.exchanges
        }

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
            ping_interval=None,  # set per connection by its link
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
    def base(self) -> str:
        """``ws://127.0.0.1:PORT``, the address every exchange's URL starts with."""
        return f"ws://{HOST}:{self.port}"

    @property
    def urls(self) -> dict[str, str]:
        """Exchange name -> the URL a client uses in place of that exchange's live URL.

        Binance: the base, to which a client appends ``/stream?streams=...`` or
        ``/ws/<stream>``; Upbit: the whole ``/websocket/v1`` URL.
        """
        return {name: x.url(self.base) for name, x in self.exchanges.items()}

    @property
    def listing_urls(self) -> dict[str, str]:
        """Exchange name -> its market listing as plain HTTP on the same port
        (``http://127.0.0.1:PORT/api/v3/exchangeInfo``, ``.../v1/market/all``)."""
        return {
            name: f"http://{HOST}:{self.port}{x.LISTING_PATH}"
            for name, x in self.exchanges.items()
            if hasattr(x, "LISTING_PATH")
        }

    @property
    def market(self) -> Market | None:
        """The synthetic market, once the first client connected."""
        return self.feed.market

    @property
    def replay_finished(self) -> asyncio.Event:
        """Set when a replay sent its last frame and closed its connections."""
        assert self.replay is not None, "no replay configured"
        return self.replay.finished

    def symbols(self, venue: str) -> list[str]:
        """The market's symbols on ``venue``, in the exchange's spelling."""
        return self._symbols.get(venue, [])

    def phases(self, venue: str) -> dict[str, int]:
        """Symbol -> the millisecond within each second its publications fall on."""
        return self._phases.get(venue, {})

    async def wait_connections(self, n: int) -> None:
        """Wait until ``n`` WebSocket connections were accepted in total."""
        async with self._accepted:
            await self._accepted.wait_for(lambda: len(self.connections) >= n)

    # -- connection handling ------------------------------------------------------------

    def route(self, path: str) -> str | None:
        """The name of the exchange that serves a request path, or None (HTTP 404)."""
        return next((name for name, x in self.exchanges.items() if x.serves(path)), None)

    def _process_request(self, connection: SimConnection, request: Request) -> Response | None:
        for rest in self.rest.values():
            got = rest.answer(request.path, time.time())
            if got is not None:
                response = connection.respond(got.status, got.body)
                for name, value in got.headers.items():
                    if name in response.headers:
                        del response.headers[name]
                    response.headers[name] = value
                return response
        listing = self._listing(connection, request.path)
        if listing is not None:
            return listing
        name = self.route(request.path)
        if name is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Not Found\n")
        index = self._attempts[name]
        self._attempts[name] += 1
        faults = self.config.faults.matching(name, index)
        refuse = next((f for f in faults if isinstance(f, Refuse)), None)
        if refuse is None and self._over_limit(name):
            refuse = Refuse(429)
        if refuse is not None:
            self.fired.append(Fired(time.time(), name, index, refuse))
            return self._refusal(connection, name, refuse)
        info = ConnectionInfo(next(self._ids), name, index, request.path)
        connection.link = self.exchanges[name].Link(self, connection, info, faults)
        return None

    def _over_limit(self, name: str) -> bool:
        """Whether this handshake is beyond the exchange's connection limit: more than
        ``count`` requests in the last ``window`` seconds, refused ones included (the
        exchange counts a client's requests, not its successes)."""
        if name not in self._handshakes:
            return False
        (count, window), times = self._handshakes[name]
        now = time.monotonic()
        while times and times[0] <= now - window:
            times.popleft()
        times.append(now)
        return len(times) > count

    def _listing(self, connection: SimConnection, path: str) -> Response | None:
        """An exchange's market listing (plain HTTP GET, JSON), or None for another path."""
        route = path.split("?", 1)[0]
        for name, exchange in self.exchanges.items():
            if route == getattr(exchange, "LISTING_PATH", None):
                body = exchange.listing(self.symbols(name), int(self.config.clock() * 1000))
                response = connection.respond(http.HTTPStatus.OK, body)
                del response.headers["Content-Type"]
                response.headers["Content-Type"] = "application/json;charset=UTF-8"
                # The Date header from the simulator's clock, which a test may set off.
                del response.headers["Date"]
                response.headers["Date"] = email.utils.formatdate(self.config.clock(), usegmt=True)
                return response
        return None

    def _refusal(self, connection: SimConnection, name: str, refuse: Refuse) -> Response:
        body = refuse.body
        if body is None:
            body = self.exchanges[name].REFUSAL_BODIES.get(refuse.status)
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
        span = ConnectionSpan(link.info, time.time())
        async with self._accepted:
            self.connections.append(link.info)
            self.spans.append(span)
            self._accepted.notify_all()
        try:
            await link.run()
        finally:
            span.closed = time.time()


def banner(sim: Simulator) -> str:
    """How to connect to a running simulator, for humans."""
    lines = [f"btclib exchange simulator listening on {sim.base} (seed {sim.config.seed})", ""]
    for name, exchange in sim.exchanges.items():
        lines += exchange.banner(sim.urls[name])
    lines += ["", "Press Ctrl+C to stop."]
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

    ``seed`` None means a fresh one (printed in the banner); ``replay``/``speed``
    serve a capture; ``options`` are further :class:`SimConfig` fields
    (``speedup``, ``faults``...).
    """
    if seed is not None:
        options["seed"] = seed
    config = SimConfig(
        port=port,
        replay=Path(replay) if replay is not None else None,
        replay_speed=speed,
        **options,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_simulator(config, ready=lambda sim: print(banner(sim), flush=True)))
    return 0
