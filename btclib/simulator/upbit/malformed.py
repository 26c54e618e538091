"""The broken frames the simulated Upbit injects (:class:`~..faults.MalformedKind`).

Each is an orderbook in the connection's own format (SIMPLE or DEFAULT, list or
not) broken in exactly one way.
"""

from __future__ import annotations

from ..faults import PROXY_ERROR_PAGE, MalformedKind
from ..market import Market
from ..quotation.malformed import foreign_code, without_units
from .frames import orderbook_text
from .session import UpbitSession

__all__ = ["malformed_frame"]


def malformed_frame(kind: MalformedKind, session: UpbitSession, market: Market | None) -> str:
    """The frame of ``kind`` for this connection; ``market`` is None in a replay."""
    if kind is MalformedKind.NOT_JSON:
        return PROXY_ERROR_PAGE
    code = foreign_code(session.request) if kind is MalformedKind.FOREIGN_STREAM else "KRW-BTC"
    book = market.book("upbit", code) if market else None
    text = (
        orderbook_text(code, 0, "0.0", "0.0", ())
        if book is None
        else session.orderbook(book, 15, "REALTIME")
    )
    if kind is MalformedKind.TRUNCATED:
        return text[: len(text) // 2]
    if kind is MalformedKind.MISSING_BIDS:
        return without_units(text)
    return text
