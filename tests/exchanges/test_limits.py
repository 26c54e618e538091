"""Each exchange's limits, pinned where its module writes them (``LIMITS``), and the feeds
built from them.

The numbers come from the exchanges' documentation (protocols.md); the recorder,
the tests and the C++ twin read them from the module. A test here fails when one
is changed by accident, or when a feed stops taking it from there.
"""

from __future__ import annotations

import dataclasses

import pytest

from btclib.exchanges import binance, upbit
from btclib.feed import Limits


def test_a_production_binance_limit_changed_by_accident_fails_here():
    assert dataclasses.asdict(binance.LIMITS) == {
        "connect_budget": 300,
        "connect_window": 300.0,
        "streams_per_connection": 1024,
        "subscribe_budget": 4,
        "url_budget": 2000,
        "lifetime": 24 * 3600.0,
        "first_data_within": 5.0,
        "stall_after": 5.0,
        "keepalive": None,
    }
    assert binance.DEPTH_STALL_AFTER == {"1000ms": 5.0, "100ms": 3.0}


def test_a_production_upbit_limit_changed_by_accident_fails_here():
    assert dataclasses.asdict(upbit.LIMITS) == {
        "connect_budget": 5,
        "connect_window": 1.0,
        "streams_per_connection": 800,
        "subscribe_budget": 1,
        "url_budget": None,
        "lifetime": None,
        "first_data_within": 10.0,
        "stall_after": 60.0,
        "keepalive": 20.0,
    }
    assert upbit.WATCHED_CODES == 5


def test_the_connect_budget_is_shared_by_an_exchanges_connections():
    limits = binance.LIMITS
    assert limits.connect_limit() == (300, 300.0)
    assert limits.connect_limit(3) == (100, 300.0)
    assert upbit.LIMITS.connect_limit(2) == (2, 1.0)
    assert upbit.LIMITS.connect_limit(9) == (1, 1.0)  # never none at all


@pytest.mark.parametrize("speed", list(binance.DEPTH_STALL_AFTER))
def test_a_binance_feed_takes_every_number_from_its_limits(speed):
    feed = binance.feed("btcusdt", speed)
    assert feed.stall_after == {"btcusdt@orderbook": binance.DEPTH_STALL_AFTER[speed]}
    assert feed.first_data_within == binance.LIMITS.first_data_within
    assert feed.lifetime == binance.LIMITS.lifetime
    assert feed.ping_interval is binance.LIMITS.keepalive is None
    assert feed.connect_limit == binance.LIMITS.connect_limit(1)
    assert feed.title == binance.TITLE


def test_an_upbit_feed_takes_every_number_from_its_limits():
    feed = upbit.feed(["KRW-BTC"])
    assert feed.stall_after == {"btckrw@orderbook": upbit.LIMITS.stall_after}
    assert feed.first_data_within == upbit.LIMITS.first_data_within
    assert feed.lifetime is upbit.LIMITS.lifetime is None
    assert feed.ping_interval == upbit.LIMITS.keepalive
    assert feed.connect_limit == upbit.LIMITS.connect_limit(1)
    assert feed.title == upbit.TITLE
    keepalive = {o.name: o for o in upbit.OPTIONS}["keepalive"]
    assert keepalive.default == upbit.LIMITS.keepalive


def test_upbits_keepalive_is_at_most_half_its_idle_limit():
    upbit.feed(["KRW-BTC"], keepalive=upbit.LIMITS.stall_after / 2)
    with pytest.raises(ValueError, match="at most 30 s for Upbit"):
        upbit.feed(["KRW-BTC"], keepalive=30.5)


def test_limits_are_read_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        binance.LIMITS.connect_budget = 1  # type: ignore[misc]
    assert isinstance(upbit.LIMITS, Limits)


def test_the_simulator_mimics_the_limits_it_shares_with_the_recorder():
    """The simulator stands in for the exchange and writes its numbers apart on purpose (an
    independent server catches a recorder that got a limit wrong); here they must agree."""
    from btclib.simulator import SimConfig

    config = SimConfig()
    assert config.binance_lifetime == binance.LIMITS.lifetime
    assert config.binance_max_streams == binance.LIMITS.streams_per_connection
    assert binance.LIMITS.subscribe_budget < config.binance_rate_limit  # room for a pong
    assert config.upbit_idle_timeout is not None
    assert upbit.LIMITS.stall_after <= config.upbit_idle_timeout  # the recorder gives up first
