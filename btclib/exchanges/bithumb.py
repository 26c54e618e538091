"""Bithumb public WebSocket (v1): the request to send and the lines each frame becomes.

Pure functions and one stateless parser; no I/O. Bithumb's v1 public stream is
built on Upbit's model (docs/protocols-bithumb.md): the subscription is a JSON
array sent after connecting (ticket, type objects, format), the fields carry
Upbit's names (``orderbook_units``, ``trade_price``, ``trade_volume``) and
numbers are JSON numbers, copied byte for byte. Three things differ and shape
this module: Bithumb is the third venue, so its lines carry its name
(``bithumb:btckrw@orderbook,...``, SPEC.md section 1b) and can never be taken
for Upbit's book of the same market; it allows 10 connection requests a second
per IP (Upbit 5); and this module records trades as well as books, one
connection carrying both types.

Doc: https://apidocs.bithumb.com/reference/기본-정보 (endpoint, limits),
https://apidocs.bithumb.com/v2.1.5/reference/호가-orderbook (fields),
https://apidocs.bithumb.com/reference/연결-관리 (keepalive). Lines: SPEC.md 1b.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..arguments import Option, positive
from ..feed import Data, Feed, Limits, Line, Notice, Parsed, excerpt
from . import quotation
from .markets import chosen, split_evenly
from .quotation import currencies, format_orderbook
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
)

__all__ = [
    "DEFAULT_MARKETS",
    "LIMITS",
    "LISTING_PATH",
    "LISTING_URL",
    "LIVE_URL",
    "MARKETS_OPTION",
    "NAME",
    "OPTIONS",
    "STATUS_HINTS",
    "TITLE",
    "URL_ENV",
    "URL_HELP",
    "BithumbError",
    "Parser",
    "check_code",
    "check_market",
    "classify",
    "codes",
    "currencies",
    "feed",
    "feeds",
    "format_orderbook",
    "format_trade",
    "frame_facts",
    "line_key",
    "make_feed",
    "make_feeds",
    "parse_listing",
    "read_frame",
    "read_line",
    "subscription",
]

NAME = "bithumb"
TITLE = "Bithumb"
LIVE_URL = "wss://ws-api.bithumb.com/websocket/v1"
"""The whole URL: the subscription goes in a request, not in the URL."""
URL_ENV = "BTCLIB_BITHUMB_URL"
URL_HELP = "Bithumb WebSocket URL"

LISTING_URL = "https://api.bithumb.com/v1/market/all"
"""Where ``--bithumb-code all`` finds the live markets (REST host)."""
LISTING_PATH = "/v1/market/all"
"""The listing's path on Bithumb's REST host (the simulator, whose one port also serves
Upbit's identical path, answers it under ``/bithumb``)."""
PREFIX = NAME + ":"
"""Every line starts with it (SPEC 1b): ``bithumb:btckrw@orderbook,...``."""
DEFAULT_MARKETS = (quotation.DEFAULT_MARKET,)
MARKETS_OPTION = "bithumb_codes"
"""The option naming the markets (``all``: every KRW market of :data:`LISTING_URL`);
not ``codes``, which is Upbit's: both venues can be recorded in one run."""

LIMITS = Limits(
    connect_budget=10,
    connect_window=1.0,
    streams_per_connection=500,
    subscribe_budget=1,
    url_budget=None,
    lifetime=None,
    first_data_within=10.0,
    stall_after=60.0,
    keepalive=20.0,
)
"""What Bithumb allows and does (docs/protocols-bithumb.md): 10 connection requests a
second per IP, 429 beyond (documented); codes per connection undocumented, 493 served on
one socket (probe), so 500; one request, since a new one replaces the subscription
(probe); no lifetime; the snapshot comes within a second of the request; an idle socket
is dropped at 60 s (probe; the docs say about 120 s), so a book silent for 60 s means a
dead connection and the client pings every 20 s."""
WATCHED_CODES = 5
"""Up to this many codes, each book is watched for a stall; with more, only the first."""
OPTIONS = (
    Option(
        MARKETS_OPTION,
        "--bithumb-code",
        DEFAULT_MARKETS,
        "Bithumb market code, repeatable, or 'all' (every KRW market; default KRW-BTC)",
        repeatable=True,
    ),
    Option(
        "bithumb_keepalive",
        "--bithumb-keepalive",
        LIMITS.keepalive,
        f"client ping interval in seconds for Bithumb (default {LIMITS.keepalive:g})",
        type=positive,
    ),
)
"""What :func:`make_feed` takes besides the URL: the market codes, the client ping interval."""

STATUS_HINTS = {
    429: (
        "Bithumb says too many connection requests from this IP (HTTP 429: more than 10 a "
        "second); persistent excess blocks the IP for 10 minutes."
    ),
}


class BithumbError(quotation.QuotationError):
    """Bithumb answered with an error message (``{"error":{"name":...,"message":...}}``)."""

    title = TITLE


def check_code(code: str) -> str:
    """Return the market code (``KRW-BTC``) or raise ``ValueError`` naming the problem.

    The form is Upbit's, QUOTE-BASE (docs/protocols-bithumb.md 2); lower case is
    upper-cased, since the docs require upper case and an unknown code gives no data.
    """
    return quotation.check_code(code, TITLE)


check_market = check_code


def line_key(code: str, kind: str = "orderbook") -> str:
    """A market's line key: the exchange, base then quote, lower case, and the kind
    (``KRW-BTC`` -> ``bithumb:btckrw@orderbook``; ``kind="trade"``: ``...@trade``)."""
    quote, base = check_code(code).split("-")
    return f"{PREFIX}{base.lower()}{quote.lower()}@{kind}"


def subscription(codes: Sequence[str] = DEFAULT_MARKETS, ticket: str | None = None) -> str:
    """The request array: ticket, an orderbook and a trade type object for all codes, format.

    One frame carries every code and both types: as on Upbit, a new request is taken to
    replace the previous subscription (docs/protocols-bithumb.md 3).

    >>> subscription(["KRW-BTC"], ticket="t")  # doctest: +NORMALIZE_WHITESPACE
    '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]},{"type":"trade","codes":["KRW-BTC"]},{"format":"DEFAULT"}]'
    """
    return quotation.request([check_code(c) for c in codes], ("orderbook", "trade"), ticket)


def codes(value: str | Sequence[str]) -> list[str]:
    """The market codes of a ``bithumb_codes`` setting (one, several or ``all``), checked:
    see :func:`~btclib.exchanges.markets.chosen`."""
    return chosen(value, check_code, DEFAULT_MARKETS, TITLE)


def parse_listing(body: bytes | str) -> list[str]:
    """The KRW market codes of a ``/v1/market/all`` answer
    (https://api.bithumb.com/v1/market/all, Upbit's shape), in its order, KRW-BTC first:
    see :func:`~btclib.exchanges.quotation.parse_listing`."""
    return quotation.parse_listing(body, TITLE)


def format_trade(key: str, price: bytes, volume: bytes) -> bytes:
    """``bithumb:btckrw@trade, p:<trade_price>,q:<trade_volume>``, numbers as sent."""
    return b"".join((key.encode(), b", p:", price, b",q:", volume, b"\n"))


def _number(frame: bytes, span: tuple[int, int]) -> bytes:
    """The text of a JSON number (or a string's content: a number sent quoted)."""
    raw = frame[slice(*span)]
    return raw[1:-1] if raw[:1] == b'"' else raw


class Parser:
    """Turn one Bithumb frame into a :class:`Data` line or a :class:`Notice`.

    Orderbook, DEFAULT format (a whole book of up to 15 units every time; captured
    2026-09-23, docs/protocols-bithumb.md 7)::

        {"type":"orderbook","code":"KRW-BTC","total_ask_size":0.7111,"total_bid_size":7.1052,
         "orderbook_units":[{"ask_price":116208000,"bid_price":116204000,"ask_size":0.3313,
           "bid_size":0.0037},...],"level":1,"timestamp":1790133505564033,
         "stream_type":"SNAPSHOT"}

    becomes ``bithumb:btckrw@orderbook,[{"ask_price":116208000,...}]``; a trade::

        {"type":"trade","code":"KRW-BTC","trade_price":116208000,"trade_volume":0.0009,
         "ask_bid":"BID",...,"sequential_id":1079953210371761700,...,"stream_type":"REALTIME"}

    becomes ``bithumb:btckrw@trade, p:116208000,q:0.0009`` (SIMPLE format's ``obu``,
    ``tp``, ``tv`` the same way). ``{"status":"UP"}`` is a status notice;
    ``{"error":{"name":...,"message":...}}`` raises :class:`BithumbError`. Frames may
    be text or binary: both arrive here as bytes.
    """

    def __init__(self, codes: Sequence[str] = DEFAULT_MARKETS) -> None:
        self.codes = tuple(check_code(c) for c in codes)
        self._books = {code: line_key(code) for code in self.codes}
        self._trades = {code: line_key(code, "trade") for code in self.codes}
        self._fast_books = {
            f'{{"type":"orderbook","code":"{code}",'.encode(): (key, key.encode() + b",%s\n")
            for code, key in self._books.items()
        }
        self._fast_trades = {
            f'{{"type":"trade","code":"{code}",'.encode(): (key, key.encode() + b", p:%s,q:%s\n")
            for code, key in self._trades.items()
        }
        self.parse = self._fast_path()
        """The recorder's parse function: as calling the parser, but data comes as a
        plain :data:`~btclib.feed.Line` tuple (cheaper to build than :class:`Data`)."""

    @property
    def streams(self) -> tuple[str, ...]:
        """Every line key this parser writes: each code's book, then its trades."""
        return tuple(k for code in self.codes for k in (self._books[code], self._trades[code]))

    def __call__(self, frame: bytes) -> Parsed:
        parsed = self.parse(frame)
        return Data._make(parsed) if type(parsed) is tuple else parsed

    def _fast_path(self) -> Callable[[bytes], Line | Notice]:
        """The documented compact layout in a few C calls; anything else to :meth:`_general`.

        The head (type and code, 30-odd bytes, found by two finds) picks the line; a book's
        ``orderbook_units`` array holds objects of numbers only, so its first ``]`` ends
        it; a trade's two numbers end at the next ``,`` or ``}``. Any surprise (a head
        not known, a key missing, a number not followed by a separator) goes the slow
        way, which parses the JSON first.
        """
        books, trades, general = self._fast_books, self._fast_trades, self._general
        units = b',"orderbook_units":['
        price_key, volume_key = b'"trade_price":', b'"trade_volume":'
        digits, starts = b"0123456789", b"-0123456789"

        def parse(frame: bytes) -> Line | Notice:
            end = frame.find(b'",', frame.find(b',"code":"', 8) + 9)
            head = bytes(frame[: end + 2])
            if frame.endswith(b"}"):
                hit = books.get(head)
                if hit is not None:
                    start = frame.find(units, end)
                    stop = frame.find(b"]", start)
                    if start > 0 and stop > 0 and frame[stop + 1] in b",}":
                        return hit[0], None, hit[1] % frame[start + 19 : stop + 1]
                    return general(frame)
                hit = trades.get(head)
                if hit is not None:
                    p = frame.find(price_key, end)
                    v = frame.find(volume_key, end)
                    if p > 0 and v > 0:
                        p += 14
                        v += 15
                        p_end = frame.find(b",", p)
                        v_end = frame.find(b",", v)
                        if v_end < 0:
                            v_end = len(frame) - 1
                        price, volume = frame[p:p_end], frame[v:v_end]
                        if (
                            price
                            and volume
                            and price[:1] in starts
                            and volume[:1] in starts
                            and price[-1:] in digits
                            and volume[-1:] in digits
                        ):
                            return hit[0], None, hit[1] % (price, volume)
            return general(frame)

        return parse

    def _general(self, frame: bytes) -> Parsed:
        frame = bytes(frame)  # the recorder may hand websockets' bytearray
        message = quotation.control(frame, BithumbError)
        if isinstance(message, Notice):
            return message
        kind = message.get("type", message.get("ty"))
        code = message.get("code", message.get("cd"))
        if kind not in ("orderbook", "trade"):
            return Notice("unexpected", f"type {kind!r} not subscribed: {excerpt(frame)}")
        keys = self._books if kind == "orderbook" else self._trades
        key = keys.get(code) if isinstance(code, str) else None
        if key is None:
            return Notice("unexpected", f"code {code!r} not subscribed: {excerpt(frame)}")
        spans = {_key(k): span for k, span in member_spans(frame).items()}
        if kind == "orderbook":
            units = spans.get("orderbook_units", spans.get("obu"))
            if units is None or frame[units[0]] != ord("["):
                return Notice("malformed", f"orderbook without orderbook_units: {excerpt(frame)}")
            return Data(key, None, format_orderbook(key, frame[slice(*units)]))
        price = spans.get("trade_price", spans.get("tp"))
        volume = spans.get("trade_volume", spans.get("tv"))
        if price is None or volume is None:
            return Notice("malformed", f"trade without trade_price/volume: {excerpt(frame)}")
        numbers = (_number(frame, price), _number(frame, volume))
        if not all(_is_number(n) for n in numbers):
            return Notice("malformed", f"trade price or volume not a number: {excerpt(frame)}")
        return Data(key, None, format_trade(key, *numbers))


def _key(raw: str) -> str:
    """A member name as JSON means it (``orderbook_\\u0075nits`` is ``orderbook_units``)."""
    return str(json.loads(f'"{raw}"')) if "\\" in raw else raw


def _is_number(text: bytes) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return bool(text) and text.strip() == text


def feed(
    codes: str | Sequence[str] = DEFAULT_MARKETS,
    url: str = LIVE_URL,
    keepalive: float | None = None,
    stall_after: float | None = None,
    *,
    connections: int = 1,
) -> Feed:
    """Bithumb's book and trades of ``codes`` as the recorder runs them: one connection,
    one request.

    Bithumb closes a socket after about 120 s without traffic, so the client pings
    every ``keepalive`` seconds (``None``: ``LIMITS.keepalive``; at most half
    ``LIMITS.stall_after``). A quiet book sends nothing, so silence is tolerated for
    ``LIMITS.stall_after`` before the connection is replaced; trades are never watched
    (a quiet market trades rarely). ``connections``: how many share the 10-a-second
    connection budget.
    """
    parser = Parser(_codes(codes))
    keepalive = quotation.check_keepalive(keepalive, LIMITS, TITLE)
    books = tuple(parser._books.values())
    watched = books if len(books) <= WATCHED_CODES else books[:1]
    shown = ", ".join(parser.codes) if len(books) <= 8 else f"{len(books)} codes"
    return Feed(
        exchange=NAME,
        url=url,
        requests=(subscription(parser.codes),),
        parser=parser.parse,
        streams=parser.streams,
        stall_after={key: stall_after or LIMITS.stall_after for key in watched},
        ping_interval=keepalive,
        lifetime=LIMITS.lifetime,
        connect_limit=LIMITS.connect_limit(connections),
        first_data_within=LIMITS.first_data_within,
        silence_hint=(
            f"Bithumb sent nothing for {shown}: is each a listed market code? "
            "An unknown code gets no data and no error"
        ),
        status_hints=STATUS_HINTS,
        title=TITLE,
    )


_codes = codes


def feeds(
    codes: str | Sequence[str] = DEFAULT_MARKETS,
    url: str = LIVE_URL,
    keepalive: float | None = None,
    stall_after: float | None = None,
) -> list[Feed]:
    """Every code on one connection (one request), or on as few as
    ``LIMITS.streams_per_connection`` allows."""
    groups = split_evenly(_codes(codes), LIMITS.streams_per_connection)
    return [feed(group, url, keepalive, stall_after, connections=len(groups)) for group in groups]


def make_feed(url: str, settings: Mapping[str, Any], stall_after: float | None = None) -> Feed:
    """The first connection of :func:`make_feeds` (the only one for a few markets); every
    market is checked, so a wrong one raises ``ValueError`` naming it."""
    return make_feeds(url, settings, stall_after)[0]


def make_feeds(
    url: str, settings: Mapping[str, Any], stall_after: float | None = None
) -> list[Feed]:
    """:func:`feeds` from the URL and the values of :data:`OPTIONS` by name."""
    return feeds(settings[MARKETS_OPTION], url, settings["bithumb_keepalive"], stall_after)


def read_line(line: bytes | str, number: Number = float) -> Book[Any] | Trade[Any] | None:
    """A Bithumb line read back (SPEC section 1b), or ``None`` if it is not one.

    ``bithumb:btckrw@orderbook,[{"ask_price":84500000,...}]`` is a :class:`Book` of
    ``KRW-BTC``; ``bithumb:btckrw@trade, p:84500000,q:0.0035`` a :class:`Trade`.
    """
    text = line.decode("utf-8") if isinstance(line, bytes | bytearray) else line
    if not text.startswith(PREFIX):
        return None
    key, _, rest = text[len(PREFIX) :].rstrip("\n").partition(",")
    name, _, stream = key.partition("@")
    try:
        if stream == "orderbook" and rest.startswith("["):
            units = json.loads(rest, parse_float=number, parse_int=number)
            return quotation.book(NAME, quotation.market_code(name), units, number)
        if stream == "trade" and rest.startswith(" p:"):
            price, sep, size = rest[3:].partition(",q:")
            if sep:
                return Trade(NAME, quotation.market_code(name), number(price), number(size))
    except UNREADABLE:
        return None
    return None


def read_frame(frame: bytes | str, number: Number = float) -> Book[Any] | Trade[Any] | None:
    """The market data of one frame (any code), or ``None`` for anything else: see
    :func:`~btclib.exchanges.quotation.read_frame`."""
    return quotation.read_frame(NAME, frame, number)


def frame_facts(frame: bytes | str) -> FrameFacts | None:
    """A data frame's line key, trade ``sequential_id`` (unique, not contiguous; books
    have none) and ``timestamp``, or ``None`` for anything else."""
    data = quotation.data_message(frame)
    if data is None or data[1] not in ("orderbook", "trade"):
        return None
    message, kind, code = data
    try:
        key = line_key(code, kind)
    except ValueError:
        return None
    seq = message.get("sequential_id", message.get("sid")) if kind == "trade" else None
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    return FrameFacts(key, seq, epoch_seconds(message.get("timestamp", message.get("tms"))))


_ANY_CODE = Parser()


def classify(frame: bytes) -> FrameKind:
    """What a frame is (data of any code, status, reply, error, malformed), by the
    parser's own rules, so a replay and the recorder never disagree."""
    return frame_kind(_ANY_CODE.parse, frame)
