"""Healing trade holes: the ids a gap cost, fetched again from the exchange's REST API.

After a drop, the events log's ``gap`` records name the trade ids that never
arrived (``ids``: ``[first, last]`` ranges). An exchange that keeps old trades
(its module's ``history_query`` and ``history_lines``: Binance
``GET /api/v3/historicalTrades``) is asked for them, a page of up to 1000 at a
time, paced within its request-weight budget (:class:`Pacer`: the used weight
each answer reports, and 429/418 with their ``Retry-After``). The trades come
back as the lines the stream would have given, into a sidecar beside the data
file, ``<file>.backfill.txt``, in id order; each healed range is logged as a
``backfill`` event. The live file is never rewritten or reordered: the card
(:func:`btclib.quality.check`) reads the sidecar's events and says ``healed``.
Books cannot be backfilled: no exchange serves its past books.
"""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..exchanges import EXCHANGES
from ..files import eventlog
from ..files.rotation import set_base
from ..files.runs import events, events_path
from .check import backfill_path

__all__ = ["BackfillResult", "Pacer", "backfill", "rest_bases", "wanted"]


@dataclass
class Pacer:
    """When the next request may go, from what the exchange answered: pure, no clock.

    ``limit`` is the weight allowed per ``window_s`` (Binance: 6000 a minute, counted
    per clock minute); a request costs ``weight``. Once the reported weight used
    plus one request would pass ``margin`` of the limit, wait for the next window;
    a 429 or 418 waits its ``Retry-After`` (the exchange bans an IP that does not).
    """

    limit: int
    weight: int
    window_s: float = 60.0
    margin: float = 0.8
    used: int = 0
    blocked_until: float = 0.0
    window: int = -1

    def wait(self, now: float) -> float:
        """Seconds to wait before sending the next request at ``now``."""
        if now < self.blocked_until:
            return self.blocked_until - now
        if int(now // self.window_s) != self.window:
            return 0.0  # a new window: the used weight starts again
        if self.used + self.weight > self.limit * self.margin:
            return (self.window + 1) * self.window_s - now + 0.05
        return 0.0

    def answered(self, now: float, status: int, used: str | None, retry_after: str | None) -> None:
        """What an answer said: the weight used (its header) and, on 429/418, how long to wait."""
        self.window = int(now // self.window_s)
        if used is not None and used.strip().isdigit():
            self.used = int(used)
        if status in (418, 429):
            try:
                seconds = float(retry_after) if retry_after is not None else self.window_s
            except ValueError:
                seconds = self.window_s
            self.blocked_until = now + max(seconds, 0.1)


@dataclass
class BackfillResult:
    """What a backfill fetched: per stream, ids healed and ids the exchange no longer had."""

    sidecar: Path
    healed: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    statuses: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        got = ", ".join(f"{s} {n:,} trades" for s, n in self.healed.items()) or "nothing to fetch"
        out = [f"Backfill: {got} into {self.sidecar} ({self.requests} requests)"]
        out += [f"  {s}: {n:,} ids no longer served" for s, n in self.unavailable.items() if n]
        out += [f"  note: {note}" for note in self.notes]
        return "\n".join(out)


def rest_bases(
    listings: Mapping[str, str], urls: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each exchange's REST base: from its listing URL (the same source as its streams:
    the live API, or the simulator's port), or, when the streams come from a server the
    user named (``--binance-url ws://127.0.0.1:8765``: ``simulate`` on a port), from
    that server (``http://127.0.0.1:8765``)."""
    out = {}
    for name, url in listings.items():
        module = EXCHANGES.get(name)
        path = getattr(module, "LISTING_PATH", None)
        if url and path and url.split("?", 1)[0].endswith(path):
            out[name] = url.split("?", 1)[0][: -len(path)]
        stream = (urls or {}).get(name)
        live = getattr(module, "LIVE_URL", None)
        if stream and live and url == getattr(module, "LISTING_URL", None):
            given = urlsplit(stream)
            if given.hostname and given.hostname != urlsplit(live).hostname:
                scheme = "https" if given.scheme == "wss" else "http"
                out[name] = f"{scheme}://{given.netloc}"
    return out


def wanted(log: Path) -> list[tuple[str, str, int, int]]:
    """(exchange, stream, first, last) of every id range the events log says is missing
    and no ``backfill`` event has healed yet."""
    gaps: list[tuple[str, str, int, int]] = []
    healed: set[tuple[str, int, int]] = set()
    for e in events(log):
        if e.get("event") == "gap":
            for stream, ranges in (e.get("ids") or {}).items():
                gaps += [(str(e.get("exchange", "")), stream, int(a), int(b)) for a, b in ranges]
        elif e.get("event") == "backfill" and "first" in e:
            healed.add((str(e.get("stream")), int(e["first"]), int(e["last"])))
    return [g for g in gaps if (g[1], g[2], g[3]) not in healed]


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers or {}), exc.read() or b""


async def backfill(
    path: str | Path,
    bases: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.time,
    timeout: float = 30.0,
    max_wait: float = 600.0,
) -> BackfillResult:
    """Fetch every trade id the events log of ``path`` says is missing, from ``bases``
    (exchange -> REST base URL), into the sidecar; log a ``backfill`` event per range."""
    base_path = set_base(Path(path))
    own = events_path(path)
    log = own if own.exists() else events_path(base_path)
    result = BackfillResult(backfill_path(base_path))
    todo = wanted(log) if log.exists() else []
    pacers: dict[str, Pacer] = {}
    for exchange, stream, first, last in todo:
        module = EXCHANGES.get(exchange)
        query = getattr(module, "history_query", None)
        if module is None or query is None or query(stream, first) is None:
            result.notes.append(f"{exchange} {stream}: the exchange serves no old trades")
            continue
        if exchange not in bases:
            result.notes.append(f"{exchange}: no REST address to fetch {stream} from")
            continue
        headers = {"Accept": "application/json"}
        key_env = getattr(module, "API_KEY_ENV", None)
        if key_env and os.environ.get(key_env):
            headers[module.API_KEY_HEADER] = os.environ[key_env]
        elif key_env and not any("not set" in n for n in result.notes):
            result.notes.append(
                f"{key_env} is not set: old trades asked without an API key "
                "(the exchange documents none for them; set it if it answers 401)"
            )
        pacer = pacers.setdefault(exchange, Pacer(module.WEIGHT_LIMIT, module.HISTORY_WEIGHT))
        lines: dict[int, bytes] = {}
        next_id = first
        while next_id <= last:
            wait = pacer.wait(clock())
            if wait > max_wait:
                result.notes.append(f"{exchange}: told to wait {wait:.0f} s; stopped")
                break
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            url = bases[exchange] + query(stream, next_id)
            status, answer_headers, body = await asyncio.to_thread(_get, url, headers, timeout)
            result.requests += 1
            result.statuses.append(status)
            lowered = {k.lower(): v for k, v in answer_headers.items()}
            pacer.answered(
                clock(),
                status,
                lowered.get(module.WEIGHT_HEADER.lower()),
                lowered.get("retry-after"),
            )
            if status in (418, 429):
                continue
            if status != 200:
                result.notes.append(f"{exchange} {stream}: HTTP {status}: {body[:200]!r}")
                break
            page = [(i, line) for i, line in module.history_lines(body, stream) if i >= next_id]
            if not page:
                break  # the exchange has nothing from next_id on
            for trade_id, line in page:
                if first <= trade_id <= last:
                    lines[trade_id] = line
            next_id = page[-1][0] + 1
        _write(result.sidecar, log, exchange, stream, first, last, lines)
        result.healed[stream] = result.healed.get(stream, 0) + len(lines)
        result.unavailable[stream] = result.unavailable.get(stream, 0) + (
            last - first + 1 - len(lines)
        )
    return result


def _write(
    sidecar: Path,
    log: Path,
    exchange: str,
    stream: str,
    first: int,
    last: int,
    lines: dict[int, bytes],
) -> None:
    """Append the range's trades to the sidecar (id order), then its ``backfill`` event."""
    if lines:
        with sidecar.open("ab") as f:
            f.write(b"".join(lines[i] for i in sorted(lines)))
            f.flush()
            os.fsync(f.fileno())
    got = sorted(lines)
    missing = [i for i in range(first, last + 1) if i not in lines]
    extra: dict[str, Any] = {"unavailable": _ranges(missing)} if missing else {}
    eventlog.append(log, "backfill", exchange, stream=stream, first=first, last=last,
                    count=len(got), file=str(sidecar), **extra)  # fmt: skip


def _ranges(ids: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in ids:
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out
