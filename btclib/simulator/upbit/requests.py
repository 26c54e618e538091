"""Upbit's request messages: validated the way ``api.upbit.com`` does, without I/O.

:func:`parse_request` turns one client message into an :class:`UpbitRequest`
or the :class:`UpbitError` Upbit answers it with (protocols.md 2.2 and 2.7).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ERROR_MESSAGES",
    "Format",
    "Subscription",
    "UpbitError",
    "UpbitRequest",
    "parse_request",
]

Format = Literal["DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"]
_FORMATS: tuple[Format, ...] = ("DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST")
_SILENT_TYPES = re.compile(r"^(ticker|candle\.(1s|1m|3m|5m|10m|15m|30m|60m|240m))$")
_UNIT_COUNTS = (1, 5, 15, 30)

#: Messages Upbit sends with each error name; NO_TICKET and WRONG_FORMAT are
#: the observed wire texts, the others follow their pattern.
ERROR_MESSAGES = {
    "WRONG_FORMAT": "Format 이 맞지 않습니다.",
    "NO_TICKET": "티켓이 존재하지 않거나, 유효하지 않습니다.",
    "NO_TYPE": "타입이 존재하지 않거나, 유효하지 않습니다.",
    "NO_CODES": "코드가 존재하지 않거나, 유효하지 않습니다.",
}


@dataclass(frozen=True)
class UpbitError:
    """An error reply: ``{"error":{"name":...,"message":...}}``."""

    name: str
    message: str

    @classmethod
    def of(cls, name: str) -> UpbitError:
        return cls(name, ERROR_MESSAGES[name])

    def to_json(self) -> str:
        return json.dumps(
            {"error": {"name": self.name, "message": self.message}},
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class Subscription:
    """One type object: ``{"type":..., "codes":[...], ...}``."""

    type: str
    #: Requested codes as sent (``"KRW-BTC.5"``), for LIST_SUBSCRIPTIONS.
    requested: tuple[str, ...]
    #: ``(code, unit count)`` pairs; the unit count matters for orderbooks only.
    codes: tuple[tuple[str, int], ...]
    level: float = 0
    only_snapshot: bool = False
    only_realtime: bool = False


@dataclass(frozen=True)
class UpbitRequest:
    ticket: str
    format: Format | None
    subscriptions: tuple[Subscription, ...]
    method: str | None = None


def _flag(obj: dict[str, Any], snake: str, camel: str) -> bool | None:
    """Read a boolean flag spelled either way; None when it has the wrong type."""
    value = obj.get(snake, obj.get(camel, False))
    return value if isinstance(value, bool) else None


def _split_code(code: str) -> tuple[str, int]:
    """``"KRW-BTC.5"`` -> ``("KRW-BTC", 5)``; counts other than 1/5/15/30 mean 30."""
    base, dot, count = code.rpartition(".")
    if dot and count.isdigit():
        n = int(count)
        return base, n if n in _UNIT_COUNTS else 30
    return code, 30


def parse_request(text: str) -> UpbitRequest | UpbitError:
    """Validate one request message and return it, or the error Upbit answers."""
    try:
        items = json.loads(text)
    except ValueError:
        return UpbitError.of("WRONG_FORMAT")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return UpbitError.of("WRONG_FORMAT")
    ticket = next((i["ticket"] for i in items if "ticket" in i), None)
    if not isinstance(ticket, str) or not ticket:
        return UpbitError.of("NO_TICKET")
    fmt: Format | None = None
    method: str | None = None
    subs: list[Subscription] = []
    for item in items:
        if "ticket" in item:
            continue
        if "format" in item:
            value = item["format"]
            if value not in _FORMATS:
                return UpbitError("INVALID_PARAM", f"{value} 은 지원하지 않는 포맷입니다.")
            fmt = value
        elif "method" in item:
            if item["method"] != "LIST_SUBSCRIPTIONS":
                message = f"{item['method']} 은 지원하지 않는 메소드입니다."
                return UpbitError("INVALID_PARAM", message)
            method = "LIST_SUBSCRIPTIONS"
        elif "type" in item:
            sub = _parse_type(item)
            if isinstance(sub, UpbitError):
                return sub
            subs.append(sub)
        else:
            return UpbitError.of("WRONG_FORMAT")
    if not subs and method is None:
        return UpbitError.of("NO_TYPE")
    return UpbitRequest(ticket, fmt, tuple(subs), method)


def _parse_type(item: dict[str, Any]) -> Subscription | UpbitError:
    kind = item["type"]
    if not isinstance(kind, str) or not kind:
        return UpbitError.of("NO_TYPE")
    if kind not in ("orderbook", "trade") and not _SILENT_TYPES.match(kind):
        return UpbitError("INVALID_PARAM", f"{kind} 은 지원하지 않는 타입입니다.")
    codes = item.get("codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        return UpbitError.of("NO_CODES")
    only_snapshot = _flag(item, "is_only_snapshot", "isOnlySnapshot")
    only_realtime = _flag(item, "is_only_realtime", "isOnlyRealtime")
    if only_snapshot is None or only_realtime is None:
        message = "is_only_snapshot, is_only_realtime 값이 올바르지 않습니다."
        return UpbitError("INVALID_PARAM", message)
    level = item.get("level", 0)
    if isinstance(level, bool) or not isinstance(level, int | float):
        return UpbitError("INVALID_PARAM", f"{level} 은 지원하지 않는 level 입니다.")
    if kind == "orderbook":
        parsed = tuple(dict.fromkeys(_split_code(c) for c in codes))
    else:
        parsed = tuple(dict.fromkeys((c, 0) for c in codes))
    return Subscription(kind, tuple(codes), parsed, level, only_snapshot, only_realtime)
