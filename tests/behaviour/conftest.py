"""One behaviour suite, two recorders: btclib's (``python``) and btcrec (``cpp``).

Every test here takes the ``recorder`` fixture, parametrized ``python`` / ``cpp``, and asks
it to record from btclib's simulator with given faults in recorder-neutral words
(:class:`Setup`); it gets back a :class:`Run` (or a :class:`Failure` for a run that must end
by itself) with the data file, what the simulator sent, and the summary in one shape. The
end-to-end comparison is the fault soak's own (:func:`btclib.tools.soak.compare`): each data
message the simulator sent while a connection was up is in the file exactly once, byte for
byte, in its connection's order.

The simulator runs on its own event loop in its own thread (:class:`SimThread`), so its
timers (Upbit's idle close, Binance's pings) do not wait behind the recorder's work when the
Python recorder shares the test's loop or the machine is busy. Runs end on events (the
recorder's progress, btcrec's stderr), never after a fixed sleep, and each has a deadline.

Where btcrec deliberately lacks something (rotation or split of the file, the capture, the
events log: cpp/README.md "What btcrec does not do"), :meth:`Recorder.lacks` skips the test
for it with that reason.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import errno
import gzip
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from btclib.feed import Feed
from btclib.files.capture import CaptureWriter
from btclib.files.rotating import Output
from btclib.files.rotation import set_files
from btclib.files.sink import LineSink
from btclib.recorder import Progress, RecorderOptions, record_feeds
from btclib.simulator import SentFrame, SimConfig, Simulator
from btclib.simulator.expected import expected_line
from btclib.steps.interrupts import signal_child
from btclib.steps.steps import build_feeds
from btclib.tools import soak

from ..conftest import FAST
from ..cpp.conftest import Process, btcrec_path, start

T = TypeVar("T")

RECORDERS = ("python", "cpp")

#: What btcrec deliberately does not do (cpp/README.md, "What btcrec does not do").
CPP_LACKS = {
    "events log": "btcrec has no events log: it reports connections, gaps and errors on stderr "
    "and in its summary (cpp/README.md)",
    "queue limit": "btcrec's line queue has no size option and waits for room instead of "
    "dropping a line: no line is too large for it (cpp/README.md)",
    "rotate": "btcrec writes one file: no rotation or split (--rotate, --split) (cpp/README.md)",
    "capture": "btcrec keeps no capture of the frames (cpp/README.md)",
}


# -- the simulator in its own thread ---------------------------------------------------------


class SimThread:
    """A :class:`Simulator` serving from its own event loop in a thread of its own.

    ``sim`` is the simulator itself (its ``urls``, ``sent``, ``connections``, ``spans``,
    ``injected`` are read from the test's thread: plain lists and properties);
    :meth:`stop` runs its stop on its own loop.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="simulator", daemon=True)
        self.sim: Simulator | None = None

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the simulator's loop; await its result here."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def __aenter__(self) -> Simulator:
        self._thread.start()

        async def begin() -> Simulator:
            sim = Simulator(self.config)
            await sim.start()
            return sim

        self.sim = await self.call(begin())
        return self.sim

    async def stop(self) -> None:
        """Close every connection (after the frames sent), stop the market."""
        if self.sim is not None and self.loop.is_running():
            await self.call(self.sim.stop())

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
            if not self._thread.is_alive():
                self.loop.close()


# -- what a test asks for, in neither recorder's words -----------------------------------------


@dataclass(frozen=True)
class Setup:
    """How to run the recorder; None means the recorder's default (FAST timings)."""

    stall_after: float | None = 1.0
    #: Upbit's client ping interval; ``no_keepalive``: no client ping within the test.
    keepalive: float | None = None
    no_keepalive: bool = False
    #: Binance's connection lifetime as the recorder believes it, and how long before its
    #: end the replacement opens.
    lifetime: float | None = None
    rotate_before: float | None = None
    upbit_request: str | None = None
    symbol: str | None = None
    code: str | None = None
    first_data_within: float | None = None
    #: The line queue's size (Python's ``max_queued_bytes``).
    max_queued_bytes: int | None = None
    #: The data file's disk: ``slow`` (50 ms a write), ``stuck`` (200 ms a write), or
    #: ``full`` after ``full_after`` bytes (ENOSPC from the writer thread).
    disk: str | None = None
    full_after: int = 4000
    #: A set of files instead of one: ``rotate`` ``"daily"`` or a size, ``split``
    #: ``"market"`` (btclib.files.rotation); ``capture``: keep every frame as received.
    rotate: str | None = None
    split: str | None = None
    capture: bool = False


