"""The broken frames the simulated Binance injects (:class:`~..faults.MalformedKind`).

Each is built from the connection's own session, so it looks like the frames
around it (same wrapping, same stream names) and breaks in exactly one way.
"""

from __future__ import annotations

from ..faults import PROXY_ERROR_PAGE, MalformedKind
from ..market import Market
from ..numbers import fixed8
from .frames import format_depth, trade_text, wrap
from .session import BinanceSession

__all__ = ["malformed_frame"]

#: The depth payload used when no market runs (a replay): one level per side.
_PLACEHOLDER_DEPTH = (
    '{"lastUpdateId":1,"bids":[["95000.00000000","0.10000000"]],'
    '"asks":[["95000.01000000","0.10000000"]]}'
)


def malformed_frame(
    kind: MalformedKind, session: BinanceSession, market: Market | None, now_us: int
) -> str:
    """The frame of ``kind`` for this connection; ``market`` is None in a replay."""
    if kind is MalformedKind.NOT_JSON:
        return PROXY_ERROR_PAGE
    depth_name = next(
        (n for n, s in session.streams.items() if s.kind == "depth"), "btcusdt@depth5"
    )
    book = market.book("binance", "BTCUSDT") if market else None
    depth = format_depth(book) if book else _PLACEHOLDER_DEPTH
    if kind is MalformedKind.TRUNCATED:
        text = session.frame(depth_name, depth)
        return text[: len(text) // 2]
    if kind is MalformedKind.MISSING_BIDS:
        cut = depth[: depth.index(',"bids":')] + depth[depth.index(',"asks":') :]
        return session.frame(depth_name, cut)
    # FOREIGN_STREAM: a trade of a symbol nobody asked for.
    foreign = next(n for n in ("ethusdt@trade", "btcusdt@trade") if n not in session.streams)
    symbol = foreign.split("@")[0].upper()
    other = market.book("binance", symbol) if market else None
    price = fixed8(other.asks[0].price * 10**6) if other else "3300.00000000"
    ms = now_us // 1000
    payload = trade_text(symbol, 1, price, "0.01000000", ms, ms, False)
    return wrap(foreign, payload) if session.combined else payload
