"""Binance frames become SPEC lines byte for byte; non-data frames never do."""

from __future__ import annotations

import pytest

from btclib.exchanges import binance
from btclib.feed import Data, Notice

# The assignment's depth5 payload (wscat on /ws/btcusdt@depth5), wrapped as the combined stream.
ASSIGNMENT_DEPTH = (
    b'{"lastUpdateId":27547033276,"bids":[["16702.06000000","0.00069000"],'
    b'["16701.76000000","0.00861000"],["16701.75000000","0.00149000"],'
    b'["16701.32000000","0.04320000"],["16701.31000000","0.01571000"]],'
    b'"asks":[["16702.84000000","0.05546000"],["16702.85000000","0.02665000"],'
    b'["16702.86000000","0.03324000"],["16703.34000000","0.01139000"],'
    b'["16703.39000000","0.03000000"]]}'
)
ASSIGNMENT_LINE = (
    b'btcusdt@orderbook,bids:[["16702.06000000","0.00069000"],["16701.76000000","0.00861000"],'
    b'["16701.75000000","0.00149000"],["16701.32000000","0.04320000"],'
    b'["16701.31000000","0.01571000"]],asks:[["16702.84000000","0.05546000"],'
    b'["16702.85000000","0.02665000"],["16702.86000000","0.03324000"],'
    b'["16703.34000000","0.01139000"],["16703.39000000","0.03000000"]]\n'
)
# protocols.md R3: a real 2025 BTCUSDT 5-level book.
R3 = (
    b'{"lastUpdateId":74282382772,"bids":[["116851.33000000","14.02364000"],'
    b'["116851.32000000","0.00010000"],["116851.31000000","0.00009000"],'
    b'["116850.84000000","0.00010000"],["116850.83000000","0.04299000"]],'
    b'"asks":[["116851.34000000","0.78898000"],["116851.35000000","0.02279000"],'
    b'["116851.86000000","0.00030000"],["116852.00000000","0.00305000"],'
    b'["116852.07000000","0.00010000"]]}'
)
# protocols.md R6: a real trade after the 2024-06 removal of b/a.
R6 = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1751132780369,"s":"BTCUSDT",'
    b'"t":5052328858,"p":"107407.88000000","q":"0.00024000","T":1751132780368,"m":true,"M":true}}'
)
# protocols.md R4: a real 2021 ETHUSDT trade that still has b/a.
R4 = (
    b'{"stream":"ethusdt@trade","data":{"e":"trade","E":1639351062244,"s":"ETHUSDT",'
    b'"t":705291099,"p":"4149.74000000","q":"0.43870000","b":7038593583,"a":7038593613,'
    b'"T":1639351062243,"m":true,"M":true}}'
)


pytestmark = pytest.mark.usefixtures("frames_as")

def combined(stream: str, payload: bytes) -> bytes:
    return b'{"stream":"' + stream.encode() + b'","data":' + payload + b"}"


def test_assignment_depth5_becomes_the_spec_line_with_bids_once_and_asks_once():
    parsed = binance.Parser()(combined("btcusdt@depth5", ASSIGNMENT_DEPTH))
    assert parsed == Data("btcusdt@orderbook", 27547033276, ASSIGNMENT_LINE)
    assert parsed.line.count(b"asks:") == 1


def test_spec_example_lines_for_depth_and_trade():
    parser = binance.Parser()
    depth = combined(
        "btcusdt@depth5",
        b'{"lastUpdateId":27547033276,"bids":[["16702.06000000","0.00069000"]],'
        b'"asks":[["16702.84000000","0.05546000"]]}',
    )
    assert parser(depth).line == (
        b'btcusdt@orderbook,bids:[["16702.06000000","0.00069000"]],'
        b'asks:[["16702.84000000","0.05546000"]]\n'
    )
    trade = combined(
        "btcusdt@trade",
        b'{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"16728.50000000","q":"0.00626000",'
        b'"T":1,"m":true,"M":true}',
    )
    assert parser(trade) == Data(
        "btcusdt@trade", 7, b"btcusdt@trade, p:16728.50000000,q:0.00626000\n"
    )


def test_real_2025_book_and_trade_keep_every_digit():
    parser = binance.Parser(depth_speed="100ms")
    book = parser(combined("btcusdt@depth5@100ms", R3))
    assert isinstance(book, Data)
    assert book.seq == 74282382772
    assert b'["116851.33000000","14.02364000"]' in book.line
    assert book.line.endswith(b'["116852.07000000","0.00010000"]]\n')
    assert parser(R6) == Data(
        "btcusdt@trade", 5052328858, b"btcusdt@trade, p:107407.88000000,q:0.00024000\n"
    )


