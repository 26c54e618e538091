"""Upbit quotation WebSocket: the request to send and the lines each frame becomes.

Pure functions and one stateless parser; no I/O. Upbit differs from Binance
in three ways that shape this module: the subscription is a JSON array sent
after connecting (not part of the URL); data arrives in BINARY frames of
UTF-8 JSON; and numbers are JSON numbers spelled Java-style (``2.2855E7``,
``0.13138600``, ``9.9E-7``), which only a byte copy keeps as sent.

Doc: https://docs.upbit.com/kr/reference/websocket-orderbook and
https://docs.upbit.com/kr/reference/websocket-request-format (protocols.md
section 2). Lines: SPEC.md section 1.
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
    "CLOCK_PATH",
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
    "Parser",
    "UpbitError",
    "check_code",
    "check_market",
    "classify",
    "codes",
    "currencies",
    "feed",
    "feeds",
    "format_orderbook",
    "frame_facts",
    "line_key",
    "make_feed",
    "make_feeds",
    "parse_listing",
    "read_frame",
    "read_line",
    "server_time",
    "subscription",
]

NAME = "upbit"
TITLE = "Upbit"
LIVE_URL = "wss://api.upbit.com/websocket/v1"
"""The whole URL: the subscription goes in a request, not in the URL."""
URL_ENV = "BTCLIB_UPBIT_URL"
URL_HELP = "Upbit WebSocket URL"

LISTING_URL = "https://api.upbit.com/v1/market/all"
"""Where ``--code all`` finds the live markets (REST host)."""
LISTING_PATH = "/v1/market/all"
"""The listing's path, served by the simulator on its own port too."""
DEFAULT_MARKETS = (quotation.DEFAULT_MARKET,)
MARKETS_OPTION = "codes"
"""The option that names the markets (``all``: every KRW market of :data:`LISTING_URL`)."""
LIMITS = Limits(
    connect_budget=5,
    connect_window=1.0,
    streams_per_connection=800,
    subscribe_budget=1,
    url_budget=None,
    lifetime=None,
    first_data_within=10.0,
    stall_after=60.0,
    keepalive=20.0,
)
"""What Upbit allows and does (protocols.md section 2): 5 connection attempts a second
per IP; 800 codes a connection (Upbit documents no limit; 855 in one request worked,
protocols.md 2.8, so 200 KRW markets take one connection); one request, since a new one
replaces the subscription; the URL names nothing; no lifetime; the snapshot comes right
after the request (10 s); a socket silent for 60 s is closed (docs say 120 s; 60 s was
observed), so a book silent that long means a dead connection and the client pings every
20 s (at most half the idle limit)."""
WATCHED_CODES = 5
"""Up to this many codes, each is watched for a stall; with more, only the first
(Upbit sends nothing for a quiet book, and among hundreds some are always quiet)."""
OPTIONS = (
    Option(
        MARKETS_OPTION,
        "--code",
        DEFAULT_MARKETS,
        "Upbit market code, repeatable, or 'all' (every KRW market; default KRW-BTC)",
        repeatable=True,
    ),
    Option(
        "keepalive",
        "--keepalive",
        LIMITS.keepalive,
        f"client ping interval in seconds for Upbit (default {LIMITS.keepalive:g})",
        type=positive,
    ),
)
"""What :func:`make_feed` takes besides the URL: the market codes, the client ping interval."""

STATUS_HINTS = {
    429: "Upbit says too many connections or requests from this IP (HTTP 429).",
    418: "Upbit has temporarily banned this IP for too many requests (HTTP 418).",
}


class UpbitError(quotation.QuotationError):
    """Upbit answered with an error message, e.g. ``NO_CODES`` or ``WRONG_FORMAT``."""

    title = TITLE


def check_code(code: str) -> str:
    """Return the market code (``KRW-BTC``) or raise ``ValueError`` naming the problem.

    Upbit accepts unknown or lower-case codes silently and then sends nothing
    (protocols.md 2.2), so the form is checked here. Lower case is upper-cased.
    """
    return quotation.check_code(code, TITLE)


check_market = check_code


def line_key(code: str) -> str:
    """The line prefix of a market: base then quote, lower case (``KRW-BTC`` -> ``btckrw``)."""
    quote, base = check_code(code).split("-")
    return f"{base.lower()}{quote.lower()}@orderbook"


def subscription(codes: Sequence[str] = DEFAULT_MARKETS, ticket: str | None = None) -> str:
    """The request array: ticket, one orderbook type object for all codes, format.

    One frame carries every code because a new request on an open socket
    replaces the previous subscription (protocols.md 2.2).

    >>> subscription(["KRW-BTC"], ticket="t")
    '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]},{"format":"DEFAULT"}]'
    """
    return quotation.request([check_code(c) for c in codes], ("orderbook",), ticket)


