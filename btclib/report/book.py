"""``outputs/report.pdf``: the one PDF a student hands in, made of the step PDFs' own LaTeX.

Why one LaTeX document and not the step PDFs glued together: a single xelatex run gives a real
table of contents, page numbers that run through the whole report and PDF bookmarks for every
chapter and section, with nothing drawn over finished pages. Each chapter is the very LaTeX of
that step's PDF (nbconvert's, from the same executed notebook, template and filters), so the
chapters say exactly what the step PDFs say. Around them come a title page (the assignment's
title, the date, the author), the contents, each chapter's opening with the data file's
``tail -n 10`` (where a grader looks first) and the report's colophon.

Also here: :func:`set_title`, which gives any PDF a human title in its metadata (pypdf), and
:func:`chapter_opening`, the cells that open a chapter.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Chapter",
    "assignment_title",
    "chapter_opening",
    "colophon_cells",
    "latex_chapter",
    "merge_report",
    "set_title",
    "tail_output",
    "write_report",
]

DEFAULT_TITLE = "Streaming Protocol: an asynchronous WebSocket client for market data"
"""The title when the assignment's text is not beside the clone."""


def assignment_title(root: Path) -> str:
    """The assignment's title: its first parenthesised words (``(Streaming Protocol)``) in
    ``shared/assignment.txt`` beside the clone, else :data:`DEFAULT_TITLE`."""
    for candidate in (root.parent / "shared" / "assignment.txt", root / "assignment.txt"):
        if candidate.is_file():
            found = re.search(r"\(([^()\n]{3,80})\)", candidate.read_text(errors="replace"))
            if found:
                return f"{found[1].strip()}: an asynchronous WebSocket client for market data"
    return DEFAULT_TITLE


def set_title(pdf: Path, title: str, author: str = "") -> None:
    """Write ``title`` (and ``author``) into a PDF's metadata, in place (pypdf)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(pdf)
    writer = PdfWriter(clone_from=reader)
    info = {"/Title": title, "/Producer": "btclib report (nbconvert, xelatex, pypdf)"}
    if author:
        info["/Author"] = author
    writer.add_metadata(info)
    tmp = pdf.with_suffix(".tmp.pdf")
    with tmp.open("wb") as f:
        writer.write(f)
    tmp.replace(pdf)


def _code_cell(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A code cell that shows only ``outputs`` (its empty source hidden in every export)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.metadata["transient"] = {"remove_source": True}
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def colophon_cells(text: str) -> list[Any]:
    """The colophon as cells: a heading and the text as printed output (it wraps, never cut)."""
    import nbformat

    heading = nbformat.v4.new_markdown_cell(
        "## Colophon\n\nWhat produced this PDF and the data it shows; "
        "`python -m btclib report --verify` checks the hashes against the files."
    )
    return [heading, _code_cell([{"output_type": "stream", "name": "stdout", "text": text}])]


def tail_output(nb: Any) -> dict[str, Any] | None:
    """The notebook's last ``tail_view`` output (metadata ``btclib.dense``), or None."""
    found = None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            if ((out.get("metadata") or {}).get("btclib") or {}).get("dense"):
                found = out
    return found


def chapter_opening(nb: Any, files: Sequence[dict[str, Any]]) -> Any:
    """A copy of ``nb`` whose first heading is followed by where its data is and the tail.

    The first markdown cell is split after its ``#`` heading line; between the two halves come
    a sentence naming the data file and how many lines it holds, and a copy of the notebook's
    own ``tail -n 10`` output (with its simulator notice). Nothing changes when the notebook
    shows no tail.
    """
    import nbformat

    out = copy.deepcopy(nb)
    tail = tail_output(out)
    if tail is None or not files:
        return out
    cells = out["cells"]
    first = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"), None)
    if first is None:
        return out
    source = "".join(cells[first]["source"])
    head, _, rest = source.partition("\n")
    facts = files[-1]
    said = (
        f"**The data file first.** `{facts['shown']}` holds {facts['lines']:,} lines "
        f"(this run wrote lines {facts.get('first_line') or '?'} to "
        f"{facts.get('last_line') or '?'}); its last 10 lines, as `tail -n 10` prints them, "
        "each whole:"
    )
    shown = copy.deepcopy(tail)
    # Here the tail follows the sentence on the chapter's first page (the template starts a
    # step's own tail on a page of its own, which would leave this page with a heading alone).
    shown["metadata"]["btclib"]["opening"] = True
    new = [nbformat.v4.new_markdown_cell(head), nbformat.v4.new_markdown_cell(said),
           _code_cell([shown])]  # fmt: skip
    if rest.strip():
        new.append(nbformat.v4.new_markdown_cell(rest.lstrip("\n")))
    cells[first : first + 1] = new
    return out


