"""Files for weeks: daily and size rotation, one file per market, compressed closed files,
and the set read back as one recording (issue 16)."""

from __future__ import annotations

import asyncio
import calendar
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from btclib import analysis
from btclib.files.linereader import read_lines
from btclib.files.rotating import Output, RotatingSink, SplitSink, open_sink
from btclib.files.rotation import (
    Rotation,
    compress,
    due,
    market_of,
    member_name,
    parse_rotate,
    parse_split,
    set_base,
    set_files,
)
from btclib.files.runs import events_path, format_runs, read_runs
from btclib.files.sink import LineSink, SinkError
from btclib.recorder import record_feeds
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.expected import expected_line
from btclib.steps.steps import build_feeds

from ..conftest import FAST
from .test_runs import record_messages

MIDNIGHT = calendar.timegm((2026, 12, 2, 0, 0, 0))
"""The UTC midnight between 2026-12-01 and 2026-12-02, crossed by a forced clock."""


def set_lines(base: Path) -> list[bytes]:
    """Every line of the set, its files in order (compressed ones inflated)."""
    out: list[bytes] = []
    for path in set_files(base):
        lines = list(read_lines(path, 1 << 24))
        assert all(isinstance(line, bytes) and line.endswith(b"\n") for line in lines), path
        out.extend(lines)  # type: ignore[arg-type]
    return out


def file_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    assert data.endswith(b"\n") or not data, f"{path} ends in a torn line"
    return data.splitlines(keepends=True)


def log_of(base: Path) -> list[dict]:
    return [json.loads(line) for line in events_path(base).read_text().splitlines()]


