"""Faults of a connection, each survived by both recorders: a drop without a close frame,
a stalled stream, Upbit's idle close (with and without the keepalive), garbage frames,
429/418 on the handshake. Every data message the simulator sent while a connection was up
is in the file once, byte for byte, in its connection's order; the gap is named."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

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

from .conftest import Recorder, Setup, assert_each_message_once

pytestmark = pytest.mark.timeout(90)


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


async def test_a_drop_without_close_frame_is_reconnected_and_the_gap_named(
    recorder: Recorder, tmp_path: Path
):
    faults = Faults.of(Rule(Drop(after_messages=40), exchange="binance", connection=0))
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=11, speedup=20, record_sent=True, faults=faults),
        until=lambda seen, sim: seen.reconnects >= 1 and seen.lines >= 100,
    )
    assert_each_message_once(run)  # nothing sent while connected is lost
    assert run.lines == run.expected("binance")
    assert run.summary.reconnects == 1 and run.summary.connections == 2
    [gap] = run.summary.gaps
    assert "1006" in gap
    assert run.summary.missed_trades == holes(trade_ids(run.sim))
    if run.events is not None:  # btclib's events log (btcrec has none)
        [logged] = run.events_of("gap")
        assert logged["cause"] == gap
        assert logged["start"] <= logged["end"]
        assert logged["missed"]["btcusdt@trade"] == holes(trade_ids(run.sim))


async def test_a_silent_book_is_a_dead_connection_even_while_trades_flow(
    recorder: Recorder, tmp_path: Path
):
    stall = Stall(after_seconds=0.3, channels=("depth",))
    faults = Faults.of(Rule(stall, exchange="binance", connection=0))
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=12, speedup=20, record_sent=True, faults=faults),
        Setup(stall_after=0.5),
        until=lambda seen, sim: seen.reconnects >= 1 and seen.lines >= 80,
    )
    first = [f for f in run.sim.sent if f.conn_id == run.sim.connections[0].conn_id]
    assert any('"e":"trade"' in f.payload for f in first[-5:])  # trades still flowed
    assert_each_message_once(run)
    assert run.lines == run.expected("binance")
    assert "stalled: no btcusdt@orderbook data for 0.5 s" in run.summary.gaps[0]
    if run.events is not None:
        [stall_event] = run.events_of("stall")
        assert stall_event["stream"] == "btcusdt@orderbook"


async def test_upbit_keepalive_pings_prevent_the_idle_close(recorder: Recorder, tmp_path: Path):
    # Upbit closes a socket idle for 1.5 s here; the client pings every 0.25 s. The
    # simulator keeps its own clock in its own thread, so a busy recorder loop cannot make
    # the socket look idle to it.
    config = SimConfig(seed=17, speedup=5, record_sent=True, upbit_idle_timeout=1.5)
    run = await recorder.record(
        tmp_path,
        "upbit",
        config,
        Setup(keepalive=0.25),
        until=lambda seen, sim: seen.elapsed > 4.0,  # well past two idle timeouts
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert run.lines == run.expected("upbit")
    assert_each_message_once(run)


async def test_upbit_idle_close_without_keepalive_is_reconnected(
    recorder: Recorder, tmp_path: Path
):
    config = SimConfig(seed=18, speedup=5, record_sent=True, upbit_idle_timeout=0.5)
    run = await recorder.record(
        tmp_path,
        "upbit",
        config,
        Setup(no_keepalive=True),
        until=lambda seen, sim: seen.reconnects >= 1,
    )
    assert "1006" in run.summary.gaps[0]
    assert run.lines == run.expected("upbit")
    assert_each_message_once(run)


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_garbage_and_foreign_frames_are_counted_never_written(
    recorder: Recorder, tmp_path: Path, exchange: str
):
    kinds = list(MalformedKind)
    faults = Faults.of(
        *(
            Rule(Malformed(kind, after_messages=5 + 3 * i), exchange=exchange)
            for i, kind in enumerate(kinds)
        )
    )
    run = await recorder.record(
        tmp_path,
        exchange,
        SimConfig(seed=16, speedup=20, record_sent=True, faults=faults),
        until=lambda seen, sim: seen.lines >= 40 and len(sim.injected) == len(kinds),
    )
    assert run.lines == run.expected(exchange)
    assert_each_message_once(run)
    assert run.summary.bad_frames == 3  # not JSON, truncated, missing bids/units
    assert run.summary.unexpected == 1  # a stream nobody asked for
    assert run.summary.reconnects == 0
    if run.events is not None:
        assert len(run.events_of("bad_frame")) == 3 and len(run.events_of("unexpected")) == 1
    else:
        assert run.said("bad frame") == 3 and run.said("unexpected") == 1


@pytest.mark.parametrize("status", [429, 418])
async def test_a_throttled_handshake_is_retried_with_backoff_then_recorded(
    recorder: Recorder, tmp_path: Path, status: int
):
    faults = Faults.of(Rule(Refuse(status), exchange="binance", connection=0))
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=15, speedup=20, record_sent=True, faults=faults),
        until=lambda seen, sim: seen.lines >= 20,
    )
    assert run.lines == run.expected("binance")
    assert_each_message_once(run)
    assert run.summary.connections == 1
    assert run.said(f"HTTP {status}") == 1
    if run.events is not None:
        failed = run.events_of("connect_failed")
        assert len(failed) == 1 and f"HTTP {status}" in failed[0]["error"]
