"""Upbit quotation WebSocket, server side, without I/O.

:func:`parse_request` validates a client request the way ``api.upbit.com``
does (protocols.md 2.2 and 2.7); :class:`UpbitSession` holds one connection's
subscription and turns market steps into orderbook and trade frames with
Upbit's key names, key order and Java number spellings (2.3 to 2.5). The
asyncio server sends every string it gets from here as a binary frame.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .market import SIZE_SCALE, Book, Level, Market, Step, Trade
from .numbers import java_bigdecimal, java_double

__all__ = [
    "ERROR_MESSAGES",
    "Format",
    "Reply",
    "Subscription",
    "UpbitError",
    "UpbitRequest",
    "UpbitSession",
    "format_orderbook",
    "format_trade",
    "parse_request",
]

Format = Literal["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"]
_FORMATS: tuple[Format, ...] = ("DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST")
_SILENT_TYPES = re.compile(r"^(ticker|candle\.(1s|1m|3m|5m|10m|15m|30m|60m|240m))$")
_UNIT_COUNTS = (1, 5, 15, 30)

#: Messages Upbit sends with each error name; NO_TICKET and WRONG_FORMAT are
#: the observed wire texts, the others follow their pattern.
ERROR_MESSAGES = {
    "WRONG_FORMAT": "Format 이 맞지 않습니다.",
    "NO_TICKET": "티켓이 존재하지 않거나, 유효하지 않습니다.",
    "NO_TYPE": "타입이 존재하지 않거나, 유효하지 않습니다.",
    "NO_CODES": "코드가 존재하지 않거나, 유효하지 않습니다.",
}


@dataclass(frozen=True)
class UpbitError:
    """An error reply: ``{"error":{"name":...,"message":...}}``."""

    name: str
    message: str

    @classmethod
    def of(cls, name: str) -> UpbitError:
        return cls(name, ERROR_MESSAGES[name])

    def to_json(self) -> str:
        return json.dumps(
            {"error": {"name": self.name, "message": self.message}},
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class Subscription:
    """One type object: ``{"type":..., "codes":[...], ...}``."""

    type: str
    #: Requested codes as sent (``"KRW-BTC.5"``), for LIST_SUBSCRIPTIONS.
    requested: tuple[str, ...]
    #: ``(code, unit count)`` pairs; the unit count matters for orderbooks only.
    codes: tuple[tuple[str, int], ...]
    level: float = 0
    only_snapshot: bool = False
    only_realtime: bool = False


@dataclass(frozen=True)
class UpbitRequest:
    ticket: str
    format: Format | None
    subscriptions: tuple[Subscription, ...]
    method: str | None = None


def _flag(obj: dict[str, Any], snake: str, camel: str) -> bool | None:
    """Read a boolean flag spelled either way; None when it has the wrong type."""
    value = obj.get(snake, obj.get(camel, False))
    return value if isinstance(value, bool) else None


def _split_code(code: str) -> tuple[str, int]:
    """``"KRW-BTC.5"`` -> ``("KRW-BTC", 5)``; counts other than 1/5/15/30 mean 30."""
    base, dot, count = code.rpartition(".")
    if dot and count.isdigit():
        n = int(count)
        return base, n if n in _UNIT_COUNTS else 30
    return code, 30


def parse_request(text: str) -> UpbitRequest | UpbitError:
    """Validate one request message and return it, or the error Upbit answers."""
    try:
        items = json.loads(text)
    except ValueError:
        return UpbitError.of("WRONG_FORMAT")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return UpbitError.of("WRONG_FORMAT")
    ticket = next((i["ticket"] for i in items if "ticket" in i), None)
    if not isinstance(ticket, str) or not ticket:
        return UpbitError.of("NO_TICKET")
    fmt: Format | None = None
    method: str | None = None
    subs: list[Subscription] = []
    for item in items:
        if "ticket" in item:
            continue
        if "format" in item:
            value = item["format"]
            if value not in _FORMATS:
                return UpbitError("INVALID_PARAM", f"{value} 은 지원하지 않는 포맷입니다.")
            fmt = value
        elif "method" in item:
            if item["method"] != "LIST_SUBSCRIPTIONS":
                message = f"{item['method']} 은 지원하지 않는 메소드입니다."
                return UpbitError("INVALID_PARAM", message)
            method = "LIST_SUBSCRIPTIONS"
        elif "type" in item:
            sub = _parse_type(item)
            if isinstance(sub, UpbitError):
                return sub
            subs.append(sub)
        else:
            return UpbitError.of("WRONG_FORMAT")
    if not subs and method is None:
        return UpbitError.of("NO_TYPE")
    return UpbitRequest(ticket, fmt, tuple(subs), method)


def _parse_type(item: dict[str, Any]) -> Subscription | UpbitError:
    kind = item["type"]
    if not isinstance(kind, str) or not kind:
        return UpbitError.of("NO_TYPE")
    if kind not in ("orderbook", "trade") and not _SILENT_TYPES.match(kind):
        return UpbitError("INVALID_PARAM", f"{kind} 은 지원하지 않는 타입입니다.")
    codes = item.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        return UpbitError.of("NO_CODES")
    only_snapshot = _flag(item, "is_only_snapshot", "isOnlySnapshot")
    only_realtime = _flag(item, "is_only_realtime", "isOnlyRealtime")
    if only_snapshot is None or only_realtime is None:
        message = "is_only_snapshot, is_only_realtime 값이 올바르지 않습니다."
        return UpbitError("INVALID_PARAM", message)
    level = item.get("level", 0)
    if isinstance(level, bool) or not isinstance(level, int | float):
        return UpbitError("INVALID_PARAM", f"{level} 은 지원하지 않는 level 입니다.")
    if kind == "orderbook":
        parsed = tuple(dict.fromkeys(_split_code(c) for c in codes))
    else:
        parsed = tuple(dict.fromkeys((c, 0) for c in codes))
    return Subscription(kind, tuple(codes), parsed, level, only_snapshot, only_realtime)


# -- frame formatting -------------------------------------------------------------


def _price(value: int, decimals: int, simple: bool) -> str:
    """Orderbook price: ``2.2855E7`` in DEFAULT, ``116606000`` in SIMPLE."""
    if simple and value % 10**decimals == 0:
        return str(value // 10**decimals)
    return java_double(value / 10**decimals)


def _size(level: Level | None) -> str:
    if level is None:
        return "0.0"
    if level.plain:
        return java_bigdecimal(level.size, 8)
    return java_double(level.size / SIZE_SCALE)


def _time(us: int, micro: bool) -> int:
    return us if micro else us // 1000


def format_orderbook(
    book: Book,
    units: int = 30,
    *,
    simple: bool = False,
    stream_type: str = "REALTIME",
    timestamp_us: int | None = None,
    microseconds: bool = False,
    as_list: bool = False,
) -> str:
    """One whole-book orderbook frame; a thin side is padded with zero slots."""
    inst = book.instrument
    d = inst.price_decimals
    asks, bids = book.asks[:units], book.bids[:units]
    total_ask = 0.0
    for lv in asks:
        total_ask += lv.size / SIZE_SCALE
    total_bid = 0.0
    for lv in bids:
        total_bid += lv.size / SIZE_SCALE
    keys = ("ap", "bp", "as", "bs")
    if not simple:
        keys = ("ask_price", "bid_price", "ask_size", "bid_size")
    rows = []
    for i in range(max(len(asks), len(bids))):
        ask = asks[i] if i < len(asks) else None
        bid = bids[i] if i < len(bids) else None
        ap = _price(ask.price, d, simple) if ask else ("0" if simple else "0.0")
        bp = _price(bid.price, d, simple) if bid else ("0" if simple else "0.0")
        rows.append(
            f'{{"{keys[0]}":{ap},"{keys[1]}":{bp},"{keys[2]}":{_size(ask)},"{keys[3]}":{_size(bid)}}}'
        )
    at = _time(book.changed_us if timestamp_us is None else timestamp_us, microseconds)
    names = (
        ("ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv")
        if simple
        else (
            "type",
            "code",
            "timestamp",
            "total_ask_size",
            "total_bid_size",
            "orderbook_units",
            "stream_type",
            "level",
        )
    )
    text = (
        f'{{"{names[0]}":"orderbook","{names[1]}":"{inst.symbol}","{names[2]}":{at},'
        f'"{names[3]}":{java_double(total_ask)},"{names[4]}":{java_double(total_bid)},'
        f'"{names[5]}":[{",".join(rows)}],"{names[6]}":"{stream_type}","{names[7]}":0}}'
    )
    return f"[{text}]" if as_list else text


def format_trade(
    trade: Trade,
    prev_close: int,
    *,
    simple: bool = False,
    stream_type: str = "REALTIME",
    microseconds: bool = False,
    as_list: bool = False,
) -> str:
    """One trade frame, keys in the wire order of real captures."""
    inst = trade.instrument
    d = inst.price_decimals
    when = dt.datetime.fromtimestamp(trade.time_us / 1_000_000, tz=dt.UTC)
    trade_ts = _time(trade.time_us, microseconds)
    stamp = _time(trade.time_us + 5_000, microseconds)  # delivery trails the match a little
    diff = trade.price - prev_close
    change = "RISE" if diff > 0 else "FALL" if diff < 0 else "EVEN"
    scale = 10 ** (8 - d)
    fields = [
        ("type", "ty", '"trade"'),
        ("code", "cd", f'"{inst.symbol}"'),
        ("timestamp", "tms", str(stamp)),
        ("trade_date", "td", f'"{when:%Y-%m-%d}"'),
        ("trade_time", "ttm", f'"{when:%H:%M:%S}"'),
        ("trade_timestamp", "ttms", str(trade_ts)),
        ("trade_price", "tp", java_double(trade.price / 10**d)),
        ("trade_volume", "tv", _size(Level(trade.price, trade.size, trade.size_plain))),
        ("ask_bid", "ab", '"ASK"' if trade.buyer_maker else '"BID"'),
        ("prev_closing_price", "pcp", java_bigdecimal(prev_close * scale, 8)),
        ("change", "c", f'"{change}"'),
        ("change_price", "cp", java_bigdecimal(abs(diff) * scale, 8)),
        ("sequential_id", "sid", str(trade.time_us)),
        ("best_ask_price", "bap", java_double(trade.best_ask.price / 10**d)),
        ("best_ask_size", "bas", _size(trade.best_ask)),
        ("best_bid_price", "bbp", java_double(trade.best_bid.price / 10**d)),
        ("best_bid_size", "bbs", _size(trade.best_bid)),
        ("stream_type", "st", f'"{stream_type}"'),
    ]
    text = "{" + ",".join(f'"{s if simple else n}":{v}' for n, s, v in fields) + "}"
    return f"[{text}]" if as_list else text


# -- session ------------------------------------------------------------------------


@dataclass
class Reply:
    """What the server must do after one client message."""

    #: Market data frames (snapshots), recorded as data.
    data: list[tuple[str, str]] = field(default_factory=list)
    #: Other frames: error, LIST_SUBSCRIPTIONS result, ``{"status":"UP"}``.
    control: list[str] = field(default_factory=list)
    #: An error was answered: close the connection (code 1000) shortly.
    close: bool = False
    #: The client sent text ``PING``: keep sending status UP every 10 s.
    ping: bool = False
    #: A valid subscription request was received.
    subscribed: bool = False


STATUS_UP = '{"status":"UP"}'


class UpbitSession:
    """Subscription and publication state of one Upbit connection."""

    def __init__(self, *, microseconds: bool = False, publish_ms: int = 100) -> None:
        self.microseconds = microseconds
        self.publish_ms = publish_ms
        self.format: Format = "DEFAULT"
        self.request: UpbitRequest | None = None
        #: Last orderbook sent per (code, units), to stay silent when quiet.
        self._last: dict[tuple[str, int], Any] = {}

    @property
    def simple(self) -> bool:
        return self.format in ("SIMPLE", "SIMPLE_LIST")

    @property
    def as_list(self) -> bool:
        return self.format in ("JSON_LIST", "SIMPLE_LIST")

    def handle(self, text: str, market: Market | None) -> Reply:
        """Answer one client text (or decoded binary) message.

        ``market`` is None when replaying a capture: no snapshots are made up.
        """
        if text == "PING":
            return Reply(control=[STATUS_UP], ping=True)
        request = parse_request(text)
        if isinstance(request, UpbitError):
            return Reply(control=[request.to_json()], close=True)
        if request.format is not None:
            self.format = request.format
        reply = Reply()
        if request.method == "LIST_SUBSCRIPTIONS":
            reply.control.append(self._list(request.ticket))
        if request.subscriptions:
            # A new request replaces the previous subscription entirely.
            self.request = request
            self._last.clear()
            reply.subscribed = True
            if market is not None:
                reply.data.extend(self._snapshots(market))
        return reply

    def _list(self, ticket: str) -> str:
        result = []
        for sub in self.request.subscriptions if self.request else ():
            entry: dict[str, Any] = {"type": sub.type, "codes": list(sub.requested)}
            if sub.type == "orderbook":
                entry["level"] = sub.level
            result.append(entry)
        if self.simple:
            result = [
                {{"type": "ty", "codes": "cds", "level": "lv"}[k]: v for k, v in e.items()}
                for e in result
            ]
            body = {"mthd": "LIST_SUBSCRIPTIONS", "rslt": result, "tckt": ticket}
        else:
            body = {"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def _snapshots(self, market: Market) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        assert self.request is not None
        for sub in self.request.subscriptions:
            if sub.only_realtime:
                continue
            for code, units in sub.codes:
                if sub.type == "orderbook" and sub.level == 0:
                    book = market.book("upbit", code)
                    if book is not None:
                        self._last[(code, units)] = book.top(units)
                        out.append(("orderbook", self.orderbook(book, units, "SNAPSHOT")))
                elif sub.type == "trade":
                    trade = market.last_trades.get(f"upbit:{code}")
                    if trade is not None:
                        out.append(("trade", self.trade(trade, market, "SNAPSHOT")))
        return out

    def frames(self, step: Step, market: Market) -> list[tuple[str, str]]:
        """Data frames for one market step as ``(type, frame text)``."""
        out: list[tuple[str, str]] = []
        if self.request is None:
            return out
        live = [s for s in self.request.subscriptions if not s.only_snapshot]
        for trade in step.trades:
            if trade.instrument.venue != "upbit":
                continue
            symbol = trade.instrument.symbol
            if any(s.type == "trade" and (symbol, 0) in s.codes for s in live):
                out.append(("trade", self.trade(trade, market, "REALTIME")))
        if step.elapsed_ms % self.publish_ms == 0:
            for sub in live:
                if sub.type != "orderbook" or sub.level != 0:
                    continue
                for code, units in sub.codes:
                    book = market.book("upbit", code)
                    if book is None:
                        continue
                    top = book.top(units)
                    if self._last.get((code, units)) == top:
                        continue  # a quiet book sends nothing
                    self._last[(code, units)] = top
                    out.append(
                        (
                            "orderbook",
                            self.orderbook(book, units, "REALTIME", timestamp_us=step.time_us),
                        )
                    )
        return out

    def orderbook(
        self, book: Book, units: int, stream_type: str, timestamp_us: int | None = None
    ) -> str:
        """One orderbook frame in this connection's format."""
        return format_orderbook(
            book,
            units,
            simple=self.simple,
            stream_type=stream_type,
            timestamp_us=timestamp_us,
            microseconds=self.microseconds,
            as_list=self.as_list,
        )

    def trade(self, trade: Trade, market: Market, stream_type: str) -> str:
        """One trade frame in this connection's format."""
        return format_trade(
            trade,
            market.prev_close[trade.instrument.key],
            simple=self.simple,
            stream_type=stream_type,
            microseconds=self.microseconds,
            as_list=self.as_list,
        )
