"""The step notebooks' way into btclib: what they read, show and print, by public names.

A notebook imports :mod:`btclib` (``btclib.record``), :mod:`btclib.analysis`,
:mod:`btclib.plots` and this module, nothing else from btclib, so that renaming an internal
never breaks the report (``tests/test_notebook_surface.py`` checks it). Here are:

* :func:`parameters`: the run's settings from the environment (``BTCLIB_DURATION``,
  ``BTCLIB_SOURCE``, ...), with the defaults every notebook shares, read in one place;
* :func:`tail`: ``tail -n 10`` done in Python (no shell call), every line whole;
  :func:`print_tail` prints it under the simulated-data notice, and :func:`tail_view` shows it:
  in JupyterLab in a box of bounded height that scrolls, in the PDF whole and dense;
* :func:`listing`: the source of the functions that did the work, syntax-highlighted in
  JupyterLab (HTML) and in the PDF (LaTeX, with the Pygments macros nbconvert uses for code
  cells, so the report template wraps long lines), with a plain-text fallback;
* :func:`notice`, :func:`why`, :func:`banner`, :func:`mixed` and :func:`mixed_warning`: when,
  and why, btclib's simulator stood in for an exchange, from a run's summary (or a recording);
* :func:`configured_premium`: the premium the simulator's market is set to, for Step D;
* Step E, the C++ twin: :func:`build_cpp` (``make cpp``; a failed build says why in plain
  words), :func:`record_cpp` (btcrec records a step, live or from the simulator, announced as
  ``btclib.record`` announces it; a :class:`CppRun` works with :func:`notice` and
  :func:`tail_view`) and :func:`cpp_listing` (C++ source, highlighted as :func:`listing` does);
* the objects the notebooks show the source of, under the public names their narrative uses:
  :class:`FeedRunner` (its ``pump`` is the hot loop), :class:`LineSink`, the exchange modules
  :mod:`binance` and :mod:`upbit`, :func:`build_feeds` and :func:`record_feeds`.
"""

from __future__ import annotations

import html
import inspect
import os
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import SelfCheckError
from .exchanges import binance, upbit
from .files.sink import LineSink
from .recorder import FeedRunner, record_feeds
from .simulator import MarketParams
from .steps.sources import banner as _exchange_banner
from .steps.steps import build_feeds
from .tools import btcrec as _btcrec
from .tools import faultlab as _faultlab
from .tools.btcrec import Build, BuildError, CppRun
from .tools.faultlab import FAULTS, LabRun, Plan
from .tools.soak import check as soak_check

__all__ = [
    "FAULTS",
    "Build",
    "BuildError",
    "CppListing",
    "CppRun",
    "FeedRunner",
    "LabRun",
    "LineSink",
    "Listing",
    "Parameters",
    "Plan",
    "RunCheck",
    "SelfCheckError",
    "Sourced",
    "Tail",
    "TextView",
    "banner",
    "binance",
    "build_cpp",
    "build_feeds",
    "check_run",
    "configured_premium",
    "cpp_binary",
    "cpp_listing",
    "explain_events",
    "fault_controls",
    "fault_lab",
    "fault_rules",
    "listing",
    "mixed",
    "mixed_warning",
    "notice",
    "parameters",
    "print_tail",
    "record_cpp",
    "record_feeds",
    "refused_451",
    "soak_check",
    "tail",
    "tail_view",
    "text_view",
    "upbit",
    "why",
]

_BLOCK = 64 * 1024
# Long outputs scroll in a box of this height in JupyterLab (HTML) instead of filling screens;
# the PDF (text/plain or LaTeX) still prints them whole.
_BOX = "max-height: 26em; overflow: auto; border: 1px solid #d0d0d0; padding: 2px 6px;"
# In JupyterLab a tail line shows its head (an Upbit line is ~2,600 characters, longer than the
# whole box): this many characters, with the line's length; the PDF prints every line whole.
_HEAD = 240
# Set by the report (btclib.report.build) for the kernels whose outputs it exports: only then
# do listings compute their LaTeX form (in JupyterLab that took long enough for a second
# interrupt to land in the listing's cell).
_EXPORT = "BTCLIB_EXPORT"

# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameters:
    """What a step notebook records, and where; see :func:`parameters`."""

    duration: float
    """Seconds to record (``BTCLIB_DURATION``)."""
    source: str
    """``auto`` (live, else the simulator, said loudly), ``live`` or ``sim`` (``BTCLIB_SOURCE``)."""
    symbol: str
    """Binance's stream symbol, lower case, base then quote (``BTCLIB_SYMBOL``)."""
    codes: tuple[str, ...]
    """Upbit market codes, QUOTE-BASE (``BTCLIB_CODES``, comma-separated)."""
    outputs: str
    """The folder of the data files and captures (``BTCLIB_OUTPUTS``): the tests pass a scratch
    folder, so they never add to the user's recordings."""
    capture: str | None
    """An existing capture to analyse instead of recording (``BTCLIB_CAPTURE``, Step D)."""


def parameters(*, duration: float = 30.0, environ: Mapping[str, str] | None = None) -> Parameters:
    """The notebook's settings: each ``BTCLIB_*`` variable, else the shared default.

    The defaults: ``duration`` seconds (a notebook may ask for longer), source ``auto``, symbol
    ``btcusdt``, codes ``KRW-BTC``, outputs ``../outputs`` (relative to the notebook's folder,
    where Jupyter runs the kernel), no capture. ``environ`` replaces ``os.environ`` (tests).
    """
    env = os.environ if environ is None else environ
    text = env.get("BTCLIB_DURATION", "")
    try:
        seconds = float(text) if text.strip() else float(duration)
    except ValueError:
        raise ValueError(f"BTCLIB_DURATION must be a number of seconds, not {text!r}") from None
    codes = tuple(c.strip() for c in env.get("BTCLIB_CODES", "KRW-BTC").split(",") if c.strip())
    return Parameters(
        duration=seconds,
        source=env.get("BTCLIB_SOURCE") or "auto",
        symbol=env.get("BTCLIB_SYMBOL") or "btcusdt",
        codes=codes or ("KRW-BTC",),
        outputs=env.get("BTCLIB_OUTPUTS") or "../outputs",
        capture=env.get("BTCLIB_CAPTURE") or None,
    )


# -- tail ---------------------------------------------------------------------------------------


