"""Progress displays for a recording: a terminal status line and a notebook bar.

Both take :class:`~btclib.recorder.Progress` snapshots (lines so far, recent
rate, time left) from the recorder twice a second. The notebook display is a
``tqdm`` bar (a widget in JupyterLab) and also prints its final state as plain
text, because a PDF shows a widget as ``HBox(...)`` or not at all.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ..recorder import Progress

__all__ = [
    "STREAMS_LISTED",
    "NotebookProgress",
    "ProgressFn",
    "TerminalProgress",
    "behind",
    "in_notebook",
    "make_progress",
    "status_line",
]

ProgressFn = Callable[[Progress], None]


STREAMS_LISTED = 8
"""Above this many streams (``--symbol all``: thousands) the line shows streams with data."""


def status_line(p: Progress) -> str:
    """``1,234 lines | 56.3 lines/s | 12.0 s left | btcusdt@trade 80 ...``"""
    left = "" if p.remaining is None else f" | {p.remaining:5.1f} s left"
    if len(p.per_stream) <= STREAMS_LISTED:
        streams = "  ".join(f"{name} {count}" for name, count in p.per_stream.items())
    else:  # one short line, not 60 kB a second
        with_data = sum(1 for count in p.per_stream.values() if count)
        streams = f"{with_data:,} of {len(p.per_stream):,} streams with data"
    again = f" | reconnects {p.reconnects}" if p.reconnects else ""
    # An exchange that is not connected says why (attempt, last error, retry in):
    # a silent "0 lines" hid four failed DNS lookups.
    links = "".join(f" | {link.status()}" for link in p.connecting)
    broker = "" if p.behind is None else f" | broker {behind(*p.behind)}"
    return f"{p.lines:>8,} lines | {p.rate:7.1f} lines/s{left}{again}{links}{broker} | {streams}"


def behind(lines: int, oldest: float) -> str:
    """How far the broker is behind, in words: ``up to date`` or ``12 lines spooled, oldest
    3.4 s``."""
    if lines == 0:
        return "up to date"
    return f"{lines:,} line{'s' if lines != 1 else ''} spooled, oldest {oldest:.1f} s"


class TerminalProgress:
    """Rewrites one status line on a terminal; prints a line every few seconds elsewhere."""

    def __init__(self, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self._tty = self.stream.isatty()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        text = status_line(p)
        if self._tty:
            end = "\n" if p.done else ""
            self.stream.write(f"\r\x1b[2K{text}{end}")
        elif p.done or time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.stream.write(text + "\n")
        self.stream.flush()


class NotebookProgress:
    """A tqdm bar over the run's duration, then the final state as plain text."""

    def __init__(self, description: str = "recording") -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bar = None
        self.description = description

    def __call__(self, p: Progress) -> None:
        if self._bar is None:
            total = round(p.duration, 1) if p.duration else None
            self._bar = self._tqdm(
                total=total, desc=self.description, unit="s", bar_format=_BAR, leave=True
            )
        self._bar.n = round(min(p.elapsed, p.duration or p.elapsed), 1)
        links = "".join(f", {link.status()}" for link in p.connecting)
        broker = "" if p.behind is None else f", broker {behind(*p.behind)}"
        self._bar.set_postfix_str(f"{p.lines} lines, {p.rate:.1f}/s{links}{broker}", refresh=True)
        if p.done:
            # A run stopped early (an interrupt) ended as asked: tqdm paints a bar closed short
            # of its total red, which reads as an error, so the total becomes what was recorded.
            if self._bar.total and self._bar.n < self._bar.total:
                done = self._bar.n
                self._bar.reset(total=done)  # the widget's bar takes its new length here
                self._bar.n = done
            self._bar.close()
            # Short enough not to wrap in JupyterLab (which breaks printed text inside words);
            # the per-stream counts follow in the run's summary.
            again = f" | reconnects {p.reconnects}" if p.reconnects else ""
            print(f"Final: {p.lines:,} lines | {p.rate:.1f} lines/s{again}", flush=True)


# tqdm puts ", " before a non-empty postfix itself: "3/3 s, 30 lines, 10.0/s".
_BAR = "{desc}: {bar} {n:.0f}/{total:.0f} s{postfix}"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where a widget bar can be shown)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython()  # type: ignore[attr-defined]
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def make_progress(
    kind: str | ProgressFn | None, description: str = "recording"
) -> ProgressFn | None:
    """``"auto"`` (notebook bar in Jupyter, status line elsewhere), ``"terminal"``,
    ``"notebook"``, ``None``/``"none"``, or any callable taking :class:`Progress`."""
    if kind is None or kind == "none":
        return None
    if callable(kind):
        return kind
    if kind == "auto":
        kind = "notebook" if in_notebook() else "terminal"
    if kind == "notebook":
        return NotebookProgress(description)
    if kind == "terminal":
        return TerminalProgress()
    raise ValueError(f"unknown progress display {kind!r}: auto, terminal, notebook or none")
