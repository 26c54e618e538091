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
from collections.abc import Iterable, Mapping
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
    known = symbols if isinstance(symbols, set | frozenset) else set(symbols)
    if symbol not in known:
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
        phases: Mapping[str, int] | None = None,
    ) -> None:
        """``phases``: symbol -> millisecond of each second its depth is published on
        (default 0: on the whole second)."""
        self.symbols = frozenset(symbols)
        self.phases = phases or {}
        self.combined = url.combined
        self.time_unit: TimeUnit = url.time_unit
        self.max_streams = max_streams
        #: Valid streams in subscription order (a dict keeps the order).
        self.streams: dict[str, StreamSpec] = {}
        for name in url.streams:
            spec = parse_stream(name, self.symbols)
            if spec is not None and len(self.streams) < max_streams:
                self.streams[name] = spec
        self._index()

    def _index(self) -> None:
        """Streams by what a step looks up: trades by symbol, depth by interval and phase,
        so a step costs what it publishes, not the number of streams (1,000 a connection)."""
        self._trades: dict[str, list[str]] = {}
        self._depth: dict[int, dict[int, list[tuple[int, StreamSpec]]]] = {}
        for position, spec in enumerate(self.streams.values()):
            if spec.kind == "trade":
                self._trades.setdefault(spec.symbol, []).append(spec.name)
            elif spec.kind == "depth":
                phase = self.phases.get(spec.symbol, 0) % spec.interval_ms
                by_phase = self._depth.setdefault(spec.interval_ms, {})
                by_phase.setdefault(phase, []).append((position, spec))

    @property
    def watched(self) -> set[str]:
        """The symbols whose data this connection publishes."""
        return {spec.symbol for spec in self.streams.values() if spec.kind != "silent"}

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
        self._index()
        return _dumps({"result": None, "id": request_id})

    def _unsubscribe(self, params: list[Any], request_id: Any) -> str:
        if not params or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: invalid stream", request_id)
        for name in params:
            self.streams.pop(name, None)
        self._index()
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
        trades = self._trades
        for trade in step.trades:
            if trade.instrument.venue != "binance":
                continue
            names = trades.get(trade.instrument.symbol)
            if names:
                payload = format_trade(trade, self.time_unit)
                out.extend((name, self.frame(name, payload)) for name in names)
        due: list[tuple[int, StreamSpec]] = []
        groups = 0
        for interval, by_phase in self._depth.items():
            specs = by_phase.get(step.elapsed_ms % interval)
            if specs:
                due.extend(specs)
                groups += 1
        if groups > 1:
            due.sort(key=lambda item: item[0])  # in subscription order, as one list would be
        for _, spec in due:
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
