"""Find where a JSON value sits in the text, so it can be copied unchanged.

SPEC: numbers and arrays are written exactly as the exchange sent them. A JSON
parser cannot give that back (``2.2855E7`` would come back as ``22855000.0``),
so the formatters copy byte ranges of the received frame instead. The fast
paths in the exchange modules find those ranges with ``bytes.find`` on the
documented compact layout; this module is the general fallback for any valid
JSON layout (other key order, whitespace), used only after ``json.loads`` has
confirmed the frame is valid JSON.
"""

from __future__ import annotations

__all__ = ["member_spans", "skip_value"]

_WS = b" \t\r\n"
_STRUCT_END = frozenset(b",}] \t\r\n")


def _skip_ws(buf: bytes, i: int) -> int:
    while i < len(buf) and buf[i] in _WS:
        i += 1
    return i


def _skip_string(buf: bytes, i: int) -> int:
    """``buf[i]`` is an opening quote; return the index after the closing one."""
    i += 1
    while True:
        j = buf.index(b'"', i)
        backslashes = 0
        k = j - 1
        while buf[k] == 0x5C:  # backslash
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            return j + 1
        i = j + 1


def skip_value(buf: bytes, i: int) -> int:
    """Return the index just after the JSON value that starts at ``buf[i]``."""
    c = buf[i]
    if c == 0x22:  # "
        return _skip_string(buf, i)
    if c in b"[{":
        depth = 0
        while True:
            c = buf[i]
            if c == 0x22:
                i = _skip_string(buf, i)
                continue
            if c in b"[{":
                depth += 1
            elif c in b"]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    while i < len(buf) and buf[i] not in _STRUCT_END:
        i += 1
    return i


def member_spans(buf: bytes, start: int = 0) -> dict[str, tuple[int, int]]:
    """Map each key of the object at ``buf[start:]`` to its value's byte range.

    >>> frame = b'{"a": [1, 2.50],"b":{"c":"x"}}'
    >>> {k: frame[i:j] for k, (i, j) in member_spans(frame).items()}
    {'a': b'[1, 2.50]', 'b': b'{"c":"x"}'}
    """
    i = _skip_ws(buf, start)
    if buf[i : i + 1] != b"{":
        raise ValueError("not a JSON object")
    spans: dict[str, tuple[int, int]] = {}
    i = _skip_ws(buf, i + 1)
    if buf[i : i + 1] == b"}":
        return spans
    while True:
        key_end = _skip_string(buf, i)
        key = buf[i + 1 : key_end - 1].decode("utf-8")
        i = _skip_ws(buf, key_end)
        i = _skip_ws(buf, i + 1)  # past ':'
        end = skip_value(buf, i)
        spans[key] = (i, end)
        i = _skip_ws(buf, end)
        if buf[i : i + 1] == b"}":
            return spans
        i = _skip_ws(buf, i + 1)  # past ','
