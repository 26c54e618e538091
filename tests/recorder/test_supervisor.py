"""The supervision rules on a fake clock: no socket, no sleep, each rule alone.

A :class:`Supervisor` is told what happened and what time it is; these tests
play the network's part by hand (``counts`` are the hot loop's counters) and
check the actions it answers with. The end-to-end proof against the simulator
in wall time is tests/behaviour/ (both recorders).
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from btclib.feed import Feed, Notice
from btclib.recorder.continuity import Continuity
from btclib.recorder.options import TIMINGS, Rules
from btclib.recorder.supervisor import (
    Abort,
    Done,
    Failure,
    GapFound,
    Log,
    Reconnect,
    Retire,
    Retry,
    Rotate,
    Stop,
    Supervisor,
)

DEPTH, TRADE = "btcusdt@orderbook", "btcusdt@trade"

FEED = Feed(
    exchange="binance",
    url="wss://stream.example/stream?streams=btcusdt@depth5/btcusdt@trade",
    requests=(),
    parser=lambda frame: Notice("malformed", "not parsed here"),
    streams=(DEPTH, TRADE),
    stall_after={DEPTH: 5.0},
    contiguous=frozenset({TRADE}),
    lifetime=24 * 3600.0,
    first_data_within=5.0,
    connect_limit=(300, 300.0),
    silence_hint="Binance sent nothing on btcxyz@depth5 and btcxyz@trade",
    status_hints={451: "Use --binance-url wss://data-stream.binance.vision."},
    title="Binance",
)
RULES = Rules(FEED, TIMINGS)


def rules(**changes: object) -> Rules:
    """:data:`RULES` with some of the feed's fields and some timings changed."""
    feed = {k: v for k, v in changes.items() if hasattr(FEED, k)}
    timings = {k: v for k, v in changes.items() if k not in feed}
    return Rules(replace(FEED, **feed), replace(TIMINGS, **timings))  # type: ignore[arg-type]


def supervisor(rules: Rules = RULES, wall_offset: float = 0.0) -> tuple[Supervisor, dict]:
    feed = rules.feed
    continuity = {s: Continuity(contiguous=s in feed.contiguous) for s in feed.streams}
    return Supervisor(rules, continuity, wall_offset=wall_offset, rng=random.Random(7)), continuity


def kinds(actions: list) -> list[type]:
    return [type(a) for a in actions if not isinstance(a, Log)]


def logged(actions: list) -> list[str]:
    return [a.event for a in actions if isinstance(a, Log)]


def connect(sup: Supervisor, conn: int, now: float, *, data: bool = True) -> dict[str, int]:
    """Open connection ``conn`` at ``now``; with ``data``, both streams deliver at once."""
    counts = dict.fromkeys(FEED.streams, 0)
    sup.opened(conn, now, counts)
    if data:
        counts[DEPTH] = counts[TRADE] = 1
        sup.first_data(conn, now)
    return counts


# -- Stalls --------------------------------------------------------------------------------------


def test_a_silent_book_ends_its_connection_after_its_stall_limit_even_while_trades_flow():
    sup, _ = supervisor()
    counts = connect(sup, 1, now=0.0)
    for t in range(1, 7):  # trades keep coming, the book does not move after t=1
        counts[TRADE] += 1
        assert sup.tick(float(t)) == []
    actions = sup.tick(6.01)
    assert actions == [
        Log("stall", 1, {"stream": DEPTH, "seconds": 5.0}),
        Abort(1, f"stalled: no {DEPTH} data for 5 s"),
    ]


def test_a_ticking_book_is_never_stalled():
    sup, _ = supervisor()
    counts = connect(sup, 1, now=0.0)
    for t in range(1, 100):
        counts[DEPTH] += 1
        assert sup.tick(float(t)) == []


def test_streams_without_a_stall_limit_may_pause_for_ever():
    sup, _ = supervisor()
    counts = connect(sup, 1, now=0.0)
    for t in range(1, 100):  # no trade at all for 100 s: a quiet market, not a dead socket
        counts[DEPTH] += 1
        assert sup.tick(float(t)) == []


def test_silence_while_the_sink_holds_the_reader_back_is_not_a_stall():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    for t in range(1, 60):  # the disk is far behind for a minute: we are not reading
        assert sup.tick(float(t), reader_waiting=True) == []
    assert sup.tick(63.0) == []  # the stall clock restarted when reading resumed
    assert kinds(sup.tick(64.5)) == [Abort]


# -- Unknown symbols: silence from the start -----------------------------------------------------


def test_a_connection_with_no_data_at_all_is_replaced_after_first_data_within():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0, data=False)
    assert sup.tick(4.9) == []
    actions = sup.tick(5.1)
    assert actions == [
        Log("silent", 1, {"seconds": 5.0}),
        Abort(1, "no data within 5 s of connecting"),
    ]