def by_market(lines: list[bytes]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for line in lines:
        found.setdefault(market_of(line), []).append(line)
    return found


# The pure parts: the rule, the names, the set's order.


def test_the_rule_switches_at_the_utc_midnight_and_before_a_chunk_would_pass_the_size():
    daily = parse_rotate("daily")
    assert daily == Rotation(daily=True)
    key = daily.first_key(MIDNIGHT - 1, [])
    assert key == "2026-12-01" and daily.until(key) == MIDNIGHT
    assert not due(MIDNIGHT - 0.001, MIDNIGHT, 10**9, 100, None)
    assert due(MIDNIGHT, MIDNIGHT, 0, 100, None)
    assert daily.next_key(MIDNIGHT + 5, key) == "2026-12-02"

    size = parse_rotate("500MB")
    assert size == Rotation(max_bytes=500_000_000) and parse_rotate("2KiB").max_bytes == 2048
    assert size.first_key(0, []) == "000001" and size.next_key(0, "000001") == "000002"
    assert size.first_key(0, ["000001", "000007"]) == "000007"
    inf = float("inf")
    assert not due(0, inf, 400, 100, 500) and due(0, inf, 401, 100, 500)
    assert not due(0, inf, 0, 10_000, 500)  # an empty file takes any chunk: no endless switching


@pytest.mark.parametrize("bad", ["weekly", "12parsecs", "10", "-5MB", ""])
def test_a_wrong_rotate_or_split_is_refused_with_what_is_allowed(bad: str):
    with pytest.raises(ValueError, match="rotate"):
        parse_rotate(bad)
    with pytest.raises(ValueError, match="split must be 'market'"):
        parse_split("exchange")


def test_a_set_is_found_in_order_and_a_name_without_its_gz_is_preferred(tmp_path: Path):
    base = tmp_path / "stream-data-multi.txt"
    names = [
        "stream-data-multi.2026-12-02.txt",
        "stream-data-multi.2026-11-30.txt.gz",
        "stream-data-multi.2026-12-01.txt.gz",
        "stream-data-multi.2026-12-01.txt",  # compressed, original not yet removed: read this
        "stream-data-multi.2026-12-03.txt.gz.part",  # unfinished: never read
        "stream-data-multi.txt",  # recorded before rotating: first
        "stream-data-multi.events.jsonl",
        "stream-data-multiple.2026-12-01.txt",
        "other.2026-12-01.txt",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in set_files(base)] == [
        "stream-data-multi.txt",
        "stream-data-multi.2026-11-30.txt.gz",
        "stream-data-multi.2026-12-01.txt",
        "stream-data-multi.2026-12-02.txt",
    ]
    assert member_name(base, "btcusdt", "000002").name == "stream-data-multi.btcusdt.000002.txt"
    assert set_base(tmp_path / "stream-data-multi.btckrw.2026-12-01.txt.gz") == base
    assert set_base(tmp_path / "stream-data-multi.000003.txt") == base
    assert set_base(base) == base


# Compression: never a half .gz as the only copy.


def test_a_failed_compression_leaves_the_file_whole_and_no_gz(tmp_path: Path):
    path = tmp_path / "s.2026-12-01.txt"
    data = b"".join(b"btcusdt@trade, p:%d,q:1\n" % i for i in range(300_000))
    path.write_bytes(data)
    written = []

    def fail_half_way(f, chunk: bytes) -> None:
        if written:
            raise OSError(28, "No space left on device")
        written.append(f.write(chunk))

    with pytest.raises(OSError, match="No space"):
        compress(path, write=fail_half_way)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    gz = compress(path)
    assert gzip.decompress(gz.read_bytes()) == data and not path.exists()


def test_a_compression_killed_mid_way_leaves_the_txt_and_the_next_run_finishes_it(
    tmp_path: Path,
):
    base = tmp_path / "s.txt"
    closed = member_name(base, None, "2026-11-30")
    data = os.urandom(1 << 20).hex().encode() + b"\n"  # incompressible: the copy takes a while
    with closed.open("wb") as f:
        for _ in range(48):
            f.write(data)
    part = closed.with_name(closed.name + ".gz.part")
    code = "import sys, pathlib, btclib.files.rotation as r; r.compress(pathlib.Path(sys.argv[1]))"
    child = subprocess.Popen([sys.executable, "-c", code, str(closed)])
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0):  # a child process: nothing to await
        assert child.poll() is None and time.monotonic() < deadline, "the copy never started"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert closed.stat().st_size == 48 * len(data)  # the original, whole
    assert not closed.with_name(closed.name + ".gz").exists()  # never a half .gz

    async def next_run() -> RotatingSink:
        sink = RotatingSink(base, Rotation(daily=True), clock=lambda: MIDNIGHT + 60)
        sink.open()
        sink.write(b"btcusdt@trade, p:1,q:1\n")
        await sink.aclose()
        return sink

    asyncio.run(next_run())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["s.2026-11-30.txt.gz", "s.2026-12-02.txt"]
    assert file_lines(tmp_path / "s.2026-11-30.txt.gz") == [data] * 48


# The sink: a switch between whole lines, the lock moving with the file.


async def test_the_lock_moves_with_the_file(tmp_path: Path):
    base = tmp_path / "s.txt"
    now = [MIDNIGHT - 1]
    sink = RotatingSink(base, Rotation(daily=True), clock=lambda: now[0])
    sink.open()
    first = sink.path
    with pytest.raises(SinkError, match="another btclib recorder"):
        LineSink(first).open()
    sink.write(b"a@x\n")
    await asyncio.sleep(0)  # the loop goes idle: the line is written
    now[0] = MIDNIGHT + 1
    sink.write(b"b@x\n")
    await asyncio.sleep(0)
    assert sink.path.name == "s.2026-12-02.txt"
    with pytest.raises(SinkError, match="another btclib recorder"):
        LineSink(sink.path).open()
    await sink.aclose()
    assert set_lines(base) == [b"a@x\n", b"b@x\n"]


