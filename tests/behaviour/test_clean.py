"""Steps A, B and C without a fault: every data message the simulator sent is one line in the
file, byte for byte, in order, for both recorders."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib.simulator import SimConfig

from .conftest import Recorder, assert_each_message_once

pytestmark = pytest.mark.timeout(90)

PREFIX = {"binance": b"btcusdt@", "upbit": b"btckrw@"}
STEPS = {"binance": ["binance"], "upbit": ["upbit"], "both": ["binance", "upbit"]}


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_clean_run_writes_every_message_sent_once_in_order(
    recorder: Recorder, tmp_path: Path, step: str
):
    run = await recorder.record(
        tmp_path,
        step,
        SimConfig(seed=5, speedup=20, record_sent=True),
        until=lambda seen, sim: seen.lines >= 150,
    )
    assert_each_message_once(run)
    for exchange in STEPS[step]:
        mine = [line for line in run.lines if line.startswith(PREFIX[exchange])]
        assert mine == run.expected(exchange) and mine
    assert run.summary.total == len(run.lines)
    assert run.summary.connections == len(STEPS[step]) and run.summary.reconnects == 0
    assert run.summary.bad_frames == 0 and run.summary.unexpected == 0
    assert run.summary.gaps == [] and run.summary.duplicates == 0


async def test_the_recorder_stays_under_binance_5_messages_per_second(
    recorder: Recorder, tmp_path: Path
):
    # The server pings 4 times a second; our pongs plus anything else we sent
    # would trip the limit (close 1008) if the recorder sent anything needless.
    config = SimConfig(seed=19, speedup=20, record_sent=True, binance_ping_interval=0.25)
    run = await recorder.record(
        tmp_path, "binance", config, until=lambda seen, sim: seen.elapsed > 2.5
    )
    assert run.summary.connections == 1 and run.summary.reconnects == 0
    assert run.said("1008") == 0
    assert run.lines == run.expected("binance")
    assert_each_message_once(run)
