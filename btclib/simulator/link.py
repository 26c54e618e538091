"""One accepted connection: the machinery every simulated exchange shares.

A :class:`Link` owns what a connection needs beyond its exchange's protocol
session: an outgoing queue drained in order by one writer task (the only code
that touches the socket, so ``Simulator.sent`` lists exactly what was written
before a cut), the faults chosen for it (drops, stalls, injected malformed
frames) and the tasks it spawns. Each exchange subclasses it in its simulator
package to add its session and its timers; the server and the replay see only
this class, so neither needs the other to name a link.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from .clock import MarketFeed
from .config import SimConfig
from .faults import (
    Drop,
    Fault,
    Fired,
    Malformed,
    MalformedKind,
    MicrosecondTimestamps,
    Shutdown,
    Stall,
    Stalls,
)
from .layout import Layout
from .market import Market, Step

__all__ = [
    "COUNTED_OPCODES",
    "ConnectionInfo",
    "ConnectionSpan",
    "Host",
    "Link",
    "ReplayHub",
    "SentFrame",
    "SentLog",
    "SimConnection",
]

#: Inbound frames the exchanges count (rate limit, activity): data and pings.
COUNTED_OPCODES = (Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG)


@dataclass(frozen=True)
class SentFrame:
    """One market data frame as it was handed to the socket."""

    conn_id: int
    exchange: str
    payload: bytes | str
    binary: bool


@dataclass(frozen=True)
class ConnectionInfo:
    """An accepted WebSocket connection."""

    conn_id: int
    exchange: str
    #: 0-based index among this exchange's connection attempts (as in fault rules).
    index: int
    path: str


@dataclass
class ConnectionSpan:
    """When an accepted connection was up, in wall-clock seconds (``time.time()``).

    ``Simulator.spans`` lists them so a test can tell when an exchange had no
    connection at all (a gap the recorder must name) from a make-before-break
    overlap.
    """

    info: ConnectionInfo
    #: The handshake completed.
    opened: float
    #: The connection ended (None: still up).
    closed: float | None = None


class SentLog(Protocol):
    """Where the data frames sent go when ``record_sent``: a list, or a spool to disk
    (a long soak keeps them out of memory)."""

    def append(self, frame: SentFrame, /) -> None: ...


class ReplayHub(Protocol):
    """What a link needs from a replay: to join and leave its timeline."""

    def attach(self, link: Link) -> None: ...

    def detach(self, link: Link) -> None: ...


class Host(Protocol):
    """What a link needs from the simulator that accepted it."""

    config: SimConfig
    feed: MarketFeed
    replay: ReplayHub | None
    sent: SentLog
    injected: list[SentFrame]
    fired: list[Fired]

    def symbols(self, venue: str) -> list[str]: ...

    def phases(self, venue: str) -> dict[str, int]: ...


class SimConnection(ServerConnection):
    """A server connection that shows every inbound frame to its link.

    websockets answers pings itself and never hands ping or pong frames to the
    application; Binance counts them against its rate limit and Upbit counts
    them as activity, so the link must see them here.
    """

    link: Link | None = None

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and self.link is not None:
            self.link.inbound(event)
        super().process_event(event)


@dataclass(frozen=True)
class _Out:
    text: str | bytes
    #: Stream (Binance) or type (Upbit) of a data frame; None for control frames.
    channel: str | None
    #: Injected malformed frame: listed in ``Simulator.injected``.
    injected: bool = False
    #: Opcode override (replay); None: the exchange's own.
    binary: bool | None = None
    #: Sentinel: the writer drops the connection here.
    abort: bool = False
    #: With ``abort``: end with this close frame instead of dropping the TCP connection.
    close_code: int | None = None
    #: The fault this frame or sentinel carries out (listed in ``Simulator.fired`` when sent).
    fault: Fault | None = None
    #: Sentinel: nothing is sent; ``fault`` is listed as fired when the writer gets here.
    mark: bool = False
    #: With ``mark``: set when the writer gets here (every frame queued before it is out).
    reached: asyncio.Event | None = None


class Link:
    """Everything one accepted connection needs beyond its protocol session.

    Subclasses set :attr:`exchange` and :attr:`binary` and implement
    :meth:`serve`, :meth:`on_step` and :meth:`malformed_text`.
    """

    #: Registry name of the exchange this link speaks for.
    exchange: str
    #: Whether the exchange sends its frames as binary (Upbit) or text (Binance).
    binary: bool

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        self.host = host
        self.config = host.config
        self.ws = ws
        self.info = info
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[_Out] = asyncio.Queue()
        self.data_sent = 0
        #: Data frames queued so far. A stall decides when a frame is queued, so it counts
        #: these: the writer may lag behind the market (a busy machine), and a count of
        #: frames already sent would let the frames queued meanwhile through the stall.
        self.data_queued = 0
        self.opened = self.loop.time()
        self.closing = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.drops = [f for f in faults if isinstance(f, Drop)]
        self.stalls = Stalls((f for f in faults if isinstance(f, Stall)), self.opened)
        self.malformed = [f for f in faults if isinstance(f, Malformed)]
        self.shutdowns = [f for f in faults if isinstance(f, Shutdown)]
        self.micro = any(isinstance(f, MicrosecondTimestamps) for f in faults)
        # A replay sends its capture's frames exactly; a synthetic market now and then lays
        # a data frame out anew (:mod:`.layout`), from a generator of this connection's own.
        rate = 0.0 if host.replay is not None else self.config.layout_rate
        self.layout = Layout(rate, self.config.seed * 1_000_003 + info.conn_id)
        self._unsubscribe: Callable[[], None] | None = None
        self._writer_task: asyncio.Task[Any] | None = None

    # -- hooks for subclasses ---------------------------------------------------------

    def inbound(self, frame: Frame) -> None:
        """Called for every frame received, pings and pongs included."""

    async def serve(self) -> None:
        """Read the client's messages until the connection ends."""
        raise NotImplementedError

    def on_step(self, step: Step) -> None:
        """Queue this connection's data frames for one market step."""
        raise NotImplementedError

    def malformed_text(self, kind: MalformedKind) -> str:
        """The broken frame of ``kind`` this exchange sends on this connection."""
        raise NotImplementedError

    def announce_shutdown(self) -> None:
        """Tell the client the server will close soon (Binance: ``serverShutdown``).

        An exchange without such a notice sends nothing.
        """

    @property
    def shutdown_close_code(self) -> int:
        """Close code of a lifetime cut or a :class:`~.faults.Shutdown`."""
        return 1001

    # -- common machinery -------------------------------------------------------------

    @property
    def market(self) -> Market | None:
        return self.host.feed.market

    @property
    def replay(self) -> ReplayHub | None:
        return self.host.replay

    def live_market(self) -> Market | None:
        """The synthetic market (started if need be), or None when replaying a capture."""
        return self.host.feed.start() if self.host.replay is None else None

    async def run(self) -> None:
        self._writer_task = self.spawn(self._writer())
        for drop in self.drops:
            if drop.after_seconds is not None:
                self.spawn(self._abort_later(drop))
        for shutdown in self.shutdowns:
            self.spawn(self.cut(shutdown.after_seconds, shutdown.notice, shutdown))
        if self.host.replay is None:
            self.host.feed.start()
            self._unsubscribe = self.host.feed.subscribe(self._step)
        try:
            await self.serve()
        except ConnectionClosed:
            pass  # the client went away or a fault cut the connection: nothing to report
        finally:
            self.closing = True
            if self._unsubscribe is not None:
                self._unsubscribe()
            if self.host.replay is not None:
                self.host.replay.detach(self)
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self.tasks.append(task)
        return task

    def _step(self, step: Step) -> None:
        if not self.closing:
            self.on_step(step)

    def emit(self, channel: str, text: str) -> None:
        """Queue one market data frame unless a stall silences its channel."""
        if not self.closing and not self._stalled(channel):
            self._queue_data(_Out(text, channel))

    def control(self, text: str) -> None:
        """Queue one non-data frame (reply, error, status, event)."""
        if not self.closing:
            self.queue.put_nowait(_Out(text, None))

    def replayed(self, payload: str | bytes, binary: bool, data: bool) -> None:
        """Queue one captured frame, exactly as captured."""
        if self.closing:
            return
        if data:
            if not self._stalled("replay"):
                self._queue_data(_Out(payload, "replay", binary=binary))
        else:
            self.queue.put_nowait(_Out(payload, None, binary=binary))

    async def flushed(self) -> None:
        """Wait until every frame queued so far was handed to the socket (or the writer ended).

        Frames queued meanwhile do not count: an empty queue (``join``) need never come
        on a busy machine, where the market may queue frames as fast as a lagging writer
        sends them, and a lifetime cut would wait for it.
        """
        assert self._writer_task is not None, "link not running"
        reached = asyncio.Event()
        self.queue.put_nowait(_Out("", None, mark=True, reached=reached))
        wait = self.loop.create_task(reached.wait())
        try:
            await asyncio.wait({wait, self._writer_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wait.cancel()

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a close frame once every queued frame is out; nothing is sent after."""
        await self.flushed()
        self.closing = True
        await self.ws.close(code, reason)

    def _queue_data(self, out: _Out) -> None:
        self.data_queued += 1
        self.queue.put_nowait(out)

    def _stalled(self, channel: str) -> bool:
        stalls = self.stalls
        begun = len(stalls.started)
        # The queue is in order: the frames queued before this one are the data frames sent
        # before it, however far the writer lags.
        silenced = stalls.silences(channel, self.loop.time(), self.data_queued)
        for stall in stalls.started[begun:]:
            # It strikes the stream here, after the frames already queued: listed as fired
            # when the writer gets to this point, in order with the faults the writer fires.
            self.queue.put_nowait(_Out("", None, fault=stall, mark=True))
        return silenced

    def fired(self, fault: Fault) -> None:
        """Note that ``fault`` takes effect now on this connection."""
        info = self.info
        self.host.fired.append(Fired(time.time(), self.exchange, info.index, fault, info.conn_id))

    async def cut(self, after: float, notice: float | None, fault: Fault | None = None) -> None:
        """End the connection ``after`` seconds from now with a close frame, announced
        ``notice`` seconds before when the exchange has a notice (a lifetime cut)."""
        if notice is not None and 0 <= notice < after:
            await asyncio.sleep(after - notice)
            if fault is not None:
                self.fired(fault)
            self.announce_shutdown()
            await asyncio.sleep(notice)
        else:
            await asyncio.sleep(after)
            if fault is not None:
                self.fired(fault)
        await self.close(self.shutdown_close_code)

    async def _send(self, out: _Out) -> SentFrame:
        binary = self.binary if out.binary is None else out.binary
        payload = out.text
        if out.channel is not None and not out.injected:
            payload = self.layout(payload)
        if binary and isinstance(payload, str):
            payload = payload.encode()
        elif not binary and isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        await self.ws.send(payload)
        return SentFrame(self.info.conn_id, self.exchange, payload, binary)

    def _bad(self, fault: Malformed) -> _Out:
        return _Out(self.malformed_text(fault.kind), None, injected=True, fault=fault)

    async def _writer(self) -> None:
        for fault in self.malformed:
            if fault.after_messages == 0:
                self.queue.put_nowait(self._bad(fault))
        try:
            while True:
                out = await self.queue.get()
                if out.abort:
                    if out.fault is not None:
                        self.fired(out.fault)
                    await self._end(out.close_code)
                    return
                if out.mark:
                    if out.fault is not None:
                        self.fired(out.fault)
                    if out.reached is not None:
                        out.reached.set()
                    continue
                frame = await self._send(out)
                if out.injected:
                    self.host.injected.append(frame)
                    if out.fault is not None:
                        self.fired(out.fault)
                if out.channel is None:
                    continue
                self.data_sent += 1
                if self.config.record_sent:
                    self.host.sent.append(frame)
                for fault in self.malformed:
                    if fault.after_messages == self.data_sent:
                        # Sent right now, not queued: it lands exactly after
                        # the N-th data frame whatever is waiting.
                        self.host.injected.append(await self._send(self._bad(fault)))
                        self.fired(fault)
                drop = next(
                    (
                        d
                        for d in self.drops
                        if d.after_messages is not None and self.data_sent >= d.after_messages
                    ),
                    None,
                )
                if drop is not None:
                    self.fired(drop)
                    await self._end(drop.close_code)
                    return
        except ConnectionClosed:
            self.closing = True

    async def _abort_later(self, drop: Drop) -> None:
        assert drop.after_seconds is not None
        await asyncio.sleep(drop.after_seconds)
        self.request_abort(drop.close_code, drop)

    def request_abort(self, close_code: int | None = None, fault: Fault | None = None) -> None:
        """Have the writer drop the connection once the frames queued so far are out.

        Only the writer touches the socket, so every frame listed in
        ``Simulator.sent`` was written before the cut, and none after it.
        With ``close_code`` it ends with that close frame instead.
        """
        self.closing = True
        self.queue.put_nowait(_Out("", None, abort=True, close_code=close_code, fault=fault))

    async def _end(self, close_code: int | None) -> None:
        """Drop the connection, or close it with ``close_code``; nothing is sent after."""
        if close_code is None:
            await self._abort()
            return
        self.closing = True
        with contextlib.suppress(ConnectionClosed):
            await self.ws.close(close_code)

    async def _abort(self) -> None:
        """Drop the TCP connection without a close frame, after flushing what was sent."""
        self.closing = True
        transport = self.ws.transport
        if transport.is_closing():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                transport.set_write_buffer_limits(high=0)
                await self.ws.drain()
        transport.abort()