def test_three_silent_connections_in_a_row_stop_the_run_naming_the_symbol():
    sup, _ = supervisor()
    now = 0.0
    for conn in (1, 2):
        connect(sup, conn, now, data=False)
        now += 5.5
        assert kinds(sup.tick(now)) == [Abort]
        assert kinds(sup.closed(conn, now, "no data")) == [Reconnect]
    connect(sup, 3, now, data=False)
    now += 5.5
    sup.tick(now)
    [stop] = [a for a in sup.closed(3, now, "no data") if isinstance(a, Stop)]
    assert str(stop.error) == f"{FEED.silence_hint} (3 connections, no data at all)"


def test_silence_after_data_ever_came_is_a_drop_not_an_unknown_symbol():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    assert kinds(sup.closed(1, 1.0, "drop")) == [Reconnect]
    for conn in range(2, 8):
        connect(sup, conn, now=conn * 10.0, data=False)
        assert Stop not in kinds(sup.closed(conn, conn * 10.0 + 6, "no data"))


# -- Connecting: budget, backoff, what is fatal --------------------------------------------------


def test_the_connect_budget_spreads_attempts_over_the_exchanges_window():
    sup, _ = supervisor(rules(connect_limit=(5, 1.0)))
    assert [sup.connect_wait(0.0) for _ in range(5)] == [0.0] * 5
    assert sup.connect_wait(0.2) == pytest.approx(0.8)
    assert sup.connect_wait(1.0) == 0.0


def test_backoff_grows_with_full_jitter_under_its_cap_and_resets_on_data():
    sup, _ = supervisor(rules(backoff_base=0.5, backoff_cap=4.0))
    transient = Failure("transient", "Connection refused")
    delays = []
    for _ in range(8):
        *_, retry = sup.connect_failed(transient)
        assert isinstance(retry, Retry)
        delays.append(retry.delay)
    ceilings = [min(4.0, 0.5 * 2**n) for n in range(8)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[4:]) > 0.5  # it did grow
    connect(sup, 1, now=0.0)  # data came: the next failure is retried quickly again
    *_, retry = sup.connect_failed(transient)
    assert retry.delay <= 0.5


def test_a_failed_attempt_is_logged_with_the_url_the_error_and_the_delay():
    sup, _ = supervisor()
    log, retry = sup.connect_failed(Failure("transient", "Name or service not known"))
    assert log.event == "connect_failed"
    assert log.fields == {
        "url": FEED.url,
        "error": "Name or service not known",
        "retry_in": round(retry.delay, 3),
    }


def test_a_region_block_stops_at_once_with_the_exchanges_hint():
    sup, _ = supervisor()
    log, stop = sup.connect_failed(Failure("status", "HTTP 451 Unavailable", 451))
    assert isinstance(stop, Stop)
    assert str(stop.error) == (
        f"Binance refused the connection to {FEED.url}: HTTP 451 Unavailable. "
        "Use --binance-url wss://data-stream.binance.vision."
    )
    assert log == Log("error", 0, {"error": str(stop.error)})


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(status: int):
    sup, _ = supervisor()
    assert kinds(sup.connect_failed(Failure("status", f"HTTP {status}", status))) == [Retry]


def test_throttling_is_retried_with_a_long_backoff_a_few_times_then_stops():
    sup, _ = supervisor(rules(max_refusals=3))
    throttled = Failure("status", "HTTP 429 Too Many Requests", 429)
    for _ in range(3):
        *_, retry = sup.connect_failed(throttled)
        assert isinstance(retry, Retry)
        assert sup.backoff.attempt >= 7  # continued from attempt 6: tens of seconds
    *_, stop = sup.connect_failed(throttled)
    assert isinstance(stop, Stop) and "429" in str(stop.error)


def test_a_successful_connection_forgives_earlier_throttling():
    sup, _ = supervisor(rules(max_refusals=1))
    throttled = Failure("status", "HTTP 429", 429)
    assert kinds(sup.connect_failed(throttled)) == [Retry]
    connect(sup, 1, now=0.0)
    assert kinds(sup.connect_failed(throttled)) == [Retry]


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (Failure("invalid_url", "scheme isn't ws or wss"), "Binance: invalid URL"),
        (Failure("fatal", "certificate verify failed"), "Binance: cannot connect to"),
        (Failure("status", "HTTP 404 Not Found", 404), "Binance refused the connection"),
    ],
)
def test_what_retrying_cannot_heal_stops_the_run(failure: Failure, message: str):
    sup, _ = supervisor()
    *_, stop = sup.connect_failed(failure)
    assert isinstance(stop, Stop) and str(stop.error).startswith(message)
    assert failure.text in str(stop.error)


