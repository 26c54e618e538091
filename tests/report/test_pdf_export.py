"""The report's PDFs never cut a line: long output lines, code lines and tracebacks wrap.

The end-to-end tests execute a notebook, export it with the repository's nbconvert
configuration (notebooks/nbconvert_config.py and the template in notebooks/templates/btclib),
then read the PDF back with ``pdftotext`` and look for every long line in full. Wrapping inserts
line breaks (and pdftotext adds spaces), so lines are compared with all whitespace removed.

Without xelatex/pdftotext these tests skip with the reason, except in CI on Debian/Ubuntu, where
`make test` installs the packages: there a missing TeX is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from btclib.report.nbexport import (
    chromium_binary,
    clean_text,
    export_notebook,
    html_to_text,
    load_config,
    main,
    strip_control_chars,
    widget_text,
)
from btclib.report.nbsanitize import SanitizeOutputsPreprocessor

ROOT = Path(__file__).resolve().parents[2]
# The repository's nbconvert configuration: callers pass it, btclib looks for no file outside it.
CONFIG = ROOT / "notebooks" / "nbconvert_config.py"
FIXTURE = ROOT / "tests" / "data" / "long_lines.ipynb"
# Stored with its outputs (an IPython traceback in 256 colours); exported without execution.
TRACEBACK_FIXTURE = ROOT / "tests" / "data" / "error_output.ipynb"
STEP_B = ROOT / "notebooks" / "step_b_upbit.ipynb"
UPBIT_DATA = ROOT / "outputs" / "stream-data-upbit.txt"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _is_debian() -> bool:
    return Path("/etc/debian_version").exists() or shutil.which("apt-get") is not None


def require_pdf_tools() -> None:
    """Skip (or fail, in CI on Debian) when the PDF toolchain is missing."""
    missing = [tool for tool in ("xelatex", "pandoc", "pdftotext") if shutil.which(tool) is None]
    if not missing:
        return
    how = "install them with `make sysdeps` (scripts/install-system-deps.sh)"
    if os.environ.get("CI") and _is_debian():
        pytest.fail(f"CI on Debian/Ubuntu but {', '.join(missing)} missing: {how}")
    pytest.skip(f"PDF export needs {', '.join(missing)}, not installed here: {how}")


def _has_font(family: str) -> bool:
    if shutil.which("fc-list") is None:
        return False
    listing = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True)
    return family.lower() in listing.stdout.lower()


def pdf_text(pdf: Path) -> str:
    """The PDF's text, pages joined, without the page-number footers.

    A wrapped line can continue on the next page; pdftotext then puts the footer (the page
    number) and a form feed in the middle of it, which are removed here.
    """
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    pages = []
    for page in result.stdout.split("\f"):
        lines = page.rstrip().split("\n")
        if lines and lines[-1].strip().isdigit():
            lines.pop()
        pages.append("\n".join(lines))
    return "\n".join(pages)


def squash(text: str) -> str:
    """Remove all whitespace: the breaks that wrapping inserts must not matter."""
    return re.sub(r"\s+", "", text)


def fixture_lines() -> list[str]:
    """The long lines the fixture prints, computed by running its own first code cell."""
    nb = nbformat.read(FIXTURE, as_version=4)
    source = next(c.source for c in nb.cells if c.cell_type == "code")
    namespace: dict[str, Any] = {}
    exec(
        compile(source.replace("for line in LINES:\n    print(line)", ""), str(FIXTURE), "exec"),
        namespace,
    )
    lines = namespace["make_lines"]()
    assert all(len(line) > 300 for line in lines)
    return lines


def assert_whole(line: str, text: str, what: str) -> None:
    if squash(line) in text:
        return
    # Say how much of the line made it, to tell a cut from a mangled line.
    key = squash(line)
    longest = 0
    for n in range(len(key), 0, -max(1, len(key) // 50)):
        if key[:n] in text:
            longest = n
            break
    pytest.fail(
        f"{what} ({len(line)} chars) is not whole in the PDF text; its first {longest} "
        f"characters are there. Line starts: {line[:80]!r}"
    )


# ---------------------------------------------------------------------------------------------
# the sanitizer, without TeX
# ---------------------------------------------------------------------------------------------


def test_clean_text_keeps_last_carriage_return_segment() -> None:
    assert clean_text("a 10%\ra 50%\ra 100%\nnext\n") == "a 100%\nnext\n"
    assert clean_text("line\r\nother\r\n") == "line\nother\n"
    assert clean_text("bar 3/3\r") == "bar 3/3"


def test_clean_text_strips_control_characters_but_keeps_colour() -> None:
    raw = "bell\x07 bs\x08 nul\x00 vt\x0b ff\x0c so\x0e us\x1f del\x7f tab\tok"
    assert clean_text(raw) == "bell bs nul vt ff so us del tab\tok"
    coloured = "\x1b[31mred\x1b[0m\x1b[2K\x1b[1A end\x1b"
    assert clean_text(coloured) == "\x1b[31mred\x1b[0m end"
    assert strip_control_chars(coloured, keep_ansi_colors=False) == "red end"


def test_html_to_text() -> None:
    assert html_to_text("<b>SIMULATED</b> data<br><script>x()</script>&amp; more") == (
        "SIMULATED data\n& more"
    )


def test_preprocessor_merges_streams_and_adds_fallbacks() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="p 1/2"),
        nbformat.v4.new_output("stream", name="stdout", text="\rp 2/2\x07\n"),
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": "<i>notice</i>", "text/plain": "<IPython.core.display.HTML object>"},
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}},
        ),
        nbformat.v4.new_output(
            "error", ename="E", evalue="bad\x08", traceback=["\x1b[31mE\x1b[0m: bad\x08"]
        ),
    ]
    nb.cells.append(cell)
    out, _ = SanitizeOutputsPreprocessor().preprocess(nb, {})
    outputs = out.cells[0].outputs
    assert outputs[0].text == "p 2/2\n"
    assert len([o for o in outputs if o.output_type == "stream"]) == 1
    assert outputs[1].data["text/plain"] == "notice"
    assert "widget" in outputs[2].data["text/plain"]
    assert outputs[3].evalue == "bad"
    assert outputs[3].traceback == ["E: bad"]  # colours stripped: coloured text cannot wrap


def test_widget_text_renders_a_tqdm_bar_final_state() -> None:
    state = {
        "box": {
            "model_name": "HBoxModel",
            "state": {"children": ["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]},
        },
        "a": {"model_name": "HTMLModel", "state": {"value": "rec:\u2007100%"}},
        "b": {"model_name": "FloatProgressModel", "state": {"value": 5.0, "max": 5.0}},
        "c": {"model_name": "HTMLModel", "state": {"value": "\u20075/5\u2007[00:01&lt;00:00]"}},
    }
    assert widget_text("box", state) == "rec: 100%|██████████| 5/5 [00:01<00:00]"
    assert widget_text("missing", state) is None


# The helpers run in a Python where importing nbconvert, nbformat or traitlets fails.
WITHOUT_NBCONVERT = """
import sys
for name in ("nbconvert", "nbformat", "traitlets"):
    sys.modules[name] = None  # import fails: ModuleNotFoundError
