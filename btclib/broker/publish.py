"""``--publish``: a sink that tees every line to the file sink and to a JetStream stream.

Why a tee on the :class:`~btclib.files.sink.Sink` contract: the recorder's hot loop
knows only that contract, so publishing is one more sink and nothing in the recorder
changes; the data file is still written first and stays the local truth (``--no-file``
leaves it out). The hot path only appends the line to a list; at each ``flush`` (before
the reader next waits for the network) the new lines go into the spool on disk in one
write (:mod:`btclib.broker.spool`). The publisher sends them on, either as an asyncio
task of the recorder's own loop (:class:`Publisher`, fed by :meth:`Publisher.add`) or,
as the command line does, from a process of its own that follows the spool's files
(:mod:`btclib.broker.worker`, fed through :mod:`btclib.broker.handoff`), so that the
NATS client's work per line is not the recorder's: the reader never waits for the broker.

How lines reach the stream exactly once and in order:

- Each line has a sequence number in its run (1, 2, 3...: the order the recorder handed
  the lines over, which is the data file's order) and goes out with the message id
  ``<run>:<seq>`` (``Nats-Msg-Id``): a resend within the stream's duplicate window is
  dropped by the server. The issue asked for run, connection and frame: the sink
  contract hands over lines, not frames, and the run's line number is as stable (it is
  stored in the spool with the line: its position) and names every line of a run once.
- Normally many lines are in flight (up to ``max_inflight``), each acknowledged on its
  own reply subject; the acknowledgement gives the line's stream sequence. The lines of
  a run must get increasing stream sequences: that is what per-subject order means for
  a log (and what ``consume`` relies on).
- Anything else (an acknowledgement that does not come within ``ack_timeout``, an error,
  no responders: the broker is away, or has no quorum, or a node died with lines in
  flight) is an outage: the publisher stops pipelining, removes from the stream the
  lines acknowledged *after* the first one missing (they would be out of order), and
  resends from that first missing line one at a time, checking each acknowledgement,
  retrying with backoff until the broker answers again. Lines it removed are resent
  under the id ``<run>:<seq>.<n>`` (the duplicate window remembers the old one).
  Pipelining resumes once every line in doubt is in place. The events log says when the
  outage began and ended and how many lines waited.
- A run's progress (acknowledged in order up to which line, and its stream sequence) is
  saved in the spool several times a second; a recorder started again on the same spool
  sends the earlier runs' lines after that point (the ones sent before, one at a time,
  since the stream may have them) before its own.

Events-log records are published too, on ``btclib.events.<exchange>``, read from the
events file itself (so a run's last records, written after the sink closed, go out with
the next run), with the id ``ev:<file>:<byte offset>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files.eventlog import EventLog
from ..files.sink import FileReport, Sink
from .connection import Broker
from .handoff import Handoff
from .spool import RunSpool, Spool, spool_path
from .subjects import Router, event_subject

__all__ = ["BrokerSink", "PublishOptions", "Publisher"]

MSG_ID = "Nats-Msg-Id"
_ACK_SEQ = re.compile(rb'"seq":(\d+)')


@dataclass
class PublishOptions:
    """How the publisher behaves; the defaults are the command line's."""

    spool_max_bytes: int = 1 << 30
    """Unacknowledged lines kept on disk at most (then counted as not published)."""
    memory_bytes: int = 64 << 20
    """Unacknowledged lines kept in memory too; the rest is read back from the spool."""
    max_inflight: int = 4096
    """Lines sent and not yet acknowledged, at most."""
    ack_timeout: float = 2.0
    """An acknowledgement later than this means an outage."""
    drain_timeout: float = 10.0
    """At the end, how long to wait for the broker to acknowledge what is left."""
    save_interval: float = 0.2
    events_interval: float = 0.25
    process: bool = False
    """Publish from a process of its own (:mod:`btclib.broker.worker`; the command line
    does): the recorder then pays only the spool's write a flush."""


