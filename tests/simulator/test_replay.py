"""Replaying a capture: exact frames, opcodes, one global order, captured spacing."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from btclib.simulator import SimConfig, Simulator
from btclib.simulator.replay import is_market_data

DEPTH = (
    '{"stream":"btcusdt@depth5","data":{"lastUpdateId":%d,"bids":[["16702.06000000",'
    '"0.00069000"]],"asks":[["16702.84000000","0.05546000"]]}}'
)
TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":%d,'
    '"p":"16728.50000000","q":"0.00626000","T":1,"m":true,"M":true}}'
)
BOOK = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":%d,"total_ask_size":11.400931790000001,'
    '"total_bid_size":3.1081664699999996,"orderbook_units":[{"ask_price":2.2855E7,'
    '"bid_price":2.2845E7,"ask_size":0.13138600,"bid_size":0.695}],"stream_type":"REALTIME"}'
)
UPBIT_REQUEST = '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]}]'
BINANCE_PATH = "/stream?streams=btcusdt@depth5/btcusdt@trade"


def write_capture(path: Path, frames: list[tuple[str, str, int]]) -> None:
    """A capture as btclib.files.capture writes it: header, frame records, an event."""
    header = {"format": "btclib-capture", "version": 1, "btclib": "0.1.0", "exchanges": {}}
    lines = [json.dumps(header)]
    seq: dict[str, int] = {}
    for i, (exchange, text, ms) in enumerate(frames):
        seq[exchange] = seq.get(exchange, 0) + 1
        conn = 1 if exchange == "binance" else 2
        record = {
            "t": 1_795_000_000_000_000_000 + ms * 1_000_000,
            "m": 5_000_000_000 + ms * 1_000_000,
            "c": conn,
            "n": seq[exchange],
            "x": exchange,
            "b": exchange == "upbit",
            "f": text,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
        if i == 2:
            lines.append(json.dumps({"t": 0, "m": 0, "c": conn, "x": exchange, "ev": "stall"}))
    data = ("\n".join(lines) + "\n").encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


MIXED = [
    ("binance", DEPTH % 1, 0),
    ("upbit", BOOK % 1, 1),
    ("binance", TRADE % 10, 2),
    ("binance", '{"result":null,"id":1}', 3),
    ("upbit", BOOK % 2, 4),
    ("binance", DEPTH % 2, 5),
    ("upbit", BOOK % 3, 6),
    ("upbit", '{"status":"UP"}', 7),
    ("binance", TRADE % 11, 8),
]


async def reader(ws: ClientConnection, name: str, log: list[tuple[str, Any]]) -> ConnectionClosed:
    try:
        while True:
            log.append((name, await asyncio.wait_for(ws.recv(), 5)))
    except ConnectionClosed as exc:
        return exc


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
async def test_replay_both_exchanges_in_global_order(tmp_path: Path, suffix: str) -> None:
    capture = tmp_path / ("capture" + suffix)
    write_capture(capture, MIXED)
    cfg = SimConfig(replay=capture, replay_speed="max", record_sent=True)
    log: list[tuple[str, Any]] = []
    async with Simulator(cfg) as sim:
        async with (
            connect(sim.urls["binance"] + BINANCE_PATH) as bws,
            connect(sim.urls["upbit"]) as uws,
        ):
            await uws.send(UPBIT_REQUEST)
            closed = await asyncio.gather(reader(bws, "binance", log), reader(uws, "upbit", log))
        await asyncio.wait_for(sim.replay_finished.wait(), 5)
        sent = sim.sent
    expected = [(x, text.encode() if x == "upbit" else text) for x, text, _ in MIXED]
    assert log == expected  # exact bytes, exact opcodes, one global order
    for exc in closed:
        assert exc.rcvd is not None
        assert (exc.rcvd.code, exc.rcvd.reason) == (1000, "replay finished")
    # Replies and status frames were replayed but are not market data.
    data = [payload for i, (_, payload) in enumerate(expected) if i not in (3, 7)]
    assert [s.payload for s in sent] == data
    assert [s.binary for s in sent] == [isinstance(p, bytes) for p in data]


async def test_replay_keeps_spacing_divided_by_speed(tmp_path: Path) -> None:
    capture = tmp_path / "spaced.jsonl"
    write_capture(capture, [("binance", DEPTH % i, 200 * i) for i in range(3)])
    cfg = SimConfig(replay=capture, replay_speed=2.0)
    log: list[tuple[str, Any]] = []
    async with Simulator(cfg) as sim, connect(sim.urls["binance"] + BINANCE_PATH) as ws:
        start = time.monotonic()
        await reader(ws, "binance", log)
        elapsed = time.monotonic() - start
    assert [text for _, text in log] == [DEPTH % i for i in range(3)]
    assert 0.18 < elapsed < 2.0  # 400 ms of capture at speed 2


async def test_replay_starts_without_the_missing_exchange(tmp_path: Path) -> None:
    capture = tmp_path / "both.jsonl"
    write_capture(capture, MIXED)
    cfg = SimConfig(replay=capture, replay_speed="max", replay_start_timeout=0.2)
    async with Simulator(cfg) as sim:
        async with connect(sim.urls["binance"] + BINANCE_PATH) as ws:
            start = time.monotonic()
            log: list[tuple[str, Any]] = []
            await reader(ws, "binance", log)
            waited = time.monotonic() - start
        assert sim.replay_finished.is_set()
        # A client that comes after the end is told so at once.
        async with connect(sim.urls["binance"] + BINANCE_PATH) as late:
            closed = await reader(late, "binance", [])
    assert [t for _, t in log] == [t for x, t, _ in MIXED if x == "binance"]
    assert waited > 0.15
    assert closed.rcvd is not None and closed.rcvd.reason == "replay finished"


def test_market_data_classification() -> None:
    assert is_market_data("binance", DEPTH % 1) and is_market_data("upbit", BOOK % 1)
    assert is_market_data("binance", TRADE % 1)
    assert not is_market_data("binance", '{"result":null,"id":1}')
    assert not is_market_data("upbit", '{"status":"UP"}')
    assert not is_market_data("upbit", '{"error":{"name":"NO_TICKET","message":"x"}}')
    shutdown = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}'
    assert not is_market_data("binance", shutdown)
    assert not is_market_data("binance", '{"e":"serverShutdown","E":1}')
    assert not is_market_data("binance", "<html>") and not is_market_data("upbit", "<html>")
