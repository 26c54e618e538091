"""What a run reports: progress while it records, a summary when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["LinkState", "Progress", "RunSummary"]


@dataclass
class LinkState:
    """How connecting to one exchange goes: what the progress line and the summary say.

    A run that never connects used to print ``0 lines`` and exit 0, its failed
    attempts only in the events log; this is where they are counted instead,
    with the last reason in plain words (:func:`btclib.recorder.failures.explain`).
    """

    exchange: str
    state: str = "connecting"
    """``connecting`` (an attempt under way), ``waiting`` (to retry), ``connected``,
    ``reconnecting`` (a connection ended; a new one is due)."""
    attempt: int = 0
    """Attempts since the last connection opened (1: the first)."""
    failed: int = 0
    """Failed connection attempts over the whole run."""
    last_error: str = ""
    retry_at: float | None = None
    """Loop time of the next attempt while ``waiting``."""
    retry_in: float | None = None
    """Seconds to the next attempt, filled in each progress snapshot."""
    connections: int = 0
    """Connections opened over the run."""

    def trying(self) -> None:
        self.attempt += 1
        self.state = "connecting"
        self.retry_at = None

    def attempt_failed(self, error: str, retry_in: float | None, now: float) -> None:
        self.failed += 1
        self.last_error = error
        self.state = "waiting"
        self.retry_at = None if retry_in is None else now + retry_in

    def opened(self) -> None:
        self.connections += 1
        self.attempt = 0
        self.state = "connected"
        self.retry_at = None

    def ended(self) -> None:
        if self.state == "connected":
            self.state = "reconnecting"

    def at(self, now: float) -> LinkState:
        """A copy for a progress snapshot, with ``retry_in`` as of ``now``."""
        wait = None if self.retry_at is None else max(0.0, self.retry_at - now)
        return replace(self, retry_in=wait)

    def status(self) -> str:
        """``binance: attempt 3, DNS lookup of ... failed, retry in 1.2 s``."""
        if self.state == "connected":
            return f"{self.exchange}: connected"
        parts = [f"{self.exchange}: {self.state}"]
        if self.attempt:
            parts.append(f"attempt {self.attempt}")
        if self.last_error and self.state != "reconnecting":
            parts.append(_short(self.last_error))
        if self.state == "waiting" and self.retry_in is not None:
            parts.append(f"retry in {self.retry_in:.1f} s")
        return ", ".join(parts)

    def failures(self) -> str:
        """``4 connection attempts failed (DNS lookup of stream.binance.com failed)``."""
        s = "" if self.failed == 1 else "s"
        return f"{self.failed} connection attempt{s} failed ({_short(self.last_error)})"


def _short(error: str) -> str:
    """The reason without its detail in brackets and its hint: it has to fit one line."""
    head = error.split(" (", 1)[0] if " failed (" in error else error
    return head.split(": no internet access?", 1)[0]


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
    links: dict[str, LinkState] = field(default_factory=dict)
    """Per exchange: its connection state (copies as of this snapshot)."""
    summary: RunSummary | None = None
    """The run's summary so far (gaps, bad frames...), for live metrics; do not change it."""
    queued_bytes: int = 0
    """Bytes the sink holds that the OS has not written yet (the writer queue)."""
    behind: tuple[int, float] | None = None
    """When publishing: lines not yet acknowledged by the broker, and the oldest's age (s)."""

    @property
    def connecting(self) -> list[LinkState]:
        """Exchanges that are not connected now (shown instead of a silent ``0 lines``)."""
        return [link for link in self.links.values() if link.state != "connected"]

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
    links: dict[str, LinkState] = field(default_factory=dict)
    """Per exchange: connection attempts, failures and their last reason."""
    backfill: str = ""
    """What ``backfill=True`` fetched after the run (:mod:`btclib.quality.backfill`)."""

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    def link(self, exchange: str) -> LinkState:
        """The connection state of ``exchange`` (made on first use)."""
        state = self.links.get(exchange)
        if state is None:
            state = self.links[exchange] = LinkState(exchange)
        return state

    def links_at(self, now: float) -> dict[str, LinkState]:
        """Copies of the connection states for a progress snapshot taken at loop time ``now``."""
        return {exchange: link.at(now) for exchange, link in self.links.items()}

    @property
    def problems(self) -> list[str]:
        """Why this run failed, one sentence each; empty for a run that recorded.

        An exchange that never connected, or a run that wrote no line at all, is
        a failed run: the command line exits 1 with these, and
        ``btclib.record(strict=True)`` raises them.
        """
        out = []
        for link in self.links.values():
            if link.connections == 0:
                tried = f"{link.failures()}; " if link.failed else ""
                out.append(f"{link.exchange}: {tried}never connected")
        if self.total == 0 and not self.errors and not out:
            out.append("no line was written")
        return out

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
        # Two lines, each short enough for a notebook's width and a PDF's (one ran to 110).
        out.append(
            f"  connections {self.connections}, reconnects {self.reconnects}, "
            f"rotations {self.rotations}, gaps {len(self.gaps)}, missed trades "
            f"{self.missed_trades}"
        )
        out.append(
            f"  duplicates dropped {self.duplicates}, bad frames {self.bad_frames}, "
            f"unexpected {self.unexpected}, lines dropped {self.dropped}"
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
        for link in self.links.values():
            if link.failed and link.connections:
                out.append(f"  {link.exchange}: {link.failures()}")
        out.extend(f"  error: {error}" for error in self.errors)
        if self.backfill:
            out.extend(f"  {line}" for line in self.backfill.splitlines())
        out.extend(f"  FAILED: {problem}" for problem in self.problems)
        if self.events_path is not None:
            out.append(f"  events log: {self.events_path}")
        return "\n".join(out)


_STREAMS_SHOWN = 24
"""Lines per stream are listed up to this many streams (``--symbol all`` has thousands)."""


def _place(line: int, size: int) -> str:
    """Where a skipped record was: ``line 2 (1,500,000,001 bytes)``; -1 means unknown."""
    where = f"line {line:,}" if line > 0 else "a line"
    return f"{where} ({size:,} bytes)" if size >= 0 else f"{where} (damaged compressed data)"