# -- Lifetime and make-before-break rotation -----------------------------------------------------


def test_rotation_starts_rotate_before_the_lifetime_ends():
    sup, _ = supervisor(rules(lifetime=3600.0, rotate_before=600.0, stall_after={}))
    connect(sup, 1, now=100.0)
    assert sup.tick(100.0 + 3000.0) == []
    assert sup.tick(100.0 + 3000.5) == [
        Log("rotate", 1, {"reason": "lifetime"}),
        Rotate(1, "lifetime"),
    ]


def test_a_short_lifetime_rotates_at_half_of_it():
    sup, _ = supervisor(rules(lifetime=10.0, rotate_before=600.0, stall_after={}))
    connect(sup, 1, now=0.0)
    assert sup.tick(4.9) == []
    assert kinds(sup.tick(5.1)) == [Rotate]


def test_a_shutdown_notice_rotates_at_once():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    sup.shutdown_notice(1)
    assert sup.tick(1.0) == [
        Log("rotate", 1, {"reason": "server shutdown"}),
        Rotate(1, "server shutdown"),
    ]


def test_the_old_connection_is_retired_once_the_new_one_delivers_every_stream_it_did():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    sup.shutdown_notice(1)
    assert kinds(sup.tick(1.0)) == [Rotate]
    new = connect(sup, 2, now=1.2, data=False)
    assert sup.rotating
    new[DEPTH] = 1  # the book came, trades not yet: the old one still delivers them
    assert sup.tick(1.5) == []
    new[TRADE] = 1
    assert sup.tick(1.6) == [
        Retire(1, 2, "replaced (server shutdown)"),
        Log("rotated", 2, {"replaced": 1}),
    ]
    assert not sup.rotating and sup.current.id == 2


def test_the_old_connection_is_retired_at_overlap_max_even_if_a_stream_stays_quiet():
    sup, _ = supervisor(rules(overlap_max=10.0))
    connect(sup, 1, now=0.0)
    sup.shutdown_notice(1)
    sup.tick(1.0)
    new = connect(sup, 2, now=1.0, data=False)
    new[DEPTH] = 1  # no trade on the new connection for 10 s
    assert sup.tick(10.9) == []
    assert kinds(sup.tick(11.0)) == [Retire]


def test_a_failed_replacement_keeps_the_old_connection_and_tries_again_later():
    sup, _ = supervisor(rules(rotation_retry=30.0))
    counts = connect(sup, 1, now=0.0)
    sup.shutdown_notice(1)
    sup.tick(1.0)
    connect(sup, 2, now=1.0, data=False)
    assert sup.closed(2, 2.0, "HTTP 503") == [Log("rotate_failed", 2, {"cause": "HTTP 503"})]
    assert sup.current.id == 1 and not sup.rotating
    for t in range(3, 32):  # the old connection goes on, no new attempt for 30 s
        counts[DEPTH] += 1
        assert sup.tick(float(t)) == []
    counts[DEPTH] += 1
    assert kinds(sup.tick(32.5)) == [Rotate]


def test_an_old_connection_that_ends_during_the_overlap_hands_over_without_a_gap():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    sup.shutdown_notice(1)
    sup.tick(1.0)
    connect(sup, 2, now=1.0)
    actions = sup.closed(1, 1.5, "closed by the server with code 1000")
    assert actions == [
        Retire(1, 2, "replaced (server shutdown)"),
        Log("rotated", 2, {"replaced": 1}),
    ]
    assert not sup.gaps.open


# -- Drops, reconnects and gaps ------------------------------------------------------------------


def test_a_drop_logs_the_close_and_reconnects_after_a_backoff_delay():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    closed, reconnect_log, reconnect = sup.closed(1, 3.0, "connection lost (1006)")
    assert closed == Log("closed", 1, {"cause": "connection lost (1006)"})
    assert isinstance(reconnect, Reconnect)
    assert reconnect_log == Log("reconnect", 0, {"retry_in": round(reconnect.delay, 3)})


def test_the_gap_of_a_drop_runs_from_the_close_to_the_next_data_and_counts_the_trades_missed():
    sup, continuity = supervisor(wall_offset=1_000_000.0)
    trades = continuity[TRADE]
    connect(sup, 1, now=0.0)
    assert [trades.accept(i) for i in (100, 101, 102)] == [True] * 3
    sup.closed(1, 3.0, "connection lost (1006)")
    counts = connect(sup, 2, now=4.0, data=False)
    counts[DEPTH] = 1
    sup.first_data(2, 4.5)
    assert sup.tick(4.6) == []  # the size is known only once a trade arrives
    trades.accept(110)  # 103..109 were sent while we were away
    counts[TRADE] = 1
    [found] = sup.tick(4.7)
    assert found == GapFound(
        {
            "start": 1_000_003.0,
            "end": 1_000_004.5,
            "cause": "connection lost (1006)",
            "exchange": "binance",
            "missed": {TRADE: 7},
            "ids": {TRADE: [[103, 109]]},  # which ones: what a backfill fetches again
        }
    )
    assert sup.tick(4.8) == []  # reported once


