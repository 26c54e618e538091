"""The quality report card of a recording: what it holds, what is missing, and why.

A card is plain data (dataclasses), so a notebook shows it, ``--json`` prints it
and a pipeline's cron job tests it. Each stream of each run gets a verdict:

- ``complete``: every message the exchange numbered is there, nothing wrong was seen;
- ``healed``: trade ids were missing and every one came back from the exchange
  (the backfill sidecar, :mod:`btclib.quality.backfill`);
- ``holes``: trade ids are missing (each hole's id range and time listed);
- ``degraded``: no ids missing, but something is wrong with what was kept: a crossed,
  locked or disordered book, an empty side, ``lastUpdateId`` going back, a rate
  collapse, a silence beyond the stall limit, or a clock problem.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["VERDICTS", "Card", "Finding", "Gap", "Hole", "Latency", "RunCard", "StreamCard"]

VERDICTS = ("complete", "healed", "holes", "degraded")
FAILING = frozenset({"holes", "degraded"})
"""Verdicts ``check --strict`` exits non-zero on."""


@dataclass
class Gap:
    """Time a stream's exchange was not delivering: from the events log's ``gap`` records."""

    start: float | None
    end: float | None
    cause: str
    missed: int = 0
    """Trade ids the recorder saw jump over (0 for books, which number nothing)."""


@dataclass
class Hole:
    """Trade ids that never arrived: ``first`` to ``last`` inclusive, between two times."""

    first: int | None
    last: int | None
    count: int
    after: float | None = None
    """Receive time of the last trade before the hole (``None``: unknown)."""
    before: float | None = None
    """Receive time of the first trade after it."""
    healed: int = 0
    """Of these ids, how many the backfill sidecar holds."""


@dataclass
class Finding:
    """Something wrong with what was kept: its kind, how often, where it was first seen."""

    kind: str
    """``crossed``, ``locked``, ``out_of_order``, ``empty_side``, ``update_id_backwards``,
    ``collapse``, ``silence`` or ``clock``."""
    count: int
    where: str
    """``line 1,234`` or a time range, as a reader finds it."""
    detail: str = ""
    start: float | None = None
    end: float | None = None


@dataclass
class Latency:
    """Receive time minus the exchange's own time of each message, in milliseconds."""

    count: int
    p50: float
    p99: float
    max: float
    negative: int
    """Messages received before the exchange says it sent them: a clock is wrong."""
    bound_ms: float | None = None
    """The clock ledger's error bound (:mod:`btclib.quality.clock`), when known."""


@dataclass
class StreamCard:
    """One stream of one run."""

    stream: str
    exchange: str
    lines: int
    verdict: str = "complete"
    coverage: float | None = None
    """Time connected over time recorded (``None``: the events log says nothing)."""
    recorded_s: float | None = None
    connected_s: float | None = None
    gaps: list[Gap] = field(default_factory=list)
    numbered: bool = False
    """The stream numbers its messages contiguously (trades): holes can be counted."""
    ids_from: str | None = None
    """Where the ids came from: ``capture`` (every id), ``events log`` (the gap records)."""
    ids_present: int | None = None
    ids_expected: int | None = None
    missing_ids: int = 0
    healed_ids: int = 0
    holes: list[Hole] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rate_per_min: float | None = None
    """The stream's median messages per minute (capture receive times)."""
    rates: list[list[float]] = field(default_factory=list)
    """``[seconds since the run's start, messages per minute]`` per bin, for a timeline."""
    latency: Latency | None = None
    notes: list[str] = field(default_factory=list)

    def decide(self) -> str:
        """The verdict from what was found (see the module's docstring)."""
        if self.missing_ids > 0:
            self.verdict = "holes"
        elif self.findings:
            self.verdict = "degraded"
        elif self.healed_ids > 0:
            self.verdict = "healed"
        else:
            self.verdict = "complete"
        return self.verdict


