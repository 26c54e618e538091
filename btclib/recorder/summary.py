"""What a run reports: progress while it records, a summary when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Progress", "RunSummary"]


@dataclass
class Progress:
    """What a progress display shows; passed to the ``progress`` callback."""

    elapsed: float
    duration: float | None
    lines: int
    rate: float
    per_stream: dict[str, int]
    reconnects: int
    done: bool = False

    @property
    def remaining(self) -> float | None:
        return None if self.duration is None else max(0.0, self.duration - self.elapsed)


@dataclass
class RunSummary:
    """What one run did: the figures a user checks after recording."""

    path: Path
    events_path: Path | None
    lines: dict[str, int]
    sources: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    connections: int = 0
    reconnects: int = 0
    rotations: int = 0
    errors: list[str] = field(default_factory=list)
    bad_frames: int = 0
    unexpected: int = 0
    duplicates: int = 0
    seed: int | None = None
    """The simulator's seed when one served this run (``--seed`` reproduces it)."""
    first_line: int | None = None
    """Number of the first line this run appended to the file (1-based)."""
    anomalies: int = 0
    """Numbered messages whose id went backwards on their connection (written, logged)."""
    missed_trades: int = 0
    dropped: int = 0
    skipped_records: list[dict[str, int]] = field(default_factory=list)
    """Records of the input (a replayed capture) skipped as damaged or overlong: line, size."""
    gaps: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    stopped: str = ""
    markets: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per exchange: markets that had data, markets asked (:func:`btclib.steps.steps`)."""

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    def text(self) -> str:
        """A plain-text report, readable in a terminal and in a PDF."""
        rate = self.total / self.elapsed if self.elapsed > 0 else 0.0
        out = [
            f"Recorded {self.total} lines in {self.elapsed:.1f} s ({rate:.1f} lines/s) "
            f"into {self.path}; stopped: {self.stopped}."
        ]
        for exchange, source in self.sources.items():
            reason = self.reasons.get(exchange)
            out.append(f"  source {exchange}: {source}" + (f" ({reason})" if reason else ""))
        if self.seed is not None:
            out.append(f"  simulator seed {self.seed} (--seed {self.seed} reproduces this run)")
        shown = self.lines if len(self.lines) <= _STREAMS_SHOWN else {}
        for stream, count in shown.items():
            out.append(f"  {stream:<24} {count:>9} lines")
        if self.markets and (not shown or any(asked > 1 for _, asked in self.markets.values())):
            out.append(
                "  markets with data: "
                + ", ".join(f"{x} {had} of {asked}" for x, (had, asked) in self.markets.items())
                + ("" if shown else f" ({len(self.lines)} streams; per stream: the events log)")
            )
        out.append(
            f"  connections {self.connections}, reconnects {self.reconnects}, "
            f"rotations {self.rotations}, gaps {len(self.gaps)}, missed trades "
            f"{self.missed_trades}, duplicates dropped {self.duplicates}, bad frames "
            f"{self.bad_frames}, unexpected {self.unexpected}, lines dropped {self.dropped}"
            + (f", ids out of order {self.anomalies}" if self.anomalies else "")
        )
        if self.skipped_records:
            places = ", ".join(_place(**r) for r in self.skipped_records[:5])
            more = len(self.skipped_records) - 5
            out.append(
                f"  input records skipped as damaged: {len(self.skipped_records)} ({places}"
                + (f" and {more} more; see the events log" if more > 0 else "")
                + ")"
            )
        out.extend(f"  error: {error}" for error in self.errors)
        if self.events_path is not None:
            out.append(f"  events log: {self.events_path}")
        return "\n".join(out)


_STREAMS_SHOWN = 24
"""Lines per stream are listed up to this many streams (``--symbol all`` has thousands)."""


def _place(line: int, size: int) -> str:
    """Where a skipped record was: ``line 2 (1,500,000,001 bytes)``; -1 means unknown."""
    where = f"line {line:,}" if line > 0 else "a line"
    return f"{where} ({size:,} bytes)" if size >= 0 else f"{where} (damaged compressed data)"
