"""The synthetic market and the frame formatters, without any I/O."""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal

import pytest

from btclib.simulator import binance as bn
from btclib.simulator import upbit as ub
from btclib.simulator.market import Book, Instrument, Level, Market, MarketParams

START_US = 1_790_000_000_000_000


def run(market: Market, steps: int) -> list:
    return [market.step() for _ in range(steps)]


def test_same_seed_same_market() -> None:
    a, b = Market(seed=7, start_us=START_US), Market(seed=7, start_us=START_US)
    for sa, sb in zip(run(a, 500), run(b, 500), strict=True):
        assert sa == sb
    for key in a.books:
        assert bn.format_depth(a.books[key]) == bn.format_depth(b.books[key])


def test_other_seed_other_market() -> None:
    a, b = Market(seed=1, start_us=START_US), Market(seed=2, start_us=START_US)
    run(a, 100)
    run(b, 100)
    assert bn.format_depth(a.books["binance:BTCUSDT"]) != bn.format_depth(
        b.books["binance:BTCUSDT"]
    )


def test_books_stay_sorted_uncrossed_and_on_tick() -> None:
    market = Market(seed=3, start_us=START_US)
    for _ in range(3000):
        market.step()
        for book in market.books.values():
            inst = book.instrument
            bids = [lv.price for lv in book.bids]
            asks = [lv.price for lv in book.asks]
            assert bids == sorted(set(bids), reverse=True)
            assert asks == sorted(set(asks))
            assert bids[0] < asks[0]
            assert len(bids) == len(asks) == inst.depth
            assert all(p % inst.tick == 0 for p in bids + asks)
            assert all(lv.size > 0 and lv.size % inst.lot == 0 for lv in book.bids + book.asks)


def test_price_levels_and_premium() -> None:
    params = MarketParams(premium=0.05, krw_per_usdt=1_350.0)
    market = Market(params, seed=1, start_us=START_US)
    run(market, 1000)  # 10 s of market time
    usd = market.books["binance:BTCUSDT"].bids[0].price / 100
    krw = market.books["upbit:KRW-BTC"].bids[0].price
    usdt = market.books["upbit:KRW-USDT"].bids[0].price
    assert 80_000 < usd < 110_000
    assert krw / (usd * 1_350) == pytest.approx(1.05, abs=0.003)
    assert usdt == pytest.approx(1_350, abs=3)
    eth = market.books["binance:ETHUSDT"].bids[0].price / 100
    assert 2_000 < eth < 5_000


def test_trades_ids_times_and_prices() -> None:
    market = Market(seed=5, start_us=START_US)
    trades = [t for s in run(market, 6000) for t in s.trades]  # 60 s
    btc = [t for t in trades if t.instrument.symbol == "BTCUSDT"]
    # Poisson, 5 per second: 300 expected in a minute.
    assert 220 < len(btc) < 380
    assert [t.trade_id for t in btc] == list(range(btc[0].trade_id, btc[0].trade_id + len(btc)))
    assert all(a.time_us < b.time_us for a, b in itertools.pairwise(btc))
    for t in trades:
        # A trade happens at the touch: the best opposite level right after it
        # is the traded price or the next one behind it.
        assert t.best_bid.price < t.best_ask.price
        if t.buyer_maker:
            assert t.price >= t.best_bid.price
        else:
            assert t.price <= t.best_ask.price
        assert t.size > 0


def test_steps_report_book_changes_and_quiet_books() -> None:
    market = Market(seed=1, start_us=START_US)
    steps = run(market, 2000)
    busy = sum("binance:BTCUSDT" in s.changed for s in steps)
    quiet = sum("upbit:KRW-USDT" in s.changed for s in steps)
    assert busy > 800
    assert quiet < busy / 3  # KRW-USDT is a quiet book: Upbit sends nothing then
    assert steps[-1].time_us == START_US + 2000 * 10_000
    assert steps[-1].elapsed_ms == 20_000


def test_binance_update_id_strictly_increases() -> None:
    market = Market(seed=2, start_us=START_US)
    ids = []
    for _ in range(300):
        market.step()
        ids.append(market.books["binance:BTCUSDT"].update_id)
    assert all(a < b for a, b in itertools.pairwise(ids))


# -- Binance formatting ----------------------------------------------------------------

