"""``python -m btclib``: bounded runs, clean Ctrl+C, one clear line per error."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

ENV = {**os.environ, "BTCLIB_SOURCE": "sim"}


def btclib(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btclib", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def test_record_both_for_a_bounded_time_writes_all_three_kinds_and_says_simulated(tmp_path: Path):
    out = tmp_path / "multi.txt"
    done = btclib("record", "both", "--duration", "2.5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "SIMULATED DATA: BINANCE IS NOT LIVE" in done.stdout
    assert "SIMULATED DATA: UPBIT IS NOT LIVE" in done.stdout
    assert "stopped: duration reached" in done.stdout
    kinds = {line.split(",")[0] for line in out.read_text().splitlines()}
    assert kinds == {"btcusdt@orderbook", "btcusdt@trade", "btckrw@orderbook"}
    assert re.search(r"lines/s", done.stderr)  # progress went to the terminal stream


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["record", "binance", "--symbol", "btc-usdt", "--duration", "1"],
            "unknown Binance symbol format 'btc-usdt'",
        ),
        (
            ["record", "upbit", "--code", "BTC", "--duration", "1"],
            "unknown Upbit market code format 'BTC'",
        ),
        (
            ["record", "binance", "--duration", "1", "--out", "/proc/btclib/x.txt"],
            "cannot write /proc/btclib/x.txt",
        ),
    ],
)
def test_errors_end_with_one_clear_line_and_exit_1(args: list[str], message: str):
    done = btclib(*args)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("btclib: error:") and message in last


def test_ctrl_c_stops_cleanly_with_a_summary_and_whole_lines(tmp_path: Path):
    out = tmp_path / "a.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "btclib", "record", "binance", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait for the first progress line: data is flowing
        if "lines/s" in line and not line.lstrip().startswith("0 lines"):
            break
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "stopped: stopped" in stdout or "stopped:" in stdout
    data = out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") >= 1


async def test_simulate_serves_any_websocket_client_until_ctrl_c():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "btclib",
        "simulate",
        "--port",
        "0",
        "--speedup",
        "20",
        stdout=asyncio.subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    base = re.search(r"ws://127\.0\.0\.1:\d+", first).group(0)
    async with connect(f"{base}/stream?streams=btcusdt@depth5/btcusdt@trade") as ws:
        frame = await asyncio.wait_for(ws.recv(), 10)
    assert frame.startswith('{"stream":"btcusdt@')
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 10) == 0


def test_simulate_refuses_a_bad_fault_spec():
    done = btclib("simulate", "--port", "0", "--malformed", "nonsense")
    assert done.returncode == 2 and "--malformed 'nonsense'" in done.stderr
