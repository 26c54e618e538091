"""The line a recorder must write for a Binance frame, computed without btclib's parser.

Sliced out of the frame's own bytes (:mod:`..jsontext`), in any valid JSON layout, by
SPEC section 1 alone: a ``depth5`` book gives ``<symbol>@orderbook,bids:<bids>,asks:<asks>``
with both arrays as sent, a trade ``<symbol>@trade, p:<p>,q:<q>`` with the strings' text.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from ..jsontext import members, string

__all__ = ["expected_line", "message_id"]


def expected_line(payload: bytes, subscribed: Mapping[str, Any] | None = None) -> bytes | None:
    """The SPEC line of a Binance frame, or None when it is not market data of the
    subscription (``{"symbol", "depth_speed"}``: a raw ``/ws/<stream>`` frame has no wrapper
    to name its symbol; None: any stream the wrapper names)."""
    asked = subscribed or {}
    symbol, depth_speed = asked.get("symbol"), asked.get("depth_speed")
    top = dict((key, value) for key, _, value in members(payload))
    stream = string(top.get("stream"))
    if stream is not None and "data" in top:
        data = dict((key, value) for key, _, value in members(top["data"]))
        named, _, kind = stream.partition("@")
        depth = "depth5@100ms" if depth_speed == "100ms" else "depth5"
        if symbol is not None and (named != symbol or kind not in (depth, "trade")):
            return None  # a stream this subscription never asked for
        symbol = named
    elif symbol is not None:  # a raw /ws/<stream> frame
        data, kind = top, ""
    else:
        return None
    if kind.split("@")[0] in ("depth5", "") and {"lastUpdateId", "bids", "asks"} <= set(data):
        return b"%s@orderbook,bids:%s,asks:%s\n" % (symbol.encode(), data["bids"], data["asks"])
    if kind in ("trade", "") and string(data.get("e")) == "trade":
        price, quantity = string(data.get("p")), string(data.get("q"))
        if price is not None and quantity is not None:
            return f"{symbol}@trade, p:{price},q:{quantity}\n".encode()
    return None


def message_id(payload: bytes) -> tuple[Hashable, ...]:
    """What names a Binance message across connections: its stream and id (a trade's ``t``,
    a book's ``lastUpdateId``). During a make-before-break rotation both connections send
    the same messages, which belong in the file once."""
    top = dict((key, value) for key, _, value in members(payload))
    data = dict((key, value) for key, _, value in members(top["data"]))
    seq = data["lastUpdateId"] if "lastUpdateId" in data else data["t"]
    return (string(top["stream"]), int(seq))
