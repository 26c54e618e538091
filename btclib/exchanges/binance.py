"""Binance spot market streams: the URL to open and the lines each frame becomes.

Pure functions and one stateless parser; no I/O. One connection carries both
streams through the combined endpoint, ``/stream?streams=<a>/<b>``, because
the spot ``depth5`` payload names neither its symbol nor its stream: only the
combined wrapper ``{"stream":...,"data":...}`` says what a frame is.

Doc: https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md
(protocols.md section 1). Lines: SPEC.md section 1.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..arguments import Option
from ..errors import ExchangeError
from ..feed import Data, Feed, Limits, Line, Notice, Parsed, excerpt, load_object
from .markets import ListingError, chosen, load_listing, split_evenly
from .rawjson import member_spans
from .records import (
    UNREADABLE,
    Book,
    FrameFacts,
    FrameKind,
    Number,
    Trade,
    epoch_seconds,
    frame_kind,
    levels,
    value,
)

__all__ = [
    "API_KEY_ENV",
    "API_KEY_HEADER",
    "CLOCK_PATH",
    "DEFAULT_DEPTH_SPEED",
    "DEFAULT_MARKETS",
    "DEPTH_SPEEDS",
    "DEPTH_STALL_AFTER",
    "HISTORY_LIMIT",
    "HISTORY_PATH",
    "HISTORY_WEIGHT",
    "LIMITS",
    "LISTING_PATH",
    "LISTING_URL",
    "LIVE_URL",
    "MARKETS_OPTION",
    "NAME",
    "OPTIONS",
    "REST_URL",
    "STATUS_HINTS",
    "TITLE",
    "URL_ENV",
    "URL_HELP",
    "WEIGHT_HEADER",
    "WEIGHT_LIMIT",
    "BinanceError",
    "Parser",
    "check_market",
    "check_symbol",
    "classify",
    "connection_plan",
    "currencies",
    "feed",
    "feeds",
    "format_depth",
    "format_trade",
    "frame_facts",
    "history_lines",
    "history_query",
    "make_feed",
    "make_feeds",
    "parse_listing",
    "read_frame",
    "read_line",
    "routed_parse",
    "server_time",
    "stream_names",
    "stream_url",
    "symbols",
]

NAME = "binance"
TITLE = "Binance"
LIVE_URL = "wss://stream.binance.com:9443"
"""A base: the recorder appends ``/stream?streams=...``. The main spot endpoint;
``wss://data-stream.binance.vision`` serves market data too."""
URL_ENV = "BTCLIB_BINANCE_URL"
URL_HELP = "Binance base URL, e.g. wss://data-stream.binance.vision"

DEPTH_SPEEDS = {"1000ms": "", "100ms": "@100ms"}
"""Update speeds of the partial book stream and the suffix each one needs."""

LISTING_URL = "https://api.binance.com/api/v3/exchangeInfo"
"""Where ``--symbol all`` finds the live spot symbols: the REST host, not the stream host."""
LISTING_PATH = "/api/v3/exchangeInfo"
"""The listing's path, served by the simulator on its own port too."""

DEFAULT_MARKETS = ("btcusdt",)
DEFAULT_DEPTH_SPEED = "1000ms"
"""The book's update speed unless told otherwise (``--depth-speed``)."""
MARKETS_OPTION = "symbol"
"""The option that names the markets (``all``: every symbol of :data:`LISTING_URL`)."""
OPTIONS = (
    Option(
        MARKETS_OPTION,
        "--symbol",
        DEFAULT_MARKETS[0],
        "Binance symbol, repeatable, or 'all' (every spot symbol trading; default btcusdt)",
        repeatable=True,
    ),
    Option("depth_speed", "--depth-speed", DEFAULT_DEPTH_SPEED, choices=tuple(DEPTH_SPEEDS)),
)
"""What :func:`make_feeds` takes besides the URL: the symbols, the book's update speed."""

DEPTH_STALL_AFTER = {"1000ms": 5.0, "100ms": 3.0}
"""Seconds without a book after which its connection is dead, per update speed: five
periods, but at least 3 s (trades may pause, so they have no stall limit)."""

