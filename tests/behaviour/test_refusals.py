"""The exchange's refusals end the run at once, in the exchange's own words, with nothing
written: Binance's region block (451), each Upbit request error, a market answered with
silence. No retry loop, no silent hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib.errors import ExchangeError, RecordingError
from btclib.simulator import Faults, Refuse, Rule, SimConfig

from ..conftest import FAST, UPBIT_REQUEST_ERRORS
from .conftest import Recorder, Setup

pytestmark = pytest.mark.timeout(60)


async def test_a_region_block_451_ends_the_run_at_once_naming_the_way_out(
    recorder: Recorder, tmp_path: Path
):
    faults = Faults.of(Rule(Refuse(451), exchange="binance"))
    failure = await recorder.fail(tmp_path, "binance", SimConfig(faults=faults))
    assert "HTTP 451" in failure.message and "restricted location" in failure.message
    assert "--binance-url" in failure.message
    assert len(failure.sim.fired) == 1  # one handshake refused, none retried
    assert failure.summary is not None and failure.summary.connections == 0
    assert failure.data == b""
    if failure.exception is not None:
        assert isinstance(failure.exception, RecordingError)
    else:
        assert failure.code == 1


@pytest.mark.parametrize(("request_text", "name"), UPBIT_REQUEST_ERRORS)
async def test_upbit_request_errors_end_the_run_naming_the_error(
    recorder: Recorder, tmp_path: Path, request_text: str, name: str
):
    failure = await recorder.fail(
        tmp_path, "upbit", SimConfig(seed=23), Setup(upbit_request=request_text)
    )
    assert f"Upbit error {name}: " in failure.message
    assert len(failure.sim.connections) == 1  # no retry loop
    assert failure.summary is not None
    assert failure.summary.errors[0].startswith(f"Upbit error {name}: ")
    assert failure.data == b""
    if failure.exception is not None:
        assert isinstance(failure.exception, ExchangeError)
        assert failure.summary.errors == [str(failure.exception)]
    else:
        assert failure.code == 1 and f"btcrec: error: Upbit error {name}: " in failure.message


@pytest.mark.parametrize("exchange", ["binance", "upbit"])
async def test_an_unknown_market_answered_with_silence_stops_with_a_clear_error(
    recorder: Recorder, tmp_path: Path, exchange: str
):
    if exchange == "binance":
        setup = Setup(symbol="btcxyz", first_data_within=0.3)
        expected = "Binance sent nothing on btcxyz@depth5 and btcxyz@trade: is 'btcxyz' a listed"
    else:
        setup = Setup(code="KRW-XYZ", first_data_within=0.3)
        expected = "Upbit sent nothing for KRW-XYZ: is each a listed market code?"
    failure = await recorder.fail(tmp_path, exchange, SimConfig(seed=24, speedup=20), setup)
    assert expected in failure.message
    assert failure.summary is not None and failure.summary.connections == FAST.max_silent
    assert failure.data == b""
    if failure.exception is not None:
        assert isinstance(failure.exception, RecordingError)
    else:
        assert failure.code == 1
