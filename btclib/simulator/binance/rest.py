"""The simulated Binance's REST side: old trades and the server time, with weight limits.

``GET /api/v3/historicalTrades?symbol=&fromId=&limit=`` answers from a
:class:`TradeTape` of every trade the market made, each spelled as the trade
stream spelled it (price, quantity and time from the same frame text), so a
recorder that missed ids after a drop can fetch exactly those and compare.
``GET /api/v3/time`` answers ``serverTime`` from the simulator's clock (which a
test sets off by a known offset, :attr:`~..config.SimConfig.clock`).

Limits as Binance states them (rest-api.md, LIMITS): every answer carries
``X-MBX-USED-WEIGHT-1M``, the weight used in the current minute; a request
over the limit gets 429 with ``Retry-After``; one sent anyway while told to
wait gets 418 (an IP ban) with a longer ``Retry-After``. Pure: the server
passes the time and moves the bytes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ..market import Step
from .frames import format_trade

__all__ = [
    "HISTORY_PATH",
    "HISTORY_WEIGHT",
    "TIME_PATH",
    "BinanceRest",
    "RestAnswer",
    "RestLimits",
    "TradeTape",
    "WeightWindow",
    "answer",
]

HISTORY_PATH = "/api/v3/historicalTrades"
TIME_PATH = "/api/v3/time"
HISTORY_WEIGHT = 25
"""Binance's documented weight of one ``historicalTrades`` request (rest-api.md, 2024+)."""
TIME_WEIGHT = 1
MAX_LIMIT = 1000


@dataclass(frozen=True)
class RestLimits:
    """The request-weight budget: ``weight`` per window of ``window_s`` seconds (Binance:
    6000 a minute, counted per clock minute), and how long a ban (418) lasts."""

    weight: int = 6000
    window_s: float = 60.0
    ban_s: float = 120.0


@dataclass
class WeightWindow:
    """Weight used in the current window, and who was told to wait (429) or banned (418)."""

    limits: RestLimits
    window: int = -1
    used: int = 0
    wait_until: float = 0.0
    banned_until: float = 0.0
    answered: list[int] = field(default_factory=list)
    """Every status answered, in order (tests read it)."""

    def charge(self, now: float, weight: int) -> tuple[int, float | None]:
        """The status for a request of ``weight`` at ``now`` (wall clock) and its
        Retry-After in seconds, if any."""
        window = int(now // self.limits.window_s)
        if window != self.window:
            self.window, self.used = window, 0
        if now < self.banned_until:
            return 418, self.banned_until - now
        if now < self.wait_until:  # told to wait, asked anyway: banned
            self.banned_until = now + self.limits.ban_s
            return 418, self.limits.ban_s
        if self.used + weight > self.limits.weight:
            self.wait_until = (window + 1) * self.limits.window_s
            return 429, self.wait_until - now
        self.used += weight
        return 200, None


@dataclass
class TradeTape:
    """Every trade the simulated Binance made, per symbol, as its stream spelled it."""

    rows: dict[str, dict[int, dict[str, object]]] = field(default_factory=dict)

    def on_step(self, step: Step) -> None:
        for trade in step.trades:
            if trade.instrument.venue != "binance":
                continue
            sent = json.loads(format_trade(trade))
            self.rows.setdefault(trade.instrument.symbol, {})[trade.trade_id] = {
                "id": trade.trade_id,
                "price": sent["p"],
                "qty": sent["q"],
                "quoteQty": "0",
                "time": sent["T"],
                "isBuyerMaker": sent["m"],
                "isBestMatch": True,
            }

    def page(self, symbol: str, from_id: int | None, limit: int) -> list[dict[str, object]]:
        """Up to ``limit`` trades from id ``from_id`` on (the latest ones without it)."""
        rows = self.rows.get(symbol, {})
        if from_id is None:
            ids = sorted(rows)[-limit:]
        else:
            ids = [i for i in range(from_id, from_id + limit) if i in rows]
        return [rows[i] for i in ids]


@dataclass(frozen=True)
class RestAnswer:
    status: int
    body: str
    headers: dict[str, str]


def _error(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":"))


def answer(
    path: str,
    tape: TradeTape,
    window: WeightWindow,
    now: float,
    clock: Callable[[], float],
) -> RestAnswer | None:
    """The answer to a REST ``path`` (with its query), or ``None`` for another path."""
    parts = urlsplit(path)
    if parts.path not in (HISTORY_PATH, TIME_PATH):
        return None
    weight = HISTORY_WEIGHT if parts.path == HISTORY_PATH else TIME_WEIGHT
    status, retry = window.charge(now, weight)
    window.answered.append(status)
    headers = {"X-MBX-USED-WEIGHT-1M": str(window.used), "Content-Type": "application/json"}
    if status != 200:
        headers["Retry-After"] = str(math.ceil(retry or 1))
        if status == 429:
            msg = "Too much request weight used; current limit is %d request weight per 1 MINUTE."
            return RestAnswer(429, _error(-1003, msg % window.limits.weight), headers)
        return RestAnswer(
            418, _error(-1003, "Way too much request weight used; IP banned."), headers
        )
    if parts.path == TIME_PATH:
        return RestAnswer(200, json.dumps({"serverTime": int(clock() * 1000)}), headers)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    symbol = query.get("symbol", "")
    if symbol not in tape.rows:
        return RestAnswer(400, _error(-1121, "Invalid symbol."), headers)
    try:
        limit = min(MAX_LIMIT, int(query.get("limit", "500")))
        from_id = int(query["fromId"]) if "fromId" in query else None
    except ValueError:
        return RestAnswer(400, _error(-1100, "Illegal characters found in a parameter."), headers)
    body = json.dumps(tape.page(symbol, from_id, limit), separators=(",", ":"))
    return RestAnswer(200, body, headers)


class BinanceRest:
    """The REST side of one simulator: the tape it keeps and the weight window it enforces."""

    def __init__(self, config: object) -> None:
        self.tape = TradeTape()
        self.window = WeightWindow(RestLimits())
        self.clock: Callable[[], float] = getattr(config, "clock", time.time)

    def on_step(self, step: Step) -> None:
        self.tape.on_step(step)

    def answer(self, path: str, now: float) -> RestAnswer | None:
        return answer(path, self.tape, self.window, now, self.clock)
