"""Numbered streams: duplicates dropped, holes counted, late fill-ins accepted once."""

import random

from btclib.recorder.continuity import Continuity


def test_contiguous_ids_accept_each_once_and_count_the_hole():
    c = Continuity(contiguous=True)
    assert [c.accept(i) for i in (1, 2, 3)] == [True, True, True]
    assert c.accept(7) is True  # 4, 5, 6 missing
    assert c.missing == 3
    assert c.accept(3) is False and c.duplicates == 1
    assert c.accept(5) is True  # a late fill-in from the other connection
    assert c.accept(5) is False
    assert c.missing == 2


def test_overlapping_connections_deliver_each_trade_once():
    c = Continuity(contiguous=True)
    old = list(range(100, 121))
    new = list(range(110, 131))
    merged = sorted(old + new, key=lambda _: random.random())
    merged.sort()  # both connections deliver in id order, interleaved
    written = [i for i in merged if c.accept(i)]
    assert written == list(range(100, 131))
    assert c.duplicates == 11 and c.missing == 0


def test_update_ids_only_grow_and_recent_repeats_are_duplicates():
    c = Continuity(contiguous=False)
    assert [c.accept(i) for i in (10, 25, 40)] == [True, True, True]
    assert c.accept(25) is False
    assert c.accept(30) is True  # an older snapshot from the other connection: new, kept
    assert c.missing == 0