def codes(value: str | Sequence[str]) -> list[str]:
    """The market codes of a ``codes`` setting (one, several or ``all``), checked:
    see :func:`~btclib.exchanges.markets.chosen`."""
    return chosen(value, check_code, DEFAULT_MARKETS, TITLE)


def parse_listing(body: bytes | str) -> list[str]:
    """The KRW market codes of a ``/v1/market/all`` answer
    (https://api.upbit.com/v1/market/all), in its order, KRW-BTC first: see
    :func:`~btclib.exchanges.quotation.parse_listing`."""
    return quotation.parse_listing(body, TITLE)


class Parser:
    """Turn one Upbit frame into a :class:`Data` line or a :class:`Notice`.

    Orderbook, DEFAULT format (a whole book every time; binary frame)::

        {"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,
         "total_ask_size":2.51469375,"total_bid_size":1.63815297,
         "orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,
           "ask_size":0.02054761,"bid_size":0.08120946}],
         "stream_type":"SNAPSHOT","level":0}

    becomes ``btckrw@orderbook,[{"ask_price":1.16539E8,...}]`` (SIMPLE format:
    ``obu`` is copied the same way). ``{"status":"UP"}`` is a status notice;
    ``{"error":{"name":"NO_CODES","message":"..."}}`` raises :class:`UpbitError`.
    Frames may be text or binary: both arrive here as bytes.
    """

    def __init__(self, codes: Sequence[str] = DEFAULT_MARKETS) -> None:
        self.codes = tuple(check_code(c) for c in codes)
        self._keys = {code: line_key(code) for code in self.codes}
        self._fast = {
            f'{{"type":"orderbook","code":"{code}",'.encode(): (key, key.encode() + b",%s\n")
            for code, key in self._keys.items()
        }
        self.parse = self._fast_path()
        """The recorder's parse function: as calling the parser, but data comes as a
        plain :data:`~btclib.feed.Line` tuple (cheaper to build than :class:`Data`)."""

    def __call__(self, frame: bytes) -> Parsed:
        parsed = self.parse(frame)
        return Data._make(parsed) if type(parsed) is tuple else parsed

    def _fast_path(self) -> Callable[[bytes], Line | Notice]:
        """The documented compact layout in a few C calls; anything else to :meth:`_general`.

        A closure, so that every constant is a local variable. With one code (the
        usual case) the head is recognised by one startswith (no slice, no dict
        look-up); then two finds locate ``orderbook_units`` and one %-format
        copies it into the line (no '%' in a market code).
        """
        fast, general = self._fast, self._general
        units = b',"orderbook_units":['
        if len(fast) == 1:
            ((head, (key, line)),) = fast.items()
            after = len(head) - 2

            def parse(frame: bytes) -> Line | Notice:
                if frame.startswith(head) and frame.endswith(b"}"):
                    start = frame.find(units, after)
                    stop = frame.find(b"]", start)
                    if start > 0 and stop > 0 and frame[stop + 1] in b",}":
                        return key, None, line % frame[start + 19 : stop + 1]
                return general(frame)

            return parse

        def parse_any(frame: bytes) -> Line | Notice:
            end = frame.find(b'",', 27)
            hit = fast.get(bytes(frame[: end + 2]))
            if hit is not None and frame.endswith(b"}"):
                start = frame.find(units, end)
                stop = frame.find(b"]", start)
                if start > 0 and stop > 0 and frame[stop + 1] in b",}":
                    return hit[0], None, hit[1] % frame[start + 19 : stop + 1]
            return general(frame)

        return parse_any

    def _general(self, frame: bytes) -> Parsed:
        frame = bytes(frame)  # the recorder may hand websockets' bytearray
        message = quotation.control(frame, UpbitError)
        if isinstance(message, Notice):
            return message
        kind = message.get("type", message.get("ty"))
        code = message.get("code", message.get("cd"))
        if kind != "orderbook":
            return Notice("unexpected", f"type {kind!r} not subscribed: {excerpt(frame)}")
        key = self._keys.get(code) if isinstance(code, str) else None
        if key is None:
            return Notice("unexpected", f"code {code!r} not subscribed: {excerpt(frame)}")
        spans = member_spans(frame)
        units = spans.get("orderbook_units", spans.get("obu"))
        if units is None or frame[units[0]] != ord("["):
            return Notice("malformed", f"orderbook without orderbook_units: {excerpt(frame)}")
        return Data(key, None, format_orderbook(key, frame[slice(*units)]))


