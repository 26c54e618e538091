"""The exchanges btclib records: one module each, found through this small registry.

Everything btclib knows about an exchange sits in its module: where to
connect, what to ask for, how each frame becomes a line (the recorder's hot
path), how a line and a frame read back as numbers (analysis), what kind of
frame a frame is (the simulator's replay). :mod:`btclib.steps.sources`,
:mod:`btclib.steps` and :mod:`btclib.cli` loop over :data:`EXCHANGES` and name
no exchange.

Adding an exchange means three things: its module here, with every name of
:class:`Exchange` (copy ``upbit.py``'s layout: constants and ``LIMITS``, checks,
request or URL, ``Parser`` with its fast path, ``feed``/``make_feed``, ``read_line``,
``read_frame``, ``classify``); its simulator module (:mod:`btclib.simulator`);
and one line in :data:`EXCHANGES`. Its ``OPTIONS`` become keywords of
:func:`btclib.record` and options of ``python -m btclib record``, its
URL override the keyword ``<name>_url``, the option ``--<name>-url`` and the
variable ``URL_ENV``; the steps gain ``<name>`` (the exchange alone), and a
run of several names it (``binance,upbit,<name>``, one file): ``both`` stays
the assignment's exchanges (:data:`ASSIGNMENT`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from ..arguments import Option, websocket_url
from ..feed import Feed, Limits
from . import binance, bithumb, markets, upbit
from .records import Book, FrameKind, Number, Record, Trade

__all__ = [
    "ASSIGNMENT",
    "EXCHANGES",
    "PREFIX",
    "Book",
    "Exchange",
    "FrameKind",
    "Option",
    "Record",
    "Trade",
    "binance",
    "bithumb",
    "get",
    "markets",
    "options",
    "read_line",
    "upbit",
    "url_keyword",
]


class Exchange(Protocol):
    """The public shape of every exchange module (the modules are the implementations)."""

    NAME: str
    """Lower case, as in file names, captures and events: ``binance``."""
    TITLE: str
    """As people write it: ``Binance``."""
    LIVE_URL: str
    """The live endpoint the recorder uses unless told otherwise (Binance: a base URL)."""
    URL_ENV: str
    """The environment variable that overrides :attr:`LIVE_URL`: ``BTCLIB_<NAME>_URL``."""
    URL_HELP: str
    """What the URL is, for ``--<name>-url``'s help."""
    DEFAULT_MARKETS: tuple[str, ...]
    """The markets recorded when none are named (``btcusdt``; ``KRW-BTC``)."""
    MARKETS_OPTION: str
    """The option naming the markets (``symbol``; ``codes``): one, several, or ``all``."""
    LISTING_URL: str
    """The live listing ``all`` is read from (a REST URL: ``https://api...``)."""
    LISTING_PATH: str
    """The listing's path, which the simulator serves on its port too."""
    LIMITS: Limits
    """What the exchange allows and how its server treats a connection (connect budget,
    streams per connection, lifetime, stall limit...), written once: its feeds are built
    from them (:class:`~btclib.feed.Limits`)."""
    OPTIONS: tuple[Option, ...]
    """The settings :meth:`make_feed` takes besides the URL, with defaults and CLI spellings
    (:class:`btclib.arguments.Option`, the one option type)."""
    STATUS_HINTS: dict[int, str]
    """What a refused handshake's HTTP status means on this exchange."""
    Parser: Callable[..., Callable[[bytes], Any]]
    """frame -> line: ``Parser(markets...)(frame)`` gives a ``Data`` or a ``Notice``;
    its ``parse`` attribute is the recorder's hot path (plain tuples)."""

    def check_market(self, market: str) -> str:
        """The market name as the exchange wants it, or ``ValueError`` naming the problem."""
        ...

    def currencies(self, market: str) -> tuple[str, str] | None:
        """(base, quote) of a market as :attr:`Book.market` spells it, if known."""
        ...

    def parse_listing(self, body: bytes | str) -> list[str]:
        """The markets of a listing answer, as :attr:`MARKETS_OPTION` takes them;
        :class:`~btclib.exchanges.markets.ListingError` when it is not one."""
        ...

    def feed(self, *args: Any, **kwargs: Any) -> Feed:
        """The recorder's feed, with the module's own arguments (see each module)."""
        ...

    def make_feed(
        self, url: str, settings: Mapping[str, Any], stall_after: float | None = None
    ) -> Feed:
        """:meth:`feed` from an endpoint (live or simulator) and every option's value by name.
        Its ``url`` is what the recorder opens and what ``source="auto"`` probes."""
        ...

    def make_feeds(
        self, url: str, settings: Mapping[str, Any], stall_after: float | None = None
    ) -> list[Feed]:
        """Every market of ``settings`` over as few connections as the exchange allows,
        one :class:`Feed` each (the recorder supervises each on its own)."""
        ...

    def read_line(self, line: bytes | str, number: Number = float) -> Record | None:
        """line -> record: a line of this exchange read back, numbers made by ``number``."""
        ...

    def read_frame(self, frame: bytes | str, number: Number = float) -> Record | None:
        """frame -> record: the market data of a frame of any market, else ``None``."""
        ...

    def classify(self, frame: bytes) -> FrameKind:
        """What a frame is, by the parser's rules, whatever was subscribed."""
        ...


EXCHANGES: Mapping[str, Exchange] = {module.NAME: module for module in (binance, upbit, bithumb)}
"""Every exchange by name, in the order steps, files and summaries use."""

ASSIGNMENT: tuple[str, ...] = (binance.NAME, upbit.NAME)
"""The exchanges the assignment names: its Step C (``both``) records them, no more.
An exchange added later gets its own step and joins a run of several only when named
(``binance,upbit,<name>``); its lines carry its name (SPEC section 1b)."""

PREFIX = ":"
"""What ends the exchange name at the head of a line of an exchange beyond the
assignment's (``bithumb:btckrw@orderbook,...``, SPEC section 1b)."""


def get(name: str) -> Exchange:
    """The module of exchange ``name``; ``ValueError`` names the known ones."""
    try:
        return EXCHANGES[name]
    except KeyError:
        known = ", ".join(EXCHANGES)
        raise ValueError(f"unknown exchange {name!r}: expected one of {known}") from None


def url_keyword(name: str) -> str:
    """The keyword and option destination that overrides an exchange's URL: ``binance_url``."""
    return f"{name}_url"


def options() -> Iterator[Option]:
    """Every exchange's options, each followed by its URL override (default: not given)."""
    for name, module in EXCHANGES.items():
        yield from module.OPTIONS
        yield Option(
            url_keyword(name),
            f"--{name}-url",
            None,
            f"{module.URL_HELP} (env {module.URL_ENV})",
            type=websocket_url,
        )


def read_line(line: bytes | str, number: Number = float) -> Record | None:
    """A line of any exchange read back, or ``None`` if no exchange writes such a line.

    A line headed ``<name>:`` belongs to that exchange alone (SPEC section 1b: two
    venues' ``btckrw@orderbook`` must never be mixed up); an unprefixed line is asked
    of the assignment's exchanges, whose lines carry no prefix.
    """
    head = bytes(line[:32]).decode("utf-8", "replace") if not isinstance(line, str) else line[:32]
    name, sep, _ = head.partition(PREFIX)
    module = EXCHANGES.get(name) if sep and "@" not in name else None
    if module is not None:
        return module.read_line(line, number)
    for module in (EXCHANGES[name] for name in ASSIGNMENT):
        record = module.read_line(line, number)
        if record is not None:
            return record
    return None
