"""Record once, replay anywhere: a capture replayed through the simulator gives the same file.

Each test records from the simulator with a capture, replays that capture
through a fresh simulator and records again, then compares the two line files
byte for byte. The shipped sample capture (``tests/data/real-frames.jsonl``,
built by ``scripts/make_sample_capture.py`` from the real frames quoted in
protocols.md and the assignment) is replayed against lines written by hand in
``tests/data/real-frames.expected.txt``.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest

from btclib import record
from btclib.files.capture import MAX_RECORD_BYTES, Frame, frames, read_capture
from btclib.recorder import RunSummary
from btclib.steps.steps import events_path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "real-frames.jsonl"
SAMPLE_LINES = DATA / "real-frames.expected.txt"
PREFIX = {"binance": b"btcusdt@", "upbit": b"btckrw@"}


async def record_quietly(step: str, **kwargs: Any) -> RunSummary:
    said: list[str] = []
    return await record(step, progress=None, announce=said.append, **kwargs)


async def record_sim(tmp_path: Path, step: str, capture: Path, seconds: float = 2.0) -> Path:
    """Record ``step`` from the synthetic market with a capture; return the line file."""
    out = tmp_path / "original.txt"
    summary = await record_quietly(
        step,
        duration=seconds,
        source="sim",
        seed=7,
        sim_options={"speedup": 5},
        capture=capture,
        out=out,
    )
    assert summary.stopped and summary.total > 0
    return out


def captured(path: Path) -> list[tuple[str, bytes, bool]]:
    return [(f.exchange, f.data, f.binary) for f in frames(path)]


def span(fs: list[Frame]) -> float:
    """Seconds between the first and the last captured frame (monotonic clock)."""
    return (fs[-1].mono_ns - fs[0].mono_ns) / 1e9


# -- (a) record, capture, replay at max speed: byte-identical ---------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize("step", ["both", "binance", "upbit"])
async def test_replay_of_a_capture_reproduces_the_line_file_byte_for_byte(
    tmp_path: Path, step: str, suffix: str
):
    capture = tmp_path / f"capture{suffix}"
    original = await record_sim(tmp_path, step, capture)
    header, _ = read_capture(capture)
    exchanges = ["binance", "upbit"] if step == "both" else [step]
    assert sorted(header["exchanges"]) == exchanges
    if suffix == ".jsonl.gz":
        assert capture.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic: compressed as named
    data = original.read_bytes()
    for exchange in exchanges:
        assert any(line.startswith(PREFIX[exchange]) for line in data.splitlines())

    replayed = tmp_path / "replayed.txt"
    recapture = tmp_path / "recapture.jsonl"
    summary = await record_quietly(
        step, duration=None, replay=capture, speed="max", out=replayed, capture=recapture
    )
    assert summary.stopped == "source ended"  # stopped by itself when the capture ended
    assert set(summary.sources.values()) == {"simulator replay"}
    assert replayed.read_bytes() == data
    # The replay served every frame, on the same frame type, in the captured order.
    assert captured(recapture) == captured(capture)


def test_command_line_record_then_replay_gives_an_identical_file(tmp_path: Path):
    """The issue's "done when", shortened: record both with a .gz capture, replay, compare."""
    env = {**os.environ, "BTCLIB_SOURCE": "sim"}
    capture, first, second = tmp_path / "c.jsonl.gz", tmp_path / "a.txt", tmp_path / "b.txt"
    run = [sys.executable, "-m", "btclib", "record", "both"]
    subprocess.run(
        [*run, "--duration", "2", "--capture", str(capture), "--out", str(first)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    done = subprocess.run(
        [*run, "--replay", str(capture), "--speed", "max", "--out", str(second)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "stopped: source ended" in done.stdout
    assert first.read_bytes() and second.read_bytes() == first.read_bytes()


# -- (b) replay at a finite speed: same order and content, spacing scaled ---------------------


async def test_replay_at_speed_10_keeps_order_and_scales_the_spacing(tmp_path: Path):
    capture = tmp_path / "capture.jsonl.gz"
    out = tmp_path / "original.txt"
    await record_quietly(
        "both", duration=2.5, source="sim", seed=11, capture=capture, out=out
    )  # the market at its real pace: Binance depth 1/s, Upbit on a 100 ms grid
    original = list(frames(capture))
    assert span(original) > 1.5

    replayed, recapture = tmp_path / "replayed.txt", tmp_path / "recapture.jsonl"
    summary = await record_quietly(
        "both", duration=None, replay=capture, speed=10, out=replayed, capture=recapture
    )
    again = list(frames(recapture))
    assert summary.stopped == "source ended"
    assert replayed.read_bytes() == out.read_bytes()
    assert [(f.exchange, f.data) for f in again] == [(f.exchange, f.data) for f in original]
    # Spacing divided by 10, within generous bounds (a loaded machine only adds delay).
    assert span(original) / 10 * 0.5 < span(again) < span(original) / 10 * 3 + 0.5
    # The longest pause of the capture is still there in the replay, a tenth as long. The
    # replay sends each frame at its due time, never before; a busy machine can only make a
    # frame arrive late, which shortens the pause after it by as much as it lengthens the
    # pause before it. So the pause is measured with the one before it: from frame k-1 to
    # frame k+1, where the lateness of frame k cancels out.
    gaps = [(b.mono_ns - a.mono_ns) for a, b in itertools.pairwise(original)]
    k = max(range(1, len(gaps)), key=gaps.__getitem__)  # the longest pause after frame k
    captured_ns = original[k + 1].mono_ns - original[k - 1].mono_ns
    replayed_ns = again[k + 1].mono_ns - again[k - 1].mono_ns
    assert replayed_ns > captured_ns / 10 * 0.5


# -- (c) the shipped sample capture of real frames --------------------------------------------


def load_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_sample_capture", ROOT / "scripts" / "make_sample_capture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_capture_is_what_its_script_builds():
    assert load_script().build() == SAMPLE.read_bytes()


def test_the_sample_capture_holds_the_real_frames_exactly():
    header, records = read_capture(SAMPLE)
    assert header["version"] == 1 and sorted(header["exchanges"]) == ["binance", "upbit"]
    got = captured(SAMPLE)
    texts = [data for _, data, _ in got]
    script = load_script()
    for real in (script.R3_DEPTH, script.R6_TRADE, script.R4_FOREIGN, script.R10_BOOK):
        assert real.encode() in texts
    # The assignment's frame, joined onto one line, with the numbers exactly as quoted.
    book = next(t for t in texts if b"1668495774440" in t)
    assert b'"total_bid_size":3.1081664699999996,' in book and b'"code":"KRW-BTC"' in book
    assert book.count(b'"ask_price"') == 15
    # Upbit frames are flagged binary, Binance frames text.
    assert all(binary == (exchange == "upbit") for exchange, _, binary in got)
    assert {r["ev"] for r in records if "ev" in r} == {"connected", "subscribed", "closed"}


async def test_replaying_the_sample_gives_exactly_the_expected_lines(tmp_path: Path):
    out = tmp_path / "sample.txt"
    summary = await record_quietly("both", duration=None, replay=SAMPLE, speed="max", out=out)
    assert out.read_bytes() == SAMPLE_LINES.read_bytes()
    assert summary.stopped == "source ended"
    # ETHUSDT trade, KRW-ETH book, KRW-BTC trade: tolerated, logged, not written.
    assert summary.unexpected == 3 and summary.bad_frames == 0
    assert summary.missed_trades == 0 and summary.reconnects == 0
    events = (tmp_path / "sample.events.jsonl").read_text()
    assert '"event": "server_shutdown"' in events


@pytest.mark.parametrize("step", ["binance", "upbit"])
async def test_replaying_the_sample_for_one_exchange_gives_its_lines(tmp_path: Path, step: str):
    out = tmp_path / "sample.txt"
    await record_quietly(
        step,
        duration=None,
        replay=SAMPLE,
        speed="max",
        out=out,
        sim_options={"replay_start_timeout": 0.2},
    )
    expected = [x for x in SAMPLE_LINES.read_bytes().splitlines(True) if x.startswith(PREFIX[step])]
    assert out.read_bytes().splitlines(True) == expected


async def test_replaying_the_sample_at_speed_10_keeps_its_long_pause(tmp_path: Path):
    recapture = tmp_path / "recapture.jsonl"
    out = tmp_path / "sample.txt"
    await record_quietly("both", duration=None, replay=SAMPLE, speed=10, out=out, capture=recapture)
    assert out.read_bytes() == SAMPLE_LINES.read_bytes()
    again = list(frames(recapture))
    # 1.94 s of capture at speed 10; the assignment frame -> R3 pause is 842 ms.
    assert 0.1 < span(again) < 1.5
    at = {f.data: f.mono_ns for f in again}
    script = load_script()
    pause = (at[script.R3_DEPTH.encode()] - at[script.ASSIGNMENT_BOOK.encode()]) / 1e9
    assert pause > 0.04


# -- (d) a damaged capture: the huge record skipped unread, named, memory bounded -------------


def damaged_sample(path: Path, at: int, megabytes: int) -> int:
    """The sample capture with one ``megabytes`` MB line inserted before line ``at``.

    Built in a blink as one gzip member: the line's megabyte of ``A`` is
    deflated once after a full flush (which makes it independent of what came
    before) and the same bytes repeated; a reader must inflate all of it
    (hundreds of MB) from a file of a few hundred kB. Returns the line's size.
    """
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    head, tail = b"".join(lines[: at - 1]), b"\n" + b"".join(lines[at - 1 :])
    block = b"A" * (1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
    repeated = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + (megabytes << 20) + len(tail)
    with path.open("wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + first)
        for _ in range(megabytes):
            f.write(repeated)
        f.write(z.compress(tail) + z.flush())
        f.write(crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little"))
    return (megabytes << 20) + 1


async def test_a_damaged_capture_is_replayed_in_bounded_memory_and_the_damage_named(
    tmp_path: Path,
):
    capture = tmp_path / "damaged.jsonl.gz"
    size = damaged_sample(capture, at=10, megabytes=256)
    assert capture.stat().st_size < 2 << 20
    out = tmp_path / "replayed.txt"
    tracemalloc.start()
    try:
        summary = await record_quietly("both", duration=None, replay=capture, speed="max", out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_RECORD_BYTES, peak  # never the 256 MB line
    # Every frame around the damage recorded: the same lines as the undamaged sample.
    assert summary.stopped == "source ended"
    assert out.read_bytes() == SAMPLE_LINES.read_bytes()
    assert summary.skipped_records == [{"line": 10, "size": size}]
    assert f"input records skipped as damaged: 1 (line 10 ({size:,} bytes))" in summary.text()
    log = [json.loads(line) for line in events_path(out).read_text().splitlines()]
    skipped = [e for e in log if e["event"] == "records_skipped"]
    assert [(e["count"], e["records"]) for e in skipped] == [(1, [{"line": 10, "size": size}])]
    assert log[-1]["event"] == "stop" and log.index(skipped[0]) == len(log) - 2
