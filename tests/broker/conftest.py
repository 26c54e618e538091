"""Real NATS servers on 127.0.0.1 (free ports, stores in tmp_path), started and stopped
by the fixtures, and the recorder and ``consume`` run as the user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from btclib.broker.servers import Cluster, NatsServer

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "BTCLIB_SOURCE": "sim"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    node = NatsServer(tmp_path / "nats")
    node.start()
    yield node
    node.kill()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nodes = Cluster(tmp_path / "cluster", size=3)
    nodes.start()
    yield nodes
    for node in nodes.nodes:
        node.kill()


def stream_info(urls: str, stream: str = "BTCLIB") -> object:
    """The stream's info as the server gives it (replicas, the cluster's leader)."""
    import asyncio

    import nats

    async def ask() -> object:
        nc = await nats.connect(urls.split(","))
        try:
            return await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()

    return asyncio.run(ask())


def btclib(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btclib", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def start_recorder(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "btclib", "record", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def consume(urls: str, out: Path, *more: str) -> subprocess.CompletedProcess[str]:
    done = btclib("consume", urls, "--out", str(out), *more)
    assert done.returncode == 0, done.stderr
    return done


def by_key(data: bytes) -> dict[bytes, list[bytes]]:
    """Lines grouped by market and kind (the line key), each group in file order."""
    groups: dict[bytes, list[bytes]] = defaultdict(list)
    for line in data.splitlines(keepends=True):
        groups[line.split(b",", 1)[0]].append(line)
    return dict(groups)


def spooled_lines(data_file: Path) -> int:
    """Lines in the spool beside ``data_file`` that the broker has not acknowledged, read
    from the disk: per run, its last line's number (segment files are named by their
    first) minus how far its progress file says it is acknowledged."""
    import json

    folder = data_file.with_name(data_file.name + ".spool")
    waiting = 0
    for meta in folder.glob("*.run.json") if folder.exists() else []:
        run = meta.name.removesuffix(".run.json")
        try:
            acked = int(json.loads(meta.read_text())["acked"])
        except (OSError, ValueError):
            continue  # being replaced at this very moment
        last = acked
        for segment in folder.glob(f"{run}.*.lines"):
            first = int(segment.name.split(".")[-2])
            last = max(last, first + segment.read_bytes().count(b"\n") - 1)
        waiting += last - acked
    return waiting