async def test_a_switch_waits_for_the_writer_thread_when_lines_are_queued(tmp_path: Path):
    """A slow disk moved writing to the thread, which is still busy with the day's last
    chunks when midnight comes: it switches files after them, before the next day's."""
    import threading

    base = tmp_path / "s.txt"
    now = [MIDNIGHT - 1]
    held = threading.Event()
    calls = []

    def write(fd: int, data: memoryview) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            time.sleep(0.01)  # one slow write on the loop: writing moves to the thread
        else:
            held.wait(10)  # the thread is busy: chunks queue up meanwhile
        return os.write(fd, data)

    sink = RotatingSink(base, Rotation(daily=True), clock=lambda: now[0], write=write)
    sink.open()
    expected = [b"m@%d\n" % i for i in range(20_000)]
    for i, line in enumerate(expected):
        if i == 10_000:
            await asyncio.sleep(0)  # the day's last lines handed over
            now[0] = MIDNIGHT + 1
        sink.write(line)
        if i % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sink._queued_in > sink._queued_out  # the switch is queued behind the writes
    assert sink.path.name == "s.2026-12-01.txt"  # the writer is still on the old file
    held.set()
    await sink.aclose()
    assert sink.slow_writes == 1 and sink.path.name == "s.2026-12-02.txt"
    assert set_lines(base) == expected
    day1, day2 = set_files(base)
    assert day1.name == "s.2026-12-01.txt.gz" and day2.name == "s.2026-12-02.txt"
    assert file_lines(day1) == expected[:10_000] and file_lines(day2) == expected[10_000:]


# The recorder: against the simulator and a local server.


async def record_sim(
    tmp_path: Path,
    step: str,
    make_sink: Callable[[Path], LineSink | SplitSink],
    *,
    lines: int,
    on_lines: Callable[[int], None] = lambda n: None,
    **settings,
) -> tuple[Path, Simulator]:
    """Record ``step`` from the simulator into ``make_sink(base)`` until ``lines`` lines,
    then end the source cleanly (every frame sent had its chance)."""
    base = tmp_path / "stream-data-multi.txt"
    sink = make_sink(base)
    finish, reached = asyncio.Event(), asyncio.Event()

    def progress(p) -> None:
        on_lines(p.lines)
        if p.lines >= lines:
            reached.set()

    async with Simulator(SimConfig(seed=7, speedup=20, record_sent=True)) as sim:
        feeds = build_feeds(step, sim.urls, **settings)
        task = asyncio.create_task(
            record_feeds(
                feeds,
                sink,
                events_path=events_path(base),
                options=FAST,
                progress=progress,
                finish=finish,
                duration=30,
            )
        )
        await asyncio.wait_for(reached.wait(), 30)
        finish.set()
        await sim.stop()
        await asyncio.wait_for(task, 30)
    return base, sim


async def test_daily_rotation_across_a_forced_midnight_loses_and_tears_nothing(tmp_path: Path):
    now = [MIDNIGHT - 0.5]

    def after(n: int) -> None:
        if n >= 150:
            now[0] = MIDNIGHT + 0.5  # the clock passes midnight while frames flow

    base, sim = await record_sim(
        tmp_path,
        "both",
        lambda base: open_sink(base, rotate="daily", clock=lambda: now[0]),
        lines=400,
        on_lines=after,
    )
    day1, day2 = set_files(base)
    assert (day1.name, day2.name) == (
        "stream-data-multi.2026-12-01.txt.gz",  # closed and compressed
        "stream-data-multi.2026-12-02.txt",  # the open one, never compressed
    )
    assert not member_name(base, None, "2026-12-01").exists()
    first, second = file_lines(day1), file_lines(day2)
    got = set_lines(base)
    assert got == first + second and len(first) >= 150 and second
    sent = [expected_line(f) for f in sim.sent]
    assert sorted(got) == sorted(sent)  # every line in exactly one file
    assert by_market(got) == by_market(sent)  # and each market's in the order sent

    log = log_of(base)
    [start] = [e for e in log if e["event"] == "start"]
    assert (start["file"], start["line"], start["offset"]) == (str(day1)[:-3], 1, 0)
    [rotate] = [e for e in log if e["event"] == "rotate"]
    assert rotate["closed"] == str(day1)[:-3] and rotate["file"] == str(day2)
    assert rotate["end_line"] == len(first) and rotate["end_offset"] == sum(map(len, first))
    assert (rotate["line"], rotate["offset"]) == (1, 0)
    [compressed] = [e for e in log if e["event"] == "compressed"]
    assert compressed == compressed | {"file": str(day1)[:-3], "gz": str(day1)}
    [stop] = [e for e in log if e["event"] == "stop"]
    assert stop["file"] == str(day2) and stop["end_line"] == len(second)
    assert stop["end_offset"] == day2.stat().st_size

    [run] = read_runs(day2)  # any file of the set names the set
    assert [(s.file, s.first_line, s.last_line) for s in run.files] == [
        (str(day1)[:-3], 1, len(first)),
        (str(day2), 1, len(second)),
    ]
    text = format_runs(read_runs(base), base)
    assert "2 files" in text and f"stream-data-multi.2026-12-01.txt: lines 1-{len(first)}" in text
    assert "(now stream-data-multi.2026-12-01.txt.gz)" in text

    rec = analysis.load_lines(base)  # the set, read as one recording
    assert len(rec.levels.groupby("t")) + len(rec.prints) == len(got)
    assert rec.levels["t"].max() <= len(got) - 1


