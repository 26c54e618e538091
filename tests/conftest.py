"""Shared helpers: run the recorder against the simulator and say what each side saw.

Expected lines are computed independently of btclib's parsers
(:func:`btclib.simulator.expected.expected_line`: ``json`` for Binance, whose
numbers are strings, a regular expression on the raw text for Upbit), so a
parser bug cannot hide behind itself.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from btclib.feed import Feed
from btclib.files.sink import LineSink
from btclib.recorder import Progress, RecorderOptions, RunSummary, record_feeds
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.expected import expected_line
from btclib.steps.steps import build_feeds


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl+C as in a terminal, however the suite was started.

    A shell without job control (``cmd &`` in a script, ``nohup``) starts its background
    jobs with SIGINT ignored, and an ignored signal stays ignored across ``exec``: the
    recorder then rightly leaves Ctrl+C alone (:func:`btclib.steps.steps.interrupt_stops`),
    and every test of what Ctrl+C does, in this process or in the recorders it starts,
    would fail or hang for its time limit. Python's own handler is what a terminal gives.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


UPBIT_REQUEST_ERRORS = [
    ('[{"type":"orderbook","codes":["KRW-BTC"]}]', "NO_TICKET"),
    ('[{"ticket":"t"},{"type":"orderbook"}]', "NO_CODES"),
    ("hello", "WRONG_FORMAT"),
    ('[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
]
"""Upbit requests the exchange answers with an error, and the error's name (protocols.md 2);
the Python and the C++ recorder must both stop on each, naming it."""

FAST = RecorderOptions(
    backoff_base=0.05,
    backoff_cap=0.2,
    open_timeout=2.0,
    close_timeout=0.5,
    check_interval=0.05,
    progress_interval=0.05,
    overlap_max=2.0,
)


@dataclass
class Run:
    summary: RunSummary
    lines: list[bytes]
    data: bytes
    sim: Simulator
    events: list[dict[str, Any]]

    def expected(self, exchange: str | None = None) -> list[bytes]:
        return [
            expected_line(f) for f in self.sim.sent if exchange is None or f.exchange == exchange
        ]

    def events_of(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name]


async def record_against_sim(
    tmp_path: Path,
    step: str,
    config: SimConfig,
    *,
    until: Callable[[Progress, Simulator], bool],
    feeds: Callable[[Simulator], list[Feed]] | None = None,
    options: RecorderOptions = FAST,
    stall_after: float | None = 1.0,
    timeout: float = 20.0,
    write: Callable[[int, memoryview], int] | None = None,
) -> Run:
    """Record ``step`` from a simulator until ``until`` holds, then end the source cleanly.

    Ending: the simulator closes every connection (after the frames it sent),
    and the recorder, told the source is finishing, reads each connection to
    its close and stops. So every frame in ``sim.sent`` had its chance.
    ``write`` replaces ``os.write`` in the data file's sink (a slow disk).
    """
    out = tmp_path / "data.txt"
    target: Path | LineSink = out
    if write is not None:
        target = LineSink(out, write=write, max_queued_bytes=options.max_queued_bytes)
    events = tmp_path / "data.events.jsonl"
    reached = asyncio.Event()
    finish = asyncio.Event()
    async with Simulator(config) as sim:

        def progress(p: Progress) -> None:
            if until(p, sim):
                reached.set()

        chosen = feeds(sim) if feeds else build_feeds(step, sim.urls, stall_after=stall_after)
        task = asyncio.create_task(
            record_feeds(
                chosen,
                target,
                events_path=events,
                options=options,
                progress=progress,
                finish=finish,
            )
        )
        waiter = asyncio.create_task(reached.wait())
        await asyncio.wait({task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # raise what the recorder raised
            raise AssertionError("the recorder stopped by itself")
        assert reached.is_set(), f"condition not reached within {timeout} s"
        finish.set()
        await sim.stop()
        summary = await asyncio.wait_for(task, timeout)
    data = out.read_bytes()
    log = [json.loads(line) for line in events.read_text().splitlines()]
    return Run(summary, data.splitlines(keepends=True), data, sim, log)


@pytest.fixture
def fast_options() -> RecorderOptions:
    return FAST


@pytest.fixture(params=["bytes", "bytearray"])
def frames_as(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a parser test twice: with ``bytes``, and with the ``bytearray`` that
    websockets queues (the recorder hands those to the parsers as they are)."""
    if request.param == "bytearray":
        from btclib.exchanges import EXCHANGES

        for module in EXCHANGES.values():
            call = module.Parser.__call__
            monkeypatch.setattr(
                module.Parser,
                "__call__",
                lambda self, frame, call=call: call(self, bytearray(frame)),
            )
    return request.param
