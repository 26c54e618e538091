"""btclib.show: tail in Python, highlighted source for Jupyter and the PDF, the simulator notice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btclib import show
from btclib.analysis import Recording
from btclib.exchanges import binance
from btclib.recorder import RunSummary
from btclib.sink import LineSink

# -- tail ---------------------------------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "n", "expected"),
    [
        (b"", 10, b""),
        (b"a\n", 10, b"a\n"),
        (b"a\nb\nc\n", 2, b"b\nc\n"),
        (b"a\nb\nc\n", 3, b"a\nb\nc\n"),
        (b"a\nb\nc", 2, b"b\nc"),  # a last line without newline counts, as in tail
        (b"a\n\nc\n", 2, b"\nc\n"),  # empty lines are lines
        (b"\n\n", 1, b"\n"),
        (b"a\rb\nc\n", 2, b"a\rb\nc\n"),  # only \n ends a line
        (b"a\nb\n", 0, b""),
    ],
)
def test_tail_small_files(tmp_path: Path, data: bytes, n: int, expected: bytes) -> None:
    assert show.tail(write(tmp_path / "f.txt", data), n) == expected.decode()


def test_tail_matches_coreutils_on_long_lines(tmp_path: Path) -> None:
    # Lines longer than the read block, and more of them than asked for.
    lines = [f"btckrw@orderbook,{i}:" + "x" * (40_000 + 997 * i) + "\n" for i in range(30)]
    path = write(tmp_path / "stream-data-upbit.txt", "".join(lines).encode())
    assert show.tail(path) == "".join(lines[-10:])
    assert show.tail(path, 1) == lines[-1]
    assert show.tail(path, 100) == "".join(lines)
    try:
        out = subprocess.run(["tail", "-n", "10", str(path)], capture_output=True, check=True)
    except (FileNotFoundError, subprocess.CalledProcessError):
        return
    assert show.tail(path).encode() == out.stdout


def test_tail_keeps_every_line_whole_and_replaces_bad_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", b"ok\nbad \xff byte\nlast\n")
    assert show.tail(path, 2) == "bad \ufffd byte\nlast\n"


def test_tail_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        show.tail(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError):
        show.tail(tmp_path / "missing.txt", 0)
    with pytest.raises(ValueError, match="n must be"):
        show.tail(write(tmp_path / "f.txt", b"a\n"), -1)


# -- source -------------------------------------------------------------------------------------


def test_source_of_functions_classes_and_methods() -> None:
    shown = show.source(binance.stream_url, binance.Parser, LineSink.write)
    text = repr(shown)
    assert str(shown) == text
    assert "# btclib.exchanges.binance.stream_url  (btclib/exchanges/binance.py, line " in text
    assert "# btclib.exchanges.binance.Parser  (btclib/exchanges/binance.py, line " in text
    assert "# btclib.sink.LineSink.write  (btclib/sink.py, line " in text
    assert "\nclass Parser:\n" in text
    assert "\ndef write(self, line: bytes) -> None:\n" in text  # a method, dedented
    for line in text.splitlines():
        assert line.strip() or not line  # no whitespace-only lines from joining


def test_source_line_numbers_are_right() -> None:
    text = repr(show.source(binance.stream_url))
    header = text.splitlines()[0]
    number = int(header.rsplit("line ", 1)[1].rstrip(")"))
    lines = Path(binance.__file__).read_text().splitlines()
    assert lines[number - 1].startswith("def stream_url(")


def test_source_renders_for_html_and_latex() -> None:
    pytest.importorskip("pygments")
    shown = show.source(binance.stream_url)
    html = shown._repr_html_()
    assert "<pre" in html and "stream_url" in html and "style=" in html  # inline colours
    latex = shown._repr_latex_()
    assert latex.startswith("\\begin{Verbatim}[commandchars=\\\\\\{\\}]")
    assert "\\PY{k}{def}" in latex  # the macros nbconvert's template defines for code cells
    assert "\\PY{n+nf}{stream\\PYZus{}url}" in latex  # a function name


def test_source_needs_something() -> None:
    with pytest.raises(ValueError, match="nothing"):
        show.source()


# -- notice and why ---------------------------------------------------------------------------


def summary(sources: dict[str, str], reasons: dict[str, str]) -> RunSummary:
    return RunSummary(Path("out/stream-data-multi.txt"), None, {}, sources, reasons)


def test_live_run_has_no_notice() -> None:
    live = summary({"binance": "live", "upbit": "live"}, {})
    assert show.notice(live) == ""
    assert show.why(live) is None


def test_notice_names_each_simulated_exchange_and_why() -> None:
    s = summary(
        {"binance": "live", "upbit": "simulator"},
        {"upbit": "DNS lookup of api.upbit.com failed"},
    )
    text = show.notice(s)
    assert text.count("\n") == 0 and text.startswith("SIMULATED DATA: the upbit lines in ")
    assert "stream-data-multi.txt" in text and "not from the live Upbit exchange" in text
    assert text.endswith("Why: DNS lookup of api.upbit.com failed")
    assert show.why(s) == "upbit: DNS lookup of api.upbit.com failed"


def test_why_merges_one_reason_for_both() -> None:
    same = {"binance": "source 'sim' was chosen", "upbit": "source 'sim' was chosen"}
    s = summary({"binance": "simulator", "upbit": "simulator"}, same)
    assert show.why(s) == "binance and upbit: source 'sim' was chosen"
    assert len(show.notice(s).splitlines()) == 2
    different = summary({"binance": "simulator", "upbit": "simulator replay"}, {"binance": "x"})
    assert show.why(different) == "binance: x; upbit: source was 'simulator replay'"


def test_notice_works_on_a_recording_without_reasons() -> None:
    rec = Recording({}, {}, True, None, {"binance": "simulator"}, None)
    assert show.notice(rec).endswith("Why: source was 'simulator'")
    assert show.why(rec) == "binance: source was 'simulator'"
