"""Retry policies: full-jitter exponential backoff and the per-IP connection budget."""

import random

from btclib.recorder.backoff import Backoff, ConnectBudget


def test_backoff_is_full_jitter_exponential_and_capped():
    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(10)]
    ceilings = [1, 2, 4, 8, 8, 8, 8, 8, 8, 8]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[3:]) > 4  # it does grow past the early ceilings
    b.reset()
    assert b.next_delay() <= 1.0


def test_connect_budget_holds_attempts_within_the_window():
    budget = ConnectBudget(limit=3, window=10.0)
    for t in (0.0, 1.0, 2.0):
        assert budget.wait_time(t) == 0
        budget.spend(t)
    assert budget.wait_time(3.0) == 7.0
    assert budget.wait_time(10.0) == 0
