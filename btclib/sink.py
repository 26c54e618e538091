"""Append whole lines to one file, from any number of connections, without blocking them.

Why a sink of its own: Step C writes two connections into one file, so there
must be exactly one writer per file (lines can then never interleave); a slow
disk must never stall the event loop that answers the exchanges' pings; and a
line must be either whole in the file or absent, even when the disk fills up
or the run is cancelled.

How: the event loop appends complete lines to a list (cheap), and once the
loop goes idle, or 64 KiB are pending, joins them into one chunk for a writer
thread, which hands it to the OS with ``os.write`` on a file opened for
appending and calls ``fsync`` at most once a second. A failed write is rolled
back to the last complete line with ``ftruncate``. The queue between loop and
thread is bounded; when it is full the stated policy is to drop new lines,
count them and report the loss (never silently, never blocking the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

FLUSH_BYTES = 64 * 1024
"""Hand a chunk to the writer at this size even if the loop is still busy."""

MAX_QUEUED_BYTES = 256 * 1024 * 1024
"""Bound of the loop-to-writer queue: minutes of data at the exchanges' rates."""


class SinkError(OSError):
    """The data file cannot be written (full disk, no permission, ...)."""


class LineSink:
    """One append-only data file and the thread that writes it.

    Use as ``async with LineSink(path) as sink: sink.write(b"line\\n")``.
    ``write`` must be called from the event loop thread with whole lines
    ending in ``\\n``. The ``write`` argument replaces ``os.write`` (tests fill
    a disk with it; captures compress with it) and ``on_close(fd)`` runs in
    the writer thread before the file is closed. A text file that someone
    left ending in half a line gets a ``\\n`` first (``end_torn_line``) so
    our lines stay whole; compressed files must not. ``failed`` is set when the writer hit an error;
    ``error`` then holds a :class:`SinkError` naming the path.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        fsync_interval: float = 1.0,
        write: Callable[[int, memoryview], int] = os.write,
        on_written: Callable[[int], None] | None = None,
        on_close: Callable[[int], None] | None = None,
        end_torn_line: bool = True,
    ) -> None:
        self.path = Path(path)
        self.max_queued_bytes = max_queued_bytes
        self.fsync_interval = fsync_interval
        self.lines = 0
        self.bytes = 0
        self.dropped = 0
        """Lines refused because the writer fell too far behind."""
        self.error: SinkError | None = None
        self.failed = asyncio.Event()
        self._write = write
        self._on_written = on_written
        self._on_close = on_close
        self._end_torn_line = end_torn_line
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._room = max_queued_bytes
        self._scheduled = False
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._closing = False
        self._fd = -1
        self._size = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> LineSink:
        self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def open(self) -> None:
        """Open the file for appending (creating folders) and start the writer."""
        self._loop = asyncio.get_running_loop()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._lock()
            self._size = os.fstat(self._fd).st_size
            if self._end_torn_line and self._size and not self._ends_with_newline():
                # Someone else left half a line: end it so ours stay whole.
                self._size += os.write(self._fd, b"\n")
        except OSError as exc:
            raise SinkError(exc.errno, f"cannot write {self.path}: {exc.strerror}") from exc
        self._thread = threading.Thread(
            target=self._run, name=f"btclib-writer:{self.path.name}", daemon=True
        )
        self._thread.start()

    def _lock(self) -> None:
        """Refuse a file another recorder is writing: two writers would tear lines
        (and corrupt a compressed capture beyond the damage they share)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise OSError(
                errno.EBUSY, "another btclib recorder is writing to this file right now"
            ) from None

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def write(self, line: bytes) -> None:
        """Queue one whole line (ending with ``\\n``); it reaches the OS when the loop idles."""
        # Called once per line: two attribute reads decide. ``_room`` is what the
        # queue could take when it was last handed a chunk (the writer only ever
        # makes more room, so the check errs on the safe side), or -1 after a failure.
        pending = self._pending_bytes + len(line)
        if pending > self._room:
            self.dropped += 1
            return
        self._pending.append(line)
        self._pending_bytes = pending
        if pending >= FLUSH_BYTES:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Hand every pending line to the writer thread as one chunk."""
        self._scheduled = False
        if self._pending:
            chunk = b"".join(self._pending)
            self.lines += len(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            with self._cond:
                self._queue.append(chunk)
                self._queued_bytes += len(chunk)
                self._cond.notify()
        self._room = -1 if self.error else self.max_queued_bytes - self._queued_bytes

    async def aclose(self) -> None:
        """Write everything pending, ``fsync``, close; raise the writer's error if any."""
        if self._thread is None:
            return
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify()
        thread, self._thread = self._thread, None
        await asyncio.to_thread(thread.join)
        if self.error is not None:
            raise self.error

    # The writer thread.

    def _run(self) -> None:
        last_sync = time.monotonic()
        unsynced = False
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        timeout = self.fsync_interval if unsynced else None
                        if not self._cond.wait(timeout) and unsynced:
                            break
                    chunk = self._queue.popleft() if self._queue else None
                    if chunk is None and self._closing:
                        break
                if chunk is not None:
                    self._write_chunk(chunk)
                    with self._cond:
                        self._queued_bytes -= len(chunk)
                    unsynced = True
                if unsynced and time.monotonic() - last_sync >= self.fsync_interval:
                    os.fsync(self._fd)
                    last_sync, unsynced = time.monotonic(), False
            if self._on_close is not None:
                self._on_close(self._fd)
            if unsynced or self._on_close is not None:
                os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)
        finally:
            os.close(self._fd)

    def _write_chunk(self, chunk: bytes) -> None:
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

    def _fail(self, exc: OSError) -> None:
        self.error = SinkError(exc.errno, f"cannot write {self.path}: {exc.strerror}")
        self._room = -1
        with self._cond:
            self._queue.clear()
            self._queued_bytes = 0
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.failed.set)
