"""btcrec's general path: every real data frame, laid out anew, gives the same line.

The simulator sends some frames in layouts the exchanges never use (key order, spaces,
escapes: :mod:`btclib.simulator.layout`); btcrec must copy arrays and numbers as sent
there too, as btclib does (tests/simulator/test_layout.py).
"""

from __future__ import annotations

import pytest

from btclib.simulator.layout import VARIANTS, relayout

from .test_parser import parse_frames, real_frames


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_real_data_frame_laid_out_anew_gives_its_line(variant: str):
    records = [r for r in real_frames() if r["expect"] is not None and r["frame"][:1] == "{"]
    items = [
        (r["exchange"], r["parser"], relayout(r["frame"].encode(), variant, lambda n: n - 1))
        for r in records
    ]
    results = parse_frames(items)
    wrong = [
        (r["id"], got)
        for r, (kind, got) in zip(records, results, strict=True)
        if kind != "D" or got != (r["expect"] + "\n").encode()
    ]
    assert wrong == []
    assert len(records) > 1200
