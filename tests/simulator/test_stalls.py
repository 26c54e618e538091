"""The stall rule on a fake clock: when a Stall fault holds a channel's data back."""

from __future__ import annotations

from btclib.simulator.faults import Stall, Stalls


def test_a_stall_without_trigger_holds_every_channel_from_the_start() -> None:
    stalls = Stalls([Stall()], opened=100.0)
    assert stalls.silences("btcusdt@trade", now=100.0, data_sent=0)
    assert stalls.silences("orderbook", now=1e6, data_sent=10**6)


def test_a_stall_after_messages_starts_at_that_count_and_lasts_its_duration() -> None:
    stalls = Stalls([Stall(after_messages=3, duration=2.0)], opened=0.0)
    assert not stalls.silences("x", now=5.0, data_sent=2)
    assert stalls.silences("x", now=6.0, data_sent=3)  # starts here
    assert stalls.silences("x", now=7.9, data_sent=3)
    assert not stalls.silences("x", now=8.0, data_sent=3)  # 2 s after it started


def test_a_stall_after_seconds_counts_from_the_handshake() -> None:
    stalls = Stalls([Stall(after_seconds=1.5)], opened=10.0)
    assert not stalls.silences("x", now=11.4, data_sent=50)
    assert stalls.silences("x", now=11.5, data_sent=50)
    assert stalls.silences("x", now=500.0, data_sent=50)  # no duration: to the end


def test_a_stall_of_some_channels_lets_the_others_flow() -> None:
    stalls = Stalls([Stall(channels=("depth",))], opened=0.0)
    assert stalls.silences("btcusdt@depth5@100ms", now=0.0, data_sent=0)
    assert not stalls.silences("btcusdt@trade", now=0.0, data_sent=0)


def test_no_stall_silences_nothing() -> None:
    assert not Stalls([], opened=0.0).silences("x", now=0.0, data_sent=0)
