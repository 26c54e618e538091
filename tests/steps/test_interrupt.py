"""An interrupt ends a recording cleanly; a cancellation stays a cancellation.

Kernel > Interrupt in JupyterLab sends SIGINT to the kernel, whose handler
cancels the running cell: ``summary = await btclib.record(...)`` ended in a
``CancelledError`` traceback with ``summary`` unbound. Now the first SIGINT
stops the recording the way the command line's Ctrl+C does and the call
returns the summary (``stopped: interrupted``). Proved with a real kernel
(jupyter_client), as a student meets it, and in-process for the details.
A cancellation by the caller (``asyncio.wait_for``'s timeout, ``task.cancel()``)
still propagates, after the recorder closed its files.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from btclib import Progress, record
from btclib.steps.steps import events_path, interrupt_stops

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]


def events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in events_path(out).read_text().splitlines()]


def ends_whole(out: Path) -> bool:
    data = out.read_bytes()
    return bool(data) and data.endswith(b"\n")


# -- a real kernel, interrupted as JupyterLab does it -----------------------------------------


class Kernel:
    """A python3 kernel (this interpreter's ipykernel) and its iopub output, per request."""

    def __init__(self, cwd: Path, stderr: Path) -> None:
        from jupyter_client import KernelManager

        self.manager = KernelManager(kernel_name="python3")
        self._stderr = stderr.open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BTCLIB_SOURCE": "sim"}
        self.manager.start_kernel(cwd=str(cwd), env=env, stderr=self._stderr)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def execute(self, code: str) -> str:
        return self.client.execute(code, store_history=False)

    def messages(self, msg_id: str, deadline: float, until: str = "idle") -> list[dict[str, Any]]:
        """The iopub messages of one request, up to its ``idle`` status (or ``execute_input``)."""
        got = []
        while time.monotonic() < deadline:
            try:
                msg = self.client.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            got.append(msg)
            if msg["msg_type"] == until or (
                msg["msg_type"] == "status" and msg["content"]["execution_state"] == until
            ):
                return got
        raise AssertionError(f"no {until!r} within the deadline; so far: {got}")

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)
        self._stderr.close()


def text_of(messages: list[dict[str, Any]]) -> str:
    """What the cell shows as text: its stream output, in order."""
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def errors_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["content"] for m in messages if m["msg_type"] == "error"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT interrupts are POSIX")
def test_kernel_interrupt_stops_the_recording_and_binds_the_summary(tmp_path: Path):
    out = tmp_path / "stream-data-binance.txt"
    kernel = Kernel(tmp_path, tmp_path / "kernel-stderr.txt")
    output = ""
    deadline = time.monotonic() + 90
    try:
        cell = kernel.execute(
            "import btclib\n"
            f"summary = await btclib.record('binance', duration=60, source='sim', out={str(out)!r})\n"
            "print()\n"
            "print(summary.text())\n"
        )
        while not (out.exists() and out.read_bytes().count(b"\n") >= 5):  # lines are flowing
            assert time.monotonic() < deadline, "the recording never wrote a line"
            time.sleep(0.05)
        interrupted_at = time.monotonic()
        kernel.manager.interrupt_kernel()
        shown = kernel.messages(cell, deadline)
        assert time.monotonic() - interrupted_at < 15  # stopped, not run to its 60 s
        output = text_of(shown)
        print(output)  # what the student sees (pytest -s shows it)
        assert errors_of(shown) == []  # no red traceback
        assert "CancelledError" not in output and "Traceback" not in output
        assert "Interrupted: the recording stopped cleanly" in output
        assert "stopped: interrupted." in output

        after = kernel.execute("import gc; gc.collect(); print(summary.stopped, summary.total)")
        shown = kernel.messages(after, deadline)
        assert errors_of(shown) == []
        stopped, total = text_of(shown).split()
        assert stopped == "interrupted"
        lines = out.read_bytes().splitlines(keepends=True)
        assert int(total) == len(lines) > 0
        assert ends_whole(out)
        assert events(out)[-1]["event"] == "stop"
        assert events(out)[-1]["stopped"] == "interrupted"

        # The kernel is still usable, and a later interrupt interrupts an ordinary cell again.
        again = kernel.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(30)")
        # Interrupt once the cell's code runs (an interrupt between execute_input and
        # the code's first line may be lost by the kernel: the test's race, not ours).
        kernel.messages(again, deadline, until="stream")
        kernel.manager.interrupt_kernel()
        shown = kernel.messages(again, deadline)
        assert [e["ename"] for e in errors_of(shown)] == ["KeyboardInterrupt"]
    finally:
        kernel.close()
    noise = (tmp_path / "kernel-stderr.txt").read_text(errors="replace") + output
    for warning in ("Task was destroyed but it is pending", "never retrieved", "never awaited"):
        assert warning not in noise


# -- the same in-process: SIGINT stops, a second one falls through ----------------------------


