"""Binance spot market streams, server side, without I/O.

:class:`BinanceSession` holds the state of one simulated connection (its
streams, the ``combined`` property, the time unit) and turns client control
messages into replies and market steps into frames, the way
``stream.binance.com`` does (protocols.md section 1). The asyncio link only
moves the strings it returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from ..market import Market, Step
from .frames import TimeUnit, format_depth, format_trade, wrap

__all__ = [
    "BinanceSession",
    "StreamSpec",
    "UrlRequest",
    "parse_stream",
    "parse_url",
]

_STREAM_RE = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?P<kind>"
    r"trade|aggTrade|bookTicker|ticker|miniTicker|avgPrice"
    r"|depth(?P<levels>5|10|20)?(?:@(?P<speed>100ms|1000ms))?"
    r"|kline_(?:1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)"
    r"|ticker_(?:1h|4h|1d))$"
)
_GLOBAL_STREAMS = {"!ticker@arr", "!miniTicker@arr", "!bookTicker"}
_ID_RE = re.compile(r"^[A-Za-z0-9]{1,36}$")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


@dataclass(frozen=True)
class StreamSpec:
    """A valid stream name. ``kind`` is ``"depth"``, ``"trade"`` or ``"silent"``.

    Silent streams are real Binance streams the simulator accepts but does not
    produce (``aggTrade``, ``kline_1m``, diff ``depth``...).
    """

    name: str
    symbol: str
    kind: Literal["depth", "trade", "silent"]
    levels: int = 0
    interval_ms: int = 0


def parse_stream(name: str, symbols: Iterable[str]) -> StreamSpec | None:
    """Validate ``name`` against Binance's grammar and the known ``symbols``.

    ``symbols`` are exchange spellings (``"BTCUSDT"``); stream names must use
    them in lower case. Returns None for anything Binance would not serve.
    """
    if name in _GLOBAL_STREAMS:
        return StreamSpec(name, "", "silent")
    match = _STREAM_RE.match(name)
    if match is None:
        return None
    symbol = match["symbol"].upper()
    if symbol not in set(symbols):
        return None
    kind = match["kind"]
    if kind == "trade":
        return StreamSpec(name, symbol, "trade")
    if match["levels"]:
        interval = 100 if match["speed"] == "100ms" else 1000
        return StreamSpec(name, symbol, "depth", int(match["levels"]), interval)
    return StreamSpec(name, symbol, "silent")


@dataclass(frozen=True)
class UrlRequest:
    """What a connection URL asks for."""

    combined: bool
    streams: tuple[str, ...]
    time_unit: TimeUnit


def parse_url(path: str) -> UrlRequest | None:
    """Parse ``/ws``, ``/ws/<name>``, ``/stream`` or ``/stream?streams=a/b``.

    Returns None when the path is not a Binance stream path (the server answers
    404). Stream names are kept as requested, even invalid ones: Binance accepts
    them in the URL and stays silent.
    """
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    unit = query.get("timeUnit", [""])[-1]
    time_unit: TimeUnit = "us" if unit.upper() == "MICROSECOND" else "ms"
    route = parts.path
    if route in ("/ws", "/ws/"):
        return UrlRequest(False, (), time_unit)
    if route.startswith("/ws/"):
        names = tuple(n for n in route[len("/ws/") :].split("/") if n)
        return UrlRequest(False, names, time_unit)
    if route in ("/stream", "/stream/"):
        raw = query.get("streams", [""])[-1]
        return UrlRequest(True, tuple(n for n in raw.split("/") if n), time_unit)
    return None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _error(code: int, msg: str, request_id: Any) -> str:
    return _dumps({"error": {"code": code, "msg": msg}, "id": request_id})


class BinanceSession:
    """Subscriptions and properties of one Binance connection."""

    def __init__(
        self,
        url: UrlRequest,
        symbols: Iterable[str],
        *,
        max_streams: int = 1024,
    ) -> None:
        self.symbols = frozenset(symbols)
        self.combined = url.combined
        self.time_unit: TimeUnit = url.time_unit
        self.max_streams = max_streams
        #: Valid streams in subscription order (a dict keeps the order).
        self.streams: dict[str, StreamSpec] = {}
        for name in url.streams:
            spec = parse_stream(name, self.symbols)
            if spec is not None and len(self.streams) < max_streams:
                self.streams[name] = spec

    # -- control messages -------------------------------------------------------

    def handle(self, text: str) -> str:
        """Answer one client text message (a control request) with one reply."""
        try:
            request = json.loads(text)
        except ValueError as exc:
            line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
            return _error(3, f"Invalid JSON: expected value at line {line} column {col}", None)
        if not isinstance(request, dict):
            return _error(2, "Invalid request: expected a JSON object", None)
        request_id = request.get("id")
        if not _valid_id(request_id):
            return _error(2, "Invalid request: request ID must be an unsigned integer", None)
        method = request.get("method")
        if method is None:
            return _error(
                2,
                f"Invalid request: missing field `method` at line 1 column {len(text)}",
                request_id,
            )
        if method not in _METHODS:
            expected = ", ".join(f"`{m}`" for m in _METHODS)
            column = (
                text.find(json.dumps(method)) + len(json.dumps(method))
                if isinstance(method, str)
                else len(text)
            )
            return _error(
                2,
                f"Invalid request: unknown variant `{method}`, expected one of {expected} "
                f"at line 1 column {column}",
                request_id,
            )
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error(2, "Invalid request: params must be an array", request_id)
        handler = getattr(self, "_" + method.lower())
        return handler(params, request_id)

    def _subscribe(self, params: list[Any], request_id: Any) -> str:
        specs = [parse_stream(p, self.symbols) if isinstance(p, str) else None for p in params]
        if not params or any(s is None for s in specs):
            return _error(2, "Invalid request: invalid stream", request_id)
        new = {s.name: s for s in specs if s is not None and s.name not in self.streams}
        if len(self.streams) + len(new) > self.max_streams:
            return _error(4, "Too many subscriptions", request_id)
        self.streams.update(new)
        return _dumps({"result": None, "id": request_id})

    def _unsubscribe(self, params: list[Any], request_id: Any) -> str:
        if not params or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: invalid stream", request_id)
        for name in params:
            self.streams.pop(name, None)
        return _dumps({"result": None, "id": request_id})

    def _list_subscriptions(self, params: list[Any], request_id: Any) -> str:
        if params:
            return _error(2, "Invalid request: too many parameters", request_id)
        return _dumps({"result": list(self.streams), "id": request_id})

    def _set_property(self, params: list[Any], request_id: Any) -> str:
        if len(params) > 2:
            return _error(2, "Invalid request: too many parameters", request_id)
        if not params or not isinstance(params[0], str):
            return _error(2, "Invalid request: property name must be a string", request_id)
        if params[0] != "combined":
            return _error(0, "Unknown property", request_id)
        if len(params) < 2 or not isinstance(params[1], bool):
            return _error(1, "Invalid value type: expected Boolean", request_id)
        self.combined = params[1]
        return _dumps({"result": None, "id": request_id})

    def _get_property(self, params: list[Any], request_id: Any) -> str:
        if len(params) > 1:
            return _error(2, "Invalid request: too many parameters", request_id)
        if not params or not isinstance(params[0], str):
            return _error(2, "Invalid request: property name must be a string", request_id)
        if params[0] != "combined":
            return _error(0, "Unknown property", request_id)
        return _dumps({"result": self.combined, "id": request_id})

    # -- market data ------------------------------------------------------------

    def frames(self, step: Step, market: Market) -> list[tuple[str, str]]:
        """Data frames for one market step as ``(stream name, frame text)``.

        Trades come first (they happened during the step), then the depth
        snapshots due on this step's publication grid.
        """
        out: list[tuple[str, str]] = []
        if not self.streams:
            return out
        for trade in step.trades:
            if trade.instrument.venue != "binance":
                continue
            for spec in self.streams.values():
                if spec.kind == "trade" and spec.symbol == trade.instrument.symbol:
                    out.append(
                        (spec.name, self.frame(spec.name, format_trade(trade, self.time_unit)))
                    )
        for spec in self.streams.values():
            if spec.kind == "depth" and step.elapsed_ms % spec.interval_ms == 0:
                book = market.book("binance", spec.symbol)
                if book is not None:
                    out.append((spec.name, self.frame(spec.name, format_depth(book, spec.levels))))
        return out

    def frame(self, stream: str, payload: str) -> str:
        """``payload`` as this connection sends it: wrapped when ``combined``."""
        return wrap(stream, payload) if self.combined else payload


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and _ID_RE.match(value) is not None