def feed(
    codes: str | Sequence[str] = DEFAULT_MARKETS,
    url: str = LIVE_URL,
    keepalive: float | None = None,
    stall_after: float | None = None,
    *,
    connections: int = 1,
) -> Feed:
    """Step B as the recorder runs it: one connection, one request, orderbook frames.

    Upbit sends no pings and closes a socket after ~60-120 s without traffic,
    so the client pings every ``keepalive`` seconds (``None``: ``LIMITS.keepalive``;
    at most half ``LIMITS.stall_after``: 30 s). A quiet book
    sends nothing, so silence is tolerated for a minute before the connection
    is replaced; with more than :data:`WATCHED_CODES` codes only the first is
    watched (the pings tell a dead connection). ``connections``: how many
    connections share Upbit's 5-per-second connection budget.
    """
    parser = Parser(_codes(codes))
    keys = tuple(parser._keys.values())
    keepalive = quotation.check_keepalive(keepalive, LIMITS, TITLE)
    watched = keys if len(keys) <= WATCHED_CODES else keys[:1]
    shown = ", ".join(parser.codes) if len(keys) <= 8 else f"{len(keys)} codes"
    return Feed(
        exchange=NAME,
        url=url,
        requests=(subscription(parser.codes),),
        parser=parser.parse,
        streams=keys,
        stall_after={key: stall_after or LIMITS.stall_after for key in watched},
        ping_interval=keepalive,
        lifetime=LIMITS.lifetime,
        connect_limit=LIMITS.connect_limit(connections),
        first_data_within=LIMITS.first_data_within,
        silence_hint=(
            f"Upbit sent nothing for {shown}: is each a listed market "
            "code? Upbit ignores unknown codes silently"
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
    market is checked, so a wrong one raises ``ValueError`` naming it.

    :func:`feed` from the URL and the values of :data:`OPTIONS` by name."""
    return make_feeds(url, settings, stall_after)[0]


def make_feeds(
    url: str, settings: Mapping[str, Any], stall_after: float | None = None
) -> list[Feed]:
    """:func:`feeds` from the URL and the values of :data:`OPTIONS` by name."""
    return feeds(settings[MARKETS_OPTION], url, settings["keepalive"], stall_after)


def read_line(line: bytes | str, number: Number = float) -> Book[Any] | None:
    """An Upbit line read back (SPEC section 1), or ``None`` if it is not one.

    ``btckrw@orderbook,[{"ask_price":1.16539E8,"bid_price":1.16538E8,...}]`` is a
    :class:`Book` of ``KRW-BTC`` (SIMPLE format's ``ap``/``bp``/``as``/``bs`` too).
    """
    text = line.decode("utf-8") if isinstance(line, bytes | bytearray) else line
    key, _, rest = text.rstrip("\n").partition(",")
    name, _, stream = key.partition("@")
    if stream != "orderbook" or not rest.startswith("["):
        return None
    try:
        units = json.loads(rest, parse_float=number, parse_int=number)
        return quotation.book(NAME, quotation.market_code(name), units, number)
    except UNREADABLE:
        return None


def read_frame(frame: bytes | str, number: Number = float) -> Book[Any] | Trade[Any] | None:
    """The market data of one frame (any code), or ``None`` for anything else: see
    :func:`~btclib.exchanges.quotation.read_frame`."""
    return quotation.read_frame(NAME, frame, number)


_ANY_CODE = Parser()


def classify(frame: bytes) -> FrameKind:
    """What a frame is (data of any code, status, reply, error, malformed), by the
    parser's own rules, so a replay and the recorder never disagree."""
    return frame_kind(_ANY_CODE.parse, frame)


def frame_facts(frame: bytes | str) -> FrameFacts | None:
    """An orderbook frame's line key and ``timestamp`` (Upbit numbers no book: ``seq`` is
    ``None``), or ``None`` for anything else."""
    data = quotation.data_message(frame)
    if data is None or data[1] != "orderbook":
        return None
    message, _, code = data
    try:
        key = line_key(code)
    except ValueError:
        return None
    return FrameFacts(key, None, epoch_seconds(message.get("timestamp", message.get("tms"))))


# -- The exchange's clock (btclib.quality.clock) --

CLOCK_PATH = LISTING_PATH
"""Upbit has no time endpoint: the HTTP ``Date`` header of a light public GET tells its clock."""


def server_time(body: bytes, headers: Mapping[str, str]) -> tuple[float, float] | None:
    """The exchange's time from an answer's ``Date`` header, and its resolution (1 s)."""
    import email.utils

    date = next((v for k, v in headers.items() if k.lower() == "date"), None)
    if date is None:
        return None
    try:
        return email.utils.parsedate_to_datetime(date).timestamp(), 1.0
    except (TypeError, ValueError):
        return None
