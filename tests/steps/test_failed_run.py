"""A run that never connected, or wrote nothing, says so while it runs and fails at the end.

Issue 22 #1: ``record --source live`` on a machine without internet printed
``Recorded 0 lines`` and exited 0. This machine has no internet, so the live
URL really fails its DNS lookup here; a closed port of 127.0.0.1 is refused.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

import btclib
from btclib.errors import RecordingError
from btclib.recorder import Progress
from btclib.recorder.summary import LinkState
from btclib.steps.progress import status_line


def closed_port() -> int:
    """A port of 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def record_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btclib", "record", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_status_line_shows_attempt_error_and_retry_instead_of_zero_lines():
    link = LinkState("binance", state="waiting", attempt=3, failed=3, retry_in=1.25)
    link.last_error = "DNS lookup of stream.binance.com failed (Name or service not known)"
    p = Progress(elapsed=1.0, duration=4.0, lines=0, rate=0.0, per_stream={"btcusdt@trade": 0},
                 reconnects=0, links={"binance": link})  # fmt: skip
    line = status_line(p)
    assert "binance: waiting, attempt 3, DNS lookup of stream.binance.com failed" in line
    assert "retry in 1.2 s" in line
    connected = LinkState("binance", state="connected", connections=1)
    assert "binance" not in status_line(
        Progress(1.0, 4.0, 5, 5.0, {"btcusdt@trade": 5}, 0, links={"binance": connected})
    )


def test_live_without_network_exits_1_naming_dns_within_the_duration(tmp_path):
    began = time.monotonic()
    done = record_cli("binance", "--source", "live", "--duration", "4",
                      "--out", str(tmp_path / "x.txt"))  # fmt: skip
    took = time.monotonic() - began
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("btclib: error: binance: ")
    assert "connection attempts failed (DNS lookup of stream.binance.com failed)" in last
    assert last.endswith("never connected")
    # The progress line showed the attempts while it ran, not a silent 0 lines.
    assert "binance: " in done.stderr and "attempt " in done.stderr
    assert took < 4 + 15  # the duration, plus start-up and a clean stop


def test_a_refused_local_port_is_named_and_exits_1(tmp_path):
    port = closed_port()
    done = record_cli("binance", "--source", "live", "--duration", "2",
                      "--binance-url", f"ws://127.0.0.1:{port}",
                      "--out", str(tmp_path / "x.txt"))  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"(connection to 127.0.0.1 port {port} refused); never connected" in done.stderr
    assert "FAILED: binance:" in done.stdout  # the summary says it too


async def test_record_reports_it_in_the_summary_and_raises_with_strict(tmp_path):
    port = closed_port()
    kwargs = dict(source="live", duration=1.5, progress=None, announce=lambda _: None,
                  binance_url=f"ws://127.0.0.1:{port}")  # fmt: skip
    summary = await btclib.record("binance", out=tmp_path / "a.txt", **kwargs)
    assert summary.problems and summary.problems[0].startswith("binance: ")
    assert summary.links["binance"].failed >= 1 and summary.links["binance"].connections == 0
    assert "FAILED: binance:" in summary.text()
    with pytest.raises(RecordingError, match="never connected") as raised:
        await btclib.record("binance", out=tmp_path / "b.txt", strict=True, **kwargs)
    assert raised.value.summary is not None and raised.value.summary.total == 0


async def test_a_run_that_recorded_has_no_problems(tmp_path):
    summary = await btclib.record("binance", source="sim", duration=1.5, progress=None,
                                  out=tmp_path / "ok.txt", announce=lambda _: None, strict=True)  # fmt: skip
    assert summary.total > 0 and summary.problems == []
    assert summary.links["binance"].connections == 1
