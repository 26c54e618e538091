"""The simulator over real WebSocket connections: both protocols, one port."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.frames import Opcode

from btclib.simulator import SimConfig, Simulator, banner, run_simulator
from btclib.simulator.registry import EXCHANGES

FIXED_CLOCK = 1_790_000_000.0
DEPTH_RE = re.compile(
    r'^\{"lastUpdateId":\d+,"bids":\[(\["\d+\.\d{8}","\d+\.\d{8}"\],?){5}\],'
    r'"asks":\[(\["\d+\.\d{8}","\d+\.\d{8}"\],?){5}\]\}$'
)
TRADE_RE = re.compile(
    r'^\{"e":"trade","E":\d+,"s":"BTCUSDT","t":\d+,"p":"\d+\.\d{8}","q":"\d+\.\d{8}",'
    r'"T":\d+,"m":(true|false),"M":true\}$'
)
WRAPPED_RE = re.compile(r'^\{"stream":"(?P<stream>[^"]+)","data":(?P<data>\{.*\})\}$')


def config(**kw: Any) -> SimConfig:
    kw.setdefault("speedup", 20.0)
    kw.setdefault("record_sent", True)
    kw.setdefault("layout_rate", 0.0)  # these tests check the exchanges' own layout
    return SimConfig(**kw)


async def recv(ws: ClientConnection, timeout: float = 3.0) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_n(ws: ClientConnection, n: int) -> list[Any]:
    return [await recv(ws) for _ in range(n)]


def check_book(bids: list[list[str]], asks: list[list[str]]) -> None:
    bp = [Decimal(p) for p, _ in bids]
    ap = [Decimal(p) for p, _ in asks]
    assert bp == sorted(bp, reverse=True) and len(set(bp)) == len(bp)
    assert ap == sorted(ap) and len(set(ap)) == len(ap)
    assert bp[0] < ap[0]
    assert all(Decimal(q) > 0 for _, q in bids + asks)


# -- Binance ------------------------------------------------------------------------------


async def test_binance_combined_stream_frames() -> None:
    async with Simulator(config()) as sim:
        url = sim.urls["binance"] + "/stream?streams=btcusdt@depth5@100ms/btcusdt@trade"
        async with connect(url) as ws:
            frames = await recv_n(ws, 120)
    assert all(isinstance(f, str) for f in frames)  # text frames only
    update_ids, trade_ids, streams = [], [], set()
    last_mid = None
    for frame in frames:
        match = WRAPPED_RE.match(frame)
        assert match, frame
        streams.add(match["stream"])
        data = match["data"]
        if match["stream"] == "btcusdt@depth5@100ms":
            assert DEPTH_RE.match(data), data
            book = json.loads(data)
            check_book(book["bids"], book["asks"])
            update_ids.append(book["lastUpdateId"])
            last_mid = (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2
        else:
            assert TRADE_RE.match(data), data
            trade = json.loads(data)
            trade_ids.append(trade["t"])
            assert trade["E"] >= trade["T"]
            if last_mid is not None:
                assert abs(Decimal(trade["p"]) - last_mid) / last_mid < Decimal("0.001")
    assert streams == {"btcusdt@depth5@100ms", "btcusdt@trade"}
    assert all(a < b for a, b in itertools.pairwise(update_ids))
    assert trade_ids == list(range(trade_ids[0], trade_ids[0] + len(trade_ids)))
    assert 85_000 < last_mid < 105_000


async def test_binance_raw_stream_and_sent_list() -> None:
    async with Simulator(config()) as sim:
        async with connect(sim.urls["binance"] + "/ws/btcusdt@depth5") as ws:
            frames = await recv_n(ws, 5)
        conn = sim.connections[0]
        assert (conn.exchange, conn.index, conn.path) == ("binance", 0, "/ws/btcusdt@depth5")
        sent = [s for s in sim.sent if s.conn_id == conn.conn_id]
    assert all(DEPTH_RE.match(f) for f in frames)
    # Every data frame the client got is listed, in order, as sent.
    assert [s.payload for s in sent[:5]] == frames
    assert all(s.exchange == "binance" and not s.binary for s in sent)


async def test_binance_depth_cadence_follows_market_time() -> None:
    """depth5 (1000 ms) and depth5@100ms (100 ms) in a 1:10 ratio of market time."""
    async with Simulator(config(speedup=50.0)) as sim:
        url = sim.urls["binance"] + "/stream?streams=btcusdt@depth5/btcusdt@depth5@100ms"
        async with connect(url) as ws:
            names = [json.loads(f)["stream"] for f in await recv_n(ws, 110)]
    assert names.count("btcusdt@depth5") in (10, 11)
    # Both streams are due on the same 1000 ms step: the slow one goes first.
    assert names[: names.index("btcusdt@depth5") + 1][-1] == "btcusdt@depth5"


async def test_binance_subscribe_list_and_properties() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["binance"] + "/ws") as ws:
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@depth5@100ms"],"id":1}')
        assert await recv(ws) == '{"result":null,"id":1}'
        assert DEPTH_RE.match(await recv(ws))  # raw on /ws
        await ws.send('{"method":"SET_PROPERTY","params":["combined",true],"id":5}')
        while (reply := await recv(ws)).startswith('{"lastUpdateId"'):
            pass
        assert reply == '{"result":null,"id":5}'
        frame = json.loads(await recv(ws))
        assert frame["stream"] == "btcusdt@depth5@100ms"
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":3}')
        await ws.send('{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":9}')
        await ws.send("not json")
        replies = []
        while len(replies) < 3:
            text = await recv(ws)
            if '"stream"' not in text:
                replies.append(text)
    assert replies[0] == '{"result":["btcusdt@depth5@100ms"],"id":3}'
    assert replies[1] == '{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":9}'
    error = json.loads(replies[2])
    assert error["id"] is None and error["error"]["code"] == 3


async def test_binance_unknown_names_in_url_are_silent() -> None:
    async with Simulator(config()) as sim:
        silent = await connect(sim.urls["binance"] + "/stream?streams=BTCUSDT@trade/xyzusdt@depth5")
        async with silent, connect(sim.urls["binance"] + "/ws/btcusdt@depth5@100ms") as busy:
            await recv_n(busy, 20)  # two market seconds went by
            await silent.send('{"method":"LIST_SUBSCRIPTIONS","id":1}')
            # Nothing came before the reply: the invalid names produced no data.
            assert await recv(silent) == '{"result":[],"id":1}'


async def test_binance_time_unit_microseconds() -> None:
    async with Simulator(config()) as sim:
        url = sim.urls["binance"] + "/stream?streams=btcusdt@trade&timeUnit=MICROSECOND"
        async with connect(url) as ws:
            trade = json.loads(await recv(ws))["data"]
    assert len(str(trade["T"])) == 16 and len(str(trade["E"])) == 16


async def test_same_seed_same_frames() -> None:
    async def first_frames(seed: int) -> list[str]:
        cfg = config(seed=seed, clock=lambda: FIXED_CLOCK)
        async with Simulator(cfg) as sim:
            url = sim.urls["binance"] + "/stream?streams=btcusdt@depth5@100ms/btcusdt@trade"
            async with connect(url) as ws:
                return await recv_n(ws, 40)

    a, b, c = await first_frames(3), await first_frames(3), await first_frames(4)
    assert a == b
    assert a != c


async def test_binance_server_pings_and_pong_timeout_closes_1011() -> None:
    cfg = config(binance_ping_interval=0.05, binance_ping_timeout=0.1)
    async with Simulator(cfg) as sim, connect(sim.urls["binance"] + "/ws/btcusdt@trade") as ws:
        await recv_n(ws, 20)  # pings are answered: the connection lives on
        # Now swallow the client's automatic pongs: the server gives up on it.
        send_frame = ws.protocol.send_frame
        ws.protocol.send_frame = lambda f: None if f.opcode is Opcode.PONG else send_frame(f)
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await recv(ws)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011


# -- Upbit --------------------------------------------------------------------------------

UPBIT_REQUEST = '[{"ticket":"test"},{"type":"orderbook","codes":["KRW-BTC"]}]'
UPBIT_KEYS = [
    "type",
    "code",
    "timestamp",
    "total_ask_size",
    "total_bid_size",
    "orderbook_units",
    "stream_type",
    "level",
]


async def test_upbit_orderbook_snapshot_then_realtime_binary() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(UPBIT_REQUEST)
        frames = await recv_n(ws, 30)
        assert [s.payload for s in sim.sent][:30] == frames
    assert all(isinstance(f, bytes) for f in frames)  # Upbit sends binary frames
    books = [json.loads(f, parse_float=Decimal) for f in frames]
    assert [b["stream_type"] for b in books] == ["SNAPSHOT"] + ["REALTIME"] * 29
    for raw, book in zip(frames, books, strict=True):
        assert list(book) == UPBIT_KEYS
        assert book["code"] == "KRW-BTC" and book["level"] == 0
        units = book["orderbook_units"]
        assert len(units) == 30
        asks = [u["ask_price"] for u in units]
        bids = [u["bid_price"] for u in units]
        assert asks == sorted(asks) and bids == sorted(bids, reverse=True) and bids[0] < asks[0]
        assert all(p % 1000 == 0 for p in asks + bids)
        # KRW-BTC prices are Java doubles >= 1e7: exponent form.
        assert re.search(rb'"ask_price":1\.\d+E8,', raw)
        assert book["total_ask_size"] == pytest.approx(sum(u["ask_size"] for u in units))
    stamps = [b["timestamp"] for b in books[1:]]
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert all(t % 100 == 0 for t in stamps)  # on the 100 ms grid


async def test_upbit_simple_format_units_and_flags() -> None:
    request = (
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.5","krw-btc"],'
        '"isOnlyRealtime":true},{"format":"SIMPLE"}]'
    )
    async with Simulator(config()) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(request)
        books = [json.loads(f) for f in await recv_n(ws, 5)]
    for book in books:
        assert list(book) == ["ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv"]
        assert book["cd"] == "KRW-BTC" and book["st"] == "REALTIME"
        assert len(book["obu"]) == 5 and list(book["obu"][0]) == ["ap", "bp", "as", "bs"]


async def test_upbit_only_snapshot_and_ping_status() -> None:
    request = (
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.15"],"is_only_snapshot":true},'
        '{"type":"trade","codes":["KRW-BTC"],"is_only_realtime":true}]'
    )
    async with (
        Simulator(config(upbit_status_interval=0.05)) as sim,
        connect(sim.urls["upbit"]) as ws,
    ):
        await ws.send(request)
        snapshot = json.loads(await recv(ws))
        assert snapshot["stream_type"] == "SNAPSHOT" and len(snapshot["orderbook_units"]) == 15
        await ws.send("PING")
        statuses, trades = 0, []
        while statuses < 3:
            frame = await recv(ws)
            assert isinstance(frame, bytes)
            if frame == b'{"status":"UP"}':
                statuses += 1
            else:
                trades.append(json.loads(frame))
    # After the snapshot only realtime trades come: no more orderbooks.
    assert all(t["type"] == "trade" and t["stream_type"] == "REALTIME" for t in trades)


async def test_upbit_trades() -> None:
    request = '[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"],"is_only_realtime":true}]'
    async with Simulator(config(speedup=50.0)) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(request)
        trades = [json.loads(f, parse_float=Decimal) for f in await recv_n(ws, 10)]
    ids = [t["sequential_id"] for t in trades]
    assert all(a < b for a, b in itertools.pairwise(ids))
    for t in trades:
        assert t["best_bid_price"] < t["best_ask_price"]
        assert t["ask_bid"] in ("ASK", "BID") and t["trade_volume"] > 0


async def test_upbit_request_error_then_close_1000() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send('[{"type":"orderbook","codes":["KRW-BTC"]}]')
        error = await recv(ws)
        start = time.monotonic()
        with pytest.raises(ConnectionClosedOK) as info:
            await recv(ws)
        waited = time.monotonic() - start
    assert (
        error
        == '{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}'.encode()
    )
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    # The server waits ~150 ms before it closes, as Upbit does (protocols.md 2.7). Only the lower
    # bound is the behaviour: an upper one measures how busy the machine is.
    assert waited > 0.1
    assert sim.sent == []  # errors are not market data


@pytest.mark.parametrize(
    ("request_text", "name"),
    [
        ("hello", "WRONG_FORMAT"),
        ('[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
    ],
)
async def test_upbit_other_errors(request_text: str, name: str) -> None:
    async with (
        Simulator(config(upbit_error_close_delay=0.01)) as sim,
        connect(sim.urls["upbit"]) as ws,
    ):
        await ws.send(request_text)
        assert json.loads(await recv(ws))["error"]["name"] == name
        with pytest.raises(ConnectionClosedOK):
            await recv(ws)


async def test_upbit_resubscribe_replaces() -> None:
    async with Simulator(config(speedup=50.0)) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(UPBIT_REQUEST)
        assert json.loads(await recv(ws))["type"] == "orderbook"
        await ws.send('[{"ticket":"u"},{"type":"orderbook","codes":["KRW-USDT.1"]}]')
        # Skip what was already on its way, up to the new snapshot.
        while json.loads(await recv(ws))["stream_type"] != "SNAPSHOT":
            pass
        later = [json.loads(f) for f in await recv_n(ws, 5)]
    assert {b["code"] for b in later} == {"KRW-USDT"}
    assert all(len(b["orderbook_units"]) == 1 for b in later)


# -- Both on one port ---------------------------------------------------------------------


async def test_unknown_path_is_404() -> None:
    async with Simulator(config()) as sim:
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim.urls["binance"] + "/nope"):
                pass
    assert info.value.response.status_code == 404


async def test_both_exchanges_share_one_market() -> None:
    async with Simulator(config(speedup=10.0)) as sim:
        bws = await connect(sim.urls["binance"] + "/ws/btcusdt@depth5@100ms")
        uws = await connect(sim.urls["upbit"])
        async with bws, uws:
            await uws.send(UPBIT_REQUEST)
            await sim.wait_connections(2)
            binance_book = json.loads(await recv(bws))
            upbit_book = json.loads(await recv(uws))
        assert [c.exchange for c in sim.connections] == ["binance", "upbit"]
    usd = Decimal(binance_book["bids"][0][0])
    krw = Decimal(upbit_book["orderbook_units"][0]["bid_price"])
    # Default premium 2 % at 1,400 KRW per USDT.
    assert krw / (usd * 1400) == pytest.approx(Decimal("1.02"), abs=Decimal("0.003"))


async def test_run_simulator_serves_until_cancelled_and_banner_says_how() -> None:
    ready: asyncio.Future[Simulator] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run_simulator(config(), ready=ready.set_result))
    sim = await asyncio.wait_for(ready, 3)
    text = banner(sim)
    assert (
        f"wscat -c 'ws://127.0.0.1:{sim.port}/stream?streams=btcusdt@depth5/btcusdt@trade'" in text
    )
    assert f"wscat -c ws://127.0.0.1:{sim.port}/websocket/v1" in text
    assert '[{"ticket":"test"},{"type":"orderbook","codes":["KRW-BTC"]}]' in text
    url = sim.urls["binance"] + "/ws/btcusdt@trade"
    async with connect(url) as ws:
        assert TRADE_RE.match(await recv(ws))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(OSError):
        await connect(url, open_timeout=1)  # the port is closed


async def test_urls_name_each_exchange_the_url_a_client_uses() -> None:
    async with Simulator(config()) as sim:
        assert list(sim.urls) == list(EXCHANGES)
        assert {name: sim.urls[name] for name in ("binance", "upbit")} == {
            "binance": f"ws://127.0.0.1:{sim.port}",
            "upbit": f"ws://127.0.0.1:{sim.port}/websocket/v1",
        }
        async with connect(sim.urls["upbit"]) as ws:
            await ws.send("PING")
            assert await ws.recv() == b'{"status":"UP"}'
