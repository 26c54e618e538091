"""Ctrl+C and SIGTERM stop a recording cleanly, also where the event loop has no
``add_signal_handler`` (Windows): btclib/steps/interrupts.py, through the API and the
command line, each line whole."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btclib.files.eventlog import events_path
from btclib.steps import interrupts

from ..windows import child, whole_lines


@pytest.fixture
def sigint_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


async def test_stop_handlers_use_the_loops_own_where_it_has_them(sigint_restored: None):
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    previous = signal.getsignal(signal.SIGINT)
    restore = interrupts.install_stop_handlers(loop, stop)
    signal.raise_signal(signal.SIGINT)
    await asyncio.wait_for(stop.wait(), 10)
    restore()
    assert signal.getsignal(signal.SIGINT) is previous


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_stop_handlers_fall_back_to_signal_signal_without_add_signal_handler(
    monkeypatch: pytest.MonkeyPatch, sigint_restored: None, signum: signal.Signals
):
    loop, stop = asyncio.get_running_loop(), asyncio.Event()

    def missing(*args: Any) -> None:
        raise NotImplementedError

    def not_to_be_called(*args: Any) -> None:
        raise AssertionError("remove_signal_handler for a handler it never installed")

    monkeypatch.setattr(loop, "add_signal_handler", missing)
    monkeypatch.setattr(loop, "remove_signal_handler", not_to_be_called)
    previous = signal.getsignal(signum)
    restore = interrupts.install_stop_handlers(loop, stop)
    assert signal.getsignal(signum) is not previous
    # Sent from another thread while the loop sleeps in select(): the handler must wake it.
    loop.call_soon(threading.Thread(target=os.kill, args=(os.getpid(), signum)).start)
    await asyncio.wait_for(stop.wait(), 10)
    restore()
    assert signal.getsignal(signum) is previous


def wait_for_lines(path: Path, lines: int, proc: subprocess.Popen[str], timeout: float) -> None:
    """Until ``path`` holds ``lines`` lines (the child writes them; nothing to await here)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_bytes().count(b"\n") >= lines):
        if proc.poll() is not None:
            raise AssertionError(f"the recorder ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, f"no {lines} lines in {path} after {timeout} s"
        time.sleep(0.05)


def check_stopped_cleanly(proc: subprocess.Popen[str], data: Path) -> str:
    """SIGINT to a recorder child: it must exit 0 with every line of both files whole."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    whole_lines(data.read_bytes())
    records = [json.loads(line) for line in whole_lines(events_path(data).read_bytes())]
    assert records[-1]["event"] == "stop", records[-1]
    return out


def test_the_recorder_stops_on_ctrl_c_and_keeps_lines_whole_as_on_windows(tmp_path: Path):
    data = tmp_path / "stream-data-multi.txt"
    script = """
        import asyncio, sys
        from tests.windows import ForGood, pretend_windows
        pretend_windows(ForGood())
        from btclib.steps.interrupts import install_stop_handlers
        from btclib.steps import record

        async def main():
            stop = asyncio.Event()
            restore = install_stop_handlers(asyncio.get_running_loop(), stop)
            try:
                summary = await record(
                    "both", duration=None, source="sim", out=sys.argv[1], progress=None,
                    stop=stop, announce=lambda text: None,
                )
            finally:
                restore()
            print("lines", sum(summary.lines.values()), flush=True)

        asyncio.run(main())
    """
    proc = child(script, str(data))
    try:
        wait_for_lines(data, 50, proc, timeout=60)
        second = child(script, str(data))  # a second recorder on the same file
        out, err = second.communicate(timeout=60)
        assert second.returncode != 0 and "another btclib recorder" in err, (out, err)
    finally:
        if proc.poll() is None:
            out = check_stopped_cleanly(proc, data)
    assert out == f"lines {len(whole_lines(data.read_bytes()))}\n"  # each one whole, none lost


def test_the_command_line_stops_on_ctrl_c_without_add_signal_handler(tmp_path: Path):
    data = tmp_path / "stream-data-binance.txt"
    script = """
        import sys
        from tests.windows import ForGood, pretend_windows
        pretend_windows(ForGood())
        from btclib.cli import main
        sys.exit(main(["record", "binance", "--source", "sim", "--out", sys.argv[1]]))
    """
    proc = child(script, str(data))
    try:
        wait_for_lines(data, 20, proc, timeout=60)
    finally:
        if proc.poll() is None:
            check_stopped_cleanly(proc, data)
        else:
            pytest.fail(f"the command line ended before Ctrl+C: {proc.communicate()}")


# -- signalling a child that may just have ended -------------------------------------


@contextlib.contextmanager
def reaped_by_the_loop() -> Iterator[None]:
    """A child watcher that reaps only when the loop handles SIGCHLD, so a test decides what
    runs between a child's exit and its reaping (the default watcher reaps from a thread at
    once, and the race below is then a matter of luck)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the watcher API, 3.12-3.13
        watcher = asyncio.SafeChildWatcher()
        before = asyncio.get_child_watcher()
        watcher.attach_loop(asyncio.get_running_loop())
        asyncio.set_child_watcher(watcher)
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(before)
            watcher.close()


@pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(asyncio, "SafeChildWatcher"),
    reason="asyncio's child watchers: POSIX, Python 3.13 at the latest",
)
async def test_a_signal_to_a_child_that_just_ended_leaves_its_exit_status_intact():
    # btclib forwards Ctrl+C to btcrec, which often ended on the group's SIGINT already.
    # proc.send_signal would poll, reap the child behind asyncio and make its status 255.
    with reaped_by_the_loop():
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "raise SystemExit(7)")
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
        interrupts.signal_child(proc, signal.SIGINT)
        interrupts.signal_child(proc)  # a kill as well: nothing for an ended child
        assert await asyncio.wait_for(proc.wait(), 10) == 7
