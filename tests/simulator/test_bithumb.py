"""The simulated Bithumb speaks the protocol docs/protocols-bithumb.md describes."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from btclib.exchanges import bithumb
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.bithumb import PATH, expected_line, size_text
from btclib.simulator.expected import line_for

BOOK_KEYS = [
    "type",
    "code",
    "total_ask_size",
    "total_bid_size",
    "orderbook_units",
    "level",
    "timestamp",
    "stream_type",
]
NUMBER = re.compile(rb"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")  # plain, no exponent, no 0 tail


def config(**settings: float | None) -> SimConfig:
    return SimConfig(seed=3, speedup=5.0, record_sent=True, settings=settings)


async def subscribe(ws: ClientConnection, *codes: str) -> None:
    await ws.send(bithumb.subscription(codes or ("KRW-BTC",), ticket="test"))


async def test_a_subscription_gets_binary_whole_books_and_trades_in_the_wire_layout() -> None:
    async with Simulator(config()) as sim:
        assert sim.urls["bithumb"] == f"ws://127.0.0.1:{sim.port}{PATH}"
        async with connect(sim.urls["bithumb"]) as ws:
            await subscribe(ws)
            kinds: dict[str, list[bytes]] = {"orderbook": [], "trade": []}
            while len(kinds["orderbook"]) < 3 or not kinds["trade"]:
                frame = await asyncio.wait_for(ws.recv(), 10)
                assert isinstance(frame, bytes)  # binary, as on the wire
                kinds[json.loads(frame)["type"]].append(frame)
    first = json.loads(kinds["orderbook"][0])
    assert list(first) == BOOK_KEYS and first["stream_type"] == "SNAPSHOT"
    assert len(first["orderbook_units"]) == 15 and len(str(first["timestamp"])) == 16
    for frame in kinds["orderbook"]:
        units = re.search(rb'"orderbook_units":\[(.*?)\]', frame)
        assert units is not None
        for number in re.findall(rb":([^,}]+)", units.group(1)):
            assert NUMBER.fullmatch(number), number  # 116208000, 0.0113: never 1.16E8
    trade = json.loads(kinds["trade"][0])
    assert list(trade)[:5] == ["type", "code", "trade_price", "trade_volume", "ask_bid"]


async def test_each_frame_sent_gives_the_parsers_line_and_the_scanners_line() -> None:
    parser = bithumb.Parser(["KRW-BTC", "KRW-ETH"])
    async with Simulator(config()) as sim:
        async with connect(sim.urls["bithumb"]) as ws:
            await subscribe(ws, "KRW-BTC", "KRW-ETH")
            for _ in range(40):
                await asyncio.wait_for(ws.recv(), 10)
        sent = [f for f in sim.sent if f.exchange == "bithumb"]
    assert len(sent) >= 40
    for frame in sent:
        payload = frame.payload if isinstance(frame.payload, bytes) else frame.payload.encode()
        expected = line_for("bithumb", payload, {"bithumb_codes": ["KRW-BTC", "KRW-ETH"]})
        assert expected == expected_line(payload) and expected is not None
        assert parser(payload).line == expected


async def test_text_ping_gets_status_up_and_keeps_it_coming() -> None:
    async with Simulator(config(bithumb_status_interval=0.2)) as sim:
        ws = await connect(sim.urls["bithumb"])
        await ws.send("PING")
        replies = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
        await ws.close()
    assert replies == [b'{"status":"UP"}'] * 3


@pytest.mark.parametrize(
    ("request_text", "name"),
    [
        ('[{"type":"orderbook","codes":["KRW-BTC"]}]', "NO_TICKET"),
        ("hello", "WRONG_FORMAT"),
        ('[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
        ('[{"ticket":"t"},{"type":"orderbook","codes":[]}]', "INVALID_PARAM"),
    ],
)
async def test_a_bad_request_gets_an_error_then_a_normal_close(
    request_text: str, name: str
) -> None:
    async with Simulator(config()) as sim, connect(sim.urls["bithumb"]) as ws:
        await ws.send(request_text)
        error = await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(bithumb.BithumbError, match=name):
            bithumb.Parser()(error if isinstance(error, bytes) else error.encode())
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1000


async def test_an_idle_client_is_dropped_without_a_close_frame() -> None:
    async with Simulator(config(bithumb_idle_timeout=0.5)) as sim:
        ws = await connect(sim.urls["bithumb"], ping_interval=None)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 1006


async def test_handshakes_beyond_ten_a_second_are_refused_with_429() -> None:
    async with Simulator(config(bithumb_connect_window=60.0)) as sim:
        opened = []
        for _ in range(10):
            opened.append(await connect(sim.urls["bithumb"]))
        with pytest.raises(InvalidStatus) as refused:
            await connect(sim.urls["bithumb"], open_timeout=5)
        assert refused.value.response.status_code == 429
        assert b"too_many_requests" in refused.value.response.body
        upbit = await connect(sim.urls["upbit"])  # another exchange's budget is its own
        for ws in [*opened, upbit]:
            await ws.close()


async def test_the_listing_is_served_on_the_simulators_port_under_bithumb() -> None:
    async with Simulator(config()) as sim:
        url = sim.listing_urls["bithumb"]
        assert url.endswith("/bithumb/v1/market/all")
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
        assert (
            sim.listing_urls["upbit"].endswith("/v1/market/all")
            and url != sim.listing_urls["upbit"]
        )
    assert bithumb.parse_listing(body) == ["KRW-BTC", "KRW-ETH", "KRW-USDT"]


async def test_bithumbs_book_shows_the_premium_upbits_does() -> None:
    async with Simulator(config()) as sim:
        async with connect(sim.urls["bithumb"]) as ws:
            await subscribe(ws)
            await asyncio.wait_for(ws.recv(), 10)
        market = sim.market
        assert market is not None
        mids = {}
        for venue, symbol in (("bithumb", "KRW-BTC"), ("upbit", "KRW-BTC"), ("binance", "BTCUSDT")):
            book = market.book(venue, symbol)
            assert book is not None
            mids[venue] = (
                (book.bids[0].price + book.asks[0].price) / 2 / 10**book.instrument.price_decimals
            )
    params = sim.config.market
    for venue in ("bithumb", "upbit"):
        premium = mids[venue] / params.krw_per_usdt / mids["binance"] - 1
        assert premium == pytest.approx(params.premium, abs=0.002)


def test_sizes_keep_four_decimals_as_the_wire_prints_them() -> None:
    assert size_text(84_592_000_0) == "8.4592"
    assert size_text(4_999) == "0"  # dust under 0.0001 prints 0
    assert size_text(300_000_000) == "3"


async def test_an_unknown_format_and_snake_case_flags_are_ignored_as_on_the_wire() -> None:
    request = (
        '[{"ticket":"t"},{"format":"NOPE"},'
        '{"type":"orderbook","codes":["KRW-BTC"],"is_only_snapshot":true}]'
    )
    async with Simulator(config()) as sim:
        ws = await connect(sim.urls["bithumb"])
        await ws.send(request)
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]
        await ws.close()
    assert [f["stream_type"] for f in frames] == ["SNAPSHOT", "REALTIME", "REALTIME"]
    assert all("orderbook_units" in f for f in frames)  # DEFAULT format, not an error
