"""JSON objects as the bytes they were sent in: each member's key and value, unparsed.

The simulator needs JSON at the level of its text, never of its values: the expected line
is sliced out of a frame's bytes (:mod:`.expected`), and a frame is laid out anew without
re-spelling a number (:mod:`.layout`). A parser (``json``) would turn ``2.2855E7`` into
``22855000.0``. Written apart from btclib's own scanner (``btclib.exchanges.rawjson``) on
purpose: the simulator checks the recorder, so it must not share the recorder's bugs.
"""

from __future__ import annotations

import json

__all__ = ["Member", "members", "string"]

_WS = b" \t\r\n"

Member = tuple[str, bytes, bytes]
"""A member of an object: its key (decoded), the key as sent (quotes included), its value."""


def _skip_ws(buf: bytes, i: int) -> int:
    while i < len(buf) and buf[i] in _WS:
        i += 1
    return i


def _value_end(buf: bytes, i: int) -> int:
    """The index after the JSON value at ``buf[i]`` (strings with escapes, nesting)."""
    depth, in_string, escaped = 0, False, False
    for j in range(i, len(buf)):
        c = buf[j]
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:  # backslash
                escaped = True
            elif c == 0x22:
                in_string = False
                if depth == 0:
                    return j + 1
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
        elif c in b"]}":
            if depth == 0:
                return j
            depth -= 1
            if depth == 0:
                return j + 1
        elif depth == 0 and c in b", \t\r\n":
            return j
    return len(buf)


def members(buf: bytes, start: int = 0) -> list[Member]:
    """The members of the object at ``buf[start]``, in the order sent ([] if not an object)."""
    i = _skip_ws(buf, start)
    if buf[i : i + 1] != b"{":
        return []
    out: list[Member] = []
    i = _skip_ws(buf, i + 1)
    while buf[i : i + 1] == b'"':
        key_end = _value_end(buf, i)
        raw_key = buf[i:key_end]
        i = _skip_ws(buf, _skip_ws(buf, key_end) + 1)  # past the colon
        end = _value_end(buf, i)
        out.append((json.loads(raw_key), raw_key, buf[i:end]))
        i = _skip_ws(buf, end)
        if buf[i : i + 1] != b",":
            break
        i = _skip_ws(buf, i + 1)
    return out


def string(value: bytes | None) -> str | None:
    """A JSON string value's text (escapes decoded); None when absent or not a string."""
    if value is None or not value.startswith(b'"'):
        return None
    text = json.loads(value)
    return text if isinstance(text, str) else None
