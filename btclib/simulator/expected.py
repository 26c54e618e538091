"""The line a recorder must write for a frame the simulator sent, computed without btclib.

Tests and the fault soak compare the recorder's data file with what the
simulator sent; if the expected line came from the recorder's own parsers, a
parser bug would hide behind itself. So it is computed here from the SPEC
line format alone: with ``json`` for Binance (whose numbers are strings) and
a regular expression on the raw text for Upbit (whose numbers must keep
their exact spelling).

:func:`message_key` says which frames carry the same message: during a
make-before-break rotation two Binance connections send the same trade (same
id) and the same book (same ``lastUpdateId``), which belongs in the file
once. Upbit messages carry no id, so each frame is its own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable

from .link import SentFrame

__all__ = ["distinct_messages", "expected_line", "message_key"]

_UNITS = re.compile(rb'"orderbook_units":(\[[^\]]*\])')


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _payload(frame: SentFrame) -> bytes:
    return frame.payload if isinstance(frame.payload, bytes) else frame.payload.encode()


def expected_line(frame: SentFrame) -> bytes:
    """The SPEC line for one data frame the simulator sent (Binance combined streams, Upbit)."""
    payload = _payload(frame)
    message = json.loads(payload)
    if frame.exchange == "upbit":
        quote, base = message["code"].lower().split("-")
        units = _UNITS.search(payload)
        assert units is not None, "an Upbit orderbook without units"
        return (base + quote).encode() + b"@orderbook," + units.group(1) + b"\n"
    symbol, data = message["stream"].split("@")[0], message["data"]
    if "lastUpdateId" in data:
        bids, asks = _dump(data["bids"]), _dump(data["asks"])
        return f"{symbol}@orderbook,bids:{bids},asks:{asks}\n".encode()
    return f"{symbol}@trade, p:{data['p']},q:{data['q']}\n".encode()


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
