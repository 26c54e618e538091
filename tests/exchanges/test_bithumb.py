"""Bithumb's exchange module: real frames give their lines byte for byte, anything else a notice."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btclib import exchanges
from btclib.exchanges import bithumb, upbit
from btclib.exchanges.records import Book, Trade
from btclib.feed import Data, Notice

CORPUS = Path(__file__).parents[1] / "data" / "bithumb-frames.jsonl"
RECORDS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
DATA = [r for r in RECORDS if r["expect"] is not None]


def _parser(record: dict[str, Any]) -> bithumb.Parser:
    return bithumb.Parser(record["parser"]["bithumb_codes"])


def test_the_corpus_holds_real_books_trades_and_notices() -> None:
    assert {r["exchange"] for r in RECORDS} == {"bithumb"}
    kinds = {r["expect"].split("@")[1].split(",")[0] for r in DATA}
    assert kinds == {"orderbook", "trade"}
    assert {r["expect_notice"] for r in RECORDS} == {None, "unexpected", "status", "error"}
    assert all(r["source"] for r in RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["id"])
def test_each_real_frame_gives_its_line_or_its_notice(record: dict[str, Any]) -> None:
    parser, frame = _parser(record), record["frame"].encode()
    if record["expect_notice"] == "error":
        with pytest.raises(bithumb.BithumbError, match=json.loads(frame)["error"]["name"]):
            parser(frame)
        assert bithumb.classify(frame) == "error"
        return
    parsed = parser(frame)
    if record["expect"] is None:
        assert isinstance(parsed, Notice) and parsed.kind == record["expect_notice"]
        return
    assert parsed == Data(record["expect_stream"], None, record["expect"].encode() + b"\n")
    assert bithumb.classify(frame) == "data"


@pytest.mark.parametrize("record", DATA, ids=lambda r: r["id"])
def test_the_fast_path_and_the_slow_path_give_the_same_bytes(record: dict[str, Any]) -> None:
    parser, frame = _parser(record), record["frame"].encode()
    fast, slow = parser.parse(frame), parser._general(frame)
    assert tuple(fast) == tuple(slow)
    if frame.startswith(b'{"type":'):  # the documented DEFAULT layout: no slow path needed
        parser._general = None  # type: ignore[method-assign,assignment]
        parser.parse = parser._fast_path()
        assert tuple(parser.parse(frame)) == tuple(slow)
    assert bytearray(frame) and tuple(parser.parse(bytearray(frame))) == tuple(slow)


@pytest.mark.parametrize("record", DATA, ids=lambda r: r["id"])
def test_any_json_layout_gives_the_numbers_and_arrays_as_sent(record: dict[str, Any]) -> None:
    """Keys reordered and spaces around them: the slow path still copies the values' bytes."""
    message = json.loads(record["frame"])
    key = "orderbook_units" if "orderbook_units" in message else "obu"
    parts = []
    raw = record["frame"]
    for name in reversed(list(message)):
        start = raw.index(f'"{name}":') + len(name) + 3
        if name == key or name in ("trade_price", "trade_volume"):
            value = record["expect"].split(",", 1)[1] if name == key else None
            if name == "trade_price":
                value = record["expect"].split(" p:")[1].split(",q:")[0]
            if name == "trade_volume":
                value = record["expect"].split(",q:")[1]
        else:
            value = json.dumps(message[name], ensure_ascii=False)
        parts.append(f' "{name}" : {value}')
        assert raw[start:].startswith(value[:1])
    relaid = ("{" + ",".join(parts) + " }").encode()
    assert json.loads(relaid) == message
    parsed = _parser(record)(relaid)
    assert parsed == Data(record["expect_stream"], None, record["expect"].encode() + b"\n")


def test_lines_are_prefixed_and_never_read_as_upbit_lines() -> None:
    book = DATA[2]
    line = book["expect"].encode()
    assert line.startswith(b"bithumb:btckrw@orderbook,[")
    record = exchanges.read_line(line, Decimal)
    assert isinstance(record, Book) and record.exchange == "bithumb"
    assert record.market == "KRW-BTC"
    assert record.asks[2] == (Decimal("116215000"), Decimal("0"))  # a size printed 0, kept
    assert upbit.read_line(line.split(b":", 1)[1]) is not None  # the same text unprefixed...
    assert exchanges.read_line(line.split(b":", 1)[1]).exchange == "upbit"  # ...is Upbit's
    assert bithumb.read_line(line.split(b":", 1)[1]) is None


@pytest.mark.parametrize("record", DATA, ids=lambda r: r["id"])
def test_a_line_reads_back_the_numbers_of_its_frame(record: dict[str, Any]) -> None:
    from_line = bithumb.read_line(record["expect"], Decimal)
    from_frame = bithumb.read_frame(record["frame"], Decimal)
    assert from_line == from_frame and from_line is not None


