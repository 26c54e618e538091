"""The recorder's asyncio front-end: it performs what the supervisor decides.

:func:`record_feeds` runs any number of :class:`~btclib.feed.Feed` s (one
WebSocket connection each, two while one is being replaced) into ONE
:class:`~btclib.sink.LineSink`, for a bounded time or until stopped. It knows
no exchange: URLs, requests, parsers, keep-alive and limits come with each
feed. Per feed, a :class:`FeedRunner` moves bytes: it connects, runs the hot
loop (:meth:`FeedRunner.pump`: frame -> parser -> sink), and reports what
happens to the feed's :class:`~btclib.recorder.supervisor.Supervisor`, whose
pure rules decide when to abort, rotate, reconnect or give up (retrying with
backoff within the connection budget, stall detection per stream,
make-before-break rotation, fail-fast on what retrying cannot heal, gaps).
The summary and an events log (one JSON object a line) name every gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from ..errors import BtclibError, ExchangeError, RecordingError, SinkError
from ..feed import MAX_FRAME_BYTES, Feed, Notice
from ..runs import first_line_number
from ..sink import MAX_QUEUED_BYTES, LineSink
from .continuity import Continuity
from .events import EventLog, FrameTap
from .summary import Progress, RunSummary
from .supervisor import (
    Abort,
    Action,
    Done,
    Failure,
    GapFound,
    Log,
    Reconnect,
    Retire,
    Retry,
    Rotate,
    Rules,
    Stop,
    Supervisor,
)
from .wsqueue import queued_frames

__all__ = [
    "FeedRunner",
    "Progress",
    "RecorderOptions",
    "RunSummary",
    "Session",
    "describe",
    "record_feeds",
]


@dataclass
class RecorderOptions:
    """Timings and limits; the defaults suit the live exchanges, tests shorten them."""

    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    open_timeout: float = 10.0
    close_timeout: float = 2.0
    ping_timeout: float = 20.0
    rotate_before: float = 600.0
    """Open the replacement this long before the server's connection lifetime ends."""
    overlap_max: float = 10.0
    """Close the old connection at the latest this long after the new one opened."""
    rotation_retry: float = 30.0
    """After a replacement failed, try rotating again this much later."""
    check_interval: float = 0.25
    progress_interval: float = 0.5
    max_refusals: int = 5
    """Give up after this many HTTP 429 refusals in a row."""
    max_silent: int = 3
    """Give up after this many connections in a row that never sent any data."""
    max_queued_bytes: int = MAX_QUEUED_BYTES
    """Bound of the queue to a slow disk; when full, reading waits for room."""
    fsync_interval: float = 1.0

    def rules(self, feed: Feed) -> Rules:
        """The supervisor's rules for ``feed``: its own limits with these timings."""
        return Rules(
            exchange=feed.exchange,
            url=feed.url,
            streams=feed.streams,
            stall_after=feed.stall_after,
            contiguous=feed.contiguous,
            lifetime=feed.lifetime,
            first_data_within=feed.first_data_within,
            connect_limit=feed.connect_limit,
            silence_hint=feed.silence_hint,
            status_hints=feed.status_hints,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            rotate_before=self.rotate_before,
            overlap_max=self.overlap_max,
            rotation_retry=self.rotation_retry,
            max_refusals=self.max_refusals,
            max_silent=self.max_silent,
        )


def describe(exc: BaseException) -> str:
    """One line naming a connection error in plain words."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = response.body.decode("utf-8", "replace").strip() if response.body else ""
        text = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        return f"{text}: {body[:300]}" if body else text
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is None:
            return "connection lost without a close frame (1006)"
        return f"closed by the server with code {rcvd.code}" + (
            f" ({rcvd.reason})" if rcvd.reason else ""
        )
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def tls_problem(exc: ssl.SSLError) -> str:
    """A TLS failure in plain words: whose certificate, and what is wrong with it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or str(exc)
        if exc.verify_code in (62, 64) or "mismatch" in detail.lower():  # host name or IP
            return f"hostname mismatch: the server's certificate is not valid for it ({detail})"
        return f"certificate not trusted ({detail})"
    return f"TLS handshake failed ({exc.reason or exc})"


