"""Upbit frames become SPEC lines with every number spelled as sent."""

from __future__ import annotations

import json

import pytest

from btclib.exchanges import upbit
from btclib.feed import Data, Notice

# The assignment's frame (2022, DEFAULT, 15 units), joined back onto one line.
ASSIGNMENT_UNITS = (
    '[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,"bid_size":0.00164598},'
    '{"ask_price":2.286E7,"bid_price":2.2844E7,"ask_size":1.07409042,"bid_size":0.39629050},'
    '{"ask_price":2.2861E7,"bid_price":2.2843E7,"ask_size":0.13138600,"bid_size":0.07457449},'
    '{"ask_price":2.2862E7,"bid_price":2.2842E7,"ask_size":1.11673137,"bid_size":0.41861210},'
    '{"ask_price":2.2863E7,"bid_price":2.2841E7,"ask_size":0.695,"bid_size":0.23034224},'
    '{"ask_price":2.2864E7,"bid_price":2.284E7,"ask_size":0.24999199,"bid_size":0.00146232},'
    '{"ask_price":2.2865E7,"bid_price":2.283E7,"ask_size":0.06318533,"bid_size":0.50251088},'
    '{"ask_price":2.2866E7,"bid_price":2.2827E7,"ask_size":0.46969651,"bid_size":0.08409668},'
    '{"ask_price":2.2867E7,"bid_price":2.2826E7,"ask_size":1.68992953,"bid_size":0.00087619},'
    '{"ask_price":2.2868E7,"bid_price":2.2825E7,"ask_size":0.86078502,"bid_size":0.00044389},'
    '{"ask_price":2.2869E7,"bid_price":2.2821E7,"ask_size":0.01956419,"bid_size":0.058},'
    '{"ask_price":2.2872E7,"bid_price":2.282E7,"ask_size":2.06000000,"bid_size":0.45073815},'
    '{"ask_price":2.2874E7,"bid_price":2.2818E7,"ask_size":0.74898200,"bid_size":0.00043825},'
    '{"ask_price":2.2875E7,"bid_price":2.2817E7,"ask_size":0.00354223,"bid_size":0.17213480},'
    '{"ask_price":2.2876E7,"bid_price":2.2816E7,"ask_size":0.00084109,"bid_size":0.716}]'
)
ASSIGNMENT_FRAME = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":1668495774440,'
    '"total_ask_size":11.400931790000001,"total_bid_size":3.1081664699999996,'
    f'"orderbook_units":{ASSIGNMENT_UNITS},"stream_type":"REALTIME"}}'
).encode()
# protocols.md R10: 2026 probe, DEFAULT, trimmed to 2 units, with "level".
R10 = (
    b'{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,"total_ask_size":2.51469375,'
    b'"total_bid_size":1.63815297,"orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,'
    b'"ask_size":0.02054761,"bid_size":0.08120946},{"ask_price":1.16542E8,"bid_price":1.16537E8,'
    b'"ask_size":0.00077720,"bid_size":0.01129382}],"stream_type":"SNAPSHOT","level":0}'
)
# protocols.md R8: cryptofeed's 2021 SIMPLE capture (KRW-LAMB), three units kept.
R8 = (
    b'{"ty":"orderbook","cd":"KRW-LAMB","tms":1618678262640,"tas":25752275.55420627,'
    b'"tbs":14407925.20098682,"obu":[{"ap":127.0,"bp":126.0,"as":280460.37885666,'
    b'"bs":688682.44561413},{"ap":128.0,"bp":9.9E-7,"as":6E-8,"bs":123.00000000}],"st":"REALTIME"}'
)


pytestmark = pytest.mark.usefixtures("frames_as")

def test_assignment_frame_becomes_the_assignment_line_byte_for_byte():
    parsed = upbit.Parser()(ASSIGNMENT_FRAME)
    assert parsed == Data(
        "btckrw@orderbook", None, f"btckrw@orderbook,{ASSIGNMENT_UNITS}\n".encode()
    )
    for spelling in (b"2.2855E7", b"0.13138600", b"0.695", b"2.06000000", b"0.058"):
        assert spelling in parsed.line