class _Run:
    """The lines of one run not yet in the stream in order, and the state of sending them."""

    def __init__(self, index: int, spool: RunSpool) -> None:
        self.index = index
        self.spool = spool
        self.id = spool.run
        self.base = spool.acked + 1
        """The first line not yet confirmed in place."""
        self.last_stream_seq = spool.stream_seq
        self.lines: list[bytes] = []
        """Lines in memory from ``lines[head]`` (line ``base``) on; ``mem_end`` is the one
        after. A list, not a deque: sending indexes it deep inside (a deque's index is
        O(n) there); confirmed lines are cut off the front in bulk."""
        self.head = 0
        self.mem_bytes = 0
        self.next = self.base
        """The next line to send."""
        self.doubt = spool.sent + 1 if spool.sent >= self.base else self.base
        """Lines before this one may be in the stream already: sent one at a time."""
        self.acks: dict[int, int] = {}
        self.attempt: dict[int, int] = {}
        self.sent_at: deque[tuple[int, float]] = deque()
        """(last line of a batch, when it was sent), oldest first."""

    @property
    def end(self) -> int:
        return self.spool.end

    @property
    def mem_end(self) -> int:
        return self.base + len(self.lines) - self.head

    def msg_id(self, seq: int) -> str:
        n = self.attempt.get(seq) if self.attempt else None
        return f"{self.id}:{seq}" if n is None else f"{self.id}:{seq}.{n}"

    def line(self, seq: int) -> bytes:
        return self.lines[self.head + seq - self.base]

    def confirm(self, stream_seq: int) -> None:
        """Line ``base`` is in place at ``stream_seq``."""
        line = self.lines[self.head]
        self.head += 1
        if self.head > 4096 and self.head * 2 > len(self.lines):
            del self.lines[: self.head]
            self.head = 0
        self.mem_bytes -= len(line)
        self.last_stream_seq = stream_seq
        if self.attempt:
            self.attempt.pop(self.base, None)
        self.base += 1
        if self.next < self.base:
            self.next = self.base
        spool = self.spool
        spool.acked, spool.stream_seq = self.base - 1, stream_seq


