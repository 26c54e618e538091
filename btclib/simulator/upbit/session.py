"""One Upbit connection's subscription and publication state, without I/O.

:class:`UpbitSession` answers each client message (:mod:`.requests` validates
it) and turns market steps into orderbook and trade frames (:mod:`.frames`).
The asyncio link sends every string it gets from here as a binary frame.
"""

from __future__ import annotations

import json
from typing import Any

from ..market import Book, Market, Step, Trade
from ..quotation.session import Reply
from .frames import STATUS_UP, format_orderbook, format_trade
from .requests import Format, UpbitError, UpbitRequest, parse_request

__all__ = ["Reply", "UpbitSession"]


class UpbitSession:
    """Subscription and publication state of one Upbit connection."""

    def __init__(self, *, microseconds: bool = False, publish_ms: int = 100) -> None:
        self.microseconds = microseconds
        self.publish_ms = publish_ms
        self.format: Format = "DEFAULT"
        self.request: UpbitRequest | None = None
        #: Last orderbook sent per (code, units), to stay silent when quiet.
        self._last: dict[tuple[str, int], Any] = {}
        #: Book version when it was last compared: unchanged, no need to compare again.
        self._seen: dict[tuple[str, int], int] = {}

    @property
    def simple(self) -> bool:
        return self.format in ("SIMPLE", "SIMPLE_LIST")

    @property
    def as_list(self) -> bool:
        return self.format in ("JSON_LIST", "SIMPLE_LIST")

    def handle(self, text: str, market: Market | None) -> Reply:
        """Answer one client text (or decoded binary) message.

        ``market`` is None when replaying a capture: no snapshots are made up.
        """
        if text == "PING":
            return Reply(control=[STATUS_UP], ping=True)
        request = parse_request(text)
        if isinstance(request, UpbitError):
            return Reply(control=[request.to_json()], close=True)
        if request.format is not None:
            self.format = request.format
        reply = Reply()
        if request.method == "LIST_SUBSCRIPTIONS":
            reply.control.append(self._list(request.ticket))
        if request.subscriptions:
            # A new request replaces the previous subscription entirely.
            self.request = request
            self._last.clear()
            self._seen.clear()
            reply.subscribed = True
            if market is not None:
                codes = {code for sub in request.subscriptions for code, _ in sub.codes}
                market.watch("upbit", sorted(codes))
                reply.data.extend(self._snapshots(market))
        return reply

    def _list(self, ticket: str) -> str:
        result = []
        for sub in self.request.subscriptions if self.request else ():
            entry: dict[str, Any] = {"type": sub.type, "codes": list(sub.requested)}
            if sub.type == "orderbook":
                entry["level"] = sub.level
            result.append(entry)
        if self.simple:
            result = [
                {{"type": "ty", "codes": "cds", "level": "lv"}[k]: v for k, v in e.items()}
                for e in result
            ]
            body = {"mthd": "LIST_SUBSCRIPTIONS", "rslt": result, "tckt": ticket}
        else:
            body = {"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket}
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False)

    def _snapshots(self, market: Market) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        assert self.request is not None
        for sub in self.request.subscriptions:
            if sub.only_realtime:
                continue
            for code, units in sub.codes:
                if sub.type == "orderbook" and sub.level == 0:
                    book = market.book("upbit", code)
                    if book is not None:
                        self._last[(code, units)] = book.top(units)
                        out.append(("orderbook", self.orderbook(book, units, "SNAPSHOT")))
                elif sub.type == "trade":
                    trade = market.last_trades.get(f"upbit:{code}")
                    if trade is not None:
                        out.append(("trade", self.trade(trade, market, "SNAPSHOT")))
        return out

    def frames(self, step: Step, market: Market) -> list[tuple[str, str]]:
        """Data frames for one market step as ``(type, frame text)``."""
        out: list[tuple[str, str]] = []
        if self.request is None:
            return out
        live = [s for s in self.request.subscriptions if not s.only_snapshot]
        for trade in step.trades:
            if trade.instrument.venue != "upbit":
                continue
            symbol = trade.instrument.symbol
            if any(s.type == "trade" and (symbol, 0) in s.codes for s in live):
                out.append(("trade", self.trade(trade, market, "REALTIME")))
        if step.elapsed_ms % self.publish_ms == 0:
            for sub in live:
                if sub.type != "orderbook" or sub.level != 0:
                    continue
                for code, units in sub.codes:
                    book = market.book("upbit", code)
                    if book is None or self._seen.get((code, units)) == book.version:
                        continue  # unknown, or not changed since last compared
                    self._seen[(code, units)] = book.version
                    top = book.top(units)
                    if self._last.get((code, units)) == top:
                        continue  # a quiet book sends nothing
                    self._last[(code, units)] = top
                    out.append(
                        (
                            "orderbook",
                            self.orderbook(book, units, "REALTIME", timestamp_us=step.time_us),
                        )
                    )
        return out

    def orderbook(
        self, book: Book, units: int, stream_type: str, timestamp_us: int | None = None
    ) -> str:
        """One orderbook frame in this connection's format."""
        return format_orderbook(
            book,
            units,
            simple=self.simple,
            stream_type=stream_type,
            timestamp_us=timestamp_us,
            microseconds=self.microseconds,
            as_list=self.as_list,
        )

    def trade(self, trade: Trade, market: Market, stream_type: str) -> str:
        """One trade frame in this connection's format."""
        return format_trade(
            trade,
            market.prev_close[trade.instrument.key],
            simple=self.simple,
            stream_type=stream_type,
            microseconds=self.microseconds,
            as_list=self.as_list,
        )
