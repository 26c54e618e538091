"""The quotation API shape one Korean venue published and another adopted: what they share.

A protocol family, not a venue: the request is a JSON array sent after connecting
(ticket, one object a type, format); markets are ``QUOTE-BASE`` codes listed by
``/v1/market/all``; data messages name their ``type`` and ``code`` (SIMPLE format:
``ty``/``cd``), a book carries ``orderbook_units`` (``obu``), a trade ``trade_price``
and ``trade_volume`` (``tp``/``tv``); ``{"status":"UP"}`` answers a ping and errors
come as ``{"error":{"name":...,"message":...}}``. Each venue's module keeps its own
facts (name, URLs, limits, line keys, which types it records, its fast parse path)
and takes the shared rules from here, parametrized by its title.

Pure functions; no I/O. Each venue module names its documentation and protocol notes.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from ..errors import ExchangeError
from ..feed import Limits, Notice, excerpt, load_object
from .markets import ListingError, load_listing
from .records import UNREADABLE, Book, Number, Trade, value

__all__ = [
    "CODE",
    "DEFAULT_MARKET",
    "QUOTES",
    "QuotationError",
    "book",
    "check_code",
    "check_keepalive",
    "control",
    "currencies",
    "data_message",
    "format_orderbook",
    "market_code",
    "message",
    "parse_listing",
    "read_frame",
    "request",
]

CODE = re.compile(r"([A-Z]{2,10})-([A-Z0-9]{1,15})")
"""A market code: quote, dash, base (``KRW-BTC``)."""
DEFAULT_MARKET = "KRW-BTC"
"""The market recorded when none is named, and the first of a listing (with many codes
only the first is watched for a stall)."""
QUOTES = ("KRW", "BTC", "USDT")
"""The quote markets: a line key ``btckrw`` ends with one of them."""
LISTED_QUOTE = "KRW-"
"""``all`` means the KRW markets (the listings also hold BTC- and USDT- markets)."""
_UNIT_KEYS = {
    False: ("bid_price", "bid_size", "ask_price", "ask_size"),  # DEFAULT format
    True: ("bp", "bs", "ap", "as"),  # SIMPLE format
}


class QuotationError(ExchangeError):
    """The venue answered with ``{"error":{"name":...,"message":...}}``; each venue's
    module subclasses it with its :attr:`title`, so the error names who said it."""

    title = "The exchange"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{self.title} error {name}: {message}")
        self.name = name
        self.message = message


def check_code(code: str, title: str) -> str:
    """Return the market code (``KRW-BTC``) or raise ``ValueError`` naming the problem
    (lower case is upper-cased)."""
    upper = code.strip().upper()
    if not CODE.fullmatch(upper):
        raise ValueError(
            f"unknown {title} market code format {code!r}: expected QUOTE-BASE such as 'KRW-BTC'"
        )
    return upper


def currencies(market: str) -> tuple[str, str] | None:
    """``KRW-BTC`` -> ``("BTC", "KRW")``: base then quote; ``None`` for another form."""
    quote, sep, base = market.partition("-")
    return (base, quote) if sep and base and quote else None


def market_code(key: str) -> str:
    """``btckrw`` -> ``KRW-BTC`` (a line key is base then quote, lower case)."""
    upper = key.upper()
    for quote in QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{quote}-{upper[: -len(quote)]}"
    return upper


def request(codes: Sequence[str], types: Sequence[str], ticket: str | None = None) -> str:
    """The request array: ticket, one type object a type for all ``codes`` (already
    checked), DEFAULT format. One frame carries everything because a new request on an
    open socket replaces the previous subscription.

    >>> request(["KRW-BTC"], ["orderbook"], ticket="t")
    '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]},{"format":"DEFAULT"}]'
    """
    codes = list(codes)
    array: list[dict[str, Any]] = [{"ticket": ticket or str(uuid.uuid4())}]
    array += [{"type": kind, "codes": codes} for kind in types]
    array.append({"format": "DEFAULT"})
    return json.dumps(array, separators=(",", ":"))


def parse_listing(body: bytes | str, title: str) -> list[str]:
    """The KRW market codes of a ``/v1/market/all`` answer, in its order, KRW-BTC first.

    The answer::

        [{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin"},
         {"market":"KRW-ETH",...},{"market":"BTC-ETH",...},...]

    (``?isDetails=true`` adds ``market_warning``/``market_event``; ignored.)
    KRW-BTC leads because with many codes only the first is watched for a stall.
    """
    listing = load_listing(body, title)
    if not isinstance(listing, list):
        raise ListingError(f"{title}'s market list is not a JSON array: {str(listing)[:120]}")
    out = [
        entry["market"]
        for entry in listing
        if isinstance(entry, dict)
        and isinstance(entry.get("market"), str)
        and entry["market"].startswith(LISTED_QUOTE)
        and CODE.fullmatch(entry["market"])
    ]
    out = list(dict.fromkeys(out))
    if DEFAULT_MARKET in out:
        out.remove(DEFAULT_MARKET)
        out.insert(0, DEFAULT_MARKET)
    return out


def check_keepalive(keepalive: float | None, limits: Limits, title: str) -> float:
    """The client ping interval (``None``: ``limits.keepalive``), checked: above 0 and at
    most half ``limits.stall_after``, since the venue closes a socket idle that long."""
    keepalive = limits.keepalive if keepalive is None else keepalive
    most = limits.stall_after / 2
    if keepalive is None or keepalive <= 0 or keepalive > most:
        raise ValueError(
            f"keepalive {keepalive} s: must be above 0 and at most {most:g} s for {title}"
        )
    return keepalive


def format_orderbook(key: str, units: bytes) -> bytes:
    """``<key>,<orderbook_units>`` with the array copied as sent (the slow path's line;
    the fast paths build the same bytes with one %-format)."""
    return b"".join((key.encode(), b",", units, b"\n"))


def control(frame: bytes, error: type[QuotationError]) -> dict[str, Any] | Notice:
    """The slow path's first half: a frame's JSON object, or the :class:`Notice` it is
    (unreadable, ``status``, a ``method`` reply); an ``error`` object raises ``error``.
    The caller goes on with the data message's ``type``/``code``."""
    message = load_object(frame)
    if isinstance(message, Notice):
        return message
    if "error" in message:
        reported = message["error"]
        if isinstance(reported, dict):
            raise error(str(reported.get("name")), str(reported.get("message")))
        raise error("UNKNOWN", str(reported))
    if "status" in message:
        return Notice("status", excerpt(frame))
    if "method" in message or "mthd" in message:
        return Notice("reply", excerpt(frame))
    return message


def message(frame: bytes | str, number: Number | None = None) -> dict[str, Any] | None:
    """The frame's JSON object (``*_LIST`` formats unwrapped), or ``None``; numbers made
    by ``number`` (``None``: as :func:`json.loads` makes them, ints exact)."""
    try:
        if number is None:
            loaded = json.loads(frame)
        else:
            loaded = json.loads(frame, parse_float=number, parse_int=number)
    except ValueError:
        return None
    if isinstance(loaded, list) and len(loaded) == 1:
        loaded = loaded[0]
    return loaded if isinstance(loaded, dict) else None


def data_message(
    frame: bytes | str, number: Number | None = None
) -> tuple[dict[str, Any], Any, str] | None:
    """A message with a string ``code``, its ``type`` and its code (DEFAULT or SIMPLE
    names), or ``None``."""
    loaded = message(frame, number)
    if loaded is None:
        return None
    code = loaded.get("code", loaded.get("cd"))
    if not isinstance(code, str):
        return None
    return loaded, loaded.get("type", loaded.get("ty")), code


def book(exchange: str, code: str, units: list[dict[str, Any]], number: Number) -> Book[Any]:
    """Each unit holds one bid and one ask of the same rank; a thin side is padded with
    0-price units (kept here: they are what was sent)."""
    bid, bid_size, ask, ask_size = _UNIT_KEYS[bool(units) and "ap" in units[0]]
    zero = number("0")

    def side(price: str, size: str) -> tuple[tuple[Any, Any], ...]:
        pairs = ((u.get(price, zero), u.get(size, zero)) for u in units)
        return tuple((value(p, number), value(s, number)) for p, s in pairs)

    return Book(exchange, code, side(bid, bid_size), side(ask, ask_size))


def read_frame(
    exchange: str, frame: bytes | str, number: Number = float
) -> Book[Any] | Trade[Any] | None:
    """The market data of one frame (any code), or ``None`` for anything else.

    Orderbook and trade messages in DEFAULT or SIMPLE format, possibly wrapped in a
    one-element list (the ``*_LIST`` formats)::

        {"type":"orderbook","code":"KRW-BTC",...,"orderbook_units":[{"ask_price":1.16539E8,
         "bid_price":1.16538E8,"ask_size":0.02054761,"bid_size":0.08120946}],...}
        {"ty":"orderbook","cd":"KRW-BTC",...,"obu":[{"ap":1.16539E8,"bp":...}],...}

    Status messages, replies and errors give ``None``.
    """
    data = data_message(frame, number)
    if data is None:
        return None
    loaded, kind, code = data
    try:
        if kind == "orderbook":
            units = loaded.get("orderbook_units", loaded.get("obu")) or []
            return book(exchange, code, units, number)
        if kind == "trade":
            price = loaded.get("trade_price", loaded.get("tp"))
            size = loaded.get("trade_volume", loaded.get("tv"))
            if price is not None and size is not None:
                return Trade(exchange, code, value(price, number), value(size, number))
    except UNREADABLE:
        return None
    return None