DEPTH_RE = re.compile(
    r'^\{"lastUpdateId":\d+,"bids":\[(\["\d+\.\d{8}","\d+\.\d{8}"\],?){5}\],'
    r'"asks":\[(\["\d+\.\d{8}","\d+\.\d{8}"\],?){5}\]\}$'
)
TRADE_RE = re.compile(
    r'^\{"e":"trade","E":\d{13},"s":"BTCUSDT","t":\d+,"p":"\d+\.\d{8}","q":"\d+\.\d{8}",'
    r'"T":\d{13},"m":(true|false),"M":true\}$'
)


def test_binance_depth_and_trade_shape() -> None:
    market = Market(seed=1, start_us=START_US)
    steps = run(market, 400)
    depth = bn.format_depth(market.books["binance:BTCUSDT"], 5)
    assert DEPTH_RE.match(depth), depth
    payload = json.loads(depth)
    assert list(payload) == ["lastUpdateId", "bids", "asks"]
    bids = [Decimal(p) for p, _ in payload["bids"]]
    asks = [Decimal(p) for p, _ in payload["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
    trade = next(t for s in steps for t in s.trades if t.instrument.symbol == "BTCUSDT")
    text = bn.format_trade(trade)
    assert TRADE_RE.match(text), text
    data = json.loads(text)
    assert data["T"] == trade.time_us // 1000 and data["E"] >= data["T"]
    micro = json.loads(bn.format_trade(trade, "us"))
    assert micro["T"] == trade.time_us and micro["E"] >= micro["T"]
    assert bn.wrap("btcusdt@trade", text) == '{"stream":"btcusdt@trade","data":' + text + "}"
    assert len(json.loads(bn.format_depth(market.books["binance:BTCUSDT"], 20))["bids"]) == 20


def test_server_shutdown_event() -> None:
    assert bn.server_shutdown(1_770_123_456_789_000, combined=False) == (
        '{"e":"serverShutdown","E":1770123456789}'
    )
    assert bn.server_shutdown(1_770_123_456_789_000, combined=True) == (
        '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}'
    )


@pytest.mark.parametrize(
    ("name", "kind", "interval"),
    [
        ("btcusdt@depth5", "depth", 1000),
        ("btcusdt@depth5@100ms", "depth", 100),
        ("btcusdt@depth20@1000ms", "depth", 1000),
        ("ethusdt@trade", "trade", 0),
        ("btcusdt@aggTrade", "silent", 0),
        ("btcusdt@kline_1m", "silent", 0),
        ("!miniTicker@arr", "silent", 0),
    ],
)
def test_parse_valid_stream(name: str, kind: str, interval: int) -> None:
    spec = bn.parse_stream(name, ["BTCUSDT", "ETHUSDT"])
    assert spec is not None and spec.kind == kind and spec.interval_ms == interval


@pytest.mark.parametrize(
    "name", ["BTCUSDT@depth5", "btcusdt@depth7", "xyzusdt@trade", "btcusdt", "btcusdt@trades", ""]
)
def test_parse_invalid_stream(name: str) -> None:
    assert bn.parse_stream(name, ["BTCUSDT", "ETHUSDT"]) is None


def test_parse_url() -> None:
    assert bn.parse_url("/ws/btcusdt@trade") == bn.UrlRequest(False, ("btcusdt@trade",), "ms")
    assert bn.parse_url("/ws") == bn.UrlRequest(False, (), "ms")
    assert bn.parse_url("/stream?streams=a@trade/b@depth5&timeUnit=MICROSECOND") == (
        bn.UrlRequest(True, ("a@trade", "b@depth5"), "us")
    )
    assert bn.parse_url("/stream?timeUnit=microsecond").time_unit == "us"
    assert bn.parse_url("/stream") == bn.UrlRequest(True, (), "ms")
    assert bn.parse_url("/websocket/v1") is None
    assert bn.parse_url("/wsx") is None


def session(path: str = "/ws") -> bn.BinanceSession:
    url = bn.parse_url(path)
    assert url is not None
    return bn.BinanceSession(url, ["BTCUSDT", "ETHUSDT"], max_streams=4)


def test_control_messages() -> None:
    s = session("/ws/btcusdt@trade")
    assert (
        s.handle('{"method":"LIST_SUBSCRIPTIONS","id":3}') == '{"result":["btcusdt@trade"],"id":3}'
    )
    assert s.handle('{"method":"SUBSCRIBE","params":["btcusdt@depth5"],"id":1}') == (
        '{"result":null,"id":1}'
    )
    assert s.handle('{"method":"LIST_SUBSCRIPTIONS","id":"ab1"}') == (
        '{"result":["btcusdt@trade","btcusdt@depth5"],"id":"ab1"}'
    )
    assert s.handle('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":312}') == (
        '{"result":null,"id":312}'
    )
    assert s.handle('{"method":"GET_PROPERTY","params":["combined"],"id":2}') == (
        '{"result":false,"id":2}'
    )
    assert s.handle('{"method":"SET_PROPERTY","params":["combined",true],"id":5}') == (
        '{"result":null,"id":5}'
    )
    assert s.combined
    assert s.handle('{"method":"GET_PROPERTY","params":["combined"],"id":null}') == (
        '{"result":true,"id":null}'
    )


@pytest.mark.parametrize(
    ("request_text", "reply"),
    [
        (
            '{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":2}',
            '{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}',
        ),
        (
            '{"method":"SUBSCRIBE","params":["xyzusdt@trade"],"id":2}',
            '{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}',
        ),
        (
            '{"method":"SUBSCRIBE","params":["a@trade","b@trade","c@trade","d@trade","e@trade"]}',
            '{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":null}',
        ),
        ("{not json", None),
        (
            '{"method":"SET_PROPERTY","params":["speed",true],"id":7}',
            '{"error":{"code":0,"msg":"Unknown property"},"id":7}',
        ),
        (
            '{"method":"SET_PROPERTY","params":["combined","yes"],"id":7}',
            '{"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":7}',
        ),
        (
            '{"method":"GET_PROPERTY","params":["combined","x"],"id":7}',
            '{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":7}',
        ),
        (
            '{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":true}',
            '{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},'
            '"id":null}',
        ),
    ],
)
def test_control_errors_are_nested(request_text: str, reply: str | None) -> None:
    s = session()
    answer = s.handle(request_text)
    if reply is None:
        data = json.loads(answer)
        assert list(data) == ["error", "id"] and data["id"] is None
        assert data["error"]["code"] == 3 and data["error"]["msg"].startswith("Invalid JSON: ")
    else:
        assert answer == reply
    assert s.streams == {}


def test_unknown_method_and_missing_method() -> None:
    s = session()
    err = json.loads(s.handle('{"method":"PING","id":1}'))["error"]
    assert err["code"] == 2 and err["msg"].startswith("Invalid request: unknown variant `PING`")
    err = json.loads(s.handle('{"params":[],"id":1}'))["error"]
    assert err["code"] == 2 and err["msg"].startswith("Invalid request: missing field `method`")


def test_too_many_streams() -> None:
    s = session()
    names = [f"btcusdt@depth{n}" for n in (5, 10, 20)] + ["btcusdt@trade", "ethusdt@trade"]
    assert s.handle(json.dumps({"method": "SUBSCRIBE", "params": names, "id": 19})) == (
        '{"error":{"code":4,"msg":"Too many subscriptions"},"id":19}'
    )


def test_session_cadence_and_wrapping() -> None:
    market = Market(seed=1, start_us=START_US)
    s = session("/stream?streams=btcusdt@depth5@100ms/btcusdt@depth5/btcusdt@trade/BTCUSDT@trade")
    assert list(s.streams) == ["btcusdt@depth5@100ms", "btcusdt@depth5", "btcusdt@trade"]
    frames = [f for _ in range(1000) for f in s.frames(market.step(), market)]  # 10 s
    names = [n for n, _ in frames]
    assert names.count("btcusdt@depth5@100ms") == 100
    assert names.count("btcusdt@depth5") == 10
    trades = [json.loads(f)["data"] for n, f in frames if n == "btcusdt@trade"]
    assert 20 < len(trades) < 90
    assert all(t["s"] == "BTCUSDT" for t in trades)
    for name, text in frames:
        assert text.startswith(f'{{"stream":"{name}","data":{{')
    ids = [json.loads(f)["data"]["lastUpdateId"] for n, f in frames if n == "btcusdt@depth5@100ms"]
    assert all(a < b for a, b in itertools.pairwise(ids))


# -- Upbit formatting and requests -------------------------------------------------------


def small_book() -> Book:
    inst = Instrument("upbit", "KRW-BTC", "BTC", "KRW", 0, 1000, 1, 30, 10**7, 1.0, 1.0)
    return Book(
        inst,
        bids=[Level(22845000, 164598, False), Level(22844000, 39629050, True)],
        asks=[
            Level(22855000, 221720611, False),
            Level(22860000, 107409042, False),
            Level(22861000, 13138600, True),
        ],
        changed_us=1668495774440_123,
    )


def test_upbit_orderbook_default_matches_real_spelling() -> None:
    text = ub.format_orderbook(small_book(), 30, stream_type="REALTIME")
    assert text == (
        '{"type":"orderbook","code":"KRW-BTC","timestamp":1668495774440,'
        '"total_ask_size":3.42268253,"total_bid_size":0.39793648,"orderbook_units":['
        '{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,"bid_size":0.00164598},'
        '{"ask_price":2.286E7,"bid_price":2.2844E7,"ask_size":1.07409042,"bid_size":0.39629050},'
        '{"ask_price":2.2861E7,"bid_price":0.0,"ask_size":0.13138600,"bid_size":0.0}],'
        '"stream_type":"REALTIME","level":0}'
    )
    assert list(json.loads(text)) == [
        "type",
        "code",
        "timestamp",
        "total_ask_size",
        "total_bid_size",
        "orderbook_units",
        "stream_type",
        "level",
    ]


def test_upbit_orderbook_simple_units_and_micro() -> None:
    book = small_book()
    text = ub.format_orderbook(book, 1, simple=True, stream_type="SNAPSHOT")
    assert text == (
        '{"ty":"orderbook","cd":"KRW-BTC","tms":1668495774440,"tas":2.21720611,'
        '"tbs":0.00164598,"obu":[{"ap":22855000,"bp":22845000,"as":2.21720611,'
        '"bs":0.00164598}],"st":"SNAPSHOT","lv":0}'
    )
    micro = json.loads(ub.format_orderbook(book, 5, microseconds=True))
    assert micro["timestamp"] == 1668495774440_123
    listed = ub.format_orderbook(book, 5, as_list=True)
    assert listed.startswith("[{") and listed.endswith("}]")


def test_upbit_trade_shapes() -> None:
    market = Market(seed=4, start_us=START_US)
    trade = next(
        t for _ in range(5000) for t in market.step().trades if t.instrument.symbol == "KRW-BTC"
    )
    prev = market.prev_close["upbit:KRW-BTC"]
    default = ub.format_trade(trade, prev)
    data = json.loads(default, parse_float=Decimal)
    assert list(data) == [
        "type",
        "code",
        "timestamp",
        "trade_date",
        "trade_time",
        "trade_timestamp",
        "trade_price",
        "trade_volume",
        "ask_bid",
        "prev_closing_price",
        "change",
        "change_price",
        "sequential_id",
        "best_ask_price",
        "best_ask_size",
        "best_bid_price",
        "best_bid_size",
        "stream_type",
    ]
    assert re.search(r'"trade_price":1\.\d+E8,', default)
    assert re.search(r'"prev_closing_price":\d+\.00000000,', default)
    assert data["trade_price"] == trade.price and data["ask_bid"] in ("ASK", "BID")
    assert data["sequential_id"] == trade.time_us
    assert data["trade_timestamp"] == trade.time_us // 1000
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["trade_date"])
    assert re.fullmatch(r"\d\d:\d\d:\d\d", data["trade_time"])
    simple = json.loads(ub.format_trade(trade, prev, simple=True, stream_type="SNAPSHOT"))
    assert list(simple) == [
        "ty",
        "cd",
        "tms",
        "td",
        "ttm",
        "ttms",
        "tp",
        "tv",
        "ab",
        "pcp",
        "c",
        "cp",
        "sid",
        "bap",
        "bas",
        "bbp",
        "bbs",
        "st",
    ]
    assert simple["st"] == "SNAPSHOT"


def test_upbit_sizes_mix_bigdecimal_and_double_spellings() -> None:
    market = Market(seed=1, start_us=START_US)
    run(market, 500)
    texts = [ub.format_orderbook(market.books["upbit:KRW-BTC"]) for _ in range(1)]
    sizes = re.findall(r'"(?:ask|bid)_size":([0-9.E-]+)', texts[0])
    assert len(sizes) == 60
    # Both Java spellings occur: BigDecimal keeps 8 decimals, a double is shortest.
    assert any(len(s.split(".")[1]) == 8 for s in sizes)
    assert any(re.fullmatch(r"\d+\.\d{1,7}", s) for s in sizes)


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("hello", "WRONG_FORMAT", "Format 이 맞지 않습니다."),
        ('{"ticket":"x"}', "WRONG_FORMAT", "Format 이 맞지 않습니다."),
        (
            '[{"type":"orderbook","codes":["KRW-BTC"]}]',
            "NO_TICKET",
            "티켓이 존재하지 않거나, 유효하지 않습니다.",
        ),
        ('[{"ticket":""},{"type":"orderbook","codes":["KRW-BTC"]}]', "NO_TICKET", None),
        ('[{"ticket":"t"}]', "NO_TYPE", None),
        ('[{"ticket":"t"},{"type":"orderbook"}]', "NO_CODES", None),
        ('[{"ticket":"t"},{"type":"orderbook","codes":[]}]', "NO_CODES", None),
        (
            '[{"ticket":"t"},{"type":"nope","codes":["KRW-BTC"]}]',
            "INVALID_PARAM",
            "nope 은 지원하지 않는 타입입니다.",
        ),
        (
            '[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"]},{"format":"XML"}]',
            "INVALID_PARAM",
            None,
        ),
    ],
)
def test_upbit_request_errors(text: str, name: str, message: str | None) -> None:
    error = ub.parse_request(text)
    assert isinstance(error, ub.UpbitError) and error.name == name
    if message is not None:
        assert error.message == message
    assert json.loads(error.to_json()) == {"error": {"name": name, "message": error.message}}
    assert error.to_json().startswith(f'{{"error":{{"name":"{name}","message":"')


