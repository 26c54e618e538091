"""Bithumb's request rules: Upbit's (:mod:`..upbit.requests`) where the wire agrees.

A 2026 probe of the live socket (docs/protocols-bithumb.md 3, 6) found Bithumb's rules
to be Upbit's with four differences, applied here before Upbit's validation: an
unknown ``format`` is ignored (DEFAULT is sent); the snake case flags
``is_only_snapshot``/``is_only_realtime`` are ignored (camelCase works); an empty
``codes`` is ``INVALID_PARAM`` "codes 필드가 비어 있습니다."; a request with no type
object at all is ``WRONG_FORMAT``.
"""

from __future__ import annotations

import json

from ..upbit.requests import UpbitError, UpbitRequest, parse_request

__all__ = ["EMPTY_CODES", "parse"]

EMPTY_CODES = UpbitError("INVALID_PARAM", "codes 필드가 비어 있습니다.")
"""The error an empty ``codes`` list gets (probe)."""
_FORMATS = ("DEFAULT", "SIMPLE")
_IGNORED = ("is_only_snapshot", "is_only_realtime")


def parse(text: str) -> UpbitRequest | UpbitError:
    """Validate one request message: the request, or the error Bithumb answers."""
    try:
        items = json.loads(text)
    except ValueError:
        return parse_request(text)  # WRONG_FORMAT
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return parse_request(text)
    kept = []
    for item in items:
        if "format" in item and item["format"] not in _FORMATS:
            continue
        if "type" in item:
            if item.get("codes") == []:
                return EMPTY_CODES
            item = {k: v for k, v in item.items() if k not in _IGNORED}
        kept.append(item)
    if any("ticket" in i for i in kept) and not any("type" in i or "method" in i for i in kept):
        return UpbitError.of("WRONG_FORMAT")
    return parse_request(json.dumps(kept, ensure_ascii=False))
