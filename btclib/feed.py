"""What an exchange module hands to the recorder, and what its parser returns.

The recorder knows no exchange. Each exchange module (:mod:`btclib.exchanges`)
describes one subscription as a :class:`Feed`: where to connect, what to send
after connecting, how to keep the socket alive and a pure parser that turns
one received frame into either a :class:`Data` line or a :class:`Notice`. Data
flows one way: frame -> parser -> sink. What the exchange allows and how its
server behaves (connections per window, streams per connection, lifetime,
stall limits) the module writes once, as its :class:`Limits` (``LIMITS``);
its feeds are built from them.

The parsers are Sans-I/O: they take ``bytes`` exactly as the WebSocket
delivered them and never touch a socket or a file, so they are tested with
captured frames alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from .errors import ExchangeError

__all__ = [
    "MAX_FRAME_BYTES",
    "Answer",
    "Data",
    "ExchangeError",
    "Feed",
    "Limits",
    "Line",
    "Notice",
    "NoticeKind",
    "Parsed",
    "Parser",
    "excerpt",
    "load_object",
]


class Data(NamedTuple):
    """One market-data message, already formatted as the line the file gets.

    ``stream`` is the line's key (``btcusdt@trade``); ``seq`` a number that
    identifies the message within its stream (Binance trade id or
    ``lastUpdateId``) or ``None`` where the exchange sends none; ``line`` the
    bytes to append, ending with ``\\n``.
    """

    stream: str
    seq: int | None
    line: bytes


Answer = Literal["reply", "status", "shutdown"]
"""The notices a server sends on purpose; :data:`~btclib.exchanges.FrameKind` (what a
frame is, for a replay) takes these names unchanged."""

NoticeKind = Literal[Answer, "unexpected", "malformed"]
"""What a :class:`Notice` is (see there)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A frame that is not market data: logged and counted, never written.

    ``kind`` is one of:

    - ``reply``: an answer to a request (``{"result":null,"id":1}``);
    - ``status``: a keep-alive answer (Upbit ``{"status":"UP"}``);
    - ``shutdown``: the server announced it will close soon (Binance
      ``serverShutdown``): the recorder opens a new connection at once;
    - ``unexpected``: data of a stream nobody asked for;
    - ``malformed``: not the JSON the exchange documents.
    """

    kind: NoticeKind
    detail: str


Parsed = Data | Notice
"""What an exchange's ``Parser`` object gives its callers."""

Line = tuple[str, int | None, bytes]
""":class:`Data`'s three fields as a plain tuple: what a feed's parse function may
return on the recorder's hot path, where building the NamedTuple would cost 0.1 us
a frame (a fifth of the parse). The recorder only unpacks it; a Data is one too."""

Parser = Callable[[bytes], Line | Notice]

MAX_FRAME_BYTES = 1 << 22
"""The largest WebSocket message the recorder accepts (4 MiB; a 30-level Upbit book is
under 3 kB): websockets' ``max_size``, and the bound for reading captures back."""


def load_object(frame: bytes) -> dict[str, Any] | Notice:
    """The JSON object a frame holds, or a ``malformed`` notice saying why not.

    The parsers' general paths start here; their fast paths never parse.
    """
    try:
        message = json.loads(frame)
    except ValueError as exc:
        return Notice("malformed", f"not valid JSON ({exc}): {excerpt(frame)}")
    if not isinstance(message, dict):
        return Notice("malformed", f"not a JSON object: {excerpt(frame)}")
    return message


def excerpt(frame: bytes, limit: int = 120) -> str:
    """A short, printable piece of a frame for logs and error messages."""
    text = frame[:limit].decode("utf-8", "replace")
    text = text.encode("unicode_escape").decode("ascii")
    return text + ("..." if len(frame) > limit else "")


@dataclass(frozen=True)
class Limits:
    """What one exchange allows a client, and how its server treats a connection.

    Each exchange module writes its own once (``LIMITS``, from its documentation:
    protocols.md); its feeds are built from them, the tests pin them, and the C++
    twin is checked against them (/work/tools/CONTRACT.md lists every number). A
    :class:`Feed` carries the values of one connection, derived from these.
    """

    connect_budget: int
    """Connection attempts allowed per :attr:`connect_window` from one IP, all of the
    exchange's connections together (going over gets the IP refused, then banned)."""
    connect_window: float
    """Seconds over which :attr:`connect_budget` counts."""
    streams_per_connection: int
    """Streams (Binance) or market codes (Upbit) one connection carries at most."""
    subscribe_budget: int
    """Subscription messages sent on one connection, all right after connecting."""
    url_budget: int | None
    """Characters of stream names put in the URL (the rest go in subscription
    messages); ``None``: the URL names no stream."""
    lifetime: float | None
    """Seconds after which the server cuts every connection (``None``: it does not)."""
    first_data_within: float
    """Seconds after connecting by which the first data must have come."""
    stall_after: float
    """Seconds of silence of a watched stream after which its connection is dead."""
    keepalive: float | None
    """Seconds between the client's pings (``None``: the server pings, the client
    only answers)."""

    def connect_limit(self, connections: int = 1) -> tuple[int, float]:
        """The budget of one of ``connections`` connections (count, window): each gets its
        part, so together they stay within :attr:`connect_budget` (at least one attempt)."""
        return max(1, self.connect_budget // connections), self.connect_window


@dataclass(frozen=True)
class Feed:
    """One subscription on one WebSocket connection, as the recorder runs it.

    Attributes:
        exchange: name used in logs, the events log and summaries.
        url: the WebSocket URL to connect to.
        requests: messages sent right after connecting (``str`` as text
            frames, ``bytes`` as binary frames).
        parser: pure function from one received frame to a :data:`Line`
            (or :class:`Data`) or a :class:`Notice`.
        streams: the line keys this feed produces, in a stable order.
        stall_after: per line key, seconds of silence after which the
            connection is considered dead and replaced (missing key: never).
        contiguous: line keys whose ``seq`` must grow by exactly one
            (Binance trade ids): a jump is a gap of known size.
        ping_interval: seconds between client pings; ``None`` sends none
            (Binance counts every client frame against 5 per second).
        lifetime: seconds after which the server cuts the connection (Binance:
            24 h); the recorder replaces it a little before, overlapping.
        connect_limit: at most this many connection attempts per window
            (count, seconds), this connection's part of what the exchange
            allows per IP (:meth:`Limits.connect_limit`); ``None``: no limit
            (a test server).
        first_data_within: seconds after connecting by which some data must
            have come (the exchange sends a first message at once); a
            connection that stays silent that long is replaced.
        silence_hint: what it means when connection after connection stays
            silent from the start (both exchanges answer unknown symbols with
            silence, not an error); the run then stops with this sentence.
        status_hints: per HTTP status of a refused handshake, a sentence
            telling the user what it means and what to do.
        title: the exchange's name as people write it (the module's
            ``TITLE``: ``Binance``), for error messages; empty: ``exchange``.
    """

    exchange: str
    url: str
    requests: tuple[str | bytes, ...]
    parser: Parser
    streams: tuple[str, ...]
    stall_after: Mapping[str, float] = field(default_factory=dict)
    contiguous: frozenset[str] = frozenset()
    ping_interval: float | None = 20.0
    """websockets' own default; each exchange sets its own (:attr:`Limits.keepalive`)."""
    lifetime: float | None = None
    connect_limit: tuple[int, float] | None = None
    first_data_within: float | None = None
    silence_hint: str = ""
    status_hints: Mapping[int, str] = field(default_factory=dict)
    title: str = ""