def test_a_trade_line_reads_back_as_a_trade() -> None:
    trade = next(r for r in DATA if "@trade" in r["expect"])
    assert bithumb.read_line(trade["expect"], Decimal) == Trade(
        "bithumb", "KRW-BTC", Decimal("116208000"), Decimal("0.0009")
    )


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type":"orderbook","code":"KRW-BTC","total_ask_size":1',  # cut short
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"type":"orderbook","code":"KRW-BTC","total_ask_size":1,"level":1}',  # no units
        b'{"type":"orderbook","code":"KRW-BTC","orderbook_units":{"ask_price":1}}',
        b'{"type":"trade","code":"KRW-BTC","trade_volume":0.1}',  # no price
        b'{"type":"trade","code":"KRW-BTC","trade_price":"abc","trade_volume":0.1}',
        b"[1,2]",
        b"",
    ],
)
def test_a_malformed_frame_is_a_malformed_notice(frame: bytes) -> None:
    parsed = bithumb.Parser()(frame)
    assert isinstance(parsed, Notice) and parsed.kind == "malformed"
    assert bithumb.classify(frame) == "malformed"


def test_a_fast_path_surprise_falls_back_to_the_slow_path() -> None:
    parser = bithumb.Parser()
    # the documented head, but a trade price that is not a bare number: the slow path decides
    frame = b'{"type":"trade","code":"KRW-BTC","trade_price":"116208000","trade_volume":0.0009}'
    assert parser(frame).line == b"bithumb:btckrw@trade, p:116208000,q:0.0009\n"
    spaced = b'{"type":"trade","code":"KRW-BTC","trade_price": 116208000 ,"trade_volume":0.0009}'
    assert parser(spaced).line == b"bithumb:btckrw@trade, p:116208000,q:0.0009\n"


def test_data_of_a_market_not_subscribed_is_unexpected_but_data_to_classify() -> None:
    frame = DATA[0]["frame"].encode()  # KRW-ETH
    parsed = bithumb.Parser(["KRW-BTC"])(frame)
    assert isinstance(parsed, Notice) and parsed.kind == "unexpected"
    assert bithumb.classify(frame) == "data"


def test_the_request_carries_books_and_trades_of_every_code_in_one_frame() -> None:
    request = json.loads(bithumb.subscription(["KRW-BTC", "krw-eth"], ticket="t"))
    assert request == [
        {"ticket": "t"},
        {"type": "orderbook", "codes": ["KRW-BTC", "KRW-ETH"]},
        {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]},
        {"format": "DEFAULT"},
    ]
    with pytest.raises(ValueError, match="unknown Bithumb market code format 'BTC_KRW'"):
        bithumb.check_code("BTC_KRW")


def test_the_feed_follows_bithumbs_rules() -> None:
    feed = bithumb.make_feed(
        bithumb.LIVE_URL, {"bithumb_codes": ["KRW-BTC"], "bithumb_keepalive": 20.0}
    )
    assert feed.exchange == "bithumb" and feed.url == "wss://ws-api.bithumb.com/websocket/v1"
    assert feed.streams == ("bithumb:btckrw@orderbook", "bithumb:btckrw@trade")
    assert feed.connect_limit == (10, 1.0) and feed.ping_interval == 20.0
    assert set(feed.stall_after) == {"bithumb:btckrw@orderbook"}  # trades may be rare
    assert 429 in feed.status_hints
    with pytest.raises(ValueError, match="at most 30 s for Bithumb"):
        bithumb.feed(["KRW-BTC"], keepalive=45.0)
    many = bithumb.feeds([f"KRW-A{n:03d}" for n in range(600)])
    assert [len(f.streams) // 2 for f in many] == [300, 300]
    assert [f.connect_limit for f in many] == [(5, 1.0), (5, 1.0)]


def test_the_listing_gives_the_krw_markets_krw_btc_first() -> None:
    body = json.dumps(
        [
            {"market": "KRW-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
            {"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum"},
            {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"},
        ],
        ensure_ascii=False,
    )
    assert bithumb.parse_listing(body) == ["KRW-BTC", "KRW-ETH"]
    with pytest.raises(exchanges.markets.ListingError, match="not a JSON array"):
        bithumb.parse_listing('{"status":"5600"}')


def test_frame_facts_name_the_line_key_the_trade_id_and_the_microsecond_time() -> None:
    book = bithumb.frame_facts(DATA[0]["frame"])
    assert book is not None and book.stream == "bithumb:ethkrw@orderbook" and book.seq is None
    assert book.sent == pytest.approx(1790133505.546514)
    trade = bithumb.frame_facts(next(r for r in DATA if "@trade" in r["expect"])["frame"])
    assert trade is not None and trade.seq == 1079953210371761700
    assert bithumb.frame_facts(b'{"status":"UP"}') is None


def test_escaped_member_names_are_the_names_they_spell() -> None:
    trade = rb'{"type":"tr\u0061de","code":"KRW-BTC","tr\u0061de_price":116208000,"trade_volume":0.0009}'
    assert bithumb.Parser()(trade).line == b"bithumb:btckrw@trade, p:116208000,q:0.0009\n"
    book = rb'{"orderbook_\u0075nits":[{"ask_price":1,"bid_price":0}],"code":"KRW-BTC","type":"orderbook"}'
    line = b'bithumb:btckrw@orderbook,[{"ask_price":1,"bid_price":0}]\n'
    assert bithumb.Parser()(book).line == line
