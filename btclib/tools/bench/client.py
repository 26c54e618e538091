"""One measurement, in a fresh process: ``python -m btclib.tools.bench.client '<json spec>'``.

Each pipeline runs in its own process so that peak RSS (``ru_maxrss``) and CPU time
(``getrusage``) belong to that pipeline alone. The last line printed is a JSON object.

Pipelines (``spec["pipeline"]``):

- ``ceiling``: the websockets asyncio client, connected exactly as the recorder
  connects (same URL, requests, ping interval, ``max_size``, ``max_queue``), receiving
  with ``recv(decode=False)`` and discarding: the most this client library delivers.
- ``drain``: the same receive-only loop, but taking the frames websockets has already
  queued without one ``await recv()`` each, exactly as the recorder reads
  (:mod:`btclib.recorder.wsqueue`): the ceiling of the recorder's own reading method.
- ``recorder``: btclib's full recorder through its public API:
  :func:`btclib.recorder.record_feeds` with the feeds of :func:`btclib.steps.build_feeds`
  pointed at the flood server, writing a real file in a fresh temporary folder. The
  run ends when the server has sent its frames and closed (the ``finish`` event).
- ``json`` / ``orjson``: for comparison only: websockets + a JSON parser + formatting
  from the parsed values + batched ``os.write``. These re-print numbers, so they are
  NOT byte-exact (``2.2855E7`` becomes ``22855000.0``): they show what parsing costs.
- ``latency``: the recorder against a paced server (``rate`` frames/s); the sink's
  ``os.write`` is wrapped (the recorder writes into a ``LineSink(write=...)`` made
  here) to note, per line, the time the line was handed to the OS minus the send time
  stamped into it by the server (both ``CLOCK_MONOTONIC``, which is one clock for all
  processes of the machine).
- ``recv_latency``: the floor under ``latency``: the websockets client alone on the same
  paced stream, send stamp to ``recv()`` returning (nothing parsed or written).
- ``soak``: the recorder on ``n`` flood frames; its progress callback (every 10 ms)
  samples lines, CPU time and RSS (``/proc/self/statm``).

Throughput runs time from before connecting to the last frame received (ceiling) or
the last line handed to the OS (recorder: the ``write`` of the ``LineSink`` it is given).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ...files.datafile import open_append
from ...files.sink import LineSink
from ...recorder import RecorderOptions, record_feeds
from ...recorder.wsqueue import queued_frames
from ...simulator.registry import EXCHANGES as SIM_EXCHANGES
from ...steps.steps import build_feeds

__all__ = ["WriteHook", "Written", "main", "run"]

try:  # POSIX only: on Windows the memory and CPU figures come from the fallbacks below
    import resource
except ImportError:
    resource = None  # type: ignore[assignment]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
"""``ru_maxrss`` is in bytes on macOS, in KiB on Linux."""
CHECKPOINTS = (1_000, 10_000, 100_000, 1_000_000)
"""Soak: CPU per frame is reported for each stretch between these line counts."""


def rss_mb() -> float:
    """Resident memory now (Linux's /proc), else the peak so far (NaN where unknown)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory (NaN without the ``resource`` module, i.e. on Windows)."""
    if resource is None:
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT / 1024 / 1024


def cpu_seconds() -> float:
    """User plus system CPU time of this process."""
    if resource is None:
        return time.process_time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def feeds_for(workload: str, port: int, n: int, rate: float = 0.0) -> list[Any]:
    """The step's feeds, pointed at the flood server; ``n`` frames per connection."""
    params = f"n={n}" + (f",rate={rate:g}" if rate else "")
    base = f"ws://127.0.0.1:{port}/{params}"
    return build_feeds(workload, {name: sim.url(base) for name, sim in SIM_EXCHANGES.items()})


def per_connection(workload: str, n: int) -> int:
    return n // 2 if workload == "both" else n


class WriteHook:
    """Stands in for ``os.write`` (latency runs): each line's send stamp vs. now."""

    def __init__(self, written: Written) -> None:
        self.latencies_ns: list[int] = []
        self._written = written
        self._stamp = re.compile(rb'(?:, p:|bids:\[\["|,\[\{"ask_price":)(\d{10,})\.')

    def __call__(self, fd: int, data: memoryview) -> int:
        written = os.write(fd, data)
        t = time.monotonic_ns()  # first, before any bookkeeping
        self._written.note()
        chunk = bytes(data[:written])
        self.latencies_ns.extend(t - int(s) for s in self._stamp.findall(chunk))
        return written


class Written:
    """Stands in for ``os.write`` (throughput runs): when the last bytes reached the OS.

    One extra Python call per chunk of about 64 KiB: hundreds of lines.
    """

    def __init__(self) -> None:
        self.last = 0.0
        self.writer_cpu = 0.0

    def __call__(self, fd: int, data: memoryview) -> int:
        written = os.write(fd, data)
        self.note()
        return written

    def note(self) -> None:
        self.last = time.perf_counter()
        self.writer_cpu = time.thread_time()


async def run_ceiling(spec: dict[str, Any]) -> dict[str, Any]:
    n = per_connection(spec["workload"], spec["n"])
    feeds = feeds_for(spec["workload"], spec["port"], n)
    last = [0.0]
    drain = spec["pipeline"] == "drain"

    async def one(feed: Any) -> int:
        count = 0
        async with connect(
            feed.url,
            ping_interval=feed.ping_interval,
            ping_timeout=20.0,
            open_timeout=10.0,
            close_timeout=2.0,
            max_size=2**22,
            max_queue=64,
        ) as ws:
            for request in feed.requests:
                await ws.send(request)
            recv = ws.recv
            # "drain": take what websockets already queued as the recorder does
            # (btclib.recorder.wsqueue), the receive-only ceiling of that reading method.
            queue, take, resume = queued_frames(ws if drain else None)
            try:
                while True:
                    if queue and queue[0].fin:
                        take()
                    else:
                        resume()
                        await recv(decode=False)
                    count += 1
            except ConnectionClosed:
                pass
            last[0] = max(last[0], time.perf_counter())
        return count

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    counts = await asyncio.gather(*(one(f) for f in feeds))
    elapsed = last[0] - t0
    cpu = cpu_seconds() - cpu0
    frames = sum(counts)
    return {
        "frames": frames,
        "seconds": elapsed,
        "fps": frames / elapsed,
        "cpu_us_per_frame": cpu / frames * 1e6,
        "peak_rss_mb": peak_rss_mb(),
    }


async def run_recorder(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    n = per_connection(spec["workload"], spec["n"])
    pipeline = spec["pipeline"]
    written = Written()
    stamps = WriteHook(written) if pipeline == "latency" else None
    samples: list[tuple[int, float, float]] = []
    options = RecorderOptions()
    # The server closes each connection after its frames; ``finish`` (set once every
    # stream has spoken, so every connection is open) tells the recorder not to
    # reconnect then: the run ends when the last connection has closed.
    finish = asyncio.Event()
    options.progress_interval = 0.01
    soak = pipeline == "soak"

    def progress(p: Any) -> None:
        if not finish.is_set() and all(p.per_stream.values()):
            finish.set()
        if soak:
            samples.append((p.lines, cpu_seconds(), rss_mb()))

    path = folder / f"bench-{spec['workload']}.txt"
    feeds = feeds_for(spec["workload"], spec["port"], n, spec.get("rate", 0.0))
    rss0 = rss_mb()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    samples.append((0, cpu0, rss0))
    summary = await record_feeds(
        feeds,
        LineSink(path, write=stamps or written, fsync_interval=options.fsync_interval),
        options=options,
        finish=finish,
        progress=progress,
        duration=spec.get("timeout", 300.0),
    )
    cpu = cpu_seconds() - cpu0
    frames = summary.total
    elapsed = written.last - t0
    result: dict[str, Any] = {
        "frames": frames,
        "expected": n * len(feeds),
        "seconds": elapsed,
        "fps": frames / elapsed if elapsed > 0 else 0.0,
        "cpu_us_per_frame": cpu / frames * 1e6 if frames else None,
        "writer_cpu_us_per_frame": written.writer_cpu / frames * 1e6 if frames else None,
        "peak_rss_mb": peak_rss_mb(),
        "file_bytes": path.stat().st_size,
        "dropped": summary.dropped,
        "duplicates": summary.duplicates,
        "bad_frames": summary.bad_frames,
        "stopped": summary.stopped,
    }
    if stamps is not None:
        lat = sorted(stamps.latencies_ns)
        result["latency_ms"] = _percentiles(lat)
        result["latency_samples"] = len(lat)
    if pipeline == "soak":
        samples.append((frames, cpu_seconds(), rss_mb()))
        marks = [next((x for x in samples if x[0] >= c), None) for c in (0, *CHECKPOINTS)]
        marks = [m for m in marks if m is not None]
        if marks[-1][0] < frames:
            marks.append(samples[-1])
        segments = {}
        for (a, ca, _), (b, cb, _) in itertools.pairwise(marks):
            if b > a:
                segments[f"{a}-{b}"] = round((cb - ca) / (b - a) * 1e6, 3)
        start = next(x for x in samples if x[0] >= min(1_000, frames))
        result.update(
            rss_before_mb=rss0,
            rss_start_mb=start[2],
            rss_start_lines=start[0],
            rss_end_mb=samples[-1][2],
            rss_max_sampled_mb=max(x[2] for x in samples),
            cpu_us_per_frame_by_lines=segments,
        )
    return result


async def run_recv_latency(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor under the recorder's latency: send stamp to ``recv()`` returning
    (websockets alone, nothing parsed or written), on the same paced stream."""
    (feed,) = feeds_for("binance", spec["port"], spec["n"], spec["rate"])
    stamp = re.compile(rb'(?:"p":"|"bids":\[\[")(\d{10,})\.')
    latencies: list[int] = []
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    async with connect(feed.url, ping_interval=None, max_size=2**22, max_queue=64) as ws:
        recv = ws.recv
        try:
            while True:
                frame = await recv(decode=False)
                now = time.monotonic_ns()
                found = stamp.search(frame)
                if found is not None:
                    latencies.append(now - int(found[1]))
        except ConnectionClosed:
            pass
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "frames": len(latencies),
        "seconds": elapsed,
        "fps": len(latencies) / elapsed,
        "cpu_us_per_frame": (cpu_seconds() - cpu0) / max(1, len(latencies)) * 1e6,
        "latency_ms": _percentiles(latencies),
        "latency_samples": len(latencies),
    }


def _percentiles(values: list[int]) -> dict[str, float]:
    if not values:
        return {"p50": None, "p99": None, "max": None}

    def pick(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] / 1e6

    return {"p50": pick(0.50), "p99": pick(0.99), "max": values[-1] / 1e6}


async def run_parsing(spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    """websockets + json/orjson + format + batched write (not byte-exact; comparison only)."""
    if spec["pipeline"] == "orjson":
        import orjson

        loads = orjson.loads

        def dumps(value: Any) -> str:
            return orjson.dumps(value).decode()
    else:
        loads = json.loads

        def dumps(value: Any) -> str:
            return json.dumps(value, separators=(",", ":"))

    n = per_connection(spec["workload"], spec["n"])
    feeds = feeds_for(spec["workload"], spec["port"], n)
    fd = open_append(folder / "bench-parse.txt")
    pending: list[bytes] = []
    size = [0]
    last = [0.0]

    def write(line: str) -> None:
        data = line.encode()
        pending.append(data)
        size[0] += len(data)
        if size[0] >= 65536:
            os.write(fd, b"".join(pending))
            pending.clear()
            size[0] = 0

    async def one(feed: Any) -> int:
        count = 0
        async with connect(
            feed.url, ping_interval=feed.ping_interval, max_size=2**22, max_queue=64
        ) as ws:
            for request in feed.requests:
                await ws.send(request)
            try:
                while True:
                    message = loads(await ws.recv(decode=False))
                    if "stream" in message:
                        sym, _, kind = message["stream"].partition("@")
                        data = message["data"]
                        if kind == "trade":
                            write(f"{sym}@trade, p:{data['p']},q:{data['q']}\n")
                        else:
                            write(
                                f"{sym}@orderbook,bids:{dumps(data['bids'])},"
                                f"asks:{dumps(data['asks'])}\n"
                            )
                    else:
                        quote, base = message["code"].lower().split("-")
                        write(f"{base}{quote}@orderbook,{dumps(message['orderbook_units'])}\n")
                    count += 1
            except ConnectionClosed:
                pass
            last[0] = max(last[0], time.perf_counter())
        return count

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    frames = sum(await asyncio.gather(*(one(f) for f in feeds)))
    os.write(fd, b"".join(pending))
    os.close(fd)
    elapsed = last[0] - t0
    return {
        "frames": frames,
        "seconds": elapsed,
        "fps": frames / elapsed,
        "cpu_us_per_frame": (cpu_seconds() - cpu0) / frames * 1e6,
        "peak_rss_mb": peak_rss_mb(),
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="btclib-bench-", dir=spec.get("tmp")))
    try:
        pipeline = spec["pipeline"]
        if pipeline in ("ceiling", "drain"):
            return await run_ceiling(spec)
        if pipeline == "recv_latency":
            return await run_recv_latency(spec)
        if pipeline in ("recorder", "latency", "soak"):
            return await run_recorder(spec, folder)
        if pipeline in ("json", "orjson"):
            return await run_parsing(spec, folder)
        raise ValueError(f"unknown pipeline {pipeline!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("gc_freeze"):
        import gc

        gc.freeze()
    threading.current_thread().name = f"bench-{spec['pipeline']}"
    result = asyncio.run(run(spec))
    result.update(pipeline=spec["pipeline"], workload=spec["workload"])
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
