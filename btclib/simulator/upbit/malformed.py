"""The broken frames the simulated Upbit injects (:class:`~..faults.MalformedKind`).

Each is an orderbook in the connection's own format (SIMPLE or DEFAULT, list or
not) broken in exactly one way.
"""

from __future__ import annotations

import re

from ..faults import PROXY_ERROR_PAGE, MalformedKind
from ..market import Market
from .frames import orderbook_text
from .session import UpbitSession

__all__ = ["malformed_frame"]

_UNITS = re.compile(r',"(orderbook_units|obu)":\[[^]]*\]')


def malformed_frame(kind: MalformedKind, session: UpbitSession, market: Market | None) -> str:
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
    book = market.book("upbit", code) if market else None
    if book is None:
        text = orderbook_text(code, 0, "0.0", "0.0", ())
    else:
        text = session.orderbook(book, 15, "REALTIME")
    if kind is MalformedKind.TRUNCATED:
        return text[: len(text) // 2]
    if kind is MalformedKind.MISSING_BIDS:
        return _UNITS.sub("", text)
    return text
