"""The line a recorder must write for a frame the simulator sent, computed without btclib.

Tests and the fault soak compare the recorder's data file with what the
simulator sent; if the expected line came from the recorder's own parsers, a
parser bug would hide behind itself. So each simulated exchange's package computes
it from the SPEC line format alone (its ``expected`` module), slicing each value out
of the frame's bytes with the simulator's own scanner (:mod:`.jsontext`): any valid
JSON layout (key order, whitespace, escapes), arrays and numbers in the exchange's
spelling. For the assignment's exchanges it gives every record of the real-frames
corpus (``shared/realframes/frames.jsonl``) its expected line
(``tests/simulator/test_expected.py``). This module names no exchange: it asks the
registry.

:func:`message_key` says which frames carry the same message: during a
make-before-break rotation two Binance connections send the same trade (same
id) and the same book (same ``lastUpdateId``), which belongs in the file
once. An exchange whose messages carry no id (Upbit) has each frame as its own message.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from . import registry
from .link import SentFrame

__all__ = ["expected_line", "line_for", "message_key"]


def _payload(frame: SentFrame) -> bytes:
    return frame.payload if isinstance(frame.payload, bytes) else frame.payload.encode()


def line_for(
    exchange: str, payload: bytes | str, subscribed: Mapping[str, Any] | None = None
) -> bytes | None:
    """The SPEC line a frame must give, or None when it is not market data for this
    subscription (or not market data at all).

    ``subscribed`` says what was asked for, as the real-frames corpus does (Binance
    ``{"symbol", "depth_speed"}``, Upbit ``{"codes"}``); None accepts any market the
    frame names.
    """
    raw = payload if isinstance(payload, bytes) else payload.encode()
    return registry.expected_line(exchange, raw, subscribed)


def expected_line(frame: SentFrame) -> bytes:
    """The SPEC line for one data frame the simulator sent."""
    line = line_for(frame.exchange, frame.payload)
    assert line is not None, f"not a data frame: {frame.payload!r:.200}"
    return line


def message_key(frame: SentFrame, n: int) -> Hashable:
    """What identifies the message of a data frame across connections.

    A numbered message (Binance: its stream and id) by its exchange's ``message_id``;
    otherwise the frame itself (``n``: its position in the simulator's send order).
    """
    key = registry.message_id(frame.exchange, _payload(frame))
    if key is not None:
        return (frame.exchange, *key)  # (exchange, stream, id): the soak reads trade ids so
    return (frame.exchange, frame.conn_id, n)
