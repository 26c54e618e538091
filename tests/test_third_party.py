"""The simulator checked from outside: clients nobody here wrote connect and parse what they get.

- ccxt (``ccxt.pro``), a full exchange library: ``binance.watch_trades`` and
  ``upbit.watch_order_book`` with their WebSocket URLs pointed at the simulator
  and their markets built by ccxt's own ``parse_market`` from hand-written
  exchange listings (no REST call, no network). The trades and books it parses
  must equal, number for number, the frames the simulator sent; replaying the
  real frames of the shipped sample capture, ccxt must read the real values.
- wscat (npm), the generic client the assignment itself uses, and websockets'
  own command line client: they print every frame; the text must be the
  simulator's frames byte for byte, and Upbit's frames must come as binary.

The tools come from ``scripts/install-peers.sh`` (``make test`` runs it). A test
whose tool is missing is skipped, unless ``CI`` is set: then it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from btclib.files.capture import frames
from btclib.simulator import SimConfig, Simulator

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).resolve().parent / "data" / "real-frames.jsonl"
UPBIT_REQUEST = '[{"ticket":"third-party"},{"type":"orderbook","codes":["KRW-BTC"]}]'
COMBINED = "/stream?streams=btcusdt@depth5/btcusdt@trade"


def need(available: object, what: str) -> None:
    """Skip without the tool, or fail when CI is set (CI must run these tests)."""
    if available:
        return
    message = f"{what} is not installed: run scripts/install-peers.sh"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this test must run)")
    pytest.skip(message)


def ccxt_pro() -> Any:
    try:
        import ccxt.pro
    except ImportError:
        ccxt = None
    else:
        ccxt = ccxt.pro
    need(ccxt, "ccxt (pip)")
    return ccxt


def wscat() -> str:
    local = ROOT / ".peers" / "node_modules" / ".bin" / "wscat"
    path = str(local) if local.exists() else shutil.which("wscat")
    need(path and shutil.which("node"), "wscat (npm) with node")
    assert path is not None
    return path


# -- ccxt --------------------------------------------------------------------------------------

#: One entry of Binance's GET /api/v3/exchangeInfo ``symbols`` (2025 layout), for parse_market.
BTCUSDT_INFO = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "baseCommissionPrecision": 8,
    "quoteCommissionPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    "icebergAllowed": True,
    "ocoAllowed": True,
    "quoteOrderQtyMarketAllowed": True,
    "allowTrailingStop": True,
    "cancelReplaceAllowed": True,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": True,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00000000",
            "stepSize": "0.00001000",
        },
    ],
    "permissions": [],
    "permissionSets": [["SPOT", "MARGIN"]],
    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
    "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
}
#: One entry of Upbit's GET /v1/market/all.
KRW_BTC_INFO = {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"}


@contextlib.asynccontextmanager
async def ccxt_binance(base: str) -> AsyncIterator[Any]:
    exchange = ccxt_pro().binance()
    try:
        # parse_market reads the margin pair lists fetch_markets would have loaded.
        exchange.options["crossMarginPairsData"] = []
        exchange.options["isolatedMarginPairsData"] = []
        exchange.set_markets([exchange.parse_market(BTCUSDT_INFO)])
        exchange.urls["api"]["ws"]["spot"] = base + "/ws"
        yield exchange
    finally:
        await exchange.close()


@contextlib.asynccontextmanager
async def ccxt_upbit(url: str) -> AsyncIterator[Any]:
    exchange = ccxt_pro().upbit()
    try:
        exchange.set_markets([exchange.parse_market(KRW_BTC_INFO)])
        exchange.urls["api"]["ws"] = url
        yield exchange
    finally:
        await exchange.close()


def check_trade(trade: dict[str, Any], sent: dict[str, Any]) -> None:
    """A ccxt trade against the Binance payload it came from."""
    assert trade["symbol"] == "BTC/USDT"
    assert trade["id"] == str(sent["t"])
    assert trade["price"] == float(sent["p"]) and trade["amount"] == float(sent["q"])
    assert trade["timestamp"] == sent["T"]
    assert trade["side"] == ("sell" if sent["m"] else "buy")  # m: the buyer was the maker


def book_sides(units: list[dict[str, float]]) -> tuple[list[list[float]], list[list[float]]]:
    bids = [[u["bid_price"], u["bid_size"]] for u in units if u["bid_price"]]
    asks = [[u["ask_price"], u["ask_size"]] for u in units if u["ask_price"]]
    return bids, asks


async def test_ccxt_binance_watch_trades_parses_the_simulators_trades():
    ccxt_pro()
    async with Simulator(SimConfig(seed=21, speedup=10, record_sent=True)) as sim:
        async with ccxt_binance(sim.urls["binance"]) as binance:
            seen: dict[str, dict[str, Any]] = {}
            async with asyncio.timeout(20):
                while len(seen) < 5:
                    for trade in await binance.watch_trades("BTC/USDT"):
                        seen[trade["id"]] = trade
        # ccxt opened /ws/<n> and sent SUBSCRIBE btcusdt@trade: raw payloads, no wrapper.
        assert sim.connections[0].path.startswith("/ws/")
        sent = [json.loads(f.payload) for f in sim.sent if f.exchange == "binance"]
    by_id = {str(s["t"]): s for s in sent}
    assert all(s["e"] == "trade" for s in sent)
    for trade_id, trade in seen.items():
        check_trade(trade, by_id[trade_id])


async def test_ccxt_upbit_watch_order_book_parses_the_simulators_books():
    ccxt_pro()
    async with Simulator(SimConfig(seed=22, speedup=10, record_sent=True)) as sim:
        async with ccxt_upbit(sim.urls["upbit"]) as upbit:
            books = []
            async with asyncio.timeout(20):
                while len(books) < 5:
                    book = await upbit.watch_order_book("BTC/KRW")
                    books.append((book["timestamp"], book["bids"][:], book["asks"][:]))
        sent = [json.loads(f.payload) for f in sim.sent if f.exchange == "upbit"]
        assert all(f.binary for f in sim.sent)
    by_time = {s["timestamp"]: s for s in sent}
    assert sent[0]["stream_type"] == "SNAPSHOT"
    for timestamp, bids, asks in books:
        units = by_time[timestamp]["orderbook_units"]
        want_bids, want_asks = book_sides(units)
        # ccxt keeps the top 15 of Upbit's 30 units (its default limit).
        assert bids == want_bids[:15] and asks == want_asks[:15]
        assert bids[0][0] < asks[0][0]


def sample_subset(path: Path) -> None:
    """The real frames of the sample capture (and the simulator trades before R6), 300 ms apart.

    Only market data of the subscribed symbols: what ccxt would get from the
    live exchanges (ccxt's Upbit client, for one, cannot take a book of a code
    it did not subscribe).
    """
    header, *records = SAMPLE.read_text().splitlines()
    keep = [
        record
        for record in map(json.loads, records)
        if record.get("f", "").startswith(
            ('{"stream":"btcusdt@trade"', '{"type":"orderbook","code":"KRW-BTC"')
        )
    ]
    assert len(keep) == 7
    for i, record in enumerate(keep):
        record["m"] = 10**12 + i * 300_000_000
    path.write_text("\n".join([header, *(json.dumps(r) for r in keep)]) + "\n")


async def test_ccxt_reads_the_real_frames_of_the_sample_capture(tmp_path: Path):
    ccxt_pro()
    capture = tmp_path / "real.jsonl"
    sample_subset(capture)
    config = SimConfig(replay=capture, replay_speed=1.0, replay_start_timeout=3.0)
    trades: dict[str, dict[str, Any]] = {}
    books: dict[int, tuple[list[list[float]], list[list[float]]]] = {}
    async with (
        Simulator(config) as sim,
        ccxt_binance(sim.urls["binance"]) as binance,
        ccxt_upbit(sim.urls["upbit"]) as upbit,
    ):

        async def watch_trades() -> None:
            while "5052328858" not in trades:  # R6
                for trade in await binance.watch_trades("BTC/USDT"):
                    trades[trade["id"]] = trade

        async def watch_books() -> None:
            while 1668495774440 not in books:  # the assignment's frame
                book = await upbit.watch_order_book("BTC/KRW")
                books[book["timestamp"]] = (book["bids"][:], book["asks"][:])

        async with asyncio.timeout(20):
            await asyncio.gather(watch_trades(), watch_books())
    # R6, 2025-06-28: {"t":5052328858,"p":"107407.88000000","q":"0.00024000","T":...,"m":true}
    r6 = trades["5052328858"]
    assert (r6["price"], r6["amount"], r6["timestamp"], r6["side"]) == (
        107407.88,
        0.00024,
        1751132780368,
        "sell",
    )
    # R10, 2026-09-23 probe, 2 units, DEFAULT, Java-style exponents.
    assert books[1790134742106] == (
        [[116538000.0, 0.08120946], [116537000.0, 0.01129382]],
        [[116539000.0, 0.02054761], [116542000.0, 0.0007772]],
    )
    # The assignment's 2022 frame: 15 units, best bid 2.2845E7 x 0.00164598.
    bids, asks = books[1668495774440]
    assert len(bids) == len(asks) == 15
    assert bids[0] == [22845000.0, 0.00164598] and asks[0] == [22855000.0, 2.21720611]
    assert bids[-1] == [22816000.0, 0.716] and asks[-1] == [22876000.0, 0.00084109]


# -- generic clients ---------------------------------------------------------------------------


async def run_client(argv: list[str], send: str | None = None, seconds: float = 1.5) -> str:
    """Run a command line client; keep its stdin open ``seconds`` (both quit when it closes)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        if send is not None:
            proc.stdin.write(send.encode() + b"\n")
            await proc.stdin.drain()
        out = asyncio.ensure_future(proc.communicate())
        done, _ = await asyncio.wait({out}, timeout=seconds)
        if not done:
            proc.stdin.close()
        stdout, stderr = await asyncio.wait_for(out, 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_wscat_prints_the_binance_combined_stream_frame_for_frame():
    tool = wscat()
    async with Simulator(SimConfig(seed=23, speedup=10, record_sent=True)) as sim:
        out = await run_client(
            [
                tool,
                "-c",
                sim.urls["binance"] + COMBINED,
                "-x",
                '{"method":"LIST_SUBSCRIPTIONS","id":3}',
                "-w",
                "1.5",
            ],
            seconds=5,
        )
        sent = [f.payload for f in sim.sent]
    lines = out.splitlines()
    assert lines[0] == '{"result":["btcusdt@depth5","btcusdt@trade"],"id":3}'
    data = lines[1:]
    assert len(data) >= 5 and data == sent[: len(data)]
    streams = {json.loads(line)["stream"] for line in data}
    assert streams == {"btcusdt@depth5", "btcusdt@trade"}


async def test_wscat_prints_upbit_books_after_the_request_from_the_assignment():
    tool = wscat()
    async with Simulator(SimConfig(seed=24, speedup=10, record_sent=True)) as sim:
        out = await run_client(
            [tool, "-c", sim.urls["upbit"], "-x", UPBIT_REQUEST, "-w", "1"], seconds=5
        )
        sent = [f.payload for f in sim.sent]
        assert all(f.binary for f in sim.sent)
    lines = [line.encode() for line in out.splitlines()]
    assert len(lines) >= 5 and lines == sent[: len(lines)]
    books = [json.loads(line) for line in lines]
    assert books[0]["stream_type"] == "SNAPSHOT"
    assert {b["stream_type"] for b in books[1:]} == {"REALTIME"}
    assert all(b["code"] == "KRW-BTC" and len(b["orderbook_units"]) == 30 for b in books)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_wscat_against_the_simulate_command_replaying_the_sample_capture():
    """``python -m btclib simulate --replay``, then wscat: the captured frames, byte for byte."""
    tool = wscat()
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "btclib",
        "simulate",
        "--port",
        str(port),
        "--replay",
        str(SAMPLE),
        "--speed",
        "max",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        assert server.stdout is not None
        banner = await asyncio.wait_for(server.stdout.readline(), 20)
        assert b"listening on" in banner, banner
        start = time.monotonic()
        # Binance alone: the replay waits 1 s for an Upbit client, then starts without it.
        out = await run_client([tool, "-c", f"ws://127.0.0.1:{port}{COMBINED}"], seconds=10)
        elapsed = time.monotonic() - start
    finally:
        server.terminate()
        await server.wait()
    captured = [f.data.decode() for f in frames(SAMPLE) if f.exchange == "binance"]
    # Every captured frame, replies and the shutdown notice too, then the close.
    assert out.splitlines() == captured
    assert elapsed < 10  # closed by the replay's end (1000 "replay finished"), not by us


BINARY = re.compile(r"< \(binary\) ([0-9a-f]+)")
TEXT = re.compile(r"< (\{.*\})")


async def test_websockets_cli_shows_binance_text_and_upbit_binary_frames():
    """websockets' own interactive client says which frames are binary: Upbit's are."""
    async with Simulator(SimConfig(seed=25, speedup=10, record_sent=True)) as sim:
        cli = [sys.executable, "-m", "websockets"]
        text_out = await run_client([*cli, sim.urls["binance"] + "/ws/btcusdt@trade"], seconds=1.5)
        binance_sent = [f.payload for f in sim.sent if f.exchange == "binance"]
        binary_out = await run_client([*cli, sim.urls["upbit"]], send=UPBIT_REQUEST, seconds=1.5)
        upbit_sent = [f.payload for f in sim.sent if f.exchange == "upbit"]
    texts = TEXT.findall(text_out)
    assert len(texts) >= 3 and texts == binance_sent[: len(texts)]
    assert not BINARY.search(text_out)
    blobs = [bytes.fromhex(h) for h in BINARY.findall(binary_out)]
    assert len(blobs) >= 3 and blobs == upbit_sent[: len(blobs)]
    assert not TEXT.search(binary_out)
    assert json.loads(blobs[0])["stream_type"] == "SNAPSHOT"
