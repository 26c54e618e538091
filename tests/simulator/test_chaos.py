"""The random fault plan: reproducible from its seed, every kind drawn, never a refusal streak."""

from __future__ import annotations

import itertools

from btclib.simulator import Drop, Malformed, Refuse, Stall
from btclib.simulator.chaos import CHANNELS, RandomFaults
from btclib.simulator.faults import Shutdown


def kinds(faults: tuple[object, ...]) -> set[str]:
    names = set()
    for f in faults:
        if isinstance(f, Drop):
            names.add("close" if f.close_code else "drop")
        elif isinstance(f, Shutdown):
            names.add("notice" if f.notice else "cut")
        else:
            names.add(type(f).__name__)
    return names


def test_a_seed_gives_the_same_faults_whatever_order_the_exchanges_ask_in() -> None:
    a, b = RandomFaults(42), RandomFaults(42)
    forward = {(x, i): a.matching(x, i) for i in range(50) for x in ("binance", "upbit")}
    backward = {(x, i): b.matching(x, i) for i in reversed(range(50)) for x in ("upbit", "binance")}
    assert forward == backward
    assert [a.matching("binance", i) for i in range(50)] == [
        RandomFaults(42).matching("binance", i) for i in range(50)
    ]
    assert [RandomFaults(43).matching("binance", i) for i in range(50)] != [
        a.matching("binance", i) for i in range(50)
    ]


def test_every_kind_of_the_catalogue_is_drawn() -> None:
    plan = RandomFaults(7)
    seen: set[str] = set()
    channels: set[str] = set()
    for exchange in ("binance", "upbit"):
        for i in range(300):
            faults = plan.matching(exchange, i)
            seen |= kinds(faults)
            channels |= {c for f in faults if isinstance(f, Stall) for c in f.channels or ()}
    assert seen == {"Refuse", "drop", "close", "notice", "cut", "Stall", "Malformed"}
    assert channels == set(CHANNELS["binance"]) | set(CHANNELS["upbit"])


def test_a_refusal_is_never_the_first_attempt_nor_right_after_another() -> None:
    plan = RandomFaults(5)
    for exchange in ("binance", "upbit"):
        refused = [
            any(isinstance(f, Refuse) for f in plan.matching(exchange, i)) for i in range(500)
        ]
        assert not refused[0] and sum(refused) > 20
        assert not any(a and b for a, b in itertools.pairwise(refused))
        assert all(plan.matching(exchange, i) == (Refuse(429),) for i in range(500) if refused[i])


def test_faults_strike_soon_after_the_handshake() -> None:
    plan = RandomFaults(9)
    for i in range(200):
        for f in plan.matching("binance", i):
            if isinstance(f, Drop | Shutdown):
                assert f.after_seconds is not None and 0.5 <= f.after_seconds <= 4.0
            if isinstance(f, Stall):
                assert f.after_seconds is not None and 0.3 <= f.after_seconds <= 3.0
            if isinstance(f, Malformed):
                assert 0 <= f.after_messages <= 100
