"""Smoke test of the benchmark: quick mode runs and writes JSON with the agreed keys.

No timing is asserted (figures depend on the machine and its load); only that the
benchmark still runs end to end against its flood server and reports every figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_quick_bench_writes_json_with_the_required_keys(tmp_path: Path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "btclib.tools.bench", "--quick", "--repeats", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    for name in ("binance", "upbit", "both"):
        workload = result["workloads"][name]
        for key in (
            "ceiling_fps",
            "recorder_fps",
            "ratio",
            "drain_ceiling_fps",
            "ratio_to_drain",
            "cpu_us_per_frame",
        ):
            assert isinstance(workload[key], float) and workload[key] > 0, (name, key)
        assert workload["dropped"] == 0
        # The C++ twin on the same flood server: measured when built (make test builds it).
        if "cpp_skipped" not in workload:
            assert workload["cpp_fps"] > 0 and workload["cpp_cpu_us_per_frame"] > 0, name
        if name == "binance":  # the flood server's own ceiling, beside btcrec's
            assert workload["server_ceiling_fps"] > 0
    for rate in ("1000", "10000"):
        for key in ("p50", "p99", "max"):
            assert result["latency_ms"][rate][key] > 0, (rate, key)
            assert result["latency_ms"][rate]["recv_floor"][key] > 0, (rate, key)
    soak = result["soak"]
    assert soak["frames"] >= 100_000
    assert soak["rss_start_mb"] > 0 and soak["rss_end_mb"] > 0
    assert (tmp_path / "bench.png").stat().st_size > 0
    assert "| workload |" in done.stdout
    assert "btcrec (C++) frames/s" in done.stdout
    # Nothing but the JSON and the plot was written where we pointed it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench.png"]