@dataclass
class Chapter:
    """One step's LaTeX: its body (between ``\\begin{document}`` and ``\\end{document}``), the
    preamble it was made with, and the figure files it includes."""

    stem: str
    title: str
    preamble: str
    body: str
    files: dict[str, bytes]


_LABEL = re.compile(r"\\(label|hypertarget|ref|autoref|pageref)\{([^}]*)\}")
_HYPERREF = re.compile(r"\\hyperref\[([^\]]*)\]")


def latex_chapter(nb: Any, stem: str, title: str, config: Any) -> Chapter:
    """The LaTeX of an executed notebook as a chapter (no execution: outputs as they are)."""
    from nbconvert.exporters import LatexExporter

    config = copy.deepcopy(config)
    config.ExecutePreprocessor.enabled = False
    exporter = LatexExporter(config=config)
    resources = {"metadata": {"name": stem, "path": "."}, "unique_key": stem,
                 "output_files_dir": f"{stem}_files"}  # fmt: skip
    latex, res = exporter.from_notebook_node(nb, resources=resources)
    begin = latex.index("\\begin{document}")
    end = latex.rindex("\\end{document}")
    body = latex[begin + len("\\begin{document}") : end]
    # Sections of different steps share names (Record, The code that did the work): their
    # labels are made unique per chapter so every link and bookmark leads to its own step.
    body = _LABEL.sub(lambda m: f"\\{m[1]}{{{stem}-{m[2]}}}", body)
    body = _HYPERREF.sub(lambda m: f"\\hyperref[{stem}-{m[1]}]", body)
    return Chapter(stem, title, latex[:begin], body, dict(res.get("outputs", {})))


def _escape(text: str) -> str:
    from nbconvert.filters import escape_latex

    return escape_latex(text)


def master_latex(
    chapters: Sequence[Chapter], *, title: str, author: str, date: str, colophon: str
) -> str:
    """The report's LaTeX: the chapters' shared preamble, a title page, the contents, every
    chapter on a new page, and the colophon (as the step PDFs print theirs)."""
    from .nbexport import visual_lines

    preamble = chapters[0].preamble
    by = f"\\par\\vspace{{1em}}{{\\large {_escape(author)}}}" if author else ""
    colophon_text = _escape(visual_lines(colophon, 89)).replace(
        "\ue000", "\\btclibContinued{}"
    )
    parts = [
        preamble,
        "\\hypersetup{pdftitle={" + _escape(title) + "}"
        + (",pdfauthor={" + _escape(author) + "}" if author else "") + "}\n",
        # Room in the contents for a two-digit section number (6.10) before its title.
        "\\setcounter{tocdepth}{2}\n\\makeatletter"
        "\\renewcommand*\\l@subsection{\\@dottedtocline{2}{1.5em}{2.9em}}\\makeatother\n"
        "\\begin{document}\n",
        "\\begin{titlepage}\\centering\\vspace*{4cm}\n",
        f"{{\\Huge {_escape(title)}\\par}}\\vspace{{2em}}\n",
        "{\\Large Steps A to E, and a fault lab: recording Binance and Upbit market data\\par}\n",
        by,
        f"\\par\\vspace{{2em}}{{\\large {_escape(date)}}}\n",
        "\\vfill{\\small Made by \\texttt{python -m btclib report}; the colophon at the end says "
        "from what, and \\texttt{python -m btclib report -{}-verify} checks it.}\n",
        "\\end{titlepage}\n\\tableofcontents\n",
    ]
    for chapter in chapters:
        parts.append(f"\n\\clearpage\n% ---- {chapter.stem} ----\n{chapter.body}\n")
    parts.append(
        "\n\\clearpage\n\\section{Colophon}\n"
        "What produced this report and the data it shows, for every chapter at once.\n"
        "\\begin{Verbatim}[commandchars=\\\\\\{\\}]\n" + colophon_text + "\n\\end{Verbatim}\n"
    )
    parts.append("\\end{document}\n")
    return "".join(parts)


