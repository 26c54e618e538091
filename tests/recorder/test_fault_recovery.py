"""Every fault the exchanges throw, injected on purpose and survived.

Each test asserts what the file holds afterwards: every data message the
simulator sent while a connection was up is in the file exactly once, byte
for byte, no torn line, no duplicate across a rotation; and the events log and
summary name the gap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import os
import time
from pathlib import Path

import pytest

from btclib.errors import ExchangeError, RecordingError
from btclib.exchanges import binance, upbit
from btclib.files.sink import SinkError
from btclib.recorder import RecorderOptions, record_feeds
from btclib.simulator import (
    Drop,
    Faults,
    Malformed,
    MalformedKind,
    Refuse,
    Rule,
    SimConfig,
    Simulator,
    Stall,
)
from btclib.simulator.expected import distinct_messages

from ..conftest import FAST, UPBIT_REQUEST_ERRORS, record_against_sim


def trade_ids(sim: Simulator) -> list[int]:
    ids = []
    for frame in sim.sent:
        if frame.exchange == "binance":
            data = json.loads(frame.payload)["data"]
            if data.get("e") == "trade":
                ids.append(data["t"])
    return ids


def holes(ids: list[int]) -> int:
    return sum(b - a - 1 for a, b in itertools.pairwise(ids) if b > a + 1)


async def test_drop_without_close_frame_reconnects_and_the_gap_is_named(tmp_path: Path):
    faults = Faults.of(Rule(Drop(after_messages=40), exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=11, speedup=20, record_sent=True, faults=faults),
        until=lambda p, sim: p.reconnects >= 1 and p.lines >= 100,
    )
    assert run.lines == run.expected("binance")  # nothing sent while connected is lost
    assert run.summary.reconnects == 1 and run.summary.connections == 2
    [gap] = run.summary.gaps
    assert "1006" in gap["cause"]
    assert gap["start"] <= gap["end"]
    assert gap["missed"]["btcusdt@trade"] == holes(trade_ids(run.sim))
    [logged] = run.events_of("gap")
    assert logged["cause"] == gap["cause"] and logged["missed"] == gap["missed"]
    assert run.summary.missed_trades == holes(trade_ids(run.sim))


async def test_a_silent_book_is_a_dead_connection_even_while_trades_flow(tmp_path: Path):
    stall = Stall(after_seconds=0.3, channels=("depth",))
    faults = Faults.of(Rule(stall, exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=12, speedup=20, record_sent=True, faults=faults),
        until=lambda p, sim: p.reconnects >= 1 and p.lines >= 80,
        stall_after=0.5,
    )
    [stall_event] = run.events_of("stall")
    assert stall_event["stream"] == "btcusdt@orderbook"
    first_conn = [f for f in run.sim.sent if f.conn_id == run.sim.connections[0].conn_id]
    assert any(b'"e":"trade"' in f.payload.encode() for f in first_conn[-5:])  # trades still flowed
    assert run.lines == run.expected("binance")
    assert "stalled" in run.summary.gaps[0]["cause"]


async def test_server_shutdown_notice_rotates_make_before_break(tmp_path: Path):
    config = SimConfig(
        seed=13, speedup=20, record_sent=True, binance_lifetime=3.0, binance_shutdown_notice=2.0
    )
    run = await record_against_sim(
        tmp_path, "binance", config, until=lambda p, sim: p.elapsed > 2.5, stall_after=1.0
    )
    # Each connection gets its notice 1 s after it opened: 2 rotations in 2.5 s.
    assert run.summary.rotations == 2 and run.summary.reconnects == 0
    assert run.summary.gaps == [] and run.summary.missed_trades == 0
    assert run.events_of("server_shutdown") and run.events_of("rotated")
    expected_ids = distinct_messages(run.sim.sent)
    assert len(run.lines) == len(expected_ids)  # every message once: no gap, no duplicate
    sent_lines = set(run.expected("binance"))
    assert all(line in sent_lines for line in run.lines)
    assert run.summary.duplicates == len(run.sim.sent) - len(expected_ids) > 0


async def test_connection_lifetime_is_rotated_before_the_cut(tmp_path: Path):
    config = SimConfig(seed=14, speedup=20, record_sent=True, binance_lifetime=2.0)

    def feeds(sim: Simulator):
        feed = binance.feed(base=sim.urls["binance"], stall_after=1.0)
        return [dataclasses.replace(feed, lifetime=2.0)]

    options = dataclasses.replace(FAST, rotate_before=1.0)
    run = await record_against_sim(
        tmp_path,
        "binance",
        config,
        feeds=feeds,
        options=options,
        until=lambda p, sim: p.elapsed > 3.5,
    )
    assert run.summary.rotations >= 1 and run.summary.reconnects == 0
    assert run.summary.gaps == []
    assert len(run.lines) == len(distinct_messages(run.sim.sent))


async def test_region_block_451_fails_fast_and_names_the_way_out(tmp_path: Path):
    faults = Faults.of(Rule(Refuse(451), exchange="binance"))
    async with Simulator(SimConfig(faults=faults)) as sim:
        started = time.monotonic()
        with pytest.raises(RecordingError) as info:
            await record_feeds(
                [binance.feed(base=sim.urls["binance"])], tmp_path / "a.txt", options=FAST
            )
    message = str(info.value)
    assert "HTTP 451" in message and "restricted location" in message
    assert "--binance-url" in message
    assert info.value.summary.connections == 0
    assert time.monotonic() - started < 5


async def test_429_is_retried_with_backoff_then_recorded(tmp_path: Path):
    faults = Faults.of(Rule(Refuse(429), exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=15, speedup=20, record_sent=True, faults=faults),
        until=lambda p, sim: p.lines >= 20,
    )
    assert run.lines == run.expected("binance")
    failed = run.events_of("connect_failed")
    assert len(failed) == 1 and "HTTP 429" in failed[0]["error"]


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_malformed_frames_are_counted_and_logged_never_written(tmp_path: Path, exchange: str):
    kinds = list(MalformedKind)
    faults = Faults.of(
        *(
            Rule(Malformed(kind, after_messages=5 + 3 * i), exchange=exchange)
            for i, kind in enumerate(kinds)
        )
    )
    run = await record_against_sim(
        tmp_path,
        exchange,
        SimConfig(seed=16, speedup=20, record_sent=True, faults=faults),
        until=lambda p, sim: p.lines >= 40 and len(sim.injected) == len(kinds),
    )
    assert run.lines == run.expected(exchange)
    assert run.summary.bad_frames == 3  # not JSON, truncated, missing bids/units
    assert run.summary.unexpected == 1  # a stream nobody asked for
    assert len(run.events_of("bad_frame")) == 3 and len(run.events_of("unexpected")) == 1
    assert run.summary.reconnects == 0


async def test_upbit_keepalive_pings_prevent_the_idle_close(tmp_path: Path):
    config = SimConfig(seed=17, speedup=5, record_sent=True, upbit_idle_timeout=0.6)
    run = await record_against_sim(
        tmp_path,
        "upbit",
        config,
        feeds=lambda sim: [upbit.feed(url=sim.urls["upbit"], keepalive=0.2)],
        until=lambda p, sim: p.elapsed > 2.0,
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert run.lines == run.expected("upbit")


async def test_upbit_idle_close_without_keepalive_is_reconnected(tmp_path: Path):
    config = SimConfig(seed=18, speedup=5, record_sent=True, upbit_idle_timeout=0.5)

    def feeds(sim: Simulator):
        return [dataclasses.replace(upbit.feed(url=sim.urls["upbit"]), ping_interval=None)]

    run = await record_against_sim(
        tmp_path, "upbit", config, feeds=feeds, until=lambda p, sim: p.reconnects >= 1
    )
    assert "1006" in run.summary.gaps[0]["cause"]
    assert run.lines == run.expected("upbit")


async def test_the_recorder_stays_under_binance_5_messages_per_second(tmp_path: Path):
    # The server pings 4 times a second; our pongs plus anything else we sent
    # would trip the limit (close 1008) if the recorder sent anything needless.
    config = SimConfig(seed=19, speedup=20, record_sent=True, binance_ping_interval=0.25)
    run = await record_against_sim(
        tmp_path, "binance", config, until=lambda p, sim: p.elapsed > 2.5
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert not run.events_of("closed") or "1008" not in str(run.events_of("closed"))
    assert run.lines == run.expected("binance")


async def test_a_slow_disk_never_blocks_ping_answers(tmp_path: Path):
    def slow_disk(fd: int, data: memoryview) -> int:
        time.sleep(0.05)  # a disk that takes 50 ms per write: the first moves writing to the thread
        return os.write(fd, data)

    config = SimConfig(
        seed=20, speedup=20, record_sent=True, binance_ping_interval=0.25, binance_ping_timeout=0.3
    )
    run = await record_against_sim(
        tmp_path, "binance", config, write=slow_disk, until=lambda p, sim: p.elapsed > 1.5
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert run.lines == run.expected("binance")


async def test_a_stuck_disk_holds_reading_back_instead_of_dropping_lines(tmp_path: Path):
    def stuck_disk(fd: int, data: memoryview) -> int:
        time.sleep(0.2)
        return os.write(fd, data)

    options = dataclasses.replace(FAST, max_queued_bytes=2000)
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=21, speedup=50, record_sent=True),
        options=options,
        write=stuck_disk,
        until=lambda p, sim: p.elapsed > 1.0,
    )
    # The queue (2 kB) filled again and again; reading waited for room each time, so
    # what is in the file is exactly the first messages sent, none missing, and the
    # waiting was not mistaken for a stalled connection.
    assert run.summary.dropped == 0 and not run.events_of("lines_dropped")
    assert run.lines == run.expected("binance")[: len(run.lines)]
    assert len(run.lines) >= 10
    assert run.summary.connections == 1 and not run.events_of("stall")


async def test_a_line_larger_than_the_whole_queue_is_dropped_counted_and_reported(
    tmp_path: Path,
):
    # A 200-byte queue can take trades (about 50 bytes) but never a depth5 book.
    options = dataclasses.replace(FAST, max_queued_bytes=200)
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=22, speedup=20, record_sent=True),
        options=options,
        until=lambda p, sim: p.lines >= 20,
    )
    assert run.summary.dropped > 0
    [event] = run.events_of("lines_dropped")
    assert event["count"] == run.summary.dropped
    assert "lines dropped" in run.summary.text()
    assert all(b"@trade" in line for line in run.lines)
    assert all(line in set(run.expected("binance")) for line in run.lines)


async def test_a_full_disk_stops_the_run_naming_the_path(tmp_path: Path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    async with Simulator(SimConfig(seed=22, speedup=20)) as sim:
        with pytest.raises(SinkError, match="/dev/full: No space left on device") as info:
            await asyncio.wait_for(
                record_feeds([binance.feed(base=sim.urls["binance"])], "/dev/full", options=FAST), 10
            )
    assert info.value.summary.stopped == "sink failed"


async def test_an_unwritable_output_path_fails_before_connecting(tmp_path: Path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SinkError, match="cannot write"):
        await record_feeds(
            [binance.feed(base="ws://127.0.0.1:9")],
            tmp_path / "file" / "x.txt",
            options=RecorderOptions(),
        )


@pytest.mark.parametrize(("request_text", "name"), UPBIT_REQUEST_ERRORS)
async def test_upbit_request_errors_stop_the_run_naming_the_error(
    tmp_path: Path, request_text: str, name: str
):
    async with Simulator(SimConfig(seed=23)) as sim:
        feed = dataclasses.replace(upbit.feed(url=sim.urls["upbit"]), requests=(request_text,))
        started = time.monotonic()
        with pytest.raises(ExchangeError, match=f"Upbit error {name}: ") as info:
            await asyncio.wait_for(record_feeds([feed], tmp_path / "u.txt", options=FAST), 10)
    assert time.monotonic() - started < 3  # no retry loop, no silent hang
    assert info.value.summary.errors == [str(info.value)]
    assert (tmp_path / "u.txt").read_bytes() == b""


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_an_unknown_symbol_answered_with_silence_stops_with_a_clear_error(
    tmp_path: Path, exchange: str
):
    async with Simulator(SimConfig(seed=24, speedup=20)) as sim:
        if exchange == "binance":
            feed = binance.feed("btcxyz", base=sim.urls["binance"])
            expected = r"Binance sent nothing on btcxyz@depth5 and btcxyz@trade: is 'btcxyz' a listed"
        else:
            feed = upbit.feed(["KRW-XYZ"], url=sim.urls["upbit"])
            expected = r"Upbit sent nothing for KRW-XYZ: is each a listed market code\?"
        feed = dataclasses.replace(feed, first_data_within=0.3)
        with pytest.raises(RecordingError, match=expected) as info:
            await asyncio.wait_for(record_feeds([feed], tmp_path / "x.txt", options=FAST), 15)
    assert info.value.summary.connections == FAST.max_silent
    assert (tmp_path / "x.txt").read_bytes() == b""