async def test_size_rotation_keeps_every_file_under_the_limit_and_every_line_once(
    tmp_path: Path,
):
    base = tmp_path / "data.txt"
    messages = [b"m@x,%05d," % i + b"y" * (i % 700) for i in range(3000)]
    summary = await record_messages(base, messages, rotate="200KB")
    assert summary.total == 3000
    files = set_files(base)
    sizes = [len(b"".join(file_lines(p))) for p in files]
    assert len(files) >= 5 and all(size <= 200_000 for size in sizes)
    assert all(p.name.endswith(".txt.gz") for p in files[:-1]) and files[-1].suffix == ".txt"
    assert [p.name.split(".")[1] for p in files] == [f"{n:06d}" for n in range(1, len(files) + 1)]
    assert set_lines(base) == [m + b"\n" for m in messages]
    rotates = [e for e in log_of(base) if e["event"] == "rotate"]
    assert len(rotates) == len(files) - 1
    for event, path, size in zip(rotates, files, sizes, strict=False):
        assert event["closed"] == str(path).removesuffix(".gz") and event["end_offset"] == size
        assert event["end_line"] == len(file_lines(path))
    compressed = {e["gz"] for e in log_of(base) if e["event"] == "compressed"}
    assert compressed == {str(p) for p in files[:-1]}

    # A second run continues the last numbered file while it has room.
    await asyncio.wait_for(
        record_feeds(
            [],
            Output.parse(base, rotate="200KB"),
            events_path=events_path(base),
            options=FAST,
            duration=0.01,
        ),
        10,
    )
    assert set_files(base) == files
    [_, second] = read_runs(base)
    assert (
        second.files[0].file == str(files[-1])
        and second.files[0].first_line == len(file_lines(files[-1])) + 1
    )


async def test_split_by_market_with_daily_rotation_gives_each_market_its_files(tmp_path: Path):
    now = [MIDNIGHT - 0.5]

    def after(n: int) -> None:
        if n >= 200:
            now[0] = MIDNIGHT + 0.5

    base, sim = await record_sim(
        tmp_path,
        "both",
        lambda base: open_sink(base, rotate="daily", split="market", clock=lambda: now[0]),
        lines=500,
        on_lines=after,
        codes=["KRW-BTC", "KRW-USDT"],
    )
    sent = by_market([expected_line(f) for f in sim.sent])
    assert set(sent) == {"btcusdt", "btckrw", "usdtkrw"}
    for market, lines in sent.items():
        files = [p for p in set_files(base) if f".{market}." in p.name]
        names = [p.name for p in files]
        assert names[-1] == f"stream-data-multi.{market}.2026-12-02.txt", names
        if len(files) == 2:  # the market had lines on both days
            assert names[0] == f"stream-data-multi.{market}.2026-12-01.txt.gz"
        got = [line for p in files for line in file_lines(p)]
        assert got == lines, market  # all of its lines, in the order sent, nothing else
    assert sorted(set_lines(base)) == sorted(line for ls in sent.values() for line in ls)

    log = log_of(base)
    opened = {e["market"]: e["file"] for e in log if e["event"] == "file"}
    assert set(opened) == set(sent)
    assert opened["btcusdt"] == str(member_name(base, "btcusdt", "2026-12-01"))
    rotates = [e for e in log if e["event"] == "rotate"]
    assert rotates and all(e["market"] in sent for e in rotates)
    [stop] = [e for e in log if e["event"] == "stop"]
    last = {market: member_name(base, market, "2026-12-02") for market in sent}
    assert stop["files"] == {
        str(path): {"end_offset": path.stat().st_size, "end_line": len(file_lines(path))}
        for path in last.values()
    }
    [run] = read_runs(base)
    assert {s.file for s in run.files} >= set(opened.values())


