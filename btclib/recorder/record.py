"""Record feeds into one file for a bounded time: the run around the feed runners.

:func:`record_feeds` runs any number of :class:`~btclib.feed.Feed` s (one
WebSocket connection each, two while one is being replaced) into ONE
:class:`~btclib.files.sink.LineSink`, for a bounded time or until stopped, reports
progress, and ends with a summary and an events log (one JSON object a line)
that name every gap. Each run's ``start`` and ``stop`` events say where its
lines are in the file (:mod:`btclib.files.runs`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import BtclibError, ExchangeError, RecordingError, SinkError
from ..feed import Feed
from ..files.fileevents import FileEvents
from ..files.linereader import Skipped
from ..files.rotating import SplitSink, open_sink
from ..files.runs import first_line_number
from ..files.sink import LineSink
from .events import EventLog, FrameTap
from .options import RecorderOptions
from .runner import FeedRunner
from .summary import Progress, RunSummary

__all__ = ["record_feeds"]


async def record_feeds(
    feeds: Iterable[Feed],
    path: str | Path | LineSink,
    *,
    duration: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    events_path: str | Path | None = None,
    options: RecorderOptions | None = None,
    stop: asyncio.Event | None = None,
    finish: asyncio.Event | None = None,
    tap: FrameTap | None = None,
    sources: dict[str, str] | None = None,
    reasons: dict[str, str] | None = None,
    seed: int | None = None,
    stop_reason: str = "stopped",
    skipped: Sequence[Skipped] = (),
    rotate: str | None = None,
    split: str | None = None,
) -> RunSummary:
    """Record every feed into one file until ``duration`` passes or ``stop`` is set.

    Lines are appended to ``path`` (or written into a :class:`LineSink` made by
    the caller, not yet open: the benchmark's, which times each write); what
    happened is appended to
    ``events_path`` (JSON lines). ``finish`` means the source will send
    nothing more: each connection is then read until the server closes it
    and not reopened, and the run ends when all have closed (replays).
    ``stop_reason`` is what the summary's ``stopped`` says when ``stop`` was
    set (``interrupted`` for a notebook interrupt). ``skipped`` lists records
    of the source's input skipped as damaged (a replayed capture's); read
    when the run ends, it is counted in the summary and logged before ``stop``.
    ``rotate`` (``"daily"``, a size such as ``"500MB"``) and ``split``
    (``"market"``) make ``path`` the base name of a set of files
    (:mod:`btclib.files.rotation`); the events log then says which file holds which lines
    (``rotate``, ``file`` and ``compressed`` events). A sink made by the caller
    (:func:`btclib.files.rotating.open_sink`) carries its own.
    Cancelling the call (a timeout around it, a task group) stops it just as
    cleanly and re-raises the cancellation: the file ends with a whole line
    either way. (A notebook interrupt sets ``stop`` instead, through
    :func:`btclib.steps.interrupt_stops`, so the call returns its summary.)

    Raises a :class:`~btclib.errors.BtclibError` (``RecordingError``,
    ``ExchangeError``, ``SinkError``) with ``summary`` attached when the run
    cannot go on.
    """
    feeds = list(feeds)
    options = options or RecorderOptions()
    if isinstance(path, LineSink | SplitSink):
        if rotate is not None or split is not None:
            raise ValueError("rotate and split belong to the sink when a sink is given")
        sink = path
        path = Path(getattr(sink, "base", sink.path))
    else:
        path = Path(path)
        sink = open_sink(
            path,
            rotate=rotate,
            split=split,
            fsync_interval=options.fsync_interval,
            max_queued_bytes=options.max_queued_bytes,
        )
    summary = RunSummary(
        path=path,
        events_path=Path(events_path) if events_path is not None else None,
        lines={stream: 0 for feed in feeds for stream in feed.streams},
        sources=dict(sources or {}),
        reasons=dict(reasons or {}),
        seed=seed,
    )
    files = FileEvents(sink)
    sink.open()
    start_offset = sink.size
    if isinstance(sink, SplitSink):
        start_offset, summary.first_line = None, None
    else:
        summary.first_line = first_line_number(sink.path, start_offset, summary.events_path)
        files.opened(sink.path, summary.first_line)
    try:
        log = EventLog(summary.events_path, tap)
    except OSError as exc:
        await sink.aclose()
        raise SinkError(exc.errno, f"cannot write {summary.events_path}: {exc.strerror}") from exc
    files.log = log
    ids = iter(range(1, 1 << 62))
    runners = [
        FeedRunner(feed, sink, log, summary, options, tap, lambda: next(ids), finish)
        for feed in feeds
    ]
    loop = asyncio.get_running_loop()
    started = loop.time()
    error: BaseException | None = None
    log(
        "start",
        path=str(path),
        duration=duration,
        feeds=[{"exchange": f.exchange, "url": f.url, "streams": list(f.streams)} for f in feeds],
        sources=summary.sources,
        reasons=summary.reasons,
        seed=seed,
        offset=start_offset,
        line=summary.first_line,
        **files.start_fields(),
    )
    tasks = {asyncio.create_task(r.run(), name=f"btclib:{r.feed.exchange}") for r in runners}
    watchers: set[asyncio.Task[Any]] = {asyncio.create_task(sink.failed.wait())}
    if stop is not None:
        watchers.add(asyncio.create_task(stop.wait()))
    ticker = asyncio.create_task(_tick(summary, started, duration, progress, options))
    try:
        deadline = None if duration is None else started + duration
        pending = set(tasks)
        while pending:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(
                pending | watchers, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                summary.stopped = "duration reached"
                break
            if done & watchers:
                summary.stopped = "sink failed" if sink.failed.is_set() else stop_reason
                break
            for task in done & tasks:
                pending.discard(task)
                if task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        else:
            summary.stopped = "source ended"
    except asyncio.CancelledError:
        summary.stopped = "cancelled"
        raise
    except (ExchangeError, RecordingError) as exc:
        summary.stopped = "error"
        summary.errors.append(str(exc))
        error = exc
    finally:
        for task in (*tasks, *watchers, ticker):
            task.cancel()
        await asyncio.gather(*tasks, *watchers, ticker, return_exceptions=True)
        for runner in runners:
            await runner.close()
        summary.elapsed = loop.time() - started
        summary.duplicates = sum(r.duplicates for r in runners)
        summary.anomalies = sum(len(c.anomalies) for r in runners for c in r.continuity.values())
        summary.missed_trades = sum(r.missed for r in runners)
        try:
            await sink.aclose()
        except SinkError as exc:
            summary.errors.append(str(exc))
            error = error or exc
        summary.dropped = sink.dropped
        if sink.dropped:
            log("lines_dropped", count=sink.dropped, why="writer queue full")
        if skipped:
            summary.skipped_records = [{"line": s.line, "size": s.size} for s in skipped]
            log(
                "records_skipped",
                count=len(skipped),
                records=summary.skipped_records[:100],
                why="damaged, or longer than the recorder's frame limit",
            )
        log(
            "stop",
            stopped=summary.stopped,
            lines=summary.lines,
            elapsed=round(summary.elapsed, 3),
            **files.stop_fields((summary.first_line or 1) - 1 + summary.total),
        )
        log.close()
        if progress is not None:
            progress(_snapshot(summary, started, duration, done=True))
    if error is not None:
        if not isinstance(error, BtclibError):
            wrapped = RecordingError(str(error))
            wrapped.__cause__ = error
            error = wrapped
        error.summary = summary
        raise error
    return summary


def _snapshot(
    summary: RunSummary,
    started: float,
    duration: float | None,
    *,
    rate: float | None = None,
    done: bool = False,
) -> Progress:
    elapsed = asyncio.get_running_loop().time() - started
    total = summary.total
    return Progress(
        elapsed=elapsed,
        duration=duration,
        lines=total,
        rate=rate if rate is not None else (total / elapsed if elapsed > 0 else 0.0),
        per_stream=dict(summary.lines),
        reconnects=summary.reconnects,
        done=done,
    )


async def _tick(
    summary: RunSummary,
    started: float,
    duration: float | None,
    progress: Callable[[Progress], None] | None,
    options: RecorderOptions,
) -> None:
    """Report progress every ``progress_interval`` with the recent rate."""
    loop = asyncio.get_running_loop()
    last_total, last_time = 0, loop.time()
    while True:
        await asyncio.sleep(options.progress_interval)
        now, total = loop.time(), summary.total
        rate = (total - last_total) / (now - last_time) if now > last_time else 0.0
        last_total, last_time = total, now
        if progress is not None:
            progress(_snapshot(summary, started, duration, rate=rate))