def failure(exc: Exception) -> Failure:
    """What a failed connect attempt was, for the supervisor's rules."""
    if isinstance(exc, ssl.SSLError):  # before ValueError: a certificate error is one too
        return Failure("tls", tls_problem(exc))
    if isinstance(exc, InvalidStatus):
        return Failure("status", describe(exc), exc.response.status_code)
    if isinstance(exc, InvalidURI | ValueError | TypeError):
        return Failure("invalid_url", str(exc))
    if process_exception(exc) is None:  # websockets' own judgement: worth retrying
        return Failure("transient", describe(exc))
    return Failure("fatal", describe(exc))


class _Finished(Exception):
    """The source ended while we were about to connect: nothing more will come."""


@dataclass(eq=False)
class Session:
    """One WebSocket connection of a feed and the task that reads it."""

    id: int
    ws: ClientConnection
    frames: dict[str, int]
    """Data messages received per stream (the supervisor reads them)."""
    task: asyncio.Task[None] | None = None
    started: bool = False
    end_cause: str = ""


class FeedRunner:
    """Keeps one feed connected and its lines flowing into the sink.

    It performs the :class:`~btclib.recorder.supervisor.Supervisor`'s
    actions and reports to it what the network does; the rules are there.
    """

    def __init__(
        self,
        feed: Feed,
        sink: LineSink,
        log: EventLog,
        summary: RunSummary,
        options: RecorderOptions,
        tap: FrameTap | None,
        counter: Callable[[], int],
        finish: asyncio.Event | None = None,
    ) -> None:
        self.feed = feed
        self.sink = sink
        self.log = log
        self.summary = summary
        self.options = options
        self.tap = tap
        self._next_id = counter
        self.continuity = {
            stream: Continuity(contiguous=stream in feed.contiguous) for stream in feed.streams
        }
        self.loop = asyncio.get_running_loop()
        self.supervisor = Supervisor(
            options.rules(feed), self.continuity, wall_offset=time.time() - self.loop.time()
        )
        self.sessions: dict[int, Session] = {}
        self._finish = finish

    @property
    def finishing(self) -> bool:
        """The source will send nothing more: read to the end, do not reconnect."""
        return self._finish is not None and self._finish.is_set()

    # Connecting.

    async def _connect(self) -> ClientConnection:
        supervisor = self.supervisor
        while True:
            if self.finishing:
                raise _Finished
            wait = supervisor.connect_wait(self.loop.time())
            if wait > 0:
                self.log("connect_budget", self.feed.exchange, wait=round(wait, 3))
                await asyncio.sleep(wait)
                continue
            try:
                return await connect(
                    self.feed.url,
                    ping_interval=self.feed.ping_interval,
                    ping_timeout=self.options.ping_timeout,
                    open_timeout=self.options.open_timeout,
                    close_timeout=self.options.close_timeout,
                    max_size=MAX_FRAME_BYTES,
                    max_queue=64,
                )
            except Exception as exc:
                await self._perform(supervisor.connect_failed(failure(exc)), cause=exc)

    async def _open(self) -> Session:
        ws = await self._connect()
        session = Session(self._next_id(), ws, dict.fromkeys(self.feed.streams, 0))
        self.supervisor.opened(session.id, self.loop.time(), session.frames)
        self.summary.connections += 1
        self.log("connected", self.feed.exchange, session.id, url=self.feed.url)
        self.sessions[session.id] = session
        session.task = asyncio.create_task(
            self.pump(session), name=f"btclib:{self.feed.exchange}:{session.id}"
        )
        return session

    # Reading.
    async def pump(self, session: Session) -> None:
        """Read frames until the connection closes; write lines; note everything else."""
        # The hot loop: everything it touches per frame is a local name, the parsed
        # line (a plain tuple, or Data) is unpacked in one step, and the per-stream
        # continuity check is a bound method looked up by stream.
        # Frames websockets has already queued are taken without an await
        # (btclib.wsqueue); before waiting for more, pending lines go to the OS.
        # When the queue to a slow disk is full, reading waits for room instead
        # of dropping lines.
        ws, feed = session.ws, self.feed
        sink = self.sink
        parse, write, flush = feed.parser, sink.append, sink.flush
        frames, lines = session.frames, self.summary.lines
        accept = {stream: cont.accept for stream, cont in self.continuity.items()}
        sid = session.id
        receive = self._receiver(session)
        queue, take, resume = queued_frames(ws if self.tap is None else None)
        started = session.started
        try:
            for request in feed.requests:
                await ws.send(request)
            self.log("subscribed", feed.exchange, session.id, requests=len(feed.requests))
            while True:
                if queue and queue[0].fin:
                    frame = take().data
                else:
                    flush()
                    resume()
                    frame = await receive()
                item = parse(frame)
                if type(item) is not Notice:
                    stream, seq, line = item
                    frames[stream] += 1
                    if not started:
                        started = True
                        self._first_data(session)
                    if seq is not None and not accept[stream](seq, sid):
                        continue  # counted by Continuity: written already by the other connection
                    if not write(line):  # the disk is far behind: TCP holds the data meanwhile
                        await sink.room()
                        sink.write(line)  # or counted as dropped
                    lines[stream] += 1
                else:
                    self._notice(session, item)
        except ConnectionClosed as exc:
            session.end_cause = session.end_cause or describe(exc)
        except ExchangeError as exc:
            session.end_cause = str(exc)
            raise

    def _receiver(self, session: Session) -> Callable[[], Awaitable[bytes]]:
        """``await receive()``: the next message as bytes, handed to the tap if any."""
        recv, tap = session.ws.recv, self.tap
        if tap is None:
            return functools.partial(recv, decode=False)
        exchange, count = self.feed.exchange, itertools.count(1)

        async def receive() -> bytes:
            message = await recv()
            binary = isinstance(message, bytes)
            frame = message if binary else message.encode()
            tap.frame(exchange, session.id, next(count), frame, binary)
            return frame

        return receive


    def _first_data(self, session: Session) -> None:
        session.started = True
        self.supervisor.first_data(session.id, self.loop.time())

    def _notice(self, session: Session, notice: Notice) -> None:
        kind = notice.kind
        if kind == "malformed":
            self.summary.bad_frames += 1
            if self.summary.bad_frames <= 20 or self.summary.bad_frames % 100 == 0:
                self.log("bad_frame", self.feed.exchange, session.id, detail=notice.detail)
        elif kind == "unexpected":
            self.summary.unexpected += 1
            self.log("unexpected", self.feed.exchange, session.id, detail=notice.detail)
        elif kind == "shutdown":
            self.supervisor.shutdown_notice(session.id)
            self.log("server_shutdown", self.feed.exchange, session.id, detail=notice.detail)
        else:
            self.log(kind, self.feed.exchange, session.id, detail=notice.detail)

    # Supervising: report to the supervisor, perform what it decides.

    async def run(self) -> None:
        """Keep the feed connected until cancelled (or until the source ends)."""
        with contextlib.suppress(_Finished):
            await self._run()

    async def _run(self) -> None:
        supervisor, options = self.supervisor, self.options
        await self._open()
        while True:
            interval = options.check_interval / (5 if supervisor.rotating else 1)
            tasks = {s.task for s in self.sessions.values() if s.task is not None}
            await asyncio.wait(tasks, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            supervisor.finishing = self.finishing
            for session in [s for s in self.sessions.values() if s.task and s.task.done()]:
                del self.sessions[session.id]
                assert session.task is not None
                await session.task  # re-raises ExchangeError
                cause = session.end_cause or "connection closed"
                if await self._perform(supervisor.closed(session.id, self.loop.time(), cause)):
                    return
            await self._perform(supervisor.tick(self.loop.time(), self.sink.waiting))

    async def _perform(self, actions: list[Action], cause: BaseException | None = None) -> bool:
        """Carry out the supervisor's actions; True when the feed is done."""
        exchange = self.feed.exchange
        for action in actions:
            if isinstance(action, Log):
                self.log(action.event, exchange, action.conn, **action.fields)
            elif isinstance(action, GapFound):
                gap = action.gap
                self.summary.gaps.append(gap)
                self.log("gap", exchange, **{k: v for k, v in gap.items() if k != "exchange"})
            elif isinstance(action, Abort):
                await self._abort(self.sessions[action.conn], action.cause)
            elif isinstance(action, Rotate):
                await self._open()
            elif isinstance(action, Retire):
                await self._retire(action)
            elif isinstance(action, Reconnect):
                self.summary.reconnects += 1
                await asyncio.sleep(action.delay)
                await self._open()
            elif isinstance(action, Retry):
                await asyncio.sleep(action.delay)
            elif isinstance(action, Stop):
                raise action.error from cause
            elif isinstance(action, Done):
                return True
        return False

    async def _abort(self, session: Session, cause: str) -> None:
        """Drop a connection without a closing handshake; wait (briefly) for its reader."""
        session.end_cause = cause
        transport = session.ws.transport
        if transport is not None:
            transport.abort()
        if session.task is not None:
            with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
                await asyncio.wait({session.task}, timeout=self.options.close_timeout)

    async def _retire(self, action: Retire) -> None:
        """Close the connection a replacement took over from (it may have ended already)."""
        old = self.sessions.pop(action.old, None)
        if old is not None:
            old.end_cause = old.end_cause or action.cause
            await old.ws.close()
            if old.task is not None:
                await old.task
        self.summary.rotations += 1

    async def close(self) -> None:
        """Close every open connection politely (bounded by ``close_timeout``)."""
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session.ws.close()
        await self._perform(self.supervisor.finish())

    @property
    def duplicates(self) -> int:
        return sum(c.duplicates for c in self.continuity.values())

    @property
    def missed(self) -> int:
        return sum(c.missing for c in self.continuity.values())


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
) -> RunSummary:
    """Record every feed into one file until ``duration`` passes or ``stop`` is set.

    Lines are appended to ``path`` (or written into a :class:`LineSink` made by
    the caller, not yet open: the benchmark's, which times each write); what
    happened is appended to
    ``events_path`` (JSON lines). ``finish`` means the source will send
    nothing more: each connection is then read until the server closes it
    and not reopened, and the run ends when all have closed (replays).
    Cancelling the call (Ctrl+C in a notebook) stops it just as cleanly: the
    file ends with a whole line either way.

    Raises :class:`RecordingError` (or :class:`~btclib.feed.ExchangeError`,
    :class:`~btclib.sink.SinkError`) with ``summary`` attached when the run
    cannot go on.
    """
    feeds = list(feeds)
    options = options or RecorderOptions()
    if isinstance(path, LineSink):
        sink, path = path, path.path
    else:
        path = Path(path)
        sink = LineSink(
            path,
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
    sink.open()
    start_offset = sink.size
    summary.first_line = first_line_number(path, start_offset, summary.events_path)
    try:
        log = EventLog(summary.events_path, tap)
    except OSError as exc:
        await sink.aclose()
        raise SinkError(exc.errno, f"cannot write {summary.events_path}: {exc.strerror}") from exc
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
                summary.stopped = "sink failed" if sink.failed.is_set() else "stopped"
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
        log(
            "stop",
            stopped=summary.stopped,
            lines=summary.lines,
            elapsed=round(summary.elapsed, 3),
            end_offset=sink.size,
            end_line=summary.first_line - 1 + summary.total,
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