@dataclass
class Seen:
    """What a run has done so far, as both recorders tell it (for ``until``)."""

    lines: int
    reconnects: int
    rotations: int
    elapsed: float


@dataclass
class Summary:
    """A run's summary in one shape: btclib's RunSummary or btcrec's --summary-json."""

    total: int
    connections: int
    reconnects: int
    rotations: int
    duplicates: int
    missed_trades: int
    bad_frames: int
    unexpected: int
    anomalies: int
    dropped: int
    stopped: str
    #: Each gap's cause (btclib: the gap's "cause"; btcrec: its gap text).
    gaps: list[str]
    errors: list[str]

    @classmethod
    def of_python(cls, s: Any) -> Summary:
        return cls(
            s.total, s.connections, s.reconnects, s.rotations, s.duplicates, s.missed_trades,
            s.bad_frames, s.unexpected, s.anomalies, s.dropped, s.stopped,
            [str(g.get("cause", "")) for g in s.gaps], list(s.errors),
        )  # fmt: skip

    @classmethod
    def of_cpp(cls, s: dict[str, Any]) -> Summary:
        return cls(
            s["total"], s["connections"], s["reconnects"], s["rotations"], s["duplicates"],
            s["missed_trades"], s["bad_frames"], s["unexpected"], s.get("anomalies", 0),
            s.get("dropped", 0), s["stopped"], list(s["gaps"]), list(s["errors"]),
        )  # fmt: skip


@dataclass
class Run:
    """A finished run: the file, what the simulator sent, what the recorder said."""

    recorder: str
    data: bytes
    sim: Simulator
    summary: Summary
    #: btclib's events log (None for btcrec, which has none).
    events: list[dict[str, Any]] | None = None
    #: btcrec's stderr lines (None for btclib).
    stderr: list[str] | None = None
    code: int | None = None
    raw: Any = None
    #: When the test told the source to end (wall clock): later breaks are no gaps.
    stopped_at: float = 0.0
    #: The data files (more than one when rotated or split), in recording order.
    files: list[Path] = field(default_factory=list)

    @property
    def lines(self) -> list[bytes]:
        return self.data.splitlines(keepends=True)

    def expected(self, exchange: str | None = None) -> list[bytes]:
        return [
            expected_line(f) for f in self.sim.sent if exchange is None or f.exchange == exchange
        ]

    def events_of(self, name: str) -> list[dict[str, Any]]:
        assert self.events is not None, "btcrec has no events log"
        return [e for e in self.events if e["event"] == name]

    def said(self, text: str) -> int:
        """How many of the recorder's reports contain ``text`` (btcrec's stderr lines;
        btclib's events log records, as JSON text)."""
        if self.stderr is not None:
            return sum(text in line for line in self.stderr)
        return sum(text in json.dumps(e) for e in self.events or ())

    def verdict(self, sent: Sequence[SentFrame] | None = None) -> soak.Verdict:
        """The soak's comparison of the file with ``sent`` (default: all the simulator sent)."""
        return soak.compare(list(self.sim.sent) if sent is None else sent, self.data)


def assert_each_message_once(run: Run, sent: Sequence[SentFrame] | None = None) -> soak.Verdict:
    """Every message of ``sent`` (default: all sent) is in the file once, byte for byte, in
    its connection's order; nothing else is."""
    v = run.verdict(sent)
    assert (v.lost, v.duplicated, v.torn, v.out_of_order) == (0, 0, 0, 0), v.problems
    assert v.written == v.sent == len(run.lines) and v.sent > 0, v.problems
    return v


@dataclass
class Failure:
    """A run that ended by itself: its error in the recorder's words, what it left."""

    recorder: str
    message: str
    data: bytes
    summary: Summary | None
    sim: Simulator
    code: int | None = None
    exception: BaseException | None = None

    @property
    def lines(self) -> list[bytes]:
        return self.data.splitlines(keepends=True)


