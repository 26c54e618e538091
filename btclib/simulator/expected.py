"""The line a recorder must write for a frame the simulator sent, computed without btclib.

Tests and the fault soak compare the recorder's data file with what the
simulator sent; if the expected line came from the recorder's own parsers, a
parser bug would hide behind itself. So it is computed here from the SPEC
line format alone, by a small scanner of its own that slices each value out of
the frame's bytes (any valid JSON layout: key order, whitespace, escapes), so
arrays and numbers keep the exchange's spelling. It gives every record of the
real-frames corpus (``shared/realframes/frames.jsonl``) its expected line
(``tests/simulator/test_expected.py``).

:func:`message_key` says which frames carry the same message: during a
make-before-break rotation two Binance connections send the same trade (same
id) and the same book (same ``lastUpdateId``), which belongs in the file
once. Upbit messages carry no id, so each frame is its own message.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from .jsontext import members, string
from .link import SentFrame

__all__ = ["distinct_messages", "expected_line", "line_for", "message_key"]

def _members(buf: bytes) -> dict[str, bytes]:
    return {key: value for key, _, value in members(buf)}


_text = string


def _binance(payload: bytes, symbol: str | None, depth_speed: str | None) -> bytes | None:
    top = _members(payload)
    stream = _text(top.get("stream"))
    if stream is not None and "data" in top:
        data = _members(top["data"])
        named, _, kind = stream.partition("@")
        depth = "depth5@100ms" if depth_speed == "100ms" else "depth5"
        if symbol is not None and (named != symbol or kind not in (depth, "trade")):
            return None  # a stream this subscription never asked for
        symbol = named
    elif symbol is not None:  # a raw /ws/<stream> frame: the subscription names the symbol
        data, kind = top, ""
    else:
        return None
    if kind.split("@")[0] in ("depth5", "") and {"lastUpdateId", "bids", "asks"} <= set(data):
        return b"%s@orderbook,bids:%s,asks:%s\n" % (symbol.encode(), data["bids"], data["asks"])
    if kind in ("trade", "") and _text(data.get("e")) == "trade":
        price, quantity = _text(data.get("p")), _text(data.get("q"))
        if price is not None and quantity is not None:
            return f"{symbol}@trade, p:{price},q:{quantity}\n".encode()
    return None


def _upbit(payload: bytes, codes: Iterable[str] | None) -> bytes | None:
    top = _members(payload)
    kind = _text(top.get("type", top.get("ty")))
    code = _text(top.get("code", top.get("cd")))
    units = top.get("orderbook_units", top.get("obu"))
    if kind != "orderbook" or code is None or units is None or "-" not in code:
        return None
    if codes is not None and code not in {c.split(".")[0] for c in codes}:
        return None  # a market this subscription never asked for
    quote, base = code.lower().split("-", 1)
    return (base + quote).encode() + b"@orderbook," + units + b"\n"


def line_for(
    exchange: str, payload: bytes | str, subscribed: Mapping[str, Any] | None = None
) -> bytes | None:
    """The SPEC line a frame must give, or None when it is not market data for this
    subscription (or not market data at all).

    Any valid JSON layout (key order, whitespace, escapes): values are sliced out of the
    frame's own bytes, so arrays and numbers keep their spelling. ``subscribed`` says what
    was asked for, as the real-frames corpus does: Binance ``{"symbol", "depth_speed"}``
    (a raw ``/ws/<stream>`` frame has no wrapper to name its symbol), Upbit ``{"codes"}``;
    None accepts any market the frame names.
    """
    raw = payload if isinstance(payload, bytes) else payload.encode()
    asked = subscribed or {}
    if exchange == "upbit":
        return _upbit(raw, asked.get("codes"))
    if exchange == "binance":
        return _binance(raw, asked.get("symbol"), asked.get("depth_speed"))
    from .registry import expected_line as packaged  # the registry imports the packages

    return packaged(exchange, raw, asked)


def expected_line(frame: SentFrame) -> bytes:
    """The SPEC line for one data frame the simulator sent (Binance combined streams, Upbit)."""
    line = line_for(frame.exchange, frame.payload)
    assert line is not None, f"not a data frame: {frame.payload!r:.200}"
    return line


def _payload(frame: SentFrame) -> bytes:
    return frame.payload if isinstance(frame.payload, bytes) else frame.payload.encode()


def message_key(frame: SentFrame, n: int) -> Hashable:
    """What identifies the message of a data frame across connections.

    Binance: its stream and id (trade id, book ``lastUpdateId``). Upbit: the
    frame itself (``n``: its position in the simulator's send order).
    """
    if frame.exchange == "binance":
        message = json.loads(_payload(frame))
        data = message["data"]
        seq = data["lastUpdateId"] if "lastUpdateId" in data else data["t"]
        return (frame.exchange, message["stream"], seq)
    return (frame.exchange, frame.conn_id, n)


def distinct_messages(sent: Iterable[SentFrame]) -> list[Hashable]:
    """The messages among data frames sent, by :func:`message_key`, first copy of each.

    What a recorder must write exactly once: during a make-before-break rotation both
    connections send the same Binance messages, which count once here.
    """
    seen: set[Hashable] = set()
    out = []
    for n, frame in enumerate(sent):
        key = message_key(frame, n)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out
