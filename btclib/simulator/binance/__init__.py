"""The simulated Binance: everything the simulator knows about this exchange.

The pure side builds every frame and body Binance sends (:mod:`.frames`,
:mod:`.malformed`) and answers its control messages (:mod:`.session`); the
asyncio side (:mod:`.link`) holds its timers. The names below are what the
server's registry (:mod:`btclib.simulator.registry`) asks of every exchange.
"""

from __future__ import annotations

from ..listing import exchange_info
from .expected import expected_line, message_id
from .frames import (
    BINANCE_451_BODY,
    REFUSAL_BODIES,
    TimeUnit,
    depth_text,
    format_depth,
    format_trade,
    server_shutdown,
    trade_text,
    wrap,
)
from .link import BinanceLink
from .malformed import malformed_frame
from .options import OPTIONS
from .rest import BinanceRest
from .session import BinanceSession, StreamSpec, UrlRequest, parse_stream, parse_url

__all__ = [
    "BINANCE_451_BODY",
    "LISTING_PATH",
    "NAME",
    "OPTIONS",
    "REFUSAL_BODIES",
    "BinanceLink",
    "BinanceSession",
    "Link",
    "StreamSpec",
    "TimeUnit",
    "UrlRequest",
    "banner",
    "depth_text",
    "expected_line",
    "format_depth",
    "format_trade",
    "listing",
    "make_rest",
    "malformed_frame",
    "message_id",
    "parse_stream",
    "parse_url",
    "server_shutdown",
    "serves",
    "trade_text",
    "url",
    "wrap",
]

NAME = "binance"
#: Where the exchange lists its markets (plain HTTP GET on the simulator's port).
LISTING_PATH = "/api/v3/exchangeInfo"
#: The link class the server opens for a connection routed here.
Link = BinanceLink


def serves(path: str) -> bool:
    """Whether a request path is one of Binance's stream paths (``/ws...``, ``/stream...``)."""
    return parse_url(path) is not None


def url(base: str) -> str:
    """The URL a client uses in place of the live one: the base, streams appended."""
    return base


def listing(symbols: list[str], now_ms: int) -> str:
    """Binance's ``GET /api/v3/exchangeInfo`` answer: ``symbols`` TRADING, a few in BREAK."""
    return exchange_info(symbols, now_ms)


def make_rest(config: object) -> BinanceRest:
    """The REST side on the simulator's port: old trades (the tape of every trade made),
    the server time, the request-weight limits (:mod:`.rest`)."""
    return BinanceRest(config)


def banner(url: str) -> list[str]:
    """How to connect with wscat, for humans."""
    return [
        "Binance (combined stream, depth5 + trade):",
        f"  wscat -c '{url}/stream?streams=btcusdt@depth5/btcusdt@trade'",
        "Binance (raw stream):",
        f"  wscat -c {url}/ws/btcusdt@depth5",
    ]
