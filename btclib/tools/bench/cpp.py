"""The C++ twin in the benchmark: ``python -m btclib.tools.bench.cpp '<json spec>'``.

Runs ``cpp/build/btcrec record <workload>`` against the same flood server as the
Python pipelines (``n`` frames per connection, then the server closes), writing a real
file in the run's temporary folder. Throughput is timed from btcrec's first
``connected`` line on stderr to its last ``closed:`` line (every connection of the
workload closed: all frames read and handed to the writer); btcrec is then stopped
with SIGINT, which flushes and prints its summary. CPU time and peak RSS are the
child's own (``getrusage(RUSAGE_CHILDREN)``, taken in this otherwise idle process).
The last line printed is a JSON object, as for :mod:`btclib.tools.bench.client`.

``{"pipeline": "server-ceiling", ...}`` measures the flood server instead
(:func:`server_ceiling`): the frames/s it sends to a client that only drains, so a
run shows whether btcrec or the server is the bound.

``python -m btclib.tools.bench.cpp compare BEFORE AFTER [--workload W] [--frames N]
[--rounds R]`` alternates two builds on one flood server (:func:`compare`).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import frames as fr

__all__ = ["BINARY", "compare", "main", "run", "server_ceiling"]

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


def server_ceiling(spec: dict[str, Any]) -> dict[str, Any]:
    """The flood server's own send ceiling: a client that only drains the socket.

    It opens the workload's Binance stream (``n`` frames, then a close frame), reads into
    one 1 MiB buffer and looks at nothing but the last bytes (for the close frame): no
    framing, no parsing, no file. Measured in the same run as btcrec, it says whether
    btcrec or the server is the bound. Timed from the first byte after the upgrade to the
    close frame.
    """
    n = spec["n"]
    path = f"/n={n}/stream?streams=btcusdt@depth5/btcusdt@trade"
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    close = fr.close_frame(1000)
    with socket.create_connection(("127.0.0.1", spec["port"]), timeout=60) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                return {"error": "the flood server closed during the upgrade"}
            head += chunk
        rest = head.split(b"\r\n\r\n", 1)[1]
        buffer = bytearray(1 << 20)
        tail = rest[-len(close) :]
        started = cpu = None
        while not tail.endswith(close):
            got = sock.recv_into(buffer)
            if not got:
                return {"error": "the flood server closed before its close frame"}
            if started is None:
                started, cpu = time.perf_counter(), time.process_time()
            tail = (tail + buffer[max(0, got - len(close)) : got])[-len(close) :]
        seconds = time.perf_counter() - (started or time.perf_counter())
        used = time.process_time() - (cpu or time.process_time())
        sock.sendall(_masked_close())
    return {
        "frames": n,
        "seconds": seconds,
        "fps": n / seconds if seconds > 0 else 0.0,
        "cpu_us_per_frame": used / n * 1e6,
    }


def _masked_close() -> bytes:
    """The client's answer to the server's close frame (masked, as RFC 6455 wants)."""
    payload = (1000).to_bytes(2, "big")
    mask = os.urandom(4)
    return (
        bytes([0x88, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


def compare(
    binaries: list[Path], workload: str = "binance", n: int = 2_000_000, rounds: int = 6
) -> dict[str, Any]:
    """Binaries (before/after builds) on one flood server, alternating (A B, B A, ...), each run
    in a fresh process, with the server's own ceiling each round for Binance; medians and
    spreads (min, max) of frames/s and CPU per frame. How cpp/README.md's table was made."""
    from .harness import FloodServer, child

    server = FloodServer(max_seconds=3600)
    runs: dict[str, list[dict[str, Any]]] = {str(b): [] for b in binaries}
    ceilings: list[dict[str, Any]] = []
    try:
        base = {"module": "btclib.tools.bench.cpp", "port": server.port, "n": n}
        for r in range(rounds):
            for binary in binaries if r % 2 == 0 else binaries[::-1]:
                out = child({**base, "workload": workload, "binary": str(binary)})
                runs[str(binary)].append(out)
                print(f"round {r}: {binary}: {out}", file=sys.stderr, flush=True)
            if workload == "binance":
                ceilings.append(child({**base, "pipeline": "server-ceiling"}))
                print(f"round {r}: server ceiling: {ceilings[-1]}", file=sys.stderr, flush=True)
    finally:
        server.close()

    def spread(outs: list[dict[str, Any]], key: str) -> dict[str, float] | None:
        values = [o[key] for o in outs if o.get(key) is not None]
        if not values:
            return None
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    result = {
        name: {"fps": spread(outs, "fps"), "cpu_us_per_frame": spread(outs, "cpu_us_per_frame")}
        for name, outs in runs.items()
    }
    if ceilings:
        result["server ceiling"] = {"fps": spread(ceilings, "fps")}
    return result


def main() -> None:
    if sys.argv[1:2] == ["compare"]:
        import argparse

        parser = argparse.ArgumentParser(prog="python -m btclib.tools.bench.cpp compare")
        parser.add_argument("binaries", nargs="+", type=Path)
        parser.add_argument("--workload", default="binance", choices=("binance", "upbit", "both"))
        parser.add_argument("--frames", type=int, default=2_000_000)
        parser.add_argument("--rounds", type=int, default=6)
        args = parser.parse_args(sys.argv[2:])
        print(json.dumps(compare(args.binaries, args.workload, args.frames, args.rounds), indent=1))
        return
    spec = json.loads(sys.argv[1])
    if "binary" in spec:
        print(json.dumps(run(spec, Path(spec["binary"]))))
        sys.stdout.flush()
        os._exit(0)
    measure = server_ceiling if spec.get("pipeline") == "server-ceiling" else run
    print(json.dumps(measure(spec)))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
