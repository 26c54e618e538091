"""``python -m btclib bench --scale``: every market at live-like rates, and what it costs.

Three processes, so that the figures belong to the recorder alone: the
simulator (``serve``: every listed market, ~1,500 Binance symbols and 200
Upbit KRW markets, each at its own rate, a few busy and most quiet), the
recorder (``record``: ``all`` of both exchanges read from the simulator's
listings, recorded into one file, exactly as ``python -m btclib record both
--symbol all --code all`` does), and this driver. The recorder measures its
own CPU time and memory over a steady window (after every connection
subscribed); at the window's end the driver has the simulator stop its market
and say how many data frames it sent, waits for the recorder to write them,
and stops it: lines lost = frames sent - lines written.

JSON keys (``--json PATH``): ``scale.markets`` (Binance symbols + Upbit codes
that had data), ``scale.frames_per_s``, ``scale.cpu_percent`` (of one core, the
recorder process), ``scale.rss_mb`` (its peak), ``scale.lines_lost``, and the
details beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["TARGETS", "WINDOW", "main", "run"]

WINDOW = 60.0
"""Seconds measured, after the warm-up."""
WARMUP = 5.0
"""Seconds after the recorder started before the window opens (listings, subscriptions)."""
TARGETS = {"cpu_percent": 50.0, "cpu_percent_stretch": 25.0, "rss_mb": 300.0, "lines_lost": 0}


class _Counted:
    """The simulator's sent log, as counts per exchange (no frame kept)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def append(self, frame: Any, /) -> None:
        self.counts[frame.exchange] += 1


