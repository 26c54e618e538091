"""``--partition K/N``: a stable share of the markets for each of N recorders.

Why a hash of the market's name and not a split of the listing into N ranges: the
listings change (a market is listed, another delisted) and a range split would move
most markets to another partition each time; a market's hash never changes, so only
the markets listed or delisted move. The hash is CRC-32 of the name as the exchange
spells it (``BTCUSDT`` and ``btcusdt`` are one market: upper-cased first), which is the
same on every machine and every Python (``hash()`` is salted per process).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from .. import exchanges
from ..exchanges.markets import wants_all

__all__ = ["Partition", "parse_partition"]


class Partition:
    """Partition ``k`` of ``n`` (1-based, as the command line writes it)."""

    def __init__(self, k: int, n: int) -> None:
        if not 1 <= k <= n:
            raise ValueError(f"partition {k}/{n}: K must be between 1 and N")
        self.k, self.n = k, n

    def __repr__(self) -> str:
        return f"{self.k}/{self.n}"

    def owns(self, market: str) -> bool:
        """Whether ``market`` is this partition's."""
        return zlib.crc32(market.upper().encode()) % self.n == self.k - 1

    def share(self, markets: Sequence[str]) -> list[str]:
        return [m for m in markets if self.owns(m)]

    def settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """``settings`` (``all`` already resolved into lists) with each exchange's markets
        cut to this partition's share. A share left empty is a ``ValueError`` saying so
        (fewer partitions, or more markets, is the way out)."""
        out = dict(settings)
        for module in exchanges.EXCHANGES.values():
            value = settings.get(module.MARKETS_OPTION)
            if value is None or wants_all(value):
                continue
            markets = [value] if isinstance(value, str) else list(value)
            share = self.share(markets)
            if markets and not share:
                raise ValueError(
                    f"partition {self} holds none of the {len(markets)} {module.TITLE} "
                    f"market(s) asked: use fewer partitions, or name more markets"
                )
            out[module.MARKETS_OPTION] = share
        return out


def parse_partition(text: str) -> Partition:
    """``"2/4"`` -> :class:`Partition`; ``ValueError`` in plain words otherwise."""
    k, sep, n = text.partition("/")
    try:
        if not sep:
            raise ValueError
        kk, nn = int(k), int(n)
    except ValueError:
        raise ValueError(f"{text!r} is not K/N (for example 1/4)") from None
    if nn < 1:
        raise ValueError(f"{text!r}: N must be 1 or more")
    return Partition(kk, nn)