@dataclass
class Interrupted:
    """A run ended by a signal: its exit status, file, what it printed, what was sent."""

    recorder: str
    code: int
    data: bytes
    stdout: str
    sent: list[SentFrame]
    #: btcrec's summary (btclib's command line prints its own on stdout).
    summary: Summary | None = None


# -- the recorders -----------------------------------------------------------------------------


class Recorder(abc.ABC):
    """One recorder under test; :meth:`record` and :meth:`fail` in both recorders' words."""

    name = ""

    def lacks(self, what: str) -> None:  # noqa: B027 (btclib lacks nothing: no skip)
        """Skip the test when this recorder deliberately lacks ``what`` (CPP_LACKS)."""

    @abc.abstractmethod
    async def record(
        self,
        tmp_path: Path,
        step: str,
        config: SimConfig,
        setup: Setup = Setup(),
        *,
        until: Callable[[Seen, Simulator], bool],
        timeout: float = 30.0,
    ) -> Run:
        raise NotImplementedError

    @abc.abstractmethod
    async def fail(
        self,
        tmp_path: Path,
        step: str,
        config: SimConfig,
        setup: Setup = Setup(),
        *,
        out: Path | None = None,
        timeout: float = 20.0,
    ) -> Failure:
        raise NotImplementedError

    @abc.abstractmethod
    async def interrupt(
        self, tmp_path: Path, config: SimConfig, sig: signal.Signals, *, lines: int
    ) -> Interrupted:
        """Record Step C from the simulator as a program, sent ``sig`` once the file holds
        ``lines`` lines."""
        raise NotImplementedError


def _full_disk(limit: int) -> Callable[[int, memoryview], int]:
    """A disk that takes ``limit`` bytes and then says ENOSPC; slow enough (20 ms a write)
    that btclib moves writing to its writer thread first."""
    taken = 0

    def write(fd: int, data: memoryview) -> int:
        nonlocal taken
        time.sleep(0.02)
        if taken + len(data) > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = os.write(fd, data)
        taken += n
        return n

    return write


def _slow_disk(seconds: float) -> Callable[[int, memoryview], int]:
    def write(fd: int, data: memoryview) -> int:
        time.sleep(seconds)  # the disk is slow: the writer thread (or the loop, once) waits
        return os.write(fd, data)

    return write


DISK_DELAY = {"slow": 0.05, "stuck": 0.2}


