"""What a line or a frame reads back as, the same for every exchange.

The recorder never parses a number: it copies bytes. Analysis does parse
them, and this is the one place where it happens: each exchange module's
``read_line`` (a line of a data file, SPEC section 1) and ``read_frame`` (a
frame as the exchange sent it) give a :class:`Book` or a :class:`Trade` whose
numbers come from ``number``, a function of the number's text. ``float``
is what analysis wants; ``decimal.Decimal`` keeps every digit, so a test can
prove that a line reads back exactly the numbers of its frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ..errors import ExchangeError
from ..feed import Answer, Line, Notice

__all__ = [
    "UNREADABLE",
    "Book",
    "FrameFacts",
    "FrameKind",
    "Number",
    "Record",
    "Trade",
    "epoch_seconds",
    "frame_kind",
    "levels",
    "value",
]

N = TypeVar("N")

Number = Callable[[str], Any]
"""Turns a number's text (``"0.0024"``, ``"1.16539E8"``) into a number: ``float``, ``Decimal``."""

FrameKind = Literal["data", Answer, "error", "malformed"]
"""What a frame is, whatever was subscribed: market data (of any market or
stream), a reply to a request, a status message, a shutdown notice, an error
message from the exchange, or not the JSON object an exchange sends."""


@dataclass(frozen=True)
class Book(Generic[N]):
    """One order-book snapshot as sent: every (price, size) level, best first.

    ``market`` is spelled as the exchange spells it (``BTCUSDT``, ``KRW-BTC``);
    empty when the frame does not say (Binance's raw depth payload). Upbit's
    0-price padding of a thin side is kept: a reader drops it if it wants.
    """

    exchange: str
    market: str
    bids: tuple[tuple[N, N], ...]
    asks: tuple[tuple[N, N], ...]


@dataclass(frozen=True)
class Trade(Generic[N]):
    """One trade: price and size (base currency)."""

    exchange: str
    market: str
    price: N
    size: N


Record = Book[Any] | Trade[Any]


@dataclass(frozen=True, slots=True)
class FrameFacts:
    """What a data frame says about itself, for the quality check (:mod:`btclib.quality`).

    ``stream`` is the key its line starts with (``btcusdt@trade``); ``seq`` the
    number that identifies it in its stream (Binance trade id or ``lastUpdateId``;
    ``None`` where none is sent); ``sent`` the exchange's own time of the message,
    seconds since the epoch (``None`` where the frame carries none: Binance depth5).
    """

    stream: str
    seq: int | None
    sent: float | None
    contiguous: bool = False
    """Each ``seq`` is the one before plus one (trade ids): a jump is a hole."""


def epoch_seconds(stamp: object) -> float | None:
    """An exchange time stamp in milliseconds or microseconds, as seconds since the epoch.

    Both exchanges send milliseconds; microseconds (Binance's ``timeUnit``, Upbit on
    some markets in 2023) are told apart by size: after 2001, 13 digits vs 16.
    """
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp <= 0:
        return None
    return stamp / 1e6 if stamp >= 10**14 else stamp / 1e3


UNREADABLE = (ValueError, TypeError, IndexError, KeyError, AttributeError, ArithmeticError)
"""What reading a line or frame of the wrong shape may raise (``decimal.InvalidOperation``
is an ``ArithmeticError``): the readers answer ``None`` instead."""


def value(raw: object, number: Number) -> Any:
    """A number from JSON: a string (Binance's ``"0.0024"``) goes through ``number``;
    anything else was already made by ``json.loads(..., parse_float=number, parse_int=number)``."""
    return number(raw) if isinstance(raw, str) else raw


def levels(pairs: Iterable[Any], number: Number) -> tuple[tuple[Any, Any], ...]:
    """``[[price, size], ...]`` as a tuple of number pairs."""
    return tuple((value(pair[0], number), value(pair[1], number)) for pair in pairs)


def frame_kind(parse: Callable[[bytes], Line | Notice], frame: bytes) -> FrameKind:
    """What ``frame`` is, by the rules of an exchange's own parse function.

    For a reader that subscribed to everything: data, and a notice that the
    frame is data of a stream or market not subscribed (``unexpected``), are
    both market data; the exchange's error message (which the parser raises)
    is ``error``.
    """
    try:
        parsed = parse(frame)
    except ExchangeError:
        return "error"
    if not isinstance(parsed, Notice) or parsed.kind == "unexpected":
        return "data"
    kind = parsed.kind
    if kind == "reply" or kind == "status" or kind == "shutdown":  # an Answer: its own name
        return kind
    return "malformed"