def tail(path: str | Path, n: int = 10, *, encoding: str = "utf-8") -> str:
    """The last ``n`` lines of a file, as ``tail -n`` prints them (each line whole).

    Reads backwards from the end in blocks, so a large data file costs only its last lines.
    A last line without a newline counts as a line, as in ``tail``. Bytes that are not valid
    ``encoding`` are replaced (U+FFFD) rather than failing.
    """
    if n < 0:
        raise ValueError(f"tail: n must be >= 0, not {n}")
    path = Path(path)
    if n == 0:
        path.stat()  # a missing file is an error even when nothing is asked for
        return ""
    with path.open("rb") as f:
        pos = f.seek(0, os.SEEK_END)
        data = b""
        # n whole lines are there once n newlines precede the last line's own end.
        while pos > 0 and data.count(b"\n", 0, len(data) - 1) < n:
            step = min(_BLOCK, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":  # the file ends with a newline: no empty last line
        pieces.pop()
        last = b"\n"
    else:
        last = b""
    return (b"\n".join(pieces[-n:]) + last if pieces else b"").decode(encoding, "replace")


def print_tail(path: str | Path, n: int = 10, *, summary: Sourced | None = None) -> None:
    """Print ``$ tail -n N path`` and the lines, under the simulated-data notice if any.

    The notice comes first because the lines of a simulated run look exactly like live ones.
    """
    text = notice(summary) if summary is not None else ""
    if text:
        print(text, end="\n\n")
    print(f"$ tail -n {n} {path}")
    print(tail(path, n), end="")


def _more(line: str) -> str:
    """``... (+2,410)``: how much of a long tail line the JupyterLab view leaves out."""
    if len(line) <= _HEAD:
        return ""
    return f'<span style="color: #888;"> ... (+{len(line) - _HEAD:,})</span>'


class Tail:
    """The last lines of a data file, to ``display()``: what :func:`print_tail` prints.

    In JupyterLab (HTML) the notice and the command stay in view and the lines scroll in a box
    of bounded height, one data line a band; the plain text (and so the PDF) holds everything.
    The output's metadata ``{"btclib": {"dense": true}}`` asks the report template to set the
    lines small and dense, cut so a page may break inside a line.
    """

    def __init__(self, path: str | Path, n: int, text: str, notice: str = "") -> None:
        self.path, self.n, self.text, self.notice = Path(path), n, text, notice

    def __repr__(self) -> str:
        head = f"{self.notice}\n\n" if self.notice else ""
        return f"{head}$ tail -n {self.n} {self.path}\n{self.text}"

    def _repr_html_(self) -> str:
        notice = (
            f'<div style="color: firebrick; font-weight: bold; margin-bottom: 4px; '
            f'border: 2px solid firebrick; padding: 4px 6px;">{html.escape(self.notice)}</div>'
            if self.notice
            else ""
        )
        lines = self.text.splitlines()
        long = any(len(line) > _HEAD for line in lines)
        bands = "".join(
            f'<div style="background: {"#f4f4f4" if i % 2 else "transparent"};">'
            f'<span style="color: #888;">[{len(line):,} chars]</span> '
            f"{html.escape(line[:_HEAD])}"
            + _more(line)
            + "</div>"
            for i, line in enumerate(lines)
        )
        note = (
            f'<div style="color: #666; font-size: 0.85em;">Each line shows its first {_HEAD} '
            "characters and its length; the PDF (and <code>notebook.tail</code>) prints every "
            "line whole.</div>"
            if long
            else ""
        )
        return (
            f'{notice}<pre style="margin: 0;">$ tail -n {self.n} {html.escape(str(self.path))}'
            f'</pre><div style="{_BOX} font-family: monospace; font-size: 0.85em; '
            f'white-space: pre-wrap; overflow-wrap: anywhere;">{bands}</div>{note}'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        data = {"text/plain": repr(self), "text/html": self._repr_html_()}
        return data, {"btclib": {"dense": True}}


def tail_view(path: str | Path, n: int = 10, *, summary: Sourced | None = None) -> Tail:
    """``display(tail_view(path))``: the last ``n`` lines as :class:`Tail` shows them, under
    the simulated-data notice if any (it comes first: simulated lines look like live ones)."""
    return Tail(path, n, tail(path, n), notice(summary) if summary is not None else "")


class TextView:
    """Plain text to ``display()``, wrapped between words in JupyterLab.

    JupyterLab breaks printed output anywhere (``word-break: break-all``), so a long summary
    line splits inside a word; this HTML form wraps at spaces and breaks inside a word only
    when one is longer than the line. The plain text (and so the PDF) is the text as given.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        # One block per line, its wrapped continuations indented under its own text (a wrapped
        # summary line lost its indent); words break only when longer than the line, and
        # paths and URLs break after a slash or a dot, not mid-word.
        rows = []
        for line in self.text.split("\n"):
            indent = len(line) - len(line.lstrip(" "))
            body = html.escape(line.lstrip(" ")) or "&nbsp;"
            body = re.sub(r"([/.])(?=\w)", r"\1<wbr>", body)
            rows.append(
                f'<div style="padding-left: {indent + 2}ch; text-indent: -2ch;">{body}</div>'
            )
        style = (
            "margin: 0; font-family: var(--jp-code-font-family, monospace); "
            "white-space: pre-wrap; word-break: normal; overflow-wrap: break-word;"
        )
        return f'<div style="{style}">{"".join(rows)}</div>'


def text_view(text: str) -> TextView:
    """``display(text_view(summary.text()))``: the text, wrapped between words in JupyterLab."""
    return TextView(text)


# -- listings -----------------------------------------------------------------------------------


def _where(obj: Any) -> str:
    """``btclib/exchanges/binance.py, line 95``: the file named from its top-level package."""
    try:
        file = Path(inspect.getsourcefile(obj) or "?").resolve()
        _, line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return "?"
    top = (getattr(obj, "__module__", "") or "").partition(".")[0]
    package = getattr(sys.modules.get(top), "__file__", None)
    try:
        shown = (Path(top) / file.relative_to(Path(package or "").resolve().parent)).as_posix()
    except ValueError:
        shown = file.name
    return f"{shown}, line {line}"


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    return f"{module}.{qualname}" if module else str(qualname)


class Listing:
    """Python source shown highlighted: HTML in Jupyter, LaTeX in the PDF, text elsewhere.

    The LaTeX form is a ``Verbatim`` environment of Pygments ``\\PY`` macros, the same ones
    nbconvert defines for code cells, so the report template (fvextra ``breaklines``) wraps
    long lines in it as it does in code cells.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def _lexer(self) -> Any:
        from pygments.lexers import PythonLexer

        return PythonLexer()

    def _repr_html_(self) -> str | None:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
        except ImportError:
            return f"<pre>{html.escape(self.text)}</pre>"
        # Inline styles: nothing global is added to the page. A long listing scrolls in a box.
        formatter = HtmlFormatter(noclasses=True, nobackground=True)
        return f'<div style="{_BOX}">{highlight(self.text, self._lexer(), formatter)}</div>'

    def _repr_latex_(self) -> str | None:
        try:
            from pygments import highlight
            from pygments.formatters import LatexFormatter
        except ImportError:
            return None
        return highlight(self.text, self._lexer(), LatexFormatter(commandprefix="PY"))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        """Every form, with the metadata that asks the report template for a smaller size."""
        data = {"text/plain": self.text, "text/html": self._repr_html_()}
        latex = self._repr_latex_() if os.environ.get(_EXPORT) else None
        if latex is not None:
            data["text/latex"] = latex
        return data, {"btclib": {"listing": True}}


def listing(*objects: Any) -> Listing:
    """The source of functions, classes or methods, each under a comment saying where it is.

    ``display(listing(binance.Parser, LineSink.write))`` in a notebook; ``print`` gives the
    plain text. Methods are dedented so each piece reads as top-level code. Only public names
    are shown (a report that shows an internal breaks when it is renamed): an object whose
    module or qualified name has a part starting with ``_`` is refused.
    """
    if not objects:
        raise ValueError("listing: nothing to show")
    parts = []
    for obj in objects:
        name = _name(obj)
        if any(part.startswith("_") for part in name.split(".")):
            raise ValueError(f"listing: {name} is not a public name")
        text = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
        parts.append(f"# {name}  ({_where(obj)})\n{text}\n")
    return Listing("\n\n".join(parts))


# -- where the data came from -------------------------------------------------------------------


class Sourced(Protocol):
    """A run's summary (:class:`btclib.RunSummary`) or a loaded recording
    (:class:`btclib.analysis.Recording`): per exchange, the source it was recorded from."""

    sources: dict[str, str]


def _sources(summary: Sourced) -> tuple[Mapping[str, str], Mapping[str, str]]:
    return getattr(summary, "sources", {}) or {}, getattr(summary, "reasons", {}) or {}


def _simulated(summary: Sourced) -> dict[str, str]:
    """Per exchange the simulator stood in for: the reason (or the source when none is known)."""
    sources, reasons = _sources(summary)
    return {x: reasons.get(x) or f"source was '{s}'" for x, s in sources.items() if s != "live"}


def why(summary: Sourced) -> str | None:
    """Why the simulator stood in, per exchange (``binance: DNS lookup ... failed``), or None.

    ``summary`` is a :class:`~btclib.RunSummary` (or anything with ``sources`` and,
    optionally, ``reasons``, such as an analysis ``Recording``). None when every exchange was live.
    """
    simulated = _simulated(summary)
    if not simulated:
        return None
    texts = list(simulated.values())
    if len(set(texts)) == 1 and len(simulated) > 1:
        return f"{' and '.join(simulated)}: {texts[0]}"
    return "; ".join(f"{x}: {t}" for x, t in simulated.items())


def notice(summary: Sourced) -> str:
    """One plain-text notice for the exchanges the simulator stood in for; ``""`` when all live.

    Printed above data the reader could otherwise take for the real market (the tail of the
    data file, for one): the lines look exactly like live ones. One notice names every
    simulated exchange and the reason (one per exchange when they differ), instead of one
    identical notice per exchange.
    """
    sources, _ = _sources(summary)
    simulated = _simulated(summary)
    if not simulated:
        return ""
    path = getattr(summary, "path", None)
    where = f" in {path}" if path is not None else ""
    names = list(simulated)
    kinds = {_unless_plain(sources[x]) for x in names}
    how = kinds.pop() if len(kinds) == 1 else ""
    live = " and ".join(x.capitalize() for x in names)
    plural = "exchanges" if len(names) > 1 else "exchange"
    return (
        f"SIMULATED DATA: the {' and '.join(names)} lines{where} come from btclib's local "
        f"exchange simulator{how}, not from the live {live} {plural}. Why: {why(summary)}"
        if len(names) > 1
        else f"SIMULATED DATA: the {names[0]} lines{where} come from btclib's local exchange "
        f"simulator{how}, not from the live {live} exchange. Why: {simulated[names[0]]}"
    )


def _unless_plain(source: str) -> str:
    """`` (simulator replay)`` for a source that says more than "simulator"; else nothing."""
    return "" if source == "simulator" else f" ({source})"


def banner(recording: Sourced) -> str:
    """The SIMULATED DATA banner ``btclib.record`` prints, for the simulated exchanges of a
    recording loaded from a capture (nothing was recorded, so nothing announced it): one box
    for all of them; ``""`` when every exchange was live."""
    sources, reasons = _sources(recording)
    path = getattr(recording, "path", None)
    said = f"the capture {Path(path).name} says" if path is not None else "the recording says"
    simulated = {x: reasons.get(x) or f"{said} its source was '{s}'"
                 for x, s in sources.items() if s != "live"}  # fmt: skip
    return _exchange_banner(list(simulated), simulated) if simulated else ""


def mixed(summary: Sourced) -> bool:
    """True when one exchange was live and another simulated: their prices do not compare."""
    sources = set(_sources(summary)[0].values())
    return "live" in sources and len(sources) > 1


def mixed_warning(summary: Sourced) -> str:
    """The warning printed over a comparison of a live and a simulated market; ``""`` if none."""
    if not mixed(summary):
        return ""
    sources = ", ".join(f"{k}: {v}" for k, v in _sources(summary)[0].items())
    return (
        f"WARNING: one exchange is live and the other simulated ({sources}). The premium below "
        "compares a real market with a synthetic one: it is NOT a real premium."
    )


def configured_premium(summary: Sourced) -> float | None:
    """The premium (in %) the simulator's market was set to, when it served every exchange.

    None when an exchange was live or replayed from a capture: the premium is then the
    market's, not a setting. Assumes the simulator's default market, as ``btclib.record`` runs it.
    """
    sources = _sources(summary)[0]
    if not sources or any(s != "simulator" for s in sources.values()):
        return None
    return MarketParams().premium * 100


# -- the self-check: what a run printed holds in its file ----------------------------------------


_RUN_MIME = "application/vnd.btclib.run+json"  # btclib.report.provenance.RUN_MIME


class RunCheck:
    """What :func:`check_run` found: readable text, and the run's facts for the colophon.

    Its output carries the facts as JSON (``application/vnd.btclib.run+json``), which the
    report reads back from the executed notebook to write the colophon and the manifest.
    """

    def __init__(self, text: str, facts: dict[str, Any]) -> None:
        self.text, self.facts = text, facts

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.text, _RUN_MIME: self.facts}


def _receive_times(recording: Any) -> tuple[int | None, int | None]:
    """First and last receive time (epoch ns) of a loaded capture, or (None, None)."""
    start = getattr(recording, "start_wall_ns", None)
    if start is None:
        return None, None
    last = 0.0
    for frame in (getattr(recording, "levels", None), getattr(recording, "prints", None)):
        if frame is not None and len(frame) and "t" in frame:
            last = max(last, float(frame["t"].max()))
    return int(start), int(start + last * 1e9)


def _jsonable(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (settings or {}).items()}


def check_run(
    run: Any,
    *,
    recording: Any = None,
    what: str = "",
    step: str | None = None,
    settings: Mapping[str, Any] | None = None,
) -> RunCheck:
    """Check that a run's summary holds in its data file; raise :class:`SelfCheckError` if not.

    ``run`` is a :class:`btclib.RunSummary` or a :class:`CppRun`. The run's lines are the last
    ``run.total`` lines of ``run.path`` (the file is appended to): each must be whole and of one
    of the run's streams, and their count per stream must equal the summary's. ``recording``
    (the run's loaded capture) gives the first and last receive time. ``step`` and ``settings``
    (what was passed to ``btclib.record``: symbol, codes, depth_speed) let ``python -m btclib
    report --verify --rerun`` re-record a simulated run from its seed. The result prints what
    was checked; its output also states the run's facts for the report's colophon.
    """
    path = Path(run.path)
    data = path.read_bytes() if path.is_file() else b""
    total = int(run.total)
    file_lines = data.count(b"\n")
    mine = tail(path, total).splitlines() if total and data else []
    counted = Counter(line.split(",", 1)[0] for line in mine)
    expected = {stream: n for stream, n in run.lines.items() if n}
    problems = []
    if not data.endswith(b"\n") and data:
        problems.append(f"{path} does not end with a whole line")
    if total > file_lines:
        problems.append(f"the summary counts {total} lines, the file holds only {file_lines}")
    elif dict(counted) != expected:
        problems.append(f"per stream the summary says {expected}, the file's last {total} "
                        f"lines say {dict(counted)}")  # fmt: skip
    first_line = getattr(run, "first_line", None) or (file_lines - total + 1 if total else None)
    first, last = _receive_times(recording)
    facts = {
        "what": what or f"a recording into {path.name}",
        "path": str(path.resolve()),
        "lines": total,
        "per_stream": expected,
        "first_line": first_line,
        "last_line": (first_line + total - 1) if first_line and total else None,
        "sources": dict(run.sources),
        "seed": run.seed,
        "step": step,
        "settings": _jsonable(settings),
        "stopped": run.stopped,
        "elapsed": round(float(run.elapsed), 3),
        "first_receive_ns": first,
        "last_receive_ns": last,
    }
    if problems:
        raise SelfCheckError("self-check failed: " + "; ".join(problems))
    streams = ", ".join(f"{stream} {n}" for stream, n in expected.items()) or "no lines"
    text = (
        f"Self-check passed: the last {total} lines of {path.name} are this run's, every one "
        f"whole and of a stream the run recorded, and per stream they agree with the summary "
        f"({streams})."
    )
    return RunCheck(text, facts)


# -- Step F: the fault lab ---------------------------------------------------------------------

fault_lab = _faultlab.run
"""``lab = await fault_lab(Plan(faults=..., duration=20, seed=2026), out)``: Step C recorded
from the simulator while it plants the plan's faults, then checked by :data:`soak_check`; see
:func:`btclib.tools.faultlab.run`. Returns a :class:`LabRun`."""

explain_events = _faultlab.explain
"""The events log in words, one line per event, seconds from the start of the run."""

refused_451 = _faultlab.refused_451
"""``await refused_451(out)``: a short Step A refused with HTTP 451; the error it stops with."""

fault_controls = _faultlab.controls
"""``display(c := fault_controls(plan))``: check boxes and a slider in JupyterLab; ``c.plan``."""

fault_rules = _faultlab.rules
"""The simulator's fault rules for a plan (what the lab plants, and when)."""

# soak_check (btclib.tools.soak.check): the soak checker's comparison of the file with what the
# simulator sent; a LabRun's verdict is its result.


# -- Step E: the C++ twin -----------------------------------------------------------------------

build_cpp = _btcrec.build
"""``make cpp``: build ``cpp/build/btcrec`` (a no-op when nothing changed); see
:func:`btclib.tools.btcrec.build`. A failed build raises :class:`BuildError`, which says why."""

record_cpp = _btcrec.record
"""``await record_cpp("both", duration=30, source="auto")``: btcrec records a step, live or
from btclib's simulator (announced as ``btclib.record`` announces it); see
:func:`btclib.tools.btcrec.record`. Returns a :class:`CppRun`."""


def cpp_binary() -> Path:
    """Where ``make cpp`` puts btcrec (it may not be built yet: see :func:`build_cpp`)."""
    return _btcrec.BINARY


class CppListing(Listing):
    """C++ source shown highlighted, as :class:`Listing` shows Python (HTML, LaTeX, text)."""

    def _lexer(self) -> Any:
        from pygments.lexers import CppLexer

        return CppLexer()


def _definition(text: str, name: str) -> tuple[int, str] | None:
    """The definition of function ``name`` in C++ source ``text``: its first line number and
    its lines, with the comment (or ``template``) lines right above it, down to the closing
    brace at column 0 (how btcrec's sources are laid out), or the one line that holds it all."""
    lines = text.splitlines()
    head = re.compile(rf"^(?![\s#/]).*(?<![\w:~]){re.escape(name)}\(")
    for i, line in enumerate(lines):
        if not head.match(line) or line.rstrip().endswith(";"):
            continue
        if "{" in line and line.rstrip().endswith("}"):
            end = i
        else:
            end = next((k for k in range(i + 1, len(lines)) if lines[k] == "}"), None)
            if end is None:
                continue
        start = i
        while start > 0 and lines[start - 1].startswith(("//", "template")):
            start -= 1
        return start + 1, "\n".join(lines[start : end + 1])
    return None


def cpp_listing(*pieces: str, folder: str | Path | None = None) -> CppListing:
    """btcrec's C++ source, highlighted like :func:`listing`: whole files or single functions.

    Each piece is a file of ``cpp/src`` (``"sink.cpp"``) or one function in it
    (``"binance.cpp:Parser::parse"``: the definition with the comment right above it); each
    comes under a comment saying where it is. ``folder`` replaces ``cpp/src`` (tests).
    """
    if not pieces:
        raise ValueError("cpp_listing: nothing to show")
    src = Path(folder) if folder is not None else _btcrec.ROOT / "cpp" / "src"
    shown = "cpp/src" if folder is None else src.as_posix()
    parts = []
    for piece in pieces:
        file, _, name = piece.partition(":")
        text = (src / file).read_text(encoding="utf-8")
        if not name:
            count = len(text.splitlines())
            parts.append(f"// {shown}/{file} ({count} lines)\n{text.rstrip()}\n")
            continue
        found = _definition(text, name)
        if found is None:
            raise ValueError(f"cpp_listing: no definition of {name} in {shown}/{file}")
        line, body = found
        parts.append(f"// {name}  ({shown}/{file}, line {line})\n{body}\n")
    return CppListing("\n\n".join(parts))