class Publisher:
    """Sends the runs' lines to the stream (see the module's docstring for the rules)."""

    def __init__(
        self,
        broker: Broker,
        spool: Spool,
        router: Router,
        log: EventLog,
        options: PublishOptions,
        events_path: Path | None = None,
        events_from: int | None = None,
    ) -> None:
        self.broker = broker
        self.events_from = events_from
        """Where this run's records begin in the events file (its size when the sink
        opened), for a spool that has published none of that file yet."""
        self.spool = spool
        self.router = router
        self.log = log
        self.options = options
        self.events_path = events_path
        self.runs: list[_Run] = []
        self.current: _Run | None = None
        self.not_spooled = 0
        """Lines the spool had no room for: not published (still in the data file)."""
        self.published = 0
        """Lines confirmed in the stream, in order, by this process."""
        self.resent = 0
        self.removed = 0
        self.outages = 0
        self._down_since: float | None = None
        self._wake = asyncio.Event()
        self._window_full = False
        self._connected = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._inbox = ""
        self._sub: Any = None
        self._events_offset = 0
        self._spool_full = False

    # Setting up.

    async def start(
        self, run_id: str, leftovers: list[RunSpool], current: RunSpool | None = None
    ) -> None:
        """Begin sending: the earlier runs' lines first, then this run's (``current``: a
        run another process writes, :meth:`RunSpool.follow`; else a new one, :meth:`add`)."""
        nc = self.broker.nc
        self._inbox = nc.new_inbox()
        self._sub = await nc.subscribe(self._inbox + ".>", cb=self._on_ack)
        for spool in leftovers:
            self.runs.append(_Run(len(self.runs), spool))
        self.current = _Run(len(self.runs), current or self.spool.new_run(run_id))
        self.runs.append(self.current)
        if nc.is_connected:
            self._connected.set()
        self.broker.listeners.append(self)
        self.log(
            "broker",
            urls=self.broker.shown,
            stream=self.broker.stream,
            replicas=self.broker.replicas,
            run=run_id,
            spool=str(self.spool.folder),
        )
        self._events_offset = self._load_events_offset()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._send_loop(), name="btclib:broker:send"),
            loop.create_task(self._save_loop(), name="btclib:broker:save"),
        ]
        if self.events_path is not None:
            self._tasks.append(loop.create_task(self._events_loop(), name="btclib:broker:events"))
        if leftovers:
            self.log(
                "broker_resend",
                runs=[r.run for r in leftovers],
                lines=sum(r.end - 1 - r.acked for r in leftovers),
                why="lines of earlier runs left unacknowledged in the spool",
            )
        self._wake.set()

    async def on_disconnected(self) -> None:
        self._connected.clear()
        self._outage("disconnected")

    async def on_reconnected(self) -> None:
        self._connected.set()
        self._wake.set()

    # The hot path's other half: lines handed over at each flush.

    def add(self, lines: list[bytes]) -> None:
        """Spool ``lines`` (one write) and queue them for sending."""
        run = self.current
        assert run is not None
        chunk = b"".join(lines)
        if run.spool.pending_bytes + len(chunk) > self.options.spool_max_bytes:
            self.not_spooled += len(lines)
            if not self._spool_full:
                self._spool_full = True
                self.log(
                    "broker_spool_full",
                    limit=self.options.spool_max_bytes,
                    why="the broker is too far behind: lines stay in the data file only",
                )
            return
        self._spool_full = False
        in_memory = run.mem_end == run.end
        run.spool.append(chunk, len(lines))
        if in_memory and run.mem_bytes < self.options.memory_bytes:
            run.lines.extend(lines)
            run.mem_bytes += len(chunk)
        if not self._wake.is_set():
            self._wake.set()

    def add_followed(self, lines: list[bytes]) -> None:
        """``lines``, already in the spool (written by the recorder's process and found by
        :meth:`RunSpool.follow`), queued for sending."""
        run = self.current
        assert run is not None
        if run.mem_end + len(lines) == run.end and run.mem_bytes < self.options.memory_bytes:
            run.lines.extend(lines)
            run.mem_bytes += sum(map(len, lines))
        if not self._wake.is_set():
            self._wake.set()

    def report(self) -> dict[str, Any]:
        """What the summary says of the broker (the worker prints it for the recorder)."""
        return {
            "published": self.published,
            "outages": self.outages,
            "spooled": self.spooled,
            "oldest_s": round(self.oldest_age(), 3),
            "not_spooled": self.not_spooled,
        }

    # How far behind.

    @property
    def spooled(self) -> int:
        """Lines not yet confirmed in the stream (every run)."""
        return sum(r.end - r.base for r in self.runs)

    def oldest_age(self) -> float:
        """Seconds the oldest line not yet confirmed has waited (0 when none)."""
        for run in self.runs:
            if run.base < run.end:
                if run.sent_at:
                    return max(0.0, time.monotonic() - run.sent_at[0][1])
                return 0.0 if self._down_since is None else time.monotonic() - self._down_since
        return 0.0

    # Sending.

    def _head(self) -> _Run | None:
        """The oldest run with lines left: later runs wait until it is all in place."""
        for run in self.runs:
            if run.base < run.end:
                return run
        return None

    def _refill(self, run: _Run) -> None:
        """Read lines back from the spool into memory when memory ran short of them."""
        while run.mem_end < run.end and run.mem_bytes < self.options.memory_bytes // 2:
            got = run.spool.read(run.mem_end, 4 << 20)
            if not got:
                break
            run.lines.extend(got)
            run.mem_bytes += sum(map(len, got))

    async def _send_loop(self) -> None:
        # Woken by new lines (add), by an acknowledgement when the window was full, by
        # the watchdog (:meth:`_save_loop`) when an acknowledgement is late, and by a
        # reconnect. No timeout per wait: at live rates that timer cost more than the
        # sending (asyncio.wait_for makes a task each time).
        wake = self._wake
        while True:
            run = self._head()
            if run is None or (run.next >= run.end and run.base >= run.doubt):
                if self._closing and run is None:
                    return
                wake.clear()
                await wake.wait()
                continue
            if not self._connected.is_set():
                await self._connected.wait()
            if run.mem_end < run.end:
                self._refill(run)
            if run.base < run.doubt:
                await self._resend_one_by_one(run)
                continue
            limit = min(run.end, run.mem_end, run.base + self.options.max_inflight)
            if run.next >= limit:
                self._window_full = True
                wake.clear()
                await wake.wait()
                continue
            await self._send_batch(run, limit)

    async def _send_batch(self, run: _Run, limit: int) -> None:
        publish, route, inbox = self.broker.nc.publish, self.router, f"{self._inbox}.{run.index}."
        seq = run.next
        stop = min(limit, seq + 1024)  # then let the reader have the loop
        lines, at, ids = run.lines, run.head - run.base, f"{run.id}:"
        try:
            while seq < stop:
                line = lines[at + seq]
                msg_id = run.msg_id(seq) if run.attempt else ids + str(seq)
                await publish(route(line), line, inbox + str(seq), {MSG_ID: msg_id})
                seq += 1
        except Exception as exc:  # reconnecting with a full buffer, closed: an outage
            self._outage(f"send failed: {exc or type(exc).__name__}")
            run.doubt = max(run.doubt, seq + 1)
        run.next = seq
        run.spool.sent = max(run.spool.sent, seq - 1)
        run.sent_at.append((seq - 1, time.monotonic()))
        if seq < limit:
            await asyncio.sleep(0)  # more to send: let the reader have the loop between

    async def _on_ack(self, msg: Any) -> None:
        token = msg.subject[len(self._inbox) + 1 :]
        index, _, seq_text = token.partition(".")
        try:
            run, seq = self.runs[int(index)], int(seq_text)
        except (ValueError, IndexError):
            return
        if seq < run.base or seq < run.doubt:
            return  # confirmed already, or being resent one at a time
        if msg.headers and msg.headers.get("Status") == "503":
            self._outage("no responders (no stream leader: the cluster has no quorum?)")
            run.doubt = max(run.doubt, run.next)
            self._wake.set()
            return
        data = msg.data
        found = _ACK_SEQ.search(data)  # {"stream":"BTCLIB","seq":12[,"duplicate":true]}
        if found is None or b'"error"' in data:
            self._outage(f"the broker answered {data[:200]!r}")
            run.doubt = max(run.doubt, run.next)
            self._wake.set()
            return
        run.acks[seq] = int(found.group(1))
        self._advance(run)
        if self._window_full:
            self._window_full = False
            self._wake.set()

    def _advance(self, run: _Run) -> None:
        acks = run.acks
        while run.base in acks:
            stream_seq = acks[run.base]
            if stream_seq <= run.last_stream_seq:  # stored before an earlier line: misplaced
                run.doubt = max(run.doubt, run.next)
                self._outage("a line was stored out of order (a resend after a failover)")
                self._wake.set()
                return
            del acks[run.base]
            run.confirm(stream_seq)
            self.published += 1
        while run.sent_at and run.sent_at[0][0] < run.base:
            run.sent_at.popleft()
        if self._closing and run.base >= run.end:
            self._wake.set()  # the last line is in: closing need not wait any longer
        if self._down_since is not None and run.base >= run.doubt:
            self._recovered()

    def _check_timeout(self, run: _Run) -> None:
        late = run.sent_at and time.monotonic() - run.sent_at[0][1] > self.options.ack_timeout
        if late and run.base < run.next:
            self._outage(f"no acknowledgement within {self.options.ack_timeout:g} s")
            run.doubt = max(run.doubt, run.next)

    async def _resend_one_by_one(self, run: _Run) -> None:
        """Put lines ``base`` .. ``doubt - 1`` in place, one request each (see the module)."""
        # Every line acknowledged beyond the first missing one is stored before it.
        for seq in sorted(run.acks):
            await self._remove(run, seq, run.acks.pop(seq))
        run.sent_at.clear()
        run.next = run.base
        delay = 0.1
        while run.base < run.doubt:
            self._refill(run)
            seq = run.base
            line = run.line(seq)
            try:
                answer = await self.broker.nc.request(
                    self.router(line), line, timeout=self.options.ack_timeout,
                    headers={MSG_ID: run.msg_id(seq)},
                )  # fmt: skip
                if answer.headers and answer.headers.get("Status") == "503":
                    raise ConnectionError("no responders (no stream leader)")
                reply = json.loads(answer.data)
                if "error" in reply:
                    raise ConnectionError(reply["error"].get("description", str(reply["error"])))
                stream_seq = int(reply["seq"])
            except Exception as exc:
                self._outage(str(exc) or type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
                continue
            delay = 0.1
            self.resent += 1
            if stream_seq <= run.last_stream_seq:  # a duplicate stored before its elders
                await self._remove(run, seq, stream_seq)
                continue
            run.confirm(stream_seq)
            run.spool.sent = max(run.spool.sent, seq)
            self.published += 1
        run.next = max(run.next, run.base)
        if self._down_since is not None:
            self._recovered()

    async def _remove(self, run: _Run, seq: int, stream_seq: int) -> None:
        """Delete a misplaced line from the stream (it is resent under a new id)."""
        from nats.js.errors import NotFoundError

        delay = 0.1
        while True:
            try:
                await self.broker.js.delete_msg(self.broker.stream, stream_seq)
                break
            except NotFoundError:
                break  # gone already
            except Exception as exc:
                if "no message found" in str(exc).lower():
                    break
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        run.attempt[seq] = run.attempt.get(seq, 0) + 1
        self.removed += 1

    # Outages in the events log.

    def _outage(self, why: str) -> None:
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        self.outages += 1
        self.log("broker_down", why=why, spooled=self.spooled)

    def _recovered(self) -> None:
        if self._down_since is None:
            return
        down = time.monotonic() - self._down_since
        self._down_since = None
        self.log("broker_up", down_s=round(down, 3), spooled=self.spooled, resent=self.resent)

    # Saving progress, events.

    async def _save_loop(self) -> None:
        """Save progress; and the watchdog: a late acknowledgement is an outage."""
        synced = time.monotonic()
        while True:
            await asyncio.sleep(self.options.save_interval)
            run = self._head()
            if run is not None and run.base >= run.doubt:
                self._check_timeout(run)
                if run.base < run.doubt:
                    self._wake.set()
            self.save()
            if time.monotonic() - synced > 1.0:
                synced = time.monotonic()
                await asyncio.to_thread(self._sync)

    def _sync(self) -> None:
        for run in list(self.runs):
            run.spool.sync()

    def save(self) -> None:
        for run in self.runs:
            run.spool.save()
        self._save_events_offset()

    def _events_meta(self) -> Path:
        return self.spool.folder / "events.json"

    def _load_events_offset(self) -> int:
        with contextlib.suppress(OSError, ValueError, KeyError):
            info = json.loads(self._events_meta().read_text())
            if self.events_path is not None and info["path"] == str(self.events_path):
                return int(info["offset"])
        if self.events_from is not None:
            return self.events_from
        if self.events_path is not None and self.events_path.exists():
            return self.events_path.stat().st_size  # a fresh spool: this run's events on
        return 0

    def _save_events_offset(self) -> None:
        if self.events_path is None:
            return
        meta = self._events_meta()
        tmp = meta.with_name(meta.name + ".tmp")
        tmp.write_text(json.dumps({"path": str(self.events_path), "offset": self._events_offset}))
        tmp.replace(meta)

    async def _events_loop(self) -> None:
        assert self.events_path is not None
        while True:
            await self.publish_events()
            if self._closing:
                return
            await asyncio.sleep(self.options.events_interval)

    async def publish_events(self) -> None:
        """Send the events log's whole records written since the last ones sent."""
        path = self.events_path
        if path is None or not self._connected.is_set() or self._down_since is not None:
            return
        try:
            with path.open("rb") as f:
                f.seek(self._events_offset)
                data = f.read(1 << 20)
        except OSError:
            return
        offset = self._events_offset
        for record in data.split(b"\n")[:-1]:
            try:
                exchange = json.loads(record).get("exchange")
            except ValueError:
                exchange = None
            try:
                answer = await self.broker.nc.request(
                    event_subject(exchange), record, timeout=self.options.ack_timeout,
                    headers={MSG_ID: f"ev:{path.name}:{offset}"},
                )  # fmt: skip
                if "error" in json.loads(answer.data):
                    return
            except Exception:
                return  # the broker is away: these records wait in the events file
            offset += len(record) + 1
            self._events_offset = offset

    # Closing.

    async def close(self, drain_timeout: float) -> None:
        """Give the broker ``drain_timeout`` seconds to take what is left, then stop;
        whatever it did not acknowledge stays in the spool for the next run."""
        self._closing = True
        self._wake.set()
        send = self._tasks[0] if self._tasks else None
        if send is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(send), drain_timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.events_path is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.publish_events(), 2.0)
        self.save()
        left = self.spooled
        if left:
            self.log("broker_behind", spooled=left, oldest_s=round(self.oldest_age(), 3),
                     why="not acknowledged when the run ended: the next run on this spool "
                         "sends them")  # fmt: skip
        self.spool.close([r.spool for r in self.runs])
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        with contextlib.suppress(ValueError):
            self.broker.listeners.remove(self)