async def _serve(seed: int, speedup: float = 1.0) -> None:
    """The simulator child: print the port, then on ``stop`` from stdin stop the market,
    let the queues drain and print the data frames sent per exchange."""
    from ...simulator import SimConfig, Simulator
    from .client import cpu_seconds

    sent = _Counted()
    loop = asyncio.get_running_loop()
    async with Simulator(SimConfig(seed=seed, speedup=speedup, record_sent=True), sent=sent) as sim:
        print(json.dumps({"port": sim.port}), flush=True)
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        await loop.run_in_executor(None, sys.stdin.readline)
        cpu = 100.0 * (cpu_seconds() - cpu0) / (time.perf_counter() - t0)
        await sim.feed.aclose()  # no market step after this: no new frame
        await asyncio.sleep(1.0)  # the links' queues go out
        print(json.dumps({"sent": dict(sent.counts), "cpu_percent": cpu}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)


async def _record(port: int, out: Path, warmup: float, window: float) -> None:
    """The recorder child: every market of both exchanges from the simulator on ``port``."""
    from ...recorder import record_feeds
    from ...simulator.registry import EXCHANGES as SIM
    from ...steps import steps
    from .client import cpu_seconds, peak_rss_mb

    base = f"ws://127.0.0.1:{port}"
    urls = {name: x.url(base) for name, x in SIM.items()}
    listings = {name: f"http://127.0.0.1:{port}{x.LISTING_PATH}" for name, x in SIM.items()}
    settings = await steps.resolve_markets(
        tuple(SIM), {"symbol": "all", "codes": "all"}, listings, announce=lambda text: None
    )
    feeds = steps.build_feeds("both", urls, **settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    summary_lines: dict[str, int] = {}

    async def measure() -> dict[str, Any]:
        await asyncio.sleep(warmup)
        lines0, cpu0, t0 = sum(summary_lines.values()), cpu_seconds(), time.perf_counter()
        await asyncio.sleep(window)
        lines1, cpu1, t1 = sum(summary_lines.values()), cpu_seconds(), time.perf_counter()
        figures = {
            "seconds": t1 - t0,
            "lines": lines1 - lines0,
            "frames_per_s": (lines1 - lines0) / (t1 - t0),
            "cpu_percent": 100.0 * (cpu1 - cpu0) / (t1 - t0),
            "cpu_us_per_frame": (cpu1 - cpu0) / max(1, lines1 - lines0) * 1e6,
        }
        print(json.dumps({"window": figures}), flush=True)
        return figures

    def progress(p: Any) -> None:
        summary_lines.clear()
        summary_lines.update(p.per_stream)

    task = asyncio.create_task(measure())
    summary = await record_feeds(
        feeds,
        out,
        progress=progress,
        stop=stop,
        events_path=steps.events_path(out),
    )
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    result = {
        "lines": summary.total,
        "markets": steps.markets_with_data(feeds, summary.lines),
        "connections": summary.connections,
        "reconnects": summary.reconnects,
        "gaps": len(summary.gaps),
        "dropped": summary.dropped,
        "bad_frames": summary.bad_frames,
        "rss_mb": peak_rss_mb(),
        "stopped": summary.stopped,
    }
    print(json.dumps({"done": result}), flush=True)


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "btclib.tools.bench.scale", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _read(child: subprocess.Popen[str], key: str, whole: bool = False) -> Any:
    """The next JSON line of ``child`` that carries ``key``: its value (``whole``: the
    line's object); a child that ended first raises."""
    assert child.stdout is not None
    for line in child.stdout:
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict) and key in message:
                return message if whole else message[key]
    raise RuntimeError(f"bench --scale: a child process ended before reporting {key!r}")


def run(
    window: float = WINDOW, warmup: float = WARMUP, seed: int = 1, speedup: float = 1.0
) -> dict[str, Any]:
    """Serve every market, record it all for ``window`` seconds, return the figures.

    ``speedup`` runs the market that many times faster (every rate times it), to
    find where one recorder process saturates."""
    with tempfile.TemporaryDirectory(prefix="btclib-scale-") as folder:
        server = _child("serve", "--seed", str(seed), "--speedup", str(speedup))
        recorder: subprocess.Popen[str] | None = None
        try:
            port = _read(server, "port")
            out = Path(folder) / "stream-data-multi.txt"
            recorder = _child(
                "record", "--port", str(port), "--out", str(out),
                "--warmup", str(warmup), "--window", str(window),
            )  # fmt: skip
            measured = _read(recorder, "window")
            assert server.stdin is not None
            server.stdin.write("stop\n")
            server.stdin.flush()
            served = _read(server, "sent", whole=True)
            sent = served["sent"]
            time.sleep(1.5)  # the last frames reach the file
            recorder.send_signal(signal.SIGINT)
            done = _read(recorder, "done")
            recorder.wait(30)
            size = out.stat().st_size
        finally:
            for child in (recorder, server):
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()
    markets = done["markets"]
    lost = sum(sent.values()) - done["lines"]
    return {
        "scale": {
            "markets": sum(had for had, _ in markets.values()),
            "frames_per_s": measured["frames_per_s"],
            "cpu_percent": measured["cpu_percent"],
            "rss_mb": done["rss_mb"],
            "lines_lost": max(0, lost),
            "markets_by_exchange": {
                x: {"had_data": had, "asked": asked} for x, (had, asked) in markets.items()
            },
            "cpu_us_per_frame": measured["cpu_us_per_frame"],
            "window_s": measured["seconds"],
            "speedup": speedup,
            "frames_sent": sent,
            "simulator_cpu_percent": served["cpu_percent"],
            "lines_written": done["lines"],
            "file_mb": size / 2**20,
            "connections": done["connections"],
            "reconnects": done["reconnects"],
            "gaps": done["gaps"],
            "dropped": done["dropped"],
            "targets": TARGETS,
        }
    }


def table(result: dict[str, Any]) -> str:
    """The figures for a terminal, each beside its target."""
    s = result["scale"]
    by = ", ".join(
        f"{x} {v['had_data']} of {v['asked']}" for x, v in s["markets_by_exchange"].items()
    )
    return "\n".join(
        [
            f"bench --scale: every market, {s['window_s']:.0f} s measured",
            f"  markets with data   {s['markets']:>8}   ({by})",
            f"  frames/s            {s['frames_per_s']:>8.0f}",
            f"  recorder CPU        {s['cpu_percent']:>7.1f}%   of one core "
            f"(target < {TARGETS['cpu_percent']:g}%, stretch < {TARGETS['cpu_percent_stretch']:g}%)"
            f"; {s['cpu_us_per_frame']:.0f} us a frame",
            f"  recorder peak RSS   {s['rss_mb']:>7.0f} MB  (target < {TARGETS['rss_mb']:g} MB)",
            f"  lines lost          {s['lines_lost']:>8}   (sent {sum(s['frames_sent'].values())}, "
            f"written {s['lines_written']})",
            f"  connections {s['connections']}, reconnects {s['reconnects']}, gaps {s['gaps']}, "
            f"dropped {s['dropped']}; the simulator's process: "
            f"{s['simulator_cpu_percent']:.0f}% of a core",
        ]
    )


def main(json_path: str | None = None, window: float = WINDOW, speedup: float = 1.0) -> int:
    """Run, print the table, write the JSON if asked. Returns 0."""
    print(f"btclib bench --scale: simulator and recorder in their own processes, {window:g} s ...")
    result = run(window, speedup=speedup)
    print(table(result))
    if json_path:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"JSON: {path}")
    return 0


def _child_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m btclib.tools.bench.scale")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--speedup", type=float, default=1.0)
    rec = commands.add_parser("record")
    rec.add_argument("--port", type=int, required=True)
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--warmup", type=float, default=WARMUP)
    rec.add_argument("--window", type=float, default=WINDOW)
    run_ = commands.add_parser("run")
    run_.add_argument("--json", dest="json_path", default=None)
    run_.add_argument("--window", type=float, default=WINDOW)
    run_.add_argument("--speedup", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.command == "serve":
        asyncio.run(_serve(args.seed, args.speedup))
    elif args.command == "record":
        asyncio.run(_record(args.port, args.out, args.warmup, args.window))
    else:
        raise SystemExit(main(args.json_path, args.window, args.speedup))


if __name__ == "__main__":
    _child_main(sys.argv[1:])
