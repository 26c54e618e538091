"""Connect, keep alive, reconnect, write: the I/O around the pure exchange modules.

:func:`record_feeds` runs any number of :class:`~btclib.feed.Feed` s (one
WebSocket connection each, two while one is being replaced) into ONE
:class:`~btclib.sink.LineSink`, for a bounded time or until stopped. It knows
no exchange: URLs, requests, parsers, keep-alive and limits come with each
feed. What it adds is what every exchange needs:

- reconnection with capped, fully jittered exponential backoff, within the
  feed's connection budget, after drops, refused connections and stalls;
- per-stream stall detection (a book that stops ticking is a dead connection
  even if trades still flow);
- make-before-break rotation before a server's connection lifetime runs out
  or when it announces a shutdown, with duplicates dropped by sequence number;
- fail-fast on what retrying cannot heal (HTTP 4xx handshake refusals, error
  messages about our request), with the feed's own explanation;
- a summary and an events log (one JSON object a line) that name every gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from ..errors import BtclibError, ExchangeError, RecordingError, SinkError
from ..feed import Feed, Notice
from ..sink import LineSink
from .backoff import Backoff, ConnectBudget
from .continuity import Continuity
from .wsqueue import queued_frames

logger = logging.getLogger("btclib")

__all__ = [
    "FeedRunner",
    "Progress",
    "RecorderOptions",
    "RunSummary",
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
    check_interval: float = 0.25
    progress_interval: float = 0.5
    max_refusals: int = 5
    """Give up after this many HTTP 429 refusals in a row."""
    max_silent: int = 3
    """Give up after this many connections in a row that never sent any data."""
    max_queued_bytes: int | None = None
    fsync_interval: float = 1.0
    sink_write: Callable[[int, memoryview], int] | None = None
    """Replaces ``os.write`` in the sink (the benchmark's hook to see
    when lines are handed to the OS); ``None``: plain ``os.write``, no cost."""


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
    missed_trades: int = 0
    dropped: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    stopped: str = ""

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
        for stream, count in self.lines.items():
            out.append(f"  {stream:<24} {count:>9} lines")
        out.append(
            f"  connections {self.connections}, reconnects {self.reconnects}, "
            f"rotations {self.rotations}, gaps {len(self.gaps)}, missed trades "
            f"{self.missed_trades}, duplicates dropped {self.duplicates}, bad frames "
            f"{self.bad_frames}, unexpected {self.unexpected}, lines dropped {self.dropped}"
        )
        out.extend(f"  error: {error}" for error in self.errors)
        if self.events_path is not None:
            out.append(f"  events log: {self.events_path}")
        return "\n".join(out)


class FrameTap(Protocol):
    """Receives every frame as it arrived (for captures); see :mod:`btclib.capture`."""

    def frame(self, exchange: str, conn: int, n: int, data: bytes, binary: bool) -> None: ...

    def event(self, exchange: str, conn: int, event: str, **fields: Any) -> None: ...


class EventLog:
    """What happened during a run, one JSON object a line, beside the data file.

    The data file keeps the SPEC line format, so it cannot say where it has
    holes; this log can: connects, closes with code and reason, stalls,
    rotations, gaps with the trades missed, bad frames, errors.
    """

    def __init__(self, path: Path | None, tap: FrameTap | None = None) -> None:
        self.path = path
        self._tap = tap
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def __call__(self, event: str, exchange: str = "", conn: int = 0, **fields: Any) -> None:
        record = {"time": round(time.time(), 6), "event": event}
        if exchange:
            record["exchange"] = exchange
        if conn:
            record["conn"] = conn
        record.update(fields)
        level = logging.DEBUG if event in ("reply", "status") else logging.INFO
        logger.log(level, "%s", json.dumps(record, ensure_ascii=False))
        if self._file is not None and level > logging.DEBUG:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._file.flush()
        if self._tap is not None and exchange:
            self._tap.event(exchange, conn, event, **fields)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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


class _Finished(Exception):
    """The source ended while we were about to connect: nothing more will come."""


@dataclass(eq=False)
class _Session:
    """One WebSocket connection of a feed and the task that reads it."""

    id: int
    ws: ClientConnection
    started: float
    frames: dict[str, int]
    task: asyncio.Task[None] | None = None
    first_data: float | None = None
    shutdown_notice: bool = False
    end_cause: str = ""


class FeedRunner:
    """Keeps one feed connected and its lines flowing into the sink."""

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
        self.backoff = Backoff(options.backoff_base, options.backoff_cap)
        self.budget = ConnectBudget(*feed.connect_limit)
        self.continuity = {
            stream: Continuity(contiguous=stream in feed.contiguous) for stream in feed.streams
        }
        self.sessions: set[_Session] = set()
        self._finish = finish
        self._refusals = 0
        self._silent = 0
        self._ever_data = False
        self._gap: dict[str, Any] | None = None
        self._holes_seen = {stream: 0 for stream in feed.streams}

    @property
    def finishing(self) -> bool:
        """The source will send nothing more: read to the end, do not reconnect."""
        return self._finish is not None and self._finish.is_set()

    # Connecting.

    async def _connect(self) -> ClientConnection:
        loop = asyncio.get_running_loop()
        while True:
            if self.finishing:
                raise _Finished
            wait = self.budget.wait_time(loop.time())
            if wait > 0:
                self.log("connect_budget", self.feed.exchange, wait=round(wait, 3))
                await asyncio.sleep(wait)
            self.budget.spend(loop.time())
            try:
                return await connect(
                    self.feed.url,
                    ping_interval=self.feed.ping_interval,
                    ping_timeout=self.options.ping_timeout,
                    open_timeout=self.options.open_timeout,
                    close_timeout=self.options.close_timeout,
                    max_size=2**22,
                    max_queue=64,
                )
            except Exception as exc:
                fatal = self._fatal(exc)
                if fatal is not None:
                    self.log("error", self.feed.exchange, error=str(fatal))
                    raise fatal from exc
                delay = self.backoff.next_delay()
                self.log(
                    "connect_failed",
                    self.feed.exchange,
                    url=self.feed.url,
                    error=describe(exc),
                    retry_in=round(delay, 3),
                )
                await asyncio.sleep(delay)

    def _fatal(self, exc: Exception) -> RecordingError | None:
        """The error to stop on, or ``None`` when retrying may help."""
        name = self.feed.exchange.capitalize()
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            if status in (500, 502, 503, 504):
                return None
            if status in (418, 429) and self._refusals < self.options.max_refusals:
                self._refusals += 1
                self.backoff.attempt = max(self.backoff.attempt, 6)
                return None
            hint = self.feed.status_hints.get(status, "")
            return RecordingError(
                f"{name} refused the connection to {self.feed.url}: {describe(exc)}. {hint}".strip()
            )
        if isinstance(exc, InvalidURI | ValueError | TypeError):
            return RecordingError(f"{name}: invalid URL {self.feed.url!r}: {exc}")
        if process_exception(exc) is None:
            return None
        return RecordingError(f"{name}: cannot connect to {self.feed.url}: {describe(exc)}")

    async def _open(self) -> _Session:
        ws = await self._connect()
        self._refusals = 0
        session = _Session(
            self._next_id(), ws, time.monotonic(), dict.fromkeys(self.feed.streams, 0)
        )
        self.summary.connections += 1
        self.log("connected", self.feed.exchange, session.id, url=self.feed.url)
        self.sessions.add(session)
        session.task = asyncio.create_task(
            self.pump(session), name=f"btclib:{self.feed.exchange}:{session.id}"
        )
        return session

    # Reading.

    async def pump(self, session: _Session) -> None:
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
        receive = self._receiver(session)
        queue, take, resume = queued_frames(ws if self.tap is None else None)
        started = session.first_data is not None
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
                    if seq is not None and not accept[stream](seq):
                        continue  # counted by Continuity: a copy from the overlapping connection
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
        finally:
            self.sessions.discard(session)

    def _receiver(self, session: _Session) -> Callable[[], Awaitable[bytes]]:
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

    def _check_silence(self, session: _Session) -> None:
        """Stop when connection after connection stays silent from the start."""
        if session.first_data is not None or self._ever_data:
            self._silent = 0
            return
        self._silent += 1
        if self._silent >= self.options.max_silent and self.feed.silence_hint:
            raise RecordingError(
                f"{self.feed.silence_hint} ({self._silent} connections, no data at all)"
            )

    def _first_data(self, session: _Session) -> None:
        self._ever_data = True
        session.first_data = time.monotonic()
        self.backoff.reset()
        if self._gap is not None:
            self._gap["end"] = round(time.time(), 6)

    def _notice(self, session: _Session, notice: Notice) -> None:
        kind = notice.kind
        if kind == "malformed":
            self.summary.bad_frames += 1
            if self.summary.bad_frames <= 20 or self.summary.bad_frames % 100 == 0:
                self.log("bad_frame", self.feed.exchange, session.id, detail=notice.detail)
        elif kind == "unexpected":
            self.summary.unexpected += 1
            self.log("unexpected", self.feed.exchange, session.id, detail=notice.detail)
        elif kind == "shutdown":
            session.shutdown_notice = True
            self.log("server_shutdown", self.feed.exchange, session.id, detail=notice.detail)
        else:
            self.log(kind, self.feed.exchange, session.id, detail=notice.detail)

    # Supervising.

    async def run(self) -> None:
        """Keep the feed connected until cancelled (or until the source ends)."""
        with contextlib.suppress(_Finished):
            await self._run()

    async def _run(self) -> None:
        session = await self._open()
        while True:
            session = await self._supervise(session)
            assert session.task is not None
            if session.task.done():
                await session.task  # re-raises ExchangeError
                cause = session.end_cause or "connection closed"
                self.log("closed", self.feed.exchange, session.id, cause=cause)
                if self.finishing:
                    return
                self._check_silence(session)
                self._open_gap(cause)
                self.summary.reconnects += 1
                delay = self.backoff.next_delay()
                self.log("reconnect", self.feed.exchange, retry_in=round(delay, 3))
                await asyncio.sleep(delay)
                session = await self._open()

    async def _supervise(self, session: _Session) -> _Session:
        """Watch one session; return it when it ended, or its replacement after a rotation."""
        assert session.task is not None
        last_count = dict(session.frames)
        last_change = dict.fromkeys(session.frames, time.monotonic())
        while True:
            await asyncio.wait({session.task}, timeout=self.options.check_interval)
            if session.task.done():
                return session
            now = time.monotonic()
            self._check_holes()
            self._close_gap_if_known(session)
            within = self.feed.first_data_within
            if session.first_data is None and within is not None and now - session.started > within:
                session.end_cause = f"no data within {within:g} s of connecting"
                self.log("silent", self.feed.exchange, session.id, seconds=within)
                await self._abort(session)
                return session
            if self.sink.waiting:  # not reading while the disk catches up: our silence
                last_change = dict.fromkeys(last_change, now)
            for stream, limit in self.feed.stall_after.items():
                count = session.frames[stream]
                if count != last_count[stream]:
                    last_count[stream], last_change[stream] = count, now
                elif now - last_change[stream] > limit:
                    session.end_cause = f"stalled: no {stream} data for {limit:g} s"
                    self.log("stall", self.feed.exchange, session.id, stream=stream, seconds=limit)
                    await self._abort(session)
                    return session
            if self.finishing:
                continue
            lifetime = self.feed.lifetime
            due = lifetime is not None and now - session.started > lifetime - min(
                self.options.rotate_before, lifetime / 2
            )
            if due or session.shutdown_notice:
                replacement = await self._rotate(session, "lifetime" if due else "server shutdown")
                if replacement is not session:
                    return replacement

    async def _rotate(self, old: _Session, why: str) -> _Session:
        """Make before break: open a new connection, wait for its data, then close the old."""
        self.log("rotate", self.feed.exchange, old.id, reason=why)
        new = await self._open()
        assert new.task is not None
        deadline = time.monotonic() + self.options.overlap_max
        ticking = list(self.feed.stall_after)
        while time.monotonic() < deadline and not new.task.done():
            if all(new.frames[s] for s in ticking) and all(
                new.frames[s] or not old.frames[s] for s in self.feed.streams
            ):
                break
            await asyncio.wait({new.task}, timeout=self.options.check_interval / 5)
        if new.task.done():
            self.log("rotate_failed", self.feed.exchange, new.id, cause=new.end_cause)
            old.started = time.monotonic() - (self.feed.lifetime or 0) + 30.0
            old.shutdown_notice = False
            await new.task
            return old
        old.end_cause = f"replaced ({why})"
        await old.ws.close()
        if old.task is not None:
            await old.task
        self.summary.rotations += 1
        self.log("rotated", self.feed.exchange, new.id, replaced=old.id)
        return new

    async def _abort(self, session: _Session) -> None:
        transport = session.ws.transport
        if transport is not None:
            transport.abort()
        if session.task is not None:
            with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
                await asyncio.wait({session.task}, timeout=self.options.close_timeout)

    # Gaps.

    def _open_gap(self, cause: str) -> None:
        self._gap = {
            "start": round(time.time(), 6),
            "end": None,
            "cause": cause,
            "holes_from": {s: len(c.holes) for s, c in self.continuity.items()},
        }

    def _close_gap_if_known(self, session: _Session) -> None:
        """Log the open gap once every numbered stream has spoken on the new connection."""
        gap = self._gap
        if gap is None or gap["end"] is None:
            return
        if not all(session.frames[s] for s in self.feed.contiguous):
            return
        self._finish_gap()

    def _finish_gap(self) -> None:
        gap, self._gap = self._gap, None
        if gap is None:
            return
        holes_from = gap.pop("holes_from")
        missed = {
            stream: sum(h.missing for h in c.holes[holes_from[stream] :])
            for stream, c in self.continuity.items()
            if stream in self.feed.contiguous
        }
        for stream, cont in self.continuity.items():
            self._holes_seen[stream] = len(cont.holes)
        gap.update(exchange=self.feed.exchange, missed=missed)
        self.summary.gaps.append(gap)
        self.log("gap", self.feed.exchange, **{k: v for k, v in gap.items() if k != "exchange"})

    def _check_holes(self) -> None:
        """Trade ids that jumped within a connection are gaps too."""
        if self._gap is not None:
            return
        for stream, cont in self.continuity.items():
            for hole in cont.holes[self._holes_seen[stream] :]:
                gap = {
                    "exchange": self.feed.exchange,
                    "start": None,
                    "end": round(time.time(), 6),
                    "cause": f"{stream} ids jumped from {hole.first - 1} to {hole.last + 1}",
                    "missed": {stream: hole.missing},
                }
                self.summary.gaps.append(gap)
                self.log(
                    "gap", self.feed.exchange, **{k: v for k, v in gap.items() if k != "exchange"}
                )
            self._holes_seen[stream] = len(cont.holes)

    async def close(self) -> None:
        """Close every open connection politely (bounded by ``close_timeout``)."""
        for session in list(self.sessions):
            with contextlib.suppress(Exception):
                await session.ws.close()
        if self._gap is not None:
            self._finish_gap()

    @property
    def duplicates(self) -> int:
        return sum(c.duplicates for c in self.continuity.values())

    @property
    def missed(self) -> int:
        return sum(c.missing for c in self.continuity.values())


async def record_feeds(
    feeds: Iterable[Feed],
    path: str | Path,
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
) -> RunSummary:
    """Record every feed into one file until ``duration`` passes or ``stop`` is set.

    Lines are appended to ``path``; what happened is appended to
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
    path = Path(path)
    summary = RunSummary(
        path=path,
        events_path=Path(events_path) if events_path is not None else None,
        lines={stream: 0 for feed in feeds for stream in feed.streams},
        sources=dict(sources or {}),
        reasons=dict(reasons or {}),
    )
    sink_kwargs: dict[str, Any] = {"fsync_interval": options.fsync_interval}
    if options.max_queued_bytes is not None:
        sink_kwargs["max_queued_bytes"] = options.max_queued_bytes
    if options.sink_write is not None:
        sink_kwargs["write"] = options.sink_write
    sink = LineSink(path, **sink_kwargs)
    sink.open()
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
        summary.missed_trades = sum(r.missed for r in runners)
        try:
            await sink.aclose()
        except SinkError as exc:
            summary.errors.append(str(exc))
            error = error or exc
        summary.dropped = sink.dropped
        if sink.dropped:
            log("lines_dropped", count=sink.dropped, why="writer queue full")
        log("stop", stopped=summary.stopped, lines=summary.lines, elapsed=round(summary.elapsed, 3))
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
