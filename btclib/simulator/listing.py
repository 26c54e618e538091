"""Every market the simulated exchanges list: ~1,500 Binance symbols, ~200 Upbit KRW markets.

The five books of :func:`~.market.default_instruments` (BTC and ETH on both
venues, Upbit KRW-USDT) keep their shared price walk; the other markets are
generated here, the same list every run (a fixed generator, not the market's
seed, so a listing fetched before a run names what the run serves). Each
generated market walks on its own (:attr:`~.market.Instrument.own_walk`) at
rates that fall with its rank, as real volumes do: a few busy books, a long
quiet tail. The market model only steps the ones some client subscribed to
(:meth:`~.market.Market.watch`), on a schedule of their next events.

The listing answers are the exchanges' own shapes: Binance ``GET
/api/v3/exchangeInfo`` (a few symbols in ``BREAK``, which the streams do not
serve, as on the live exchange) and Upbit ``GET /v1/market/all`` (with some
BTC- and USDT- markets beside the KRW ones).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable

from .market import SIZE_SCALE, Instrument, MarketParams, default_instruments

__all__ = [
    "BINANCE_MARKETS",
    "UPBIT_MARKETS",
    "exchange_info",
    "listed_instruments",
    "market_all",
]

BINANCE_MARKETS = 1_500
"""Binance symbols served (trading), the two of the default market included."""
UPBIT_MARKETS = 200
"""Upbit KRW markets served, the three of the default market included."""

_BINANCE_QUOTES = (("USDT", 45), ("BTC", 15), ("FDUSD", 10), ("USDC", 10), ("TRY", 6))
_BINANCE_QUOTES += (("EUR", 4), ("ETH", 5), ("BNB", 5))
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _bases(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """``count`` distinct made-up asset names (3 to 5 letters), none in ``taken``."""
    out: list[str] = []
    while len(out) < count:
        name = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 5)))
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def _instrument(
    venue: str,
    symbol: str,
    quote: str,
    rank: int,
    rng: random.Random,
    busiest: float,
    depth: int,
    deep_book: bool = False,
) -> Instrument:
    """A generated market of rank ``rank`` (1: busiest): its price, tick and rates."""
    price = math.exp(rng.uniform(math.log(1e-4), math.log(5e3)))  # in USD
    if quote == "KRW":
        price *= 1_400.0
    # Ticks of about 1e-4 of the price, as the exchanges' tick tables give.
    tick_value = 10 ** math.floor(math.log10(price * 1e-4))
    decimals = max(0, -math.floor(math.log10(tick_value)))
    trade_rate = max(busiest / rank**0.9, 0.005)
    size = max(1, int(SIZE_SCALE * 50 / price * rng.uniform(0.3, 3.0)))
    return Instrument(
        venue,  # type: ignore[arg-type]
        symbol,
        f"{venue}:{symbol}",
        quote,
        decimals,
        max(1, round(tick_value * 10**decimals)),
        1,
        depth,
        size,
        trade_rate,
        trade_rate * 2.5 + 0.05,
        max_gap_ticks=4,
        own_walk=True,
        start_price=price,
        phase_ms=rng.randrange(0, 1000, 10),
        deep_book=deep_book,
    )


def listed_instruments(params: MarketParams | None = None) -> tuple[Instrument, ...]:
    """The default market's books, then the generated ones: Binance, then Upbit."""
    core = default_instruments(params or MarketParams())
    rng = random.Random("btclib-sim:listing")
    taken = {"BTC", "ETH", "USDT", *(q for q, _ in _BINANCE_QUOTES)}
    out = list(core)
    have = {i.symbol for i in core}
    quotes = [q for q, weight in _BINANCE_QUOTES for _ in range(weight)]
    binance = [i for i in core if i.venue == "binance"]
    for base in _bases(rng, BINANCE_MARKETS - len(binance), taken):
        symbol = base + rng.choice(quotes)
        if symbol in have:
            continue
        have.add(symbol)
        rank = len(binance) + 1
        binance.append(_instrument("binance", symbol, "USDT", rank, rng, 40.0, 20, deep_book=True))
    upbit = [i for i in core if i.venue == "upbit"]
    for base in _bases(rng, UPBIT_MARKETS - len(upbit), taken):
        rank = len(upbit) + 1
        upbit.append(_instrument("upbit", f"KRW-{base}", "KRW", rank, rng, 8.0, 30))
    out = [*binance, *upbit]
    return tuple(out)


def exchange_info(symbols: Iterable[str], server_ms: int) -> str:
    """Binance's ``GET /api/v3/exchangeInfo`` answer for ``symbols`` (all TRADING), plus
    a few in ``BREAK`` that the streams do not serve."""
    rng = random.Random("btclib-sim:break")
    entries = [_symbol_entry(s, "TRADING") for s in symbols]
    for base in _bases(rng, 30, set()):
        entries.append(_symbol_entry(base + "BUSD", "BREAK"))
    body = {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ],
        "exchangeFilters": [],
        "symbols": entries,
    }
    return json.dumps(body, separators=(",", ":"))


def _symbol_entry(symbol: str, status: str) -> dict[str, object]:
    quote = next((q for q, _ in _BINANCE_QUOTES if symbol.endswith(q)), "BUSD")
    return {
        "symbol": symbol,
        "status": status,
        "baseAsset": symbol[: -len(quote)],
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def market_all(codes: Iterable[str]) -> str:
    """Upbit's ``GET /v1/market/all`` answer: ``codes`` (KRW), then some BTC- and USDT-
    markets (listed by Upbit, not KRW: ``--code all`` leaves them out)."""
    entries = [{"market": c, "korean_name": c[4:], "english_name": c[4:]} for c in codes]
    for code in ("BTC-ETH", "BTC-XRP", "USDT-BTC", "USDT-ETH"):
        entries.append({"market": code, "korean_name": code, "english_name": code})
    return json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
