"""What a recording leaves besides its lines, under faults: a rotated or split set of files
holds every message once as one file would; the events log names every time an exchange had
no connection; the capture replays to the very same file. btcrec deliberately writes none of
these (cpp/README.md, "What btcrec does not do"): skipped for it, saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib.simulator import Drop, Faults, Rule, SimConfig
from btclib.tools import soak

from .conftest import Recorder, Setup, assert_each_message_once

pytestmark = pytest.mark.timeout(90)

#: Binance's first connection is dropped without a close frame after 40 messages.
DROP = Faults.of(Rule(Drop(after_messages=40), exchange="binance", connection=0))


async def test_a_size_rotated_recording_holds_every_message_once_across_its_files(
    recorder: Recorder, tmp_path: Path
):
    run = await recorder.record(
        tmp_path,
        "binance",
        SimConfig(seed=31, speedup=20, record_sent=True, faults=DROP),
        Setup(rotate="2KiB"),
        until=lambda seen, sim: seen.reconnects >= 1 and seen.lines >= 150,
    )
    assert len(run.files) >= 3  # it did rotate, and more than once
    assert all(f.stat().st_size <= 2048 or f.name.endswith(".gz") for f in run.files)
    assert_each_message_once(run)  # the files, read in order, as one file
    assert run.lines == run.expected("binance")


async def test_a_market_split_recording_holds_each_markets_messages_once(
    recorder: Recorder, tmp_path: Path
):
    run = await recorder.record(
        tmp_path,
        "both",
        SimConfig(seed=32, speedup=20, record_sent=True, faults=DROP),
        Setup(split="market"),
        until=lambda seen, sim: seen.reconnects >= 1 and seen.lines >= 150,
    )
    assert len(run.files) == 2  # one file a market
    for path in run.files:
        markets = {line.split(b"@")[0] for line in path.read_bytes().splitlines()}
        assert len(markets) == 1, path
    assert_each_message_once(run)


async def test_the_events_log_names_every_time_an_exchange_had_no_connection(
    recorder: Recorder, tmp_path: Path
):
    recorder.lacks("events log")
    faults = Faults.of(
        Rule(Drop(after_messages=30), exchange="binance", connection=0),
        Rule(Drop(after_messages=20, close_code=1011), exchange="upbit", connection=0),
    )
    run = await recorder.record(
        tmp_path,
        "both",
        SimConfig(seed=33, speedup=20, record_sent=True, faults=faults),
        until=lambda seen, sim: seen.reconnects >= 2 and seen.elapsed > 3.0,  # breaks 1 s old
    )
    assert run.events is not None
    stamped = [(float(n), frame) for n, frame in enumerate(run.sim.sent)]
    v = soak.check(stamped, run.data, run.events, run.sim.spans, stop=run.stopped_at)
    assert v.breaks == v.breaks_logged == 2, v.problems  # one a exchange, each logged
    assert v.missed_sent == v.missed_logged, v.problems  # and the trades it missed add up
    assert v.ok, v.problems


async def test_the_capture_of_a_faulty_run_replays_to_the_same_file(
    recorder: Recorder, tmp_path: Path
):
    recorder.lacks("capture")
    first = tmp_path / "first"
    first.mkdir()
    run = await recorder.record(
        first,
        "both",
        SimConfig(seed=34, speedup=20, record_sent=True, faults=DROP),
        Setup(capture=True),
        until=lambda seen, sim: seen.reconnects >= 1 and seen.lines >= 150,
    )
    assert_each_message_once(run)
    again = tmp_path / "again"
    again.mkdir()
    config = SimConfig(record_sent=True, replay=first / "capture.jsonl", replay_speed="max")
    replayed = await recorder.record(
        again, "both", config, until=lambda seen, sim: sim.replay_finished.is_set()
    )
    for prefix in (b"btcusdt@", b"btckrw@"):
        mine = [line for line in replayed.lines if line.startswith(prefix)]
        assert mine == [line for line in run.lines if line.startswith(prefix)] and mine
