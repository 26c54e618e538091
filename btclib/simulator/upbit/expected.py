"""The line a recorder must write for an Upbit frame, computed without btclib's parser.

Sliced out of the frame's own bytes (:mod:`..jsontext`), in any valid JSON layout and in
the DEFAULT or SIMPLE key set, by SPEC section 1 alone: an orderbook gives
``<base><quote>@orderbook,<orderbook_units>`` with the array as sent (``2.2855E7`` stays
``2.2855E7``). Upbit messages carry no id: each frame is its own message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..jsontext import members, string

__all__ = ["expected_line"]


def expected_line(payload: bytes, subscribed: Mapping[str, Any] | None = None) -> bytes | None:
    """The SPEC line of an Upbit frame, or None when it is not an orderbook of the
    subscription (``{"codes": [...]}``, a code may carry its ``.N`` depth; None: any)."""
    top = dict((key, value) for key, _, value in members(payload))
    kind = string(top.get("type", top.get("ty")))
    code = string(top.get("code", top.get("cd")))
    units = top.get("orderbook_units", top.get("obu"))
    if kind != "orderbook" or code is None or units is None or "-" not in code:
        return None
    codes = (subscribed or {}).get("codes")
    if codes is not None and code not in {c.split(".")[0] for c in codes}:
        return None  # a market this subscription never asked for
    quote, base = code.lower().split("-", 1)
    return (base + quote).encode() + b"@orderbook," + units + b"\n"