@dataclass
class RunCard:
    """One run of the recording (from the events log; the whole file when it has none)."""

    number: int
    started: float | None
    duration: float | None
    sources: dict[str, str] = field(default_factory=dict)
    streams: list[StreamCard] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Card:
    """The report card of a data file (or a rotated or split set) and its companions."""

    path: str
    files: list[str]
    events: str | None
    capture: str | None
    runs: list[RunCard] = field(default_factory=list)
    backfill: str | None = None

    @property
    def streams(self) -> list[StreamCard]:
        return [s for run in self.runs for s in run.streams]

    @property
    def failed(self) -> bool:
        """True when some stream's verdict is ``holes`` or ``degraded`` (``--strict``)."""
        return any(s.verdict in FAILING for s in self.streams)

    def to_dict(self) -> dict[str, Any]:
        """What ``check --json`` prints: the card as plain JSON types."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)

    def write(self, path: str | Path) -> Path:
        """Write the JSON card (``<file>.check.json`` beside a closed file)."""
        path = Path(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    def text(self) -> str:
        """The card in plain text, readable in a terminal and in a PDF."""
        out = [
            f"Quality of {self.path}"
            + (f" ({len(self.files)} files)" if len(self.files) > 1 else "")
        ]
        used = (
            ["lines"]
            + (["events log"] if self.events else [])
            + (["capture"] if self.capture else [])
        )
        used += ["backfill"] if self.backfill else []
        out.append(f"  read: {', '.join(used)}")
        for run in self.runs:
            took = f"{run.duration:.1f} s" if run.duration is not None else "duration unknown"
            when = _when(run.started) if run.started else "time unknown"
            srcs = ", ".join(f"{x} {s}" for x, s in run.sources.items())
            out.append(f"run {run.number}: {when}, {took}" + (f" ({srcs})" if srcs else ""))
            out.extend(f"  note: {n}" for n in run.notes)
            for s in run.streams:
                out.extend(_stream_text(s))
        return "\n".join(out)


def _stream_text(s: StreamCard) -> list[str]:
    cov = f", coverage {s.coverage:.1%}" if s.coverage is not None else ""
    out = [f"  {s.stream:<22} {s.verdict.upper():<9} {s.lines:,} lines{cov}"]
    if s.numbered and s.ids_expected is not None:
        out.append(
            f"    trade ids: {s.ids_present:,} of {s.ids_expected:,} "
            f"(from the {s.ids_from}), missing {s.missing_ids:,}, healed {s.healed_ids:,}"
        )
    for hole in s.holes:
        ids = f"ids {hole.first}-{hole.last}" if hole.first is not None else "ids unknown"
        when = f" between {_clock(hole.after)} and {_clock(hole.before)}" if hole.after else ""
        healed = f", {hole.healed} healed" if hole.healed else ""
        out.append(f"    hole: {hole.count:,} trades, {ids}{when}{healed}")
    for gap in s.gaps:
        lost = f", {gap.missed} trades missed" if gap.missed else ""
        out.append(f"    gap {_clock(gap.start)}-{_clock(gap.end)}: {gap.cause}{lost}")
    for f in s.findings:
        detail = f": {f.detail}" if f.detail else ""
        out.append(f"    {f.kind}: {f.count:,}x, first at {f.where}{detail}")
    if s.latency is not None:
        lat = s.latency
        bound = f" (clock bound +-{lat.bound_ms:.1f} ms)" if lat.bound_ms is not None else ""
        out.append(
            f"    latency ms p50 {lat.p50:.1f} p99 {lat.p99:.1f} max {lat.max:.1f}, "
            f"negative {lat.negative:,} of {lat.count:,}{bound}"
        )
    if s.rate_per_min is not None:
        out.append(f"    rate: median {s.rate_per_min:,.0f} messages/min")
    out.extend(f"    note: {n}" for n in s.notes)
    return out


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%H:%M:%S.%f")[:-3]
