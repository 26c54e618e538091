"""The clock ledger's parts: an offset from one round trip, this machine's clock state,
and each exchange's offset measured against a simulator whose clock is set off."""

from __future__ import annotations

import time

import pytest

from btclib.quality.clock import local_clock, measure, offset_of
from btclib.simulator import SimConfig, Simulator


def test_an_offset_is_the_exchange_time_against_the_middle_of_the_round_trip():
    # Sent at 100.000, answered at 100.010; the exchange said 105.004 (ms resolution).
    offset, bound = offset_of(100.000, 100.010, 105.004, 0.001)
    assert offset == pytest.approx(4.9995) and bound == pytest.approx(0.0055)


def test_the_local_clock_says_what_the_os_knows():
    state = local_clock()
    assert state["source"] in ("adjtimex", None)
    if state["source"]:
        assert isinstance(state["synced"], bool) and state["max_error_s"] >= 0


async def test_each_exchange_offset_is_measured_within_its_bound():
    async with Simulator(SimConfig(clock=lambda: time.time() - 12.5)) as sim:
        base = f"http://127.0.0.1:{sim.port}"
        binance = await measure("binance", base)
        upbit = await measure("upbit", base)
    assert binance["via"] == "/api/v3/time" and binance["bound_s"] < 0.05
    assert abs(binance["offset_s"] + 12.5) <= binance["bound_s"]
    assert upbit["via"] == "/v1/market/all" and 0.5 <= upbit["bound_s"] < 0.6
    assert abs(upbit["offset_s"] + 12.5) <= upbit["bound_s"]
    unreachable = await measure("binance", "http://127.0.0.1:9")
    assert "offset_s" not in unreachable and unreachable["error"]
