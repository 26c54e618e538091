"""The broken frames the simulated Bithumb injects (:class:`~..faults.MalformedKind`).

Each is an orderbook in Bithumb's layout broken in exactly one way.
"""

from __future__ import annotations

from ..faults import PROXY_ERROR_PAGE, MalformedKind
from ..market import Market
from ..quotation.malformed import foreign_code, without_units
from .frames import format_orderbook, orderbook_text
from .session import VENUE, BithumbSession

__all__ = ["malformed_frame"]


def malformed_frame(kind: MalformedKind, session: BithumbSession, market: Market | None) -> str:
    """The frame of ``kind`` for this connection; ``market`` is None in a replay."""
    if kind is MalformedKind.NOT_JSON:
        return PROXY_ERROR_PAGE
    code = foreign_code(session.request) if kind is MalformedKind.FOREIGN_STREAM else "KRW-BTC"
    book = market.book(VENUE, code) if market else None
    text = orderbook_text(code, 0, "0", "0", []) if book is None else format_orderbook(book, 15)
    if kind is MalformedKind.TRUNCATED:
        return text[: len(text) // 2]
    if kind is MalformedKind.MISSING_BIDS:
        return without_units(text)
    return text
