"""End to end: the recorder records Bithumb from the simulator, each message once, byte for byte.

The comparison is the fault soak's (:func:`btclib.tools.soak.compare`): every data frame the
simulator sent is in the file exactly once, as the line the simulator's own scanner says it
must give (:func:`btclib.simulator.bithumb.expected_line`), in its connection's order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import btclib
from btclib.recorder import Progress, RecorderOptions, record_feeds
from btclib.simulator import SimConfig, Simulator
from btclib.steps.steps import build_feeds, default_path, step_exchanges
from btclib.tools import soak


async def _record(tmp_path: Path, step: str, lines: int, **settings: object) -> tuple[bytes, list]:
    out = tmp_path / "data.txt"
    enough, finish = asyncio.Event(), asyncio.Event()

    def progress(p: Progress) -> None:
        if p.lines >= lines:
            enough.set()

    async with Simulator(SimConfig(seed=11, speedup=5.0, record_sent=True)) as sim:
        feeds = build_feeds(step, sim.urls, **settings)
        task = asyncio.create_task(
            record_feeds(feeds, out, progress=progress, finish=finish, options=RecorderOptions())
        )
        waiter = asyncio.create_task(enough.wait())
        await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        assert enough.is_set(), "too few lines within 60 s"
        finish.set()  # the source ends: each connection is read to its close
        await sim.stop()
        summary = await asyncio.wait_for(task, 30)
        sent = list(sim.sent)
    assert sum(summary.lines.values()) == len(out.read_bytes().splitlines())
    return out.read_bytes(), sent


async def test_bithumb_alone_is_recorded_message_by_message(tmp_path: Path) -> None:
    data, sent = await _record(tmp_path, "bithumb", 150, bithumb_codes=["KRW-BTC", "KRW-ETH"])
    verdict = soak.compare(sent, data)
    assert verdict.ok, verdict.problems
    assert verdict.sent == verdict.written == len(sent) >= 150
    keys = {line.split(b",", 1)[0] for line in data.splitlines()}
    assert keys == {
        b"bithumb:btckrw@orderbook",
        b"bithumb:btckrw@trade",
        b"bithumb:ethkrw@orderbook",
        b"bithumb:ethkrw@trade",
    }


async def test_a_step_c_style_run_of_three_venues_keeps_each_venues_lines_apart(
    tmp_path: Path,
) -> None:
    step = "binance,upbit,bithumb"
    assert step_exchanges(step) == ("binance", "upbit", "bithumb")
    assert default_path(step).name == "stream-data-binance-upbit-bithumb.txt"
    data, sent = await _record(tmp_path, step, 200)
    verdict = soak.compare(sent, data)
    assert verdict.ok, verdict.problems
    assert {frame.exchange for frame in sent} == {"binance", "upbit", "bithumb"}
    lines = data.splitlines()
    upbit_books = [x for x in lines if x.startswith(b"btckrw@orderbook,")]
    bithumb_books = [x for x in lines if x.startswith(b"bithumb:btckrw@orderbook,")]
    assert upbit_books and bithumb_books  # the same market on two venues, never mixed up
    assert all(b"E" in x for x in upbit_books[:5])  # Upbit's Java spelling: 1.3566E8
    assert not any(b"E" in x for x in bithumb_books)  # Bithumb's plain decimals


def test_step_c_stays_the_assignments_two_exchanges() -> None:
    assert step_exchanges("both") == ("binance", "upbit")
    with pytest.raises(ValueError, match="unknown step"):
        step_exchanges("binance,bithumb,kraken")


async def test_a_bithumb_capture_replays_to_the_same_lines(tmp_path: Path) -> None:
    first, again, capture = tmp_path / "first.txt", tmp_path / "again.txt", tmp_path / "c.jsonl"
    recorded = await btclib.record(
        "bithumb", source="sim", duration=2.0, capture=capture, out=first, progress=None,
        announce=lambda _: None,
    )  # fmt: skip
    assert recorded.total > 0 and not recorded.problems
    replayed = await btclib.record(
        "bithumb", replay=capture, speed="max", duration=30.0, out=again, progress=None,
        announce=lambda _: None,
    )  # fmt: skip
    assert replayed.total == recorded.total
    assert again.read_bytes() == first.read_bytes()