class PythonRecorder(Recorder):
    name = "python"

    def feeds(self, step: str, sim: Simulator, setup: Setup) -> list[Feed]:
        settings: dict[str, Any] = {}
        if setup.symbol is not None:
            settings["symbol"] = setup.symbol
        if setup.code is not None:
            settings["codes"] = [setup.code]
        if setup.keepalive is not None:
            settings["keepalive"] = setup.keepalive
        feeds = build_feeds(step, sim.urls, stall_after=setup.stall_after, **settings)
        out = []
        for feed in feeds:
            if setup.no_keepalive and feed.ping_interval is not None:
                feed = dataclasses.replace(feed, ping_interval=None)
            if setup.lifetime is not None and feed.lifetime is not None:
                feed = dataclasses.replace(feed, lifetime=setup.lifetime)
            if setup.upbit_request is not None and feed.exchange == "upbit":
                feed = dataclasses.replace(feed, requests=(setup.upbit_request,))
            if setup.first_data_within is not None:
                feed = dataclasses.replace(feed, first_data_within=setup.first_data_within)
            out.append(feed)
        return out

    def options(self, setup: Setup) -> RecorderOptions:
        options = FAST
        if setup.rotate_before is not None:
            options = dataclasses.replace(options, rotate_before=setup.rotate_before)
        if setup.max_queued_bytes is not None:
            options = dataclasses.replace(options, max_queued_bytes=setup.max_queued_bytes)
        return options

    def target(self, out: Path, setup: Setup, options: RecorderOptions) -> Path | LineSink | Output:
        if setup.rotate is not None or setup.split is not None:
            return Output.parse(out, setup.rotate, setup.split)
        if setup.disk is None:
            return out
        if setup.disk == "full":
            write = _full_disk(setup.full_after)
        else:
            write = _slow_disk(DISK_DELAY[setup.disk])
        return LineSink(out, write=write, max_queued_bytes=options.max_queued_bytes)

    async def record(self, tmp_path, step, config, setup=Setup(), *, until, timeout=30.0) -> Run:
        out, events = tmp_path / "data.txt", tmp_path / "data.events.jsonl"
        options = self.options(setup)
        reached, finish = asyncio.Event(), asyncio.Event()
        host = SimThread(config)
        async with host as sim:

            def progress(p: Progress) -> None:
                seen = Seen(p.lines, p.reconnects, _rotations(events), p.elapsed)
                if until(seen, sim):
                    reached.set()

            feeds = self.feeds(step, sim, setup)
            capture = CaptureWriter(tmp_path / "capture.jsonl") if setup.capture else None
            if capture is not None:
                capture.open(feeds, {})
            task = asyncio.create_task(
                record_feeds(
                    feeds,
                    self.target(out, setup, options),
                    events_path=events,
                    options=options,
                    progress=progress,
                    finish=finish,
                    tap=capture,
                )
            )
            waiter = asyncio.create_task(reached.wait())
            await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # raise what the recorder raised
                raise AssertionError("the recorder stopped by itself")
            if not reached.is_set():
                task.cancel()
                raise AssertionError(f"condition not reached within {timeout} s")
            stopped_at = time.time()
            finish.set()  # the source is ending: read each connection to its close
            await host.stop()
            summary = await asyncio.wait_for(task, timeout)
            if capture is not None:
                await capture.aclose()
        log = [json.loads(line) for line in events.read_text().splitlines()]
        files = set_files(out) if setup.rotate or setup.split else [out]
        data = b"".join(_read_member(f) for f in files)
        return Run("python", data, sim, Summary.of_python(summary), events=log, raw=summary,
                   stopped_at=stopped_at, files=files)  # fmt: skip

    async def fail(self, tmp_path, step, config, setup=Setup(), *, out=None, timeout=20.0):
        out = out or tmp_path / "data.txt"
        options = self.options(setup)
        async with SimThread(config) as sim:
            try:
                await asyncio.wait_for(
                    record_feeds(
                        self.feeds(step, sim, setup), self.target(out, setup, options),
                        options=options,
                    ),
                    timeout,
                )  # fmt: skip
            except Exception as exc:  # what the run ended with: the test judges it
                summary = getattr(exc, "summary", None)
                data = out.read_bytes() if out.is_file() and not out.is_char_device() else b""
                return Failure(
                    "python", str(exc), data,
                    None if summary is None else Summary.of_python(summary), sim,
                    exception=exc,
                )  # fmt: skip
        raise AssertionError("the recorder ended without an error")

    async def interrupt(self, tmp_path, config, sig, *, lines):
        """``python -m btclib record both`` against the simulator."""
        out = tmp_path / "data.txt"
        async with SimThread(config) as sim:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "btclib", "record", "both", "--out", str(out),
                "--source", "live", "--binance-url", sim.urls["binance"],
                "--upbit-url", sim.urls["upbit"],
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            process = CliProcess(proc, out)
            try:
                await process.until_lines(lines)
                signal_child(proc, sig)
                code = await process.finish()
            finally:
                signal_child(proc)  # a no-op once it ended
        return Interrupted("python", code, out.read_bytes(), process.stdout, list(sim.sent))


def _read_member(path: Path) -> bytes:
    """A file of a set as its lines (a finished member may be gzip-compressed)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _rotations(events: Path) -> int:
    """Rotations so far, from btclib's events log (its progress does not count them)."""
    if not events.is_file():
        return 0
    count = 0
    for line in events.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a record being written
            count += json.loads(line).get("event") == "rotated"
    return count


@dataclass
class CliProcess:
    """``python -m btclib record`` as a subprocess (the SIGINT/SIGTERM scenarios)."""

    proc: asyncio.subprocess.Process
    out: Path
    stdout: str = ""
    stderr: str = ""

    def lines(self) -> list[bytes]:
        return self.out.read_bytes().splitlines(keepends=True) if self.out.exists() else []

    async def until_lines(self, n: int, timeout: float = 30.0) -> None:
        await _until(lambda: len(self.lines()) >= n, self.proc, timeout)

    async def finish(self, timeout: float = 30.0) -> int:
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout)
        self.stdout, self.stderr = out.decode(), err.decode()
        return self.proc.returncode  # type: ignore[return-value]