async def test_split_without_rotation_writes_one_plain_file_per_market(tmp_path: Path):
    base, sim = await record_sim(
        tmp_path, "both", lambda base: open_sink(base, split="market"), lines=200
    )
    sent = by_market([expected_line(f) for f in sim.sent])
    for market, lines in sent.items():
        assert file_lines(tmp_path / f"stream-data-multi.{market}.txt") == lines
    assert not base.exists()
    rec = analysis.load_lines(base)
    assert len(rec.levels.groupby("t")) + len(rec.prints) == sum(map(len, sent.values()))


async def test_a_sink_given_with_rotate_arguments_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="belong to the sink"):
        await record_feeds([], Output(LineSink(tmp_path / "x.txt"), Rotation(daily=True)))


async def test_the_api_passes_rotate_and_split_to_the_recorder(tmp_path: Path):
    import btclib

    out = tmp_path / "multi.txt"
    with pytest.raises(ValueError, match="rotate must be"):
        await btclib.record("both", source="sim", out=out, rotate="hourly", progress=None)
    first_day = time.strftime("%Y-%m-%d", time.gmtime())
    summary = await btclib.record(
        "both",
        source="sim",
        duration=1.0,
        out=out,
        rotate="daily",
        split="market",
        progress=None,
        announce=lambda text: None,
    )
    last_day = time.strftime("%Y-%m-%d", time.gmtime())  # a run may cross UTC midnight
    names = sorted(p.name for p in set_files(out))
    days = sorted({first_day, last_day})
    possible = {f"multi.{market}.{day}.txt" for market in ("btckrw", "btcusdt") for day in days}
    assert set(names) <= possible
    assert {name.split(".")[1] for name in names} == {"btckrw", "btcusdt"}
    assert len(set_lines(out)) == summary.total > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [*names, "multi.events.jsonl"]


async def test_a_split_set_of_many_markets_is_synced_by_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import threading

    synced: set[int] = set()
    everything = asyncio.Event()
    loop = asyncio.get_running_loop()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.add(fd)
        if len(synced) >= 50:
            loop.call_soon_threadsafe(everything.set)

    monkeypatch.setattr(os, "fsync", fsync)
    sink = open_sink(tmp_path / "s.txt", split="market", fsync_interval=0.01)
    sink.open()
    for i in range(50):
        sink.write(b"m%02d@trade, p:1,q:1\n" % i)
    await asyncio.wait_for(everything.wait(), 10)  # every market's file synced
    fsyncers = [t for t in threading.enumerate() if t.name.startswith("btclib-fsync")]
    assert len(fsyncers) == 1
    await sink.aclose()
    assert len(set_files(tmp_path / "s.txt")) == 50
    assert all(file_lines(p) == [b"%s@trade, p:1,q:1\n" % p.name.split(".")[1].encode()]
               for p in set_files(tmp_path / "s.txt"))  # fmt: skip


async def test_a_market_file_held_by_another_recorder_stops_the_split_run(tmp_path: Path):
    async with LineSink(tmp_path / "s.btcusdt.txt"):  # another recorder writes this market
        sink = open_sink(tmp_path / "s.txt", split="market")
        sink.open()
        assert sink.append(b"btckrw@orderbook,[]\n")
        assert sink.append(b"btcusdt@trade, p:1,q:1\n")  # not written: counted, run stopped
        assert sink.failed.is_set() and sink.dropped == 1
        with pytest.raises(SinkError, match=r"s\.btcusdt\.txt.*another btclib recorder"):
            await sink.aclose()
    assert file_lines(tmp_path / "s.btckrw.txt") == [b"btckrw@orderbook,[]\n"]
    assert file_lines(tmp_path / "s.btcusdt.txt") == []
