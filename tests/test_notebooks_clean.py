"""Notebooks are stored in git without outputs, so that diffs stay readable.

Fails when a notebook tracked under notebooks/ carries outputs or execution counts, in the
working tree or in the index (what the next commit will store). Fix with `make strip`
(`jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def tracked_notebooks() -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot list tracked notebooks")
    result = subprocess.run(
        ["git", "ls-files", "--", "notebooks/*.ipynb", "notebooks/**/*.ipynb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"not a git checkout ({result.stderr.strip()}): nothing to check")
    return sorted(set(result.stdout.split()))


def problems(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index} has {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index} has execution_count {cell.execution_count}")
    return found


def test_tracked_notebooks_have_no_outputs() -> None:
    notebooks = tracked_notebooks()
    if not notebooks:
        pytest.skip("no notebook is tracked under notebooks/ yet")
    failures = []
    for path in notebooks:
        versions = {}
        file = ROOT / path
        if file.exists():
            versions["working tree"] = file.read_text(encoding="utf-8")
        staged = subprocess.run(
            ["git", "show", f":{path}"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        if staged.returncode == 0:
            versions["index"] = staged.stdout
        for where, text in versions.items():
            found = problems(nbformat.reads(text, as_version=4))
            if found:
                failures.append(f"{path} ({where}): " + "; ".join(found[:5]))
    assert not failures, (
        "notebooks must be stored without outputs; run `make strip`, then commit:\n  "
        + "\n  ".join(failures)
    )
