"""One writer per data file on every platform: the lock (``flock``, or ``msvcrt`` where
``fcntl`` is missing) refuses a second writer, in this process or another, and lies where no
reader meets it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from btclib.files import datafile
from btclib.files.sink import LineSink, SinkError

from ..windows import child, pretend_windows

# -- the stand-ins do what Windows does (so the tests below can fail) ------------------------


def test_the_windows_stand_in_translates_newlines_where_windows_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    fd = os.open(tmp_path / "text.bin", os.O_WRONLY | os.O_CREAT)  # no O_BINARY: text mode
    os.write(fd, b"a\nb\n")
    os.close(fd)
    assert (tmp_path / "text.bin").read_bytes() == b"a\r\nb\r\n"
    fd = os.open(tmp_path / "binary.bin", os.O_WRONLY | os.O_CREAT | os.O_BINARY)
    os.write(fd, b"a\nb\n")
    os.close(fd)
    assert (tmp_path / "binary.bin").read_bytes() == b"a\nb\n"
    with (tmp_path / "text.txt").open("w", encoding="utf-8") as f:
        f.write("x\n")
    assert (tmp_path / "text.txt").read_bytes() == b"x\r\n"
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401
    assert isinstance(datafile.platform_lock(), datafile.MsvcrtLock)


# -- one writer per file, without fcntl --------------------------------------------------------


async def test_without_fcntl_the_lock_is_msvcrt_and_refuses_a_second_writer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    fake = pretend_windows(monkeypatch)
    path = tmp_path / "data.txt"
    async with LineSink(path) as first:
        fd = first._fd
        assert fake.calls == [(fd, fake.LK_NBLCK, 1, datafile.LOCK_OFFSET)]
        with pytest.raises(SinkError, match="another btclib recorder is writing") as refused:
            LineSink(path).open()
        assert refused.value.errno == errno.EBUSY
        first.write(b"still mine\n")
    # Released before the handle closed (Windows frees a closed handle's locks late).
    assert fake.calls[-1] == (fd, fake.LK_UNLCK, 1, datafile.LOCK_OFFSET)
    async with LineSink(path) as again:
        again.write(b"next run\n")
    assert path.read_bytes() == b"still mine\nnext run\n"


def test_the_lock_byte_lies_past_any_data_so_readers_never_meet_it():
    # Windows locks are mandatory: a locked byte inside the data would fail every reader.
    assert datafile.LOCK_OFFSET >= 2**40  # 1 TiB: weeks of the busiest recording


@pytest.mark.parametrize("platform", ["posix", "windows"])
def test_a_second_process_writing_the_same_file_is_refused(platform: str, tmp_path: Path):
    path = tmp_path / "data.txt"
    script = """
        import asyncio, sys
        if sys.argv[1] == "windows":
            from tests.windows import ForGood, pretend_windows
            pretend_windows(ForGood())
        from btclib.files.sink import LineSink, SinkError

        async def main():
            try:
                sink = LineSink(sys.argv[2])
                sink.open()
            except SinkError as exc:
                print("refused", exc, flush=True)
                return
            sink.write(sys.argv[3].encode() + b"\\n")
            sink.flush()
            print("holding", flush=True)
            sys.stdin.readline()
            await sink.aclose()
            print("closed", flush=True)

        asyncio.run(main())
    """
    holder = child(script, platform, str(path), "first")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        second = child(script, platform, str(path), "second")
        out, err = second.communicate("\n", timeout=60)
        assert out.startswith("refused") and "another btclib recorder" in out, err
    finally:
        out, err = holder.communicate("\n", timeout=60)
    assert out == "closed\n", err
    after = child(script, platform, str(path), "third")
    out, err = after.communicate("\n", timeout=60)
    assert out == "holding\nclosed\n", err
    assert path.read_bytes() == b"first\nthird\n"
