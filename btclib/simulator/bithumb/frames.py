"""Every frame and HTTP body the simulated Bithumb sends, as text, without I/O.

Bithumb's v1 public stream carries Upbit's field names but its own layout, as a
2026 probe of the live socket captured it (docs/protocols-bithumb.md 4, 5): plain
JSON numbers, KRW prices as integers (``116208000``), sizes printed with four
decimals and their trailing zeros dropped (``8.4592``, ``3.012``, ``0``), never
Upbit's Java ``2.2855E7``; the book's keys in the order type, code, totals, units,
``level``, ``timestamp`` (microseconds), ``stream_type``; at most 15 levels.
"""

from __future__ import annotations

import datetime as dt

from ..market import Book, Level, Trade
from ..quotation.session import STATUS_UP

__all__ = [
    "REFUSAL_BODIES",
    "STATUS_UP",
    "decimal",
    "format_orderbook",
    "format_trade",
    "orderbook_text",
    "size_text",
]

#: HTTP status -> the body Bithumb refuses a handshake with (its text UNCONFIRMED;
#: the status is documented: 429 beyond 10 connection requests a second per IP).
REFUSAL_BODIES: dict[int, str] = {
    429: '{"error":{"name":"too_many_requests","message":"Too many requests."}}',
}


def decimal(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` as a plain decimal, trailing zeros dropped: ``84500000``,
    ``0.0113``, ``3.2529`` (Bithumb's documented spelling)."""
    whole, frac = divmod(units, 10**decimals)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:0{decimals}d}".rstrip("0")


SIZE_DECIMALS = 4
"""Sizes on the wire keep four decimals (a dust level prints as ``0``)."""
MAX_UNITS = 15
"""Levels a book frame carries at most (``.30`` still gives 15)."""


def size_text(units: int) -> str:
    """A size of ``units`` 1e-8 of the base asset as Bithumb prints it (four decimals)."""
    return decimal(units // 10 ** (8 - SIZE_DECIMALS), SIZE_DECIMALS)


def _size(level: Level | None) -> str:
    return "0" if level is None else size_text(level.size)


def orderbook_text(
    code: str,
    timestamp: int,
    total_ask: str,
    total_bid: str,
    units: list[str],
    *,
    stream_type: str = "REALTIME",
) -> str:
    """An orderbook frame from spelled totals and built ``orderbook_units`` objects, in
    the wire's key order; ``timestamp`` in microseconds."""
    return (
        f'{{"type":"orderbook","code":"{code}","total_ask_size":{total_ask},'
        f'"total_bid_size":{total_bid},"orderbook_units":[{",".join(units)}],'
        f'"level":1,"timestamp":{timestamp},"stream_type":"{stream_type}"}}'
    )


def format_orderbook(
    book: Book,
    units: int = MAX_UNITS,
    *,
    stream_type: str = "REALTIME",
    timestamp_us: int | None = None,
) -> str:
    """One whole-book orderbook frame of ``units`` levels (at most 15); a thin side padded
    with zeros."""
    inst = book.instrument
    d = inst.price_decimals
    units = min(units, MAX_UNITS)
    asks, bids = book.asks[:units], book.bids[:units]
    rows = []
    for i in range(max(len(asks), len(bids))):
        ask = asks[i] if i < len(asks) else None
        bid = bids[i] if i < len(bids) else None
        rows.append(
            f'{{"ask_price":{decimal(ask.price, d) if ask else "0"},'
            f'"bid_price":{decimal(bid.price, d) if bid else "0"},'
            f'"ask_size":{_size(ask)},"bid_size":{_size(bid)}}}'
        )
    total_ask = size_text(sum(lv.size for lv in asks))
    total_bid = size_text(sum(lv.size for lv in bids))
    at = book.changed_us if timestamp_us is None else timestamp_us
    return orderbook_text(inst.symbol, at, total_ask, total_bid, rows, stream_type=stream_type)


def format_trade(trade: Trade, prev_close: int, *, stream_type: str = "REALTIME") -> str:
    """One trade frame, the fields in the order of a captured one (the docs list more)."""
    inst = trade.instrument
    d = inst.price_decimals
    when = dt.datetime.fromtimestamp(trade.time_us / 1_000_000, tz=dt.UTC)
    diff = trade.price - prev_close
    change = "RISE" if diff > 0 else "FALL" if diff < 0 else "EVEN"
    fields = [
        ("type", '"trade"'),
        ("code", f'"{inst.symbol}"'),
        ("trade_price", decimal(trade.price, d)),
        ("trade_volume", size_text(trade.size)),
        ("ask_bid", '"ASK"' if trade.buyer_maker else '"BID"'),
        ("prev_closing_price", decimal(prev_close, d)),
        ("change", f'"{change}"'),
        ("change_price", decimal(abs(diff), d)),
        ("trade_date", f'"{when:%Y-%m-%d}"'),
        ("trade_time", f'"{when:%H:%M:%S}"'),
        ("trade_timestamp", str(trade.time_us // 1000)),
        ("sequential_id", str(trade.time_us * 1000 + trade.trade_id % 1000)),
        ("timestamp", str(trade.time_us // 1000 + 5)),
        ("stream_type", f'"{stream_type}"'),
    ]
    return "{" + ",".join(f'"{name}":{text}' for name, text in fields) + "}"
