"""The events log, one owner (btclib/files/eventlog.py): its records end with a bare \\n
on every platform, UTF-8 as written; a run's start names the format and its version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btclib.files.eventlog import (
    FORMAT,
    MAX_EVENT_BYTES,
    VERSION,
    EventLog,
    events,
    events_path,
    log_of,
)
from btclib.files.runs import format_runs, read_runs
from btclib.recorder import record_feeds

from ..conftest import FAST
from ..windows import pretend_windows, whole_lines


def test_the_events_log_ends_lines_with_lf_with_text_mode_translation_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    path = tmp_path / "data.events.jsonl"
    log = EventLog(path)
    log("connect", "upbit", 1, url="wss://api.upbit.com/websocket/v1")
    log("close", "upbit", 1, reason="서버 점검\nmaintenance")  # Korean, and a \n inside
    log.close()
    data = path.read_bytes()
    records = [json.loads(line) for line in whole_lines(data)]
    assert [r["event"] for r in records] == ["connect", "close"]
    assert records[1]["reason"] == "서버 점검\nmaintenance"
    assert "서버 점검".encode() in data  # UTF-8, not escaped


async def test_a_runs_start_names_the_format_and_its_version(tmp_path: Path):
    out = tmp_path / "d.txt"
    await record_feeds([], out, events_path=events_path(out), options=FAST, duration=0.01)
    start, stop = list(events(events_path(out)))
    assert start["event"] == "start" and stop["event"] == "stop"
    assert (start["format"], start["version"]) == (FORMAT, VERSION) == ("btclib-events", 1)
    assert (start["offset"], start["line"]) == (0, 1)
    assert (stop["end_offset"], stop["end_line"]) == (0, 0)


def test_the_log_sits_beside_the_data_file_and_any_file_of_a_set_finds_its_base(
    tmp_path: Path,
):
    base = tmp_path / "stream-data-multi.txt"
    assert events_path(base) == tmp_path / "stream-data-multi.events.jsonl"
    day = tmp_path / "stream-data-multi.2026-12-01.txt.gz"
    assert log_of(day) == events_path(base)


def test_a_connections_rotate_is_not_taken_for_a_file_of_a_set(tmp_path: Path):
    """Two records share the name ``rotate``: a connection's planned replacement (with
    ``exchange``) and a file switch (with ``file``); only the second one is a file."""
    data = tmp_path / "d.txt"
    data.write_bytes(b"a@x\n" * 5)
    records = [
        {"time": 1.0, "event": "start", "offset": 0, "line": 1},
        {"time": 2.0, "event": "rotate", "exchange": "binance", "conn": 1, "reason": "lifetime"},
        {"time": 3.0, "event": "stop", "end_offset": 20, "end_line": 5, "elapsed": 2.0},
    ]
    events_path(data).write_text("".join(json.dumps(r) + "\n" for r in records))
    [run] = read_runs(data)
    assert run.files == [] and run.line_range == "lines 1-5"
    assert "1 file" not in format_runs([run], data)


def test_damaged_and_overlong_lines_are_skipped_unread(tmp_path: Path):
    log = tmp_path / "d.events.jsonl"
    good = json.dumps({"time": 1.0, "event": "start"})
    log.write_bytes(
        b"\n".join(
            [good.encode(), b"{torn", b"[1, 2]", b"x" * (MAX_EVENT_BYTES + 1), good.encode()]
        )
        + b"\n"
    )
    assert [e["event"] for e in events(log)] == ["start", "start"]
