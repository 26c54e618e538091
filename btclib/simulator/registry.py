"""The simulated exchanges, by the same names as :mod:`btclib.exchanges`' registry.

The server loops over :data:`EXCHANGES` and names no exchange itself: it asks
each module whether it serves a request path, which link class to open, which
body goes with a refused handshake and how a client reaches it. Adding an
exchange to the simulator means one package beside :mod:`.binance` and
:mod:`.upbit` and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..arguments import Option
from . import binance, upbit
from .link import Link

__all__ = ["EXCHANGES", "SimExchange"]


class SimExchange(Protocol):
    """What the server needs from a simulated exchange's package."""

    #: Registry name, as in :mod:`btclib.exchanges`.
    NAME: str
    #: HTTP status -> the body the exchange refuses a handshake with.
    REFUSAL_BODIES: Mapping[int, str]
    #: The link class opened for each connection routed here.
    Link: type[Link]
    #: Its settings on the ``simulate`` command line (SimConfig fields).
    OPTIONS: tuple[Option, ...]
    #: Path of its market listing, answered as plain HTTP on the simulator's port.
    LISTING_PATH: str

    def listing(self, symbols: list[str], now_ms: int) -> str:
        """The listing's JSON body naming ``symbols`` (exchange spelling), as the exchange
        answers it."""
        ...

    def serves(self, path: str) -> bool:
        """Whether a request path belongs to this exchange."""
        ...

    def url(self, base: str) -> str:
        """The URL a client uses in place of the live one, from ``ws://host:port``."""
        ...

    def banner(self, url: str) -> list[str]:
        """How to connect with wscat, for humans."""
        ...


#: Name -> simulated exchange, in routing order.
EXCHANGES: dict[str, SimExchange] = {
    binance.NAME: binance,
    upbit.NAME: upbit,
}
