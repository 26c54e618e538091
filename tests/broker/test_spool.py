"""The spool keeps what the broker has not acknowledged, across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from btclib.broker import spool as spool_module
from btclib.broker.spool import Spool, spool_path


def test_lines_not_acknowledged_are_found_again_by_the_next_run(tmp_path: Path):
    folder = spool_path(tmp_path / "d.txt")
    assert folder == tmp_path / "d.txt.spool"
    first = Spool(folder, 1 << 20)
    assert first.open() == []
    run = first.new_run("r1")
    run.append(b"a@trade, p:1,q:1\nb@trade, p:2,q:1\n", 2)
    run.append(b"c@trade, p:3,q:1\n", 1)
    run.acked, run.stream_seq, run.sent = 1, 41, 2
    first.close([run])
    second = Spool(folder, 1 << 20)
    [left] = second.open()
    assert (left.run, left.acked, left.stream_seq, left.sent, left.end) == ("r1", 1, 41, 2, 4)
    assert left.read(2, 1 << 20) == [b"b@trade, p:2,q:1\n", b"c@trade, p:3,q:1\n"]
    left.acked = 3
    second.close([left])  # all acknowledged: nothing of the run stays
    assert Spool(folder, 1 << 20).open() == []
    assert not list(folder.glob("r1.*"))


def test_acknowledged_segments_are_deleted_and_a_torn_line_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 20)
    spool = Spool(tmp_path / "s", 1 << 20)
    spool.open()
    run = spool.new_run("r2")
    for i in range(1, 7):
        run.append(b"x@trade, p:%d,q:1\n" % i, 1)  # 17 bytes: two lines a segment
    assert len(run.segments) == 3
    run.acked = 4
    run.save()
    assert [s.first for s in run.segments] == [5]  # segments 1-2 and 3-4 removed
    assert run.read(5, 1 << 20) == [b"x@trade, p:5,q:1\n", b"x@trade, p:6,q:1\n"]
    with run.segments[-1].path.open("ab") as f:
        f.write(b"x@trade, p:7")  # a line the recorder never finished (killed mid-write)
    spool.close([run])
    [left] = Spool(tmp_path / "s", 1 << 20).open()
    assert left.end == 7  # the torn piece is not a line
    assert left.read(5, 1 << 20)[-1] == b"x@trade, p:6,q:1\n"


def test_a_spool_in_use_is_refused_to_a_second_recorder(tmp_path: Path):
    one = Spool(tmp_path / "s", 1 << 20)
    one.open()
    with pytest.raises(OSError):
        Spool(tmp_path / "s", 1 << 20).open()
    one.close([])
