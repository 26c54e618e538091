"""The fault soak: its check fails on a lost, duplicated or torn line, and a real soak passes.

The check is tried on hand-made files first (it must be able to fail, and
count right); then a 30-second soak with a fixed seed runs the recorder
against the simulator under random faults and must find nothing lost,
nothing duplicated, nothing torn, every gap logged and memory bounded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from pathlib import Path

import pytest

from btclib.simulator import ConnectionInfo, SentFrame
from btclib.simulator.expected import expected_line
from btclib.simulator.link import ConnectionSpan
from btclib.tools import soak, soak_btcrec

from ..cpp.conftest import btcrec_path

T0 = 1_700_000_000.0


def trade(conn: int, tid: int, price: str = "95000.01") -> SentFrame:
    data = {"e": "trade", "s": "BTCUSDT", "t": tid, "p": price, "q": f"0.{tid % 1000:03d}"}
    return SentFrame(conn, "binance", json.dumps({"stream": "btcusdt@trade", "data": data}), False)


def book(conn: int, update: int) -> SentFrame:
    bids, asks = [["95000.00", f"1.{update}"]], [["95000.02", "2.0"]]
    data = {"lastUpdateId": update, "bids": bids, "asks": asks}
    payload = json.dumps({"stream": "btcusdt@depth5@100ms", "data": data})
    return SentFrame(conn, "binance", payload, False)


def upbit(conn: int, size: str) -> SentFrame:
    units = f'[{{"ask_price":1.0,"bid_price":0.9,"ask_size":{size},"bid_size":1.0}}]'
    payload = f'{{"type":"orderbook","code":"KRW-BTC","orderbook_units":{units}}}'
    return SentFrame(conn, "upbit", payload.encode(), True)


def stamped(frames: list[SentFrame]) -> list[tuple[float, SentFrame]]:
    return [(T0 + i * 0.01, f) for i, f in enumerate(frames)]


def file_of(frames: list[SentFrame]) -> bytes:
    return b"".join(expected_line(f) for f in frames)


ONE = [trade(1, 10), book(1, 500), upbit(2, "0.5"), trade(1, 11), upbit(2, "0.6"), book(1, 501)]


def test_a_file_with_every_message_once_passes() -> None:
    v = soak.check(stamped(ONE), file_of(ONE), [])
    assert (v.sent, v.written, v.lost, v.duplicated, v.torn) == (6, 6, 0, 0, 0)
    assert v.ok


def test_a_lost_line_fails_and_is_counted() -> None:
    v = soak.check(stamped(ONE), file_of(ONE[:3] + ONE[4:]), [])
    assert (v.sent, v.written, v.lost, v.duplicated, v.torn) == (6, 5, 1, 0, 0)
    assert not v.ok
    assert any("lost" in p for p in v.problems)


def test_a_duplicated_line_fails_and_is_counted() -> None:
    v = soak.check(stamped(ONE), file_of(ONE[:2] + ONE[1:]), [])
    assert (v.written, v.lost, v.duplicated, v.torn) == (7, 0, 1, 0)
    assert not v.ok


def test_a_torn_line_fails_and_is_counted() -> None:
    data = file_of(ONE)
    cut = data.index(b"\n") + 10  # the second line loses its end and runs into the third
    v = soak.check(stamped(ONE), data[:cut] + data[data.index(b"\n", cut) + 1 :], [])
    # One fragment glued to the next line: one torn line, and the two messages it ate are lost.
    assert (v.torn, v.lost, v.duplicated, v.written) == (1, 2, 0, 4)
    assert not v.ok


def test_an_unfinished_last_line_is_torn() -> None:
    v = soak.check(stamped(ONE), file_of(ONE)[:-5], [])
    assert (v.torn, v.lost, v.written) == (1, 1, 5)


def test_a_line_out_of_its_connections_order_fails() -> None:
    swapped = [ONE[1], ONE[0], *ONE[2:]]  # book 500 before trade 10, both on connection 1
    v = soak.check(stamped(ONE), file_of(swapped), [])
    assert v.out_of_order == 1 and v.lost == 1 and v.duplicated == 0
    assert not v.ok


def test_a_rotation_overlap_belongs_in_the_file_once() -> None:
    # Connections 1 and 3 both send trades 11-12 and book 501 (make before break).
    sent = [trade(1, 10), trade(1, 11), trade(3, 11), book(3, 501), book(1, 501), trade(3, 12)]
    sent.insert(3, trade(1, 12))
    written = [trade(1, 10), trade(3, 11), trade(1, 12), book(3, 501)]
    v = soak.check(stamped(sent), file_of(written), [])
    assert (v.sent, v.written, v.lost, v.duplicated) == (4, 4, 0, 0)
    both = soak.check(stamped(sent), file_of([*written, book(1, 501)]), [])
    assert both.duplicated == 1 and not both.ok


def span(conn: int, exchange: str, opened: float, closed: float | None) -> ConnectionSpan:
    return ConnectionSpan(ConnectionInfo(conn, exchange, conn - 1, "/"), opened, closed)


def test_frames_sent_after_the_recorder_cut_its_connection_are_not_expected() -> None:
    sent = [trade(1, 10), trade(1, 11), trade(2, 12)]
    # The recorder cuts connection 1 at +1.0 s; the simulator sends one more trade
    # before it notices (+1.01 s), then the recorder reconnects.
    times = [(T0, sent[0]), (T0 + 1.01, sent[1]), (T0 + 1.6, sent[2])]
    events = [
        {"time": T0 - 0.1, "event": "connected", "exchange": "binance", "conn": 1},
        {"time": T0 + 1.0, "event": "stall", "exchange": "binance", "conn": 1},
        {"time": T0 + 1.5, "event": "connected", "exchange": "binance", "conn": 2},
        {
            "time": T0 + 1.6,
            "event": "gap",
            "exchange": "binance",
            "start": T0 + 1.03,
            "missed": {"btcusdt@trade": 1},
        },
    ]
    spans = [span(1, "binance", T0 - 0.1, T0 + 1.02), span(2, "binance", T0 + 1.5, None)]
    v = soak.check(times, file_of([sent[0], sent[2]]), events, spans, stop=T0 + 10)
    assert v.after_cut == 1 and (v.sent, v.lost) == (2, 0)
    assert v.breaks == v.breaks_logged == 1
    assert v.missed_sent == v.missed_logged == {"btcusdt@trade": 1}
    assert v.ok


def test_a_time_without_connection_must_be_a_logged_gap() -> None:
    sent = [trade(1, 10), trade(2, 11)]
    events = [
        {"time": T0, "event": "connected", "exchange": "binance", "conn": 1},
        {"time": T0 + 2.0, "event": "connected", "exchange": "binance", "conn": 2},
    ]
    spans = [span(1, "binance", T0, T0 + 1.0), span(2, "binance", T0 + 2.0, None)]
    v = soak.check(stamped(sent), file_of(sent), events, spans, stop=T0 + 10)
    assert (v.breaks, v.breaks_logged) == (1, 0)
    assert not v.gaps_explained and not v.ok
    assert any("no gap logged" in p for p in v.problems)


def test_missed_trades_must_add_up_to_the_holes_sent() -> None:
    sent = [trade(1, 10), trade(1, 13)]  # ids 11 and 12 never sent
    v = soak.check(stamped(sent), file_of(sent), [])
    assert v.missed_sent == {"btcusdt@trade": 2} and v.missed_logged == {"btcusdt@trade": 0}
    assert not v.ok
    logged = [
        {"event": "gap", "exchange": "binance", "start": None, "missed": {"btcusdt@trade": 2}}
    ]
    assert soak.check(stamped(sent), file_of(sent), logged).ok


def test_the_slow_disk_is_slow_only_within_its_bursts() -> None:
    disk = soak.SlowDisk(random.Random(3), 60.0)
    assert len(disk.bursts) >= 5
    first = disk.bursts[0]
    assert disk.delay(first.start - 0.01) == (-1, 0.0)
    assert disk.delay((first.start + first.end) / 2) == (0, first.delay)
    assert disk.delay(first.end) == (-1, 0.0)
    assert all(a.end < b.start for a, b in itertools.pairwise(disk.bursts))
    again = soak.SlowDisk(random.Random(3), 60.0)
    assert again.bursts == disk.bursts


def test_memory_that_keeps_growing_is_not_bounded() -> None:
    mb = 1024 * 1024
    flat = soak.MemoryCheck(tuple((t, 60 * mb + (t % 3) * mb) for t in range(90)))
    assert flat.bounded
    leak = soak.MemoryCheck(tuple((t, 60 * mb + t * mb) for t in range(90)))
    assert not leak.bounded and "GROWING" in leak.text()


def test_bad_arguments_are_argparse_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--duration", "abc"],
        ["--duration", "0"],
        ["--duration", "nan"],
        ["--seed", "-1"],
        ["--seed", "x"],
    ):
        with pytest.raises(SystemExit) as info:
            soak.main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "error: argument" in err
    parser = argparse.ArgumentParser()
    soak.add_arguments(parser)
    args = parser.parse_args(["--duration", "12.5", "--seed", "42"])
    assert (args.duration, args.seed) == (12.5, 42)


#: A seed whose draw holds every kind of fault in the catalogue within 30 s.
CI_SEED = 3


def test_a_30_second_soak_with_a_fixed_seed_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = soak.soak(30.0, CI_SEED, folder=tmp_path)
    report = "\n".join(result.report())
    kinds = set(result.fault_kinds)
    assert {"drop", "drop with close frame", "refuse 429", "slow disk"} <= kinds, report
    assert any(k.startswith("malformed") for k in kinds), report
    assert any(k.startswith("stall") for k in kinds), report
    assert kinds & {"shutdown notice", "lifetime cut"}, report
    v = result.verdict
    assert result.faults >= 20 and v.sent > 1000, report
    assert (v.lost, v.duplicated, v.torn) == (0, 0, 0), report
    assert v.gaps_explained and v.breaks > 0, report
    assert result.memory.bounded, report
    assert result.ok, report
    final = result.report()[-1]
    assert final == (
        f"soak: {result.faults} faults, {v.sent} data messages sent while connected, "
        f"{v.written} written, 0 lost, 0 duplicated, 0 torn"
    )


def test_compare_fails_a_rotation_file_with_one_trade_twice_and_another_lost() -> None:
    # Connections 1 and 3 overlap (make before break): trades 11-12 come on both.
    sent = [trade(1, 10), trade(1, 11), trade(3, 11), trade(1, 12), trade(3, 12), trade(3, 13)]
    good = [trade(1, 10), trade(1, 11), trade(1, 12), trade(3, 13)]
    v = soak.compare(sent, file_of(good))
    assert (v.sent, v.written, v.lost, v.duplicated, v.torn) == (4, 4, 0, 0, 0) and v.ok
    planted = [trade(1, 10), trade(1, 11), trade(3, 11), trade(3, 13)]  # 11 twice, 12 lost
    lines = file_of(planted).splitlines(keepends=True)
    # What the rotation tests used to check passes: as many lines as messages, each one
    # some line that was sent...
    sent_lines = {expected_line(f) for f in sent}
    assert len(lines) == len(good) and all(line in sent_lines for line in lines)
    # ...the message-by-message comparison does not.
    v = soak.compare(sent, file_of(planted))
    assert (v.lost, v.duplicated) == (1, 1) and not v.ok
    assert any("duplicated" in p for p in v.problems) and any("lost" in p for p in v.problems)


def test_btcrecs_stderr_becomes_the_events_the_check_needs() -> None:
    said = [
        (T0, "btcrec: binance #1: connected to ws://127.0.0.1:1/stream?streams=x\n"),
        (T0 + 0.5, "btcrec: upbit #1: connected to ws://127.0.0.1:1/websocket/v1\n"),
        (T0 + 1.0, "btcrec: binance #1: dropped: stalled: no btcusdt@orderbook data for 1 s\n"),
        (T0 + 1.1, "btcrec: binance #1: closed: stalled: no btcusdt@orderbook data for 1 s\n"),
        (T0 + 1.1, "btcrec: binance: reconnect in 0.043 s\n"),
        (T0 + 1.2, "btcrec: binance #2: connected to ws://127.0.0.1:1/stream?streams=x\n"),
        (T0 + 1.3, "btcrec: upbit #1: bad frame: not JSON\n"),
    ]
    events = soak_btcrec.events_of(said)
    assert [(e["event"], e.get("conn")) for e in events] == [
        ("connected", "binance#1"),
        ("connected", "upbit#1"),
        ("stall", "binance#1"),
        ("gap", None),
        ("connected", "binance#2"),
    ]
    assert events[2]["time"] == T0 + 1.0 - soak_btcrec.STAMP_SLACK
    assert events[3]["start"] == T0 + 1.1 and events[3]["exchange"] == "binance"
    assert soak_btcrec.open_connections(said) == {"upbit#1", "binance#2"}
    rotated = [*said, (T0 + 2, "btcrec: binance #3: connected to ws://x\n"),
               (T0 + 3, "btcrec: binance #3: rotated: #3 replaces #2\n")]  # fmt: skip
    assert soak_btcrec.open_connections(rotated) == {"upbit#1", "binance#3"}


def test_a_20_second_soak_of_btcrec_with_a_fixed_seed_loses_nothing(tmp_path: Path) -> None:
    btcrec_path()  # skips without a build, fails on CI
    result = soak.soak(20.0, CI_SEED, folder=tmp_path, recorder="cpp")
    report = "\n".join(result.report())
    kinds = set(result.fault_kinds)
    assert {"drop", "drop with close frame", "refuse 429", "slow disk"} <= kinds, report
    assert any(k.startswith("malformed") for k in kinds), report
    v = result.verdict
    assert result.faults >= 15 and v.sent > 1000, report
    assert (v.lost, v.duplicated, v.torn) == (0, 0, 0), report
    assert v.gaps_explained and v.breaks > 0, report
    assert result.memory.bounded and result.ok, report


def test_a_trade_sent_after_the_cut_but_read_all_the_same_is_no_missed_trade() -> None:
    # The recorder cuts connection 1 at +1.0 s, yet reads trade 11 the simulator sent at
    # +1.01 s before it noticed: no trade was missed, and the log says none.
    sent = [trade(1, 10), trade(1, 11), trade(2, 12)]
    times = [(T0, sent[0]), (T0 + 1.01, sent[1]), (T0 + 1.6, sent[2])]
    events = [
        {"time": T0 - 0.1, "event": "connected", "exchange": "binance", "conn": 1},
        {"time": T0 + 1.0, "event": "stall", "exchange": "binance", "conn": 1},
        {"time": T0 + 1.5, "event": "connected", "exchange": "binance", "conn": 2},
        {"time": T0 + 1.6, "event": "gap", "exchange": "binance", "start": T0 + 1.03},
    ]
    spans = [span(1, "binance", T0 - 0.1, T0 + 1.02), span(2, "binance", T0 + 1.5, None)]
    v = soak.check(times, file_of(sent), events, spans, stop=T0 + 10)
    assert (v.sent, v.written, v.lost, v.after_cut) == (3, 3, 0, 1)
    assert v.missed_sent == v.missed_logged == {"btcusdt@trade": 0}
    assert v.ok
