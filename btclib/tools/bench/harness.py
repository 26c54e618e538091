"""Run every measurement against one flood server and gather the figures.

Each measurement is its own child process (``python -m btclib.tools.bench.client``) so that
CPU time and peak RSS belong to one pipeline; the flood server is another process
(``python -m btclib.tools.bench.flood``) bound to 127.0.0.1. Ceiling and recorder runs of a
workload alternate (A B B A ...) so that drift in the machine's load hits both alike;
the ratio is the median of the ratios of adjacent pairs.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PIPELINES",
    "RATES",
    "TARGETS",
    "WORKLOADS",
    "FloodServer",
    "Plan",
    "cpp",
    "latency",
    "machine",
    "peers",
    "run",
    "targets",
]

WORKLOADS = ("binance", "upbit", "both")
RATES = (1_000, 10_000)
TARGETS = {"binance": 0.8, "upbit": 0.7}
PIPELINES = ("ceiling", "recorder", "drain")
"""Measured per repeat, in rotating order; ``drain`` is the receive-only loop reading
websockets' queue the way the recorder does (:mod:`btclib.recorder.wsqueue`)."""


@dataclass
class Plan:
    """How much to measure: ``quick`` (< 60 s) or full (< 10 min)."""

    repeats: int
    frames: int
    parse_frames: int
    parse_repeats: int
    latency_seconds: float
    latency_repeats: int
    soak_frames: int
    peer_frames: int

    @classmethod
    def make(cls, quick: bool, repeats: int | None = None) -> Plan:
        if quick:
            plan = cls(2, 60_000, 10_000, 1, 2.0, 1, 200_000, 20_000)
        else:
            plan = cls(5, 400_000, 60_000, 3, 10.0, 3, 1_000_000, 200_000)
        if repeats:
            plan.repeats = repeats
        return plan


