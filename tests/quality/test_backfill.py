"""Healing trade holes: every id missing after a drop comes back exactly once, over the
simulator's own REST port, paced by its weight headers, waiting out its 429 and 418.

The ground truth is the simulator's: the trade frames it sent (``Simulator.sent``) and the
tape of every trade its market made, so the test does not trust the recorder's count.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from pathlib import Path

import pytest

from btclib.files.runs import events, events_path
from btclib.quality import backfill_path, check
from btclib.quality.backfill import Pacer, backfill
from btclib.recorder import RecorderOptions, record_feeds
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.binance.rest import RestLimits, TradeTape, WeightWindow
from btclib.simulator.faults import Drop, Faults, Rule, Stall
from btclib.simulator.market import MarketParams
from btclib.steps.steps import build_feeds

FAST = RecorderOptions(backoff_base=0.05, backoff_cap=0.2, check_interval=0.05)
TRADES = "btcusdt@trade"
DROP = Faults.of(
    Rule(Drop(after_seconds=1.2), exchange="binance", connection=0),
    # The reconnect may take a millisecond (full jitter): its first 0.3 s of trades are held
    # back too, so the drop always costs trades.
    Rule(Stall(duration=0.3, channels=("trade",)), exchange="binance", connection=1),
)


def test_the_pacer_waits_for_the_next_window_near_the_budget_and_out_a_ban():
    pacer = Pacer(limit=100, weight=25, window_s=60.0, margin=0.8)
    assert pacer.wait(120.0) == 0.0
    pacer.answered(120.0, 200, "50", None)
    assert pacer.wait(121.0) == 0.0  # 50 + 25 <= 80
    pacer.answered(121.0, 200, "75", None)
    assert pacer.wait(130.0) == pytest.approx(50.05)  # to 180 s, the next minute
    assert pacer.wait(181.0) == 0.0  # a new window
    pacer.answered(181.0, 429, "100", "7")
    assert pacer.wait(182.0) == pytest.approx(6.0)
    pacer.answered(190.0, 418, None, "120")
    assert pacer.wait(200.0) == pytest.approx(110.0)


def test_the_simulated_exchange_answers_429_over_its_budget_and_418_to_who_asks_anyway():
    window = WeightWindow(RestLimits(weight=50, window_s=60.0, ban_s=120.0))
    assert window.charge(600.0, 25) == (200, None)
    assert window.charge(601.0, 25) == (200, None)
    assert window.charge(602.0, 25) == (429, 58.0)
    assert window.charge(603.0, 25) == (418, 120.0)  # it was told to wait
    assert window.charge(700.0, 25)[0] == 418  # banned until 723 s
    assert window.charge(724.0, 25) == (200, None)


async def drop_and_backfill(tmp_path: Path, prepare=None):
    """Record Binance through a drop, then backfill from the simulator's REST port."""
    out = tmp_path / "data.txt"
    config = SimConfig(
        seed=5,
        record_sent=True,
        faults=DROP,
        market=MarketParams(binance_trade_rate=200.0),
    )
    async with Simulator(config) as sim:
        feeds = build_feeds("binance", sim.urls)
        await record_feeds(feeds, out, duration=3.5, events_path=tmp_path / "data.events.jsonl",
                           options=FAST)  # fmt: skip
        if prepare is not None:
            prepare(sim)
        result = await backfill(out, {"binance": f"http://127.0.0.1:{sim.port}"})
    sent = sorted(
        json.loads(f.payload)["data"]["t"] for f in sim.sent if "@trade" in str(f.payload)
    )
    tape: TradeTape = sim.rest["binance"].tape
    missing = [i for i in range(sent[0], sent[-1] + 1) if i not in set(sent)]
    expected = [
        f"btcusdt@trade, p:{tape.rows['BTCUSDT'][i]['price']},q:{tape.rows['BTCUSDT'][i]['qty']}\n"
        for i in missing
    ]
    return out, result, missing, expected, sim


async def test_every_id_missing_after_a_drop_comes_back_exactly_once(tmp_path):
    out, result, missing, expected, sim = await drop_and_backfill(tmp_path)
    assert missing, "a drop at 200 trades/s misses trades"
    sidecar = backfill_path(out)
    assert result.sidecar == sidecar and sidecar.name == "data.backfill.txt"
    assert sidecar.read_text().splitlines(keepends=True) == expected
    assert result.healed == {TRADES: len(missing)} and result.unavailable == {TRADES: 0}
    assert sim.rest["binance"].window.answered == [200] * result.requests
    card = check(out)
    trade = next(s for s in card.streams if s.stream == TRADES)
    assert (trade.verdict, trade.missing_ids, trade.healed_ids) == ("healed", 0, len(missing))
    assert not card.failed  # check --strict passes
    # A second backfill finds nothing left to fetch: nothing is fetched twice.
    again = await backfill(out, {"binance": "http://127.0.0.1:9"})
    assert again.requests == 0 and sidecar.read_text().splitlines(keepends=True) == expected


