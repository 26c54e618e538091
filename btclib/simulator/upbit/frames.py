"""Every frame and HTTP body the simulated Upbit sends, as text, without I/O.

Orderbook and trade frames carry Upbit's key names (DEFAULT and SIMPLE), key
order and Java number spellings (protocols.md 2.3 to 2.5); the server sends
each as a binary frame. :func:`orderbook_text` takes the numbers already
spelled, so the flood benchmark builds its templates with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ..market import SIZE_SCALE, Book, Level, Trade
from ..numbers import java_bigdecimal, java_double
from ..quotation.session import STATUS_UP

__all__ = [
    "REFUSAL_BODIES",
    "STATUS_UP",
    "format_orderbook",
    "format_trade",
    "orderbook_text",
    "unit_text",
]

#: HTTP status -> the body Upbit sends with it when it refuses a handshake.
REFUSAL_BODIES: dict[int, str] = {
    429: '{"error":{"name":"too_many_requests","message":"Too many API requests."}}',
}

_UNIT_KEYS = {
    False: ("ask_price", "bid_price", "ask_size", "bid_size"),
    True: ("ap", "bp", "as", "bs"),
}
_BOOK_KEYS = {
    False: (
        "type",
        "code",
        "timestamp",
        "total_ask_size",
        "total_bid_size",
        "orderbook_units",
        "stream_type",
        "level",
    ),
    True: ("ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv"),
}


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
    rows = []
    for i in range(max(len(asks), len(bids))):
        ask = asks[i] if i < len(asks) else None
        bid = bids[i] if i < len(bids) else None
        ap = _price(ask.price, d, simple) if ask else ("0" if simple else "0.0")
        bp = _price(bid.price, d, simple) if bid else ("0" if simple else "0.0")
        rows.append(unit_text(ap, bp, _size(ask), _size(bid), simple=simple))
    at = _time(book.changed_us if timestamp_us is None else timestamp_us, microseconds)
    return orderbook_text(
        inst.symbol,
        at,
        java_double(total_ask),
        java_double(total_bid),
        rows,
        simple=simple,
        stream_type=stream_type,
        as_list=as_list,
    )


def unit_text(
    ask_price: str, bid_price: str, ask_size: str, bid_size: str, *, simple: bool = False
) -> str:
    """One ``orderbook_units`` object from spelled numbers."""
    k = _UNIT_KEYS[simple]
    return f'{{"{k[0]}":{ask_price},"{k[1]}":{bid_price},"{k[2]}":{ask_size},"{k[3]}":{bid_size}}}'


def orderbook_text(
    code: str,
    timestamp: int,
    total_ask: str,
    total_bid: str,
    units: Iterable[str],
    *,
    simple: bool = False,
    stream_type: str = "REALTIME",
    as_list: bool = False,
) -> str:
    """An orderbook frame from spelled totals and already built ``units`` objects."""
    names = _BOOK_KEYS[simple]
    text = (
        f'{{"{names[0]}":"orderbook","{names[1]}":"{code}","{names[2]}":{timestamp},'
        f'"{names[3]}":{total_ask},"{names[4]}":{total_bid},'
        f'"{names[5]}":[{",".join(units)}],"{names[6]}":"{stream_type}","{names[7]}":0}}'
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
