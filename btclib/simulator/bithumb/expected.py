"""The line a recorder must write for a Bithumb frame, computed without btclib's parser.

Tests and the soak compare the data file with what the simulator sent; a line taken
from the recorder's own parser would let a parser bug hide behind itself. So it is
worked out here from SPEC.md 1b alone: ``json`` says what the frame is (type, code,
whatever its layout or escapes), and :func:`raw_member` slices the array or the
number out of the frame's own bytes (the simulator's scanner, :mod:`..jsontext`),
keeping the exchange's spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..jsontext import members

__all__ = ["expected_line", "raw_member"]


def raw_member(buf: bytes, wanted: str) -> bytes | None:
    """The bytes of the value of top-level key ``wanted`` of the object ``buf``, as sent.

    Keys are compared decoded (``"\\u0074ype"`` is ``type``)."""
    return next((value for key, _, value in members(buf) if key == wanted), None)


def expected_line(payload: bytes, subscribed: Mapping[str, Any] | None = None) -> bytes | None:
    """The SPEC 1b line of a Bithumb frame, or None when it is not market data of the
    subscription (``{"bithumb_codes": [...]}``; None: any code)."""
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    kind = message.get("type", message.get("ty"))
    code = message.get("code", message.get("cd"))
    if kind not in ("orderbook", "trade") or not isinstance(code, str) or "-" not in code:
        return None
    codes: Iterable[str] | None = (subscribed or {}).get("bithumb_codes")
    if codes is not None and code not in {c.split(".")[0] for c in codes}:
        return None
    quote, base = code.lower().split("-", 1)
    key = f"bithumb:{base}{quote}@{kind}".encode()
    short = "ty" in message
    if kind == "orderbook":
        units = raw_member(payload, "obu" if short else "orderbook_units")
        return None if units is None else key + b"," + units + b"\n"
    price = raw_member(payload, "tp" if short else "trade_price")
    volume = raw_member(payload, "tv" if short else "trade_volume")
    if price is None or volume is None:
        return None
    return key + b", p:" + price.strip(b'"') + b",q:" + volume.strip(b'"') + b"\n"
