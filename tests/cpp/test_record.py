"""btcrec records Steps A, B and C from btclib's simulator: every data message the simulator
sent is one line, byte for byte, in order; a replayed capture gives btclib's own file."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from btclib import record
from btclib.simulator import SimConfig, Simulator
from btclib.steps.interrupts import signal_child

from .conftest import FAST, PREFIX, btcrec_path, record_against_sim, start


@pytest.mark.parametrize("step", ["binance", "upbit", "both"])
async def test_a_clean_run_writes_every_message_sent_once_in_order(tmp_path: Path, step: str):
    run = await record_against_sim(
        tmp_path,
        step,
        SimConfig(seed=5, speedup=20, record_sent=True),
        until=lambda p, sim: len(p.lines()) >= 150,
    )
    exchanges = ["binance", "upbit"] if step == "both" else [step]
    for exchange in exchanges:
        assert run.lines_of(exchange) == run.expected(exchange)
        assert run.expected(exchange)
    assert len(run.lines) == len(run.sim.sent)  # nothing but those lines, no torn line
    assert run.summary["total"] == len(run.lines)
    assert run.summary["connections"] == len(exchanges)
    assert run.summary["bad_frames"] == 0 and run.summary["unexpected"] == 0
    # SIGINT ended it: exit 130, whole lines, the summary printed.
    assert run.code == 130 and run.summary["stopped"] == "interrupted"
    assert "lines" in run.stdout and "stopped: interrupted" in run.stdout


async def test_binance_streams_share_one_connection_and_100ms_books_are_recorded(tmp_path: Path):
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=6, speedup=5, record_sent=True),
        "--depth-speed",
        "100ms",
        until=lambda p, sim: len(p.lines()) >= 60,
    )
    assert len(run.sim.connections) == 1  # depth5 and trade on ONE connection
    assert run.lines == run.expected("binance")
    assert any(line.startswith(b"btcusdt@orderbook,bids:") for line in run.lines)
    assert any(line.startswith(b"btcusdt@trade, p:") for line in run.lines)


async def test_a_second_sigint_while_btcrec_stops_changes_nothing(tmp_path: Path):
    # btclib's record_cpp forwards the SIGINT the whole process group already gave btcrec
    # (Ctrl+C, Kernel > Interrupt), so a second one lands while btcrec stops. One landing in
    # its last instants (its signal_set gone) killed it: exit -2 for 3 of 8 runs at 1-3 ms.
    for i, gap in enumerate([0.0, 0.001, 0.002, 0.003, 0.005] * 2):
        async with Simulator(SimConfig(seed=8, speedup=20)) as sim:
            process = await start(tmp_path, "binance", sim, name=f"run{i}")
            await process.wait_for(lambda p=process: len(p.lines()) >= 3)  # type: ignore[misc]
            signal_child(process.proc, signal.SIGINT)
            await asyncio.sleep(gap)  # the spacing of the two signals is what is tried
            signal_child(process.proc, signal.SIGINT)  # a no-op once btcrec ended
            code = await process.finish(timeout=15)
        assert code == 130, f"second SIGINT {gap} s after the first: exit {code}"
        assert json.loads(process.summary_path.read_text())["stopped"] == "interrupted"


async def test_the_duration_ends_the_run_with_whole_lines_and_a_summary(tmp_path: Path):
    async with Simulator(SimConfig(seed=7, speedup=20)) as sim:
        process = await start(tmp_path, "both", sim, "--duration", "1.5")
        code = await process.finish(timeout=15)
    assert code == 0
    data = process.out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") > 20
    summary = process.summary()
    assert summary["stopped"] == "duration reached" and 1.4 < summary["elapsed"] < 5
    assert summary["total"] == data.count(b"\n")
    assert "btcusdt@trade" in process.stdout and "btckrw@orderbook" in process.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["record"], "the step is required"),
        (["record", "kraken"], "invalid step 'kraken'"),
        (["record", "binance", "--duration", "-1"], "--duration: expected a positive number"),
        (["record", "binance", "--depth-speed", "10ms"], "--depth-speed: invalid choice"),
        (["record", "upbit", "--code", "KRW_BTC"], "unknown Upbit market code format"),
        (["record", "binance", "--symbol", "btc-usdt"], "unknown Binance symbol format"),
        (["record", "upbit", "--keepalive", "45"], "at most 30 s for Upbit"),
        (["record", "binance", "--binance-url", "http://x"], "is not a ws:// or wss:// URL"),
        (["record", "binance", "--bogus", "1"], "unrecognized argument '--bogus'"),
        (["fly"], "unknown command 'fly'"),
    ],
)
def test_bad_arguments_say_what_is_wrong_and_exit_2(tmp_path: Path, args: list[str], words: str):
    done = subprocess.run(
        [str(btcrec_path()), *args], capture_output=True, text=True, timeout=10, cwd=tmp_path
    )
    assert done.returncode == 2
    assert words in done.stderr and "usage: btcrec record" in done.stderr
    assert not (tmp_path / "outputs").exists()  # nothing written, nothing connected


async def replay_with_btcrec(tmp_path: Path, step: str, capture: Path) -> bytes:
    """Serve ``capture`` at full speed to btcrec; its file once the replay closed."""
    feeds = 2 if step == "both" else 1
    async with Simulator(SimConfig(replay=capture, replay_speed="max")) as sim:
        process = await start(tmp_path, step, sim, name="btcrec")
        await process.said("replay finished", times=feeds, timeout=30)
        signal_child(process.proc, signal.SIGINT)
        assert await process.finish() == 130
    return process.out.read_bytes()


@pytest.mark.parametrize("step", ["binance", "upbit", "both"])
async def test_a_replayed_capture_gives_the_python_recorders_file_byte_for_byte(
    tmp_path: Path, step: str
):
    capture, original = tmp_path / "capture.jsonl", tmp_path / "python.txt"
    said: list[str] = []
    await record(
        step,
        duration=2.0,
        source="sim",
        seed=9,
        sim_options={"speedup": 10},
        capture=capture,
        out=original,
        progress=None,
        announce=said.append,
    )
    python_lines = original.read_bytes()
    ours = await replay_with_btcrec(tmp_path, step, capture)
    exchanges = ["binance", "upbit"] if step == "both" else [step]
    for exchange in exchanges:
        mine = [x for x in ours.splitlines(keepends=True) if x.startswith(PREFIX[exchange])]
        theirs = [
            x for x in python_lines.splitlines(keepends=True) if x.startswith(PREFIX[exchange])
        ]
        assert theirs and mine == theirs
    if step != "both":
        assert ours == python_lines


async def test_the_shipped_real_frame_capture_gives_the_hand_written_lines(tmp_path: Path):
    data = Path(__file__).resolve().parents[1] / "data"
    ours = await replay_with_btcrec(tmp_path, "both", data / "real-frames.jsonl")
    expected = (data / "real-frames.expected.txt").read_bytes()
    for prefix in PREFIX.values():
        mine = [x for x in ours.splitlines(keepends=True) if x.startswith(prefix)]
        theirs = [x for x in expected.splitlines(keepends=True) if x.startswith(prefix)]
        assert theirs and mine == theirs


def test_the_binary_exists_when_the_tests_run_on_ci():
    btcrec_path()  # skips here without a build, fails on CI


def test_an_exchange_that_never_connected_is_named_with_why_and_the_run_exits_1(tmp_path: Path):
    with socket.socket() as probe:  # a free port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [
            str(btcrec_path()), "record", "binance", "--duration", "1",
            "--out", str(tmp_path / "data.txt"), "--summary-json", str(summary),
            "--binance-url", f"ws://127.0.0.1:{port}", *FAST,
        ],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    [problem] = json.loads(summary.read_text())["problems"]
    assert re.fullmatch(
        rf"binance: \d+ connection attempts? failed \(connection to 127\.0\.0\.1 port {port} "
        r"refused\); never connected",
        problem,
    ), problem
    assert f"FAILED: {problem}" in done.stdout and problem in done.stderr
