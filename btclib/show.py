"""What the step notebooks show: the end of a data file, source code, the simulator notice.

Small helpers so that the notebooks only call and display:

* :func:`tail` is ``tail -n 10`` done in Python (no shell call), every line whole;
* :func:`source` shows the source of the functions that did the work, syntax-highlighted in
  JupyterLab (HTML) and in the PDF (LaTeX, with the same Pygments macros nbconvert uses for code
  cells, so the report template wraps long lines), with a plain-text fallback;
* :func:`notice` and :func:`why` say when, and why, btclib's simulator stood in for an exchange.
"""

from __future__ import annotations

import html
import inspect
import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["Source", "notice", "source", "tail", "why"]

_BLOCK = 64 * 1024
_ROOT = Path(__file__).resolve().parent.parent


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


def _where(obj: Any) -> str:
    """``btclib/binance.py, line 95``: the file relative to the repository when possible."""
    try:
        file = Path(inspect.getsourcefile(obj) or "?").resolve()
        _, line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return "?"
    try:
        shown = file.relative_to(_ROOT).as_posix()
    except ValueError:
        shown = file.name
    return f"{shown}, line {line}"


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
    return f"{module}.{qualname}" if module else str(qualname)


class Source:
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
        # Inline styles: nothing global is added to the page.
        formatter = HtmlFormatter(noclasses=True, nobackground=True)
        return highlight(self.text, self._lexer(), formatter)

    def _repr_latex_(self) -> str | None:
        try:
            from pygments import highlight
            from pygments.formatters import LatexFormatter
        except ImportError:
            return None
        return highlight(self.text, self._lexer(), LatexFormatter(commandprefix="PY"))


def source(*objects: Any) -> Source:
    """The source of functions, classes or methods, each under a comment saying where it is.

    ``display(source(binance.Parser, LineSink.write))`` in a notebook; ``print`` gives the
    plain text. Methods are dedented so each piece reads as top-level code.
    """
    if not objects:
        raise ValueError("source: nothing to show")
    parts = []
    for obj in objects:
        text = textwrap.dedent(inspect.getsource(obj)).rstrip("\n")
        parts.append(f"# {_name(obj)}  ({_where(obj)})\n{text}\n")
    return Source("\n\n".join(parts))


def _sources(summary: Any) -> tuple[Mapping[str, str], Mapping[str, str]]:
    return getattr(summary, "sources", {}) or {}, getattr(summary, "reasons", {}) or {}


def why(summary: Any) -> str | None:
    """Why the simulator stood in, per exchange (``binance: DNS lookup ... failed``), or None.

    ``summary`` is a :class:`~btclib.recorder.RunSummary` (or anything with ``sources`` and,
    optionally, ``reasons``, such as an analysis ``Recording``). None when every exchange was live.
    """
    sources, reasons = _sources(summary)
    simulated = [x for x, s in sources.items() if s != "live"]
    if not simulated:
        return None
    texts = [reasons.get(x) or f"source was '{sources[x]}'" for x in simulated]
    if len(set(texts)) == 1 and len(simulated) > 1:
        return f"{' and '.join(simulated)}: {texts[0]}"
    return "; ".join(f"{x}: {t}" for x, t in zip(simulated, texts, strict=True))


def notice(summary: Any) -> str:
    """A plain-text notice for each exchange the simulator stood in for; ``""`` when all live.

    Printed above data the reader could otherwise take for the real market (the tail of the
    data file, for one): the lines look exactly like live ones.
    """
    sources, reasons = _sources(summary)
    path = getattr(summary, "path", None)
    where = f" in {path}" if path is not None else ""
    out = []
    for exchange, src in sources.items():
        if src == "live":
            continue
        reason = reasons.get(exchange) or f"source was '{src}'"
        out.append(
            f"SIMULATED DATA: the {exchange} lines{where} come from btclib's local exchange "
            f"simulator ({src}), not from the live {exchange.capitalize()} exchange. "
            f"Why: {reason}"
        )
    return "\n".join(out)
