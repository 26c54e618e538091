"""Frames laid out as valid JSON allows but the exchanges do not: same values, same lines.

The simulator sends some data frames so (:mod:`btclib.simulator.layout`), so that the
recorders' general parsing path runs end to end, not only in unit tests.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btclib import exchanges
from btclib.feed import Notice
from btclib.simulator import SimConfig
from btclib.simulator.expected import line_for
from btclib.simulator.layout import VARIANTS, Layout, relayout

from ..conftest import record_against_sim
from .test_expected import corpus

TRADE = (
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1751132780369,"s":"BTCUSDT",'
    b'"t":5052328858,"p":"107407.88000000","q":"0.00024000","T":1751132780368,"m":true,"M":true}}'
)


def values(frame: bytes) -> Any:
    return json.loads(frame, parse_float=Decimal, parse_int=Decimal)


def test_each_variant_is_valid_json_with_the_same_values_in_another_layout():
    laid = {variant: relayout(TRADE, variant) for variant in VARIANTS}
    for variant, frame in laid.items():
        assert frame != TRADE, variant
        assert values(frame) == values(TRADE), variant
    assert laid["reordered"].startswith(b'{"data":{"e":"trade","E":')
    assert b'"E":1751132780369,"e":"trade"}' in laid["nested"]
    assert laid["spaced"].startswith(b'{"stream": "btcusdt@trade", "data": {"e": "trade", ')
    assert laid["escaped"].startswith(b'{"stream":"\\u0062tcusdt@trade",')


def test_arrays_and_numbers_are_never_respelled():
    book = (
        b'{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,'
        b'"orderbook_units":[{"ask_price":1.16539E8,"bid_price":1.16538E8,"ask_size":0.02054761,'
        b'"bid_size":0.08120946}],"stream_type":"SNAPSHOT","level":0}'
    )
    units = b'[{"ask_price":1.16539E8,"bid_price":1.16538E8,"ask_size":0.02054761,"bid_size":0.08120946}]'
    for variant in VARIANTS:
        assert units in relayout(book, variant), variant
        assert b"1790134742106" in relayout(book, variant), variant


def data_records() -> list[dict[str, Any]]:
    return [r for r in corpus() if r["expect"] is not None and r["frame"].startswith("{")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_real_data_frame_laid_out_anew_gives_the_same_line_from_both_sides(variant: str):
    """The simulator's expected line and btclib's parser agree on every real data frame in
    every layout: the general path copies arrays and numbers as sent, as the fast path does."""
    checked = 0
    for record in data_records():
        frame = relayout(record["frame"].encode(), variant, lambda n: n - 1)
        want = (record["expect"] + "\n").encode()
        assert line_for(record["exchange"], frame, record["parser"]) == want, record["id"]
        parsed = exchanges.get(record["exchange"]).Parser(**record["parser"])(frame)
        assert not isinstance(parsed, Notice), (record["id"], parsed)
        assert parsed[2] == want, record["id"]
        checked += 1
    assert checked > 1200


def test_the_rate_is_the_share_of_frames_laid_out_anew_and_is_seeded():
    frames = [TRADE] * 2000
    first, second, none = Layout(0.05, seed=7), Layout(0.05, seed=7), Layout(0.0, seed=7)
    out = [first(f) for f in frames]
    assert out == [second(f) for f in frames]  # the same seed, the same frames
    changed = sum(f != TRADE for f in out)
    assert 40 <= changed <= 170  # about 5 % of 2000 (100), binomial spread
    assert sum(first.used.values()) == changed and all(first.used.values())
    assert [none(f) for f in frames] == frames
    assert SimConfig().layout_rate == 0.01  # on by default, at a low rate


async def test_a_recording_with_many_frames_laid_out_anew_has_every_line_byte_exact(
    tmp_path: Path,
):
    config = SimConfig(speedup=20.0, record_sent=True, layout_rate=0.3, seed=11)
    run = await record_against_sim(
        tmp_path, "both", config, until=lambda p, sim: p.lines >= 150
    )
    for exchange, market in (("binance", b"btcusdt@"), ("upbit", b"btckrw@")):
        # every message, byte for byte, in the order its connection sent it
        assert [line for line in run.lines if line.startswith(market)] == run.expected(exchange)
    assert len(run.lines) == len(run.expected())
    assert sum(map(_laid_out_anew, run.sim.sent)) > 20


def _laid_out_anew(frame: Any) -> bool:
    """A frame the exchanges would not send so: a marker of each variant (Upbit's frames
    have no inner object outside arrays, so ``nested`` leaves them as they are)."""
    raw = frame.payload if isinstance(frame.payload, bytes) else frame.payload.encode()
    own = raw.startswith((b'{"stream":"', b'{"type":"', b'{"ty":"'))
    own = own and b'"data":{"M"' not in raw and b'"data":{"asks"' not in raw
    return not own or b": " in raw or b"\\u00" in raw