async def test_a_429_and_a_418_are_waited_out_and_nothing_is_lost(tmp_path):
    def over_budget(sim: Simulator) -> None:
        rest = sim.rest["binance"]
        rest.window = WeightWindow(RestLimits(weight=60, window_s=2.0, ban_s=1.0))
        rest.window.charge(time.time(), 60)  # someone else on this IP used the minute's weight

    began = time.monotonic()
    out, _result, _missing, expected, sim = await drop_and_backfill(tmp_path, over_budget)
    assert sim.rest["binance"].window.answered[:2] == [429, 200]
    assert backfill_path(out).read_text().splitlines(keepends=True) == expected

    def banned(sim: Simulator) -> None:
        rest = sim.rest["binance"]
        rest.window = WeightWindow(RestLimits(weight=6000, window_s=60.0, ban_s=1.0))
        rest.window.wait_until = time.time() + 0.5  # told to wait: asking now is a ban

    (tmp_path / "b").mkdir()
    out2, _result2, _missing2, expected2, sim2 = await drop_and_backfill(tmp_path / "b", banned)
    assert sim2.rest["binance"].window.answered[:2] == [418, 200]
    assert backfill_path(out2).read_text().splitlines(keepends=True) == expected2
    assert time.monotonic() - began < 60


async def test_without_backfill_strict_fails_naming_the_hole(tmp_path):
    out = tmp_path / "data.txt"
    config = SimConfig(
        faults=DROP,
        market=MarketParams(binance_trade_rate=200.0),
    )
    async with Simulator(config) as sim:
        await record_feeds(build_feeds("binance", sim.urls), out, duration=2.5,
                           events_path=tmp_path / "data.events.jsonl", options=FAST)  # fmt: skip
    card = check(out)
    assert card.failed and not backfill_path(out).exists()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "btclib", "check", str(out), "--strict",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await proc.communicate()
    assert proc.returncode == 1 and b"HOLES" in stdout and b"hole: " in stdout


def test_from_the_command_line_simulate_drop_after_then_record_backfill_heals_it(tmp_path):
    """``simulate --drop-after N`` on a port, ``record --binance-url ... --backfill``: the
    REST calls go to that server, and ``check --strict`` passes."""
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "btclib", "simulate", "--port", str(port), "--speedup", "10",
         "--fault-connection", "0", "--drop-after", "150",
         # ... and before the drop, 0.3 s of trades held back: ids jump, always some.
         "--stall-after", "100", "--stall-for", "0.3", "--stall-channel", "trade"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "listening" in server.stdout.readline()  # the banner: the port is bound
        out = tmp_path / "cli.txt"
        done = subprocess.run(
            [sys.executable, "-m", "btclib", "record", "binance", "--source", "live",
             "--binance-url", f"ws://127.0.0.1:{port}", "--duration", "5", "--backfill",
             "--out", str(out)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    assert done.returncode == 0, done.stderr
    gaps = [e for e in events(events_path(out)) if e.get("event") == "gap"]
    missed = sum(e["missed"].get(TRADES, 0) for e in gaps)
    healed = sum(e["count"] for e in events(events_path(out)) if e.get("event") == "backfill")
    assert "Backfill: " in done.stdout and missed > 0 and healed == missed
    assert len(backfill_path(out).read_text().splitlines()) == missed
    strict = subprocess.run([sys.executable, "-m", "btclib", "check", str(out), "--strict"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert strict.returncode == 0, strict.stdout


async def test_analysis_load_merges_the_sidecar_marked(tmp_path):
    from btclib.analysis import load

    out, _result, missing, expected, _ = await drop_and_backfill(tmp_path)
    plain = load(out)
    merged = load(out, backfill=True)
    assert "backfill" not in plain.prints.columns
    assert len(merged.prints) == len(plain.prints) + len(missing)
    marked = merged.prints[merged.prints["backfill"]]
    assert (
        len(marked) == len(missing)
        and not merged.prints["backfill"].iloc[: len(plain.prints)].any()
    )
    prices = [float(line.split("p:")[1].split(",")[0]) for line in expected]
    assert marked["price"].tolist() == prices
