"""Run btcrec (cpp/build/btcrec, the C++ twin) against btclib's simulator.

btcrec runs as a subprocess with the simulator's URLs and short timings; it writes its
summary as JSON (``--summary-json``) and its events on stderr. A run ends the way the Python
tests end theirs: once the condition holds, the simulator stops (it closes every connection
after the frames it sent), btcrec is seen to read each connection to its close, and then
SIGINT ends it; so every frame in ``sim.sent`` had its chance. Expected lines come from
``tests.conftest.expected_line``, computed without btclib's parsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from btclib.simulator import SimConfig, Simulator
from btclib.steps.interrupts import signal_child

from ..conftest import expected_line

ROOT = Path(__file__).resolve().parents[2]
BTCREC = ROOT / "cpp" / "build" / "btcrec"
PREFIX = {"binance": b"btcusdt@", "upbit": b"btckrw@"}
FAST = [
    "--backoff-base", "0.05", "--backoff-cap", "0.2", "--check-interval", "0.05",
    "--overlap-max", "2",
]  # fmt: skip
"""The Python tests' FAST recorder options, in btcrec's words."""

_SAID = re.compile(r"^btcrec: (?P<exchange>\w+) #(?P<conn>\d+): (?P<text>.*)$")
_REPLACES = re.compile(r"^rotated: #\d+ replaces #(?P<old>\d+)")


def btcrec_path() -> Path:
    """The binary; a missing one skips the tests here, but fails them on CI (CI=true)."""
    if not os.access(BTCREC, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{BTCREC} is missing on CI: `make cpp` must build it before the tests")
        pytest.skip(f"{BTCREC} is not built: run `make cpp` (g++, cmake, Boost, OpenSSL)")
    return BTCREC


@pytest.fixture
def btcrec() -> Path:
    return btcrec_path()


@dataclass
class Process:
    """A running btcrec and what it said so far."""

    proc: asyncio.subprocess.Process
    out: Path
    summary_path: Path
    stderr: list[str] = field(default_factory=list)
    stdout: str = ""
    _reader: asyncio.Task[None] | None = None
    _said: asyncio.Event = field(default_factory=asyncio.Event)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr.append(line.decode("utf-8", "replace"))
            self._said.set()

    async def said(self, text: str, times: int = 1, after: int = 0, timeout: float = 5.0) -> None:
        """Wait until stderr lines from index ``after`` on contain ``text`` ``times`` times."""

        async def wait() -> None:
            while sum(text in line for line in self.stderr[after:]) < times:
                self._said.clear()
                if self.proc.returncode is not None and self._reader and self._reader.done():
                    raise AssertionError(f"btcrec ended before saying {text!r}: {self.stderr}")
                await self._said.wait()

        await asyncio.wait_for(wait(), timeout)

    async def event(self, timeout: float) -> None:
        """Return at btcrec's next stderr line, or after ``timeout`` seconds."""
        self._said.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._said.wait(), timeout)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition`` holds (checked at each stderr line and every 50 ms: the
        data file grows without a word); fails after ``timeout`` s or if btcrec ends first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            ended = self.proc.returncode is not None and self._reader and self._reader.done()
            assert not ended, f"btcrec ended first: {self.stderr}"
            assert loop.time() < deadline, f"not within {timeout} s: {self.stderr[-10:]}"
            await self.event(0.05)

    def open_connections(self) -> set[tuple[str, int]]:
        """(exchange, connection) btcrec said it opened and has not said it closed or
        replaced (``connected to``, ``closed:``, ``rotated: #n replaces #m``)."""
        open_: set[tuple[str, int]] = set()
        for line in self.stderr:
            said = _SAID.match(line)
            if said is None:
                continue
            exchange, conn, text = said["exchange"], int(said["conn"]), said["text"]
            if text.startswith("connected to"):
                open_.add((exchange, conn))
            elif text.startswith("closed:"):
                open_.discard((exchange, conn))
            elif replaced := _REPLACES.match(text):
                open_.discard((exchange, int(replaced["old"])))
        return open_

    def lines(self) -> list[bytes]:
        return self.out.read_bytes().splitlines(keepends=True) if self.out.exists() else []

    async def finish(self, timeout: float = 10.0) -> int:
        """Wait for the exit (after a signal or by itself); returns the exit status."""
        stdout = await asyncio.wait_for(self.proc.stdout.read(), timeout)  # type: ignore[union-attr]
        self.stdout = stdout.decode()
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    def summary(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text())


async def start(
    tmp_path: Path,
    step: str,
    sim: Simulator,
    *args: str,
    fast: bool = True,
    name: str = "data",
    out: Path | None = None,
    env: dict[str, str] | None = None,
) -> Process:
    """Start ``btcrec record step`` against ``sim``; data into ``out`` (default
    ``tmp_path/<name>.txt``); ``env``: more environment variables."""
    out = out or tmp_path / f"{name}.txt"
    summary = tmp_path / f"{name}.summary.json"
    command = [
        str(btcrec_path()), "record", step, "--out", str(out), "--summary-json", str(summary),
        "--binance-url", sim.urls["binance"], "--upbit-url", sim.urls["upbit"],
        *(FAST if fast else []), *args,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env} if env else None,
    )
    process = Process(proc, out, summary)
    process._reader = asyncio.create_task(process._read())
    return process


@dataclass
class Run:
    """A finished btcrec run against the simulator."""

    code: int
    lines: list[bytes]
    summary: dict[str, Any]
    sim: Simulator
    stderr: list[str]
    stdout: str

    def expected(self, exchange: str | None = None) -> list[bytes]:
        return [
            expected_line(f) for f in self.sim.sent if exchange is None or f.exchange == exchange
        ]

    def lines_of(self, exchange: str) -> list[bytes]:
        return [line for line in self.lines if line.startswith(PREFIX[exchange])]


async def record_against_sim(
    tmp_path: Path,
    step: str,
    config: SimConfig,
    *args: str,
    until: Callable[[Process, Simulator], bool],
    timeout: float = 20.0,
) -> Run:
    """Record ``step`` with btcrec until ``until`` holds; then end the source cleanly.

    ``until`` is checked each time btcrec reports an event and every 50 ms (the data file
    grows without events).
    """
    feeds = 2 if step == "both" else 1
    async with Simulator(config) as sim:
        process = await start(tmp_path, step, sim, *args)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until(process, sim):
            assert process.proc.returncode is None, f"btcrec stopped by itself: {process.stderr}"
            assert loop.time() < deadline, f"condition not reached within {timeout} s"
            process._said.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process._said.wait(), 0.05)
        mark = len(process.stderr)
        await sim.stop()
        await process.said("closed by the server", times=feeds, after=mark)
        signal_child(process.proc, signal.SIGINT)
        code = await process.finish()
    # The simulator's own stop (close 1001) is no fault of the run: its reconnects are not
    # counted, as the Python recorder, told the source is finishing, does not reconnect.
    summary = process.summary()
    after = sum("reconnect in" in line for line in process.stderr[mark:])
    summary["reconnects"] -= after
    summary["gaps"] = summary["gaps"][: len(summary["gaps"]) - after]
    return Run(code, process.lines(), summary, sim, process.stderr, process.stdout)
