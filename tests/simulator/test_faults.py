"""Fault injection and the exchanges' own disconnect rules, seen by a real client."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from btclib.simulator import (
    Drop,
    Faults,
    Malformed,
    MalformedKind,
    MicrosecondTimestamps,
    Refuse,
    Rule,
    SimConfig,
    Simulator,
    Stall,
)
from btclib.simulator.binance import BINANCE_451_BODY
from btclib.simulator.faults import Shutdown
from btclib.simulator.link import SimConnection

COMBINED = "/stream?streams=btcusdt@depth5@100ms/btcusdt@trade"
UPBIT_REQUEST = '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]}]'


def config(*faults: Rule | Any, **kw: Any) -> SimConfig:
    kw.setdefault("speedup", 20.0)
    kw.setdefault("record_sent", True)
    return SimConfig(faults=Faults.of(*faults), **kw)


async def recv(ws: ClientConnection, timeout: float = 3.0) -> Any:
    # asyncio.timeout, not wait_for: on Python 3.11 a wait_for whose awaitable completes as
    # it is cancelled returns the result and swallows the cancellation, so a drain under an
    # outer deadline ran on forever (CPython gh-86296, fixed in 3.12).
    async with asyncio.timeout(timeout):
        return await ws.recv()


async def drain_until_closed(ws: ClientConnection) -> tuple[list[Any], ConnectionClosed]:
    """Everything received until the connection ends, and how it ended."""
    frames = []
    try:
        while True:
            frames.append(await recv(ws))
    except ConnectionClosed as exc:
        return frames, exc


# -- abrupt drops ---------------------------------------------------------------------


async def test_drop_after_messages_is_1006_and_every_sent_frame_arrives() -> None:
    async with Simulator(config(Drop(after_messages=25))) as sim:
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            frames, closed = await drain_until_closed(ws)
        assert isinstance(closed, ConnectionClosedError)
        assert closed.rcvd is None  # no close frame: the client reports 1006
        assert len(frames) == 25
        assert [s.payload for s in sim.sent] == frames


async def test_drop_after_seconds_on_upbit() -> None:
    async with Simulator(config(Drop(after_seconds=0.2), upbit_idle_timeout=None)) as sim:
        async with connect(sim.urls["upbit"]) as ws:
            await ws.send(UPBIT_REQUEST)
            start = time.monotonic()
            frames, closed = await drain_until_closed(ws)
        assert closed.rcvd is None
        assert 0.15 < time.monotonic() - start < 2
        assert frames == [s.payload for s in sim.sent]
        assert all(isinstance(f, bytes) for f in frames)


async def test_rules_select_exchange_and_connection_index() -> None:
    rule = Rule(Drop(after_messages=3), exchange="binance", connection=0)
    async with Simulator(config(rule)) as sim:
        async with connect(sim.urls["binance"] + COMBINED) as first:
            frames, closed = await drain_until_closed(first)
        assert len(frames) == 3 and closed.rcvd is None
        async with connect(sim.urls["binance"] + COMBINED) as second:
            assert len([await recv(second) for _ in range(10)]) == 10  # healthy
        async with connect(sim.urls["upbit"]) as upbit:
            await upbit.send(UPBIT_REQUEST)
            assert len([await recv(upbit) for _ in range(5)]) == 5
    assert [(c.exchange, c.index) for c in sim.connections] == [
        ("binance", 0),
        ("binance", 1),
        ("upbit", 0),
    ]


# -- refused handshakes ------------------------------------------------------------------


async def test_refuse_451_with_binance_body_then_accept_retry() -> None:
    rule = Rule(Refuse(451), exchange="binance", connection=0)
    async with Simulator(config(rule)) as sim:
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim.urls["binance"] + COMBINED):
                pass
        response = info.value.response
        assert response.status_code == 451
        assert response.body == BINANCE_451_BODY.encode()
        assert json.loads(response.body)["code"] == 0
        assert response.headers["Content-Type"].startswith("application/json")
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            assert json.loads(await recv(ws))["stream"]
        assert [c.index for c in sim.connections] == [1]


async def test_refuse_429_on_upbit() -> None:
    async with Simulator(config(Rule(Refuse(429), exchange="upbit"))) as sim:
        with pytest.raises(InvalidStatus) as info:
            async with connect(sim.urls["upbit"]):
                pass
    assert info.value.response.status_code == 429


# -- Binance rate limit, lifetime, shutdown ---------------------------------------------------


async def test_five_pings_are_fine_the_sixth_closes_1008() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["binance"] + "/ws/btcusdt@trade") as ws:
        waiters = [await ws.ping() for _ in range(5)]
        await asyncio.wait_for(asyncio.gather(*waiters), 3)  # all answered: still open
        await ws.ping()
        _, closed = await drain_until_closed(ws)
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1008, "Too many requests")


async def test_unsolicited_pongs_count_too() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["binance"] + "/ws/btcusdt@trade") as ws:
        for _ in range(6):
            await ws.pong()
        _, closed = await drain_until_closed(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1008


async def test_text_messages_count_too() -> None:
    async with Simulator(config()) as sim, connect(sim.urls["binance"] + "/ws") as ws:
        for i in range(6):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        frames, closed = await drain_until_closed(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1008
    assert len(frames) <= 5  # the sixth request is never answered


async def test_lifetime_cut_with_server_shutdown_event() -> None:
    cfg = config(binance_lifetime=0.4, binance_shutdown_notice=0.2)
    async with Simulator(cfg) as sim:
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            frames, closed = await drain_until_closed(ws)
        async with connect(sim.urls["binance"] + "/ws/btcusdt@trade") as raw:
            raw_frames, _ = await drain_until_closed(raw)
    events = [f for f in frames if "serverShutdown" in f]
    assert len(events) == 1
    event = json.loads(events[0])
    assert event["stream"] == "!serverShutdown" and event["data"]["e"] == "serverShutdown"
    assert list(event["data"]) == ["e", "E"]
    # Data flowed before and after the notice, then the connection was cut.
    position = frames.index(events[0])
    assert 0 < position < len(frames) - 1
    assert closed.rcvd is not None and closed.rcvd.code == 1001
    assert sum('"e":"serverShutdown"' in f and f.startswith('{"e"') for f in raw_frames) == 1
    assert all("serverShutdown" not in str(s.payload) for s in sim.sent)


# -- Upbit idle timeout ---------------------------------------------------------------


async def test_upbit_idle_connection_is_dropped_without_close_frame() -> None:
    async with Simulator(config(upbit_idle_timeout=0.3)) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(UPBIT_REQUEST)
        start = time.monotonic()
        frames, closed = await drain_until_closed(ws)
    assert frames  # data flowed, but the client never spoke again
    assert closed.rcvd is None
    assert 0.25 < time.monotonic() - start < 2


async def test_upbit_pings_keep_the_connection_alive() -> None:
    cfg = config(upbit_idle_timeout=0.3)
    # max_queue=None: unread data must not stop the client from reading pongs.
    async with Simulator(cfg) as sim, connect(sim.urls["upbit"], max_queue=None) as ws:
        await ws.send(UPBIT_REQUEST)
        for _ in range(8):  # 0.8 s, well past the idle timeout
            await asyncio.wait_for(await ws.ping(), 1)
            await asyncio.sleep(0.1)
        assert await recv(ws)


# -- stalls ---------------------------------------------------------------------------


async def test_stall_only_depth_while_trades_flow() -> None:
    stall = Stall(after_messages=5, channels=("depth",))
    async with (
        Simulator(config(stall, speedup=50.0)) as sim,
        # Unbounded queue: trades keep coming while we wait for the pong, and a
        # client that stopped reading would never see the pong behind them.
        connect(sim.urls["binance"] + COMBINED, max_queue=None) as ws,
    ):
        frames = [json.loads(await recv(ws))["stream"] for _ in range(40)]
        # Pings are still answered during the stall.
        await asyncio.wait_for(await ws.ping(), 1)
    assert "btcusdt@depth5@100ms" in frames[:5]
    assert set(frames[10:]) == {"btcusdt@trade"}


async def test_a_stall_holds_from_its_count_while_the_writer_lags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A slow socket (a busy machine): each send waits, so the market queues frames faster
    # than they go out. The stall counts the frames queued before it, so no depth frame
    # comes after the 5th data frame however many were waiting (a count of frames already
    # sent let depth through for as long as the writer lagged).
    send = SimConnection.send

    async def slow_send(self: SimConnection, message: Any, *args: Any, **kw: Any) -> None:
        await asyncio.sleep(0.02)
        await send(self, message, *args, **kw)

    monkeypatch.setattr(SimConnection, "send", slow_send)
    stall = Stall(after_messages=5, channels=("depth",))
    bad = Malformed(MalformedKind.NOT_JSON, after_messages=4)
    async with (
        Simulator(config(stall, bad, speedup=50.0)) as sim,
        connect(sim.urls["binance"] + COMBINED, max_queue=None) as ws,
    ):
        received = [await recv(ws) for _ in range(41)]
    assert received[4] == sim.injected[0].payload  # right after the 4th data frame
    frames = [json.loads(f)["stream"] for f in received[:4] + received[5:]]
    assert "btcusdt@depth5@100ms" in frames[:5]
    assert set(frames[5:]) == {"btcusdt@trade"}
    # Listed in stream order: the stall strikes after the 5th data frame, so after the
    # frame injected after the 4th, however early the market queued the frames behind it.
    assert [type(f.fault) for f in sim.fired] == [Malformed, Stall]


async def test_stall_for_a_while_then_resume() -> None:
    stall = Stall(after_messages=3, duration=0.4)
    async with Simulator(config(stall)) as sim, connect(sim.urls["binance"] + COMBINED) as ws:
        stamps = []
        for _ in range(12):
            await recv(ws)
            stamps.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) > 0.3  # a silent stretch ...
    assert len(stamps) == 12  # ... and data came back


# -- malformed frames -------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MalformedKind))
async def test_binance_malformed_frames(kind: MalformedKind) -> None:
    async with Simulator(config(Malformed(kind, after_messages=4))) as sim:
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            frames = [await recv(ws) for _ in range(8)]
        injected = sim.injected
        sent = [s.payload for s in sim.sent]
    assert len(injected) == 1 and injected[0].payload == frames[4]
    assert frames[4] not in sent and frames[:4] == sent[:4] and frames[5:8] == sent[4:7]
    text = frames[4]
    if kind is MalformedKind.NOT_JSON or kind is MalformedKind.TRUNCATED:
        with pytest.raises(ValueError):
            json.loads(text)
    elif kind is MalformedKind.MISSING_BIDS:
        frame = json.loads(text)
        assert frame["stream"] == "btcusdt@depth5@100ms"
        assert "bids" not in frame["data"] and "asks" in frame["data"]
    else:
        frame = json.loads(text)
        assert frame["stream"] == "ethusdt@trade" and frame["data"]["s"] == "ETHUSDT"


@pytest.mark.parametrize("kind", list(MalformedKind))
async def test_upbit_malformed_frames(kind: MalformedKind) -> None:
    async with Simulator(config(Malformed(kind, after_messages=2))) as sim:
        async with connect(sim.urls["upbit"]) as ws:
            await ws.send(UPBIT_REQUEST)
            frames = [await recv(ws) for _ in range(4)]
        injected = sim.injected
    assert all(isinstance(f, bytes) for f in frames)
    assert [i.payload for i in injected] == [frames[2]]
    if kind in (MalformedKind.NOT_JSON, MalformedKind.TRUNCATED):
        with pytest.raises(ValueError):
            json.loads(frames[2])
    elif kind is MalformedKind.MISSING_BIDS:
        assert "orderbook_units" not in json.loads(frames[2])
    else:
        assert json.loads(frames[2])["code"] != "KRW-BTC"


async def test_upbit_microsecond_timestamps() -> None:
    async with Simulator(config(MicrosecondTimestamps())) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(UPBIT_REQUEST)
        books = [json.loads(await recv(ws)) for _ in range(3)]
    assert all(len(str(b["timestamp"])) == 16 for b in books)


# -- ends with a close frame, per-connection cuts, what fired --------------------------


async def test_a_drop_with_a_close_code_sends_that_close_frame_after_every_sent_frame() -> None:
    drop = Drop(after_messages=15, close_code=1011)
    async with Simulator(config(drop)) as sim, connect(sim.urls["binance"] + COMBINED) as ws:
        frames, closed = await drain_until_closed(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1011
    assert frames == [f.payload for f in sim.sent] and len(frames) == 15
    [fired] = sim.fired
    assert fired.fault == drop and fired.exchange == "binance" and fired.index == 0


async def test_a_shutdown_is_announced_then_closes_only_the_chosen_connection() -> None:
    cut = Shutdown(after_seconds=0.6, notice=0.3)
    async with Simulator(config(Rule(cut, exchange="binance", connection=0))) as sim:
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            frames, closed = await drain_until_closed(ws)
        async with connect(sim.urls["binance"] + COMBINED) as second:
            await recv(second)
            with pytest.raises(TimeoutError):  # no cut for connection 1
                async with asyncio.timeout(0.9):
                    await drain_until_closed(second)
    notices = [f for f in frames if "serverShutdown" in f]
    assert len(notices) == 1
    assert closed.rcvd is not None and closed.rcvd.code == 1001  # binance_lifetime_close_code
    assert [f.fault for f in sim.fired] == [cut]
    first, _ = sim.spans
    assert first.closed is not None and 0.5 < first.closed - first.opened < 2.0


async def test_an_upbit_shutdown_closes_without_a_notice() -> None:
    cut = Shutdown(after_seconds=0.4, notice=0.2)
    async with Simulator(config(cut)) as sim, connect(sim.urls["upbit"]) as ws:
        await ws.send(UPBIT_REQUEST)
        frames, closed = await drain_until_closed(ws)
    assert frames and not any(b"serverShutdown" in f for f in frames)
    assert closed.rcvd is not None and closed.rcvd.code == 1001


async def test_fired_lists_refusals_stalls_and_injected_frames_as_they_strike() -> None:
    refuse = Rule(Refuse(429), exchange="binance", connection=0)
    stall = Rule(Stall(after_messages=3, duration=0.2, channels=("depth",)), connection=1)
    bad = Rule(Malformed(MalformedKind.NOT_JSON, after_messages=2), connection=1)
    async with Simulator(config(refuse, stall, bad)) as sim:
        with pytest.raises(InvalidStatus):
            async with connect(sim.urls["binance"] + COMBINED):
                pass
        async with connect(sim.urls["binance"] + COMBINED) as ws:
            for _ in range(8):
                await recv(ws)
    assert [type(f.fault) for f in sim.fired] == [Refuse, Malformed, Stall]
    assert sim.fired[0].conn_id == 0 and sim.fired[1].conn_id == sim.connections[0].conn_id
    assert all(a.time <= b.time for a, b in itertools.pairwise(sim.fired))


async def test_the_sent_frames_can_go_to_any_log() -> None:
    class Counted:
        def __init__(self) -> None:
            self.n = 0

        def append(self, frame: Any) -> None:
            self.n += 1

    log = Counted()
    async with Simulator(config(), sent=log) as sim, connect(sim.urls["binance"] + COMBINED) as ws:
        for _ in range(5):
            await recv(ws)
    assert log.n >= 5
