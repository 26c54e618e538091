"""The Sink protocol is the whole contract: every sink has all of it, and a sink written
against it alone (a tee, as a broker sink will be) records through the recorder."""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from btclib.feed import Data, Feed
from btclib.files.eventlog import events_path
from btclib.files.rotating import Output, RotatingSink, SplitSink, open_sink
from btclib.files.rotation import Rotation
from btclib.files.sink import FileReport, LineSink, Sink
from btclib.recorder import record_feeds

from ..conftest import FAST


def members(protocol: type) -> set[str]:
    own = {name for name in vars(protocol) if not name.startswith("_")}
    return own | set(protocol.__annotations__)


def made(kind: str, base: Path) -> Any:
    if kind == "plain":
        return LineSink(base)
    if kind == "rotating":
        return RotatingSink(base, Rotation(daily=True))
    return open_sink(base, split="market")


@pytest.mark.parametrize("kind", ["plain", "rotating", "split"])
def test_every_sink_has_every_member_of_the_protocol_with_its_parameters(tmp_path: Path, kind: str):
    sink = made(kind, tmp_path / "s.txt")
    for name in members(Sink):
        assert hasattr(sink, name), f"{type(sink).__name__} has no {name}"
        wanted = inspect.getattr_static(Sink, name, None)
        if inspect.isfunction(wanted):
            got = inspect.signature(getattr(sink, name)).parameters
            assert list(got) == list(inspect.signature(wanted).parameters)[1:], name
    assert isinstance(sink, SplitSink) == (kind == "split")


def test_the_file_report_is_what_the_events_log_writer_offers():
    from btclib.files.eventlog import FileEvents

    for name in members(FileReport):
        assert callable(getattr(FileEvents, name)), name


class Tee:
    """A sink made from the protocol alone: every line goes to the file sink it wraps and
    to a list (where a broker sink would publish it)."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.published: list[bytes] = []
        self.base = inner.base
        self.failed = inner.failed

    error = property(lambda self: self.inner.error)
    lines = property(lambda self: self.inner.lines)
    dropped = property(lambda self: self.inner.dropped)
    size = property(lambda self: self.inner.size)
    waiting = property(lambda self: self.inner.waiting)
    queued_bytes = property(lambda self: self.inner.queued_bytes)

    def behind(self) -> tuple[int, float] | None:
        return (0, 0.0)  # every line "published" at once

    def open(self) -> None:
        self.inner.open()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def append(self, line: bytes) -> bool:
        if not self.inner.append(line):
            return False
        self.published.append(line)
        return True

    def flush(self) -> None:
        self.inner.flush()

    def write(self, line: bytes) -> None:
        self.inner.write(line)
        self.published.append(line)

    async def room(self) -> None:
        await self.inner.room()

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        return self.inner.start_fields(files)

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        return self.inner.stop_fields(files, lines)


async def record_into(sink_or_path: Any, messages: list[bytes], log: Path) -> None:
    async def send_all(ws: ServerConnection) -> None:
        for m in messages:
            await ws.send(m)
        await ws.close()

    async with serve(send_all, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        finish = asyncio.Event()

        def whole(frame: bytes) -> Data:
            finish.set()
            return Data("s@x", None, bytes(frame) + b"\n")

        feed = Feed("test", f"ws://127.0.0.1:{port}/", (), whole, ("s@x",))
        await asyncio.wait_for(
            record_feeds(
                [feed], sink_or_path, events_path=log, finish=finish, options=FAST, duration=20
            ),
            20,
        )


@pytest.mark.parametrize("output", ["plain", "daily"])
async def test_a_tee_written_against_the_protocol_records_the_same_file_and_events(
    tmp_path: Path, output: str
):
    messages = [b"s@x, p:%d,q:1" % i for i in range(500)]
    rotation = Rotation(daily=True) if output == "daily" else None
    plain, teed = tmp_path / "plain" / "d.txt", tmp_path / "teed" / "d.txt"
    await record_into(Output(plain, rotation), messages, events_path(plain))
    tee = Tee(Output(teed, rotation).sink())
    await record_into(tee, messages, events_path(teed))

    def files(base: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(base.parent.iterdir())
                if ".events." not in p.name}  # fmt: skip

    assert files(teed) == files(plain) and len(files(plain)) == 1
    assert tee.published == [m + b"\n" for m in messages]

    def ends(base: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        log = [json.loads(line) for line in events_path(base).read_text().splitlines()]
        keep = ("offset", "line", "rotate", "end_offset", "end_line")
        start, stop = log[0], log[-1]
        return {k: start.get(k) for k in keep}, {k: stop.get(k) for k in keep}

    assert ends(teed) == ends(plain)
    assert ends(plain)[1]["end_line"] == len(messages)