def _size(path: Path | None) -> int | None:
    try:
        return None if path is None else path.stat().st_size
    except OSError:
        return 0


class BrokerSink:
    """A :class:`~btclib.files.sink.Sink` that writes ``file`` (``None``: ``--no-file``)
    and publishes every line to ``broker`` (see the module's docstring).

    ``base``: the data file's name (the spool goes beside it, ``<name>.spool``);
    ``routes``: line key -> exchange, from the feeds; ``events_path``: the run's events
    log (its records are published too; the sink also logs the broker's outages there).
    """

    def __init__(
        self,
        file: Sink | None,
        broker: Broker,
        *,
        base: str | Path,
        routes: Mapping[str, str] | None = None,
        events_path: str | Path | None = None,
        options: PublishOptions | None = None,
        run_id: str | None = None,
    ) -> None:
        self.file = file
        self.broker = broker
        self.base = Path(base)
        self.options = options or PublishOptions()
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.events_path = Path(events_path) if events_path is not None else None
        self.failed = file.failed if file is not None else asyncio.Event()
        self._log = EventLog(self.events_path)
        self.spool = Spool(spool_path(self.base), self.options.spool_max_bytes)
        events_from = _size(self.events_path)  # this run's records begin here
        self.publisher = Publisher(
            broker,
            self.spool,
            Router(routes),
            self._log,
            self.options,
            self.events_path,
            events_from,
        )
        self.handoff: Handoff | None = None
        if self.options.process:
            self.handoff = Handoff(
                self.spool,
                broker.urls,
                broker.stream,
                self.run_id,
                self.events_path,
                self.options.drain_timeout,
                self.options.spool_max_bytes,
                events_from,
                self._log,
            )
        self._new: list[bytes] = []
        self._count = 0
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._starting: asyncio.Task[None] | None = None

    # What the recorder reads.

    @property
    def error(self) -> BaseException | None:
        return self.file.error if self.file is not None else None

    @property
    def lines(self) -> int:
        return self.file.lines if self.file is not None else self._count

    @property
    def dropped(self) -> int:
        return self.file.dropped if self.file is not None else 0

    @property
    def size(self) -> int:
        return self.file.size if self.file is not None else 0

    @property
    def waiting(self) -> bool:
        return self.file.waiting if self.file is not None else False

    @property
    def queued_bytes(self) -> int:
        """The data file's (what waits for the broker is :meth:`behind`)."""
        return self.file.queued_bytes if self.file is not None else 0

    def behind(self) -> tuple[int, float]:
        """(lines not yet in the stream, seconds the oldest has waited): the progress
        line's and the summary's "how far behind"."""
        if self.handoff is not None:
            return self.handoff.behind()
        return self.publisher.spooled, self.publisher.oldest_age()

    def report(self) -> dict[str, Any]:
        """Lines published, outages, lines still spooled, the oldest's age, lines the
        spool had no room for: the summary's broker line."""
        if self.handoff is not None:
            return self.handoff.report()
        return self.publisher.report()

    # Life.

    def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.handoff is not None:
            self.handoff.start()
            try:
                if self.file is not None:
                    self.file.open()
            except BaseException:
                self._loop.create_task(self.handoff.close())
                raise
            return
        leftovers = self.spool.open()
        try:
            if self.file is not None:
                self.file.open()
        except BaseException:
            self.spool.close(leftovers)
            raise
        self._starting = self._loop.create_task(self.publisher.start(self.run_id, leftovers))

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        if self.file is not None:
            return self.file.start_fields(files)
        return {"offset": None, "line": None}

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        if self.file is not None:
            return self.file.stop_fields(files, lines)
        return {"end_offset": None, "end_line": None}

    # The hot path.

    def append(self, line: bytes) -> bool:
        if self.file is not None and not self.file.append(line):
            return False
        self._new.append(line)
        return True

    def write(self, line: bytes) -> None:
        if self.file is not None:
            self.file.write(line)
        self._new.append(line)
        if not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()
        new = self._new
        if new and not self._closed:
            self._count += len(new)
            self._new = []
            if self.handoff is not None:
                self.handoff.add(new)
                return
            if self.publisher.current is None:  # start() has not run yet: hold them
                self._new = new
                return
            self.publisher.add(new)

    async def room(self) -> None:
        if self.file is not None:
            await self.file.room()

    async def aclose(self) -> None:
        if self._closed:
            return
        error: BaseException | None = None
        if self.file is not None:
            try:
                await self.file.aclose()
            except BaseException as exc:
                error = exc
        if self._starting is not None:
            await self._starting
        self.flush()
        self._closed = True
        if self.handoff is not None:
            await self.handoff.close()
        else:
            await self.publisher.close(self.options.drain_timeout)
        self._log.close()
        if error is not None:
            raise error
