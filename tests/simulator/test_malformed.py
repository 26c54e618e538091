"""Each exchange package builds its own broken frames, each broken in exactly one way."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from btclib.simulator import MalformedKind
from btclib.simulator import binance as bn
from btclib.simulator import upbit as ub
from btclib.simulator.faults import PROXY_ERROR_PAGE
from btclib.simulator.market import Market

START_US = 1_790_000_000_000_000
COMBINED = bn.UrlRequest(True, ("btcusdt@depth5@100ms", "btcusdt@trade"), "ms")
UPBIT_REQUEST = '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]}]'
Build = Callable[[MalformedKind, Market | None], str]


def binance_frame(kind: MalformedKind, market: Market | None) -> str:
    session = bn.BinanceSession(COMBINED, ["BTCUSDT", "ETHUSDT"])
    return bn.malformed_frame(kind, session, market, START_US)


def upbit_frame(kind: MalformedKind, market: Market | None) -> str:
    session = ub.UpbitSession()
    session.handle(UPBIT_REQUEST, None)
    return ub.malformed_frame(kind, session, market)


@pytest.fixture(params=[True, False], ids=["market", "replay"])
def market(request: pytest.FixtureRequest) -> Market | None:
    return Market(seed=3, start_us=START_US) if request.param else None


@pytest.mark.parametrize("build", [binance_frame, upbit_frame])
def test_not_json_is_a_proxy_page_on_every_exchange(build: Build, market: Market | None) -> None:
    assert build(MalformedKind.NOT_JSON, market) == PROXY_ERROR_PAGE


@pytest.mark.parametrize("build", [binance_frame, upbit_frame])
def test_truncated_is_the_first_half_of_a_frame_that_missing_bids_shows_whole(
    build: Build, market: Market | None
) -> None:
    cut = build(MalformedKind.TRUNCATED, market)
    with pytest.raises(ValueError):
        json.loads(cut)
    assert cut.startswith('{"stream":"btcusdt@depth5@100ms","data":{"lastUpdateId":') or (
        cut.startswith('{"type":"orderbook","code":"KRW-BTC"')
    )


def test_binance_missing_bids_keeps_the_stream_and_asks(market: Market | None) -> None:
    frame = json.loads(binance_frame(MalformedKind.MISSING_BIDS, market))
    assert frame["stream"] == "btcusdt@depth5@100ms"
    assert "bids" not in frame["data"] and frame["data"]["asks"]


def test_binance_foreign_stream_is_a_trade_nobody_asked_for(market: Market | None) -> None:
    frame = json.loads(binance_frame(MalformedKind.FOREIGN_STREAM, market))
    assert frame["stream"] == "ethusdt@trade"
    assert frame["data"]["e"] == "trade" and frame["data"]["s"] == "ETHUSDT"
    assert frame["data"]["T"] == START_US // 1000


def test_upbit_missing_bids_is_an_orderbook_without_units(market: Market | None) -> None:
    frame = json.loads(upbit_frame(MalformedKind.MISSING_BIDS, market))
    assert frame["type"] == "orderbook" and frame["code"] == "KRW-BTC"
    assert "orderbook_units" not in frame


def test_upbit_foreign_stream_is_a_code_nobody_asked_for(market: Market | None) -> None:
    frame = json.loads(upbit_frame(MalformedKind.FOREIGN_STREAM, market))
    assert frame["type"] == "orderbook" and frame["code"] == "KRW-ETH"
