"""Captures keep every frame exactly, compressed or not, and read back after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btclib.exchanges import binance, upbit
from btclib.files.capture import CaptureError, CaptureWriter, frames, read_capture

FRAMES = [
    (
        "binance",
        b'{"stream":"btcusdt@trade","data":{"e":"trade","t":1,"p":"1.00000000","q":"2.00000000"}}',
        False,
    ),
    (
        "upbit",
        '{"type":"orderbook","code":"KRW-BTC","orderbook_units":[{"ask_price":1.16539E8,"ask_size":0.00077720}],"message":"티켓"}'.encode(),
        True,
    ),
    ("upbit", b"\xff\xfe not utf-8", True),
]


async def write_capture(path: Path) -> None:
    writer = CaptureWriter(path)
    writer.open([binance.feed(), upbit.feed()], {"binance": "simulator", "upbit": "live"})
    writer.event("binance", 1, "connected", url="ws://x")
    for n, (exchange, data, binary) in enumerate(FRAMES, 1):
        writer.frame(exchange, 1, n, data, binary)
    await writer.aclose()


@pytest.mark.parametrize("name", ["capture.jsonl", "capture.jsonl.gz"])
async def test_frames_read_back_byte_exact_with_their_frame_type(tmp_path: Path, name: str):
    path = tmp_path / name
    await write_capture(path)
    header, _ = read_capture(path)
    assert header["format"] == "btclib-capture" and header["version"] == 1
    assert header["exchanges"]["binance"]["source"] == "simulator"
    assert header["exchanges"]["upbit"]["streams"] == ["btckrw@orderbook"]
    got = [(f.exchange, f.data, f.binary) for f in frames(path)]
    assert got == FRAMES
    events = [r for r in read_capture(path)[1] if "ev" in r]
    assert events[0]["ev"] == "connected" and events[0]["url"] == "ws://x"


async def test_gzip_capture_cut_short_is_readable_up_to_the_cut(tmp_path: Path):
    path = tmp_path / "capture.jsonl.gz"
    await write_capture(path)
    data = path.read_bytes()
    path.write_bytes(data[:-8])  # lose the gzip trailer, as a killed writer would
    assert len(list(frames(path))) == len(FRAMES)


async def test_appending_to_a_gzip_capture_makes_a_readable_multi_member_file(tmp_path: Path):
    path = tmp_path / "capture.jsonl.gz"
    await write_capture(path)
    await write_capture(path)
    _, records = read_capture(path)
    assert sum(1 for r in records if "format" in r) == 1  # the second header, as a record
    assert [f.data for f in frames(path)] == [data for _, data, _ in FRAMES] * 2


def test_a_file_that_is_not_a_capture_is_refused_with_its_name(tmp_path: Path):
    path = tmp_path / "lines.txt"
    path.write_text("btcusdt@trade, p:1,q:2\n")
    with pytest.raises(CaptureError, match=r"lines\.txt"):
        read_capture(path)
    path.write_text(json.dumps({"format": "btclib-capture", "version": 99}) + "\n")
    with pytest.raises(CaptureError, match="version 99"):
        read_capture(path)


async def test_damage_in_one_appended_run_does_not_hide_the_others(tmp_path: Path):
    path = tmp_path / "capture.jsonl.gz"
    await write_capture(path)
    first = path.stat().st_size
    await write_capture(path)
    second = path.stat().st_size
    await write_capture(path)
    data = bytearray(path.read_bytes())
    middle = (first + second) // 2
    data[middle : middle + 40] = b"\x00" * 40  # the second run is damaged
    path.write_bytes(bytes(data))
    got = [f.data for f in frames(path)]
    # The first and third runs come back whole; the damaged one loses what it must.
    assert got[: len(FRAMES)] == [d for _, d, _ in FRAMES]
    assert got[-len(FRAMES) :] == [d for _, d, _ in FRAMES]


def test_a_gzip_name_on_plain_text_is_refused(tmp_path: Path):
    path = tmp_path / "capture.jsonl.gz"
    path.write_text('{"format":"btclib-capture","version":1}\n')
    with pytest.raises(CaptureError, match="not a gzip file"):
        read_capture(path)
