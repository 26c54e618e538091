"""The C++ twin in the benchmark: ``python -m btclib.tools.bench.cpp '<json spec>'``.

Runs ``cpp/build/btcrec record <workload>`` against the same flood server as the
Python pipelines (``n`` frames per connection, then the server closes), writing a real
file in the run's temporary folder. Throughput is timed from btcrec's first
``connected`` line on stderr to its last ``closed:`` line (every connection of the
workload closed: all frames read and handed to the writer); btcrec is then stopped
with SIGINT, which flushes and prints its summary. CPU time and peak RSS are the
child's own (``getrusage(RUSAGE_CHILDREN)``, taken in this otherwise idle process).
The last line printed is a JSON object, as for :mod:`btclib.tools.bench.client`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["BINARY", "main", "run"]

BINARY = Path(__file__).resolve().parents[3] / "cpp" / "build" / "btcrec"
"""Where ``make cpp`` puts btcrec."""


def run(spec: dict[str, Any], binary: Path = BINARY) -> dict[str, Any]:
    if not binary.exists():
        return {"skipped": f"{binary} not built (make cpp)"}
    try:
        import resource
    except ImportError:  # Windows: no getrusage
        return {"skipped": "needs resource.getrusage (POSIX)"}
    workload, n = spec["workload"], spec["n"]
    per_connection = n // 2 if workload == "both" else n
    base = f"ws://127.0.0.1:{spec['port']}/n={per_connection}"
    connections = 2 if workload == "both" else 1
    with tempfile.TemporaryDirectory(prefix="btclib-bench-cpp-", dir=spec.get("tmp")) as tmp:
        out, summary = Path(tmp) / "cpp.txt", Path(tmp) / "summary.json"
        args = [
            str(binary), "record", workload, "--out", str(out), "--summary-json", str(summary),
            "--binance-url", base, "--upbit-url", f"{base}/websocket/v1", "--stall-after", "60",
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        assert proc.stderr is not None
        first = last = None
        closed = 0
        for line in proc.stderr:
            if first is None and "connected" in line:
                first = time.perf_counter()
            if "closed:" in line:
                closed += 1
                last = time.perf_counter()
                if closed >= connections:
                    break
            if time.perf_counter() - started > spec.get("timeout", 300):
                break
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        if first is None or last is None or not summary.exists():
            return {"error": f"btcrec did not finish (exit {proc.returncode})"}
        frames = int(json.loads(summary.read_text())["total"])
    seconds = last - first
    cpu = usage.ru_utime + usage.ru_stime
    rss_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return {
        "frames": frames,
        "expected": per_connection * connections,
        "seconds": seconds,
        # A connection that closed may reconnect before the last one closes and get
        # more frames: count only the workload's own.
        "fps": min(frames, per_connection * connections) / seconds if seconds > 0 else 0.0,
        "cpu_us_per_frame": cpu / frames * 1e6 if frames else None,
        "peak_rss_mb": rss_kb / 1024,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps(run(spec)))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
