"""Serve a recorded capture instead of the synthetic market.

A capture (format in :mod:`btclib.files.capture`) holds every frame a recorder
received, with its monotonic time. The replay sends them again, byte for byte
and with the same opcode, to the clients connected to the matching exchange
path, in ONE global order across exchanges and with the captured spacing
divided by ``speed`` (``"max"``: no waiting).

The timeline starts when every exchange of the capture has a subscribed client
(Binance: handshake done; Upbit: a valid request), or ``start_timeout``
seconds after the first one subscribed; frames of an exchange without a client
are skipped. When consecutive frames go to different connections, the first
connection's buffers are flushed and the loop yields a millisecond, so a
client reading both sockets sees them in the captured order. At the end
:attr:`finished` is set once every frame is flushed, then every replay
connection is closed with 1000 "replay finished".

A damaged capture is read in bounded memory: a record that is not JSON or is
longer than the recorder's frame limit is skipped unread and listed in
:attr:`Replay.skipped` (line number, size), for the run's summary.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Literal

from .. import exchanges
from ..files.capture import Frame, frames
from ..files.linereader import Skipped
from .link import Link

__all__ = ["Replay", "is_market_data"]


def is_market_data(exchange: str, frame: bytes | str) -> bool:
    """Whether a captured frame is market data (not a reply, error, status or event).

    Decided by the exchange's own classification (:mod:`btclib.exchanges`), the
    rules its recorder parses by, so a replay and the recorder never disagree.
    """
    data = frame.encode() if isinstance(frame, str) else bytes(frame)
    return exchanges.get(exchange).classify(data) == "data"


class Replay:
    """The replay timeline shared by every connection of one simulator."""

    def __init__(
        self, path: str | Path, speed: float | Literal["max"] = 1.0, start_timeout: float = 1.0
    ) -> None:
        if speed != "max" and (not isinstance(speed, int | float) or speed <= 0):
            raise ValueError(f"replay speed must be positive or 'max', not {speed!r}")
        self.path = Path(path)
        self.speed = speed
        self.start_timeout = start_timeout
        #: Records of the capture skipped as damaged or overlong (never held in memory).
        self.skipped: list[Skipped] = []
        self.frames: list[Frame] = list(frames(self.path, self.skipped))
        self.exchanges = {f.exchange for f in self.frames}
        self.finished = asyncio.Event()
        self.clients: dict[str, list[Link]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def attach(self, link: Link) -> None:
        """Register a subscribed client; the first one starts the timeline."""
        if self.finished.is_set():
            link.spawn(self._finish(link))
            return
        clients = self.clients.setdefault(link.exchange, [])
        if link not in clients:
            clients.append(link)
            # Every send waits until the bytes left the process: the only way
            # to keep the order across two sockets.
            link.ws.transport.set_write_buffer_limits(high=0)
        self._changed.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def detach(self, link: Link) -> None:
        clients = self.clients.get(link.exchange, [])
        if link in clients:
            clients.remove(link)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while not all(self.clients.get(x) for x in self.exchanges):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        origin = loop.time()
        first = self.frames[0].mono_ns if self.frames else 0
        previous: Link | None = None
        for frame in self.frames:
            targets = list(self.clients.get(frame.exchange, ()))
            if not targets:
                continue
            if self.speed != "max":
                due = origin + (frame.mono_ns - first) / 1e9 / self.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                payload: str | bytes = frame.data.decode("utf-8")
            except UnicodeDecodeError:
                payload = frame.data
            binary = frame.binary or isinstance(payload, bytes)
            data = isinstance(payload, str) and is_market_data(frame.exchange, frame.data)
            for link in targets:
                if previous is not None and previous is not link:
                    await previous.flushed()
                    await asyncio.sleep(0.001)
                link.replayed(payload, binary, data)
                previous = link
        # Say "nothing more will come" before closing, so a client told so
        # reads each connection to its close instead of reconnecting.
        for links in self.clients.values():
            for link in list(links):
                await link.flushed()
        self.finished.set()
        for links in self.clients.values():
            for link in list(links):
                await self._finish(link)

    async def _finish(self, link: Link) -> None:
        await link.flushed()
        link.closing = True
        with contextlib.suppress(Exception):
            await link.ws.close(1000, "replay finished")
