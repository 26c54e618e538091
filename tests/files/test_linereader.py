"""Reading lines back in bounded memory: overlong lines and damaged gzip are skipped, named."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import pytest

from btclib.files.capture import MAX_RECORD_BYTES, CaptureError, frames, read_capture
from btclib.files.linereader import Skipped, bounded_lines, read_lines


def test_lines_come_whole_across_pieces_and_the_last_may_lack_its_newline():
    pieces = [b"ab", b"c\nde", b"f\n\ng", b"h"]
    assert list(bounded_lines(pieces, 10)) == [b"abc\n", b"def\n", b"\n", b"gh"]


def test_a_line_over_the_limit_is_skipped_with_its_number_and_size():
    pieces = [b"ok\n", b"x" * 5, b"x" * 5, b"x\nok again\n", b"y" * 20]
    assert list(bounded_lines(pieces, 9)) == [
        b"ok\n",
        Skipped(2, 12),
        b"ok again\n",
        Skipped(4, 20),
    ]


def test_damage_drops_the_torn_line_and_reports_it():
    assert list(bounded_lines([b"a\nhal", None, b"b\n"], 10)) == [b"a\n", Skipped(2, -1), b"b\n"]


def test_gzip_is_read_member_after_member_past_damage(tmp_path: Path):
    path = tmp_path / "x.txt.gz"
    good1, good2 = gzip.compress(b"one\ntwo\n"), gzip.compress(b"three\n")
    path.write_bytes(good1 + good1[:15] + b"garbage" * 10 + good2)
    lines = list(read_lines(path, 100))
    assert lines[:2] == [b"one\n", b"two\n"] and lines[-1] == b"three\n"
    assert all(isinstance(x, Skipped) for x in lines[2:-1])


def test_a_file_that_is_not_gzip_is_named(tmp_path: Path):
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(b'{"format":"btclib-capture"}\n')
    with pytest.raises(CaptureError, match="not a gzip file"):
        list(read_lines(path, 100))


def header() -> bytes:
    return json.dumps({"format": "btclib-capture", "version": 1, "exchanges": {}}).encode()


def record(n: int) -> bytes:
    return json.dumps(
        {"t": n, "m": n, "c": 1, "n": n, "x": "binance", "b": False, "f": f"frame {n}"}
    ).encode()


def test_a_capture_with_one_huge_line_is_read_in_bounded_memory_and_the_damage_named(
    tmp_path: Path,
):
    """A 2 MB .jsonl.gz: a header, a frame, one 256 MB line (damage), a frame."""
    path = tmp_path / "damaged.jsonl.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as f:
        f.write(z.compress(header() + b"\n" + record(1) + b"\n"))
        block = b"A" * (1 << 20)
        for _ in range(256):
            f.write(z.compress(block))
        f.write(z.compress(b"\n" + record(2) + b"\n") + z.flush())
    assert path.stat().st_size < 2 << 20
    skipped: list[Skipped] = []
    tracemalloc.start()
    try:
        got = [fr.data for fr in frames(path, skipped)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [b"frame 1", b"frame 2"]
    assert skipped == [Skipped(3, 256 * (1 << 20) + 1)]
    assert peak < 3 * MAX_RECORD_BYTES  # never the 256 MB line


def test_a_record_that_is_not_json_is_skipped_and_reading_goes_on(tmp_path: Path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(header() + b"\n" + record(1) + b"\n{torn\n" + record(2) + b"\n")
    skipped: list[Skipped] = []
    _, records = read_capture(path, skipped)
    assert [r["n"] for r in records] == [1, 2] and skipped == [Skipped(3, len(b"{torn\n"))]


def test_members_appended_one_after_another_are_read_whole(tmp_path: Path):
    """A capture that a second run appended to: two gzip members, each over one chunk."""
    path = tmp_path / "two.jsonl.gz"
    first = b"".join(b"first %06d %s\n" % (i, b"x" * 50) for i in range(20_000))
    second = b"".join(b"second %06d %s\n" % (i, b"y" * 50) for i in range(20_000))
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    lines = list(read_lines(path, 1000))
    assert b"".join(lines) == first + second


def test_members_of_highly_compressed_data_end_and_the_next_one_starts(tmp_path: Path):
    path = tmp_path / "a.gz"
    block = b"A" * (4 << 20) + b"\n"
    path.write_bytes(gzip.compress(block) + gzip.compress(b"end\n"))
    assert list(read_lines(path, 100)) == [Skipped(1, len(block)), b"end\n"]