class FloodServer:
    """The flood server process; stops when this object is closed or we exit."""

    def __init__(self, max_seconds: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "btclib.tools.bench.flood", "--max-seconds", str(max_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"flood server did not start: {line!r}")
        self.port = int(line.split()[1])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the server exits when its stdin closes
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def child(
    spec: dict[str, Any], python: str | None = None, timeout: float = 300.0
) -> dict[str, Any]:
    """Run one measurement in a fresh process; its last stdout line is the result."""
    module = spec.pop("module", "btclib.tools.bench.client")
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        done = subprocess.run(
            [python or sys.executable, "-m", module, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": tail[0][:300]}
    return json.loads(lines[-1])


def _loadavg() -> tuple[float, float, float]:
    """The load averages (NaN on Windows, which has none)."""
    nan = float("nan")
    return os.getloadavg() if hasattr(os, "getloadavg") else (nan, nan, nan)


def machine() -> dict[str, Any]:
    model = platform.processor()  # Linux's is often empty or just the architecture
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import websockets

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "kernel": platform.release(),
        "loadavg_start": _loadavg(),
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run(
    quick: bool,
    repeats: int | None = None,
    peer_python: str | None = None,
    log: Any = print,
) -> dict[str, Any]:
    plan = Plan.make(quick, repeats)
    started = time.monotonic()
    result: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "plan": plan.__dict__,
        "workloads": {},
        "latency_ms": {},
    }
    tmp = tempfile.mkdtemp(prefix="btclib-bench-")
    server = FloodServer(max_seconds=120 if quick else 900)
    try:
        base = {"port": server.port, "tmp": tmp}
        # 1-2. Ceiling, recorder and the drain ceiling, in rotating order.
        for workload in WORKLOADS:
            runs: dict[str, list[dict[str, Any]]] = {p: [] for p in PIPELINES}
            ratios: dict[str, list[float]] = {"ceiling": [], "drain": []}
            for r in range(plan.repeats):
                order = PIPELINES[r % 3 :] + PIPELINES[: r % 3]
                fps = {}
                for pipeline in order:
                    spec = {**base, "pipeline": pipeline, "workload": workload, "n": plan.frames}
                    out = child(spec)
                    runs[pipeline].append(out)
                    fps[pipeline] = out.get("fps")
                    log(f"  {workload:8s} {pipeline:9s} {_fmt_run(out)}")
                for ceiling, values in ratios.items():
                    if fps.get(ceiling) and fps.get("recorder"):
                        values.append(fps["recorder"] / fps[ceiling])
            result["workloads"][workload] = _summarise(runs, ratios)
            result["workloads"][workload].update(cpp(base, plan, workload, log))
        # Comparison pipelines (not byte-exact): what parsing JSON would cost.
        for workload in ("binance", "upbit"):
            for pipeline in ("json", "orjson"):
                outs = []
                for _ in range(plan.parse_repeats):
                    spec = {
                        **base,
                        "pipeline": pipeline,
                        "workload": workload,
                        "n": plan.parse_frames,
                    }
                    outs.append(child(spec))
                    log(f"  {workload:8s} {pipeline:9s} {_fmt_run(outs[-1])}")
                fps = [o["fps"] for o in outs if "fps" in o]
                entry = result["workloads"][workload]
                entry[f"{pipeline}_fps"] = _median(fps)
                if not fps:
                    entry[f"{pipeline}_error"] = outs[-1].get("error")
        # 3. Latency, paced: recorder and recv() alone alternate, medians of the runs.
        for rate in RATES:
            result["latency_ms"][str(rate)] = latency(base, plan, rate, log)
        # 5. Soak.
        spec = {**base, "pipeline": "soak", "workload": "binance", "n": plan.soak_frames}
        out = child(spec, timeout=600)
        result["soak"] = {
            "workload": "binance",
            "frames": out.get("frames"),
            "fps": out.get("fps"),
            "rss_before_mb": out.get("rss_before_mb"),
            "rss_start_mb": out.get("rss_start_mb"),
            "rss_start_lines": out.get("rss_start_lines"),
            "rss_end_mb": out.get("rss_end_mb"),
            "rss_growth_mb": (
                out["rss_end_mb"] - out["rss_start_mb"] if "rss_end_mb" in out else None
            ),
            "peak_rss_mb": out.get("peak_rss_mb"),
            "cpu_us_per_frame": out.get("cpu_us_per_frame"),
            "cpu_us_per_frame_by_lines": out.get("cpu_us_per_frame_by_lines"),
            "dropped": out.get("dropped"),
            **({"error": out["error"]} if "error" in out else {}),
        }
        log(f"  soak: {_fmt_run(out)}")
        # Peers.
        result["peers"] = peers(base, plan, peer_python, log)
    finally:
        server.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["loadavg_end"] = _loadavg()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["targets"] = targets(result)
    return result


CPP_FRAMES = 5
"""btcrec reads several times the Python pipelines' frames (``plan.frames``): at millions of
frames a second, their count would last a tenth of a second."""


def cpp(base: dict[str, Any], plan: Plan, workload: str, log: Any) -> dict[str, Any]:
    """btcrec, the C++ twin, on the same flood server: ``plan.repeats`` runs, medians.

    For Binance, each btcrec run alternates with the flood server's own send ceiling (a
    client that only drains the socket, :func:`btclib.tools.bench.cpp.server_ceiling`), so
    the table shows in the same run whether btcrec or the server is the bound.
    """
    n = plan.frames * CPP_FRAMES
    outs, ceilings = [], []
    for r in range(plan.repeats):
        spec = {**base, "module": "btclib.tools.bench.cpp", "workload": workload, "n": n}
        ceiling = {**base, "module": "btclib.tools.bench.cpp", "pipeline": "server-ceiling", "n": n}
        if workload == "binance" and r % 2 == 0:
            ceilings.append(child(ceiling))
        outs.append(child(spec))
        log(f"  {workload:8s} {'cpp':9s} {outs[-1].get('skipped') or _fmt_run(outs[-1])}")
        if "skipped" in outs[-1]:
            return {"cpp_skipped": outs[-1]["skipped"]}
        if workload == "binance" and r % 2 == 1:
            ceilings.append(child(ceiling))
        if workload == "binance":
            log(f"  {workload:8s} {'server':9s} {_fmt_run(ceilings[-1])} (a drain-only client)")
    good = [o for o in outs if o.get("fps")]
    errors = [o["error"] for o in (*outs, *ceilings) if "error" in o]
    return {
        "cpp_fps": _median([o["fps"] for o in good]),
        "cpp_cpu_us_per_frame": _median([o["cpu_us_per_frame"] for o in good]),
        "cpp_peak_rss_mb": max((o["peak_rss_mb"] for o in good), default=None),
        "cpp_runs": [o.get("fps") for o in outs],
        "cpp_frames": n,
        **(
            {
                "server_ceiling_fps": _median([o["fps"] for o in ceilings if o.get("fps")]),
                "server_ceiling_runs": [o.get("fps") for o in ceilings],
            }
            if ceilings
            else {}
        ),
        **({"cpp_errors": errors} if errors else {}),
    }


def latency(base: dict[str, Any], plan: Plan, rate: int, log: Any) -> dict[str, Any]:
    """p50/p99/max of the recorder at ``rate`` frames/s, beside websockets' ``recv()``
    alone on the same stream: the median over ``plan.latency_repeats`` runs of each
    (one run's p99 rests on its 1% slowest frames, and this machine has noisy
    seconds), every run kept in ``runs``."""
    n = int(rate * plan.latency_seconds)
    timeout = plan.latency_seconds * 3 + 60
    spec = {**base, "workload": "binance", "n": n, "rate": rate}
    runs: dict[str, list[dict[str, Any]]] = {"latency": [], "recv_latency": []}
    for _ in range(plan.latency_repeats):
        for pipeline in runs:
            out = child({**spec, "pipeline": pipeline}, timeout=timeout)
            runs[pipeline].append(out)
            log(f"  {pipeline:12s} {rate:>6} fps: {out.get('latency_ms') or out.get('error')}")

    def summary(outs: list[dict[str, Any]]) -> dict[str, Any]:
        good = [o for o in outs if o.get("latency_ms", {}).get("p99") is not None]
        errors = [o["error"] for o in outs if "error" in o]
        return {
            "p50": _median([o["latency_ms"]["p50"] for o in good]),
            "p99": _median([o["latency_ms"]["p99"] for o in good]),
            "max": max((o["latency_ms"]["max"] for o in good), default=None),
            "frames": sum(o.get("latency_samples") or 0 for o in good),
            "achieved_fps": _median([o["fps"] for o in good if o.get("fps")]),
            "cpu_us_per_frame": _median(
                [o["cpu_us_per_frame"] for o in good if o.get("cpu_us_per_frame")]
            ),
            "runs": [o.get("latency_ms") for o in outs],
            **({"error": errors[0]} if errors else {}),
        }

    return {**summary(runs["latency"]), "recv_floor": summary(runs["recv_latency"])}


def peers(base: dict[str, Any], plan: Plan, python: str | None, log: Any) -> dict[str, Any]:
    """ccxt.pro ``watch_trades`` on the raw Binance trade stream, beside btclib's own."""
    python = python or os.environ.get("BTCLIB_BENCH_PEER_PYTHON") or sys.executable
    out: dict[str, Any] = {}
    spec = {
        **base,
        "module": "btclib.tools.bench.peers",
        "peer": "ccxt",
        "workload": "binance-trades",
        "n": plan.peer_frames,
    }
    res = child(dict(spec), python=python, timeout=300)
    mine = child(
        {
            **base,
            "module": "btclib.tools.bench.peers",
            "peer": "btclib-trades",
            "workload": "binance-trades",
            "n": plan.peer_frames,
        }
    )
    out["ccxt.pro binance watch_trades"] = res
    out["btclib recorder, same trade-only stream"] = mine
    log(f"  peer ccxt: {_fmt_run(res)}; btclib same stream: {_fmt_run(mine)}")
    return out


def _summarise(
    runs: dict[str, list[dict[str, Any]]], ratios: dict[str, list[float]]
) -> dict[str, Any]:
    def col(pipeline: str, key: str) -> list[float]:
        return [r[key] for r in runs[pipeline] if r.get(key) is not None]

    errors = [r["error"] for rs in runs.values() for r in rs if "error" in r]
    return {
        "ceiling_fps": _median(col("ceiling", "fps")),
        "recorder_fps": _median(col("recorder", "fps")),
        "ratio": _median(ratios["ceiling"]),
        "drain_ceiling_fps": _median(col("drain", "fps")),
        "ratio_to_drain": _median(ratios["drain"]),
        "cpu_us_per_frame": _median(col("recorder", "cpu_us_per_frame")),
        "ceiling_cpu_us_per_frame": _median(col("ceiling", "cpu_us_per_frame")),
        "writer_cpu_us_per_frame": _median(col("recorder", "writer_cpu_us_per_frame")),
        "peak_rss_mb": max(col("recorder", "peak_rss_mb"), default=None),
        "ceiling_peak_rss_mb": max(col("ceiling", "peak_rss_mb"), default=None),
        "dropped": sum(col("recorder", "dropped")),
        "runs": {p: col(p, "fps") for p in runs},
        "ratios": ratios["ceiling"],
        "ratios_to_drain": ratios["drain"],
        "spread": {
            p: (min(col(p, "fps")) / max(col(p, "fps")) if col(p, "fps") else None) for p in runs
        },
        **({"errors": errors} if errors else {}),
    }


def targets(result: dict[str, Any]) -> dict[str, Any]:
    w = result["workloads"]
    lat = result["latency_ms"].get("1000", {})
    soak = result.get("soak", {})
    out = {}
    for name, goal in TARGETS.items():
        ratio = w.get(name, {}).get("ratio")
        out[f"{name}_ratio_ge_{goal}"] = ratio is not None and ratio >= goal
    p99 = lat.get("p99")
    out["p99_1000fps_lt_0.3ms"] = p99 is not None and p99 < 0.3
    growth = soak.get("rss_growth_mb")
    out["soak_rss_growth_lt_5mb"] = growth is not None and growth < 5
    # A recorder that drops lines under the flood has not really kept up.
    dropped = [x.get("dropped") for x in (*w.values(), soak)]
    out["no_line_dropped"] = all(d == 0 for d in dropped)
    return out


def _fmt_run(out: dict[str, Any]) -> str:
    if "error" in out:
        return f"error: {out['error']}"
    fps = out.get("fps")
    cpu = out.get("cpu_us_per_frame")
    text = f"{fps:,.0f} frames/s" if fps else "-"
    if cpu:
        text += f", {cpu:.2f} us CPU/frame"
    if out.get("peak_rss_mb"):
        text += f", peak RSS {out['peak_rss_mb']:.0f} MB"
    return text
