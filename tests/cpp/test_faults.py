"""Every fault of the simulator, survived (or reported) by btcrec with the invariants of the
Python recorder's tests (tests/recorder/test_fault_recovery.py): every data message the
simulator sent while a connection was up is in the file exactly once, byte for byte; the
exchange's refusals end the run fast in its own words."""

from __future__ import annotations

import asyncio
import signal
import time
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
from btclib.simulator.expected import distinct_messages

from ..conftest import UPBIT_REQUEST_ERRORS, expected_line
from .conftest import PREFIX, record_against_sim, start


async def test_a_drop_without_close_frame_is_reconnected_and_nothing_sent_is_lost(tmp_path: Path):
    faults = Faults.of(Rule(Drop(after_messages=40), exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=11, speedup=20, record_sent=True, faults=faults),
        "--stall-after", "1",
        until=lambda p, sim: len(sim.connections) >= 2 and len(p.lines()) >= 100,
    )  # fmt: skip
    assert run.lines == run.expected("binance")
    assert run.summary["reconnects"] == 1 and run.summary["connections"] == 2
    [gap] = run.summary["gaps"][:1]
    assert "1006" in gap


async def test_a_silent_book_is_a_dead_connection_even_while_trades_flow(tmp_path: Path):
    stall = Stall(after_seconds=0.3, channels=("depth",))
    faults = Faults.of(Rule(stall, exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=12, speedup=20, record_sent=True, faults=faults),
        "--stall-after", "0.5",
        until=lambda p, sim: len(sim.connections) >= 2 and len(p.lines()) >= 80,
    )  # fmt: skip
    first = [f for f in run.sim.sent if f.conn_id == run.sim.connections[0].conn_id]
    assert any(b'"e":"trade"' in f.payload.encode() for f in first[-5:])  # trades still flowed
    assert run.lines == run.expected("binance")
    assert "stalled: no btcusdt@orderbook data" in run.summary["gaps"][0]


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_malformed_and_foreign_frames_are_counted_never_written(
    tmp_path: Path, exchange: str
):
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
        until=lambda p, sim: len(p.lines()) >= 40 and len(sim.injected) == len(kinds),
    )
    assert run.lines == run.expected(exchange)
    assert run.summary["bad_frames"] == 3  # not JSON, truncated, missing bids/units
    assert run.summary["unexpected"] == 1  # a stream nobody asked for
    assert run.summary["reconnects"] == 0
    assert sum("bad frame" in line for line in run.stderr) == 3


async def test_a_server_shutdown_notice_rotates_make_before_break(tmp_path: Path):
    config = SimConfig(
        seed=13, speedup=20, record_sent=True, binance_lifetime=3.0, binance_shutdown_notice=2.0
    )
    run = await record_against_sim(
        tmp_path,
        "binance",
        config,
        "--stall-after", "1",
        until=lambda p, sim: sum("rotated:" in line for line in p.stderr) >= 2,
    )  # fmt: skip
    # Each connection gets its notice 1 s after it opened: rotation after rotation.
    assert run.summary["rotations"] >= 2 and run.summary["reconnects"] == 0
    assert run.summary["missed_trades"] == 0
    assert len(run.lines) == len(distinct_messages(run.sim.sent))  # every message once: no gap, no duplicate
    assert set(run.lines) <= set(run.expected("binance"))
    # Copies from the overlap are dropped as duplicates; frames that reach a retired connection
    # during its closing handshake are discarded unread (the replacement delivered them).
    assert 0 < run.summary["duplicates"] <= len(run.sim.sent) - len(run.lines)
    assert any("server shutdown notice" in line for line in run.stderr)


async def test_a_region_block_451_ends_the_run_fast_in_the_exchanges_words(tmp_path: Path):
    faults = Faults.of(Rule(Refuse(451), exchange="binance"))
    async with Simulator(SimConfig(faults=faults)) as sim:
        started = time.monotonic()
        process = await start(tmp_path, "binance", sim)
        code = await process.finish(timeout=10)
    assert code == 1 and time.monotonic() - started < 5
    error = "".join(process.stderr)
    assert "HTTP 451" in error and "restricted location" in error and "--binance-url" in error
    assert process.summary()["connections"] == 0
    assert process.out.read_bytes() == b""