def test_ids_that_jump_within_a_connection_are_gaps_too():
    sup, continuity = supervisor()
    connect(sup, 1, now=0.0)
    trades = continuity[TRADE]
    for i in (1, 2, 3, 8):
        trades.accept(i)
    [found] = sup.tick(1.0)
    assert found.gap["start"] is None and found.gap["missed"] == {TRADE: 4}
    assert found.gap["cause"] == f"{TRADE} ids jumped from 3 to 8"
    assert sup.tick(1.1) == []


def test_a_gap_still_open_at_the_end_of_the_run_is_reported_with_no_end():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    sup.closed(1, 2.0, "stalled")
    [found] = sup.finish(3.0)
    assert found.gap["end"] is None and found.gap["cause"] == "stalled"
    assert sup.finish(3.1) == []


def test_ids_that_jumped_just_before_a_close_are_reported_with_the_close():
    """A jump the last tick did not see yet is reported when the connection ends, apart
    from the gap that opens then (which counts only what the new connection shows)."""
    sup, continuity = supervisor()
    trades = continuity[TRADE]
    connect(sup, 1, now=0.0)
    for i in (1, 2, 3, 10):  # 4..9 skipped, and the connection ends before the next tick
        trades.accept(i)
    jumped = [a for a in sup.closed(1, 0.03, "closed by the server with code 1012") if
              isinstance(a, GapFound)]  # fmt: skip
    assert [g.gap["missed"] for g in jumped] == [{TRADE: 6}]
    assert jumped[0].gap["ids"] == {TRADE: [[4, 9]]}
    counts = connect(sup, 2, now=1.0)
    trades.accept(12)  # 11 was sent while no connection was up
    counts[TRADE] = 1
    [gap] = sup.tick(1.1)
    assert gap.gap["missed"] == {TRADE: 1} and gap.gap["ids"] == {TRADE: [[11, 11]]}


def test_ids_that_jumped_since_the_last_tick_are_reported_when_the_run_ends():
    sup, continuity = supervisor()
    connect(sup, 1, now=0.0)
    for i in (1, 2, 5):
        continuity[TRADE].accept(i)
    [found] = [a for a in sup.finish(0.5) if isinstance(a, GapFound)]
    assert found.gap["missed"] == {TRADE: 2} and found.gap["start"] is None


def test_when_the_source_has_ended_a_close_finishes_the_feed_instead_of_reconnecting():
    sup, _ = supervisor()
    connect(sup, 1, now=0.0)
    sup.finishing = True
    sup.shutdown_notice(1)
    assert sup.tick(1.0) == []  # no rotation either: nothing more will come
    assert kinds(sup.closed(1, 2.0, "replay finished")) == [Done]
    assert not sup.gaps.open


def test_a_tls_failure_stops_with_the_certificate_problem_and_the_way_out():
    sup, _ = supervisor()
    *_, stop = sup.connect_failed(Failure("tls", "certificate not trusted (self-signed)"))
    assert isinstance(stop, Stop)
    assert str(stop.error).startswith(f"Binance: TLS failure connecting to {FEED.url}: ")
    assert "certificate not trusted (self-signed)" in str(stop.error)
    assert "SSL_CERT_FILE" in str(stop.error)


def test_ids_out_of_order_are_logged_as_anomalies_and_counted_without_flooding():
    sup, continuity = supervisor()
    connect(sup, 1, now=0.0)
    trades = continuity[TRADE]
    trades.accept(500, 1)
    for _ in range(250):  # a server that keeps resending an old trade id
        assert trades.accept(499, 1) is True
    actions = sup.tick(1.0)
    anomalies = [a for a in actions if isinstance(a, Log) and a.event == "anomaly"]
    assert anomalies[0] == Log("anomaly", 1, {"stream": TRADE, "id": 499, "after": 500, "count": 1})
    assert [a.fields["count"] for a in anomalies] == [*range(1, 21), 100, 200]
    assert sup.tick(1.1) == []  # each logged once


def test_repeated_events_are_logged_one_by_one_then_every_hundredth():
    """One rule for ids out of order and bad frames (btcrec takes it from the contract)."""
    from btclib.recorder.supervisor import worth_logging

    logged = [n for n in range(1, 1001) if worth_logging(n)]
    assert logged == [*range(1, 21), *range(100, 1001, 100)]