async def record_until_lines(out: Path, **kwargs: Any) -> tuple[asyncio.Task[Any], list[str]]:
    """Start a simulated recording; return once it has written lines."""
    said: list[str] = []
    writing = asyncio.Event()

    def progress(p: Progress) -> None:
        if p.lines:
            writing.set()

    task = asyncio.create_task(
        record(
            "binance",
            duration=60,
            source="sim",
            out=out,
            progress=progress,
            announce=said.append,
            options=None,
            **kwargs,
        )
    )
    await asyncio.wait_for(writing.wait(), 30)
    return task, said


async def test_sigint_stops_the_recording_and_returns_the_summary(tmp_path: Path):
    out = tmp_path / "b.txt"
    before = signal.getsignal(signal.SIGINT)
    task, said = await record_until_lines(out)
    assert signal.getsignal(signal.SIGINT) is not before  # taken by the recording
    signal.raise_signal(signal.SIGINT)
    summary = await asyncio.wait_for(task, 15)
    assert summary.stopped == "interrupted" and summary.total > 0
    assert "stopped: interrupted." in summary.text()
    assert any(text.startswith("Interrupted: the recording stopped cleanly") for text in said)
    assert summary.total == len(out.read_bytes().splitlines()) and ends_whole(out)
    assert events(out)[-1]["stopped"] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before  # given back


async def test_a_second_interrupt_goes_to_the_previous_handler():
    calls: list[int] = []
    stop = asyncio.Event()
    before = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with interrupt_stops(stop):
            signal.raise_signal(signal.SIGINT)
            await asyncio.wait_for(stop.wait(), 5)
            assert calls == []
            signal.raise_signal(signal.SIGINT)
            assert calls == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, before)


async def test_a_caller_with_its_own_stop_event_keeps_its_signals(tmp_path: Path):
    before = signal.getsignal(signal.SIGINT)
    stop = asyncio.Event()
    task, _ = await record_until_lines(tmp_path / "b.txt", stop=stop)
    assert signal.getsignal(signal.SIGINT) is before
    stop.set()
    assert (await asyncio.wait_for(task, 15)).stopped == "stopped"


# -- cancellations stay cancellations ---------------------------------------------------------


async def test_a_timeout_around_the_call_stays_a_timeout_and_the_file_ends_whole(tmp_path: Path):
    out = tmp_path / "b.txt"
    task, _ = await record_until_lines(out)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(task, 0.5)
    assert ends_whole(out)
    assert events(out)[-1]["stopped"] == "cancelled"


async def test_cancelling_the_task_cancels_it_and_the_file_ends_whole(tmp_path: Path):
    out = tmp_path / "b.txt"
    before = signal.getsignal(signal.SIGINT)
    task, _ = await record_until_lines(out)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert ends_whole(out)
    assert events(out)[-1]["stopped"] == "cancelled"
    assert signal.getsignal(signal.SIGINT) is before


# -- Step E: btcrec, interrupted from a kernel as the Python recorder is ----------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT interrupts are POSIX")
def test_kernel_interrupt_stops_btcrec_cleanly_and_binds_its_run(tmp_path: Path):
    from btclib.tools.btcrec import BINARY

    if not BINARY.is_file():
        pytest.skip(f"{BINARY} is not built (make cpp)")
    out = tmp_path / "stream-data-multi-cpp.txt"
    kernel = Kernel(tmp_path, tmp_path / "kernel-stderr.txt")
    deadline = time.monotonic() + 120
    try:
        cell = kernel.execute(
            "from btclib import notebook\n"
            f"run = await notebook.record_cpp('both', duration=60, source='sim', out={str(out)!r})\n"
            "print(run.text())\n"
        )
        while not (out.exists() and out.read_bytes().count(b"\n") >= 5):  # btcrec is writing
            assert time.monotonic() < deadline, "btcrec never wrote a line"
            time.sleep(0.05)
        interrupted_at = time.monotonic()
        kernel.manager.interrupt_kernel()
        shown = kernel.messages(cell, deadline)
        assert time.monotonic() - interrupted_at < 20  # stopped, not run to its 60 s
        output = text_of(shown)
        print(output)
        assert errors_of(shown) == []  # no red CancelledError traceback
        assert "Traceback" not in output and "CancelledError" not in output
        assert "Interrupted: btcrec stopped cleanly" in output

        after = kernel.execute(
            "check = notebook.check_run(run)\n"
            "print(run.stopped, run.total, run.exit_code)\n"
        )
        shown = kernel.messages(after, deadline)
        assert errors_of(shown) == []  # the self-check holds: the counts agree with the file
        stopped, total, exit_code = text_of(shown).split()
        assert stopped == "interrupted" and int(exit_code) in (0, 130)
        assert int(total) == out.read_bytes().count(b"\n") > 0
        assert ends_whole(out)
    finally:
        kernel.close()
