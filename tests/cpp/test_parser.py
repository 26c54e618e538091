"""btcrec's parsers (``btcrec parse``) give every real frame its SPEC line, byte for byte,
and agree with btclib's parsers on frames that are not clean market data."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from btclib.errors import ExchangeError
from btclib.exchanges import binance, upbit
from btclib.feed import Notice

from .conftest import btcrec_path

REAL_FRAMES = Path(__file__).resolve().parents[2].parent / "shared" / "realframes" / "frames.jsonl"


def parse_frames(items: list[tuple[str, dict, bytes]]) -> list[tuple[str, str | bytes]]:
    """Run ``btcrec parse`` over (exchange, parser settings, frame) items.

    Each result is ("D", line bytes), ("N", notice kind) or ("E", error text).
    """
    stdin = bytearray()
    for exchange, settings, frame in items:
        if exchange == "binance":
            head = f"binance {settings['symbol']} {settings['depth_speed']} {len(frame)}\n"
        else:
            head = f"upbit {','.join(settings['codes'])} {len(frame)}\n"
        stdin += head.encode() + frame + b"\n"
    done = subprocess.run(
        [str(btcrec_path()), "parse"], input=bytes(stdin), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    out, i, results = done.stdout, 0, []
    while i < len(out):
        j = out.index(b"\n", i)
        head = out[i:j]
        if head.startswith(b"D "):
            size = int(head[2:])
            results.append(("D", out[j + 1 : j + 1 + size]))
            i = j + 1 + size
        else:
            kind, _, rest = head.decode("utf-8", "replace").partition(" ")
            results.append((kind, rest.split(" ")[0] if kind == "N" else rest))
            i = j + 1
    assert len(results) == len(items)
    return results


def real_frames() -> list[dict]:
    if not REAL_FRAMES.exists():
        pytest.skip(f"{REAL_FRAMES} is not here (the shared real-frame corpus)")
    return [json.loads(line) for line in REAL_FRAMES.read_text().splitlines()]


def test_every_real_frame_gives_its_expected_line_byte_for_byte():
    records = real_frames()
    items = [(r["exchange"], r["parser"], r["frame"].encode()) for r in records]
    results = parse_frames(items)
    wrong = [
        (r["id"], r["expect"], got)
        for r, (kind, got) in zip(records, results, strict=True)
        if (got[:-1].decode() if kind == "D" else None) != r["expect"]
    ]
    assert wrong == []
    assert sum(kind == "D" for kind, _ in results) == sum(r["expect"] is not None for r in records)
    # Frames that are no data are the notices the corpus names (unexpected, status).
    for r, (kind, got) in zip(records, results, strict=True):
        if r["expect"] is None and r.get("expect_notice"):
            assert (kind, got) == ("N", r["expect_notice"]), r["id"]


def python_result(exchange: str, settings: dict, frame: bytes) -> tuple[str, str | bytes]:
    parser = (
        binance.Parser(settings["symbol"], settings["depth_speed"])
        if exchange == "binance"
        else upbit.Parser(settings["codes"])
    )
    try:
        parsed = parser(frame)
    except ExchangeError as exc:
        return ("E", str(exc))
    if isinstance(parsed, Notice):
        return ("N", parsed.kind)
    return ("D", parsed.line)


B = {"symbol": "btcusdt", "depth_speed": "1000ms"}
U = {"codes": ["KRW-BTC"]}
U2 = {"codes": ["KRW-BTC", "KRW-ETH"]}
BOOK = b'"bids":[["1.00000000","2.00000000"]],"asks":[["3.00000000","4.00000000"]]'
UNITS = b'[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":0.13138600,"bid_size":1E-8}]'
EDGE_FRAMES = [
    # Binance: layouts the fast path declines, and every kind of non-data message.
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":7,' + BOOK + b"}}"),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{' + BOOK + b',"lastUpdateId":7}}'),
    ("binance", B, b'{ "stream" : "btcusdt@depth5" , "data" : {"lastUpdateId":7, ' + BOOK + b"} }"),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":1_2,' + BOOK + b"}}"),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":7,"asks":[]}}'),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":7,"bids":5,"asks":[]}}'),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":7,' + BOOK[:30]),
    ("binance", B, b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":5,'
     b'"p":"1.5","q":"0.25","T":1,"m":true,"M":true}}'),
    ("binance", B, b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":5,'
     b'"b":1,"a":2,"q":"0.25","p":"1.5","T":1}}'),
    ("binance", B, b'{"stream":"btcusdt@trade","data":{"e":"trade","t":5,"p":"1.5","q":"0.25","x":1}}'),
    ("binance", B, b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":5,'
     b'"p":1.5,"q":"0.25"}}'),
    ("binance", B, b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5"'),
    ("binance", B, b'{"stream":"ethusdt@trade","data":{"e":"trade","E":1,"s":"ETHUSDT","t":5,'
     b'"p":"1.5","q":"0.25"}}'),
    ("binance", B, b'{"e":"trade","E":1,"s":"BTCUSDT","t":5,"p":"1.5","q":"0.25"}'),
    ("binance", B, b'{"lastUpdateId":7,' + BOOK + b"}"),
    ("binance", B, b'{"result":null,"id":1}'),
    ("binance", B, b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}'),
    ("binance", B, b'{"e":"serverShutdown","E":1770123456789}'),
    ("binance", B, b'{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}'),
    ("binance", B, b'{"code":0,"msg":"Service unavailable from a restricted location"}'),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":[1,2]}'),
    ("binance", B, b"<html><body>502 Bad Gateway</body></html>"),
    ("binance", B, b"[1,2,3]"),
    ("binance", B, b'{"stream":"btcusdt@depth5","data":{"lastUpdateId":NaN,' + BOOK + b"}}x"),
    ("binance", B, b'{"a":"\xff"}'),
    ("binance", B, b""),
    # Upbit: SIMPLE format, other key orders, several codes, status, errors.
    ("upbit", U, b'{"type":"orderbook","code":"KRW-BTC","timestamp":1,"orderbook_units":'
     + UNITS + b',"stream_type":"REALTIME"}'),
    ("upbit", U, b'{"code":"KRW-BTC","type":"orderbook","orderbook_units":' + UNITS + b"}"),
    ("upbit", U, b'{"ty":"orderbook","cd":"KRW-BTC","obu":' + UNITS + b',"st":"REALTIME"}'),
    ("upbit", U2, b'{"type":"orderbook","code":"KRW-ETH","orderbook_units":' + UNITS + b"}"),
    ("upbit", U, b'{"type":"orderbook","code":"KRW-ETH","orderbook_units":' + UNITS + b"}"),
    ("upbit", U, b'{"type":"trade","code":"KRW-BTC","trade_price":1.0}'),
    ("upbit", U, b'{"type":"orderbook","code":"KRW-BTC","timestamp":1}'),
    ("upbit", U, b'{"type":"orderbook","code":"KRW-BTC","orderbook_units":' + UNITS[:40]),
    ("upbit", U, b'{"status":"UP"}'),
    ("upbit", U, b'{"method":"LIST_SUBSCRIPTIONS","result":[],"ticket":"t"}'),
    ("upbit", U, '{"error":{"name":"NO_CODES","message":"코드가 존재하지 않거나, 유효하지 않습니다."}}'.encode()),
    ("upbit", U, b'{"error":"WRONG_FORMAT"}'),
    ("upbit", U, b"[" + b'{"type":"orderbook","code":"KRW-BTC","orderbook_units":' + UNITS + b"}]"),
]  # fmt: skip


def test_btcrec_and_btclib_agree_on_layouts_notices_errors_and_broken_frames():
    ours = parse_frames(EDGE_FRAMES)
    theirs = [python_result(*item) for item in EDGE_FRAMES]
    assert ours == theirs
    kinds = {kind if kind != "N" else value for kind, value in theirs}
    # The list covers data, every notice kind and errors.
    assert {"D", "E", "malformed", "unexpected", "reply", "status", "shutdown"} <= kinds