from btclib.report.nbexport import clean_text, html_to_text, sanitize_outputs, strip_control_chars
from btclib.report.nbexport import widget_text
assert clean_text("a 10%\\ra 100%\\n") == "a 100%\\n"
assert strip_control_chars("\\x1b[31mred\\x1b[0m", keep_ansi_colors=False) == "red"
assert html_to_text("<b>x</b><br>y") == "x\\ny"
assert widget_text("m", {"m": {"model_name": "LabelModel", "state": {"value": "ok"}}}) == "ok"
outputs = [{"output_type": "stream", "name": "stdout", "text": "p 1\\rp 2\\x07\\n"}]
assert sanitize_outputs(outputs) == [{"output_type": "stream", "name": "stdout", "text": "p 2\\n"}]
try:
    import btclib.report.nbsanitize
except ImportError:
    print("preprocessor needs nbconvert; helpers did not")
"""


def test_text_helpers_work_without_nbconvert() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_NBCONVERT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    # The block is real: the module that does need nbconvert failed to import.
    assert result.stdout == "preprocessor needs nbconvert; helpers did not\n"


def test_export_needs_the_callers_config(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no nbconvert configuration"):
        load_config(tmp_path / "missing.py")
    assert "btclib.report.nbsanitize.SanitizeOutputsPreprocessor" in str(
        load_config(CONFIG).Exporter.default_preprocessors
    )
    with pytest.raises(SystemExit) as exit_:
        main(["--to", "html", str(FIXTURE)])  # no --config: argparse refuses
    assert exit_.value.code == 2


def test_tooling_locates_no_file_outside_the_package() -> None:
    import btclib.notebook
    import btclib.report.nbexport
    import btclib.report.nbsanitize

    for module in (btclib.report.nbexport, btclib.report.nbsanitize, btclib.notebook):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        # No path is built from where the module lies (the repository may not be there).
        assert "Path(__file__)" not in source and ".parent.parent" not in source, module.__name__


# ---------------------------------------------------------------------------------------------
# end to end: execute, export to PDF, read back
# ---------------------------------------------------------------------------------------------


def test_fixture_pdf_has_every_long_line_whole(tmp_path: Path) -> None:
    require_pdf_tools()
    pdf = export_notebook(FIXTURE, tmp_path, config_file=CONFIG, timeout=120)
    assert pdf.exists() and pdf.stat().st_size > 0
    text = squash(pdf_text(pdf))

    upbit, binance, nospace = fixture_lines()
    assert len(upbit) > 1900
    assert_whole(upbit, text, "Upbit-like data line")
    assert_whole(binance, text, "Binance-like data line")
    assert_whole(nospace, text, "2,000-character line without spaces")

    nb = nbformat.read(FIXTURE, as_version=4)
    code_line = next(
        line for c in nb.cells for line in c.source.splitlines() if "LONG_CODE_LINE =" in line
    )
    assert_whole(code_line, text, "long code line")
    assert_whole("'result:" + "R" * 1200 + "'", text, "long plain-text result")
    assert_whole("ValueError: caught:" + "E" * 400, text, "last line of a traceback")
    assert_whole("specials:" + "\\{}#$%&~^_<>|\"'`" * 100, text, "line of LaTeX specials")
    assert_whole(
        "https://api.upbit.com/websocket/v1/this/is/a/very/long/path/that/goes/on/and/on/"
        "without/any/space/at/all/orderbook?codes=KRW-BTC&format=DEFAULT",
        text,
        "long URL in markdown",
    )

    # Control characters are gone (the build did not abort) and \r progress keeps its end state.
    assert squash("bell and backspace and nul and del: gone") in text
    assert squash("red text and a cleared line: ansi codes removed") in text
    assert squash("progress 10/10 done") in text
    assert "progress5/10" not in text
    assert squash("stderr bar 3/3 finished") in text
    assert text.count("stderrbar1/3") == 1  # in the code cell only, not in the output
    # Glyphs the default mono font lacks (they would silently vanish).
    for glyph in ("┌──────┬──────┐", "│", "└──────┴──────┘", "✓", "✔", "₩"):
        assert squash(glyph) in text, f"glyph {glyph!r} missing from the PDF"
    # A tqdm notebook bar shows its final state, not the 0% captured when it was displayed.
    assert squash("fixture-bar: 100%|██████████| 20/20") in text
    assert "fixture-bar:0%" not in text
    assert squash("# comment glyphs (Pygments sets comments in italics): ✓ │ ₩") in text
    assert squash("Glyphs in prose: prices in ₩ (KRW) → USDT ✓ │ ┌─┐.") in text
    # Hangul (an Upbit error message), when the Korean font is installed (make sysdeps does).
    korean = '{"error":{"name":"NO_TICKET","message":"티켓이 존재하지 않거나, 유효하지 않습니다."}}'
    if _has_font("NanumGothicCoding"):
        assert_whole(korean, text, "Korean error message")
    # HTML-only output falls back to its text, not `<IPython.core.display.HTML object>`.
    assert squash("html-only output: the PDF shows this text") in text
    assert "IPython.core.display" not in text


def test_stored_traceback_pdf_is_whole(tmp_path: Path) -> None:
    require_pdf_tools()
    pdf = export_notebook(TRACEBACK_FIXTURE, tmp_path, config_file=CONFIG, execute=False)
    text = squash(pdf_text(pdf))
    nb = nbformat.read(TRACEBACK_FIXTURE, as_version=4)
    traceback = nb.cells[-1].outputs[-1].traceback
    last = strip_control_chars(traceback[-1], keep_ansi_colors=False)
    assert len(last) > 800
    assert_whole(last, text, "last line of the traceback")
    token = next(line for line in nb.cells[-1].source.splitlines() if "LONG_TOKEN =" in line)
    assert_whole(token, text, "long code line")
    assert text.count(squash(token)) == 2, "the long line is whole in the traceback listing too"


@pytest.fixture(scope="module")
def step_b(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Step B exported to PDF once for the tests below, and the last 10 lines of its data file.

    The notebook records 2 s against the simulator into a folder of its own (BTCLIB_OUTPUTS), so
    the test never appends to the user's outputs/stream-data-upbit.txt.
    """
    if not STEP_B.exists():
        pytest.skip("notebooks/step_b_upbit.ipynb does not exist yet: nothing to export")
    require_pdf_tools()
    tmp_path = tmp_path_factory.mktemp("step_b")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BTCLIB_DURATION", "2")
        monkeypatch.setenv("BTCLIB_SOURCE", "sim")
        monkeypatch.setenv("BTCLIB_OUTPUTS", str(data_dir))
        pdf = export_notebook(STEP_B, tmp_path / "pdf", config_file=CONFIG, timeout=180)
    data = data_dir / UPBIT_DATA.name
    if not data.exists():  # a notebook that ignores BTCLIB_OUTPUTS writes outputs/
        data = UPBIT_DATA
    assert data.exists(), f"the notebook wrote no {UPBIT_DATA.name}"
    return pdf, data.read_text(encoding="utf-8").splitlines()[-10:]


