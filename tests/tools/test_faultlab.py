"""Step F's fault lab: every planted fault takes effect, the recorder heals each, and the soak
checker finds nothing sent while connected missing; the plan is the seed's; 451 stops a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib import plots
from btclib.simulator.faults import Drop, Malformed, Shutdown, Stall
from btclib.tools import faultlab


def test_a_plan_is_its_seeds_and_refuses_unknown_faults() -> None:
    plan = faultlab.Plan(duration=20, seed=7)
    assert faultlab.rules(plan)[0] == faultlab.rules(faultlab.Plan(duration=20, seed=7))[0]
    assert faultlab.rules(plan)[0] != faultlab.rules(faultlab.Plan(duration=20, seed=8))[0]
    faults, disk = faultlab.rules(plan)
    kinds = [type(r.fault) for r in faults.rules]
    assert kinds.count(Drop) == 2 and Stall in kinds and Shutdown in kinds
    assert kinds.count(Malformed) == 2 and disk is not None and len(disk.bursts) == 1
    # Binance's faults follow one another, each on the connection the one before opened.
    assert [r.connection for r in faults.rules if r.exchange == "binance"] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown fault"):
        faultlab.Plan(faults=("meteor",))
    with pytest.raises(ValueError, match="8 s or more"):
        faultlab.Plan(duration=3)


async def test_the_lab_heals_every_planted_fault_and_loses_nothing(tmp_path: Path) -> None:
    lab = await faultlab.run(faultlab.Plan(duration=12, seed=2026), tmp_path / "lab.txt")
    fired = {what for _, _, what in lab.fired}
    assert {"drop (no close frame)", "stall depth", "serverShutdown", "close 1008"} <= fired
    assert {"malformed (not_json)", "malformed (truncated)"} <= fired
    assert lab.nothing_lost, lab.verdict_text()
    assert lab.verdict.sent == lab.verdict.written > 0
    kinds = {e["event"] for e in lab.events}
    assert {"gap", "stall", "server_shutdown", "rotated", "bad_frame", "reconnect"} <= kinds
    assert lab.summary.bad_frames == 2 and lab.summary.rotations >= 1
    words = "\n".join(faultlab.explain(lab.events, lab.started))
    assert "without a close frame (1006)" in words and "code 1008" in words
    fig = plots.plot_timeline(lab)
    top, _ = fig.axes
    assert [t.get_text() for t in top.get_yticklabels()][:2] == ["binance", "upbit"]
    fig.savefig(tmp_path / "timeline.png")


async def test_a_451_stops_the_run_in_the_exchanges_words(tmp_path: Path) -> None:
    said = await faultlab.refused_451(tmp_path / "x.txt")
    assert "451" in said and "region" in said
