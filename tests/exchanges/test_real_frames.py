"""Each exchange's two directions tied together on frames the exchanges really sent.

For every record of ``shared/realframes/frames.jsonl`` (beside the clone): the
exchange's parser turns the frame into the expected line byte for byte (or
into no line), and the exchange's ``read_line`` reads back from that line
exactly the prices and sizes that ``json`` finds in the frame: as numbers
(``Decimal``, so Java-style ``1.16539E8`` equals ``116539000``) and as text
(every digit and trailing zero kept). ``read_frame`` and ``classify`` agree.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btclib import exchanges
from btclib.exchanges import Book, Trade
from btclib.feed import Notice

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "realframes" / "frames.jsonl"


def corpus() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        return []
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


RECORDS = corpus()


def test_the_real_frames_corpus_is_beside_the_clone():
    assert CORPUS.is_file(), (
        f"{CORPUS} is missing: the real exchange frames live in shared/realframes/ beside the "
        "clone (CI checks shared/ out next to it); without them the exchanges are untested"
    )
    assert len(RECORDS) > 1000
    assert {r["exchange"] for r in RECORDS} == set(exchanges.ASSIGNMENT)
    # An exchange added since keeps its own real frames beside its tests, same keys.
    for name in set(exchanges.EXCHANGES) - set(exchanges.ASSIGNMENT):
        own = ROOT / "tests" / "data" / f"{name}-frames.jsonl"
        records = [json.loads(line) for line in own.read_text(encoding="utf-8").splitlines()]
        assert records and {r["exchange"] for r in records} == {name}
        assert all(set(RECORDS[0]) <= set(r) for r in records), f"{own}: keys differ"


def wire_numbers(exchange: str, frame: bytes, number: Any) -> tuple[Any, ...]:
    """The prices and sizes of a data frame, found with ``json`` alone (no btclib)."""
    message = json.loads(frame, parse_float=number, parse_int=number)
    if exchange == "binance":
        data = message.get("data", message)
        if "bids" in data:
            bids = tuple((number(p), number(q)) for p, q in data["bids"])
            asks = tuple((number(p), number(q)) for p, q in data["asks"])
            return ("book", bids, asks)
        return ("trade", number(data["p"]), number(data["q"]))
    units = message.get("orderbook_units", message.get("obu"))
    simple = "ap" in units[0]
    bp, bs, ap, asz = (
        ("bp", "bs", "ap", "as") if simple else ("bid_price", "bid_size", "ask_price", "ask_size")
    )
    return (
        "book",
        tuple((u[bp], u[bs]) for u in units),
        tuple((u[ap], u[asz]) for u in units),
    )


def read_numbers(record: Book[Any] | Trade[Any] | None) -> tuple[Any, ...] | None:
    if isinstance(record, Book):
        return ("book", record.bids, record.asks)
    if isinstance(record, Trade):
        return ("trade", record.price, record.size)
    return None


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_frame_gives_its_line_and_the_line_reads_back_the_frames_numbers(record: dict[str, Any]):
    rid, name = record["id"], record["exchange"]
    module = exchanges.get(name)
    parser = module.Parser(**record["parser"])
    frame = record["frame"].encode("utf-8")
    expect = record["expect"]
    for given in (frame, bytearray(frame)):  # websockets hands the recorder bytearray
        kind = type(given).__name__
        for parsed in (parser(given), parser.parse(given)):
            if expect is None:
                assert isinstance(parsed, Notice), f"{rid} ({kind}): no line expected, got {parsed}"
                if record["expect_notice"] is not None:
                    assert parsed.kind == record["expect_notice"], f"{rid} ({kind}): {parsed}"
                continue
            assert type(parsed) is not Notice, f"{rid} ({kind}): expected a line, got {parsed}"
            stream, seq, line = parsed
            assert line == expect.encode("utf-8") + b"\n", f"{rid} ({kind}): line differs"
            assert stream == record["expect_stream"], f"{rid} ({kind}): stream {stream}"
            assert seq == record["expect_seq"], f"{rid} ({kind}): seq {seq}"
    wanted = "data" if expect is not None or record["expect_notice"] == "unexpected" else None
    assert module.classify(frame) == (wanted or record["expect_notice"]), f"{rid}: classify"
    if expect is None:
        return
    for number in (Decimal, str):  # values exactly, then the very digits
        from_line = module.read_line(expect, number)
        assert read_numbers(from_line) == wire_numbers(name, frame, number), (
            f"{rid}: the line reads back other {number.__name__} numbers than the frame holds"
        )
        from_frame = module.read_frame(frame, number)
        assert read_numbers(from_frame) == read_numbers(from_line), f"{rid}: read_frame differs"
        assert from_frame is not None and from_line is not None
        if from_frame.market:  # a bare Binance book does not name its symbol
            assert from_line.market == from_frame.market, f"{rid}: market differs"
    if record["expect_seq"] is not None and "trade" in record["expect_stream"]:
        message = json.loads(frame)
        assert message.get("data", message)["t"] == record["expect_seq"], f"{rid}: trade id"
