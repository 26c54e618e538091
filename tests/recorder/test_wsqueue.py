"""Reading websockets' queue directly: same lines, same order, no stall under flow control."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Frame, Opcode

from btclib.feed import Data, Feed
from btclib.files.sink import LineSink
from btclib.recorder import record_feeds
from btclib.recorder.wsqueue import queued_frames

N = 3000


def numbered(frame: bytes) -> Data:
    """A frame ``<n>:<padding>`` becomes the line ``<n>``."""
    return Data("s", None, bytes(frame).split(b":")[0] + b"\n")


def numbering(started: asyncio.Event):
    """:func:`numbered` that also says when data has started (the run may then end)."""

    def parse(frame: bytes) -> Data:
        started.set()
        return numbered(frame)

    return parse


def message(n: int) -> bytes:
    return b"%d:%s" % (n, b"x" * (n % 300))


async def flood(ws: ServerConnection) -> None:
    """N messages, every 5th one binary. The first half is written to the socket in
    one go, so the client reads hundreds per read and pauses reading (over
    ``max_queue``): only the drain's ``resume()`` can restart it. In the second half
    every 7th message comes in three fragments (``recv()`` must reassemble those)."""
    blob = b"".join(
        Frame(Opcode.BINARY if n % 5 == 0 else Opcode.TEXT, message(n)).serialize(
            mask=False, extensions=[]
        )
        for n in range(N // 2)
    )
    ws.transport.write(blob)
    for n in range(N // 2, N):
        payload = message(n)
        if n % 7 == 0:
            third = len(payload) // 3
            parts = [payload[:third], payload[third : 2 * third], payload[2 * third :]]
            await ws.send([p.decode() for p in parts] if n % 2 else parts)
        elif n % 5 == 0:
            await ws.send(payload)
        else:
            await ws.send(payload.decode())
    await ws.close()


async def test_flooded_connection_records_every_message_in_order(tmp_path: Path) -> None:
    # max_queue=64 in the recorder: a flood pauses reading again and again, so the
    # drained queue must resume it, or the run would hang instead of ending.
    async with serve(flood, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        started = asyncio.Event()  # then the end of the connection ends the run
        feed = Feed("test", f"ws://127.0.0.1:{port}/", (), numbering(started), ("s",))
        summary = await asyncio.wait_for(
            record_feeds([feed], tmp_path / "out.txt", finish=started, duration=60), 20
        )
    lines = (tmp_path / "out.txt").read_bytes().splitlines()
    assert lines == [b"%d" % n for n in range(N)]
    assert summary.lines["s"] == N


async def test_queue_holds_what_arrived_and_fallback_is_always_empty() -> None:
    async def three(ws: ServerConnection) -> None:
        for text in ("a", "b", "c"):
            await ws.send(text)
        await ws.close()

    async with serve(three, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            queue, take, resume = queued_frames(ws)
            await ws.wait_closed()  # the close frame came after all three
            assert len(queue) == 3 and queue[0].fin
            first = await ws.recv(decode=False)
            resume()
            assert [first, bytes(take().data), bytes(take().data)] == [b"a", b"b", b"c"]
            assert not queue

    empty, take, resume = queued_frames(object())
    assert not empty and resume() is None


async def test_a_disk_slower_than_the_flood_slows_reading_and_drops_nothing(
    tmp_path: Path,
) -> None:
    import threading
    import time

    from ..conftest import FAST

    def slow_disk(fd: int, data: memoryview) -> int:
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.003)  # slow: writing moves to the thread, which stays slow
        else:
            time.sleep(0.02)  # 20 ms a write: the flood fills 20 kB much faster
        return os.write(fd, data)

    # A queue of 20 kB: without back-pressure the flood (about 450 kB) would overflow
    # it many times over and lines would be dropped.
    out = LineSink(tmp_path / "out.txt", write=slow_disk, max_queued_bytes=20_000)
    async with serve(flood, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        started = asyncio.Event()

        def whole(frame: bytes) -> Data:  # the whole message is the line
            started.set()
            return Data("s", None, bytes(frame) + b"\n")

        feed = Feed("test", f"ws://127.0.0.1:{port}/", (), whole, ("s",))
        summary = await asyncio.wait_for(
            record_feeds(
                [feed], out, finish=started, options=FAST, duration=60
            ),
            30,
        )
    assert summary.dropped == 0 and summary.connections == 1
    lines = (tmp_path / "out.txt").read_bytes().splitlines()
    assert lines == [message(n) for n in range(N)]
