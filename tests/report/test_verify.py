"""``report --verify``: the hashes a PDF prints are checked against the files on disk.

A real PDF is made the way the report makes the step PDFs (an executed notebook exported by
:func:`btclib.report.build.export` with the repository's configuration, the colophon appended
by :func:`btclib.report.book.colophon_cells`), so the check reads what xelatex typeset, wrapped
lines and all.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from btclib.report import book, build, provenance, verify

from .test_pdf_export import CONFIG, require_pdf_tools


def _report(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with one PDF, its manifest and the data file they describe."""
    require_pdf_tools()
    folder = tmp_path / "outputs"
    folder.mkdir()
    data = folder / "stream-data-binance.txt"
    data.write_bytes(b"btcusdt@trade, p:1.00000000,q:2.00000000\n" * 3)
    facts = {"path": str(data), "shown": "outputs/stream-data-binance.txt",
             **provenance.file_facts(data), "first_line": 1, "last_line": 3}  # fmt: skip
    entry = {"notebook": "notebooks/x.ipynb", "title": "X", "pdf": "x.pdf",
             "cells": [], "runs": [], "files": [facts]}  # fmt: skip
    env = provenance.environment(tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# X"),
                *book.colophon_cells(provenance.colophon_text(entry, env))]  # fmt: skip
    build.export(nb, "x", "pdf", folder, CONFIG)
    manifest = {"environment": env, "report": None, "notebooks": [entry]}
    (folder / provenance.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder, data


def test_verify_confirms_the_printed_hashes_and_one_appended_byte_fails_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, data = _report(tmp_path)
    assert provenance.file_facts(data)["sha256"] in verify.pdf_hashes(folder / "x.pdf")
    assert verify.main(folder) == 0
    said = capsys.readouterr().out
    assert "outputs/stream-data-binance.txt: matches: 3 lines" in said and "x.pdf" in said

    with data.open("ab") as f:
        f.write(b"x")
    assert verify.main(folder) == 1
    said = capsys.readouterr().out
    assert "FAIL outputs/stream-data-binance.txt: CHANGED since the run (1 byte(s) were added" in said


def test_verify_fails_when_the_pdf_does_not_print_the_manifests_hash(tmp_path: Path) -> None:
    folder, _ = _report(tmp_path)
    manifest = json.loads((folder / provenance.MANIFEST).read_text())
    manifest["notebooks"][0]["pdf"] = "other.pdf"
    (folder / "x.pdf").rename(folder / "other.pdf")
    (folder / provenance.MANIFEST).write_text(json.dumps(manifest))
    assert all(f.ok for f in verify.check(folder))  # the same PDF under its new name: fine
    manifest["notebooks"][0]["files"][0]["sha256"] = "0" * 64
    (folder / provenance.MANIFEST).write_text(json.dumps(manifest))
    (finding,) = verify.check(folder)
    assert not finding.ok and "CHANGED since the run" in finding.text


def test_verify_without_a_report_says_what_to_run(tmp_path: Path) -> None:
    (finding,) = verify.check(tmp_path)
    assert not finding.ok and "python -m btclib report" in finding.text


def test_rerun_re_records_a_simulated_run_from_its_seed_and_finds_a_changed_line(
    tmp_path: Path,
) -> None:
    from btclib import record_sync
    from btclib.notebook import check_run

    folder = tmp_path / "outputs"
    folder.mkdir()
    data = folder / "stream-data-binance.txt"
    run = record_sync("binance", duration=2, source="sim", seed=11, out=data, progress=None,
                      announce=lambda _: None, depth_speed="100ms")  # fmt: skip
    facts = check_run(run, step="binance", settings={"depth_speed": "100ms"}).facts
    entry = {"notebook": "n", "pdf": "x.pdf", "runs": [facts],
             "files": [{"path": str(data), "shown": "outputs/stream-data-binance.txt",
                        **provenance.file_facts(data), "first_line": facts["first_line"],
                        "last_line": facts["last_line"]}]}  # fmt: skip
    (folder / provenance.MANIFEST).write_text(json.dumps({"notebooks": [entry]}))
    (finding,) = verify.rerun_runs(folder)
    assert finding.ok and "agree stream by stream" in finding.text, finding.text
    lines = data.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b"0", b"1", 1)  # one digit of the first line
    data.write_bytes(b"".join(lines))
    (finding,) = verify.rerun_runs(folder)
    assert not finding.ok and "line 1" in finding.text, finding.text
