"""``make test`` fails when pytest or nbmake collects nothing (scripts/pytest-must-collect.sh).

pytest exits 5 when it collects no test; a test target that takes 5 for success turns a
renamed folder or a glob that matches nothing into a green run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pytest-must-collect.sh"
PYTEST = Path(sys.executable).parent / "pytest"


def run(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTEST": str(PYTEST)}
    args = ["bash", str(SCRIPT), "-q", "-p", "no:cacheprovider", "-c", os.devnull, str(folder)]
    return subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_folder_without_tests_is_a_failure_named_as_such(tmp_path: Path):
    result = run(tmp_path)
    assert result.returncode == 5
    assert "collected no test: that is a failure" in result.stderr


def test_passing_and_failing_tests_keep_their_exit_status(tmp_path: Path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    assert True\n")
    assert run(tmp_path).returncode == 0
    (tmp_path / "test_two.py").write_text("def test_two():\n    assert False\n")
    result = run(tmp_path)
    assert result.returncode == 1 and "collected no test" not in result.stderr