def write_report(
    chapters: Sequence[Chapter],
    target: Path,
    *,
    title: str,
    author: str,
    date: str,
    colophon: str,
    passes: int = 3,
) -> Path:
    """Typeset the report into ``target`` (xelatex ``passes`` times: the contents and the
    bookmarks settle on the later passes). Raises RuntimeError with xelatex's last lines."""
    if not chapters:
        raise ValueError("report: no chapter to put in report.pdf")
    latex = master_latex(chapters, title=title, author=author, date=date, colophon=colophon)
    with tempfile.TemporaryDirectory(prefix="btclib-report-") as scratch:
        work = Path(scratch)
        for chapter in chapters:
            for name, data in chapter.files.items():
                path = work / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        (work / "report.tex").write_text(latex, encoding="utf-8")
        for _ in range(passes):
            done = subprocess.run(
                ["xelatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                cwd=work, capture_output=True, text=True, errors="replace",
                stdin=subprocess.DEVNULL, timeout=600,
            )  # fmt: skip
            if done.returncode != 0:
                last = "\n".join(done.stdout.splitlines()[-25:])
                (target.parent / "report.tex").write_text(latex, encoding="utf-8")
                raise RuntimeError(
                    f"xelatex failed on report.tex (kept in {target.parent}):\n{last}"
                )
        shutil.copyfile(work / "report.pdf", target)
    return target


def _front_html(title: str, author: str, date: str, contents: Sequence[tuple[str, int]]) -> str:
    import html

    rows = "".join(
        f"<tr><td>{html.escape(t)}</td><td style='text-align:right'>{page}</td></tr>"
        for t, page in contents
    )
    by = f"<p style='font-size:1.3em'>{html.escape(author)}</p>" if author else ""
    return (
        "<html><head><meta charset='utf-8'><style>body{font-family:'DejaVu Sans',sans-serif}"
        ".page{page-break-after:always;text-align:center;padding-top:30%}"
        "table{width:100%;border-collapse:collapse}td{padding:4px 0;border-bottom:1px dotted #999}"
        "</style></head><body>"
        f"<div class='page'><h1>{html.escape(title)}</h1>"
        "<p style='font-size:1.2em'>Steps A to E, and a fault lab: recording Binance and Upbit "
        f"market data</p>{by}<p>{html.escape(date)}</p></div>"
        f"<h2>Contents</h2><table>{rows}</table></body></html>"
    )


def _colophon_html(colophon: str) -> str:
    import html

    return (
        "<html><head><meta charset='utf-8'><style>pre{white-space:pre-wrap;"
        "overflow-wrap:anywhere;font-size:9pt}</style></head><body><h2>Colophon</h2>"
        f"<pre>{html.escape(colophon)}</pre></body></html>"
    )


def merge_report(
    pdfs: Sequence[tuple[Path, str]],
    target: Path,
    *,
    title: str,
    author: str,
    date: str,
    colophon: str,
    print_html: Any,
) -> Path:
    """report.pdf without TeX: a title page and contents, each step's PDF as a chapter (a
    bookmark each), the colophon, merged with pypdf. ``print_html(html_file, pdf_file)``
    prints a page (the Chromium route's printer). The contents give each chapter's first
    page; Chromium prints no page numbers, so the pages carry none (the TeX route's do)."""
    from pypdf import PdfReader, PdfWriter

    with tempfile.TemporaryDirectory(prefix="btclib-merge-") as scratch:
        work = Path(scratch)
        counts = [len(PdfReader(p).pages) for p, _ in pdfs]
        front_pages = 2
        for _ in range(3):  # the contents' page numbers depend on the front matter's length
            start, contents = front_pages + 1, []
            for (_, name), count in zip(pdfs, counts, strict=True):
                contents.append((name, start))
                start += count
            contents.append(("Colophon", start))
            (work / "front.html").write_text(_front_html(title, author, date, contents), "utf-8")
            print_html(work / "front.html", work / "front.pdf")
            got = len(PdfReader(work / "front.pdf").pages)
            if got == front_pages:
                break
            front_pages = got
        (work / "colophon.html").write_text(_colophon_html(colophon), "utf-8")
        print_html(work / "colophon.html", work / "colophon.pdf")
        writer = PdfWriter()
        writer.append(work / "front.pdf")
        for path, name in pdfs:
            writer.append(path, outline_item=name)
        writer.append(work / "colophon.pdf", outline_item="Colophon")
        info = {"/Title": title}
        if author:
            info["/Author"] = author
        writer.add_metadata(info)
        with target.open("wb") as f:
            writer.write(f)
    return target
