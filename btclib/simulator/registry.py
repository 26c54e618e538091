"""The simulated exchanges, by the same names as :mod:`btclib.exchanges`' registry.

The server loops over :data:`EXCHANGES` and names no exchange itself: it asks
each module whether it serves a request path, which link class to open, which
body goes with a refused handshake and how a client reaches it. Adding an
exchange to the simulator means one package beside :mod:`.binance` and
:mod:`.upbit` and one line here.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, Protocol

from ..arguments import Option
from . import binance, bithumb, upbit
from .link import Link
from .market import Instrument, MarketParams

__all__ = [
    "EXCHANGES",
    "SimExchange",
    "added_books",
    "connect_limit",
    "expected_line",
    "message_id",
]


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

    def expected_line(
        self, payload: bytes, subscribed: Mapping[str, Any] | None = None
    ) -> bytes | None:
        """The line a recorder must write for one of its frames (None: no market data of
        that subscription), computed from SPEC alone, without btclib's parsers."""
        ...

    # Optional (see the functions below): ``books(params)``, the books it adds to the
    # shared market; ``connect_limit(settings)``, the handshakes it accepts per window
    # before answering 429; ``message_id(payload)``, what names a message across
    # connections when the exchange numbers its messages (else each frame is its own).


#: Name -> simulated exchange, in routing order.
EXCHANGES: dict[str, SimExchange] = {
    binance.NAME: binance,
    upbit.NAME: upbit,
    bithumb.NAME: bithumb,
}


def added_books(params: MarketParams) -> tuple[Instrument, ...]:
    """The books exchange packages add to the default market (their ``books(params)``),
    stepped with the default books on the same underlying walk: a second KRW venue shows
    the premium the first does, each with its own noise."""
    return tuple(
        book
        for exchange in EXCHANGES.values()
        if hasattr(exchange, "books")
        for book in exchange.books(params)
    )


def connect_limit(name: str, settings: Mapping[str, Any]) -> tuple[int, float] | None:
    """At most how many handshakes exchange ``name`` accepts per window ``(count, seconds)``
    before refusing with 429 (its package's ``connect_limit(settings)``); None when none
    is simulated. ``settings``: :attr:`~btclib.simulator.SimConfig.settings`."""
    exchange = EXCHANGES[name]
    if not hasattr(exchange, "connect_limit"):
        return None
    limit: tuple[int, float] | None = exchange.connect_limit(settings)
    return limit


def expected_line(
    name: str, payload: bytes, subscribed: Mapping[str, Any] | None = None
) -> bytes | None:
    """The line exchange ``name``'s package says one of its frames must give (None for a
    frame that is not market data); ``ValueError`` naming an exchange it does not know."""
    exchange = EXCHANGES.get(name)
    if exchange is None:
        known = ", ".join(EXCHANGES)
        raise ValueError(f"no simulated exchange {name!r} (known: {known})")
    return exchange.expected_line(payload, subscribed)


def message_id(name: str, payload: bytes) -> tuple[Hashable, ...] | None:
    """What names a message of exchange ``name`` across connections (its package's
    ``message_id``: its stream and id), or None when the exchange does not number its
    messages."""
    exchange = EXCHANGES[name]
    if not hasattr(exchange, "message_id"):
        return None
    key: tuple[Hashable, ...] = exchange.message_id(payload)
    return key
