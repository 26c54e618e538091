"""``--metrics``: Prometheus metrics and ``/health`` while recording, scraped over HTTP and
read with prometheus_client's own parser; ``/health`` turns 503 while the simulator
stalls a stream and 200 again once it flows."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import btclib
from btclib.quality.metrics import RunMetrics, parse_address
from btclib.recorder import Progress
from btclib.recorder.summary import LinkState, RunSummary
from btclib.simulator.faults import Faults, Rule, Stall

DEPTH = "btcusdt@orderbook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_and_health_from_snapshots_on_an_injected_clock():
    now = [100.0]
    m = RunMetrics([DEPTH, "btcusdt@trade"], {DEPTH: 5.0}, clock=lambda: now[0])
    summary = RunSummary(path=None, events_path=None, lines={})  # type: ignore[arg-type]
    summary.gaps.append({"exchange": "binance", "missed": {"btcusdt@trade": 7}})
    link = LinkState("binance", state="connected", connections=2, failed=1)
    m.update(Progress(1.0, None, 3, 3.0, {DEPTH: 1, "btcusdt@trade": 2}, 1,
                      links={"binance": link}, summary=summary, queued_bytes=4096,
                      behind=(12, 0.5)))  # fmt: skip
    got = samples(m.scrape().decode())
    assert got[("btclib_writer_queue_bytes", ())] == 4096  # from the sink, through the snapshot
    assert got[("btclib_spooled_lines", ())] == 12  # from the broker sink's spool
    assert got[("btclib_lines_total", (("stream", DEPTH),))] == 1
    assert got[("btclib_missed_trades_total", (("stream", "btcusdt@trade"),))] == 7
    assert got[("btclib_connections_total", (("exchange", "binance"),))] == 2
    assert got[("btclib_connect_failures_total", (("exchange", "binance"),))] == 1
    assert got[("btclib_reconnects_total", ())] == 1 and got[("btclib_gaps_total", ())] == 1
    assert m.health() == (True, "ok")
    now[0] = 106.0
    ok, reason = m.health()
    assert not ok and reason == f"{DEPTH}: no message for 6.0 s, stall limit 5 s"
    assert samples(m.scrape().decode())[
        ("btclib_seconds_since_last_message", (("stream", DEPTH),))
    ] == pytest.approx(6.0)


def test_a_metrics_address_is_checked_in_plain_words():
    assert parse_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert parse_address(":9108") == ("127.0.0.1", 9108)
    with pytest.raises(ValueError, match="not HOST:PORT"):
        parse_address("9108x")
    with pytest.raises(ValueError, match="not an IP address"):
        parse_address("example.org:9108")


async def test_health_turns_503_while_a_stream_stalls_and_the_metrics_scrape(tmp_path):
    port = free_port()
    stalls = Faults.of(
        Rule(Stall(after_seconds=1.5, channels=("depth",)), exchange="binance", connection=0),
        # The replacement stays silent too for a while: the outage outlives one reconnect.
        Rule(Stall(duration=5.0, channels=("depth",)), exchange="binance", connection=1),
    )
    run = asyncio.create_task(
        btclib.record("binance", source="sim", duration=16, out=tmp_path / "m.txt",
                      depth_speed="100ms", metrics=f"127.0.0.1:{port}",
                      sim_options=dict(faults=stalls), progress=None, announce=lambda _: None)
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    seen: list[tuple[int, str]] = []

    async def until(status: int, timeout: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if run.done():
                run.result()
                raise AssertionError(f"the run ended before /health said {status}: {seen}")
            try:
                code, body = await asyncio.to_thread(get, base + "/health")
            except OSError:  # not listening yet
                code, body = 0, ""
            seen.append((code, body))
            if code == status:
                return body
            await asyncio.sleep(0.1)
        raise AssertionError(f"/health never said {status}: {seen[-5:]}")

    assert await until(200, 10) == "ok\n"
    reason = await until(503, 10)
    assert reason.startswith(f"{DEPTH}: no message for ") and "stall limit 3 s" in reason
    code, text = await asyncio.to_thread(get, base + "/metrics")
    assert code == 200
    during = samples(text)
    assert during[("btclib_seconds_since_last_message", (("stream", DEPTH),))] > 3.0
    assert during[("btclib_lines_total", (("stream", "btcusdt@trade"),))] > 0
    assert await until(200, 15) == "ok\n"
    code, text = await asyncio.to_thread(get, base + "/metrics")
    after = samples(text)
    assert after[("btclib_reconnects_total", ())] >= 1
    assert after[("btclib_connections_total", (("exchange", "binance"),))] >= 2
    assert after[("btclib_connected", (("exchange", "binance"),))] == 1
    summary = await run
    assert summary.total > 0
    with pytest.raises(OSError):  # the server closed with the run
        await asyncio.to_thread(get, base + "/health")
