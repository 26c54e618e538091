"""Faults: a node of the cluster killed, the whole broker away, the recorder killed.

Each checks the stream against the recorder's own file: per market and kind the lines
consumed are exactly the file's, in the file's order (nothing lost, nothing twice)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from btclib.broker.servers import Cluster, NatsServer

from .conftest import by_key, consume, spooled_lines, start_recorder, stream_info


def _events(data: Path) -> list[dict]:
    log = data.with_name(data.stem + ".events.jsonl")
    return [json.loads(x) for x in log.read_text().splitlines()]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_a_node_killed_mid_run_and_restarted_loses_nothing(cluster: Cluster, tmp_path: Path):
    data = tmp_path / "d.txt"
    recorder = start_recorder(
        "both", "--source", "sim", "--duration", "9", "--out", str(data),
        "--publish", cluster.urls,
    )  # fmt: skip
    _wait(lambda: _lines(data) > 20, 30, "lines in the file")
    info = stream_info(cluster.urls)
    assert info.config.num_replicas == 3  # as many replicas as nodes, up to 3
    [victim] = [n for n in cluster.nodes if n.name == info.cluster.leader]  # the stream's leader
    victim.kill()
    time.sleep(2.0)
    victim.start()
    _out, err = recorder.communicate(timeout=60)
    assert recorder.returncode == 0, err
    back = tmp_path / "back.txt"
    consume(cluster.urls, back)
    assert by_key(back.read_bytes()) == by_key(data.read_bytes())


def test_the_broker_away_for_10_s_spools_then_drains(server: NatsServer, tmp_path: Path):
    data = tmp_path / "d.txt"
    recorder = start_recorder(
        "both", "--source", "sim", "--duration", "15", "--out", str(data),
        "--publish", server.url,
    )  # fmt: skip
    _wait(lambda: _lines(data) > 10, 30, "lines in the file")
    server.stop()
    down = time.monotonic()
    _wait(lambda: spooled_lines(data) > 5, 9, "the spool to fill")
    time.sleep(max(0.0, 10.0 - (time.monotonic() - down)))
    filled = spooled_lines(data)
    server.start()
    out, err = recorder.communicate(timeout=60)
    assert recorder.returncode == 0, err
    assert spooled_lines(data) == 0 < filled  # filled, then drained
    assert "nothing left in the spool" in out
    events = [e["event"] for e in _events(data)]
    assert "broker_down" in events and "broker_up" in events
    assert events.index("broker_down") < events.index("broker_up")
    back = tmp_path / "back.txt"
    consume(server.url, back)
    assert by_key(back.read_bytes()) == by_key(data.read_bytes())
    # The outage is in the stream too: the events subjects carry the events log.
    ev = tmp_path / "events.txt"
    consume(server.url, ev, "--subject", "btclib.events.>")
    assert b'"broker_down"' in ev.read_bytes()


def test_a_killed_recorder_restarted_on_its_spool_sends_every_line_once(
    server: NatsServer, tmp_path: Path
):
    data = tmp_path / "d.txt"
    recorder = start_recorder(
        "both", "--source", "sim", "--duration", "60", "--out", str(data),
        "--publish", server.url,
    )  # fmt: skip
    _wait(lambda: _lines(data) > 10, 30, "lines in the file")
    server.stop()
    _wait(lambda: spooled_lines(data) > 5, 20, "lines in the spool")
    recorder.send_signal(signal.SIGKILL)
    recorder.communicate(timeout=10)
    assert spooled_lines(data) > 0
    server.start()
    again = start_recorder(
        "both", "--source", "sim", "--duration", "2", "--out", str(data),
        "--publish", server.url,
    )  # fmt: skip
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert spooled_lines(data) == 0
    assert "broker_resend" in [e["event"] for e in _events(data)]
    back = tmp_path / "back.txt"
    consume(server.url, back)
    recorded = data.read_bytes()
    # Both runs' lines, each once; per market and kind in the file's order.
    assert sorted(back.read_bytes().splitlines()) == sorted(recorded.splitlines())
    assert by_key(back.read_bytes()) == by_key(recorded)
