"""``python -m btclib``: bounded runs, clean Ctrl+C, one clear line per error."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from btclib import cli
from btclib.steps.interrupts import signal_child

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
    # One box for both exchanges (the shared reason once), not one identical box each.
    assert done.stdout.count("SIMULATED DATA: BINANCE AND UPBIT ARE NOT LIVE") == 1
    assert "stopped: duration reached" in done.stdout
    kinds = {line.split(",")[0] for line in out.read_text().splitlines()}
    assert kinds == {"btcusdt@orderbook", "btcusdt@trade", "btckrw@orderbook"}
    assert re.search(r"lines/s", done.stderr)  # progress went to the terminal stream


def test_errors_while_running_end_with_one_clear_line_and_exit_1(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not a capture\n")
    done = btclib("record", "binance", "--replay", str(bad), "--out", str(tmp_path / "x.txt"))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("btclib: error:") and f"{bad}: empty or not JSON lines" in last
    assert "Traceback" not in done.stderr


def test_simulate_on_a_port_in_use_ends_with_one_clear_line_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = btclib("simulate", "--port", str(port))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("btclib: error:") and "address already in use" in last


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
    try:
        for line in proc.stderr:  # wait for the first progress line: data is flowing
            if "lines/s" in line and not line.lstrip().startswith("0 lines"):
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:  # a failed test leaves no recorder behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "stopped: interrupted." in stdout
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
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        base = re.search(r"ws://127\.0\.0\.1:\d+", first).group(0)
        async with connect(f"{base}/stream?streams=btcusdt@depth5/btcusdt@trade") as ws:
            frame = await asyncio.wait_for(ws.recv(), 10)
        assert frame.startswith('{"stream":"btcusdt@')
        signal_child(proc, signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:  # a failed test leaves no simulator behind (one ran on for 90 minutes)
        if proc.returncode is None:
            signal_child(proc)
            await proc.wait()


def test_simulate_refuses_a_bad_fault_spec():
    done = btclib("simulate", "--port", "0", "--malformed", "nonsense")
    assert done.returncode == 2 and "--malformed 'nonsense'" in done.stderr


# Every option that takes a value, with a bad value: (arguments, the option named, what was
# wrong). ``{folder}`` is a folder, ``{file}`` a file that exists, ``{missing}`` a path that
# does not exist, all in a fresh temporary folder.
BAD_ARGUMENTS = {
    "record": [
        (["record", "bitstamp"], "step", "invalid choice: 'bitstamp'"),
        (["record", "binance", "--publish", "http://x:4222"], "--publish", "is not a NATS URL"),
        (["record", "binance", "--publish", "nats://x:4222", "--stream", "a.b"], "--stream", "expected a name"),
        (["record", "binance", "--partition", "5/4"], "--partition", "K must be between 1 and N"),
        (["record", "binance", "--no-file"], "--no-file", "only with --publish"),
        (["record", "binance", "--duration", "abc"], "--duration", "expected a number above 0"),
        (["record", "binance", "--metrics", "9108"], "--metrics", "is not HOST:PORT"),
        (["record", "binance", "--metrics", "host.example:9108"], "--metrics", "not an IP address"),
        (["record", "binance", "--duration", "0"], "--duration", "above 0, got '0'"),
        (["record", "binance", "--duration", "-5"], "--duration", "above 0, got '-5'"),
        (["record", "binance", "--duration", "nan"], "--duration", "above 0, got 'nan'"),
        (["record", "binance", "--duration", "inf"], "--duration", "above 0, got 'inf'"),
        (["record", "binance", "--source", "cloud"], "--source", "invalid choice: 'cloud'"),
        (["record", "binance", "--out", "{folder}"], "--out", "is a folder, expected a file"),
        (["record", "binance", "--out", "{file}/x.txt"], "--out", "is not a folder"),
        (["record", "binance", "--out", ""], "--out", "expected a file path, got ''"),
        (
            ["record", "binance", "--out", "/proc/btclib/x.txt"],
            "--out",
            "cannot write '/proc/btclib/x.txt'",
        ),
        (["record", "binance", "--rotate", "weekly"], "--rotate", "'daily' or a size"),
        (["record", "binance", "--rotate", "1KB"], "--rotate", "size must be at least"),
        (["record", "binance", "--split", "symbol"], "--split", "invalid choice: 'symbol'"),
        (
            ["record", "binance", "--symbol", "btc-usdt"],
            "--symbol",
            "unknown Binance symbol format 'btc-usdt'",
        ),
        (
            ["record", "binance", "--symbol", "all", "--symbol", "eth/usdt"],
            "--symbol",
            "unknown Binance symbol format 'eth/usdt'",
        ),
        (["record", "binance", "--depth-speed", "10ms"], "--depth-speed", "invalid choice"),
        (
            ["record", "binance", "--binance-url", "https://stream.binance.com"],
            "--binance-url",
            "expected a ws:// or wss:// URL with a host",
        ),
        (["record", "binance", "--binance-url", "wss://"], "--binance-url", "URL with a host"),
        (["record", "binance", "--binance-url", "ws://h:99999"], "--binance-url", "URL with"),
        (
            ["record", "upbit", "--code", "KRW-BTC", "--code", "BTC"],
            "--code",
            "unknown Upbit market code format 'BTC'",
        ),
        (["record", "upbit", "--keepalive", "0"], "--keepalive", "above 0, got '0'"),
        (["record", "upbit", "--keepalive", "often"], "--keepalive", "above 0, got 'often'"),
        (["record", "upbit", "--upbit-url", "api.upbit.com"], "--upbit-url", "ws:// or wss://"),
        (
            ["record", "bithumb", "--bithumb-code", "BTC"],
            "--bithumb-code",
            "unknown Bithumb market code format 'BTC'",
        ),
        (["record", "bithumb", "--bithumb-keepalive", "0"], "--bithumb-keepalive", "above 0"),
        (["record", "bithumb", "--bithumb-url", "ws-api.bithumb.com"], "--bithumb-url", "wss://"),
        (["record", "both", "--capture", "{folder}"], "--capture", "is a folder"),
        (["record", "both", "--capture", "{file}/c.jsonl"], "--capture", "is not a folder"),
        (
            ["record", "both", "--out", "c.txt", "--capture", "folder/../c.txt"],
            "--capture",
            "'folder/../c.txt' is also the file of --out",
        ),
        (
            ["record", "both", "--capture", "{file}", "--replay", "{file}"],
            "--replay",
            "also the file of --capture",
        ),
        (["record", "both", "--replay", "{missing}"], "--replay", "no such file"),
        (["record", "both", "--replay", "{folder}"], "--replay", "not a file"),
        (["record", "both", "--speed", "0"], "--speed", "above 0 or 'max', got '0'"),
        (["record", "both", "--speed", "fast"], "--speed", "above 0 or 'max', got 'fast'"),
        (["record", "both", "--seed", "x1"], "--seed", "expected a whole number, got 'x1'"),
    ],
    "simulate": [
        (["simulate", "--port", "80000"], "--port", "from 1 to 65535 (0: any free port)"),
        (["simulate", "--port", "-1"], "--port", "from 1 to 65535"),
        (["simulate", "--port", "http"], "--port", "from 1 to 65535"),
        (["simulate", "--seed", "1.5"], "--seed", "expected a whole number, got '1.5'"),
        (["simulate", "--replay", "{missing}"], "--replay", "no such file"),
        (["simulate", "--speed", "-2"], "--speed", "above 0 or 'max', got '-2'"),
        (["simulate", "--speedup", "0"], "--speedup", "above 0, got '0'"),
        (["simulate", "--fault-exchange", "kraken"], "--fault-exchange", "invalid choice"),
        (["simulate", "--fault-connection", "-1"], "--fault-connection", "0 or more, got '-1'"),
        (["simulate", "--drop-after", "ten"], "--drop-after", "0 or more, got 'ten'"),
        (["simulate", "--drop-after-seconds", "0"], "--drop-after-seconds", "above 0"),
        (["simulate", "--stall-after", "-1"], "--stall-after", "0 or more, got '-1'"),
        (["simulate", "--stall-after", "1", "--stall-for", "0"], "--stall-for", "above 0"),
        (["simulate", "--stall-for", "2"], "--stall-for", "needs --stall-after"),
        (["simulate", "--stall-channel", "depth"], "--stall-channel", "needs --stall-after"),
        (["simulate", "--stall-after", "1", "--stall-channel", ""], "--stall-channel", "got ''"),
        (["simulate", "--refuse", "200"], "--refuse", "HTTP error status from 400 to 599"),
        (["simulate", "--refuse", "teapot"], "--refuse", "from 400 to 599, got 'teapot'"),
        (["simulate", "--malformed", "nonsense"], "--malformed 'nonsense'", "KIND in not_json"),
        (["simulate", "--malformed", "truncated:-1"], "--malformed", "AFTER a whole number"),
        (["simulate", "--malformed", "truncated:x"], "--malformed", "AFTER a whole number"),
        (["simulate", "--ping-interval", "0"], "--ping-interval", "above 0, got '0'"),
        (["simulate", "--pong-timeout", "soon"], "--pong-timeout", "above 0, got 'soon'"),
        (["simulate", "--lifetime", "-3"], "--lifetime", "above 0, got '-3'"),
        (["simulate", "--shutdown-notice", "-1"], "--shutdown-notice", "0 or more, got '-1'"),
        (["simulate", "--upbit-idle", "nan"], "--upbit-idle", "above 0, got 'nan'"),
    ],
    "bench": [
        (["bench", "--json", "{folder}"], "--json", "is a folder"),
        (["bench", "--json", "{file}/b.json"], "--json", "is not a folder"),
    ],
    "report": [
        (["report", "--timeout", "0"], "--timeout", "a whole number of seconds above 0"),
        (["report", "--timeout", "ten"], "--timeout", "got 'ten'"),
        (["report", "--to", "word"], "--to", "invalid choice: 'word'"),
        (["report", "--output-dir", "{file}"], "--output-dir", "is a file, expected a folder"),
        (["report", "--verify", "{file}"], "--verify", "is a file, expected a folder"),
        (["report", "--verify", "no-such-report"], "--verify", "'no-such-report' does not exist"),
    ],
    "soak": [
        (["soak", "--duration", "abc"], "--duration", "'abc' is not a number of seconds"),
        (["soak", "--duration", "0"], "--duration", "must be more than 0 seconds"),
        (["soak", "--duration", "nan"], "--duration", "must be more than 0 seconds"),
        (["soak", "--seed", "-1"], "--seed", "the seed must be 0 or more"),
        (["soak", "--seed", "one"], "--seed", "'one' is not a whole number"),
        (["soak", "--recorder", "java"], "--recorder", "invalid choice: 'java'"),
    ],
    "consume": [
        (["consume", "http://x:4222", "--out", "f.txt"], "urls", "is not a NATS URL"),
        (["consume", "nats://x:4222", "--out", "{folder}"], "--out", "is a folder, expected a file"),
        (["consume", "nats://x:4222", "--out", "f.txt", "--subject", "a..b"], "--subject", "expected a subject"),
        (["consume", "nats://x:4222", "--out", "f.txt", "--stream", "a.b"], "--stream", "expected a name"),
        (["consume", "nats://x:4222", "--out", "f.txt", "--durable", "a b"], "--durable", "expected a name"),
    ],
    "runs": [
        (["runs", "{missing}"], "FILE", "no such file"),
        (["runs", "{folder}"], "FILE", "is a folder, expected a data file"),
    ],
    "check": [
        (["check", "{missing}"], "FILE", "no such file"),
        (["check", "{folder}"], "FILE", "is a folder, expected a data file"),
        (["check", "{file}", "--capture", "{missing}"], "--capture", "no such file"),
    ],
}


def value_options(command: argparse.ArgumentParser) -> set[str]:
    """Every option of a subcommand that takes a value, and its positionals, as errors name them."""
    names = set()
    for action in command._actions:  # argparse keeps no public list of a parser's options
        if action.nargs == 0:  # flags: --help, --quick, --verbose
            continue
        names.add(max(action.option_strings, key=len) if action.option_strings else action.dest)
        if not action.option_strings and action.metavar:
            names.add(str(action.metavar))
    return names


def subcommands() -> dict[str, argparse.ArgumentParser]:
    [choices] = [a.choices for a in cli.parser()._actions if a.choices and a.dest == "command"]
    return dict(choices)


def test_every_option_of_every_subcommand_has_a_bad_value_tried():
    for name, command in subcommands().items():
        tried = {option.split()[0] for _, option, _ in BAD_ARGUMENTS.get(name, [])}
        untried = value_options(command) - tried - ({"file"} if name in ("runs", "check") else set())
        assert not untried, f"{name}: add a bad value of {sorted(untried)} to BAD_ARGUMENTS"


@pytest.mark.parametrize(
    ("argv", "option", "words"),
    [case for cases in BAD_ARGUMENTS.values() for case in cases],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_bad_argument_is_a_usage_error_naming_the_option_in_plain_words(
    argv: list[str],
    option: str,
    words: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    places = {"folder": "folder", "file": "file", "missing": "missing.jsonl"}
    argv = [arg.format(**places) for arg in argv]
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m btclib " + argv[0])
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"python -m btclib {argv[0]}: error: ")
    assert option in last and words in last, last
    assert "invalid _" not in last and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # nothing written


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--port", "80000"], "argument --port: expected a port number"),
        (["record", "binance", "--duration", "abc"], "argument --duration: expected a number"),
    ],
)
def test_the_command_reports_a_bad_argument_without_a_traceback(argv: list[str], message: str):
    done = btclib(*argv)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr.strip().splitlines()[-1]


def test_runs_lists_a_simulated_run_then_a_replay_of_its_capture(tmp_path: Path):
    data, capture = tmp_path / "data.txt", tmp_path / "cap.jsonl.gz"
    first = btclib("record", "binance", "--duration", "1.5", "--out", str(data),
                   "--capture", str(capture))  # fmt: skip
    assert first.returncode == 0, first.stderr
    simulated = data.read_bytes().count(b"\n")
    second = btclib("record", "binance", "--replay", str(capture), "--out", str(data))
    assert second.returncode == 0, second.stderr
    total = data.read_bytes().count(b"\n")
    assert total == 2 * simulated  # the replay wrote the same lines again

    done = btclib("runs", str(data))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{data}: 2 runs"
    [run1, run2] = [line for line in lines if line.startswith("run ")]
    assert f"lines 1-{simulated} ({simulated} lines), stopped: duration reached" in run1
    assert f"lines {simulated + 1}-{total} ({simulated} lines), stopped: source ended" in run2
    assert "  binance: simulator (source 'sim' was chosen)" in lines
    assert f"  binance: simulator replay (replaying capture {capture})" in lines
    assert sum("simulator seed" in line for line in lines) == 1  # the replay has no seed


def test_runs_of_a_file_without_events_log_says_so(tmp_path: Path):
    data = tmp_path / "data.txt"
    data.write_text("btcusdt@trade, p:1,q:1\n")
    done = btclib("runs", str(data))
    assert done.returncode == 0
    assert done.stdout.strip() == f"no runs recorded in {tmp_path / 'data.events.jsonl'}"


def test_soak_runs_from_the_command_line_and_ends_with_its_verdict_line(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "btclib", "soak", "--duration", "2", "--seed", "5"],
        capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("soak: seed 5, 2 s, recorder python (reproduce: python -m btclib soak")
    verdict = re.fullmatch(
        r"soak: (\d+) faults, (\d+) data messages sent while connected, (\d+) written, "
        r"(\d+) lost, (\d+) duplicated, (\d+) torn",
        lines[-1],
    )
    assert verdict, lines[-1]
    lost, duplicated, torn = (int(n) for n in verdict.groups()[3:])
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    assert done.returncode == 1 or lost == duplicated == torn == 0
    assert list(tmp_path.iterdir()) == []  # it works in a temporary folder of its own


def test_record_split_by_market_writes_a_file_per_market_that_runs_lists(tmp_path: Path):
    base = tmp_path / "set.txt"
    done = btclib("record", "both", "--duration", "1.5", "--split", "market", "--out", str(base))
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in tmp_path.glob("set.*.txt"))
    assert files == ["set.btckrw.txt", "set.btcusdt.txt"]
    assert all(
        line.startswith(name.split(".")[1] + "@")
        for name in files
        for line in (tmp_path / name).read_text().splitlines()
    )
    listing = btclib("runs", str(base))
    assert listing.returncode == 0 and "run 1: " in listing.stdout and "2 files" in listing.stdout
