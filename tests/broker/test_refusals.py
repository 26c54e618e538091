"""A broker that refuses is a plain error before anything starts: exit 1, no file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from btclib.broker.servers import NatsServer, free_port

from .conftest import btclib


def _refused(url: str, tmp_path: Path, *words: str) -> None:
    data = tmp_path / "d.txt"
    done = btclib(
        "record", "binance", "--source", "sim", "--duration", "2", "--out", str(data),
        "--publish", url,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("btclib: error: ") and "Traceback" not in done.stderr
    for word in words:
        assert word in last, last
    assert not data.exists()  # nothing half-started
    assert not data.with_name("d.events.jsonl").exists()
    assert not data.with_name("d.txt.spool").exists()


def test_no_server_at_the_address(tmp_path: Path):
    _refused(
        f"nats://127.0.0.1:{free_port()}", tmp_path, "cannot reach a NATS server", "nats-server -js"
    )


def test_a_server_that_wants_credentials(tmp_path: Path):
    node = NatsServer(tmp_path / "auth", user="rec", password="s3cret")
    node.start()
    try:
        _refused(node.url, tmp_path, "refused our credentials", "nats://USER:PASSWORD@HOST:PORT")
    finally:
        node.kill()


def test_a_server_without_jetstream(tmp_path: Path):
    node = NatsServer(tmp_path / "nojs", jetstream=False)
    node.start()
    try:
        _refused(node.url, tmp_path, "has no JetStream", "-js")
    finally:
        node.kill()


@pytest.mark.parametrize(
    ("name", "subjects", "words"),
    [
        ("BTCLIB", ["other.>"], ["holds other subjects", "--stream NAME", "nats stream rm BTCLIB"]),
        ("MINE", ["btclib.>"], ["already takes btclib.>", "--stream NAME"]),
    ],
)
def test_a_stream_whose_subjects_conflict(
    server: NatsServer, tmp_path: Path, name: str, subjects: list[str], words: list[str]
):
    import nats

    async def make() -> None:
        nc = await nats.connect(server.url)
        await nc.jetstream().add_stream(name=name, subjects=subjects)
        await nc.close()

    asyncio.run(make())
    _refused(server.url, tmp_path, *words)
