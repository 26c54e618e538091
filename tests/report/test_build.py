"""python -m btclib report (btclib/report/build.py): one route with make report, each
notebook executed with jupyter nbconvert, the export route chosen by what is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from btclib.report import build as report

from ..windows import REPO


def test_make_report_and_python_m_btclib_report_are_one_route():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nreport:", 1)[1].split("\n\n", 1)[0]
    assert "-m btclib.report --timeout $(CELL_TIMEOUT) --output-dir outputs" in recipe
    assert "nbconvert" not in recipe.replace("# ", "")  # no second way of running it


def test_the_report_executes_each_notebook_with_jupyter_nbconvert(tmp_path: Path):
    nb = Path("notebooks/step_a_binance.ipynb")
    for to in ("pdf", "chromium-pdf"):  # executed the same way; exported per route after
        (cmd,) = report.commands([nb], to, 600, Path("outputs"), report.CONFIG)
        assert cmd[:3] == [sys.executable, "-m", "nbconvert"]
        assert cmd[3:] == [
            "--config", str(report.CONFIG), "--execute", "--to", "notebook",
            "--ExecutePreprocessor.timeout=600", "--output-dir", str(Path("outputs/executed")),
            str(nb),
        ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown route"):
        report.commands([nb], "docx", 60, Path("outputs"), report.CONFIG)


def test_the_route_is_tex_where_xelatex_and_pandoc_are_else_chromium(
    monkeypatch: pytest.MonkeyPatch,
):
    import btclib.report.nbexport as nbexport

    found = {"xelatex": "/x/xelatex", "pandoc": "/x/pandoc"}
    monkeypatch.setattr(report.shutil, "which", found.get)
    monkeypatch.setattr(nbexport, "chromium_binary", lambda: "/x/chrome")
    assert report.route("auto") == "pdf"
    del found["pandoc"]  # MiKTeX without pandoc: nbconvert's LaTeX route cannot run
    assert report.route("auto") == "chromium-pdf"
    assert report.route("pdf") == "pdf"  # asked for: tried, and its error shown
    monkeypatch.setattr(nbexport, "chromium_binary", lambda: None)
    with pytest.raises(RuntimeError, match="neither TeX"):
        report.route("auto")


def test_the_report_finds_the_clone_from_anywhere_and_refuses_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    assert report.find_root(REPO) == REPO
    assert report.find_root(tmp_path) == REPO  # the editable install's clone
    monkeypatch.setattr(report, "__file__", str(tmp_path / "btclib" / "report.py"))
    assert report.find_root(tmp_path) is None


def _notebook(path: Path, source: str) -> None:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb = {"cells": [{**cell, "source": source}], "metadata": {}, "nbformat": 4}
    path.write_text(json.dumps({**nb, "nbformat_minor": 5}), encoding="utf-8")


@pytest.mark.skipif(
    not (report.shutil.which("xelatex") and report.shutil.which("pandoc")), reason="no TeX here"
)
def test_the_report_exports_every_notebook_and_fails_at_the_end_if_one_failed(tmp_path: Path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / report.CONFIG).write_text("c = get_config()\nc.PDFExporter.latex_count = 1\n")
    _notebook(tmp_path / "notebooks" / "step_a_fails.ipynb", "raise SystemExit('broken')")
    _notebook(tmp_path / "notebooks" / "step_b_works.ipynb", "print('hello from step b')")
    _notebook(tmp_path / "notebooks" / "other.ipynb", "print('not a step')")
    done = subprocess.run(
        [sys.executable, "-m", "btclib.report", "--timeout", "60"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 1, done.stderr
    assert "report: failed: notebooks/step_a_fails.ipynb" in done.stderr
    assert sorted(p.name for p in (tmp_path / "outputs").glob("*.pdf")) == ["step_b_works.pdf"]
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "outputs" / "step_b_works.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "hello from step b" in text
