"""The simulated Upbit: everything the simulator knows about this exchange.

The pure side validates requests (:mod:`.requests`), builds every frame and
body Upbit sends (:mod:`.frames`, :mod:`.malformed`) and keeps each
connection's subscription (:mod:`.session`); the asyncio side (:mod:`.link`)
holds its timers. The names below are what the server's registry
(:mod:`btclib.simulator.registry`) asks of every exchange.
"""

from __future__ import annotations

from .. import quotation
from ..listing import market_all
from .expected import expected_line
from .frames import (
    REFUSAL_BODIES,
    STATUS_UP,
    format_orderbook,
    format_trade,
    orderbook_text,
    unit_text,
)
from .link import UpbitLink
from .malformed import malformed_frame
from .options import OPTIONS
from .requests import (
    ERROR_MESSAGES,
    Format,
    Subscription,
    UpbitError,
    UpbitRequest,
    parse_request,
)
from .session import Reply, UpbitSession

__all__ = [
    "ERROR_MESSAGES",
    "LISTING_PATH",
    "NAME",
    "OPTIONS",
    "PATH",
    "REFUSAL_BODIES",
    "STATUS_UP",
    "Format",
    "Link",
    "Reply",
    "Subscription",
    "UpbitError",
    "UpbitLink",
    "UpbitRequest",
    "UpbitSession",
    "banner",
    "expected_line",
    "format_orderbook",
    "format_trade",
    "listing",
    "malformed_frame",
    "orderbook_text",
    "parse_request",
    "serves",
    "unit_text",
    "url",
]

NAME = "upbit"
#: The one WebSocket path of Upbit's quotation API.
PATH = "/websocket/v1"
#: Where the exchange lists its markets (plain HTTP GET on the simulator's port).
LISTING_PATH = "/v1/market/all"
#: The link class the server opens for a connection routed here.
Link = UpbitLink


def serves(path: str) -> bool:
    """Whether a request path is Upbit's WebSocket path (a query string is ignored)."""
    return path.split("?", 1)[0] == PATH


def url(base: str) -> str:
    """The URL a client uses in place of the live one: the whole WebSocket URL."""
    return base + PATH


def listing(symbols: list[str], now_ms: int) -> str:
    """Upbit's ``GET /v1/market/all`` answer: ``symbols`` (KRW), a few BTC-/USDT- markets."""
    return market_all(symbols)


def banner(url: str) -> list[str]:
    """How to connect with wscat, for humans."""
    return quotation.banner("Upbit", url)