LIMITS = Limits(
    connect_budget=300,
    connect_window=300.0,
    streams_per_connection=1024,
    subscribe_budget=4,
    url_budget=2000,
    lifetime=24 * 3600.0,
    first_data_within=5.0,
    stall_after=DEPTH_STALL_AFTER[DEFAULT_DEPTH_SPEED],
    keepalive=None,
)
"""What Binance allows and does (protocols.md 1.7, 1.8): 300 connection attempts per 5
minutes per IP; 1,024 streams a connection; SUBSCRIBE messages sent all at once after
connecting, at most four (Binance counts every client message, pongs too, against 5 a
second: four leave room for a pong and need no pacing); stream names up to 2,000
characters in the URL (``/stream?streams=a/b``; the rest go in SUBSCRIBE messages: a
combined URL of 1,024 streams is ~20 kB, more than servers take in a request line,
websockets 8 kB); every connection cut at 24 h; the first book within 5 s; the server
pings every 20 s and the client only answers."""

_QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
"""Quote currencies a spot symbol may end with, longest match first where they overlap."""

_SYMBOL = re.compile(r"[a-z0-9]{2,20}")

STATUS_HINTS = {
    451: (
        "Binance refuses connections from this region (HTTP 451, restricted location). "
        "Point the recorder at an endpoint you may use, e.g. "
        "--binance-url wss://data-stream.binance.vision, or use --source sim."
    ),
    403: "Binance refused the connection (HTTP 403): this IP may be banned for a while.",
    429: "Binance says too many connection attempts from this IP (HTTP 429).",
}


class BinanceError(ExchangeError):
    """Binance answered with an error message, e.g. ``Invalid request: invalid stream``."""


def check_symbol(symbol: str) -> str:
    """Return the stream symbol (lower case) or raise ``ValueError`` naming the problem.

    Binance stream names need the lower-case symbol: an upper-case or unknown
    name in the URL gives no error and no data (protocols.md 1.2), so the
    form is checked here rather than waiting in silence.
    """
    lowered = symbol.strip().lower()
    if not _SYMBOL.fullmatch(lowered):
        raise ValueError(
            f"unknown Binance symbol format {symbol!r}: expected letters and digits "
            "such as 'btcusdt' (base then quote, no separator)"
        )
    return lowered


check_market = check_symbol


def currencies(market: str) -> tuple[str, str] | None:
    """``BTCUSDT`` -> ``("BTC", "USDT")``; ``None`` when no known quote currency ends it."""
    upper = market.upper()
    for quote in _QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)], quote
    return None


def stream_names(
    symbol: str = DEFAULT_MARKETS[0], depth_speed: str = DEFAULT_DEPTH_SPEED
) -> tuple[str, str]:
    """The two stream names of Step A: partial book depth 5 and trades."""
    if depth_speed not in DEPTH_SPEEDS:
        raise ValueError(
            f"unknown depth speed {depth_speed!r}: expected one of {', '.join(DEPTH_SPEEDS)}"
        )
    symbol = check_symbol(symbol)
    return f"{symbol}@depth5{DEPTH_SPEEDS[depth_speed]}", f"{symbol}@trade"


def stream_url(
    symbol: str = DEFAULT_MARKETS[0], depth_speed: str = DEFAULT_DEPTH_SPEED, base: str = LIVE_URL
) -> str:
    """The combined-stream URL carrying both streams on one connection.

    >>> stream_url()
    'wss://stream.binance.com:9443/stream?streams=btcusdt@depth5/btcusdt@trade'
    """
    return f"{base.rstrip('/')}/stream?streams={'/'.join(stream_names(symbol, depth_speed))}"


def symbols(value: str | Sequence[str]) -> list[str]:
    """The stream symbols of a ``symbol`` setting (one, several or ``all``), checked:
    see :func:`~btclib.exchanges.markets.chosen`."""
    return chosen(value, check_symbol, DEFAULT_MARKETS, TITLE)


