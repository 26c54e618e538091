"""``check`` on simulated runs: complete when nothing went wrong; each planted fault named
where it was, and nothing else.

The faults are planted in the simulator (a TCP drop, a depth stream stalled until the
recorder gives up on it, an Upbit book stream thinned to nothing for a few seconds, the
exchange's clock set 30 s ahead); a crossed book is planted in a capture that the
simulator then replays. The trade ids missing are checked against the recorder's own
count (its continuity, logged as ``gap`` events), which the check does not use when it
reads the capture.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import btclib
from btclib.files.runs import events, events_path
from btclib.quality import RateRules, check
from btclib.simulator.faults import Drop, Faults, Rule, Stall
from btclib.simulator.market import MarketParams

RULES = RateRules(bin_s=0.5, collapse_for=1.5, min_history=3, min_per_bin=3)
"""Seconds instead of minutes, so a test run of 15 s has a history to judge against."""
QUIET = dict(progress=None, announce=lambda _: None)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btclib", *args], capture_output=True, text=True, timeout=120
    )


async def test_a_clean_run_is_complete_for_every_stream(tmp_path):
    out, capture = tmp_path / "clean.txt", tmp_path / "clean.jsonl"
    await btclib.record("both", source="sim", duration=5, out=out, capture=capture, **QUIET)
    card = check(out, capture=capture, rules=RULES)
    streams = {s.stream: s for s in card.streams}
    assert set(streams) == {"btcusdt@orderbook", "btcusdt@trade", "btckrw@orderbook"}
    for s in streams.values():
        assert (s.verdict, s.findings, s.gaps) == ("complete", [], []), s
        assert s.lines > 0 and s.coverage is not None and s.coverage > 0.9
    trade = streams["btcusdt@trade"]
    assert trade.ids_from == "capture" and trade.ids_present == trade.ids_expected == trade.lines
    assert streams["btckrw@orderbook"].latency.negative == 0
    done = cli("check", str(out), "--capture", str(capture), "--json", "--strict")
    assert done.returncode == 0, done.stdout
    cards = [s for run in json.loads(done.stdout)["runs"] for s in run["streams"]]
    for s in cards:
        assert {"stream", "verdict", "missing_ids", "healed_ids", "coverage", "gaps"} <= set(s)
        assert s["verdict"] == "complete" and s["missing_ids"] == 0


async def test_each_planted_fault_is_named_where_it_was_and_nothing_else(tmp_path):
    out, capture = tmp_path / "faults.txt", tmp_path / "faults.jsonl"
    faults = Faults.of(
        Rule(Drop(after_seconds=3.0), exchange="binance", connection=0),
        Rule(Stall(after_seconds=1.0, channels=("depth",)), exchange="binance", connection=1),
        # The reconnect may take a millisecond: its first 0.3 s of trades held back as well,
        # so the drop always costs trades.
        Rule(Stall(duration=0.3, channels=("trade",)), exchange="binance", connection=1),
        Rule(Stall(after_seconds=4.0, duration=3.0, channels=("orderbook",)), exchange="upbit"),
    )
    sim = dict(
        faults=faults,
        clock=lambda: time.time() + 30.0,  # the exchanges' clock 30 s ahead of this machine's
        market=MarketParams(binance_trade_rate=200.0),  # a drop always costs trades
    )
    await btclib.record("both", source="sim", duration=14, out=out, capture=capture,
                        sim_options=sim, **QUIET)  # fmt: skip
    card = check(out, capture=capture, rules=RULES)
    streams = {s.stream: s for s in card.streams}
    found = {name: sorted(f.kind for f in s.findings) for name, s in streams.items()}
    assert found == {
        "btcusdt@orderbook": ["clock", "silence"],  # the stalled depth stream; the ledger's clock
        "btcusdt@trade": ["clock"],
        "btckrw@orderbook": ["clock", "collapse"],
    }
    depth, trade, upbit = (
        streams[k] for k in ("btcusdt@orderbook", "btcusdt@trade", "btckrw@orderbook")
    )
    # The drop and the stall: two gaps of the Binance connection, with their causes.
    causes = [g.cause for g in trade.gaps]
    assert len(causes) == 2 and "1006" in causes[0] and "stall" in causes[1].lower()
    assert [g.cause for g in depth.gaps] == causes and upbit.gaps == []
    # Every trade id the recorder's own continuity saw jump over is a hole, and no other.
    logged = sum(
        (e.get("missed") or {}).get("btcusdt@trade", 0)
        for e in events(events_path(out))
        if e.get("event") == "gap"
    )
    assert logged > 0 and trade.missing_ids == logged and trade.verdict == "holes"
    assert trade.ids_expected - trade.ids_present == logged
    assert sum(h.count for h in trade.holes) == logged
    # The Upbit collapse is where the simulator thinned it: 4 s to 7 s into the run.
    (collapse,) = [f for f in upbit.findings if f.kind == "collapse"]
    run = card.runs[0]
    assert 3.0 <= collapse.start - run.started <= 5.5 and 6.0 <= collapse.end - run.started <= 8.5
    # The clock ledger measured both exchanges 30 s ahead (their REST time against round
    # trips): every raw latency was negative; corrected by the offset, none is.
    for s in (trade, upbit):
        (clock,) = [f for f in s.findings if f.kind == "clock"]
        measured = float(re.search(r"clock is ([\d.]+) s ahead of", clock.detail).group(1))
        assert clock.count == s.latency.count and "round trips" in clock.detail
        assert abs(measured - 30.0) <= s.latency.bound_ms / 1000 + 0.05
        assert s.latency.negative == 0 and -s.latency.bound_ms <= s.latency.p50 < 1500
    assert trade.latency.bound_ms < 50  # Binance's /api/v3/time: milliseconds
    assert 500 <= upbit.latency.bound_ms < 600  # Upbit's Date header: whole seconds
    assert upbit.verdict == depth.verdict == "degraded"
    assert "books cannot be backfilled" in " ".join(depth.notes)
    # From the command line: --strict fails, naming the hole.
    done = cli("check", str(out), "--capture", str(capture), "--strict")
    assert done.returncode == 1
    assert re.search(r"hole: [\d,]+ trades, ids \d+-\d+", done.stdout)


async def test_without_the_capture_trade_holes_come_from_the_events_log(tmp_path):
    out = tmp_path / "drop.txt"
    sim = dict(
        faults=Faults.of(
            Rule(Drop(after_seconds=2.0), exchange="binance", connection=0),
            Rule(Stall(duration=0.3, channels=("trade",)), exchange="binance", connection=1),
        ),
        market=MarketParams(binance_trade_rate=200.0),
    )
    await btclib.record("binance", source="sim", duration=5, out=out, sim_options=sim, **QUIET)
    trade = next(s for s in check(out).streams if s.stream == "btcusdt@trade")
    assert trade.ids_from == "events log" and trade.verdict == "holes" and trade.missing_ids > 0
    assert trade.ids_expected == trade.lines + trade.missing_ids
    assert all(h.first is not None for h in trade.holes)  # the gap records name the ids
    assert "need the capture" in " ".join(trade.notes)


async def test_a_crossed_book_is_named_at_its_line(tmp_path):
    first, capture = tmp_path / "a.txt", tmp_path / "a.jsonl"
    await btclib.record("binance", source="sim", duration=4, out=first, capture=capture, **QUIET)
    # Plant one crossed book in the capture: the second depth frame's best bid above its ask.
    records = capture.read_text().splitlines()
    depth = [n for n, r in enumerate(records) if "@depth5" in r and '"f"' in r]
    record = json.loads(records[depth[1]])
    frame = json.loads(record["f"])
    ask = float(frame["data"]["asks"][0][0])
    frame["data"]["bids"][0][0] = f"{ask + 1:.8f}"
    record["f"] = json.dumps(frame, separators=(",", ":"))
    records[depth[1]] = json.dumps(record, separators=(",", ":"))
    capture.write_text("\n".join(records) + "\n")
    replayed = tmp_path / "b.txt"
    await btclib.record("binance", replay=capture, out=replayed, duration=30, **QUIET)
    lines = replayed.read_text().splitlines()
    crossed = [n for n, line in enumerate(lines, 1) if f'bids:[["{ask + 1:.8f}"' in line]
    assert len(crossed) == 1
    streams = {s.stream: s for s in check(replayed).streams}
    assert [(f.kind, f.count, f.where) for f in streams["btcusdt@orderbook"].findings] == [
        ("crossed", 1, f"line {crossed[0]:,}")
    ]
    assert streams["btcusdt@orderbook"].verdict == "degraded"
    assert streams["btcusdt@trade"].findings == []


async def test_the_timeline_figure_draws_a_row_per_stream_with_its_gaps(tmp_path):
    from btclib.quality.figure import timeline

    out, capture = tmp_path / "t.txt", tmp_path / "t.jsonl"
    sim = dict(faults=Faults.of(Rule(Drop(after_seconds=1.5), exchange="binance", connection=0)))
    await btclib.record("binance", source="sim", duration=3, out=out, capture=capture,
                        sim_options=sim, **QUIET)  # fmt: skip
    card = check(out, capture=capture, rules=RULES)
    figure = timeline(card)
    axes = figure.get_axes()
    assert [ax.get_title(loc="left").split(":")[0] for ax in axes] == [
        s.stream for s in card.streams
    ]
    assert all(s.rates for s in card.streams)
    assert all(ax.patches for ax in axes)  # the drop's gap shaded on both streams
