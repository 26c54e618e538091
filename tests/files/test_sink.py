"""One writer per file: whole lines only, appended, errors named, nothing recorded lost."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

from btclib.files.sink import LineSink, SinkError

from ..windows import pretend_windows


async def test_lines_are_appended_after_what_the_file_held(tmp_path: Path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"earlier\n")
    async with LineSink(path) as sink:
        for i in range(1000):
            sink.write(b"line %d\n" % i)
    assert path.read_bytes() == b"earlier\n" + b"".join(b"line %d\n" % i for i in range(1000))


async def test_a_half_line_left_by_someone_else_is_ended_before_ours(tmp_path: Path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"torn")
    async with LineSink(path) as sink:
        sink.write(b"whole\n")
    assert path.read_bytes() == b"torn\nwhole\n"


async def test_lines_reach_the_os_when_the_loop_goes_idle(tmp_path: Path):
    path = tmp_path / "data.txt"
    written = asyncio.Event()
    loop = asyncio.get_running_loop()
    sink = LineSink(path, on_written=lambda n: loop.call_soon_threadsafe(written.set))
    sink.open()
    sink.write(b"first\n")
    await asyncio.wait_for(written.wait(), 5)
    assert path.read_bytes() == b"first\n"  # visible before close
    await sink.aclose()


async def test_appended_lines_wait_for_flush_and_flush_writes_them_at_once(tmp_path: Path):
    path = tmp_path / "data.txt"
    writes: list[bytes] = []

    def counted(fd: int, data: memoryview) -> int:
        writes.append(bytes(data))
        return os.write(fd, data)

    async with LineSink(path, write=counted) as sink:
        sink.append(b"a\n")
        sink.append(b"b\n")
        for _ in range(3):  # loop iterations in which write()'s call_soon flush would run
            await asyncio.sleep(0)
        assert writes == [] and path.read_bytes() == b""
        sink.flush()
        assert writes == [b"a\nb\n"] and path.read_bytes() == b"a\nb\n"
        big = b"x" * 1023 + b"\n"
        for _ in range(64):  # 64 KiB pending: written without waiting for flush()
            sink.append(big)
        assert len(writes) == 2 and path.stat().st_size == 4 + 64 * 1024


async def test_full_disk_keeps_every_whole_line_and_names_the_path(tmp_path: Path):
    path = tmp_path / "data.txt"
    budget = [250]  # the disk takes 250 bytes, then is full

    def small_disk(fd: int, data: memoryview) -> int:
        if budget[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(len(data), budget[0])
        budget[0] -= n
        return os.write(fd, data[:n])

    sink = LineSink(path, write=small_disk)
    sink.open()
    for i in range(100):
        sink.write(b"line number %04d\n" % i)  # 17 bytes each
    sink.flush()
    await asyncio.wait_for(sink.failed.wait(), 5)
    with pytest.raises(SinkError, match=f"cannot write {path}: No space left on device"):
        await sink.aclose()
    data = path.read_bytes()
    assert data == b"".join(b"line number %04d\n" % i for i in range(250 // 17))


async def test_dev_full_is_reported_not_hidden(tmp_path: Path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    sink = LineSink("/dev/full")
    sink.open()
    sink.write(b"x\n")
    with pytest.raises(SinkError, match="/dev/full: No space left on device"):
        await sink.aclose()


async def test_unwritable_path_fails_at_open_naming_it(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SinkError, match=f"cannot write {blocker}/data.txt"):
        LineSink(blocker / "data.txt").open()


async def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path):
    sink = LineSink(tmp_path / "data.txt", max_queued_bytes=100)
    sink.open()
    for _ in range(50):
        sink.write(b"0123456789\n")  # the loop never idles, so nothing leaves the queue
    assert sink.dropped > 0
    await sink.aclose()
    assert sink.lines + sink.dropped == 50


async def test_a_second_writer_to_the_same_file_is_refused_naming_it(tmp_path: Path):
    path = tmp_path / "data.txt"
    async with LineSink(path) as first:
        with pytest.raises(SinkError, match="another btclib recorder is writing"):
            LineSink(path).open()
        first.write(b"still mine\n")
    async with LineSink(path) as again:  # the lock goes with the writer
        again.write(b"next run\n")
    assert path.read_bytes() == b"still mine\nnext run\n"


class DiskClock:
    """The sink's clock, moved on by the disk: a write is as slow as the test says, whatever
    else the machine is doing (a real write on a busy machine can take over 2 ms)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_production_write_policy_is_pinned():
    """The numbers the README promises; changing one must be a decision, not an accident."""
    from btclib.files import sink as module

    assert module.INLINE_BUDGET == 0.002  # a loop write slower than 2 ms moves writing
    assert module.INLINE_AGAIN_AFTER == 5.0  # back on the loop after 5 s of fast writes
    assert module.FLUSH_BYTES == 64 * 1024
    assert module.MAX_QUEUED_BYTES == 64 * 1024 * 1024
    assert LineSink("x").fsync_interval == 1.0


