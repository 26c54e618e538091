"""The recorder's asyncio front-end: it performs what the supervisor decides.

Per feed (one exchange subscription), a :class:`FeedRunner` moves bytes: it
connects, runs the hot loop (:meth:`FeedRunner.pump`: frame -> parser ->
sink), and reports what happens to the feed's
:class:`~btclib.recorder.supervisor.Supervisor`, whose pure rules decide when
to abort, rotate, reconnect or give up (retrying with backoff within the
connection budget, stall detection per stream, make-before-break rotation,
fail-fast on what retrying cannot heal, gaps). It knows no exchange: URLs,
requests, parsers, keep-alive and limits come with each feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ..errors import ExchangeError
from ..feed import MAX_FRAME_BYTES, Feed, Notice
from ..files.eventlog import EventLog
from ..files.sink import Sink
from .continuity import Continuity
from .events import FrameTap
from .failures import describe, explain, failure
from .options import RecorderOptions
from .summary import RunSummary
from .supervisor import (
    Abort,
    Action,
    Done,
    GapFound,
    Log,
    Reconnect,
    Retire,
    Retry,
    Rotate,
    Stop,
    Supervisor,
    worth_logging,
)
from .wsqueue import queued_frames

__all__ = ["FeedRunner", "Session"]


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
        sink: Sink,
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
        link = self.summary.link(self.feed.exchange)
        while True:
            if self.finishing:
                raise _Finished
            wait = supervisor.connect_wait(self.loop.time())
            if wait > 0:
                self.log("connect_budget", self.feed.exchange, wait=round(wait, 3))
                await asyncio.sleep(wait)
                continue
            link.trying()
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
                actions = supervisor.connect_failed(failure(exc))
                retry = next((a.delay for a in actions if isinstance(a, Retry)), None)
                link.attempt_failed(explain(exc, self.feed.url), retry, self.loop.time())
                await self._perform(actions, cause=exc)

    async def _open(self) -> Session:
        ws = await self._connect()
        session = Session(self._next_id(), ws, dict.fromkeys(self.feed.streams, 0))
        self.supervisor.opened(session.id, self.loop.time(), session.frames)
        self.summary.connections += 1
        self.summary.link(self.feed.exchange).opened()
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
        # (btclib.recorder.wsqueue); before waiting for more, pending lines go to the OS.
        # When the queue to a slow disk is full, reading waits for room instead
        # of dropping lines: ``append`` then queues nothing and says so, and after
        # ``room`` the line is queued with ``write`` (or counted as dropped).
        ws, feed = session.ws, self.feed
        sink = self.sink
        parse, append, flush = feed.parser, sink.append, sink.flush
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
                    if not append(line):  # the disk is far behind: TCP holds the data meanwhile
                        await sink.room()
                        sink.write(line)  # queued, or counted as dropped
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
            if worth_logging(self.summary.bad_frames):
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
                self.summary.link(exchange).ended()
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
        """End a connection we gave up on, without losing what it already delivered.

        A stalled stream does not mean a dead socket: frames of the other stream, or
        ones that waited in the kernel while the reader was busy, may have arrived and
        not been read yet, and dropping the socket at once (``transport.abort()``)
        would lose them. So close politely: the reader goes on until the server's
        close frame, within ``close_timeout``, after which websockets drops the
        connection itself (a dead server answers nothing).
        """
        session.end_cause = cause
        with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
            await asyncio.wait_for(session.ws.close(), self.options.close_timeout * 2)
        transport = session.ws.transport
        if transport is not None and not transport.is_closing():
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
        await self._perform(self.supervisor.finish(self.loop.time()))

    @property
    def duplicates(self) -> int:
        return sum(c.duplicates for c in self.continuity.values())

    @property
    def missed(self) -> int:
        return sum(c.missing for c in self.continuity.values())
