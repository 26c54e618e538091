"""Every market: ``--symbol all``/``--code all``, the split over connections, the listings.

The partition rules (streams per connection, SUBSCRIBE messages within the
rate limit, the shared connection budget) are checked on the feeds alone; the
listings are parsed in the exchanges' real shapes; the simulator lists and
serves every market, and a recording of ``both`` with ``all`` writes lines for
each of them.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from btclib.exchanges import binance, upbit
from btclib.exchanges.markets import ListingError, fetch_listing, split_evenly, wants_all
from btclib.feed import Data, Notice
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.listing import BINANCE_MARKETS, UPBIT_MARKETS, listed_instruments
from btclib.simulator.market import Market
from btclib.steps import steps

SYMBOLS = [f"s{n:04d}usdt" for n in range(1500)]

# The shapes of the live answers (fields trimmed; the parsers must ignore the others).
EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1790134742106,
    "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
    ],
    "exchangeFilters": [],
    "symbols": [
        {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
         "isSpotTradingAllowed": True, "permissionSets": [["SPOT", "MARGIN"]]},
        {"symbol": "LUNABUSD", "status": "BREAK", "baseAsset": "LUNA", "quoteAsset": "BUSD",
         "isSpotTradingAllowed": True},
        {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
         "isSpotTradingAllowed": True},
        {"symbol": "XYZUSDT", "status": "TRADING", "isSpotTradingAllowed": False},
        {"symbol": "HALTUSDT", "status": "HALT"},
    ],
}  # fmt: skip
MARKET_ALL = [
    {"market": "KRW-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
    {"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
    {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin",
     "market_warning": "NONE"},
    {"market": "USDT-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"},
    {"market": "KRW-XRP", "korean_name": "리플", "english_name": "XRP"},
]  # fmt: skip


# -- the split over connections ----------------------------------------------------------


def test_all_binance_symbols_take_as_few_connections_as_1024_streams_allow():
    feeds = binance.feeds(SYMBOLS, base="wss://x")
    assert len(feeds) == 3  # 3,000 streams: 1024 a connection needs three
    assert [len(f.streams) for f in feeds] == [1000, 1000, 1000]
    every = [s for f in feeds for s in f.streams]
    assert len(every) == len(set(every)) == 3000
    assert all(len(f.streams) <= binance.LIMITS.streams_per_connection for f in feeds)
    assert len(binance.feeds(SYMBOLS[:512], base="wss://x")) == 1
    assert len(binance.feeds(SYMBOLS[:513], base="wss://x")) == 2


def test_each_connection_asks_for_its_streams_once_in_url_and_few_subscribe_messages():
    for feed in binance.feeds(SYMBOLS, base="wss://x"):
        assert (
            len(feed.requests) <= binance.LIMITS.subscribe_budget < 5
        )  # under 5 messages a second
        assert len(feed.url) <= len("wss://x/stream?streams=") + (binance.LIMITS.url_budget or 0)
        in_url = feed.url.split("streams=", 1)[1].split("/")
        messages = [json.loads(r) for r in feed.requests]
        assert all(m["method"] == "SUBSCRIBE" for m in messages)
        assert len({m["id"] for m in messages}) == len(messages)
        asked = in_url + [p for m in messages for p in m["params"]]
        names = [n for key in feed.streams[::2] for n in binance.stream_names(key.split("@")[0])]
        assert sorted(asked) == sorted(names) and len(asked) == len(set(asked))


def test_one_symbol_keeps_the_single_url_and_sends_nothing():
    feed = binance.make_feed("wss://x", {"symbol": "btcusdt", "depth_speed": "1000ms"})
    assert feed.url == "wss://x/stream?streams=btcusdt@depth5/btcusdt@trade"
    assert feed.requests == () and feed.connect_limit == (300, 300.0)


def test_connections_of_one_exchange_share_the_300_per_5_minutes_budget():
    feeds = binance.feeds(SYMBOLS, base="wss://x")
    assert sum(f.connect_limit[0] for f in feeds) <= 300
    assert {f.connect_limit[1] for f in feeds} == {300.0}


def test_every_upbit_code_goes_on_one_connection_in_one_request():
    codes = [f"KRW-C{n:03d}" for n in range(200)]
    (feed,) = upbit.feeds(codes)
    (request,) = feed.requests
    assert json.loads(request)[1]["codes"] == codes
    assert list(feed.stall_after) == ["c000krw@orderbook"]  # only the first is watched
    few = upbit.feed(codes[:3])
    assert len(few.stall_after) == 3
    many = upbit.feeds([f"KRW-C{n:04d}" for n in range(1601)])
    assert [len(f.streams) for f in many] == [534, 534, 533]
    assert sum(f.connect_limit[0] for f in many) <= 5


def test_split_evenly_keeps_order_and_balances():
    assert split_evenly(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split_evenly([], 3) == []
    with pytest.raises(ValueError):
        split_evenly([1], 0)


def test_all_is_told_from_a_list_and_stands_for_the_default_until_resolved():
    assert wants_all("all") and wants_all(["ALL"]) and not wants_all(["btcusdt"])
    assert binance.symbols(["all"]) == ["btcusdt"] and upbit.codes("all") == ["KRW-BTC"]
    assert binance.symbols(["ETHUSDT", "ethusdt", "btcusdt"]) == ["ethusdt", "btcusdt"]


def test_a_connection_of_many_symbols_parses_each_with_its_own_parser():
    feed = binance.feed(["btcusdt", "ethusdt"], base="wss://x")
    trade = (
        b'{"stream":"ethusdt@trade","data":{"e":"trade","E":1,"s":"ETHUSDT","t":7,'
        b'"p":"3300.10000000","q":"0.50000000","T":1,"m":true,"M":true}}'
    )
    depth = (
        b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":9,"bids":[["1.0","2.0"]],'
        b'"asks":[["1.1","3.0"]]}}'
    )
    assert Data._make(feed.parser(trade)) == binance.Parser("ethusdt")(trade)
    assert Data._make(feed.parser(bytearray(depth))) == binance.Parser("btcusdt")(depth)
    assert feed.parser(b'{"result":null,"id":1}') == Notice("reply", '{"result":null,"id":1}')
    other = b'{"stream":"xrpusdt@trade","data":{"e":"trade","E":1,"s":"XRPUSDT","t":1}}'
    assert feed.parser(other).kind == "unexpected"


def test_an_error_answering_a_subscribe_names_the_symbols_it_asked_for():
    feed = binance.feed(SYMBOLS[:300], base="wss://x")
    (first,) = [json.loads(r) for r in feed.requests[:1]]
    error = b'{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":%d}' % first["id"]
    with pytest.raises(binance.BinanceError, match=rf"SUBSCRIBE {first['id']} asked for .* of"):
        feed.parser(error)


# -- the listings ------------------------------------------------------------------------


def test_binance_listing_keeps_spot_symbols_trading_in_lower_case():
    body = json.dumps(EXCHANGE_INFO).encode()
    assert binance.parse_listing(body) == ["ethbtc", "btcusdt"]


def test_upbit_listing_keeps_krw_markets_with_krw_btc_first():
    body = json.dumps(MARKET_ALL, ensure_ascii=False).encode()
    assert upbit.parse_listing(body) == ["KRW-BTC", "KRW-ETH", "KRW-XRP"]


@pytest.mark.parametrize("module", [binance, upbit])
def test_a_listing_that_is_not_one_says_so(module):
    with pytest.raises(ListingError, match="not JSON"):
        module.parse_listing(b"<html>502 Bad Gateway</html>")
    with pytest.raises(ListingError, match=module.TITLE):
        module.parse_listing(
            b'{"code":-1121,"msg":"Invalid symbol."}' if module is upbit else b"[]"
        )


async def test_a_listing_that_cannot_be_fetched_says_why_in_plain_words():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    url = f"http://127.0.0.1:{port}/api/v3/exchangeInfo"
    with pytest.raises(ListingError, match=rf"cannot list Binance's markets from {url}: .*refused"):
        await fetch_listing(url, "Binance", timeout=5)


# -- the simulator -----------------------------------------------------------------------


async def test_the_simulator_lists_every_market_over_http_on_its_port():
    async with Simulator(SimConfig(seed=1)) as sim:
        info = await fetch_listing(sim.listing_urls["binance"], "Binance")
        codes = await fetch_listing(sim.listing_urls["upbit"], "Upbit")
        not_found = sim.base.replace("ws://", "http://") + "/api/v3/ticker"
        with pytest.raises(ListingError, match="HTTP 404"):
            await fetch_listing(not_found, "Binance")
    symbols = binance.parse_listing(info)
    assert len(symbols) == BINANCE_MARKETS and symbols[:2] == ["btcusdt", "ethusdt"]
    assert len(json.loads(info)["symbols"]) > BINANCE_MARKETS  # some in BREAK, left out
    assert len(upbit.parse_listing(codes)) == UPBIT_MARKETS
    assert {s.upper() for s in symbols} == {
        i.symbol for i in sim.instruments if i.venue == "binance"
    }


async def test_a_listed_symbol_not_trading_is_answered_with_silence():
    async with Simulator(SimConfig(seed=1)) as sim:
        info = json.loads(await fetch_listing(sim.listing_urls["binance"], "Binance"))
        halted = next(s["symbol"].lower() for s in info["symbols"] if s["status"] != "TRADING")
        served = binance.parse_listing(json.dumps(info))[5]
        url = f"{sim.urls['binance']}/stream?streams={halted}@trade/{served}@depth5"
        async with connect(url) as ws:
            frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
    assert {f["stream"] for f in frames} == {f"{served}@depth5"}


def test_listed_markets_are_stepped_only_once_watched_and_only_at_their_events():
    market = Market(seed=3, listed=listed_instruments())
    market.step()
    assert market.book("binance", "XPVPUSDT") is None  # listed, nobody asked
    assert market.watch("binance", ["XPVPUSDT", "NOSUCHUSDT", "BTCUSDT"]) == 1
    book = market.book("binance", "XPVPUSDT")
    assert book is not None and len(book.bids) == len(book.asks) == 20
    ids, trades = [], 0
    for _ in range(300):  # 3 s of market time
        step = market.step()
        trades += sum(t.instrument.symbol == "XPVPUSDT" for t in step.trades)
        if step.elapsed_ms % 1000 == book.instrument.phase_ms:
            ids.append(book.update_id)
    assert len(market._events) == 1  # one scheduled next event per watched market
    assert ids == sorted(set(ids)) and len(ids) == 3  # every depth publication a new id
    assert trades > 0


async def test_recording_both_with_all_writes_lines_for_every_listed_market(tmp_path: Path):
    said: list[str] = []
    summary = await steps.record(
        "both",
        duration=6.0,
        source="sim",
        seed=7,
        out=tmp_path / "all.txt",
        progress=None,
        announce=said.append,
        symbol="all",
        codes=["all"],
    )
    assert summary.markets == {
        "binance": (BINANCE_MARKETS, BINANCE_MARKETS),
        "upbit": (UPBIT_MARKETS, UPBIT_MARKETS),
    }
    assert "markets with data: binance 1500 of 1500, upbit 200 of 200" in summary.text()
    assert summary.dropped == 0 and summary.bad_frames == 0 and summary.errors == []
    assert summary.connections == 4  # three Binance connections, one Upbit
    assert summary.reconnects == 0  # the SUBSCRIBE messages stayed within the rate limit
    assert any("1500 markets listed by http://127.0.0.1:" in text for text in said)
    keys = {line.split(b",", 1)[0].split(b"@")[0] for line in (tmp_path / "all.txt").open("rb")}
    assert len(keys) == BINANCE_MARKETS + UPBIT_MARKETS


async def test_record_takes_a_list_of_symbols_on_one_connection(tmp_path: Path):
    summary = await steps.record(
        "binance",
        duration=2.5,
        source="sim",
        out=tmp_path / "two.txt",
        progress=None,
        announce=lambda text: None,
        symbol=["btcusdt", "ETHUSDT"],
    )
    assert summary.connections == 1
    assert summary.markets == {"binance": (2, 2)}
    assert summary.lines["btcusdt@orderbook"] > 0 and summary.lines["ethusdt@orderbook"] > 0


def test_bench_scale_records_every_market_and_loses_nothing():
    from btclib.tools.bench import scale

    result = scale.run(window=3.0, warmup=3.0)["scale"]
    assert set(result) >= {"markets", "frames_per_s", "cpu_percent", "rss_mb", "lines_lost"}
    assert result["markets"] == BINANCE_MARKETS + UPBIT_MARKETS
    assert result["lines_lost"] == 0 and result["dropped"] == 0
    assert result["frames_per_s"] > 500 and 0 < result["cpu_percent"] < 400
    assert sum(result["frames_sent"].values()) == result["lines_written"]
