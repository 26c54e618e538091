"""btcrec drops a numbered message only when another connection already wrote its id, as
btclib does (btclib/recorder/continuity.py): on one connection an id that goes backwards is
written, counted and reported. Decision for decision against the Python model
(``btcrec continuity``), and end to end against a small local server."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from websockets.asyncio.server import ServerConnection, serve

from btclib.recorder.continuity import Continuity
from btclib.steps.interrupts import signal_child

from .conftest import btcrec_path, start

OLD, NEW = 1, 2


def btcrec_decisions(
    messages: list[tuple[int, int]], contiguous: bool, recent: int
) -> tuple[list[bool], dict[str, int]]:
    """``btcrec continuity`` over (conn, seq) messages: write or not, and the counters."""
    kind = "contiguous" if contiguous else "increasing"
    stdin = "".join(f"{conn} {seq}\n" for conn, seq in messages)
    done = subprocess.run(
        [str(btcrec_path()), "continuity", kind, str(recent)],
        input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    *decisions, counters = done.stdout.splitlines()
    words = counters.split()
    return [d == "W" for d in decisions], dict(zip(words[::2], map(int, words[1::2]), strict=True))


def python_decisions(
    messages: list[tuple[int, int]], contiguous: bool, recent: int
) -> tuple[list[bool], dict[str, int]]:
    c = Continuity(contiguous=contiguous, recent=recent)
    decisions = [c.accept(seq, conn) for conn, seq in messages]
    counters = {"duplicates": c.duplicates, "missing": c.missing, "anomalies": len(c.anomalies)}
    return decisions, counters


def rotation_with_faults(rng: random.Random, contiguous: bool) -> list[tuple[int, int]]:
    """Connection after connection, each overlapping the next (make before break), with ids
    that repeat, step back, jump ahead and come late, all interleaved."""
    messages: list[tuple[int, int]] = []
    step = 1 if contiguous else 3
    start = 1_000
    for conn in range(1, 6):
        seq = start
        for _ in range(rng.randint(20, 120)):
            r = rng.random()
            if r < 0.05:
                messages.append((conn, seq - rng.randint(0, 30) * step))  # backwards
            elif r < 0.08:
                seq += rng.randint(2, 9) * step  # a jump: a hole
            messages.append((conn, seq))
            seq += step
            if rng.random() < 0.3 and messages:  # the other connection of the overlap
                other, last = messages[rng.randrange(len(messages))]
                messages.append((conn + 1 if other == conn else other, last))
        start = seq - rng.randint(0, 40) * step  # the replacement starts a little back
    return messages


@pytest.mark.parametrize("contiguous", [True, False], ids=["trade-ids", "update-ids"])
def test_btcrec_makes_every_decision_btclibs_continuity_makes(contiguous: bool):
    rng = random.Random(20)
    for _ in range(20):
        messages = rotation_with_faults(rng, contiguous)
        for recent in (8, 4096):  # forgetting old ids, and the recorders' default
            assert btcrec_decisions(messages, contiguous, recent) == python_decisions(
                messages, contiguous, recent
            ), (contiguous, recent, messages)


def test_an_id_going_backwards_on_one_connection_is_written_and_counted():
    messages = [(OLD, i) for i in (1, 2, 3, 3, 2, 4, 10, 9, 9, 11)]
    decisions, counters = btcrec_decisions(messages, contiguous=True, recent=4096)
    assert all(decisions)
    assert counters == {"duplicates": 0, "missing": 4, "anomalies": 3}
    # What another connection already wrote is the only thing dropped.
    decisions, counters = btcrec_decisions([*messages, (NEW, 3), (NEW, 9)], True, 4096)
    assert decisions[-2:] == [False, False] and counters["duplicates"] == 2


def trade(trade_id: int, price: str, qty: str) -> str:
    return json.dumps(
        {
            "stream": "btcusdt@trade",
            "data": {
                "e": "trade", "E": 1761000000000, "s": "BTCUSDT", "t": trade_id,
                "p": price, "q": qty, "T": 1761000000000, "m": False, "M": True,
            },
        },
        separators=(",", ":"),
    )  # fmt: skip


REAL = trade(5_432_101, "107407.88000000", "0.00024000")
"""The real trade btcrec dropped (issue 20): its id is lower than the synthetic ones before it."""
SENT = [
    trade(9_000_000, "1.00000000", "1.00000000"),
    trade(9_000_001, "2.00000000", "1.00000000"),
    REAL,
    trade(9_000_002, "3.00000000", "1.00000000"),
]


async def test_a_real_trade_below_the_synthetic_ids_on_one_connection_is_kept(tmp_path: Path):
    """Every connection gets the same four trades and a close: the first connection's are all
    written (the real one too, as an anomaly); the reconnection's are copies, all dropped."""
    served = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal served
        served += 1
        for frame in SENT:
            await ws.send(frame)
        await ws.close()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        urls = {"binance": f"ws://127.0.0.1:{port}", "upbit": f"ws://127.0.0.1:{port}"}
        process = await start(
            tmp_path, "binance", SimpleNamespace(urls=urls),  # type: ignore[arg-type]
            "--stall-after", "60", "--first-data-within", "60",
        )  # fmt: skip
        await process.said("closed by the server", times=2, timeout=20)
        signal_child(process.proc, signal.SIGINT)
        assert await asyncio.wait_for(process.finish(), 20) == 130
    lines = process.lines()
    assert lines == [
        b"btcusdt@trade, p:1.00000000,q:1.00000000\n",
        b"btcusdt@trade, p:2.00000000,q:1.00000000\n",
        b"btcusdt@trade, p:107407.88000000,q:0.00024000\n",
        b"btcusdt@trade, p:3.00000000,q:1.00000000\n",
    ]
    summary = process.summary()
    assert summary["anomalies"] == 1 and summary["duplicates"] >= len(SENT)
    assert any("anomaly: btcusdt@trade id 5432101 after 9000001" in x for x in process.stderr)
    assert "ids out of order 1" in process.stdout
    assert served >= 2
