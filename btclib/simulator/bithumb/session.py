"""One Bithumb connection's subscription and publication state, without I/O.

The request is Upbit's array (ticket, type objects, format; docs/protocols-bithumb.md
3), validated by Upbit's rules with the differences the wire showed (:mod:`.requests`).
What this session sends is Bithumb's: its number spelling, its field order
(:mod:`.frames`), its books.
"""

from __future__ import annotations

from typing import Any

from ..market import Market, Step
from ..quotation.session import Reply
from ..upbit.requests import UpbitError, UpbitRequest
from .frames import STATUS_UP, format_orderbook, format_trade
from .requests import parse

__all__ = ["VENUE", "BithumbSession", "Reply"]

VENUE = "bithumb"
"""The market's venue of Bithumb's books (``bithumb:KRW-BTC``)."""


class BithumbSession:
    """Subscription and publication state of one Bithumb connection."""

    def __init__(self, *, publish_ms: int = 100) -> None:
        self.publish_ms = publish_ms
        self.request: UpbitRequest | None = None
        #: Last book sent per (code, units), to stay silent when quiet.
        self._last: dict[tuple[str, int], Any] = {}

    def handle(self, text: str, market: Market | None) -> Reply:
        """Answer one client text (or decoded binary) message; ``market`` None in a replay."""
        if text == "PING":
            return Reply(control=[STATUS_UP], ping=True)
        request = parse(text)
        if isinstance(request, UpbitError):
            return Reply(control=[request.to_json()], close=True)
        reply = Reply()
        if request.subscriptions:
            # A new request replaces the previous subscription entirely (as on Upbit).
            self.request = request
            self._last.clear()
            reply.subscribed = True
            if market is not None:
                reply.data.extend(self._snapshots(market))
        return reply

    def _snapshots(self, market: Market) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        assert self.request is not None
        for sub in self.request.subscriptions:
            if sub.only_realtime:
                continue
            for code, units in sub.codes:
                if sub.type == "orderbook":
                    book = market.book(VENUE, code)
                    if book is not None:
                        self._last[(code, units)] = book.top(units)
                        out.append(
                            ("orderbook", format_orderbook(book, units, stream_type="SNAPSHOT"))
                        )
                elif sub.type == "trade":
                    trade = market.last_trades.get(f"{VENUE}:{code}")
                    if trade is not None:
                        close = market.prev_close[trade.instrument.key]
                        out.append(("trade", format_trade(trade, close, stream_type="SNAPSHOT")))
        return out

    def frames(self, step: Step, market: Market) -> list[tuple[str, str]]:
        """Data frames for one market step as ``(type, frame text)``."""
        out: list[tuple[str, str]] = []
        if self.request is None:
            return out
        live = [s for s in self.request.subscriptions if not s.only_snapshot]
        for trade in step.trades:
            if trade.instrument.venue != VENUE:
                continue
            if any(s.type == "trade" and (trade.instrument.symbol, 0) in s.codes for s in live):
                close = market.prev_close[trade.instrument.key]
                out.append(("trade", format_trade(trade, close)))
        if step.elapsed_ms % self.publish_ms:
            return out
        for sub in live:
            if sub.type != "orderbook":
                continue
            for code, units in sub.codes:
                book = market.book(VENUE, code)
                if book is None:
                    continue
                top = book.top(units)
                if self._last.get((code, units)) == top:
                    continue  # a quiet book sends nothing
                self._last[(code, units)] = top
                out.append(("orderbook", format_orderbook(book, units, timestamp_us=step.time_us)))
        return out
