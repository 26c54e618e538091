"""The simulator's expected lines, computed without btclib's parsers, are right.

The checker of every end-to-end test and the fault soak compares the recorder's file with
:func:`btclib.simulator.expected.line_for`; here that function meets the frames the real
exchanges sent (each with the line it must give, from a scanner independent of both).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from btclib.simulator.expected import expected_line, line_for
from btclib.simulator.link import SentFrame

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "realframes" / "frames.jsonl"


def corpus() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        pytest.skip(f"the real-frames corpus is not beside the project ({CORPUS})")
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def test_every_real_frame_gives_the_line_the_corpus_expects():
    records = corpus()
    wrong = []
    for record in records:
        want = None if record["expect"] is None else (record["expect"] + "\n").encode()
        got = line_for(record["exchange"], record["frame"], record["parser"])
        if got != want:
            wrong.append(record["id"])
    assert len(records) >= 1368
    assert wrong == []


def test_a_frame_for_a_market_not_asked_for_gives_no_line():
    frame = '{"stream":"ethusdt@trade","data":{"e":"trade","t":1,"p":"1.0","q":"2.0"}}'
    assert line_for("binance", frame, {"symbol": "btcusdt", "depth_speed": "1000ms"}) is None
    assert line_for("binance", frame) == b"ethusdt@trade, p:1.0,q:2.0\n"
    book = b'{"type":"orderbook","code":"KRW-ETH","orderbook_units":[]}'
    assert line_for("upbit", book, {"codes": ["KRW-BTC"]}) is None
    assert line_for("upbit", book, {"codes": ["KRW-ETH.5"]}) == b"ethkrw@orderbook,[]\n"


@pytest.mark.parametrize(
    ("payload", "line"),
    [
        (  # other key order, spaces, "E" before "e", an escaped character in a string
            '{ "data" : { "E":1, "q" : "0.5", "e" : "tr\\u0061de", "p":"10.00" },'
            ' "stream" : "btcusdt@trade" }',
            b"btcusdt@trade, p:10.00,q:0.5\n",
        ),
        (  # arrays are copied as sent, spaces included
            '{"stream":"btcusdt@depth5","data":{"asks": [["2", "1"]],"lastUpdateId":7,'
            '"bids":[ ["1","3"] ]}}',
            b'btcusdt@orderbook,bids:[ ["1","3"] ],asks:[["2", "1"]]\n',
        ),
    ],
)
def test_any_valid_json_layout_gives_the_values_as_sent(payload: str, line: bytes):
    assert expected_line(SentFrame(1, "binance", payload, False)) == line


def test_upbit_numbers_keep_their_spelling_in_any_layout():
    payload = (
        b'{"orderbook_units" : [{"ask_price":2.2855E7,"bid_price":2.2845E7}],'
        b' "code":"KRW-BTC", "type":"orderbook"}'
    )
    line = expected_line(SentFrame(1, "upbit", payload, True))
    assert line == b'btckrw@orderbook,[{"ask_price":2.2855E7,"bid_price":2.2845E7}]\n'
