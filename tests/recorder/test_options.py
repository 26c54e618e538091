"""The recorder's production timings, pinned where they are written (:data:`TIMINGS`).

Each number is written once (btclib/recorder/options.py; the sink's in
btclib/files/sink.py) and read from there by the recorder, the supervisor
and the C++ twin's check. These tests fail when one of them is changed by
accident: changing a production default on purpose means changing the
documented value here, in README's options table and in /work/tools/CONTRACT.md.
"""

from __future__ import annotations

import dataclasses
import inspect

from btclib.exchanges import binance, upbit
from btclib.files import sink
from btclib.recorder.options import TIMINGS, RecorderOptions, Rules
from btclib.recorder.supervisor import Supervisor
from btclib.steps import sources
from btclib.tools import btcrec

DOCUMENTED_TIMINGS = {
    "backoff_base": 0.5,
    "backoff_cap": 30.0,
    "open_timeout": 10.0,
    "close_timeout": 2.0,
    "ping_timeout": 20.0,
    "rotate_before": 600.0,
    "overlap_max": 10.0,
    "rotation_retry": 30.0,
    "check_interval": 0.25,
    "progress_interval": 0.5,
    "max_refusals": 5,
    "max_silent": 3,
    "max_queued_bytes": 64 * 1024 * 1024,
    "fsync_interval": 1.0,
    "probe_timeout": 5.0,
}


def test_a_production_timing_changed_by_accident_fails_here():
    assert dataclasses.asdict(TIMINGS) == DOCUMENTED_TIMINGS
    assert dataclasses.asdict(RecorderOptions()) == DOCUMENTED_TIMINGS


def test_the_probe_and_btcrec_take_the_probe_timeout_from_the_timings():
    default = inspect.signature(sources.open_source).parameters["probe_timeout"].default
    assert default == TIMINGS.probe_timeout == 5.0
    # btcrec's runs probe with the timings' own value: no second default to drift.
    assert "probe_timeout" not in inspect.signature(btcrec.record).parameters
    assert "TIMINGS.probe_timeout" in inspect.getsource(btcrec.record)


def test_a_production_sink_bound_changed_by_accident_fails_here():
    assert sink.MAX_QUEUED_BYTES == 64 * 1024 * 1024 == TIMINGS.max_queued_bytes
    assert sink.INLINE_BUDGET == 0.002
    assert sink.INLINE_AGAIN_AFTER == 5.0


def test_the_rules_read_the_feed_and_the_timings_where_they_are_written():
    feed = binance.feed("btcusdt")
    timings = RecorderOptions(backoff_base=0.1, backoff_cap=2.0, rotate_before=60.0)
    rules = timings.rules(feed)
    assert rules == Rules(feed, timings)
    assert rules.feed is feed and rules.timings is timings
    supervisor = Supervisor(rules, {})
    assert (supervisor.backoff.base, supervisor.backoff.cap) == (0.1, 2.0)
    assert (supervisor.budget.limit, supervisor.budget.window) == (300, 300.0)
    assert rules.rotation_due(0.0) == 24 * 3600.0 - 60.0


def test_the_title_is_the_exchange_modules_own_not_a_guess():
    for module in (binance, upbit):
        feed = module.make_feed(module.LIVE_URL, {o.name: o.default for o in module.OPTIONS})
        assert Rules(feed, TIMINGS).title == module.TITLE
    hand_made = dataclasses.replace(binance.feed(), title="")
    assert Rules(hand_made, TIMINGS).title == "binance"  # no module: the name as given


def test_rotation_comes_at_most_half_way_through_a_short_lifetime():
    feed = dataclasses.replace(binance.feed(), lifetime=100.0)
    assert Rules(feed, TIMINGS).rotation_due(10.0) == 60.0
    assert Rules(dataclasses.replace(feed, lifetime=None), TIMINGS).rotation_due(10.0) is None


def test_a_feed_without_a_connect_limit_never_waits():
    feed = dataclasses.replace(binance.feed(), connect_limit=None)
    supervisor = Supervisor(Rules(feed, TIMINGS), {})
    assert all(supervisor.connect_wait(0.0) == 0.0 for _ in range(1000))
