"""Append whole lines to one file, from any number of connections, without blocking them.

Why a sink of its own: Step C writes two connections into one file, so there
must be exactly one writer per file (lines can then never interleave); a slow
disk must never stall the event loop that answers the exchanges' pings; and a
line must be either whole in the file or absent, even when the disk fills up
or the run is cancelled.

How: the event loop appends complete lines to a list (cheap), and once the
loop goes idle, or 64 KiB are pending, joins them into one chunk and hands it
to the OS with ``os.write`` on a file opened for appending. While the disk is
fast (a write under 2 ms) the loop writes the chunk itself: a page-cache write
costs microseconds, far less than waking a thread and passing it the GIL,
which measurably cut throughput and doubled the latency. The first slow write
moves writing to a writer thread behind a bounded queue, so a slow disk delays
at most that one write; writing returns to the loop once the thread has caught
up and the disk has been fast for a while; a thread that fell behind writes
what is queued in one go. A second thread calls ``fsync`` at most once a
second, so that neither the loop nor the writer waits for the disk to sync.
A failed write is rolled back to the last complete line with ``ftruncate``.
When the queue is full the stated policy is to drop new lines, count them and
report the loss (never silently, never blocking the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..errors import SinkError
from .datafile import FileLock, open_append, platform_lock
from .rotation import Compressed, Switch

__all__ = ["FileReport", "LineSink", "Sink", "SinkError"]

FLUSH_BYTES = 64 * 1024
"""Hand a chunk to the writer at this size even if the loop is still busy."""

INLINE_BUDGET = 0.002
"""A write slower than this (seconds) moves writing off the event loop."""

WRITER_BATCH_BYTES = 16 * 1024 * 1024
"""The writer thread writes what is queued in one go, up to this size (see ``_more``)."""

MAX_QUEUED_BYTES = 64 * 1024 * 1024
"""Bound of the loop-to-writer queue: about half an hour of data at the live rates."""

INLINE_AGAIN_AFTER = 5.0
"""Seconds without a slow write (and the thread caught up) before the loop writes again."""

_NEXT = object()
"""What :meth:`LineSink._more` met after its batch: nothing (take the next item)."""


class FileReport(Protocol):
    """What a sink tells the events log about its files (implemented by
    :class:`btclib.files.eventlog.FileEvents`, which writes the records).

    A sink calls it on the event loop thread only: from :meth:`Sink.start_fields`, from
    :meth:`Sink.stop_fields`, and from the hooks it installed in ``start_fields`` (a
    rotating sink's switch, a split sink's new market file, a finished compression). Line
    numbers are 1-based and, like byte offsets, positions in the file named beside them.
    """

    def started(self, path: Path, offset: int) -> int:
        """This run's lines begin in ``path`` at byte ``offset``: their first line number
        (the previous run's ``stop`` event says it when the file has not changed since,
        otherwise the file is counted)."""
        ...

    def opened(self, market: str, path: Path, offset: int) -> None:
        """A split set opened ``market``'s file ``path``, its lines going on from byte
        ``offset`` (logged as a ``file`` event)."""
        ...

    def switched(self, switch: Switch) -> None:
        """A rotating sink switched files between two whole lines (a ``rotate`` event)."""
        ...

    def compressed(self, outcome: Compressed) -> None:
        """A closed file was gzipped, or failed to be (``compressed``/``compress_failed``)."""
        ...

    def end_line(self, path: Path, lines: int) -> int:
        """The number of the last line in ``path``, given that this run wrote ``lines``
        lines into it since it began there (:meth:`started`, :meth:`opened` or a switch)."""
        ...


class Sink(Protocol):
    """What the recorder needs of the place its lines go: the whole contract.

    :class:`LineSink` (one file), :class:`~btclib.files.rotating.RotatingSink` (a set of
    files switched daily or by size) and :class:`~btclib.files.rotating.SplitSink` (a file
    per market) implement it; so may a sink that wraps one of them (a tee that also
    publishes each line to a broker delegates everything below to the file sink it wraps,
    :meth:`start_fields`/:meth:`stop_fields` included, and adds its own work to
    :meth:`append`/:meth:`write`/:meth:`flush`/:meth:`aclose`; ``tests/files/
    test_sink_contract.py`` records through such a tee).
    The recorder (:mod:`btclib.recorder`) depends on this protocol alone: it never asks
    which class it holds.

    Threads: every method and attribute here is used from the event loop thread that
    called :meth:`open` (a sink may run threads of its own behind it: LineSink's writer
    and fsync threads). Lines are ``bytes``, each one whole, ending in ``\\n``, handed
    over in the order they must appear; a sink writes each either whole or not at all.

    The life of a sink in a run (:func:`btclib.recorder.record_feeds`):

    1. made, not yet open: by the recorder from the plan's
       :class:`~btclib.files.rotating.Output` (:meth:`~btclib.files.rotating.Output.sink`,
       which a wrapping output overrides), or by the caller
       (:func:`btclib.files.rotating.open_sink`, a benchmark's own ``LineSink``);
    2. :meth:`open`, then at once :meth:`start_fields` (before any line);
    3. the hot loop, once per frame: ``if not append(line): await room(); write(line)``,
       and :meth:`flush` before every ``await`` of the socket; :attr:`waiting` and
       :attr:`failed` are read by the supervision around it;
    4. ``await`` :meth:`aclose`, then :meth:`stop_fields`; :attr:`dropped` goes into the
       summary.
    """

    base: Path
    """The name the caller gave: the data file, or the base of a set of files
    (:mod:`btclib.files.rotation`); the summary and the ``start`` event name it."""

    failed: asyncio.Event
    """Set (from any thread, through the loop) when the sink can no longer write: the
    recorder then stops the run (``stopped: sink failed``) and raises :attr:`error`."""

    @property
    def error(self) -> BaseException | None:
        """The first error (a :class:`~btclib.errors.SinkError` naming the file), or None."""
        ...

    @property
    def lines(self) -> int:
        """Lines handed to the OS (or the writer thread) so far."""
        ...

    @property
    def dropped(self) -> int:
        """Lines refused and lost: the queue to a slow disk was full when :meth:`write`
        was called, or (split) a market's file could not be opened. Never silent: the
        recorder logs ``lines_dropped`` and the summary says it."""
        ...

    @property
    def size(self) -> int:
        """Bytes in the file being written: where the next line will start once
        everything is written (0 for a split set, which has no single file)."""
        ...

    @property
    def waiting(self) -> bool:
        """A reader is waiting in :meth:`room`: not reading on purpose, so the supervisor
        must not take the silence for a stalled stream."""
        ...

    @property
    def queued_bytes(self) -> int:
        """Bytes handed over and not yet written by the OS (pending on the loop or queued
        for the writer thread): how far the disk is behind, for the progress and metrics."""
        ...

    def behind(self) -> tuple[int, float] | None:
        """How far a copy beyond the file is behind (a broker's: lines not yet acknowledged,
        seconds the oldest has waited), for the progress line, the summary and metrics;
        None for a sink that writes files alone."""
        ...

    def open(self) -> None:
        """Open the file(s) and start the sink's threads; raises
        :class:`~btclib.errors.SinkError` naming the file when it cannot."""
        ...

    async def aclose(self) -> None:
        """Write everything pending, sync, close; raise the first error, if any (a
        :class:`~btclib.errors.SinkError`). Idempotent after the first call."""
        ...

    def append(self, line: bytes) -> bool:
        """The hot path: queue ``line`` without scheduling anything; the caller calls
        :meth:`flush` before it next awaits. False, and nothing queued, when the queue to
        a slow disk is full (then ``await room()`` and :meth:`write` it). Must cost a few
        attribute reads: it runs once per frame."""
        ...

    def flush(self) -> None:
        """Hand every appended line to the OS (or the writer thread) now."""
        ...

    def write(self, line: bytes) -> None:
        """Queue ``line`` and have it flushed once the loop idles; when the queue is full
        it is dropped and counted in :attr:`dropped` instead (never blocks)."""
        ...

    async def room(self) -> None:
        """Return once the queue has room again (or the sink failed)."""
        ...

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        """Called once, right after :meth:`open`, before any line: say where this run's
        lines start (``files.started(...)`` for a single file), hook later switches,
        market files and compressions to ``files``, and return the ``start`` event's
        fields about the files, in this order: ``offset`` and ``line`` (both None for a
        split set), then ``file`` and ``rotate`` (rotating) or ``split`` and ``rotate``
        (split). A plain file gives only ``offset`` and ``line``. The recorder takes the
        summary's ``first_line`` from ``line``.
        """
        ...

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        """Called once after :meth:`aclose`: the ``stop`` event's fields about the files:
        ``end_offset`` and ``end_line`` of the last file (plain: from ``lines``, the lines
        the recorder handed over this run), plus ``file`` (rotating), or ``files`` (split:
        each file written -> its ``end_offset`` and ``end_line``, the two others None).
        """
        ...


class LineSink:
    """One append-only data file and the thread that writes it.

    Use as ``async with LineSink(path) as sink: sink.write(b"line\\n")``.
    ``write`` must be called from the event loop thread with whole lines
    ending in ``\\n``. The ``write`` argument replaces ``os.write`` (tests fill
    a disk with it; captures compress with it) and ``on_close(fd)`` runs in
    the writer thread before the file is closed. A text file that someone
    left ending in half a line gets a ``\\n`` first (``end_torn_line``) so
    our lines stay whole; compressed files must not. ``failed`` is set when the writer hit an error;
    ``error`` then holds a :class:`SinkError` naming the path. ``clock`` (seconds, any origin)
    times the loop's own writes against :data:`INLINE_BUDGET` and :data:`INLINE_AGAIN_AFTER`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        fsync_interval: float | None = 1.0,
        write: Callable[[int, memoryview], int] | None = None,
        on_written: Callable[[int], None] | None = None,
        on_close: Callable[[int], None] | None = None,
        end_torn_line: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.path = Path(path)
        """The file being written."""
        self.base = self.path
        """The name the caller gave (:attr:`Sink.base`): for a plain sink, the file."""
        self._clock = clock  # times inline writes (tests make a write slow without sleeping)
        self.max_queued_bytes = max_queued_bytes
        self.fsync_interval = fsync_interval
        self.lines = 0
        self.bytes = 0
        self.dropped = 0
        """Lines refused because the writer fell too far behind."""
        self.slow_writes = 0
        """Writes that took longer than :data:`INLINE_BUDGET` (writing moved to the thread)."""
        self._inline = True
        self._slow_since = 0.0
        self.error: SinkError | None = None
        self.failed = asyncio.Event()
        self._write = write or os.write  # looked up now: tests may stand in for os.write
        self._file_lock: FileLock | None = None
        self._on_written = on_written
        self._on_close = on_close
        self._end_torn_line = end_torn_line
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._room = max_queued_bytes
        self._scheduled = False
        # Loop -> writer: a C-level queue (no Python lock on either side); the
        # bytes in flight are counted by two numbers, each written by one thread.
        # A callable in the queue is run by the writer in order with the chunks
        # (:meth:`_in_order`: a rotating sink switches files that way).
        self._queue: queue.SimpleQueue[bytes | Callable[[], None] | None] = queue.SimpleQueue()
        self._queued_in = 0
        self._queued_out = 0
        self._fd = -1
        self._size = 0
        self._thread: threading.Thread | None = None
        self._syncer: threading.Thread | None = None
        self._room_made: asyncio.Event | None = None
        self._closing = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def size(self) -> int:
        """Bytes in the file: where the next line will start once everything is written."""
        return self._size

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        """See :meth:`Sink.start_fields`: one file, its lines starting at :attr:`size`."""
        self.watch(files)
        return {"offset": self.size, "line": files.started(self.path, self.size)}

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        """See :meth:`Sink.stop_fields`."""
        return {"end_offset": self.size, "end_line": files.end_line(self.path, lines)}

    def watch(self, files: FileReport) -> None:
        """Report later switches and compressions to ``files``: a single file has none."""

    def lines_in_file(self) -> int:
        """Lines this sink handed to the file it writes now (a plain file: all of them)."""
        return self.lines

    async def __aenter__(self) -> LineSink:
        self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def open(self) -> None:
        """Open the file for appending (creating folders) and start the writer."""
        self._loop = asyncio.get_running_loop()
        self._fd, self._file_lock, self._size = self._open_file(self.path)
        self._thread = threading.Thread(
            target=self._run, name=f"btclib-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        if self.fsync_interval is not None:  # None: the owner syncs (one thread for many files)
            self._syncer = threading.Thread(
                target=self._sync_every_interval,
                name=f"btclib-fsync:{self.path.name}",
                daemon=True,
            )
            self._syncer.start()

    def _open_file(self, path: Path) -> tuple[int, FileLock, int]:
        """Open ``path`` for appending (creating folders), locked, ending any torn line:
        the descriptor, its lock and the file's size."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = open_append(path)  # binary: \n stays \n on Windows too
            lock = self._lock(fd)
            try:
                size = os.fstat(fd).st_size
                if self._end_torn_line and size and not self._ends_with_newline(path):
                    # Someone else left half a line: end it so ours stay whole.
                    size += os.write(fd, b"\n")
            except OSError:
                os.close(fd)
                raise
        except OSError as exc:
            raise SinkError(exc.errno, f"cannot write {path}: {exc.strerror}") from exc
        return fd, lock, size

    @staticmethod
    def _lock(fd: int) -> FileLock:
        """Refuse a file another recorder is writing: two writers would tear lines
        (and corrupt a compressed capture beyond the damage they share). The lock is
        the platform's own (:func:`btclib.files.datafile.platform_lock`)."""
        try:
            lock = platform_lock()
            lock.acquire(fd)
        except OSError:  # FileBusyError (EBUSY) when another writer holds it
            os.close(fd)
            raise
        return lock

    @staticmethod
    def _ends_with_newline(path: Path) -> bool:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def write(self, line: bytes) -> None:
        """Queue one whole line (ending with ``\\n``); it reaches the OS when the loop idles.

        If the queue to a slow disk is full, the line is dropped and counted.
        """
        if not self.append(line):
            self.dropped += 1
        if not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._flush_when_idle)

    def append(self, line: bytes) -> bool:
        """Queue one whole line for a caller that calls :meth:`flush` before it next
        awaits (the recorder's reader does): :meth:`write` without scheduling a flush,
        which saves the event loop one iteration per message at live rates.

        False, and nothing queued, when the queue to a slow disk is full: the caller
        may ``await`` :meth:`room` and try again (the recorder does, so that TCP
        holds the data meanwhile), or :meth:`write` it to have it counted as dropped.
        """
        # Called once per line: two attribute reads decide. ``_room`` is what the
        # queue could take when it was last handed a chunk (the writer only ever
        # makes more room, so the check errs on the safe side), or -1 after a failure.
        pending = self._pending_bytes + len(line)
        if pending > self._room:
            return False
        self._pending.append(line)
        self._pending_bytes = pending
        if pending >= FLUSH_BYTES:
            self.flush()
        return True

    def _flush_when_idle(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Hand every pending line to the OS as one chunk (or to the writer thread)."""
        if self._pending:
            chunk = b"".join(self._pending)
            self.lines += len(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            if self._inline or self._may_go_inline():
                self._write_inline(chunk)
            else:
                self._queued_in += len(chunk)
                self._queue.put(chunk)
        queued = self._queued_in - self._queued_out
        self._room = -1 if self.error else self.max_queued_bytes - queued

    @property
    def waiting(self) -> bool:
        """A reader is waiting in :meth:`room` (so it is not reading on purpose)."""
        return self._room_made is not None

    @property
    def queued_bytes(self) -> int:
        """Bytes pending on the loop plus those queued for the writer thread."""
        return self._pending_bytes + self._queued_in - self._queued_out

    def behind(self) -> None:
        """A file sink has no copy beyond its file."""
        return None

    async def room(self) -> None:
        """Wait until the writer thread has brought the queue down to a quarter full
        (or failed)."""
        self.flush()
        while not self._has_room() and self.error is None:
            waiting = self._room_made = asyncio.Event()
            try:
                # The writer may have caught up before it could see the event.
                if not self._has_room():
                    await waiting.wait()
            finally:
                self._room_made = None
        self.flush()  # counts the room anew

    def _write_inline(self, chunk: bytes) -> None:
        started = self._clock()
        try:
            self.write_chunk(chunk)
        except OSError as exc:
            self._fail(exc)
            return
        finished = self._clock()
        if finished - started > INLINE_BUDGET:
            self._inline = False
            self.slow_writes += 1
            self._slow_since = finished

    def _may_go_inline(self) -> bool:
        """Back to writing on the loop: the thread caught up, no slow write for 5 s."""
        if self._queued_in != self._queued_out or self.error is not None:
            return False
        self._inline = self._clock() - self._slow_since > INLINE_AGAIN_AFTER
        return self._inline

    async def aclose(self) -> None:
        """Write everything pending, ``fsync``, close; raise the writer's error if any."""
        if self._thread is None:
            return
        self.flush()
        self._queue.put(None)  # the writer ends after what came before
        thread, self._thread = self._thread, None
        await asyncio.to_thread(self._join, thread)
        if self.error is not None:
            raise self.error

    def _join(self, writer: threading.Thread) -> None:
        writer.join()  # wrote everything, synced once more
        self._closing.set()
        if self._syncer is not None:
            self._syncer.join()
        if self._file_lock is not None:
            with contextlib.suppress(OSError):
                self._file_lock.release(self._fd)
        os.close(self._fd)

    # The writer thread.

    def _in_order(self, action: Callable[[], None]) -> None:
        """Run ``action`` after every chunk handed over so far is written and before the
        next one: now, on the loop, when nothing is queued; else on the writer thread.

        The action counts as one queued byte until it has run, so that writing cannot
        come back to the loop (:meth:`_may_go_inline`) before it has.
        """
        if self._queued_in == self._queued_out:
            action()
            return
        self._queued_in += 1
        self._queue.put(action)

    def _run(self) -> None:
        try:
            item = self._queue.get()
            while item is not None:
                if isinstance(item, bytes):
                    chunk, after = self._more(item)
                    self.write_chunk(chunk)
                    self._queued_out += len(chunk)
                    self._wake_room_waiter()
                else:
                    item()
                    self._queued_out += 1
                    after = _NEXT
                item = self._queue.get() if after is _NEXT else after
            if self.error is None:
                if self._on_close is not None:
                    self._on_close(self._fd)
                self._sync()
        except OSError as exc:
            self._fail(exc)

    def _has_room(self) -> bool:
        """What :meth:`room` waits for: the queue at most a quarter full."""
        return self._queued_in - self._queued_out <= self.max_queued_bytes // 4

    def _wake_room_waiter(self) -> None:
        waiting = self._room_made
        if waiting is not None and self._has_room():
            assert self._loop is not None
            self._loop.call_soon_threadsafe(waiting.set)

    def _sync_every_interval(self) -> None:
        """``fsync`` at most once per interval while lines keep coming.

        A thread of its own: under a flood an ``fsync`` can take a good part of a
        second, and the writer (or the loop) must go on writing meanwhile.
        """
        synced = self.bytes
        while not self._closing.wait(self.fsync_interval):
            synced = self.sync_if_written(synced)
            if self.error is not None:
                return

    def sync_if_written(self, synced: int) -> int:
        """``fsync`` if bytes were written since ``synced`` (a count of :attr:`bytes`);
        returns the new count. Called by the fsync thread, or by an owner that syncs
        many sinks from one thread (``fsync_interval=None``)."""
        if self.bytes == synced or self.error is not None:
            return synced
        synced, fd = self.bytes, self._fd
        try:
            self._sync(fd)
        except OSError as exc:
            if fd == self._fd:  # else: switched to a new file and closed meanwhile
                self._fail(exc)
        return synced

    def _more(self, chunk: bytes) -> tuple[bytes, object]:
        """``chunk`` joined with what else is queued (up to :data:`WRITER_BATCH_BYTES`),
        and what came after it: the end-of-writing mark (``None``), an action, or
        :data:`_NEXT` (nothing taken: get the next item).

        Why: each ``os.write`` gives up the GIL and must win it back, which takes up
        to the interpreter's switch interval (5 ms) while the event loop is busy.
        One chunk per switch would cap the thread at about 13 MB/s, far below what
        a flood of Upbit books produces, so a thread that fell behind catches up in
        batches instead.
        """
        batch, size = [chunk], len(chunk)
        while size < WRITER_BATCH_BYTES:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(more, bytes):
                return (chunk if len(batch) == 1 else b"".join(batch)), more
            batch.append(more)
            size += len(more)
        return (chunk if len(batch) == 1 else b"".join(batch)), _NEXT

    def write_chunk(self, chunk: bytes) -> None:
        """Append whole lines with `os.write` (on the loop, or from the writer thread)."""
        view = memoryview(chunk)
        done = 0
        try:
            while done < len(chunk):
                done += self._write(self._fd, view[done:])
        except OSError:
            # Keep the whole lines that made it, remove the torn one.
            whole = chunk.rfind(b"\n", 0, done) + 1
            if whole < done:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size + whole)
            self._size += whole
            self.bytes += whole
            raise
        self._size += done
        self.bytes += done
        if self._on_written is not None:
            self._on_written(done)

    def _sync(self, fd: int | None = None) -> None:
        try:
            os.fsync(self._fd if fd is None else fd)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # a device or pipe: nothing to sync
                raise

    def _fail(self, exc: OSError) -> None:
        if self.error is not None:
            return  # the first error is the one that explains
        self.error = SinkError(exc.errno, f"cannot write {self.path}: {exc.strerror}")
        self._room = -1
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.failed.set)
            if self._room_made is not None:
                self._loop.call_soon_threadsafe(self._room_made.set)