def test_old_trade_with_buyer_and_seller_ids_and_other_symbol():
    parsed = binance.Parser("ETHUSDT")(R4)
    assert parsed == Data(
        "ethusdt@trade", 705291099, b"ethusdt@trade, p:4149.74000000,q:0.43870000\n"
    )


def test_other_key_order_and_whitespace_still_copy_arrays_as_sent():
    parser = binance.Parser()
    frame = (
        b'{"data": {"asks": [["2.00000000", "1.00000000"]], "lastUpdateId": 9,'
        b' "bids": [["1.00000000", "3.00000000"]]}, "stream": "btcusdt@depth5"}'
    )
    assert parser(frame) == Data(
        "btcusdt@orderbook",
        9,
        b'btcusdt@orderbook,bids:[["1.00000000", "3.00000000"]],asks:[["2.00000000", "1.00000000"]]\n',
    )


def test_raw_payload_from_a_ws_path_is_understood():
    parser = binance.Parser()
    assert parser(ASSIGNMENT_DEPTH).line == ASSIGNMENT_LINE
    assert parser(R6[33:-1]).line == b"btcusdt@trade, p:107407.88000000,q:0.00024000\n"


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b'{"result":null,"id":1}', "reply"),
        (b'{"result":["btcusdt@trade"],"id":3}', "reply"),
        (
            b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}',
            "shutdown",
        ),
        (b'{"e":"serverShutdown","E":1770123456789}', "shutdown"),
        (R4, "unexpected"),
        (b"not json", "malformed"),
        (R6[:-7], "malformed"),
        (b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":1,"asks":[]}}', "malformed"),
        (b'{"stream":"btcusdt@trade","data":{"e":"trade","t":1,"p":1.5,"q":"2"}}', "malformed"),
        (b"[1,2]", "malformed"),
    ],
)
def test_non_data_frames_become_notices_not_lines(frame: bytes, kind: str):
    parsed = binance.Parser()(frame)
    assert isinstance(parsed, Notice)
    assert parsed.kind == kind


@pytest.mark.parametrize(
    "frame",
    [
        b'{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}',
        b'{"id": null, "error": {"code": 3, "msg": "Invalid json"}}',
        b'{"code": 0, "msg": "Unknown property","id": 5}',
    ],
)
def test_error_messages_raise_naming_the_error(frame: bytes):
    with pytest.raises(binance.BinanceError, match="Binance error"):
        binance.Parser()(frame)


def test_combined_url_carries_both_streams_on_one_connection():
    assert binance.stream_url() == (
        "wss://stream.binance.com:9443/stream?streams=btcusdt@depth5/btcusdt@trade"
    )
    assert binance.stream_url("BTCUSDT", "100ms", "ws://127.0.0.1:9/") == (
        "ws://127.0.0.1:9/stream?streams=btcusdt@depth5@100ms/btcusdt@trade"
    )


@pytest.mark.parametrize("symbol", ["btc-usdt", "b", "btc usdt", ""])
def test_bad_symbols_are_refused_with_the_symbol_named(symbol: str):
    with pytest.raises(ValueError, match="unknown Binance symbol format"):
        binance.check_symbol(symbol)


def test_unknown_depth_speed_is_refused():
    with pytest.raises(ValueError, match="depth speed"):
        binance.stream_names("btcusdt", "50ms")


def test_the_recorders_parse_function_gives_the_same_fields_as_the_parser():
    parser, feed = binance.Parser(), binance.feed()
    for frame in (combined("btcusdt@depth5", ASSIGNMENT_DEPTH), R6, b'{"result":null,"id":1}'):
        assert feed.parser(frame) == parser(frame)
    assert type(feed.parser(R6)) is tuple  # the hot path skips building a Data
    assert isinstance(parser(R6), Data)


def test_a_connection_of_several_symbols_routes_any_json_layout_to_its_symbol():
    """The router reads the stream name where Binance puts it; a frame laid out otherwise
    (keys in another order, spaces, an escaped name) is routed by the name json reads,
    not taken for a stream nobody asked for (the scale bench lost such frames)."""
    from btclib.exchanges.binance import Parser, routed_parse
    from btclib.simulator.layout import VARIANTS, relayout

    parse = routed_parse([Parser("btcusdt"), Parser("ethusdt")])
    frame = (
        b'{"stream":"ethusdt@trade","data":{"e":"trade","E":1,"s":"ETHUSDT","t":7,'
        b'"p":"4149.74000000","q":"0.43870000","T":1,"m":true,"M":true}}'
    )
    want = ("ethusdt@trade", 7, b"ethusdt@trade, p:4149.74000000,q:0.43870000\n")
    assert tuple(parse(frame)) == want
    for variant in VARIANTS:
        assert tuple(parse(relayout(frame, variant))) == want, variant
    reply = parse(b'{"result":null,"id":1}')
    assert isinstance(reply, Notice) and reply.kind == "reply"
