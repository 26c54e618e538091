"""Numbered streams: only what another connection already wrote is dropped; holes counted.

Connection ``1`` is the old connection of a make-before-break rotation,
``2`` its replacement; both deliver the same messages while they overlap.
"""

from btclib.recorder.continuity import Anomaly, Continuity

OLD, NEW = 1, 2


def test_contiguous_ids_from_the_other_connection_are_written_once_and_holes_counted():
    c = Continuity(contiguous=True)
    assert [c.accept(i, OLD) for i in (1, 2, 3)] == [True, True, True]
    assert c.accept(7, OLD) is True  # 4, 5, 6 missing
    assert c.missing == 3
    assert c.accept(3, NEW) is False and c.duplicates == 1  # the old one wrote it
    assert c.accept(5, NEW) is True  # a late fill-in from the other connection
    assert c.accept(5, OLD) is False  # now written, by NEW
    assert c.missing == 2
    assert c.anomalies == []  # a fill-in is not an anomaly


def test_overlapping_connections_deliver_each_trade_once():
    c = Continuity(contiguous=True)
    old = [(i, OLD) for i in range(100, 121)]
    new = [(i, NEW) for i in range(110, 131)]
    merged = sorted(old + new)  # both connections deliver in id order, interleaved
    written = [i for i, conn in merged if c.accept(i, conn)]
    assert written == list(range(100, 131))
    assert c.duplicates == 11 and c.missing == 0 and c.anomalies == []


def test_on_a_single_connection_nothing_is_ever_dropped():
    c = Continuity(contiguous=True)
    ids = [1, 2, 3, 3, 2, 4, 10, 9, 9, 11]  # repeats and steps back, all from one socket
    assert all(c.accept(i, OLD) for i in ids)
    assert c.duplicates == 0
    # 3, 2 and the second 9 went backwards; the first 9 filled the 5..9 hole.
    assert c.anomalies == [Anomaly(3, 3, OLD), Anomaly(2, 3, OLD), Anomaly(9, 10, OLD)]
    assert c.missing == 4  # 5, 6, 7, 8


def test_an_id_below_the_highest_that_was_never_written_is_written():
    c = Continuity(contiguous=False)
    assert [c.accept(i, OLD) for i in (10, 25, 40)] == [True, True, True]
    assert c.accept(30, NEW) is True  # never written by anyone: written, and noted
    assert c.anomalies == [Anomaly(30, 40, NEW)]
    assert c.accept(25, NEW) is False  # the old connection wrote it
    assert c.accept(40, OLD) is True and c.duplicates == 1  # same connection: kept


def test_which_connection_wrote_an_id_is_remembered_for_at_least_two_generations():
    c = Continuity(contiguous=False, recent=100)
    for i in range(1, 250):
        c.accept(i, OLD)
    assert c.accept(150, NEW) is False  # still known to be written
    assert c.accept(10, NEW) is True  # long forgotten: written rather than guessed away
