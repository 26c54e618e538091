"""Steps A, B and C end to end against the simulator: every message sent is one line."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from btclib.errors import ExchangeError
from btclib.exchanges import binance, upbit
from btclib.recorder import record_feeds
from btclib.simulator import SimConfig, Simulator
from btclib.steps.steps import build_feeds, record

from ..conftest import FAST, record_against_sim

LINE = re.compile(
    rb"(btcusdt@orderbook,bids:\[\[.*\]\],asks:\[\[.*\]\]"
    rb"|btcusdt@trade, p:[0-9.]+,q:[0-9.]+"
    rb'|(btc|usdt)krw@orderbook,\[\{"ask_price":.*\}\])\n'
)


def lines_at_least(n: int):
    return lambda p, sim: p.lines >= n


async def test_step_a_writes_every_depth_and_trade_message_once_in_order(tmp_path: Path):
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=2, speedup=20, record_sent=True),
        until=lines_at_least(60),
    )
    assert run.lines == run.expected("binance")
    kinds = {line.split(b",")[0] for line in run.lines}
    assert kinds == {b"btcusdt@orderbook", b"btcusdt@trade"}
    assert run.summary.stopped == "source ended"
    assert run.summary.connections == 1 and run.summary.bad_frames == 0
    assert run.summary.lines["btcusdt@trade"] == sum(1 for x in run.lines if b"@trade" in x)


async def test_step_b_writes_every_orderbook_with_numbers_as_sent(tmp_path: Path):
    run = await record_against_sim(
        tmp_path, "upbit", SimConfig(seed=3, speedup=10, record_sent=True), until=lines_at_least(30)
    )
    assert run.lines == run.expected("upbit")
    assert all(line.startswith(b'btckrw@orderbook,[{"ask_price":') for line in run.lines)
    assert any(b"E8," in line for line in run.lines)  # Java exponent spelling kept


async def test_step_c_one_file_both_exchanges_no_torn_line(tmp_path: Path):
    run = await record_against_sim(
        tmp_path, "both", SimConfig(seed=4, speedup=20, record_sent=True), until=lines_at_least(150)
    )
    assert all(LINE.fullmatch(line) for line in run.lines)
    binance_lines = [x for x in run.lines if x.startswith(b"btcusdt@")]
    upbit_lines = [x for x in run.lines if x.startswith(b"btckrw@")]
    assert binance_lines == run.expected("binance")
    assert upbit_lines == run.expected("upbit")
    assert sorted(run.lines) == sorted(run.expected())
    assert run.data.endswith(b"\n")


async def test_cancelling_mid_run_leaves_only_whole_lines(tmp_path: Path):
    out = tmp_path / "data.txt"
    async with Simulator(SimConfig(seed=5, speedup=50)) as sim:
        feeds = build_feeds("both", sim.urls)
        enough = asyncio.Event()
        task = asyncio.create_task(
            record_feeds(
                feeds, out, options=FAST, progress=lambda p: p.lines > 200 and enough.set()
            )
        )
        await asyncio.wait_for(enough.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    data = out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") > 200
    assert all(LINE.fullmatch(line) for line in data.splitlines(keepends=True))


async def test_recording_appends_to_what_the_file_held(tmp_path: Path):
    out = tmp_path / "data.txt"
    out.write_bytes(b"btcusdt@trade, p:1.00000000,q:1.00000000\n")
    run = await record_against_sim(
        tmp_path,
        "binance",
        SimConfig(seed=6, speedup=20, record_sent=True),
        until=lines_at_least(10),
    )
    assert run.lines[0] == b"btcusdt@trade, p:1.00000000,q:1.00000000\n"
    assert run.lines[1:] == run.expected("binance")


async def test_upbit_error_message_stops_the_run_with_the_error_named(tmp_path: Path):
    async with Simulator(SimConfig(seed=1)) as sim:
        bad = upbit.feed(url=sim.urls["upbit"])
        bad = type(bad)(**{**bad.__dict__, "requests": ('[{"ticket":"t"},{"type":"orderbook"}]',)})
        with pytest.raises(ExchangeError, match="Upbit error NO_CODES") as info:
            await asyncio.wait_for(record_feeds([bad], tmp_path / "x.txt", options=FAST), 10)
    assert info.value.summary.connections == 1  # failed fast: no reconnect loop


async def test_binance_nested_error_stops_the_run_with_the_error_named(tmp_path: Path):
    async with Simulator(SimConfig(seed=1)) as sim:
        good = binance.feed(base=sim.urls["binance"])
        bad = type(good)(
            **{
                **good.__dict__,
                "requests": ('{"method":"SUBSCRIBE","params":["btcusdt@nope"],"id":7}',),
            }
        )
        with pytest.raises(ExchangeError, match=r"invalid stream.*request id 7"):
            await asyncio.wait_for(record_feeds([bad], tmp_path / "x.txt", options=FAST), 10)


async def test_auto_without_the_live_exchange_falls_back_to_the_simulator_and_says_why(
    tmp_path: Path,
):
    said: list[str] = []
    summary = await record(
        "binance",
        duration=1.0,
        source="auto",
        binance_url="ws://127.0.0.1:9",  # nothing listens on the discard port
        out=tmp_path / "a.txt",
        progress=None,
        announce=said.append,
    )
    assert summary.sources == {"binance": "simulator"}
    assert "refused" in summary.reasons["binance"]
    assert "SIMULATED DATA: BINANCE IS NOT LIVE" in said[0] and "refused" in said[0]
    assert summary.total > 0
    assert "simulator" in summary.text() and "refused" in summary.text()


async def test_source_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BTCLIB_SOURCE", "sim")
    said: list[str] = []
    summary = await record(
        "upbit", duration=0.5, out=tmp_path / "b.txt", progress=None, announce=said.append
    )
    assert summary.sources == {"upbit": "simulator"}
    assert "source 'sim' was chosen" in said[0]


async def test_live_source_with_an_override_connects_exactly_there(tmp_path: Path):
    async with Simulator(SimConfig(seed=8, speedup=20)) as sim:
        summary = await record(
            "binance",
            duration=1.0,
            source="live",
            binance_url=sim.urls["binance"],
            out=tmp_path / "c.txt",
            progress=None,
        )
        assert sim.connections[0].path.startswith("/stream?streams=btcusdt@depth5/btcusdt@trade")
    assert summary.sources == {"binance": "live"} and summary.reasons == {}
    assert summary.total > 0


async def test_auto_probes_the_exact_stream_url_of_an_override(tmp_path: Path):
    # A server that answers only on the stream path (like the real one) must count as live.
    async with Simulator(SimConfig(seed=9, speedup=20)) as sim:
        summary = await record(
            "binance",
            duration=1.0,
            source="auto",
            binance_url=sim.urls["binance"],
            out=tmp_path / "d.txt",
            progress=None,
        )
        paths = [c.path for c in sim.connections]
    assert summary.sources == {"binance": "live"}
    assert all(p.startswith("/stream?streams=btcusdt@depth5/btcusdt@trade") for p in paths)


async def test_auto_honours_the_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async with Simulator(SimConfig(seed=10, speedup=20)) as sim:
        monkeypatch.setenv("BTCLIB_UPBIT_URL", sim.urls["upbit"])
        summary = await record(
            "upbit", duration=1.0, source="auto", out=tmp_path / "u.txt", progress=None
        )
    assert summary.sources == {"upbit": "live"} and summary.total > 0
