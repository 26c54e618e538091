"""``python -m btclib bench --broker``: the broker sink through a 3-node R3 cluster here.

Three measurements, each against a fresh 3-node JetStream cluster of real
``nats-server`` processes on 127.0.0.1 (stream R3, file storage):

- **flood**: lines handed to :class:`~btclib.broker.publish.BrokerSink` (over a
  :class:`~btclib.files.sink.LineSink`, as ``record --publish`` does) as fast as the
  sink takes them, in batches the way the recorder's reader flushes; lines/s is
  lines acknowledged by a quorum in order, from the first line to the last ack.
- **latency** at ``rate`` lines/s (2,000: every market of both venues): each line carries
  its send time (``time.time_ns()``) in its price field; a consumer in another process
  (a JetStream ordered consumer) reads the stream and takes now - send time: publish to
  consume, through the cluster, p50/p99/max.
- **CPU per line** in the recorder's process at that rate, with the file sink alone and
  with the broker sink over it, over the same window: what ``--publish`` adds per line
  to the recorder (its spool write and notice; the NATS client runs in the publisher's
  own process, :mod:`btclib.broker.worker`, whose CPU a line is given beside it; the
  cluster's own CPU is the servers' and not counted).

The figures are noisy on a shared 2-core machine (the three servers, the consumer and
the publisher share it): the JSON keeps each run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ...broker.connection import open_broker
from ...broker.publish import BrokerSink, PublishOptions
from ...broker.servers import Cluster
from ...files.sink import LineSink
from .client import cpu_seconds

__all__ = ["TARGETS", "main", "run"]

WARMUP = 2.0
"""Seconds of lines before the paced window, not measured."""
TARGETS = {"flood_lines_per_s": 50_000, "p99_ms": 10.0, "added_cpu_us_per_line": 10.0}

_TRADE = b"btcusdt@trade, p:%d,q:0.00626000\n"
_BOOK = (
    b'btcusdt@orderbook,bids:[["16702.06000000","0.00069000"],["16702.05000000","0.01"]],'
    b'asks:[["16702.84000000","0.05546000"],["16702.85000000","0.2"]]\n'
)


def _lines(n: int) -> list[bytes]:
    """A mix like Binance's: two trades for a book, ~100 bytes on average."""
    return [_BOOK if i % 3 == 0 else _TRADE % i for i in range(n)]


async def _flood(urls: list[str], folder: Path, n: int) -> dict[str, Any]:
    broker = await open_broker(urls, "FLOOD")
    data = folder / "flood.txt"
    sink = BrokerSink(LineSink(data), broker, base=data, options=PublishOptions(process=True))
    sink.open()
    lines = _lines(n)
    t0, c0 = time.perf_counter(), cpu_seconds()
    for start in range(0, n, 64):  # the reader flushes every few frames under a flood
        for line in lines[start : start + 64]:
            sink.append(line)
        sink.flush()
        await asyncio.sleep(0)
        while sink.behind()[0] > 200_000:  # a flood far beyond the broker: let it catch up
            await asyncio.sleep(0.01)
    c1 = cpu_seconds()
    while sink.behind()[0]:  # the worker's progress file, saved 5 times a second
        await asyncio.sleep(0.01)
    t1 = time.perf_counter()
    await sink.aclose()
    published = sink.report()["published"]
    await broker.js.delete_stream("FLOOD")  # the next stream takes btclib.> too
    await broker.close()
    return {
        "lines": n,
        "acknowledged": published,
        "seconds": t1 - t0,
        "lines_per_s": published / (t1 - t0),
        "recorder_cpu_us_per_line": (c1 - c0) / n * 1e6,
        "replicas": broker.replicas,
    }


async def _paced(
    urls: list[str] | None, folder: Path, rate: float, seconds: float
) -> dict[str, Any]:
    """``rate`` lines/s for ``seconds`` into a LineSink, published when ``urls``."""
    data = folder / f"paced-{'pub' if urls else 'file'}.txt"
    file = LineSink(data)
    broker = None
    if urls:
        broker = await open_broker(urls, "LATENCY")
        sink: Any = BrokerSink(file, broker, base=data, options=PublishOptions(process=True))
    else:
        sink = file
    children0 = _children_cpu()
    sink.open()
    tick = 0.005  # a batch every 5 ms, as frames arrive in bursts
    per_tick = max(1, round(rate * tick))
    loop = asyncio.get_running_loop()
    start = loop.time()
    ticks = 0
    # WARMUP seconds first (the publisher's process starting and connecting, as it does
    # while the recorder connects to the exchanges): lines stamped 0, not measured.
    while loop.time() - start < WARMUP:
        for _ in range(per_tick):
            sink.append(_TRADE % 0)
        sink.flush()
        ticks += 1
        await asyncio.sleep(max(0.0, start + ticks * tick - loop.time()))
    t0, c0 = loop.time(), cpu_seconds()
    sent = 0
    while loop.time() - t0 < seconds:
        for _ in range(per_tick):
            sink.append(_TRADE % time.time_ns())
        sent += per_tick
        sink.flush()
        ticks += 1
        await asyncio.sleep(max(0.0, start + ticks * tick - loop.time()))
    c1, t1 = cpu_seconds(), loop.time()
    out = {"lines": sent, "seconds": t1 - t0, "cpu_us_per_line": (c1 - c0) / sent * 1e6}
    await sink.aclose()
    if broker is not None:  # the publisher's process has ended: its CPU is counted now
        out["publisher_process_cpu_us_per_line"] = (_children_cpu() - children0) / sent * 1e6
    if broker is not None:
        await broker.close()
    return out