async def test_429_is_retried_with_backoff_then_recorded(tmp_path: Path):
    faults = Faults.of(Rule(Refuse(429), exchange="binance", connection=0))
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=15, speedup=20, record_sent=True, faults=faults),
        until=lambda p, sim: len(p.lines()) >= 20,
    )
    assert run.lines == run.expected("binance")
    assert sum("HTTP 429" in line for line in run.stderr) == 1


@pytest.mark.parametrize(("request_text", "name"), UPBIT_REQUEST_ERRORS)
async def test_upbit_request_errors_end_the_run_naming_the_error(
    tmp_path: Path, request_text: str, name: str
):
    async with Simulator(SimConfig(seed=23)) as sim:
        started = time.monotonic()
        process = await start(tmp_path, "upbit", sim, "--upbit-request", request_text)
        code = await process.finish(timeout=10)
    assert code == 1 and time.monotonic() - started < 3  # no retry loop, no silent hang
    assert f"btcrec: error: Upbit error {name}: " in "".join(process.stderr)
    assert process.summary()["errors"][0].startswith(f"Upbit error {name}: ")
    assert process.out.read_bytes() == b""


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_an_unknown_symbol_answered_with_silence_stops_with_a_clear_error(
    tmp_path: Path, exchange: str
):
    if exchange == "binance":
        args, expected = ["--symbol", "btcxyz"], "Binance sent nothing on btcxyz@depth5 and "
    else:
        args, expected = ["--code", "KRW-XYZ"], "Upbit sent nothing for KRW-XYZ: is each a listed"
    async with Simulator(SimConfig(seed=24, speedup=20)) as sim:
        process = await start(tmp_path, exchange, sim, *args, "--first-data-within", "0.3")
        code = await process.finish(timeout=15)
    assert code == 1 and expected in "".join(process.stderr)
    assert process.summary()["connections"] == 3
    assert process.out.read_bytes() == b""


async def test_upbit_keepalive_pings_prevent_the_idle_close(tmp_path: Path):
    config = SimConfig(seed=17, speedup=5, record_sent=True, upbit_idle_timeout=0.6)
    started = time.monotonic()
    run = await record_against_sim(
        tmp_path,
        "upbit",
        config,
        "--keepalive", "0.2",
        until=lambda p, sim: time.monotonic() - started > 2.0,
    )  # fmt: skip
    assert run.summary["connections"] == 1 and run.summary["reconnects"] == 0
    assert run.lines == run.expected("upbit")


async def test_btcrec_stays_under_binance_5_messages_per_second(tmp_path: Path):
    # The server pings 4 times a second: our pongs plus anything needless would trip 1008.
    config = SimConfig(seed=19, speedup=20, record_sent=True, binance_ping_interval=0.25)
    started = time.monotonic()
    run = await record_against_sim(
        tmp_path, "binance", config, until=lambda p, sim: time.monotonic() - started > 2.5
    )
    assert run.summary["connections"] == 1 and run.summary["reconnects"] == 0
    assert not any("1008" in line for line in run.stderr)
    assert run.lines == run.expected("binance")


async def test_sigint_in_the_middle_of_a_run_leaves_whole_lines_and_a_summary(tmp_path: Path):
    async with Simulator(SimConfig(seed=25, speedup=50, record_sent=True)) as sim:
        process = await start(tmp_path, "both", sim)
        await process.said("connected", times=2)
        while len(process.lines()) < 200:
            await asyncio.sleep(0.02)
        process.proc.send_signal(signal.SIGINT)
        code = await process.finish()
    data = process.out.read_bytes()
    assert code == 130 and data.endswith(b"\n")
    lines = data.splitlines(keepends=True)
    for exchange, prefix in PREFIX.items():
        mine = [line for line in lines if line.startswith(prefix)]
        sent = [expected_line(f) for f in sim.sent if f.exchange == exchange]
        assert mine == sent[: len(mine)]  # what was read is written, in order, whole
    summary = process.summary()
    assert summary["stopped"] == "interrupted" and summary["total"] == len(lines)
    assert "stopped: interrupted" in process.stdout
