"""The quality check's rules on a handful of numbers (no file, no clock)."""

from btclib.quality.rules import (
    RateRules,
    book_faults,
    latency,
    rate_findings,
    trade_holes,
    update_id_backwards,
)


def test_trade_holes_name_each_missing_range_with_its_times():
    present, expected, holes = trade_holes([10, 11, 14, 15, 19], [1.0, 1.1, 2.0, 2.1, 3.0])
    assert (present, expected) == (5, 10)
    assert [(h.first, h.last, h.count, h.after, h.before) for h in holes] == [
        (12, 13, 2, 1.1, 2.0),
        (16, 18, 3, 2.1, 3.0),
    ]


def test_a_repeated_trade_id_is_not_a_hole_nor_counted_twice():
    assert trade_holes([5, 6, 6, 7], [0, 1, 2, 3]) == (3, 3, [])


def test_book_faults_crossed_locked_disordered_and_empty():
    assert book_faults([(100.0, 1.0), (99.0, 1.0)], [(101.0, 1.0), (102.0, 1.0)]) == []
    assert book_faults([(102.0, 1.0)], [(101.0, 1.0)]) == ["crossed"]
    assert book_faults([(101.0, 1.0)], [(101.0, 1.0)]) == ["locked"]
    assert book_faults([(100.0, 1.0), (100.5, 1.0)], [(101.0, 1.0)]) == ["out_of_order"]
    assert book_faults([], [(101.0, 1.0)]) == ["empty_side"]
    # Upbit pads a thin side with 0-price levels: padding is no level, and no disorder.
    assert book_faults([(100.0, 1.0), (0.0, 0.0)], [(101.0, 1.0), (0.0, 0.0)]) == []


def test_update_id_going_back_is_a_fault_a_repeat_is_not():
    assert update_id_backwards([5, 6, 6, 9]) == []
    assert update_id_backwards([5, 6, 4, 9]) == [2]


def test_latency_counts_negatives_beyond_the_clock_bound():
    lat = latency([0.010, 0.020, -0.002, 0.030])
    assert lat is not None and lat.negative == 1 and lat.max == 30.0 and lat.count == 4
    bounded = latency([0.010, -0.002, -0.010], bound_s=0.005)
    assert bounded is not None and bounded.negative == 1 and bounded.bound_ms == 5.0


RULES = RateRules(bin_s=1.0, collapse_for=2.5, min_history=3, min_per_bin=5)


def steady(start: float, end: float, per_s: int) -> list[float]:
    return [start + i / per_s for i in range(int((end - start) * per_s))]


def test_a_rate_below_a_tenth_of_its_median_for_long_enough_is_a_collapse():
    times = steady(0, 10, 20) + steady(10, 14, 1) + steady(14, 20, 20)
    per_min, found = rate_findings(times, RULES, span=(0, 20))
    assert per_min == 1200
    assert [(f.kind, f.start, f.end) for f in found] == [("collapse", 10.0, 14.0)]


def test_a_short_dip_a_sparse_stream_and_an_explained_stretch_are_not_collapses():
    short = steady(0, 10, 20) + steady(12, 20, 20)  # 2 s silent: under collapse_for
    assert rate_findings(short, RULES, span=(0, 20))[1] == []
    sparse = steady(0, 10, 2) + steady(15, 20, 2)  # 2 a second: too few to judge
    assert rate_findings(sparse, RULES, span=(0, 20))[1] == []
    gap = steady(0, 10, 20) + steady(15, 20, 20)  # disconnected 10-15: a gap, reported as one
    assert rate_findings(gap, RULES, excluded=[(10.0, 15.0)], span=(0, 20))[1] == []
