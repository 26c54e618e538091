"""The data file's disk misbehaving: slow, stuck, full in the middle of a run, full from the
first write, an unwritable path, a second writer on the same file, a line larger than the
whole queue. Reading is never blocked by the disk, nothing read is silently lost, and a
disk that fails stops the run naming the path, whole lines left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib.errors import SinkError
from btclib.files.sink import LineSink
from btclib.simulator import SimConfig
from btclib.tools.soak import compare

from .conftest import Recorder, Setup, assert_each_message_once

pytestmark = pytest.mark.timeout(90)


async def test_a_slow_disk_never_blocks_ping_answers(recorder: Recorder, tmp_path: Path):
    # Every write takes 50 ms; the server pings 4 times a second and drops a client whose
    # pong is 0.6 s late: writing must not hold up reading and answering.
    config = SimConfig(
        seed=20, speedup=20, record_sent=True, binance_ping_interval=0.25, binance_ping_timeout=0.6
    )
    run = await recorder.record(
        tmp_path, "binance", config, Setup(disk="slow"), until=lambda s, sim: s.elapsed > 1.5
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert run.lines == run.expected("binance")
    assert_each_message_once(run)


async def test_a_stuck_disk_holds_reading_back_instead_of_dropping_lines(
    recorder: Recorder, tmp_path: Path
):
    # 200 ms a write. btclib's queue is made 2 kB here: it fills again and again, and reading
    # waits for room each time (btcrec's queue is large and has no size option: its reading
    # never waits, its writer catches up at the end).
    queue = 2000 if recorder.name == "python" else None
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=21, speedup=50, record_sent=True),
        Setup(disk="stuck", max_queued_bytes=queue),
        until=lambda s, sim: s.elapsed > 1.0,
    )
    # What is in the file is exactly the first messages sent, none missing, and the waiting
    # was not mistaken for a stalled connection.
    assert run.summary.dropped == 0
    assert run.lines == run.expected("binance")[: len(run.lines)] and len(run.lines) >= 10
    assert_each_message_once(run, run.sim.sent[: len(run.lines)])
    assert run.summary.connections == 1 and run.summary.gaps == []
    if run.events is not None:
        assert not run.events_of("lines_dropped") and not run.events_of("stall")


async def test_a_disk_that_fills_up_mid_run_stops_it_naming_the_path_with_whole_lines(
    recorder: Recorder, tmp_path: Path
):
    failure = await recorder.fail(
        tmp_path,
        "binance",
        SimConfig(seed=26, speedup=20, record_sent=True),
        Setup(disk="full", full_after=4000),
    )
    assert f"{tmp_path / 'data.txt'}: No space left on device" in failure.message
    lines = failure.lines
    assert 0 < len(failure.data) <= 4000 and failure.data.endswith(b"\n")
    v = compare(
        failure.sim.sent[: len(lines)], failure.data
    )  # whole lines, each the message sent, in order
    assert (v.lost, v.duplicated, v.torn, v.written) == (0, 0, 0, len(lines)), v.problems
    assert failure.summary is not None and failure.summary.total >= len(lines)
    if failure.exception is not None:
        assert isinstance(failure.exception, SinkError)
        assert failure.summary.stopped == "sink failed"
    else:
        assert failure.code == 1


async def test_a_full_disk_from_the_first_write_stops_the_run_naming_the_path(
    recorder: Recorder, tmp_path: Path
):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    failure = await recorder.fail(
        tmp_path, "binance", SimConfig(seed=22, speedup=20), out=Path("/dev/full")
    )
    assert "/dev/full: No space left on device" in failure.message
    if failure.exception is not None:
        assert isinstance(failure.exception, SinkError)
        assert failure.summary is not None and failure.summary.stopped == "sink failed"
    else:
        assert failure.code == 1


async def test_an_unwritable_output_path_fails_before_connecting(
    recorder: Recorder, tmp_path: Path
):
    (tmp_path / "file").write_text("")
    failure = await recorder.fail(
        tmp_path, "binance", SimConfig(seed=27), out=tmp_path / "file" / "x.txt"
    )
    assert f"cannot write {tmp_path / 'file' / 'x.txt'}" in failure.message
    assert failure.sim.connections == []  # nothing connected
    if failure.exception is not None:
        assert isinstance(failure.exception, SinkError)
    else:
        assert failure.code == 1


async def test_a_second_writer_on_the_same_file_is_refused_and_the_first_keeps_its_lines(
    recorder: Recorder, tmp_path: Path
):
    out = tmp_path / "data.txt"
    first = b"btcusdt@trade, p:95000.01000000,q:0.00100000\n"
    out.write_bytes(first)
    async with LineSink(out):  # another recorder is writing this file
        failure = await recorder.fail(
            tmp_path, "binance", SimConfig(seed=28, speedup=20), out=out, timeout=10
        )
        assert out.read_bytes() == first  # nothing of the second writer's
    assert "another btclib recorder is writing" in failure.message or (
        "is being written" in failure.message
    ), failure.message
    assert str(out) in failure.message
    assert failure.sim.connections == []  # refused before connecting
    if failure.exception is not None:
        assert isinstance(failure.exception, SinkError)
    else:
        assert failure.code == 1


async def test_a_line_larger_than_the_whole_queue_is_dropped_counted_and_reported(
    recorder: Recorder, tmp_path: Path
):
    recorder.lacks("queue limit")
    # A 200-byte queue can take trades (about 50 bytes) but never a depth5 book.
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=22, speedup=20, record_sent=True),
        Setup(max_queued_bytes=200),
        until=lambda s, sim: s.lines >= 20,
    )
    assert run.summary.dropped > 0
    [event] = run.events_of("lines_dropped")
    assert event["count"] == run.summary.dropped
    assert "lines dropped" in run.raw.text()
    assert all(b"@trade" in line for line in run.lines)
    v = run.verdict()  # every trade once, in order; the books, and only they, dropped
    assert (v.duplicated, v.torn, v.out_of_order) == (0, 0, 0), v.problems
    assert v.lost == run.summary.dropped
