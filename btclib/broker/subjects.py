"""Where each line goes on the broker: ``btclib.<exchange>.<market>.<kind>``.

Why subjects by market and kind: a NATS subject is what consumers filter on
(``btclib.binance.>``, ``btclib.*.btcusdt.trade``), what JetStream keeps order by, and
what the ``nats`` CLI shows; so a line's subject is read from its own key (the part
before the first ``,``: ``btcusdt@trade``), with no parsing of the data. Which exchange
a key belongs to comes from the recorder's feeds (each knows its streams); a key the
feeds did not name is asked of the exchange modules once (``read_line``), and a prefixed
key (``bithumb:btckrw@orderbook``, SPEC 1b) names its exchange itself. Events-log
records go on ``btclib.events.<exchange>`` (``btclib.events.recorder`` for the run's own:
start, stop, the broker's outages).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .. import exchanges

__all__ = [
    "DATA_SUBJECTS",
    "EVENTS_PREFIX",
    "PREFIX",
    "RUN_EVENTS",
    "STREAM_SUBJECTS",
    "Router",
    "data_subject",
    "event_subject",
]

PREFIX = "btclib"
DATA_SUBJECTS = f"{PREFIX}.*.*.*"
"""Every data line (four tokens; events have three): ``consume``'s default filter."""
EVENTS_PREFIX = f"{PREFIX}.events"
RUN_EVENTS = "recorder"
"""The events token for records that belong to no exchange (start, stop, broker)."""
STREAM_SUBJECTS = [f"{PREFIX}.>"]
"""What the stream holds: lines and events."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _token(text: str) -> str:
    """A subject token: NATS forbids ``.``, ``*``, ``>`` and spaces in one."""
    return _UNSAFE.sub("_", text) or "_"


def data_subject(exchange: str, key: str) -> str:
    """``btclib.binance.btcusdt.trade`` from ``binance`` and ``btcusdt@trade``."""
    market, _, kind = key.rpartition(":")[2].partition("@")
    return f"{PREFIX}.{_token(exchange)}.{_token(market)}.{_token(kind or 'line')}"


def event_subject(exchange: str | None) -> str:
    return f"{EVENTS_PREFIX}.{_token(exchange or RUN_EVENTS)}"


class Router:
    """line -> subject, one dictionary look-up per line once a key has been seen.

    ``routes``: line key -> exchange, from the feeds (``{stream: feed.exchange}``).
    """

    def __init__(self, routes: Mapping[str, str] | None = None) -> None:
        self._routes = dict(routes or {})
        self._subjects: dict[bytes, str] = {}

    def __call__(self, line: bytes) -> str:
        end = line.find(b",")
        key = line[: end if end >= 0 else len(line) - 1]
        subject = self._subjects.get(key)
        if subject is None:
            subject = self._subjects[key] = self._learn(key.decode("utf-8", "replace"), line)
        return subject

    def _learn(self, key: str, line: bytes) -> str:
        exchange = self._routes.get(key)
        if exchange is None and ":" in key.partition("@")[0]:
            exchange = key.partition(":")[0]
        if exchange is None:
            for name, module in exchanges.EXCHANGES.items():
                try:
                    if module.read_line(line) is not None:
                        exchange = name
                        break
                except ValueError:
                    continue
        return data_subject(exchange or "unknown", key)
