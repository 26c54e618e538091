"""Every frame and HTTP body the simulated Binance sends, as text, without I/O.

Good frames (depth and trade payloads, the combined-stream wrapper, the
``serverShutdown`` event) follow protocols.md section 1 byte for byte; the
refusal bodies are the ones Binance answers a refused handshake with (1.10).
The field-level builders (:func:`depth_text`, :func:`trade_text`) take the
numbers already spelled, so the flood benchmark builds its templates with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from ..market import Book, Trade
from ..numbers import fixed8

__all__ = [
    "BINANCE_451_BODY",
    "REFUSAL_BODIES",
    "TimeUnit",
    "depth_text",
    "format_depth",
    "format_trade",
    "server_shutdown",
    "trade_text",
    "wrap",
]

TimeUnit = Literal["ms", "us"]

#: Body of Binance's HTTP 451 answer from restricted locations (protocols.md 1.10).
BINANCE_451_BODY = (
    '{"code":0,"msg":"Service unavailable from a restricted location according to '
    "'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer "
    'service if you believe you received this message in error."}'
)
#: HTTP status -> the body Binance sends with it when it refuses a handshake.
REFUSAL_BODIES: dict[int, str] = {
    451: BINANCE_451_BODY,
    429: '{"code":-1003,"msg":"Too many requests."}',
}


def _price(book_or_trade: Book | Trade, price: int) -> str:
    inst = book_or_trade.instrument
    return fixed8(price * 10 ** (8 - inst.price_decimals))


def depth_text(
    update_id: int | str, bids: Iterable[tuple[str, str]], asks: Iterable[tuple[str, str]]
) -> str:
    """Partial book depth payload from spelled ``(price, size)`` levels."""

    def side(levels: Iterable[tuple[str, str]]) -> str:
        return ",".join(f'["{p}","{q}"]' for p, q in levels)

    return f'{{"lastUpdateId":{update_id},"bids":[{side(bids)}],"asks":[{side(asks)}]}}'


def format_depth(book: Book, levels: int = 5) -> str:
    """Partial book depth payload: ``{"lastUpdateId":N,"bids":[...],"asks":[...]}``."""
    return depth_text(
        book.update_id,
        ((_price(book, lv.price), fixed8(lv.size)) for lv in book.bids[:levels]),
        ((_price(book, lv.price), fixed8(lv.size)) for lv in book.asks[:levels]),
    )


def trade_text(
    symbol: str,
    trade_id: int | str,
    price: str,
    size: str,
    event: int,
    at: int,
    buyer_maker: bool,
) -> str:
    """Trade payload in the documented key order, without the removed ``b``/``a``."""
    maker = "true" if buyer_maker else "false"
    return (
        f'{{"e":"trade","E":{event},"s":"{symbol}","t":{trade_id},'
        f'"p":"{price}","q":"{size}","T":{at},"m":{maker},"M":true}}'
    )


def format_trade(trade: Trade, time_unit: TimeUnit = "ms") -> str:
    """Trade payload of a market trade, times in ``time_unit``."""
    event_us = trade.time_us + 400  # the stream's event time trails the match a little
    if time_unit == "us":
        event, at = event_us, trade.time_us
    else:
        event, at = event_us // 1000, trade.time_us // 1000
    return trade_text(
        trade.instrument.symbol,
        trade.trade_id,
        _price(trade, trade.price),
        fixed8(trade.size),
        event,
        at,
        trade.buyer_maker,
    )


def wrap(stream: str, payload: str) -> str:
    """Combined-stream wrapper; ``payload`` is embedded as is, byte for byte."""
    return f'{{"stream":"{stream}","data":{payload}}}'


def server_shutdown(now_us: int, *, combined: bool, time_unit: TimeUnit = "ms") -> str:
    """The ``serverShutdown`` event Binance sends before it cuts connections."""
    at = now_us if time_unit == "us" else now_us // 1000
    payload = f'{{"e":"serverShutdown","E":{at}}}'
    return wrap("!serverShutdown", payload) if combined else payload
