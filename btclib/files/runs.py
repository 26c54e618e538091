"""The runs a data file holds, told apart by its events log.

Data files are appended to, and notebooks are re-run, so one file may hold a
simulated run, a live one and a replay one after the other; the lines alone
cannot say which is which. Each run's ``start`` and ``stop`` events name where
its lines begin and end in the data file (byte offset and line number), with
its sources (live or simulator, and why), its simulator seed and its gaps.
:func:`read_runs` reads them back; ``python -m btclib runs FILE`` prints them.

A rotated or split set (:mod:`btclib.files.rotation`) has one events log, its base's; its
``rotate`` and ``file`` events say which file holds which lines, and each run lists them
(:class:`FileSpan`). Any file of a set names the set. The log's format, its path and its
reader belong to :mod:`btclib.files.eventlog`; this module only makes runs of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .eventlog import count_lines, events, events_path, log_of

__all__ = [
    "FileSpan",
    "Run",
    "count_lines",
    "events",
    "events_path",
    "format_runs",
    "read_runs",
]


@dataclass
class FileSpan:
    """The lines a run wrote into one file of a set (numbers and offsets in that file)."""

    file: str
    first_line: int | None
    start_offset: int | None
    last_line: int | None = None
    end_offset: int | None = None
    compressed: str | None = None
    """The ``.gz`` the file became once closed."""

    @property
    def line_range(self) -> str:
        return _line_range(self.first_line, self.last_line)


def _line_range(first: int | None, last: int | None) -> str:
    if first is None:
        return "lines ?"
    if last is None:
        return f"lines {first}-?"
    if last < first:
        return "no lines"
    return f"lines {first}-{last}"


@dataclass
class Run:
    """One recording run in a data file."""

    started: float
    """Wall-clock time of the start (seconds since the epoch)."""
    first_line: int | None
    start_offset: int | None
    sources: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    duration: float | None = None
    """Seconds it recorded (``None``: it never wrote its stop event: killed?)."""
    last_line: int | None = None
    end_offset: int | None = None
    stopped: str = ""
    lines: dict[str, int] = field(default_factory=dict)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: list[FileSpan] = field(default_factory=list)
    """The files of a rotated or split set it wrote, in order (empty for a plain file)."""

    @property
    def simulated(self) -> bool:
        return any(source != "live" for source in self.sources.values())

    @property
    def line_range(self) -> str:
        return _line_range(self.first_line, self.last_line)


def _span(runs: list[Run], file: object) -> FileSpan | None:
    """The run's span of ``file`` (the last one: a file may be written again later)."""
    if not runs or file is None:
        return None
    return next((s for s in reversed(runs[-1].files) if s.file == str(file)), None)


def read_runs(path: str | Path) -> list[Run]:
    """The runs recorded into data file (or set) ``path``, from its events log, oldest first."""
    runs: list[Run] = []
    for event in events(log_of(path)):
        kind = event.get("event")
        if kind == "start":
            runs.append(
                Run(
                    started=float(event.get("time", 0.0)),
                    first_line=event.get("line"),
                    start_offset=event.get("offset"),
                    sources=dict(event.get("sources") or {}),
                    reasons=dict(event.get("reasons") or {}),
                    seed=event.get("seed"),
                )
            )
            if event.get("file") is not None:
                runs[-1].files.append(
                    FileSpan(str(event["file"]), event.get("line"), event.get("offset"))
                )
        elif not runs:
            continue
        elif kind == "gap":
            runs[-1].gaps.append(event)
        elif kind == "error":
            runs[-1].errors.append(str(event.get("error", "")))
        elif kind in ("rotate", "file") and "file" in event:  # not a connection's rotate
            if (closed := _span(runs, event.get("closed"))) is not None:
                closed.last_line, closed.end_offset = event.get("end_line"), event.get("end_offset")
            span = FileSpan(str(event.get("file")), event.get("line"), event.get("offset"))
            runs[-1].files.append(span)
        elif kind == "compressed":
            if (span := _span(runs, event.get("file"))) is not None:
                span.compressed = str(event.get("gz"))
        elif kind == "stop":
            run = runs[-1]
            run.duration = event.get("elapsed")
            run.stopped = str(event.get("stopped", ""))
            run.lines = dict(event.get("lines") or {})
            run.last_line = event.get("end_line")
            run.end_offset = event.get("end_offset")
            ends = dict(event.get("files") or {})
            if event.get("file") is not None:
                ends[event["file"]] = {"end_line": run.last_line, "end_offset": run.end_offset}
            for file, end in ends.items():
                if (span := _span(runs, file)) is not None and isinstance(end, dict):
                    span.last_line, span.end_offset = end.get("end_line"), end.get("end_offset")
    return runs


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_runs(runs: list[Run], path: str | Path | None = None) -> str:
    """A plain-text listing, one paragraph per run."""
    if not runs:
        where = f" in {events_path(path)}" if path is not None else ""
        return f"no runs recorded{where}"
    out = []
    if path is not None:
        out.append(f"{path}: {len(runs)} run{'s' if len(runs) != 1 else ''}")
    for n, run in enumerate(runs, 1):
        took = f"{run.duration:.1f} s" if run.duration is not None else "no stop event (killed?)"
        total = sum(run.lines.values())
        count = len(run.files)
        where = f"{count} file{'s' if count != 1 else ''}" if run.files else run.line_range
        head = f"run {n}: {_when(run.started)}, {took}, {where} ({total} lines)"
        if run.stopped:
            head += f", stopped: {run.stopped}"
        out.append(head)
        for exchange, source in run.sources.items():
            reason = run.reasons.get(exchange)
            out.append(f"  {exchange}: {source}" + (f" ({reason})" if reason else ""))
        if run.seed is not None:
            out.append(f"  simulator seed {run.seed} (--seed {run.seed} reproduces it)")
        for span in run.files:
            now = f" (now {Path(span.compressed).name})" if span.compressed else ""
            out.append(f"  {Path(span.file).name}: {span.line_range}{now}")
        for gap in run.gaps:
            missed = sum((gap.get("missed") or {}).values())
            lost = f", {missed} trades missed" if missed else ""
            out.append(f"  gap: {gap.get('cause')}{lost}")
        out.extend(f"  error: {error}" for error in run.errors)
    return "\n".join(out)