async def _until(
    condition: Callable[[], bool], proc: asyncio.subprocess.Process, timeout: float
) -> None:
    """Wait for ``condition`` (checked every 20 ms: a file grows without telling) while
    ``proc`` runs, at most ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert proc.returncode is None, "the recorder stopped by itself"
        assert loop.time() < deadline, f"condition not reached within {timeout} s"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.02)


class CppRecorder(Recorder):
    name = "cpp"

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def lacks(self, what: str) -> None:
        pytest.skip(CPP_LACKS[what])

    def args(self, setup: Setup) -> list[str]:
        args: list[str] = []
        if setup.stall_after is not None:
            args += ["--stall-after", f"{setup.stall_after:g}"]
        if setup.keepalive is not None:
            args += ["--keepalive", f"{setup.keepalive:g}"]
        # no_keepalive: btcrec's default keepalive (20 s) is longer than any test here.
        if setup.lifetime is not None:
            args += ["--lifetime", f"{setup.lifetime:g}"]
        if setup.rotate_before is not None:
            args += ["--rotate-before", f"{setup.rotate_before:g}"]
        if setup.upbit_request is not None:
            args += ["--upbit-request", setup.upbit_request]
        if setup.symbol is not None:
            args += ["--symbol", setup.symbol]
        if setup.code is not None:
            args += ["--code", setup.code]
        if setup.first_data_within is not None:
            args += ["--first-data-within", f"{setup.first_data_within:g}"]
        if setup.max_queued_bytes is not None:
            self.lacks("queue limit")
        if setup.rotate is not None or setup.split is not None:
            self.lacks("rotate")
        if setup.capture:
            self.lacks("capture")
        return args

    @contextlib.contextmanager
    def disk(self, tmp_path: Path, setup: Setup) -> Iterator[tuple[Path, Path, dict[str, str]]]:
        """(the path btcrec writes, the data file, extra environment) for ``setup.disk``.

        A slow or stuck disk is a FIFO drained into the data file by a thread that takes
        its time over every read: btcrec's writer thread waits in write(2) as on a slow
        disk. A full disk is ``write(2)`` answering ENOSPC after ``full_after`` bytes to the
        data file (:func:`full_disk_library`, LD_PRELOAD).
        """
        data = tmp_path / "data.txt"
        if setup.disk is None:
            yield data, data, {}
            return
        if setup.disk == "full":
            data.touch()
            env = {
                "LD_PRELOAD": str(full_disk_library(tmp_path)),
                "BTCLIB_FULL_INODE": str(data.stat().st_ino),
                "BTCLIB_FULL_AFTER": str(setup.full_after),
            }
            yield data, data, env
            return
        fifo = tmp_path / "disk.fifo"
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(reader, True)
        delay = DISK_DELAY[setup.disk]
        stop = threading.Event()

        def drain() -> None:
            with data.open("ab") as f:
                while True:
                    time.sleep(delay)  # the slow disk
                    chunk = os.read(reader, 4096)
                    if not chunk:
                        if stop.is_set():
                            return
                        continue
                    f.write(chunk)
                    f.flush()

        thread = threading.Thread(target=drain, name="slow-disk", daemon=True)
        thread.start()
        try:
            yield fifo, data, {}
        finally:
            stop.set()
            thread.join(30)
            os.close(reader)

    async def record(self, tmp_path, step, config, setup=Setup(), *, until, timeout=30.0) -> Run:
        with self.disk(tmp_path, setup) as (path, data, env):
            host = SimThread(config)
            async with host as sim:
                process = await start(tmp_path, step, sim, *self.args(setup), out=path, env=env)
                started = time.monotonic()
                loop = asyncio.get_running_loop()
                deadline = loop.time() + timeout
                try:
                    while not until(self._seen(process, data, started), sim):
                        assert process.proc.returncode is None, (
                            f"btcrec stopped by itself: {process.stderr}"
                        )
                        assert loop.time() < deadline, f"condition not reached within {timeout} s"
                        await process.event(0.05)
                    mark = len(process.stderr)
                    stopped_at = time.time()
                    await host.stop()
                    # Every connection btcrec opened is closed (it read each to its end).
                    await process.wait_for(lambda: not process.open_connections(), timeout)
                finally:
                    if process.proc.returncode is None:
                        signal_child(process.proc, signal.SIGINT)
                code = await process.finish()
        # The simulator's own stop (close 1001) is no fault of the run: its reconnects are not
        # counted, as the Python recorder, told the source is finishing, does not reconnect.
        summary = process.summary()
        after = sum("reconnect in" in line for line in process.stderr[mark:])
        summary["reconnects"] -= after
        summary["gaps"] = summary["gaps"][: len(summary["gaps"]) - after]
        return Run("cpp", data.read_bytes(), sim, Summary.of_cpp(summary),
                   stderr=process.stderr, code=code, raw=process, stopped_at=stopped_at,
                   files=[data])  # fmt: skip

    @staticmethod
    def _seen(process: Process, data: Path, started: float) -> Seen:
        lines = data.read_bytes().count(b"\n") if data.exists() else 0
        return Seen(
            lines,
            sum("reconnect in" in line for line in process.stderr),
            sum("rotated:" in line for line in process.stderr),
            time.monotonic() - started,
        )

    async def fail(self, tmp_path, step, config, setup=Setup(), *, out=None, timeout=20.0):
        with self.disk(tmp_path, setup) as (path, data, env):
            async with SimThread(config) as sim:
                process = await start(
                    tmp_path, step, sim, *self.args(setup), out=out or path, env=env
                )
                code: int | None = None
                try:
                    code = await process.finish(timeout=timeout)
                except TimeoutError:
                    process.stderr.append(f"(the test: btcrec did not end within {timeout:g} s)")
                finally:
                    if process.proc.returncode is None:
                        signal_child(process.proc)
                        await process.proc.wait()
        target = out or data
        summary = process.summary() if process.summary_path.is_file() else None
        return Failure(
            "cpp", "".join(process.stderr),
            target.read_bytes() if target.is_file() and not target.is_char_device() else b"",
            None if summary is None else Summary.of_cpp(summary), sim, code,
        )  # fmt: skip

    async def interrupt(self, tmp_path, config, sig, *, lines):
        async with SimThread(config) as sim:
            process = await start(tmp_path, "both", sim)
            try:
                await process.said("connected", times=2, timeout=15)
                await process.wait_for(lambda: len(process.lines()) >= lines, 30)
                signal_child(process.proc, sig)
                code = await process.finish()
            finally:
                signal_child(process.proc)  # a no-op once it ended
        return Interrupted(
            "cpp", code, process.out.read_bytes(), process.stdout, list(sim.sent),
            Summary.of_cpp(process.summary()),
        )  # fmt: skip


_LIBRARY = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* write(2) to the file whose inode is BTCLIB_FULL_INODE takes BTCLIB_FULL_AFTER bytes in
   whole writes, then answers ENOSPC: a disk that fills up while the writer thread writes. */
static long long taken;

ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    static long long inode = -1, limit;
    if (!real) {
        real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
        const char *i = getenv("BTCLIB_FULL_INODE"), *a = getenv("BTCLIB_FULL_AFTER");
        inode = i ? atoll(i) : -2;
        limit = a ? atoll(a) : 0;
    }
    struct stat st;
    if (inode >= 0 && fstat(fd, &st) == 0 && (long long)st.st_ino == inode) {
        if (taken + (long long)n > limit) {
            errno = ENOSPC;
            return -1;
        }
        ssize_t done = real(fd, buf, n);
        if (done > 0) taken += done;
        return done;
    }
    return real(fd, buf, n);
}
"""


def full_disk_library(tmp_path: Path) -> Path:
    """Build the LD_PRELOAD library of a disk that fills up (needs the C compiler that
    built btcrec)."""
    import shutil
    import subprocess

    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("g++")
    if compiler is None:
        pytest.fail("no C compiler to build the full-disk library (btcrec was built with one)")
    source, library = tmp_path / "fulldisk.c", tmp_path / "fulldisk.so"
    source.write_text(_LIBRARY)
    language = ["-x", "c"] if compiler.endswith("g++") else []
    subprocess.run(
        [compiler, *language, "-shared", "-fPIC", "-O1", "-o", str(library), str(source), "-ldl"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return library


@pytest.fixture(params=RECORDERS)
def recorder(request: pytest.FixtureRequest) -> Recorder:
    """Each behaviour test runs twice: against btclib's recorder and against btcrec."""
    if request.param == "python":
        return PythonRecorder()
    return CppRecorder(btcrec_path())
