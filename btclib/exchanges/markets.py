"""Which markets to record: names given one by one, or ``all`` from the exchange's listing.

``--symbol``/``--code`` (and the keywords ``symbol``/``codes``) take one
market, several, or ``all``. ``all`` is answered by the exchange's own
listing endpoint (Binance ``GET /api/v3/exchangeInfo``, Upbit ``GET
/v1/market/all``), fetched from the same place the streams come from: the
live exchange or the simulator (:mod:`btclib.steps.sources` decides). Each exchange
module parses its listing (``parse_listing``); this module holds what they
share: telling ``all`` from a list, the HTTP fetch (urllib in a thread, no
new dependency) and its error in plain words, and the even split of a list
over connections.
"""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import ListingError

__all__ = [
    "ALL",
    "ListingError",
    "as_list",
    "chosen",
    "fetch_listing",
    "fetch_listing_sync",
    "load_listing",
    "split_evenly",
    "wants_all",
]

ALL = "all"
"""The market name that means every market the exchange lists."""

T = TypeVar("T")


def wants_all(value: object) -> bool:
    """Whether a markets setting asks for every listed market (``"all"`` or ``["all"]``)."""
    if isinstance(value, str):
        return value.strip().lower() == ALL
    if isinstance(value, Sequence):
        return any(isinstance(v, str) and v.strip().lower() == ALL for v in value)
    return False


def as_list(value: str | Sequence[str]) -> list[str]:
    """One market or several as a list, in the order given, repeats dropped."""
    items = [value] if isinstance(value, str) else list(value)
    return list(dict.fromkeys(items))


def chosen(
    value: str | Sequence[str], check: Callable[[str], str], default: Sequence[str], title: str
) -> list[str]:
    """The markets of a setting, each through ``check``, repeats dropped, order kept.

    ``all`` is resolved from the listing before feeds are built
    (:func:`btclib.steps.steps.resolve_markets`); left unresolved it stands for the
    ``default`` markets, which is what a check of the arguments or a probe of
    the host needs.
    """
    if wants_all(value):
        return list(default)
    out = list(dict.fromkeys(check(market) for market in as_list(value)))
    if not out:
        raise ValueError(f"no {title} market given")
    return out


def split_evenly(items: Sequence[T], most: int) -> list[list[T]]:
    """``items`` in as few chunks of at most ``most`` as possible, sizes differing by one at
    most, order kept: 1,500 symbols at 512 a connection make three of 500, not 512+512+476."""
    if most < 1:
        raise ValueError(f"chunk size {most}: must be at least 1")
    if not items:
        return []
    chunks = math.ceil(len(items) / most)
    size, extra = divmod(len(items), chunks)
    out, start = [], 0
    for n in range(chunks):
        stop = start + size + (1 if n < extra else 0)
        out.append(list(items[start:stop]))
        start = stop
    return out


def load_listing(body: bytes | str, title: str) -> Any:
    """The JSON of a listing response, or :class:`ListingError` saying what came instead."""
    try:
        return json.loads(body)
    except ValueError as exc:
        head = body[:80] if isinstance(body, str) else body[:80].decode("utf-8", "replace")
        raise ListingError(f"{title}'s market listing is not JSON ({exc}): {head!r}") from None


def fetch_listing_sync(url: str, title: str, timeout: float = 30.0) -> bytes:
    """GET ``url``; the body, or :class:`ListingError` naming the URL and the reason."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()[:200].decode("utf-8", "replace")
        why = f"HTTP {exc.code} {exc.reason}" + (f": {body}" if body else "")
        if exc.code == 451:
            why += " (the exchange blocks this region; --source sim records the simulator)"
        raise ListingError(f"cannot list {title}'s markets from {url}: {why}") from None
    except urllib.error.URLError as exc:
        raise ListingError(f"cannot list {title}'s markets from {url}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise ListingError(f"cannot list {title}'s markets from {url}: {exc}") from None


async def fetch_listing(url: str, title: str, timeout: float = 30.0) -> bytes:
    """:func:`fetch_listing_sync` in a worker thread, so the event loop keeps running."""
    return await asyncio.to_thread(fetch_listing_sync, url, title, timeout)
