"""The simulated Bithumb: everything the simulator knows about this exchange.

The pure side builds every frame and body Bithumb sends (:mod:`.frames`,
:mod:`.malformed`), keeps each connection's subscription (:mod:`.session`) and says
what line each frame must give (:mod:`.expected`); the asyncio side (:mod:`.link`)
holds its timers. Its books (:func:`books`) join the shared market on the same walk
as Upbit's, so the two KRW venues show the same premium over Binance, each with its
own noise. The names below are what the server's registry
(:mod:`btclib.simulator.registry`) asks of every exchange.

Bithumb's real paths (``/websocket/v1``, ``/v1/market/all``) are Upbit's too; on the
simulator's one port they are served under ``/bithumb``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import quotation
from ..market import SIZE_SCALE, Instrument, MarketParams
from .expected import expected_line
from .frames import (
    REFUSAL_BODIES,
    STATUS_UP,
    decimal,
    format_orderbook,
    format_trade,
    size_text,
)
from .link import SETTINGS, BithumbLink, setting
from .malformed import malformed_frame
from .session import VENUE, BithumbSession, Reply

__all__ = [
    "LISTING_PATH",
    "NAME",
    "OPTIONS",
    "PATH",
    "REFUSAL_BODIES",
    "SETTINGS",
    "STATUS_UP",
    "BithumbLink",
    "BithumbSession",
    "Link",
    "Reply",
    "banner",
    "books",
    "connect_limit",
    "decimal",
    "expected_line",
    "format_orderbook",
    "format_trade",
    "listing",
    "malformed_frame",
    "serves",
    "size_text",
    "url",
]

NAME = VENUE
#: Bithumb's public WebSocket path, under the exchange's name (Upbit's path is the same).
PATH = "/bithumb/websocket/v1"
#: Where the exchange lists its markets (plain HTTP GET on the simulator's port).
LISTING_PATH = "/bithumb/v1/market/all"
#: The link class the server opens for a connection routed here.
Link = BithumbLink
#: No ``simulate`` command-line options: its settings go in ``SimConfig.settings``.
OPTIONS: tuple[Any, ...] = ()

_NAMES = {
    "BTC": ("비트코인", "Bitcoin"),
    "ETH": ("이더리움", "Ethereum"),
    "USDT": ("테더", "Tether"),
}


def books(params: MarketParams) -> tuple[Instrument, ...]:
    """Bithumb's KRW-BTC, KRW-ETH and KRW-USDT: KRW prices, 30 levels, a little quieter
    than Upbit's (trade rates UNCONFIRMED; the shape is what matters)."""
    btc = SIZE_SCALE
    rate = params.upbit_trade_rate * 0.75
    return (
        Instrument(
            VENUE,
            "KRW-BTC",
            "BTC",
            "KRW",
            0,
            1_000,
            1,
            30,
            btc // 10,
            rate,
            10.0,
            half_spread_ticks=1.0,
            max_gap_ticks=4,
        ),
        Instrument(
            VENUE,
            "KRW-ETH",
            "ETH",
            "KRW",
            0,
            1_000,
            1,
            30,
            btc * 2,
            rate / 2,
            6.0,
            half_spread_ticks=1.0,
            max_gap_ticks=4,
        ),
        Instrument(
            VENUE,
            "KRW-USDT",
            "USDT",
            "KRW",
            0,
            1,
            1,
            30,
            btc * 1_500,
            params.upbit_usdt_trade_rate,
            1.0,
            half_spread_ticks=0.5,
            max_gap_ticks=2,
            join_probability=0.05,
        ),
    )


def connect_limit(settings: Mapping[str, Any]) -> tuple[int, float]:
    """10 connection requests a second per IP (documented); 429 beyond."""
    count = int(setting(settings, "bithumb_connect_count"))
    return count, float(setting(settings, "bithumb_connect_window"))


def serves(path: str) -> bool:
    """Whether a request path is Bithumb's WebSocket path (a query string is ignored)."""
    return path.split("?", 1)[0] == PATH


def url(base: str) -> str:
    """The URL a client uses in place of the live one: the whole WebSocket URL."""
    return base + PATH


def listing(symbols: list[str], now_ms: int) -> str:
    """Bithumb's ``GET /v1/market/all`` answer (Upbit's shape) naming ``symbols``."""
    entries = []
    for symbol in symbols:
        base = symbol.split("-", 1)[1]
        korean, english = _NAMES.get(base, (base, base))
        entries.append({"market": symbol, "korean_name": korean, "english_name": english})
    entries.append({"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum"})
    return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))


def banner(url: str) -> list[str]:
    """How to connect with wscat, for humans."""
    return quotation.banner("Bithumb", url, "binary here")