def test_step_b_pdf_shows_the_upbit_tail_whole(step_b: tuple[Path, list[str]]) -> None:
    """Step B's PDF shows each of the last 10 lines of its data file whole (~2,000 chars each)."""
    pdf, tail = step_b
    assert len(tail) == 10, f"expected at least 10 data lines, got {len(tail)}"
    assert all(len(line) > 500 for line in tail), "Upbit lines are long (15 to 30 levels)"
    text = squash(pdf_text(pdf))
    for n, line in enumerate(tail, 1):
        assert_whole(line, text, f"tail line {n} of {UPBIT_DATA.name}")


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, whitespace removed (the footer's page number included)."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [squash(page) for page in out.split("\f")[:-1]]


def text_bottoms(pdf: Path) -> list[float]:
    """Per page, how far down its lowest word (the page number excepted) ends, 0 to 1."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    bottoms = []
    for page in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', out, re.S):
        height, body = float(page[0]), page[1]
        words = re.findall(r'yMax="([\d.]+)">([^<]*)</word>', body)
        words = [float(y) for y, w in words if not (w.isdigit() and float(y) > 0.93 * height)]
        bottoms.append(max(words, default=0.0) / height)
    return bottoms


def test_step_b_pdf_is_compact(step_b: tuple[Path, list[str]]) -> None:
    """Issue 13: Step B's PDF has at most 10 pages, the tail takes at most 3, and a page break
    falls inside a long line instead of leaving the page before it half empty."""
    pdf, tail = step_b
    pages = page_texts(pdf)
    assert len(pages) <= 10, f"Step B's PDF has {len(pages)} pages (at most 10)"
    first = next(i for i, p in enumerate(pages) if squash("$ tail -n 10") in p)
    end = squash(tail[-1])[-60:]  # the end of the last line: where the tail ends
    last = next(i for i, p in enumerate(pages) if i >= first and end in p)
    assert last - first + 1 <= 3, f"the tail takes pages {first + 1} to {last + 1} (at most 3)"
    bottoms = text_bottoms(pdf)
    for i in range(first, last):  # every tail page but its last is filled to the bottom
        assert bottoms[i] > 0.85, f"page {i + 1} ends {bottoms[i]:.0%} down, inside the tail"
    # Some line continues across a page break (a data line is longer than what is left).
    assert last == first or any(
        squash(line)[:40] in pages[i] and squash(line)[-40:] in pages[i + 1]
        for i in range(first, last)
        for line in tail
    ), "no tail line continues from one page to the next"


def test_html_route_runs_the_sanitizer_named_in_the_config(tmp_path: Path) -> None:
    """Without TeX: the repository's config puts btclib.report.nbsanitize's preprocessor to work."""
    html = export_notebook(FIXTURE, tmp_path, config_file=CONFIG, to="html", timeout=120)
    text = html.read_text(encoding="utf-8")
    assert "fixture-bar: 100%" in text  # a widget's final state, from the saved widget state
    assert "IPython.core.display" not in text  # HTML-only output got its text fallback
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)  # control characters gone


@pytest.mark.skipif(
    chromium_binary() is None or shutil.which("pdftotext") is None,
    reason="the Chromium route is optional (not part of CI): chromium or pdftotext not installed",
)
def test_chromium_route_keeps_lines_whole(tmp_path: Path) -> None:
    pdf = export_notebook(FIXTURE, tmp_path, config_file=CONFIG, to="chromium-pdf", timeout=120)
    text = squash(pdf_text(pdf))
    for n, line in enumerate(fixture_lines(), 1):
        assert_whole(line, text, f"long line {n} (Chromium route)")
    assert squash("fixture-bar: 100%|██████████| 20/20") in text


def test_visual_lines_cut_long_lines_and_join_back() -> None:
    from btclib.report.nbexport import CONTINUATION, continuation_marks, visual_lines

    text = "a" * 10 + "\nshort\n" + "bb\x1b[31mcc\x1b[0mdd" + "\n티켓이x\n"
    cut = visual_lines(text, 5)
    assert cut.split("\n")[:3] == ["aaaaa", CONTINUATION + "aaaaa", "short"]
    # An escape sequence counts no column and is never cut.
    assert cut.split("\n")[3:5] == ["bb\x1b[31mcc\x1b[0md", CONTINUATION + "d"]
    assert cut.split("\n")[5:7] == ["티켓", CONTINUATION + "이x"]  # Hangul is two columns wide
    assert cut.replace("\n" + CONTINUATION, "") == text
    assert continuation_marks(cut).count("\\btclibContinued{}") == 3
    with pytest.raises(ValueError, match="width"):
        visual_lines("x", 0)


def test_the_chromium_route_finds_a_browser_where_windows_and_macos_install_it(
    tmp_path, monkeypatch
):
    from btclib.report import nbexport

    monkeypatch.setattr(nbexport.shutil, "which", lambda name: None)  # nothing on the PATH
    monkeypatch.delenv("BTCLIB_CHROME", raising=False)
    for variable in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA"):
        monkeypatch.delenv(variable, raising=False)
    assert nbexport.chromium_binary() is None or nbexport.chromium_binary().startswith(
        "/Applications"
    )
    edge = tmp_path / "Microsoft" / "Edge" / "Application" / "msedge.exe"
    edge.parent.mkdir(parents=True)
    edge.write_bytes(b"")
    monkeypatch.setenv("PROGRAMFILES(X86)", str(tmp_path))
    assert nbexport.chromium_binary() == str(edge)
    chosen = tmp_path / "my-chrome"
    chosen.write_bytes(b"")
    monkeypatch.setenv("BTCLIB_CHROME", str(chosen))
    assert nbexport.chromium_binary() == str(chosen)
