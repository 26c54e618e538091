"""The recorder's side of the publisher's own process (:mod:`btclib.broker.worker`).

Why: see the worker. Here is all the recorder pays when publishing that way: at each
flush, the new lines appended to the spool in one write (the spool is the hand-off) and
one notice on the worker's pipe, never waited for (a full pipe drops the notice: the
worker also looks on its own). Once a second it reads how far the worker has gone
(the run's progress file) to keep the spool within its bound and to say how far behind
the broker is. At the end it tells the worker to close and reads its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .spool import RunSpool, Spool

__all__ = ["Handoff", "command"]


def command(
    urls: list[str],
    stream: str,
    spool: Path,
    run: str,
    events: Path | None,
    drain: float,
    events_from: int | None = None,
) -> list[str]:
    """The worker's command line."""
    out = [sys.executable, "-m", "btclib.broker.worker", "--urls", ",".join(urls)]
    out += ["--stream", stream, "--spool", str(spool), "--run", run, "--drain", str(drain)]
    if events is not None:
        out += ["--events", str(events)]
        if events_from is not None:
            out += ["--events-from", str(events_from)]
    return out


class Handoff:
    """Spool lines for the worker process, and start, watch and close it."""

    def __init__(
        self,
        spool: Spool,
        urls: list[str],
        stream: str,
        run: str,
        events: Path | None,
        drain: float,
        max_bytes: int,
        events_from: int | None = None,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.spool = spool
        self.argv = command(urls, stream, spool.folder, run, events, drain, events_from)
        self.run_id = run
        self.drain = drain
        self.max_bytes = max_bytes
        self.run: RunSpool | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.not_spooled = 0
        self._log = log
        self._full = False
        self._acked = 0
        self._checked = 0.0
        self._notice = -1
        self._report: dict[str, Any] | None = None

    def start(self) -> None:
        """Open (and lock) the spool, begin this run's file, start the worker."""
        self.spool.open()  # the earlier runs' leftovers: the worker sends them
        self.run = self.spool.new_run(self.run_id)
        self.process = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
        )
        assert self.process.stdin is not None
        self._notice = self.process.stdin.fileno()
        with contextlib.suppress(OSError):  # a pipe that cannot be made so: the worker reads on
            os.set_blocking(self._notice, False)

    def add(self, lines: list[bytes]) -> None:
        """The hot path's other half, once per flush."""
        run = self.run
        assert run is not None
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._checked = now
            self._read_progress()
        chunk = b"".join(lines)
        if self._pending(run) + len(chunk) > self.max_bytes:
            self.not_spooled += len(lines)
            if not self._full and self._log is not None:
                self._log(
                    "broker_spool_full",
                    limit=self.max_bytes,
                    why="the broker is too far behind: lines stay in the data file only",
                )
            self._full = True
            return
        self._full = False
        run.append(chunk, len(lines))
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            os.write(self._notice, b"n\n")

    def _pending(self, run: RunSpool) -> int:
        """Bytes of this run the worker has not had acknowledged yet."""
        while len(run.segments) > 1 and run.segments[0].first + run.segments[0].count - 1 <= (
            self._acked
        ):
            run.segments.pop(0)  # the worker deletes the file; the count goes here
        return run.pending_bytes

    def _read_progress(self) -> None:
        assert self.run is not None
        with contextlib.suppress(OSError, ValueError, KeyError):
            self._acked = int(json.loads(self.run.meta.read_text())["acked"])

    def behind(self) -> tuple[int, float]:
        """(lines of this run not yet acknowledged, seconds: unknown here, 0)."""
        if self._report is not None:
            return int(self._report["spooled"]), float(self._report["oldest_s"])
        self._read_progress()
        run = self.run
        return (0 if run is None else max(0, run.end - 1 - self._acked)), 0.0

    def report(self) -> dict[str, Any]:
        spooled, oldest = self.behind()
        return self._report or {
            "published": self._acked,
            "outages": 0,
            "spooled": spooled,
            "oldest_s": oldest,
            "not_spooled": self.not_spooled,
            "worker": "ended without a report: the spool keeps the lines for the next run",
        }

    async def close(self) -> None:
        """Tell the worker the run is over; wait for it to send what is left (within
        the drain timeout) and read its report."""
        process, run = self.process, self.run
        if run is not None:
            run._close_fd()
        if process is not None:
            try:
                out, _ = await asyncio.to_thread(process.communicate, b"close\n", self.drain + 30.0)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = await asyncio.to_thread(process.communicate)
            for line in reversed((out or b"").splitlines()):
                with contextlib.suppress(ValueError):
                    self._report = json.loads(line)
                    self._report["not_spooled"] += self.not_spooled
                    break
        self.spool.close([])  # unlock; the worker saved (or removed) the run's files
