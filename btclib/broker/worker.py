"""The publisher in a process of its own: it sends what the recorder's process spools.

Why a second process: the NATS client's work per line (building each message with its
header, reading each acknowledgement, the wake-ups) costs several times what the
recorder itself spends on a line, and in the recorder's process it would be paid on the
recorder's core, under its interpreter lock. Here the recorder pays one write to the spool
per flush and one byte on a pipe; this process follows the spool's files as they grow
(:meth:`~btclib.broker.spool.RunSpool.follow`) and runs the same
:class:`~btclib.broker.publish.Publisher` on them (order, outages, the repair, the
events log). The spool is the hand-off, so nothing is lost if either process dies: a
line is acknowledged in the stream or still in the spool for the next run.

The recorder's process starts it (``python -m btclib.broker.worker ...``), writes ``n``
lines on its standard input to say "more lines" (it also looks every 20 ms), ``close``
when the run is over (the worker then sends what is left within the drain timeout and
prints its report, one JSON line), and the pipe's end (EOF) when the recorder died:
the worker then saves where it is and stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from ..errors import BrokerError
from ..files.datafile import FileLock, platform_lock
from ..files.eventlog import EventLog
from .connection import Broker, open_broker
from .publish import Publisher, PublishOptions
from .spool import RunSpool, Spool
from .subjects import Router

__all__ = ["main"]

LOOK_EVERY = 0.02
"""Seconds between looks at the spool when no notice came (a notice may be lost: the
recorder never waits to write one)."""


async def _connect(
    urls: list[str], stream: str, stop: asyncio.Event, log: EventLog
) -> Broker | None:
    """Connect (the recorder checked the broker a moment ago; if it went away since,
    keep trying: that is an outage, logged as one, and the spool holds the lines).
    None when the recorder died meanwhile."""
    delay, down = 0.25, None
    while not stop.is_set():
        try:
            broker = await open_broker(urls, stream, name="btclib-publisher")
        except BrokerError as exc:
            if down is None:
                down = time.monotonic()
                log("broker_down", why=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(2.0, delay * 2)
            continue
        if stop.is_set():  # the recorder died while we connected: its next run sends
            await broker.close()
            return None
        if down is not None:
            log("broker_up", down_s=round(time.monotonic() - down, 3))
        return broker
    return None


async def _lock(folder: Path, stop: asyncio.Event) -> tuple[int, FileLock] | None:
    """One publisher per spool: wait for the one of a recorder that died to notice
    (its standard input ends) and let go."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "publisher.lock", os.O_RDWR | os.O_CREAT, 0o644)
    lock = platform_lock()
    while not stop.is_set():
        try:
            lock.acquire(fd)
            return fd, lock
        except OSError:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    os.close(fd)
    return None


async def _run(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ended = asyncio.Event()  # the recorder died: stdin closed
    closing = asyncio.Event()
    give_up = asyncio.Event()  # stop waiting for a lock or a broker: ended, or drained
    notified = asyncio.Event()

    async def listen() -> None:
        while True:
            line = await reader.readline()
            if not line:
                if not closing.is_set():  # no "close" first: the recorder died
                    ended.set()
                    give_up.set()
                return
            if line.strip() == b"close" and not closing.is_set():
                closing.set()
                loop.call_later(args.drain, give_up.set)
            notified.set()

    listener = asyncio.create_task(listen())
    events = Path(args.events) if args.events else None
    log = EventLog(events)
    held = await _lock(Path(args.spool), give_up)
    if held is None:
        return 0
    broker = await _connect(args.urls.split(","), args.stream, give_up, log)
    if broker is None:
        return 0
    options = PublishOptions(drain_timeout=args.drain)
    spool = Spool(Path(args.spool), options.spool_max_bytes)
    leftovers = spool.open(lock=False, skip=frozenset({args.run}))
    current = RunSpool(spool.folder, args.run, following=True)
    publisher = Publisher(broker, spool, Router(), log, options, events, args.events_from)
    await publisher.start(args.run, leftovers, current=current)
    try:
        while not (closing.is_set() or ended.is_set()):
            notified.clear()
            lines = current.follow()
            if lines:
                publisher.add_followed(lines)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(notified.wait(), LOOK_EVERY)
        lines = current.follow()  # the recorder's last flush
        if lines:
            publisher.add_followed(lines)
        current.following = ended.is_set()  # closed: the recorder writes no more
        await publisher.close(0.0 if ended.is_set() else options.drain_timeout)
        print(json.dumps(publisher.report()), flush=True)
    finally:
        listener.cancel()
        await broker.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m btclib.broker.worker")
    parser.add_argument("--urls", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--spool", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--events", default=None)
    parser.add_argument("--events-from", type=int, default=None)
    parser.add_argument("--drain", type=float, default=PublishOptions.drain_timeout)
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