def test_upbit_request_flags_and_units() -> None:
    req = ub.parse_request(
        '[{"ticket":"t"},{"format":"SIMPLE"},'
        '{"type":"orderbook","codes":["KRW-BTC.5","KRW-ETH.7","KRW-USDT.15","KRW-BTC"],'
        '"isOnlyRealtime":true},{"type":"trade","codes":["KRW-BTC"],"is_only_snapshot":true}]'
    )
    assert isinstance(req, ub.UpbitRequest) and req.format == "SIMPLE"
    book, trade = req.subscriptions
    assert book.codes == (("KRW-BTC", 5), ("KRW-ETH", 30), ("KRW-USDT", 15), ("KRW-BTC", 30))
    assert book.only_realtime and not book.only_snapshot
    assert trade.only_snapshot and not trade.only_realtime


def test_upbit_session_snapshot_then_realtime_on_grid() -> None:
    market = Market(seed=1, start_us=START_US)
    run(market, 50)
    s = ub.UpbitSession()
    reply = s.handle(
        '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.5","krw-btc","KRW-XYZ"]}]', market
    )
    assert reply.subscribed and not reply.close and reply.control == []
    assert [c for c, _ in reply.data] == ["orderbook"]
    snap = json.loads(reply.data[0][1])
    assert snap["stream_type"] == "SNAPSHOT" and snap["code"] == "KRW-BTC"
    assert len(snap["orderbook_units"]) == 5
    times = []
    for _ in range(1000):
        step = market.step()
        for _, text in s.frames(step, market):
            frame = json.loads(text)
            assert frame["stream_type"] == "REALTIME" and len(frame["orderbook_units"]) == 5
            times.append(step.elapsed_ms)
    assert times and all(t % 100 == 0 for t in times)
    assert len(times) > 50  # KRW-BTC is busy: most 100 ms slots carry a frame