def test_spec_example_line():
    frame = (
        b'{"type":"orderbook","code":"KRW-BTC","timestamp":1,"total_ask_size":1,"total_bid_size":1,'
        b'"orderbook_units":[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,'
        b'"bid_size":0.00164598}],"stream_type":"REALTIME"}'
    )
    assert upbit.Parser()(frame).line == (
        b'btckrw@orderbook,[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,'
        b'"bid_size":0.00164598}]\n'
    )


def test_2026_frame_with_level_keeps_exponent_and_trailing_zeros():
    line = upbit.Parser()(R10).line
    assert line.startswith(b'btckrw@orderbook,[{"ask_price":1.16539E8,')
    assert b'"ask_size":0.00077720' in line
    assert line.endswith(b'"bid_size":0.01129382}]\n')


def test_simple_format_and_java_spellings_are_kept():
    parsed = upbit.Parser(["KRW-LAMB"])(R8)
    assert parsed == Data(
        "lambkrw@orderbook",
        None,
        b'lambkrw@orderbook,[{"ap":127.0,"bp":126.0,"as":280460.37885666,"bs":688682.44561413},'
        b'{"ap":128.0,"bp":9.9E-7,"as":6E-8,"bs":123.00000000}]\n',
    )


def test_other_key_order_goes_through_the_general_path_unchanged():
    frame = b'{"orderbook_units":[{"ask_price":1.0E8}], "code":"KRW-BTC","type":"orderbook"}'
    assert upbit.Parser()(frame).line == b'btckrw@orderbook,[{"ask_price":1.0E8}]\n'


def test_line_key_is_base_then_quote_in_lower_case():
    assert upbit.line_key("KRW-ETH") == "ethkrw@orderbook"
    assert upbit.line_key("krw-usdt") == "usdtkrw@orderbook"


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b'{"status":"UP"}', "status"),
        (R10.replace(b"KRW-BTC", b"KRW-ETH"), "unexpected"),
        (b'{"type":"trade","code":"KRW-BTC","trade_price":1.0E8}', "unexpected"),
        (R10[:-20], "malformed"),
        (b"\xff\xfe", "malformed"),
        (b'{"type":"orderbook","code":"KRW-BTC","timestamp":1}', "malformed"),
        (b'{"method":"LIST_SUBSCRIPTIONS","result":[],"ticket":"t"}', "reply"),
    ],
)
def test_non_data_frames_become_notices(frame: bytes, kind: str):
    parsed = upbit.Parser()(frame)
    assert isinstance(parsed, Notice)
    assert parsed.kind == kind


@pytest.mark.parametrize(
    ("frame", "name"),
    [
        ('{"error":{"name":"NO_CODES","message":"코드가 없습니다."}}', "NO_CODES"),
        ('{"error":{"message":"Format 이 맞지 않습니다.","name":"WRONG_FORMAT"}}', "WRONG_FORMAT"),
    ],
)
def test_error_messages_raise_naming_the_error(frame: str, name: str):
    with pytest.raises(upbit.UpbitError, match=f"Upbit error {name}") as info:
        upbit.Parser()(frame.encode())
    assert info.value.name == name


def test_subscription_is_ticket_type_format_with_uppercase_codes():
    request = json.loads(upbit.subscription(["krw-btc", "KRW-USDT"]))
    assert set(request[0]) == {"ticket"} and len(request[0]["ticket"]) >= 16
    assert request[1] == {"type": "orderbook", "codes": ["KRW-BTC", "KRW-USDT"]}
    assert request[2] == {"format": "DEFAULT"}
    assert json.loads(upbit.subscription())[0] != request[0]  # a fresh ticket each time


@pytest.mark.parametrize("code", ["BTC", "KRWBTC", "KRW_BTC", ""])
def test_bad_codes_are_refused_with_the_code_named(code: str):
    with pytest.raises(ValueError, match="unknown Upbit market code format"):
        upbit.check_code(code)


def test_keepalive_must_stay_under_the_idle_limit():
    with pytest.raises(ValueError, match="keepalive"):
        upbit.feed(keepalive=90)
