"""The library call works with ``await`` in a notebook and as a plain call in a script."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from btclib import RunSummary, record, record_sync
from btclib.steps.steps import events_path


def test_record_sync_from_a_plain_script(tmp_path: Path):
    script = textwrap.dedent(
        f"""
        import btclib
        s = btclib.record_sync("upbit", duration=1.0, source="sim", out={str(tmp_path / "u.txt")!r},
                               progress=None, announce=lambda text: None)
        print(s.total, s.sources["upbit"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    total, source = done.stdout.split()
    assert int(total) > 0 and source == "simulator"
    assert len((tmp_path / "u.txt").read_text().splitlines()) == int(total)


def test_record_sync_inside_a_running_loop_like_jupyter(tmp_path: Path):
    # A cell calling the synchronous API while the kernel's loop runs: the nest_asyncio
    # path. In a subprocess, because nest_asyncio patches asyncio for the whole process.
    script = textwrap.dedent(
        f"""
        import asyncio, btclib
        async def cell():
            s = btclib.record_sync("binance", duration=1.0, source="sim",
                                   out={str(tmp_path / "b.txt")!r}, progress=None,
                                   announce=lambda text: None)
            print(s.total, s.stopped)
        asyncio.run(cell())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) > 0 and "duration reached" in done.stdout


# -- runs you can tell apart: a fresh simulator seed per run, --seed reproduces ----------------


async def record_sim(out: Path, seed: int | None) -> RunSummary:
    return await record(
        "binance",
        duration=1.5,
        source="sim",
        seed=seed,
        sim_options={"speedup": 5},
        out=out,
        progress=None,
        announce=lambda text: None,
    )


def per_stream(out: Path) -> dict[bytes, list[bytes]]:
    streams: dict[bytes, list[bytes]] = {}
    for line in out.read_bytes().splitlines():
        streams.setdefault(line.split(b",", 1)[0], []).append(line)
    return streams


def start_event(out: Path) -> dict[str, Any]:
    log = events_path(out).read_text().splitlines()
    return next(e for e in map(json.loads, log) if e["event"] == "start")


async def test_simulated_runs_without_a_seed_differ_and_name_their_seed(tmp_path: Path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    first, second = await record_sim(a, None), await record_sim(b, None)
    assert first.seed is not None and second.seed is not None and first.seed != second.seed
    assert a.read_bytes() and b.read_bytes()
    assert set(a.read_bytes().splitlines()).isdisjoint(b.read_bytes().splitlines())
    assert start_event(a)["seed"] == first.seed and start_event(b)["seed"] == second.seed
    assert f"--seed {first.seed} reproduces this run" in first.text()


async def test_the_same_seed_writes_the_same_lines(tmp_path: Path):
    """Nothing in a line depends on the wall clock: the same seed, the same lines.

    The runs last the same time, not the same number of frames: per stream,
    the shorter run's lines are the start of the longer one's.
    """
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    first, second = await record_sim(a, 1234), await record_sim(b, 1234)
    assert first.seed == second.seed == 1234 == start_event(b)["seed"]
    one, two = per_stream(a), per_stream(b)
    assert one.keys() == two.keys() and len(one) == 2
    for stream, lines in one.items():
        common = min(len(lines), len(two[stream]))
        assert common > 0 and lines[:common] == two[stream][:common]


def test_a_replay_has_no_seed(tmp_path: Path):
    capture = Path(__file__).parent / "data" / "real-frames.jsonl"
    summary = record_sync(
        "both",
        duration=None,
        replay=capture,
        speed="max",
        out=tmp_path / "r.txt",
        progress=None,
        announce=lambda text: None,
    )
    assert summary.stopped == "source ended" and summary.total > 0
    assert summary.seed is None and start_event(tmp_path / "r.txt")["seed"] is None
    assert "simulator seed" not in summary.text()
