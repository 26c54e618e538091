"""The quality check's rules, pure functions over numbers: no file, no clock.

Each rule takes what was read (ids in receive order, a book's levels, receive
times, latencies) and answers holes, findings or figures, so a test proves a
rule with a handful of numbers and the thresholds are written once, here.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .card import Finding, Hole, Latency

__all__ = [
    "RateRules",
    "book_faults",
    "latency",
    "overlaps",
    "rate_findings",
    "rate_series",
    "trade_holes",
    "update_id_backwards",
]


def trade_holes(ids: Sequence[int], times: Sequence[float]) -> tuple[int, int, list[Hole]]:
    """Ids present, ids expected (lowest to highest), and each run of ids that never came.

    ``ids`` in receive order (a reconnect may repeat none: the recorder drops
    duplicates only across a rotation); ``times`` the receive time of each.
    """
    if not ids:
        return 0, 0, []
    first_seen: dict[int, float] = {}
    for i, t in zip(ids, times, strict=True):
        first_seen.setdefault(i, t)
    ordered = sorted(first_seen)
    holes = []
    for low, high in itertools.pairwise(ordered):
        if high - low > 1:
            holes.append(Hole(low + 1, high - 1, high - low - 1, first_seen[low], first_seen[high]))
    return len(ordered), ordered[-1] - ordered[0] + 1, holes


def book_faults(
    bids: Sequence[tuple[float, float]], asks: Sequence[tuple[float, float]]
) -> list[str]:
    """What is wrong with one book snapshot: ``empty_side``, ``crossed`` (best bid above
    the best ask), ``locked`` (equal), ``out_of_order`` (bids not falling or asks not
    rising from the touch). Levels of price 0 (Upbit's padding of a thin side) are not levels.
    """
    bids = [level for level in bids if level[0] > 0]
    asks = [level for level in asks if level[0] > 0]
    out = []
    if not bids or not asks:
        out.append("empty_side")
    else:
        if bids[0][0] > asks[0][0]:
            out.append("crossed")
        elif bids[0][0] == asks[0][0]:
            out.append("locked")
    prices_b = [p for p, _ in bids]
    prices_a = [p for p, _ in asks]
    if any(a <= b for a, b in itertools.pairwise(prices_b)) or any(
        b <= a for a, b in itertools.pairwise(prices_a)
    ):
        out.append("out_of_order")
    return out


def update_id_backwards(ids: Sequence[int]) -> list[int]:
    """Positions where a book's ``lastUpdateId`` is lower than the one before it.

    A repeat (the same id again: the book did not change within the update
    period) is not a fault; going back means a stale or reordered snapshot.
    """
    return [n for n in range(1, len(ids)) if ids[n] < ids[n - 1]]


def latency(values_s: Sequence[float], bound_s: float | None = None) -> Latency | None:
    """p50, p99 and max of receive-minus-exchange time, and how many were negative
    beyond the clock's error bound (``bound_s``; 0 when unknown)."""
    if not values_s:
        return None
    ms = sorted(v * 1000.0 for v in values_s)
    n = len(ms)
    limit = -(bound_s or 0.0) * 1000.0
    return Latency(
        count=n,
        p50=round(ms[(n - 1) // 2], 3),
        p99=round(ms[min(n - 1, int(0.99 * (n - 1) + 0.5))], 3),
        max=round(ms[-1], 3),
        negative=sum(1 for v in ms if v < limit),
        bound_ms=None if bound_s is None else round(bound_s * 1000.0, 3),
    )


@dataclass(frozen=True)
class RateRules:
    """When a stream's rate is a collapse (issue 22): below ``collapse_fraction`` of its
    own trailing median for longer than ``collapse_for`` seconds, counted in bins of
    ``bin_s`` seconds over the last ``trailing_bins``. A stream whose median bin holds
    fewer than ``min_per_bin`` messages is too sparse to judge (a quiet trade tape is not
    a collapse: Poisson arrivals leave empty minutes)."""

    bin_s: float = 10.0
    collapse_fraction: float = 0.10
    collapse_for: float = 60.0
    trailing_bins: int = 30
    min_history: int = 3
    min_per_bin: float = 5.0


def overlaps(start: float, end: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def rate_series(
    times: Sequence[float], bin_s: float, span: tuple[float, float], points: int = 240
) -> list[list[float]]:
    """Messages per minute over ``span`` in at most ``points`` bins: ``[[start, rate], ...]``
    (bin starts in seconds since the span's start), for the card's timeline figure."""
    start, end = span
    width = max(bin_s, (end - start) / points)
    out = []
    t = start
    while t < end:
        count = bisect.bisect_left(times, t + width) - bisect.bisect_left(times, t)
        out.append([round(t - start, 3), round(count * 60.0 / width, 3)])
        t += width
    return out


def rate_findings(
    times: Sequence[float],
    rules: RateRules,
    excluded: Sequence[tuple[float, float]] = (),
    span: tuple[float, float] | None = None,
) -> tuple[float | None, list[Finding]]:
    """The stream's median messages per minute and its collapses.

    ``times``: receive times, ascending. ``excluded``: stretches already
    explained (disconnected, a stall the recorder acted on): not judged, not
    history. ``span``: the run's start and end (default: first to last message).
    """
    if not times:
        return None, []
    start, end = span if span is not None else (times[0], times[-1])
    nbins = max(1, int((end - start) / rules.bin_s))
    counts = []
    for i in range(nbins):
        lo, hi = start + i * rules.bin_s, start + (i + 1) * rules.bin_s
        counts.append(bisect.bisect_left(times, hi) - bisect.bisect_left(times, lo))
    usable = [
        not overlaps(start + i * rules.bin_s, start + (i + 1) * rules.bin_s, excluded)
        for i in range(nbins)
    ]
    kept = [c for c, ok in zip(counts, usable, strict=True) if ok]
    median = statistics.median(kept) if kept else None
    if median is not None:
        per_min: float | None = round(median * 60.0 / rules.bin_s, 3)
    else:  # too short to have a whole bin outside its gaps: the mean over the run
        per_min = round(len(times) * 60.0 / max(end - start, 1e-9), 3)
    findings: list[Finding] = []
    low_from: int | None = None
    history: list[int] = []
    for i in range(nbins + 1):
        low = False
        if i < nbins and usable[i] and len(history) >= rules.min_history:
            trailing = statistics.median(history[-rules.trailing_bins :])
            low = trailing >= rules.min_per_bin and counts[i] < rules.collapse_fraction * trailing
        if low:
            low_from = i if low_from is None else low_from
            continue
        if low_from is not None:
            lasted = (i - low_from) * rules.bin_s
            if lasted > rules.collapse_for:
                t0, t1 = start + low_from * rules.bin_s, start + i * rules.bin_s
                findings.append(
                    Finding(
                        "collapse",
                        i - low_from,
                        f"{_hms(t0)}-{_hms(t1)}",
                        f"{sum(counts[low_from:i])} messages in {lasted:g} s, under "
                        f"{rules.collapse_fraction:.0%} of the trailing median",
                        t0,
                        t1,
                    )
                )
            low_from = None
        if i < nbins and usable[i]:
            history.append(counts[i])
    return per_min, findings


def _hms(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%H:%M:%S.%f")[:-3]
