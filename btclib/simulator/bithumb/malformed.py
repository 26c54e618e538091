"""The broken frames the simulated Bithumb injects (:class:`~..faults.MalformedKind`).

Each is an orderbook in Bithumb's layout broken in exactly one way.
"""

from __future__ import annotations

import re

from ..faults import PROXY_ERROR_PAGE, MalformedKind
from ..market import Market
from .frames import format_orderbook, orderbook_text
from .session import VENUE, BithumbSession

__all__ = ["malformed_frame"]

_UNITS = re.compile(r',"orderbook_units":\[[^]]*\]')


def malformed_frame(kind: MalformedKind, session: BithumbSession, market: Market | None) -> str:
    """The frame of ``kind`` for this connection; ``market`` is None in a replay."""
    if kind is MalformedKind.NOT_JSON:
        return PROXY_ERROR_PAGE
    wanted = {
        code
        for sub in (session.request.subscriptions if session.request else ())
        for code, _ in sub.codes
    }
    code = "KRW-BTC"
    if kind is MalformedKind.FOREIGN_STREAM:
        code = next(c for c in ("KRW-ETH", "KRW-USDT", "KRW-BTC") if c not in wanted)
    text = orderbook_text(code, 0, "0", "0", [])
    book = market.book(VENUE, code) if market else None
    if book is not None:
        text = format_orderbook(book, 15)
    if kind is MalformedKind.TRUNCATED:
        return text[: len(text) // 2]
    if kind is MalformedKind.MISSING_BIDS:
        return _UNITS.sub("", text)
    return text
