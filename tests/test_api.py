"""The library call works with ``await`` in a notebook and as a plain call in a script."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_record_sync_from_a_plain_script(tmp_path: Path):
    script = textwrap.dedent(
        f"""
        import btclib
        s = btclib.record_sync("upbit", duration=1.0, source="sim", out={str(tmp_path / "u.txt")!r},
                               progress=None, announce=lambda text: None)
        print(s.total, s.sources["upbit"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    total, source = done.stdout.split()
    assert int(total) > 0 and source == "simulator"
    assert len((tmp_path / "u.txt").read_text().splitlines()) == int(total)


def test_record_sync_inside_a_running_loop_like_jupyter(tmp_path: Path):
    # A cell calling the synchronous API while the kernel's loop runs: the nest_asyncio
    # path. In a subprocess, because nest_asyncio patches asyncio for the whole process.
    script = textwrap.dedent(
        f"""
        import asyncio, btclib
        async def cell():
            s = btclib.record_sync("binance", duration=1.0, source="sim",
                                   out={str(tmp_path / "b.txt")!r}, progress=None,
                                   announce=lambda text: None)
            print(s.total, s.stopped)
        asyncio.run(cell())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[0]) > 0 and "duration reached" in done.stdout
