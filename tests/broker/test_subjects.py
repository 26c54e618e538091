"""Each line's subject comes from its own key: btclib.<exchange>.<market>.<kind>."""

from __future__ import annotations

from btclib.broker.consume import parse_msg_id
from btclib.broker.subjects import Router, data_subject, event_subject


def test_a_line_key_names_its_subject():
    route = Router({"btcusdt@trade": "binance", "btcusdt@orderbook": "binance"})
    assert route(b"btcusdt@trade, p:1.0,q:2\n") == "btclib.binance.btcusdt.trade"
    assert route(b'btcusdt@orderbook,bids:[["1","2"]],asks:[]\n') == (
        "btclib.binance.btcusdt.orderbook"
    )
    # A key the feeds did not name: the exchange modules recognise their own lines.
    assert route(b'btckrw@orderbook,[{"ask_price":2.2855E7}]\n') == "btclib.upbit.btckrw.orderbook"
    # SPEC 1b: a prefixed line names its exchange.
    assert route(b"bithumb:btckrw@trade, p:1,q:2\n") == "btclib.bithumb.btckrw.trade"


def test_subject_tokens_never_carry_nats_wildcards_or_dots():
    assert data_subject("x", "a.b*c>@d e") == "btclib.x.a_b_c_.d_e"
    assert event_subject("binance") == "btclib.events.binance"
    assert event_subject(None) == "btclib.events.recorder"


def test_message_ids_name_the_run_and_the_line():
    assert parse_msg_id("3f2a:17") == ("3f2a", 17)
    assert parse_msg_id("3f2a:17.2") == ("3f2a", 17)  # resent after a repair
    assert parse_msg_id("ev:d.events.jsonl:120") is None
    assert parse_msg_id(None) is None
    assert parse_msg_id("nonsense") is None