def test_upbit_session_quiet_book_sends_nothing() -> None:
    params = MarketParams(upbit_usdt_trade_rate=0.0)
    market = Market(params, seed=1, start_us=START_US)
    s = ub.UpbitSession()
    s.handle('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-USDT"]}]', market)
    slots, sent = 0, 0
    for _ in range(2000):
        step = market.step()
        frames = s.frames(step, market)
        if step.elapsed_ms % 100 == 0:
            slots += 1
            sent += len(frames)
    assert slots == 200 and sent < slots / 2


def test_upbit_session_replace_ping_and_list() -> None:
    market = Market(seed=1, start_us=START_US)
    s = ub.UpbitSession()
    assert s.handle("PING", market).control == ['{"status":"UP"}']
    s.handle('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]}]', market)
    reply = s.handle(
        '[{"ticket":"u"},{"type":"trade","codes":["KRW-BTC"],"is_only_realtime":true}]', market
    )
    assert reply.data == []  # realtime only: no snapshot
    listed = s.handle('[{"ticket":"v"},{"method":"LIST_SUBSCRIPTIONS"}]', market).control
    assert listed == [
        '{"method":"LIST_SUBSCRIPTIONS","result":[{"type":"trade","codes":["KRW-BTC"]}],'
        '"ticket":"v"}'
    ]
    kinds = {c for _ in range(3000) for c, _ in s.frames(market.step(), market)}
    assert kinds == {"trade"}  # the orderbook subscription was replaced
