"""A card beside each file of a rotated set as it closes: ``<file>.check.json``."""

from __future__ import annotations

import json
from pathlib import Path

import btclib
from btclib.files.linereader import read_lines
from btclib.files.rotation import Rotation, set_files
from btclib.quality.cards import card_path


async def test_each_file_a_rotation_closes_gets_its_card(tmp_path):
    base = tmp_path / "set.txt"
    summary = await btclib.record(
        "binance", source="sim", duration=4, out=base, rotate=Rotation(max_bytes=8_000),
        sim_options=dict(speedup=10.0), progress=None, announce=lambda _: None,
    )  # fmt: skip
    files = set_files(base)
    assert len(files) >= 3 and summary.rotations == 0
    closed, still_open = files[:-1], files[-1]
    for file in closed:  # each read back now is its .gz (compressed after it closed)
        card = json.loads(card_path(file).read_text())
        assert [Path(f).name.removesuffix(".gz") for f in card["files"]] == [
            file.name.removesuffix(".gz")
        ]
        streams = [s for run in card["runs"] for s in run["streams"]]
        assert sum(s["lines"] for s in streams) == sum(1 for _ in read_lines(file, 1 << 20))
        assert all(s["verdict"] == "complete" for s in streams)
    assert not card_path(still_open).exists()  # still being written: no card yet
    whole = btclib.check(base)  # the set read as one recording
    assert len(whole.files) == len(files) and len(whole.runs) == 1
    assert {s.stream: s.lines for s in whole.streams} == summary.lines
    assert all(s.verdict == "complete" for s in whole.streams)
