"""``python -m btclib report`` writes report.pdf: title page, contents, the step as a chapter
opening with its tail, bookmarks, page numbers, the colophon; its tail passes the whole-line
check; ``--verify`` confirms the hashes it prints; every PDF has a human title."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btclib.report import build, provenance, verify

from .test_pdf_export import assert_whole, page_texts, pdf_text, require_pdf_tools, squash


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Step B alone through the report (2 s from the simulator), into a folder of its own."""
    require_pdf_tools()
    folder = tmp_path_factory.mktemp("report")
    data = folder / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BTCLIB_DURATION", "2")
        mp.setenv("BTCLIB_SOURCE", "sim")
        mp.setenv("BTCLIB_OUTPUTS", str(data))
        mp.setenv("BTCLIB_AUTHOR", "Ada Student")
        mp.setattr(build, "NOTEBOOKS", "notebooks/step_b_upbit.ipynb")
        assert build.main(["--output-dir", str(folder / "out"), "--timeout", "180"]) == 0
    return folder / "out", data / "stream-data-upbit.txt"


def test_report_pdf_has_a_title_page_contents_chapter_bookmarks_and_colophon(
    report: tuple[Path, Path],
) -> None:
    from pypdf import PdfReader

    out, _ = report
    reader = PdfReader(out / "report.pdf")
    assert reader.metadata.title.startswith("Streaming Protocol")  # the assignment's title
    assert reader.metadata.author == "Ada Student"
    first = reader.pages[0].extract_text()
    assert "Streaming Protocol" in first and "Ada Student" in first
    assert "Contents" in reader.pages[1].extract_text()
    marks = [m.title for m in reader.outline if not isinstance(m, list)]
    assert any(m.startswith("Step B") for m in marks) and marks[-1] == "Colophon"
    # Page numbers run through the report (the title page has none: the contents are page 1).
    assert reader.pages[-1].extract_text().split()[-1] == str(len(reader.pages) - 1)
    step = PdfReader(out / "step_b_upbit.pdf")
    assert step.metadata.title == "Step B: the Upbit KRW-BTC order book"  # not the file name


def test_the_chapter_opens_with_its_tail_and_every_tail_line_is_whole(
    report: tuple[Path, Path],
) -> None:
    out, data = report
    tail = data.read_text(encoding="utf-8").splitlines()[-10:]
    text = pdf_text(out / "report.pdf")
    opening = text.index("The data file first.")
    assert opening < text.index("Upbit, a Korean exchange")  # before the chapter's narrative
    assert "stream-data-upbit.txt holds" in text[opening : opening + 300]
    squashed = squash(text)
    for n, line in enumerate(tail, 1):
        assert_whole(line, squashed, f"tail line {n} in report.pdf")
    # The tail follows that sentence on the chapter's first page: no page with a heading alone.
    pages = page_texts(out / "report.pdf")
    first = next(p for p in pages if squash("The data file first.") in p)
    assert squash(tail[0])[:40] in first, "the chapter's first page does not show its tail"


def test_the_colophon_and_manifest_agree_and_verify_confirms_them(
    report: tuple[Path, Path],
) -> None:
    out, data = report
    manifest = json.loads((out / provenance.MANIFEST).read_text())
    (entry,) = manifest["notebooks"]
    (facts,) = entry["files"]
    assert facts["sha256"] == provenance.file_facts(data)["sha256"]
    assert entry["runs"][0]["sources"] == {"upbit": "simulator"}
    assert any(c["seconds"] > 1 for c in entry["cells"])  # the recording cell's run time
    for pdf in ("report.pdf", "step_b_upbit.pdf"):
        assert facts["sha256"] in verify.pdf_hashes(out / pdf)
        text = pdf_text(out / pdf)
        assert "Colophon" in text and "git commit" in text and "seed" in text
    assert all(f.ok for f in verify.check(out))


def test_without_tex_the_step_pdfs_are_merged_with_contents_and_bookmarks(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from btclib.report import book
    from btclib.report.nbexport import _chromium_print, chromium_binary

    if chromium_binary() is None:
        pytest.skip("no Chromium/Chrome here: the route without TeX needs one")
    steps = []
    for name, pages in (("Step A: one", 1), ("Step B: two", 2)):
        html = tmp_path / f"{pages}.html"
        html.write_text("".join(f"<p style='page-break-after:always'>{name} {i}</p>"
                                for i in range(pages)))  # fmt: skip
        _chromium_print(html, tmp_path / f"{pages}.pdf")
        steps.append((tmp_path / f"{pages}.pdf", name))
    target = book.merge_report(steps, tmp_path / "report.pdf", title="T", author="A",
                               date="d", colophon="sha256 " + "a" * 64,
                               print_html=_chromium_print)  # fmt: skip
    reader = PdfReader(target)
    marks = {m.title: reader.get_destination_page_number(m) + 1 for m in reader.outline}
    assert marks == {"Step A: one": 3, "Step B: two": 4, "Colophon": 6}
    contents = reader.pages[1].extract_text()
    assert "Step A: one" in contents and "Colophon" in contents and "6" in contents
    assert reader.metadata.title == "T" and "a" * 64 in reader.pages[-1].extract_text()
