"""What a session of the quotation family answers (:mod:`btclib.simulator.quotation`):
its reply to one client message and the status frame. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["STATUS_UP", "Reply"]

STATUS_UP = '{"status":"UP"}'
"""The answer to a text ``PING``, repeated while the connection lasts."""


@dataclass
class Reply:
    """What the server must do after one client message."""

    #: Market data frames (snapshots) as ``(type, text)``, recorded as data.
    data: list[tuple[str, str]] = field(default_factory=list)
    #: Other frames: an error, a subscription list, ``{"status":"UP"}``.
    control: list[str] = field(default_factory=list)
    #: An error was answered: close the connection (code 1000) shortly.
    close: bool = False
    #: The client sent text ``PING``: keep sending status UP.
    ping: bool = False
    #: A valid subscription request was received.
    subscribed: bool = False
