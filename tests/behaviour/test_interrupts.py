"""Ctrl+C (SIGINT) and SIGTERM in the middle of a run: the recorder, run as a program, stops
with whole lines, each what the simulator sent, in order, and says it was interrupted."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from btclib.simulator import SimConfig
from btclib.simulator.expected import expected_line

from .conftest import Recorder

pytestmark = pytest.mark.timeout(90)

PREFIX = {"binance": b"btcusdt@", "upbit": b"btckrw@"}
#: Exit status after an interrupt: btclib's command line 0 (stopped as asked), btcrec 130.
EXIT = {"python": 0, "cpp": 130}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_signal_in_the_middle_of_a_run_leaves_whole_lines_and_a_summary(
    recorder: Recorder, tmp_path: Path, sig: signal.Signals
):
    config = SimConfig(seed=25, speedup=50, record_sent=True)
    run = await recorder.interrupt(tmp_path, config, sig, lines=200)
    assert run.code == EXIT[run.recorder], run.stdout
    assert run.data.endswith(b"\n")
    lines = run.data.splitlines(keepends=True)
    assert len(lines) >= 200
    for exchange, prefix in PREFIX.items():
        mine = [line for line in lines if line.startswith(prefix)]
        sent = [expected_line(f) for f in run.sent if f.exchange == exchange]
        assert mine and mine == sent[: len(mine)]  # what was read is written, in order, whole
    assert sum(len([x for x in lines if x.startswith(p)]) for p in PREFIX.values()) == len(lines)
    assert "stopped: interrupted" in run.stdout
    if run.summary is not None:
        assert run.summary.stopped == "interrupted" and run.summary.total == len(lines)