async def test_a_slow_write_moves_writing_off_the_event_loop(tmp_path: Path):
    import threading

    writers: list[str] = []
    clock = DiskClock()

    def disk(fd: int, data: memoryview) -> int:
        writers.append(threading.current_thread().name)
        if len(writers) == 2:
            clock.now += 0.01  # the disk gets slow once
        return os.write(fd, data)

    async with LineSink(tmp_path / "data.txt", write=disk, clock=clock) as sink:
        for i in range(4):
            sink.write(b"line %d\n" % i)
            await asyncio.sleep(0)  # let the loop go idle: one chunk per line
        assert sink.slow_writes == 1
    assert writers[:2] == [threading.main_thread().name] * 2  # fast disk: the loop writes
    assert all(name.startswith("btclib-writer") for name in writers[2:])
    assert (tmp_path / "data.txt").read_bytes() == b"line 0\nline 1\nline 2\nline 3\n"


async def test_writing_returns_to_the_loop_after_five_seconds_of_fast_writes(tmp_path: Path):
    import threading

    writers: list[str] = []
    clock = DiskClock()

    def disk(fd: int, data: memoryview) -> int:
        writers.append(threading.current_thread().name)
        if len(writers) == 1:
            clock.now += 0.01  # one slow write: the thread takes over
        return os.write(fd, data)

    async def line(sink: LineSink, text: bytes) -> None:
        sink.write(text)
        await asyncio.sleep(0)  # the loop goes idle: the line is handed on
        await asyncio.to_thread(lambda: None)  # ... and the thread has had its turn

    async with LineSink(tmp_path / "data.txt", write=disk, clock=clock) as sink:
        await line(sink, b"slow\n")
        clock.now += 4.9  # fast writes, but not yet for 5 s: still the thread
        await line(sink, b"thread\n")
        while sink._queued_out != sink._queued_in:  # until the writer thread has caught up
            await asyncio.to_thread(lambda: None)
        clock.now += 0.2  # 5.1 s since the slow write
        await line(sink, b"loop again\n")
    main = threading.main_thread().name
    assert writers[0] == main and writers[1].startswith("btclib-writer")
    assert writers[2] == main  # the loop writes again
    assert (tmp_path / "data.txt").read_bytes() == b"slow\nthread\nloop again\n"


async def test_a_writer_thread_that_fell_behind_catches_up_in_batches_in_order(tmp_path: Path):
    import threading
    import time

    stalled, release = threading.Event(), threading.Event()
    thread_writes: list[int] = []

    def disk(fd: int, data: memoryview) -> int:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.01)  # a slow write: writing moves to the thread
        else:
            if not stalled.is_set():
                stalled.set()
                release.wait(5)  # the disk stalls while the loop queues 200 chunks
            thread_writes.append(len(data))
        return os.write(fd, data)

    lines = [b"chunk %03d\n" % i for i in range(202)]
    async with LineSink(tmp_path / "data.txt", write=disk) as sink:
        for i, line in enumerate(lines):
            sink.append(line)
            sink.flush()  # one chunk per line
            if i == 1:
                await asyncio.to_thread(stalled.wait, 5)
        release.set()
    assert (tmp_path / "data.txt").read_bytes() == b"".join(lines)
    assert sink.slow_writes == 1 and sink.dropped == 0
    assert thread_writes == [10, 200 * 10]  # the stalled chunk, then the 200 queued at once


async def test_lines_are_synced_to_disk_while_the_writer_thread_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import threading
    import time

    synced, stalled, release = threading.Event(), threading.Event(), threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.set()

    def disk(fd: int, data: memoryview) -> int:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.01)  # a slow write: writing moves to the thread
        elif not stalled.is_set():
            stalled.set()
            release.wait(5)  # ...which then stalls on its next write
        return os.write(fd, data)

    monkeypatch.setattr(os, "fsync", fsync)
    async with LineSink(tmp_path / "data.txt", write=disk, fsync_interval=0.05) as sink:
        sink.write(b"first\n")
        sink.flush()  # written by the loop (slowly), then
        sink.write(b"second\n")
        sink.flush()  # queued for the thread, which stalls
        await asyncio.to_thread(stalled.wait, 5)
        # The first line is synced although the writer thread is stuck.
        assert await asyncio.to_thread(synced.wait, 5)
        release.set()
    assert (tmp_path / "data.txt").read_bytes() == b"first\nsecond\n"


