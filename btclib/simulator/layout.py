"""Data frames laid out now and then as valid JSON allows, but not as the exchanges do.

Why: the recorders' parsers have a fast path for the exchanges' own compact layout and a
general path for anything else (btclib's ``exchanges.rawjson``, btcrec's ``general``).
The real exchanges always send the compact layout, so without this the general path would
only ever meet unit tests, never a recording. Now and then (``SimConfig.layout_rate``, on
by default at a low rate) a data frame is sent with one of:

- ``reordered``: its members in reverse order (Binance's ``data`` before ``stream``);
- ``nested``: the members of its inner objects reversed (a trade's ``"E"`` before ``"e"``);
- ``spaced``: a space after every colon and comma between members;
- ``escaped``: one letter of a word value spelled as a ``\\u00XX`` escape
  (``"tr\\u0061de"``).

Arrays are copied untouched and no number is re-spelled, so the line a recorder must write
is the same as for the compact frame (:mod:`.expected` computes it from the bytes sent).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .jsontext import Member, members

__all__ = ["VARIANTS", "Layout", "relayout"]

VARIANTS = ("reordered", "nested", "spaced", "escaped")


def _build(items: list[Member], colon: bytes, comma: bytes) -> bytes:
    inner = comma.join(raw_key + colon + value for _, raw_key, value in items)
    return b"{" + inner + b"}"


def _reverse_nested(buf: bytes) -> bytes:
    items = [
        (key, raw, _build(members(value)[::-1], b":", b",") if value[:1] == b"{" else value)
        for key, raw, value in members(buf)
    ]
    return _build(items, b":", b",")


def _spaced(buf: bytes) -> bytes:
    items = [(k, raw, _spaced(v) if v[:1] == b"{" else v) for k, raw, v in members(buf)]
    return _build(items, b": ", b", ")


def _word(value: bytes) -> bool:
    """A string value made of letters (a type or event name, a stream or market code)."""
    text = value[1:-1]
    return (
        len(value) > 2
        and value[:1] == b'"'
        and b"\\" not in text
        and any(65 <= c <= 90 or 97 <= c <= 122 for c in text)
        and not any(48 <= c <= 57 or c == 0x2E for c in text)  # no digits: not a number
    )


def _escaped(buf: bytes, pick: Callable[[int], int]) -> bytes:
    items = members(buf)
    words = [i for i, (_, _, value) in enumerate(items) if _word(value)]
    if not words:
        return buf
    i = words[pick(len(words))]
    key, raw, value = items[i]
    at = next(j for j, c in enumerate(value) if 65 <= c <= 90 or 97 <= c <= 122)
    escape = b"\\u%04x" % value[at]
    items[i] = (key, raw, value[:at] + escape + value[at + 1 :])
    return _build(items, b":", b",")


def relayout(payload: bytes, variant: str, pick: Callable[[int], int] = lambda n: 0) -> bytes:
    """``payload`` (a JSON object) laid out as ``variant`` says; the same values."""
    if variant == "reordered":
        return _build(members(payload)[::-1], b":", b",")
    if variant == "nested":
        return _reverse_nested(payload)
    if variant == "spaced":
        return _spaced(payload)
    if variant == "escaped":
        return _escaped(payload, pick)
    raise ValueError(f"unknown layout variant {variant!r}; known: {', '.join(VARIANTS)}")


class Layout:
    """Decides, frame by frame and from its own seeded generator, whether and how to
    lay a data frame out anew; counts what it did (``used``)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self.used: dict[str, int] = dict.fromkeys(VARIANTS, 0)

    def __call__(self, payload: str | bytes) -> str | bytes:
        if self.rate <= 0 or self._random.random() >= self.rate:
            return payload
        raw = payload.encode() if isinstance(payload, str) else payload
        if raw[:1] != b"{":
            return payload  # not an object (Upbit's *_LIST formats): left as it is
        variant = self._random.choice(VARIANTS)
        self.used[variant] += 1
        out = relayout(raw, variant, self._random.randrange)
        return out.decode() if isinstance(payload, str) else out
