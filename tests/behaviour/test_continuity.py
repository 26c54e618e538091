"""Make-before-break and ids: on ``serverShutdown`` and on the lifetime alone the recorder
opens the replacement first, and each message of the overlap is written once; on one
connection an id going backwards is a message like any other (written, counted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btclib.simulator import SimConfig

from .conftest import Recorder, Setup, assert_each_message_once

pytestmark = pytest.mark.timeout(90)


async def test_a_server_shutdown_notice_rotates_make_before_break(
    recorder: Recorder, tmp_path: Path
):
    config = SimConfig(
        seed=13, speedup=20, record_sent=True, binance_lifetime=3.0, binance_shutdown_notice=2.0
    )
    # Each connection gets its notice 1 s after it opened: rotation after rotation.
    run = await recorder.record(
        tmp_path, "binance", config, until=lambda seen, sim: seen.rotations >= 2
    )
    assert run.summary.rotations >= 2 and run.summary.reconnects == 0
    assert run.summary.gaps == [] and run.summary.missed_trades == 0
    v = assert_each_message_once(run)  # every message once: no gap, no duplicate
    assert v.sent < len(run.sim.sent)  # the connections did overlap
    # Copies from the overlap are dropped as duplicates; btcrec discards unread the frames
    # that reach a retired connection during its closing handshake (the replacement
    # delivered them), btclib counts every copy it read.
    assert 0 < run.summary.duplicates <= len(run.sim.sent) - len(run.lines)
    if run.events is not None:
        assert run.summary.duplicates == len(run.sim.sent) - len(run.lines)
        assert run.events_of("server_shutdown") and run.events_of("rotated")
    else:
        assert run.said("server shutdown notice") >= 2


async def test_the_connection_lifetime_is_rotated_before_the_cut(
    recorder: Recorder, tmp_path: Path
):
    config = SimConfig(seed=14, speedup=20, record_sent=True, binance_lifetime=2.0)
    run = await recorder.record(
        tmp_path,
        "binance",
        config,
        Setup(lifetime=2.0, rotate_before=1.0),
        until=lambda seen, sim: seen.rotations >= 2,
    )
    assert run.summary.rotations >= 2 and run.summary.reconnects == 0
    assert run.summary.gaps == []
    v = assert_each_message_once(run)
    assert v.sent < len(run.sim.sent)  # the connections did overlap


#: A real Binance trade (its price and quantity as Binance sent them) whose id is lower
#: than the synthetic ones before it on the same connection.
REAL_TRADE = {
    "e": "trade", "E": 1749600000123, "s": "BTCUSDT", "t": 4_980_000_017,
    "p": "107407.88000000", "q": "0.00024000", "T": 1749600000122, "m": False, "M": True,
}  # fmt: skip
REAL_LINE = b"btcusdt@trade, p:107407.88000000,q:0.00024000\n"


def capture_with_an_id_going_backwards(path: Path) -> None:
    """A Binance capture: synthetic books and trades with ids 5,400,000,001 on, then the
    real trade (a lower id), then more synthetic trades, all on one connection."""
    t0 = 1_790_000_000_000_000_000
    header = {
        "format": "btclib-capture", "version": 1, "btclib": "0.1.0",
        "started": "2026-09-23T00:00:00+00:00", "started_ns": t0,
        "exchanges": {"binance": {
            "url": "wss://stream.binance.com:9443/stream?streams=btcusdt@depth5/btcusdt@trade",
            "streams": ["btcusdt@orderbook", "btcusdt@trade"], "source": "test",
        }},
    }  # fmt: skip
    frames = []
    for i in range(1, 31):
        if i % 5 == 1:
            bids, asks = [["95000.00", f"1.{i:03d}"]] * 5, [["95000.01", "0.500"]] * 5
            book = {"lastUpdateId": 70_000_000_000 + i, "bids": bids, "asks": asks}
            frames.append({"stream": "btcusdt@depth5", "data": book})
        trade = {
            "e": "trade", "E": 1795000000000 + i, "s": "BTCUSDT", "t": 5_400_000_000 + i,
            "p": "95000.01000000", "q": f"0.{i:03d}00000", "T": 1795000000000 + i,
            "m": i % 2 == 0, "M": True,
        }  # fmt: skip
        frames.append({"stream": "btcusdt@trade", "data": trade})
        if i == 20:
            frames.append({"stream": "btcusdt@trade", "data": REAL_TRADE})
    records = [json.dumps(header)]
    for n, frame in enumerate(frames, 1):
        at = t0 + n * 1_000_000
        text = json.dumps(frame, separators=(",", ":"))
        records.append(json.dumps(
            {"t": at, "m": at, "c": 1, "n": n, "x": "binance", "b": False, "f": text}
        ))  # fmt: skip
    path.write_text("\n".join(records) + "\n")


async def test_an_id_going_backwards_on_one_connection_is_written_once(
    recorder: Recorder, tmp_path: Path
):
    capture = tmp_path / "capture.jsonl"
    capture_with_an_id_going_backwards(capture)
    config = SimConfig(seed=1, record_sent=True, replay=capture, replay_speed="max")
    run = await recorder.record(
        tmp_path, "binance", config, until=lambda seen, sim: sim.replay_finished.is_set()
    )
    assert REAL_LINE in [expected for expected in run.expected("binance")]
    assert_each_message_once(run)  # the real trade too: no "duplicate on a guess"
    assert run.lines.count(REAL_LINE) == 1
    assert run.summary.anomalies == 1 and run.summary.duplicates == 0
    if run.events is not None:
        [anomaly] = run.events_of("anomaly")
        assert anomaly["stream"] == "btcusdt@trade"