async def test_a_full_queue_refuses_append_and_room_waits_for_the_writer(tmp_path: Path):
    import threading
    import time

    stalled, release = threading.Event(), threading.Event()

    def disk(fd: int, data: memoryview) -> int:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.01)  # a slow write: writing moves to the thread
        elif not stalled.is_set():
            stalled.set()
            release.wait(5)  # the thread's first write stalls
        return os.write(fd, data)

    line = b"x" * 99 + b"\n"
    async with LineSink(tmp_path / "data.txt", write=disk, max_queued_bytes=1000) as sink:
        assert sink.append(line)
        sink.flush()  # the slow inline write
        assert sink.append(line)
        sink.flush()  # taken by the thread, which stalls
        await asyncio.to_thread(stalled.wait, 5)
        queued = 0
        while sink.append(line):  # fill the queue behind the stalled write
            sink.flush()
            queued += 1
        # 1000 bytes minus the stalled 100: nine more lines, then refused (not dropped)
        assert queued == 9 and sink.dropped == 0
        waiting = asyncio.create_task(sink.room())
        await asyncio.sleep(0)
        assert not waiting.done() and sink.waiting
        release.set()
        await asyncio.wait_for(waiting, 5)
        assert not sink.waiting and sink.append(line)
    assert (tmp_path / "data.txt").read_bytes() == line * (2 + queued + 1)
    assert sink.dropped == 0


async def test_the_data_file_is_opened_in_binary_mode_where_the_platform_has_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    # Windows' os.open without O_BINARY is the C runtime's text mode: \n would become \r\n.
    # (tests/test_platform.py runs the sink with that translation switched on.)
    flags_seen: list[int] = []
    real_open = os.open

    def recording_open(path, flags, mode=0o777, **kwargs):
        flags_seen.append(flags)
        return real_open(path, flags & ~0x8000, mode, **kwargs)

    monkeypatch.setattr(os, "O_BINARY", 0x8000, raising=False)
    monkeypatch.setattr(os, "open", recording_open)
    async with LineSink(tmp_path / "data.txt") as sink:
        sink.write(b"line\n")
    assert flags_seen and all(flags & 0x8000 for flags in flags_seen)
    assert (tmp_path / "data.txt").read_bytes() == b"line\n"


# -- line endings: \n on every platform --------------------------------------------------------


async def test_the_sink_writes_the_same_bytes_with_text_mode_translation_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    path = tmp_path / "data.txt"
    path.write_bytes(b"left by someone else")  # half a line: the sink ends it first
    lines = [b'{"a":1}\n', "원화 KRW-BTC\n".encode(), b"\n".join([b"x"] * 3) + b"\n"]
    async with LineSink(path) as sink:
        for line in lines:
            sink.write(line)
        await asyncio.sleep(0)  # let the loop idle once: the chunk goes out inline
        sink.flush()
        sink._inline = False  # and the writer thread's route, too
        sink.write(b"from the thread\n")
    assert path.read_bytes() == b"left by someone else\n" + b"".join(lines) + b"from the thread\n"


async def test_queued_bytes_are_what_the_disk_has_not_written_yet(tmp_path: Path):
    import threading

    stalled, release = threading.Event(), threading.Event()
    clock = DiskClock()

    def disk(fd: int, data: memoryview) -> int:
        if threading.current_thread() is threading.main_thread():
            clock.now += 0.01  # a slow write: writing moves to the thread
        elif not stalled.is_set():
            stalled.set()
            release.wait(5)  # the disk stalls while lines queue
        return os.write(fd, data)

    async with LineSink(tmp_path / "data.txt", write=disk, clock=clock) as sink:
        assert sink.queued_bytes == 0 and sink.behind() is None
        sink.append(b"pending\n")
        assert sink.queued_bytes == 8  # on the loop, not yet flushed
        sink.flush()  # the slow inline write: the next chunks go to the thread
        assert sink.queued_bytes == 0
        sink.append(b"first\n")
        sink.flush()
        await asyncio.to_thread(stalled.wait, 5)
        sink.append(b"second\n")
        sink.flush()
        assert sink.queued_bytes == 6 + 7  # both queued behind the stalled disk
        release.set()
    assert sink.queued_bytes == 0
