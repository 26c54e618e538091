"""Runs you can tell apart: each run's start and stop events say where its lines are."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

from btclib.feed import Data, Feed
from btclib.files.rotating import Output
from btclib.files.runs import count_lines, events_path, format_runs, read_runs
from btclib.recorder import RunSummary, record_feeds
from btclib.recorder.record import RunContext

from ..conftest import FAST


async def record_messages(
    out: Path, messages: list[bytes], *, seed: int | None = None, sources=None, **files: str
) -> RunSummary:
    """Record ``messages`` (each one line) from a local server that then closes;
    ``files``: ``rotate``/``split`` for :func:`record_feeds`."""

    async def send_all(ws: ServerConnection) -> None:
        for m in messages:
            await ws.send(m)
        await ws.close()

    async with serve(send_all, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        finish = asyncio.Event()

        def whole(frame: bytes) -> Data:
            finish.set()
            return Data("s", None, bytes(frame) + b"\n")

        feed = Feed("test", f"ws://127.0.0.1:{port}/", (), whole, ("s",))
        return await asyncio.wait_for(
            record_feeds(
                [feed],
                Output.parse(out, **files),
                events_path=events_path(out),
                finish=finish,
                options=FAST,
                duration=20,
                context=RunContext(
                    seed=seed,
                    sources=sources or {"test": "simulator"},
                    reasons={"test": "source 'sim' was chosen"},
                ),
            ),
            20,
        )


async def test_each_run_names_the_lines_and_bytes_it_appended(tmp_path: Path):
    out = tmp_path / "data.txt"
    first = [b"a%d" % i for i in range(5)]
    second = [b"b%d" % i for i in range(7)]
    await record_messages(out, first, seed=11)
    summary = await record_messages(out, second, seed=12, sources={"test": "live"})
    assert summary.first_line == 6

    runs = read_runs(out)
    assert [(r.first_line, r.last_line) for r in runs] == [(1, 5), (6, 12)]
    data = out.read_bytes()
    lines = data.splitlines()
    for run, expected in zip(runs, (first, second), strict=True):
        assert lines[run.first_line - 1 : run.last_line] == expected
        assert data[run.start_offset : run.end_offset].splitlines() == expected
    assert [r.seed for r in runs] == [11, 12]
    assert [r.simulated for r in runs] == [True, False]
    assert all(r.duration is not None and r.stopped == "source ended" for r in runs)

    text = format_runs(runs, out)
    assert text.startswith(f"{out}: 2 runs")
    assert "run 1: " in text and "lines 1-5 (5 lines)" in text and "lines 6-12 (7 lines)" in text
    assert "test: simulator (source 'sim' was chosen)" in text and "test: live" in text
    assert "simulator seed 11 (--seed 11 reproduces it)" in text


async def test_lines_appended_by_someone_else_between_runs_are_counted_not_assumed(
    tmp_path: Path,
):
    out = tmp_path / "data.txt"
    await record_messages(out, [b"x1", b"x2"])
    with out.open("ab") as f:
        f.write(b"by hand 1\nby hand 2\nhalf a line")  # the sink ends the torn line
    await record_messages(out, [b"y1"])
    runs = read_runs(out)
    assert [(r.first_line, r.last_line) for r in runs] == [(1, 2), (6, 6)]
    assert out.read_bytes().splitlines()[5] == b"y1"


def test_a_run_that_was_killed_has_no_end_and_says_so(tmp_path: Path):
    out = tmp_path / "data.txt"
    out.write_bytes(b"l1\nl2\n")
    start = {"time": 1_700_000_000.0, "event": "start", "offset": 0, "line": 1,
             "sources": {"binance": "live"}}  # fmt: skip
    log = events_path(out)
    log.write_text(json.dumps(start) + "\n" + "{damaged\n" + json.dumps(start) + "\n")
    runs = read_runs(out)
    assert len(runs) == 2 and runs[0].duration is None and runs[0].line_range == "lines 1-?"
    assert "no stop event (killed?)" in format_runs(runs)


def test_an_overlong_events_line_is_skipped_without_being_held_in_memory(tmp_path: Path):
    out = tmp_path / "data.txt"
    log = events_path(out)
    start = json.dumps({"time": 1.0, "event": "start", "line": 1, "offset": 0})
    with log.open("w") as f:
        f.write('{"event":"gap","cause":"' + "x" * (3 << 20) + '"}\n')
        f.write(start + "\n")
    [run] = read_runs(out)
    assert run.first_line == 1 and run.gaps == []


def test_count_lines_reads_in_chunks(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"0123456789\n" * 300_000)  # 3.3 MB, several chunks
    assert count_lines(path, path.stat().st_size) == 300_000
    assert count_lines(path, 11 * 1000) == 1000


def test_a_file_without_events_log_has_no_runs(tmp_path: Path):
    assert read_runs(tmp_path / "none.txt") == []
    assert format_runs([], tmp_path / "none.txt").startswith("no runs recorded")
