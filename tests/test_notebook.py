"""btclib.notebook: the settings, tail in Python, highlighted listings, the simulator notices."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btclib import RunSummary, notebook
from btclib.analysis import Recording
from btclib.exchanges import binance
from btclib.files.sink import LineSink

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
    assert notebook.tail(write(tmp_path / "f.txt", data), n) == expected.decode()


def test_tail_matches_coreutils_on_long_lines(tmp_path: Path) -> None:
    # Lines longer than the read block, and more of them than asked for.
    lines = [f"btckrw@orderbook,{i}:" + "x" * (40_000 + 997 * i) + "\n" for i in range(30)]
    path = write(tmp_path / "stream-data-upbit.txt", "".join(lines).encode())
    assert notebook.tail(path) == "".join(lines[-10:])
    assert notebook.tail(path, 1) == lines[-1]
    assert notebook.tail(path, 100) == "".join(lines)
    try:
        out = subprocess.run(["tail", "-n", "10", str(path)], capture_output=True, check=True)
    except (FileNotFoundError, subprocess.CalledProcessError):
        return
    assert notebook.tail(path).encode() == out.stdout


def test_tail_keeps_every_line_whole_and_replaces_bad_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", b"ok\nbad \xff byte\nlast\n")
    assert notebook.tail(path, 2) == "bad \ufffd byte\nlast\n"


def test_tail_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        notebook.tail(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError):
        notebook.tail(tmp_path / "missing.txt", 0)
    with pytest.raises(ValueError, match="n must be"):
        notebook.tail(write(tmp_path / "f.txt", b"a\n"), -1)


# -- listing ------------------------------------------------------------------------------------


def test_listing_of_functions_classes_and_methods() -> None:
    shown = notebook.listing(binance.stream_url, binance.Parser, LineSink.write)
    text = repr(shown)
    assert str(shown) == text
    assert "# btclib.exchanges.binance.stream_url  (btclib/exchanges/binance.py, line " in text
    assert "# btclib.exchanges.binance.Parser  (btclib/exchanges/binance.py, line " in text
    assert "# btclib.files.sink.LineSink.write  (btclib/files/sink.py, line " in text
    assert "\nclass Parser:\n" in text
    assert "\ndef write(self, line: bytes) -> None:\n" in text  # a method, dedented
    for line in text.splitlines():
        assert line.strip() or not line  # no whitespace-only lines from joining


def test_listing_line_numbers_are_right() -> None:
    text = repr(notebook.listing(binance.stream_url))
    header = text.splitlines()[0]
    number = int(header.rsplit("line ", 1)[1].rstrip(")"))
    lines = Path(binance.__file__).read_text().splitlines()
    assert lines[number - 1].startswith("def stream_url(")


def test_listing_renders_for_html_and_latex() -> None:
    pytest.importorskip("pygments")
    shown = notebook.listing(binance.stream_url)
    html = shown._repr_html_()
    assert "<pre" in html and "stream_url" in html and "style=" in html  # inline colours
    latex = shown._repr_latex_()
    assert latex.startswith("\\begin{Verbatim}[commandchars=\\\\\\{\\}]")
    assert "\\PY{k}{def}" in latex  # the macros nbconvert's template defines for code cells
    assert "\\PY{n+nf}{stream\\PYZus{}url}" in latex  # a function name


def test_listing_needs_something() -> None:
    with pytest.raises(ValueError, match="nothing"):
        notebook.listing()


# -- notice and why ---------------------------------------------------------------------------


def summary(sources: dict[str, str], reasons: dict[str, str]) -> RunSummary:
    return RunSummary(Path("out/stream-data-multi.txt"), None, {}, sources, reasons)


def test_live_run_has_no_notice() -> None:
    live = summary({"binance": "live", "upbit": "live"}, {})
    assert notebook.notice(live) == ""
    assert notebook.why(live) is None


def test_notice_names_each_simulated_exchange_and_why() -> None:
    s = summary(
        {"binance": "live", "upbit": "simulator"},
        {"upbit": "DNS lookup of api.upbit.com failed"},
    )
    text = notebook.notice(s)
    assert text.count("\n") == 0 and text.startswith("SIMULATED DATA: the upbit lines in ")
    assert "stream-data-multi.txt" in text and "not from the live Upbit exchange" in text
    assert text.endswith("Why: DNS lookup of api.upbit.com failed")
    assert notebook.why(s) == "upbit: DNS lookup of api.upbit.com failed"


def test_why_merges_one_reason_for_both() -> None:
    same = {"binance": "source 'sim' was chosen", "upbit": "source 'sim' was chosen"}
    s = summary({"binance": "simulator", "upbit": "simulator"}, same)
    assert notebook.why(s) == "binance and upbit: source 'sim' was chosen"
    # One notice naming both exchanges and the shared reason, not one per exchange.
    (text,) = notebook.notice(s).splitlines()
    assert text.startswith("SIMULATED DATA: the binance and upbit lines in ")
    assert "not from the live Binance and Upbit exchanges" in text
    assert text.endswith("Why: binance and upbit: source 'sim' was chosen")
    different = summary({"binance": "simulator", "upbit": "simulator replay"}, {"binance": "x"})
    assert notebook.why(different) == "binance: x; upbit: source was 'simulator replay'"


def test_notice_works_on_a_recording_without_reasons() -> None:
    rec = Recording({}, {}, True, None, {"binance": "simulator"}, None)
    assert notebook.notice(rec).endswith("Why: source was 'simulator'")
    assert notebook.why(rec) == "binance: source was 'simulator'"


# -- parameters ---------------------------------------------------------------------------------


def test_parameters_defaults_are_shared() -> None:
    p = notebook.parameters(environ={})
    assert p == notebook.Parameters(
        duration=30.0,
        source="auto",
        symbol="btcusdt",
        codes=("KRW-BTC",),
        outputs="../outputs",
        capture=None,
    )
    assert notebook.parameters(duration=60, environ={}).duration == 60.0


def test_parameters_come_from_the_environment() -> None:
    env = {
        "BTCLIB_DURATION": "2",
        "BTCLIB_SOURCE": "sim",
        "BTCLIB_SYMBOL": "ethusdt",
        "BTCLIB_CODES": "KRW-ETH, KRW-BTC",
        "BTCLIB_OUTPUTS": "/tmp/x",
        "BTCLIB_CAPTURE": "c.jsonl.gz",
    }
    p = notebook.parameters(duration=60, environ=env)
    assert (p.duration, p.source, p.symbol) == (2.0, "sim", "ethusdt")
    assert p.codes == ("KRW-ETH", "KRW-BTC")
    assert (p.outputs, p.capture) == ("/tmp/x", "c.jsonl.gz")
    # Empty variables are unset ones (a Makefile passes BTCLIB_SOURCE= when none is given).
    empty = dict.fromkeys(env, "")
    assert notebook.parameters(environ=empty) == notebook.parameters(environ={})


def test_parameters_read_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTCLIB_DURATION", "1.5")
    assert notebook.parameters().duration == 1.5


def test_parameters_refuse_a_duration_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="BTCLIB_DURATION must be a number of seconds, not '2s'"):
        notebook.parameters(environ={"BTCLIB_DURATION": "2s"})


# -- print_tail, listing guard ------------------------------------------------------------------


def test_print_tail_puts_the_notice_above_the_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "stream-data-upbit.txt", b"".join(b"l%d\n" % i for i in range(12)))
    notebook.print_tail(path, 2, summary=summary({"upbit": "simulator"}, {"upbit": "sim chosen"}))
    out = capsys.readouterr().out
    head, shown = out.split("\n\n", 1)
    assert head.startswith("SIMULATED DATA: the upbit lines") and head.endswith("Why: sim chosen")
    assert shown == f"$ tail -n 2 {path}\nl10\nl11\n"
    notebook.print_tail(path, 1, summary=summary({"upbit": "live"}, {}))
    assert capsys.readouterr().out == f"$ tail -n 1 {path}\nl11\n"


def _private() -> None:
    """A private helper: a listing must refuse it."""


def test_listing_refuses_private_names() -> None:
    with pytest.raises(ValueError, match=r"test_notebook\._private is not a public name"):
        notebook.listing(_private)
    with pytest.raises(ValueError, match="not a public name"):
        notebook.listing(notebook.Listing._repr_html_)


def test_the_names_the_notebooks_show_are_public_and_listable() -> None:
    shown = notebook.listing(
        notebook.binance.stream_url,
        notebook.binance.Parser,
        notebook.upbit.subscription,
        notebook.upbit.Parser,
        notebook.build_feeds,
        notebook.record_feeds,
        notebook.FeedRunner.pump,
        notebook.LineSink.append,
        notebook.LineSink.flush,
        notebook.LineSink.write,
        notebook.LineSink.write_chunk,
    )
    assert repr(shown).count("\n# btclib.") == 10
    assert "\n# btclib.files.sink.LineSink.write_chunk  (btclib/files/sink.py, line " in repr(shown)


# -- banner, mixed sources, the simulator's premium ------------------------------------------


def test_banner_for_a_loaded_capture_names_the_file() -> None:
    rec = Recording(
        {},
        {},
        True,
        None,
        {"binance": "live", "upbit": "simulator replay"},
        Path("x/capture-step-d.jsonl.gz"),
    )
    text = notebook.banner(rec)
    assert text.startswith("!" * 78 + "\n") and text.endswith("\n" + "!" * 78)
    words = " ".join(text.replace("!!", " ").split())  # the banner wraps its lines
    assert "SIMULATED DATA: UPBIT IS NOT LIVE." in words and "BINANCE" not in words
    assert (
        "Why: the capture capture-step-d.jsonl.gz says its source was 'simulator replay'" in words
    )
    assert notebook.banner(summary({"binance": "live"}, {})) == ""


def test_mixed_means_one_live_and_one_simulated() -> None:
    both_sim = summary({"binance": "simulator", "upbit": "simulator"}, {})
    sim_and_replay = summary({"binance": "simulator", "upbit": "simulator replay"}, {})
    live_and_sim = summary({"binance": "live", "upbit": "simulator"}, {"upbit": "DNS"})
    assert not notebook.mixed(both_sim) and notebook.mixed_warning(both_sim) == ""
    assert not notebook.mixed(sim_and_replay)  # neither is real: nothing real is compared
    assert not notebook.mixed(summary({"binance": "live", "upbit": "live"}, {}))
    assert notebook.mixed(live_and_sim)
    warning = notebook.mixed_warning(live_and_sim)
    assert warning.startswith("WARNING: one exchange is live and the other simulated ")
    assert "(binance: live, upbit: simulator)" in warning and "NOT a real premium" in warning


def test_configured_premium_only_when_the_simulator_served_everything() -> None:
    from btclib.simulator import MarketParams

    expected = MarketParams().premium * 100
    assert notebook.configured_premium(summary({"binance": "simulator", "upbit": "simulator"}, {}))
    assert notebook.configured_premium(
        summary({"binance": "simulator", "upbit": "simulator"}, {})
    ) == pytest.approx(expected)
    assert (
        notebook.configured_premium(summary({"binance": "live", "upbit": "simulator"}, {})) is None
    )
    assert notebook.configured_premium(summary({"upbit": "simulator replay"}, {})) is None
    assert notebook.configured_premium(summary({}, {})) is None


# -- what JupyterLab shows: bounded boxes; what the PDF gets: everything ------------------------


def test_tail_view_scrolls_in_the_notebook_and_is_whole_in_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = b"".join(b'btckrw@orderbook,[{"ask_price":%d}]<&>\n' % i for i in range(12))
    path = write(tmp_path / "stream-data-upbit.txt", lines)
    sim = summary({"upbit": "simulator"}, {"upbit": "sim chosen"})
    view = notebook.tail_view(path, 3, summary=sim)
    notebook.print_tail(path, 3, summary=sim)
    assert repr(view) == capsys.readouterr().out  # the PDF gets what print gives
    data, metadata = view._repr_mimebundle_()
    assert data["text/plain"] == repr(view)
    assert metadata == {"btclib": {"dense": True}}  # the report template sets it dense
    html = data["text/html"]
    assert "max-height" in html and "overflow: auto" in html
    assert html.index("SIMULATED DATA") < html.index("$ tail -n 3") < html.index("max-height")
    assert html.count("[{&quot;ask_price&quot;:") == 3 and "&lt;&amp;&gt;" in html  # escaped
    assert "&quot;ask_price&quot;:11}]" in html and "&quot;ask_price&quot;:8}]" not in html
    assert "SIMULATED" not in repr(
        notebook.tail_view(path, 1, summary=summary({"upbit": "live"}, {}))
    )
    assert "[38 chars]" in html and "PDF" not in html  # each line's length; short: no note


def test_tail_view_shows_a_long_lines_head_and_length_the_pdf_prints_it_whole(
    tmp_path: Path,
) -> None:
    line = b"btckrw@orderbook," + b"x" * 2600 + b"\n"
    path = write(tmp_path / "stream-data-upbit.txt", line * 2)
    data, _ = notebook.tail_view(path, 2)._repr_mimebundle_()
    assert data["text/plain"].count("x" * 2600) == 2  # the PDF: whole
    assert "x" * 2600 not in data["text/html"] and "[2,617 chars]" in data["text/html"]
    assert "... (+2,377)" in data["text/html"] and "prints every line whole" in data["text/html"]


def test_text_view_keeps_a_wrapped_lines_indent_and_breaks_paths_after_slashes() -> None:
    shown = notebook.text_view("Recorded 3 lines\n  source binance: simulator (a/b/c.txt)")
    html = shown._repr_html_()
    assert 'padding-left: 4ch; text-indent: -2ch;">source binance' in html
    assert "a/<wbr>b/<wbr>c.<wbr>txt" in html
    assert repr(shown) == "Recorded 3 lines\n  source binance: simulator (a/b/c.txt)"


def test_listing_scrolls_in_the_notebook_and_asks_for_a_smaller_size_in_the_pdf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("pygments")
    shown = notebook.listing(binance.stream_url)
    monkeypatch.delenv("BTCLIB_EXPORT", raising=False)
    data, metadata = shown._repr_mimebundle_()
    assert "text/latex" not in data  # JupyterLab: no LaTeX computed (a second interrupt hit it)
    monkeypatch.setenv("BTCLIB_EXPORT", "1")  # what the report sets for the kernels it exports
    data, metadata = shown._repr_mimebundle_()
    assert metadata == {"btclib": {"listing": True}}
    assert data["text/plain"] == str(shown)
    assert data["text/latex"] == shown._repr_latex_()
    assert (
        data["text/html"].startswith('<div style="max-height:')
        and "overflow: auto" in data["text/html"]
    )


def test_notice_names_the_simulator_once() -> None:
    plain = notebook.notice(summary({"upbit": "simulator"}, {"upbit": "sim chosen"}))
    assert "local exchange simulator, not from the live Upbit exchange" in plain
    assert "(simulator)" not in plain
    replay = notebook.notice(summary({"upbit": "simulator replay"}, {}))
    assert "local exchange simulator (simulator replay), not from the live" in replay


def test_notebook_bar_reads_seconds_then_lines_with_one_comma() -> None:
    import io
    from functools import partial

    from tqdm.std import tqdm

    from btclib.recorder import Progress
    from btclib.steps.progress import NotebookProgress

    out = io.StringIO()
    bar = NotebookProgress("upbit (simulator)")
    bar._tqdm = partial(tqdm, file=out)  # the plain-text tqdm, into a string
    bar(Progress(8.0, 8.0, 108, 13.5, {"btckrw@orderbook": 108}, 0))
    shown = out.getvalue().rsplit("\r", 1)[-1]
    assert shown.startswith("upbit (simulator): ") and "8/8 s, 108 lines, 13.5/s" in shown
    assert " ," not in shown


def test_notebook_bar_final_line_is_short(capsys: pytest.CaptureFixture[str]) -> None:
    import io
    from functools import partial

    from tqdm.std import tqdm

    from btclib.recorder import Progress
    from btclib.steps.progress import NotebookProgress

    bar = NotebookProgress("both (simulator/simulator)")
    bar._tqdm = partial(tqdm, file=io.StringIO())
    streams = {f"{s}@orderbook": 30 for s in ("btcusdt", "btckrw", "usdtkrw", "ethusdt")}
    bar(Progress(3.0, 3.0, 120, 40.0, streams, 0, done=True))
    final = capsys.readouterr().out
    assert final == "Final: 120 lines | 40.0 lines/s\n"  # fits a notebook line, no stream list


def test_text_view_wraps_between_words_in_the_notebook_and_keeps_the_text() -> None:
    text = "Recorded 30 lines into <out>; stopped: duration reached.\n  source upbit: simulator"
    view = notebook.text_view(text)
    assert repr(view) == text  # the PDF (text/plain) gets the text as given
    html = view._repr_html_()
    assert "word-break: normal" in html and "white-space: pre-wrap" in html
    assert "&lt;out&gt;" in html and "stopped: duration reached." in html


def test_check_run_passes_when_the_file_agrees_and_raises_when_it_does_not(tmp_path: Path) -> None:
    from btclib import RunSummary
    from btclib.notebook import SelfCheckError, check_run

    out = tmp_path / "stream-data-binance.txt"
    out.write_bytes(b"old line\n" + b"btcusdt@trade, p:1,q:2\n" * 2 + b"btcusdt@orderbook,bids:[]\n")
    lines = {"btcusdt@trade": 2, "btcusdt@orderbook": 1}
    run = RunSummary(path=out, events_path=None, lines=lines, sources={"binance": "simulator"},
                     seed=7, first_line=2, stopped="duration reached")  # fmt: skip
    check = check_run(run, step="binance", settings={"codes": ("KRW-BTC",)})
    assert "Self-check passed: the last 3 lines" in repr(check)
    facts = check._repr_mimebundle_()["application/vnd.btclib.run+json"]
    assert facts["first_line"] == 2 and facts["last_line"] == 4 and facts["seed"] == 7
    assert facts["settings"] == {"codes": ["KRW-BTC"]}  # JSON-ready

    run.lines = {"btcusdt@trade": 3, "btcusdt@orderbook": 0}  # what Step E's False looked like
    with pytest.raises(SelfCheckError, match="per stream the summary says"):
        check_run(run)
    with out.open("ab") as f:
        f.write(b"torn")
    with pytest.raises(SelfCheckError, match="does not end with a whole line"):
        check_run(run)