async def _consume_latency(url: str, count: int) -> None:
    """The consumer child: read ``count`` lines of stream LATENCY, print their latencies."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    got: list[float] = []
    done = asyncio.Event()

    async def on(msg: Any) -> None:
        now = time.time_ns()
        sent = int(msg.data.split(b"p:", 1)[1].split(b",", 1)[0])
        if not sent:
            return  # a warm-up line
        got.append((now - sent) / 1e6)
        if len(got) >= count:
            done.set()

    print(json.dumps({"ready": True}), flush=True)
    sub = await js.subscribe("btclib.>", cb=on, ordered_consumer=True, stream="LATENCY")
    try:
        await asyncio.wait_for(done.wait(), 120)
    finally:
        await sub.unsubscribe()
        await nc.close()
    print(json.dumps({"latencies_ms": got}), flush=True)


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the publisher process)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latency(urls: list[str], folder: Path, rate: float, seconds: float) -> dict[str, Any]:
    broker = await open_broker(urls, "LATENCY")  # the stream exists before the consumer
    await broker.close()
    count = int(rate * seconds) // max(1, round(rate * 0.005)) * max(1, round(rate * 0.005))
    child = subprocess.Popen(
        [sys.executable, "-m", "btclib.tools.bench.broker", "consume", urls[1], str(count)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        json.loads(await asyncio.to_thread(child.stdout.readline))
        await asyncio.sleep(1.0)  # the ordered consumer is set up
        published = await _paced(urls, folder, rate, seconds)
        answer = json.loads(await asyncio.to_thread(child.stdout.readline))
    finally:
        if child.poll() is None:
            child.wait(30)
    ms = answer["latencies_ms"]
    return {
        "rate": rate,
        "lines": len(ms),
        "p50_ms": _percentile(ms, 0.50),
        "p99_ms": _percentile(ms, 0.99),
        "max_ms": max(ms),
        "publisher": published,
    }


def run(quick: bool = False) -> dict[str, Any]:
    rate, seconds = 2000.0, (5.0 if quick else 15.0)
    flood_n = 100_000 if quick else 300_000
    with tempfile.TemporaryDirectory(prefix="btclib-bench-broker-") as folder:
        base = Path(folder)
        cluster = Cluster(base / "cluster", size=3)
        cluster.start()
        try:
            urls = cluster.urls.split(",")
            flood = asyncio.run(_flood(urls, base, flood_n))
            latency = asyncio.run(_latency(urls, base, rate, seconds))
            file_only = asyncio.run(_paced(None, base, rate, seconds))
        finally:
            cluster.stop()
    with_pub = latency["publisher"]["cpu_us_per_line"]
    return {
        "broker": {
            "flood": flood,
            "latency": latency,
            "cpu_us_per_line_file": file_only["cpu_us_per_line"],
            "cpu_us_per_line_publish": with_pub,
            "added_cpu_us_per_line": with_pub - file_only["cpu_us_per_line"],
            "publisher_process_cpu_us_per_line": latency["publisher"][
                "publisher_process_cpu_us_per_line"
            ],
            "cluster": "3 nats-server nodes on 127.0.0.1, stream R3, file storage",
            "targets": TARGETS,
        }
    }


def table(result: dict[str, Any]) -> str:
    b = result["broker"]
    f, lat = b["flood"], b["latency"]
    return "\n".join(
        [
            f"bench --broker: {b['cluster']}",
            f"  flood             {f['lines_per_s']:>9.0f} lines/s acknowledged (R{f['replicas']}; "
            f"{f['acknowledged']} lines; target >= {TARGETS['flood_lines_per_s']:,}); "
            f"recorder's process {f['recorder_cpu_us_per_line']:.1f} us CPU a line",
            f"  latency @ {lat['rate']:.0f}/s  p50 {lat['p50_ms']:.2f} ms, "
            f"p99 {lat['p99_ms']:.2f} ms "
            f"(target < {TARGETS['p99_ms']:g}), max {lat['max_ms']:.1f} ms, {lat['lines']} lines",
            f"  CPU a line @ {lat['rate']:.0f}/s  file only {b['cpu_us_per_line_file']:.1f} us, "
            f"with --publish {b['cpu_us_per_line_publish']:.1f} us: "
            f"+{b['added_cpu_us_per_line']:.1f} us "
            f"(target < {TARGETS['added_cpu_us_per_line']:g}); "
            f"the publisher's process {b['publisher_process_cpu_us_per_line']:.1f} us a line",
        ]
    )


def main(json_path: str | None = None, quick: bool = False) -> int:
    print("btclib bench --broker: a 3-node JetStream cluster on 127.0.0.1 ...")
    result = run(quick)
    print(table(result))
    if json_path:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["consume"]:
        asyncio.run(_consume_latency(sys.argv[2], int(sys.argv[3])))
    else:
        raise SystemExit(main(quick="--quick" in sys.argv))