def parse_listing(body: bytes | str) -> list[str]:
    """The stream symbols (lower case) of an ``exchangeInfo`` answer: spot, status TRADING.

    The answer (https://api.binance.com/api/v3/exchangeInfo)::

        {"timezone":"UTC","serverTime":...,"rateLimits":[...],"exchangeFilters":[],
         "symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH",
           "quoteAsset":"BTC",...,"isSpotTradingAllowed":true,...,
           "permissionSets":[["SPOT","MARGIN",...]]},...]}

    A symbol in ``BREAK`` or ``HALT`` sends nothing and is left out, as is one
    not open to spot trading (``isSpotTradingAllowed`` false, where given).
    """
    listing = load_listing(body, TITLE)
    entries = listing.get("symbols") if isinstance(listing, dict) else None
    if not isinstance(entries, list):
        shown = str(listing)[:120]
        raise ListingError(f"Binance's exchangeInfo has no symbols list: {shown}")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("status") != "TRADING":
            continue
        if entry.get("isSpotTradingAllowed") is False:
            continue
        symbol = entry.get("symbol")
        if isinstance(symbol, str) and _SYMBOL.fullmatch(symbol.lower()):
            out.append(symbol.lower())
    return list(dict.fromkeys(out))


def connection_plan(
    chosen: Sequence[str], depth_speed: str = DEFAULT_DEPTH_SPEED, base: str = LIVE_URL
) -> tuple[str, tuple[str, ...]]:
    """The URL and SUBSCRIBE messages of one connection carrying ``chosen``'s streams.

    Streams go in the combined URL while it stays within ``LIMITS.url_budget``
    characters; the rest in at most ``LIMITS.subscribe_budget`` SUBSCRIBE messages
    of equal size. One symbol gives today's URL and no message.
    """
    names = [name for s in chosen for name in stream_names(s, depth_speed)]
    most, url_budget = LIMITS.streams_per_connection, LIMITS.url_budget or 0
    if len(names) > most:
        raise ValueError(f"{len(names)} streams on one connection: Binance allows {most}")
    in_url, used = [], 0
    for name in names:
        if in_url and used + len(name) + 1 > url_budget:
            break
        in_url.append(name)
        used += len(name) + 1
    url = f"{base.rstrip('/')}/stream?streams={'/'.join(in_url)}"
    rest = names[len(in_url) :]
    per_message = math.ceil(len(rest) / LIMITS.subscribe_budget) if rest else 1
    requests = tuple(
        json.dumps({"method": "SUBSCRIBE", "params": part, "id": n}, separators=(",", ":"))
        for n, part in enumerate(split_evenly(rest, per_message), 1)
    )
    return url, requests


def routed_parse(parsers: Sequence[Parser]) -> Callable[[bytes], Line | Notice]:
    """One connection's parse function over several symbols' parsers.

    The stream name in the wrapper picks the symbol's own parser (its fast
    path unchanged): one ``find`` and one dict look-up more per frame, on the
    compact layout Binance sends (``{"stream":"<name>",...``). Any other layout
    (the wrapper's keys in another order, spaces, an escaped name) is routed by
    the name ``json`` reads. A frame naming no known stream (a reply, an error,
    a shutdown, a stream not asked for) goes to the first parser, whose general
    path says what it is.
    """
    if len(parsers) == 1:
        return parsers[0].parse
    table: dict[bytes, Callable[[bytes], Line | Notice]] = {}
    for parser in parsers:
        for name in parser._names:
            table[name.encode()] = parser.parse
    get, first = table.get, parsers[0].parse

    def by_name(frame: bytes) -> Line | Notice:
        message = load_object(frame)
        stream = None if isinstance(message, Notice) else message.get("stream")
        chosen = get(stream.encode(), first) if isinstance(stream, str) else first
        return chosen(frame)

    def parse(frame: bytes) -> Line | Notice:
        return get(bytes(frame[11 : frame.find(b'"', 11)]), by_name)(frame)

    return parse


