"""Record feeds into one sink for a bounded time: the run around the feed runners.

:func:`record_feeds` runs any number of :class:`~btclib.feed.Feed` s (one
WebSocket connection each, two while one is being replaced) into ONE
:class:`~btclib.files.sink.Sink`, for a bounded time or until stopped, reports
progress, and ends with a summary and an events log (:mod:`btclib.files.eventlog`)
that name every gap. It is a :class:`Recording` in three parts: :meth:`Recording.open`
(the sink, the summary, the events log), :meth:`Recording.run` (the runners, until the
end) and :meth:`Recording.finish` (close, count, the ``stop`` record). The recorder
knows the sink only through the :class:`~btclib.files.sink.Sink` protocol.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BtclibError, ExchangeError, RecordingError, SinkError
from ..feed import Feed
from ..files.eventlog import EventLog, FileEvents
from ..files.linereader import Skipped
from ..files.rotating import Output
from ..files.sink import Sink
from .events import FrameTap
from .options import RecorderOptions
from .runner import FeedRunner
from .summary import Progress, RunSummary

__all__ = ["Recording", "RunContext", "record_feeds"]


@dataclass
class RunContext:
    """What the caller knows about a run that the recorder cannot see: the summary and
    the events log say it.

    ``sources``: per exchange, ``live`` or ``simulator`` (``simulator replay``);
    ``reasons``: why the simulator stood in; ``seed``: the synthetic market's;
    ``skipped``: records of the source's input skipped as damaged (a replayed capture's),
    read when the run ends; ``stop_reason``: what the summary's ``stopped`` says when the
    caller's ``stop`` was set (``interrupted`` for a notebook interrupt).
    """

    sources: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    skipped: Sequence[Skipped] = ()
    stop_reason: str = "stopped"
    on_file_closed: Callable[[Path], None] | None = None
    """Called with each file of a rotated or split set once it is closed (its card)."""


async def record_feeds(
    feeds: Iterable[Feed],
    path: str | os.PathLike[str] | Output | Sink,
    *,
    duration: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    events_path: str | Path | None = None,
    options: RecorderOptions | None = None,
    stop: asyncio.Event | None = None,
    finish: asyncio.Event | None = None,
    tap: FrameTap | None = None,
    context: RunContext | None = None,
) -> RunSummary:
    """Record every feed into one file until ``duration`` passes or ``stop`` is set.

    Lines are appended to ``path``: a file; an :class:`~btclib.files.rotating.Output`
    (a file, or with ``rotation``/``split`` the base name of a set of files,
    :mod:`btclib.files.rotation`: the events log then says which file holds which
    lines); or a :class:`~btclib.files.sink.Sink` made by the caller, not yet open (the
    benchmark's, which times each write). What happened is appended to ``events_path``
    (:mod:`btclib.files.eventlog`). ``finish`` means the source will send nothing more:
    each connection is then read until the server closes it and not reopened, and the run
    ends when all have closed (replays). ``context`` names the sources, the seed, the
    skipped records and what a ``stop`` means (:class:`RunContext`).
    Cancelling the call (a timeout around it, a task group) stops it just as
    cleanly and re-raises the cancellation: the file ends with a whole line
    either way. (A notebook interrupt sets ``stop`` instead, through
    :func:`btclib.steps.interrupt_stops`, so the call returns its summary.)

    Raises a :class:`~btclib.errors.BtclibError` (``RecordingError``,
    ``ExchangeError``, ``SinkError``) with ``summary`` attached when the run
    cannot go on.
    """
    where = Path(events_path) if events_path is not None else None
    recording = await Recording.open(
        list(feeds), path, where, options or RecorderOptions(), context or RunContext(), tap
    )
    error: BaseException | None = None
    try:
        error = await recording.run(duration, progress, stop, finish)
    finally:
        error = await recording.finish(error)
    if error is not None:
        if not isinstance(error, BtclibError):
            wrapped = RecordingError(str(error))
            wrapped.__cause__ = error
            error = wrapped
        error.summary = recording.summary
        raise error
    return recording.summary


class Recording:
    """One run of the recorder: its sink, summary and events log, then its runners."""

    def __init__(
        self,
        feeds: list[Feed],
        sink: Sink,
        summary: RunSummary,
        options: RecorderOptions,
        context: RunContext,
        tap: FrameTap | None,
    ) -> None:
        self.feeds = feeds
        self.sink = sink
        self.summary = summary
        self.options = options
        self.context = context
        self.tap = tap
        self.files = FileEvents(summary.events_path)
        self.files.on_closed = context.on_file_closed
        self.log = EventLog(None)
        """The events log, open once :meth:`open` returns."""
        self.start_fields: dict[str, Any] = {}
        """The ``start`` record's fields about the files (:meth:`Sink.start_fields`)."""
        self.runners: list[FeedRunner] = []
        self.duration: float | None = None
        self.progress: Callable[[Progress], None] | None = None
        self.started = 0.0

    @classmethod
    async def open(
        cls,
        feeds: list[Feed],
        path: str | os.PathLike[str] | Output | Sink,
        events_path: Path | None,
        options: RecorderOptions,
        context: RunContext,
        tap: FrameTap | None = None,
    ) -> Recording:
        """Open the sink (made from ``path`` unless it is one) and the events log
        (``tap`` sees its events too)."""
        if isinstance(path, str | os.PathLike):
            path = Output(Path(path))
        if isinstance(path, Output):
            sink = path.sink(
                fsync_interval=options.fsync_interval, max_queued_bytes=options.max_queued_bytes
            )
        else:
            sink = path
        summary = RunSummary(
            path=sink.base,
            events_path=events_path,
            lines={stream: 0 for feed in feeds for stream in feed.streams},
            sources=dict(context.sources),
            reasons=dict(context.reasons),
            seed=context.seed,
        )
        recording = cls(feeds, sink, summary, options, context, tap)
        sink.open()
        recording.start_fields = sink.start_fields(recording.files)
        summary.first_line = recording.start_fields["line"]
        try:
            recording.log = EventLog(events_path, tap)
        except OSError as exc:
            await sink.aclose()
            raise SinkError(exc.errno, f"cannot write {events_path}: {exc.strerror}") from exc
        recording.files.log = recording.log
        return recording

    async def run(
        self,
        duration: float | None,
        progress: Callable[[Progress], None] | None,
        stop: asyncio.Event | None,
        finish: asyncio.Event | None,
    ) -> BaseException | None:
        """Start a runner per feed and wait for the end: ``duration``,
        ``stop``, the sink failing, the source ending or an error (returned; a
        cancellation is re-raised). :meth:`finish` must follow, whatever happens."""
        summary, sink, tap = self.summary, self.sink, self.tap
        ids = iter(range(1, 1 << 62))
        self.runners = [
            FeedRunner(feed, sink, self.log, summary, self.options, tap, lambda: next(ids), finish)
            for feed in self.feeds
        ]
        loop = asyncio.get_running_loop()
        self.started, self.duration, self.progress = loop.time(), duration, progress
        run = {
            "duration": duration,
            "sources": summary.sources,
            "reasons": summary.reasons,
            "seed": summary.seed,
        }
        self.log.start(summary.path, self.feeds, run, self.start_fields)
        tasks = {
            asyncio.create_task(r.run(), name=f"btclib:{r.feed.exchange}") for r in self.runners
        }
        watchers: set[asyncio.Task[Any]] = {asyncio.create_task(sink.failed.wait())}
        if stop is not None:
            watchers.add(asyncio.create_task(stop.wait()))
        ticker = asyncio.create_task(self._tick())
        try:
            return await self._wait(tasks, watchers)
        except asyncio.CancelledError:
            summary.stopped = "cancelled"
            raise
        finally:
            for task in (*tasks, *watchers, ticker):
                task.cancel()
            await asyncio.gather(*tasks, *watchers, ticker, return_exceptions=True)

    async def _wait(
        self, tasks: set[asyncio.Task[None]], watchers: set[asyncio.Task[Any]]
    ) -> BaseException | None:
        """Until the first end; what ended the run is in the summary's ``stopped``."""
        summary, loop = self.summary, asyncio.get_running_loop()
        deadline = None if self.duration is None else self.started + self.duration
        pending = set(tasks)
        try:
            while pending:
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    pending | watchers, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    summary.stopped = "duration reached"
                    return None
                if done & watchers:
                    failed = self.sink.failed.is_set()
                    summary.stopped = "sink failed" if failed else self.context.stop_reason
                    return None
                for task in done & tasks:
                    pending.discard(task)
                    if task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            summary.stopped = "source ended"
        except (ExchangeError, RecordingError) as exc:
            summary.stopped = "error"
            summary.errors.append(str(exc))
            return exc
        return None

    async def finish(self, error: BaseException | None) -> BaseException | None:
        """Close the connections and the sink, count, write the records that end the run;
        the error that ends it (``error``, else the sink's), if any."""
        summary, sink, runners = self.summary, self.sink, self.runners
        for runner in runners:
            await runner.close()
        summary.elapsed = asyncio.get_running_loop().time() - self.started
        summary.duplicates = sum(r.duplicates for r in runners)
        summary.anomalies = sum(len(c.anomalies) for r in runners for c in r.continuity.values())
        summary.missed_trades = sum(r.missed for r in runners)
        try:
            await sink.aclose()
        except SinkError as exc:
            summary.errors.append(str(exc))
            error = error or exc
        summary.dropped = sink.dropped
        skipped = self.context.skipped
        if skipped:
            summary.skipped_records = [{"line": s.line, "size": s.size} for s in skipped]
        self.log.lost(sink.dropped, summary.skipped_records)
        files = sink.stop_fields(self.files, summary.total)
        self.log.stop(summary.stopped, summary.lines, summary.elapsed, files)
        self.log.close()
        if self.progress is not None:
            self.progress(self._snapshot(done=True))
        return error

    def _snapshot(self, *, rate: float | None = None, done: bool = False) -> Progress:
        summary = self.summary
        elapsed = asyncio.get_running_loop().time() - self.started
        total = summary.total
        return Progress(
            elapsed=elapsed,
            duration=self.duration,
            lines=total,
            rate=rate if rate is not None else (total / elapsed if elapsed > 0 else 0.0),
            per_stream=dict(summary.lines),
            reconnects=summary.reconnects,
            done=done,
            links=summary.links_at(asyncio.get_running_loop().time()),
            summary=summary,
            queued_bytes=self.sink.queued_bytes,
            behind=self.sink.behind(),
        )

    async def _tick(self) -> None:
        """Report progress every ``progress_interval`` with the recent rate."""
        loop = asyncio.get_running_loop()
        last_total, last_time = 0, loop.time()
        while True:
            await asyncio.sleep(self.options.progress_interval)
            now, total = loop.time(), self.summary.total
            rate = (total - last_total) / (now - last_time) if now > last_time else 0.0
            last_total, last_time = total, now
            if self.progress is not None:
                self.progress(self._snapshot(rate=rate))
