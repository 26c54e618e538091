"""``python -m btclib.simulator`` is an alias of ``python -m btclib simulate``: one command line."""

from __future__ import annotations

import subprocess
import sys


def test_the_module_command_forwards_to_btclib_simulate() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "btclib.simulator", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert run.stdout.startswith("usage: python -m btclib simulate")
    # Options only the old parser lacked (faults) are there: it is the same parser.
    assert "--malformed" in run.stdout and "--speedup" in run.stdout


def test_a_bad_option_fails_as_the_simulate_command_does() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "btclib.simulator", "--no-such-option"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert "unrecognized arguments: --no-such-option" in run.stderr