def format_depth(symbol: str, bids: bytes, asks: bytes) -> bytes:
    """``btcusdt@orderbook,bids:<bids>,asks:<asks>`` with both arrays copied as sent."""
    return b"".join((symbol.encode(), b"@orderbook,bids:", bids, b",asks:", asks, b"\n"))


def format_trade(symbol: str, price: bytes, quantity: bytes) -> bytes:
    """``btcusdt@trade, p:<p>,q:<q>`` with the strings' characters, without quotes."""
    return b"".join((symbol.encode(), b"@trade, p:", price, b",q:", quantity, b"\n"))


class Parser:
    """Turn one frame of the combined stream into a :class:`Data` line or a :class:`Notice`.

    Partial book depth (``<symbol>@depth5``, ``<symbol>@depth5@100ms``)::

        {"stream":"btcusdt@depth5","data":{"lastUpdateId":160,
         "bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}}

    becomes ``btcusdt@orderbook,bids:[["0.0024","10"]],asks:[["0.0026","100"]]``
    with ``seq`` = ``lastUpdateId``.

    Trade (``<symbol>@trade``; ``b`` and ``a`` were removed 2024-06-18 and are
    ignored when present)::

        {"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT",
         "t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}

    becomes ``btcusdt@trade, p:0.001,q:100`` with ``seq`` = trade id ``t``.

    Non-data frames become notices: ``{"result":null,"id":1}`` (reply),
    ``{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":...}}``
    (shutdown), a stream not asked for (unexpected), anything else not shaped
    like the documented payloads (malformed). An error message
    (``{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}``)
    raises :class:`BinanceError`.

    The documented compact layout is matched with ``bytes.find``, which copies
    the arrays untouched and costs a fraction of ``json.loads``; any other
    layout of valid JSON goes through the general path.
    """

    def __init__(
        self, symbol: str = DEFAULT_MARKETS[0], depth_speed: str = DEFAULT_DEPTH_SPEED
    ) -> None:
        self.symbol = check_symbol(symbol)
        depth, trade = stream_names(symbol, depth_speed)
        self.depth_key = f"{self.symbol}@orderbook"
        self.trade_key = f"{self.symbol}@trade"
        self._depth_prefix = f"{self.symbol}@orderbook,bids:".encode()
        self._trade_prefix = f"{self.symbol}@trade, p:".encode()
        self._routes: dict[bytes, Callable[[bytes, int], Parsed | None]] = {
            trade.encode(): self._trade,
        }
        self._names = {depth: self.depth_key, trade: self.trade_key}
        self.parse = self._fast_path(depth.encode(), trade.encode())
        """The recorder's parse function: as calling the parser, but data comes as a
        plain :data:`~btclib.feed.Line` tuple (cheaper to build than :class:`Data`)."""

    def __call__(self, frame: bytes) -> Parsed:
        parsed = self.parse(frame)
        return Data._make(parsed) if type(parsed) is tuple else parsed

    def _fast_path(self, depth: bytes, trade: bytes) -> Callable[[bytes], Line | Notice]:
        """The documented compact layout in a few C calls; anything else to :meth:`_routed`.

        A closure, so that every constant is a local variable: a frame costs one
        byte look-up to tell the two streams apart (the first letter after
        ``<symbol>@``), then one regex match (trade) or one startswith and two
        finds (book), and one %-format for the whole line (no '%' in a symbol).
        """
        at = len(b'{"stream":"%s@' % self.symbol.encode())
        trade_match = re.compile(
            rb'\{"stream":"%s","data":\{"e":"trade","E":\d+,"s":"[A-Z0-9]+",'
            rb'"t":(\d+),"p":"([^"]*)","q":"([^"]*)"' % re.escape(trade)
        ).match
        trade_key, trade_line = self.trade_key, self._trade_prefix + b"%s,q:%s\n"
        depth_head = b'{"stream":"%s","data":{"lastUpdateId":' % depth
        seq_at = len(depth_head)
        depth_key, depth_line = self.depth_key, self._depth_prefix + b"%s,asks:%s\n"
        routed, t, d = self._routed, ord("t"), ord("d")

        def parse(frame: bytes) -> Line | Notice:
            kind = frame[at] if len(frame) > at else 0
            if kind == t:
                match = trade_match(frame)
                if match is not None and frame.endswith(b"}}"):
                    seq, price, quantity = match.groups()
                    return trade_key, int(seq), trade_line % (price, quantity)
            elif kind == d and frame.startswith(depth_head) and frame.endswith(b"]}}"):
                b = frame.find(b',"bids":[', seq_at)
                a = frame.find(b'],"asks":[', b)
                if b > 0 and a > 0:
                    try:
                        seq = int(frame[seq_at:b])
                    except ValueError:
                        return routed(frame)
                    line = depth_line % (frame[b + 8 : a + 1], frame[a + 9 : -2])
                    return depth_key, seq, line
            return routed(frame)

        return parse

    def _routed(self, frame: bytes) -> Parsed:
        frame = bytes(frame)  # the recorder may hand websockets' bytearray
        if frame.startswith(b'{"stream":"'):
            end = frame.find(b'"', 11)
            route = self._routes.get(frame[11:end])
            if route is not None:
                parsed = route(frame, end + 1)
                if parsed is not None:
                    return parsed
        return self._general(frame)

    # A trade whose fields come in another order or with others between them
    # (the closure's regex wants the documented order); None sends the frame to
    # the general path, which decides whether it is valid at all. A book that
    # the closure did not take has no such middle way: it goes to the general path.

    def _trade(self, frame: bytes, pos: int) -> Data | None:
        if not (frame.startswith(b',"data":{"e":"trade",', pos) and frame.endswith(b"}}")):
            return None
        t = frame.find(b',"t":', pos)
        p = frame.find(b',"p":"', t)
        q = frame.find(b'","q":"', p)
        end = frame.find(b'"', q + 7)
        if t < 0 or p < 0 or q < 0 or end < 0:
            return None
        try:
            seq = int(frame[t + 5 : p])
        except ValueError:
            return None
        return Data(
            self.trade_key,
            seq,
            b"".join((self._trade_prefix, frame[p + 6 : q], b",q:", frame[q + 7 : end], b"\n")),
        )

    # General path: any valid JSON layout, plus every non-data message.

    def _general(self, frame: bytes) -> Parsed:
        message = load_object(frame)
        if isinstance(message, Notice):
            return message
        if "error" in message or ("code" in message and "msg" in message):
            error = message.get("error", message)
            if isinstance(error, dict):
                text = f"Binance error {error.get('code')}: {error.get('msg')}"
            else:
                text = f"Binance error: {error}"
            if message.get("id") is not None:
                text += f" (request id {message['id']})"
            raise BinanceError(text)
        if "result" in message and "id" in message:
            return Notice("reply", excerpt(frame))
        spans = member_spans(frame)
        if "stream" in message and "data" in spans:
            name, (start, _end) = message["stream"], spans["data"]
            data = message["data"]
        else:  # a raw payload, as on /ws/<name>
            name, start, data = None, 0, message
        if not isinstance(data, dict):
            return Notice("malformed", f"data is not an object: {excerpt(frame)}")
        event = data.get("e")
        if event == "serverShutdown" or name == "!serverShutdown":
            return Notice("shutdown", excerpt(frame))
        key = self._names.get(name) if name is not None else self._raw_key(data)
        if key is None:
            return Notice("unexpected", f"stream {name!r} not subscribed: {excerpt(frame)}")
        inner = member_spans(frame, start)
        try:
            if key == self.depth_key:
                bids, asks = inner["bids"], inner["asks"]
                if not (frame[bids[0]] == frame[asks[0]] == ord("[")):
                    raise KeyError("bids/asks are not arrays")
                return Data(
                    key,
                    int(data["lastUpdateId"]),
                    format_depth(self.symbol, frame[slice(*bids)], frame[slice(*asks)]),
                )
            p, q = inner["p"], inner["q"]
            if not isinstance(data["p"], str) or not isinstance(data["q"], str):
                raise KeyError("p/q are not strings")
            return Data(
                key,
                int(data["t"]),
                format_trade(self.symbol, frame[p[0] + 1 : p[1] - 1], frame[q[0] + 1 : q[1] - 1]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            return Notice("malformed", f"{key} message without {exc}: {excerpt(frame)}")

    def _raw_key(self, data: dict[str, object]) -> str | None:
        if "lastUpdateId" in data:
            return self.depth_key
        if data.get("e") == "trade" and str(data.get("s", "")).lower() == self.symbol:
            return self.trade_key
        return None


def feed(
    symbol: str | Sequence[str] = DEFAULT_MARKETS[0],
    depth_speed: str = DEFAULT_DEPTH_SPEED,
    base: str = LIVE_URL,
    stall_after: float | None = None,
    *,
    connections: int = 1,
) -> Feed:
    """One connection of depth5 + trade per symbol (Step A: one symbol).

    The client sends nothing but pongs (and, for more streams than a URL
    holds, up to ``LIMITS.subscribe_budget`` SUBSCRIBE messages): Binance counts every
    client frame (pings and pongs too) against 5 per second and pings us every
    20 s. Each depth stream must tick every period; silence for several
    periods means the connection is dead even if trades still flow. Trades may
    legitimately pause, so they have no stall limit. ``connections``: how many
    connections of this exchange share the 300-per-5-minutes connection budget
    (each gets its part, so together they stay within it).
    """
    chosen = symbols(symbol)
    parsers = [Parser(s, depth_speed) for s in chosen]
    url, requests = connection_plan(chosen, depth_speed, base)
    names = [name for s in chosen for name in stream_names(s, depth_speed)]
    shown = " and ".join(names) if len(names) <= 4 else f"{len(names)} streams ({names[0]}, ...)"
    what = (
        f"is {parsers[0].symbol!r} a listed spot symbol?"
        if len(chosen) == 1
        else ("are these listed spot symbols?")
    )
    parse = routed_parse(parsers)
    return Feed(
        exchange=NAME,
        url=url,
        requests=requests,
        parser=_naming_subscriptions(parse, requests) if requests else parse,
        streams=tuple(key for p in parsers for key in (p.depth_key, p.trade_key)),
        stall_after={p.depth_key: stall_after or DEPTH_STALL_AFTER[depth_speed] for p in parsers},
        contiguous=frozenset(p.trade_key for p in parsers),
        ping_interval=LIMITS.keepalive,
        lifetime=LIMITS.lifetime,
        connect_limit=LIMITS.connect_limit(connections),
        first_data_within=LIMITS.first_data_within,
        silence_hint=(
            f"Binance sent nothing on {shown}: {what} Binance answers unknown stream "
            "names with silence, not an error"
        ),
        status_hints=STATUS_HINTS,
        title=TITLE,
    )


def _naming_subscriptions(
    parse: Callable[[bytes], Line | Notice], requests: Sequence[str]
) -> Callable[[bytes], Line | Notice]:
    """``parse``, with an error answering a SUBSCRIBE message naming what it asked for.

    Binance answers a SUBSCRIBE naming an unlisted symbol with ``Invalid request:
    invalid stream`` and its id, not the stream: the message says which symbols
    that request carried.
    """
    asked = {}
    for text in requests:
        message = json.loads(text)
        asked[message["id"]] = sorted({p.partition("@")[0] for p in message["params"]})

    def parse_naming(frame: bytes) -> Line | Notice:
        try:
            return parse(frame)
        except BinanceError as exc:
            found = re.search(rb'"id":\s*(\d+)', bytes(frame))
            n = int(found.group(1)) if found else None
            symbols = asked.get(n) if n is not None else None
            if not symbols:
                raise
            shown = ", ".join(symbols[:10]) + (", ..." if len(symbols) > 10 else "")
            raise BinanceError(
                f"{exc}: SUBSCRIBE {n} asked for the depth and trade "
                f"streams of {len(symbols)} symbols ({shown}); one of them is not a listed "
                "spot symbol (--symbol all records the listed ones)"
            ) from None

    return parse_naming


def feeds(
    symbol: str | Sequence[str] = DEFAULT_MARKETS[0],
    depth_speed: str = DEFAULT_DEPTH_SPEED,
    base: str = LIVE_URL,
    stall_after: float | None = None,
) -> list[Feed]:
    """Every symbol's depth5 + trade over as few connections as Binance allows.

    Two streams a symbol, at most ``LIMITS.streams_per_connection`` a connection, the symbols
    split evenly (1,500 symbols: three connections of 500). Each connection is
    a :class:`Feed` of its own, supervised on its own (stalls, rotation, gaps).
    """
    chosen = symbols(symbol)
    groups = split_evenly(chosen, LIMITS.streams_per_connection // 2)
    return [
        feed(group, depth_speed, base, stall_after, connections=len(groups)) for group in groups
    ]


def make_feed(url: str, settings: Mapping[str, Any], stall_after: float | None = None) -> Feed:
    """The first connection of :func:`make_feeds` (the only one for a few markets); every
    market is checked, so a wrong one raises ``ValueError`` naming it.

    :func:`feed` from a base URL and the values of :data:`OPTIONS` by name."""
    return make_feeds(url, settings, stall_after)[0]


def make_feeds(
    url: str, settings: Mapping[str, Any], stall_after: float | None = None
) -> list[Feed]:
    """:func:`feeds` from a base URL and the values of :data:`OPTIONS` by name."""
    return feeds(settings[MARKETS_OPTION], settings["depth_speed"], url, stall_after)


def read_line(line: bytes | str, number: Number = float) -> Book[Any] | Trade[Any] | None:
    """A Binance line read back (SPEC section 1), or ``None`` if it is not one.

    ``btcusdt@orderbook,bids:[["0.0024","10"]],asks:[["0.0026","100"]]`` is a
    :class:`Book` of ``BTCUSDT``; ``btcusdt@trade, p:0.001,q:100`` a :class:`Trade`.
    """
    text = line.decode("utf-8") if isinstance(line, bytes | bytearray) else line
    key, _, rest = text.rstrip("\n").partition(",")
    symbol, _, stream = key.partition("@")
    try:
        if stream == "trade" and rest.startswith(" p:"):
            price, _, size = rest[3:].partition(",q:")
            return Trade(NAME, symbol.upper(), number(price), number(size))
        if stream == "orderbook" and rest.startswith("bids:"):
            bids, sep, asks = rest[5:].partition(",asks:")
            if sep:
                return Book(
                    NAME,
                    symbol.upper(),
                    levels(json.loads(bids), number),
                    levels(json.loads(asks), number),
                )
    except UNREADABLE:
        return None
    return None


def read_frame(frame: bytes | str, number: Number = float) -> Book[Any] | Trade[Any] | None:
    """The market data of one frame (any symbol, any layout), or ``None`` for anything else.

    Combined-stream wrappers, as the recorder receives them::

        {"stream":"btcusdt@depth5","data":{"lastUpdateId":160,"bids":[..],"asks":[..]}}
        {"stream":"btcusdt@trade","data":{"e":"trade",..,"s":"BTCUSDT","p":"..","q":".."}}

    and bare payloads, as on ``/ws/<name>`` (a bare book names no symbol:
    its ``market`` is empty). Replies, shutdown notices and errors give ``None``.
    """
    try:
        message = json.loads(frame, parse_float=number, parse_int=number)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if isinstance(message.get("stream"), str) and isinstance(message.get("data"), dict):
        data = message["data"]
        symbol, _, stream = message["stream"].partition("@")
        kind = "depth" if stream.startswith("depth") else stream
    else:  # a raw payload, as on /ws/<name>
        data = message
        if "lastUpdateId" in data:
            symbol, kind = "", "depth"  # the spot depth payload does not name its symbol
        else:
            symbol, kind = str(data.get("s", "")), str(data.get("e", ""))
    try:
        if kind == "depth" and "bids" in data and "asks" in data:
            bids, asks = levels(data["bids"], number), levels(data["asks"], number)
            return Book(NAME, symbol.upper(), bids, asks)
        if kind == "trade" and "p" in data and "q" in data:
            price, size = value(data["p"], number), value(data["q"], number)
            return Trade(NAME, symbol.upper(), price, size)
    except UNREADABLE:
        return None
    return None


_ANY_STREAM = Parser()


def classify(frame: bytes) -> FrameKind:
    """What a frame is (data of any stream, reply, shutdown, error, malformed), by the
    parser's own rules, so a replay and the recorder never disagree."""
    return frame_kind(_ANY_STREAM.parse, frame)


def frame_facts(frame: bytes | str) -> FrameFacts | None:
    """A combined-stream data frame's line key, id and event time (``E``), or ``None``.

    Depth5 snapshots carry ``lastUpdateId`` and no time; trades their id ``t`` and
    ``E``. Bare payloads (``/ws/<name>``) give ``None``: a bare book names no symbol.
    """
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        return None
    name, data = message.get("stream"), message["data"]
    if not isinstance(name, str):
        return None
    symbol, _, stream = name.partition("@")
    if stream.startswith("depth") and "lastUpdateId" in data:
        seq = data["lastUpdateId"]
        return FrameFacts(f"{symbol}@orderbook", seq if isinstance(seq, int) else None, None)
    if stream == "trade" and "t" in data:
        seq = data["t"]
        seq = seq if isinstance(seq, int) else None
        return FrameFacts(name, seq, epoch_seconds(data.get("E")), contiguous=True)
    return None


# -- Old trades over REST: what a backfill fetches after a gap (btclib.quality.backfill) --

REST_URL = "https://api.binance.com"
"""The spot REST API (``historicalTrades`` is not served by ``data-api.binance.vision``)."""
HISTORY_PATH = "/api/v3/historicalTrades"
HISTORY_LIMIT = 1000
"""Trades per request, Binance's maximum."""
HISTORY_WEIGHT = 25
"""Request weight of one ``historicalTrades`` call (rest-api.md; it was 5 until 2023)."""
WEIGHT_LIMIT = 6000
"""``REQUEST_WEIGHT`` per minute and IP (``exchangeInfo``'s ``rateLimits``)."""
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
API_KEY_ENV = "BINANCE_API_KEY"
API_KEY_HEADER = "X-MBX-APIKEY"
"""``historicalTrades`` was a MARKET_DATA endpoint (an API key required); the current
documentation gives it no security type. A key in ``BINANCE_API_KEY`` is sent when set."""


def history_query(stream: str, from_id: int) -> str | None:
    """The ``historicalTrades`` path and query that fetches a trade stream's ids from
    ``from_id`` on, or ``None`` for a stream that has no old trades (books)."""
    symbol, _, kind = stream.partition("@")
    if kind != "trade" or not _SYMBOL.fullmatch(symbol):
        return None
    return f"{HISTORY_PATH}?symbol={symbol.upper()}&fromId={from_id}&limit={HISTORY_LIMIT}"


def history_lines(body: bytes, stream: str) -> list[tuple[int, bytes]]:
    """``historicalTrades``' answer as (trade id, the SPEC trade line), in id order: the
    line a trade frame of the stream gives (price and quantity copied as sent)."""
    symbol = stream.partition("@")[0]
    rows = json.loads(body)
    out = []
    for row in rows:
        price, qty = str(row["price"]).encode(), str(row["qty"]).encode()
        out.append((int(row["id"]), format_trade(symbol, price, qty)))
    return sorted(out)


# -- The exchange's clock (btclib.quality.clock) --

CLOCK_PATH = "/api/v3/time"
"""``GET /api/v3/time``: ``{"serverTime": <ms>}``, weight 1."""


def server_time(body: bytes, headers: Mapping[str, str]) -> tuple[float, float] | None:
    """The exchange's time in an answer to :data:`CLOCK_PATH` and its resolution (seconds)."""
    try:
        stamp = json.loads(body)["serverTime"]
    except (ValueError, KeyError, TypeError):
        return None
    seconds = epoch_seconds(stamp)
    return None if seconds is None else (seconds, 0.001)
