"""The rules a broken frame of the quotation family follows; which frames a venue
breaks, and how, is its own (its ``malformed.py``). Pure: no I/O."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["foreign_code", "without_units"]

_UNITS = re.compile(r',"(orderbook_units|obu)":\[[^]]*\]')
"""A book's units (DEFAULT or SIMPLE name)."""
_FOREIGN = ("KRW-ETH", "KRW-USDT", "KRW-BTC")
"""The codes a frame of a stream not subscribed is taken from, the first not wanted."""


def foreign_code(request: Any) -> str:
    """A market code ``request`` (its ``subscriptions``, each with ``codes`` as
    ``(code, units)``; None: nothing subscribed) did not ask for."""
    wanted = {code for sub in (request.subscriptions if request else ()) for code, _ in sub.codes}
    return next(c for c in _FOREIGN if c not in wanted)


def without_units(text: str) -> str:
    """An orderbook frame with its units array cut out (a book without bids)."""
    return _UNITS.sub("", text)
