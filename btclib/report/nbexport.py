"""Export the report notebooks to PDF so that every output line is readable whole.

Two pieces, used by ``make report`` (through ``notebooks/nbconvert_config.py``) and by the tests:

* the text helpers (:func:`clean_text`, :func:`strip_control_chars`, :func:`html_to_text`,
  :func:`widget_text`) that make outputs printable: keep only the final state of ``\\r``
  progress lines, remove raw control characters (which abort xelatex) and ANSI escape sequences
  (coloured text could not wrap), give HTML-only and widget outputs a readable text. They need
  only the standard library; :class:`btclib.report.nbsanitize.SanitizeOutputsPreprocessor` applies
  them inside nbconvert;
* :func:`export_notebook` / ``python -m btclib.report.nbexport --config FILE``, a small entry that
  executes and exports notebooks with the caller's nbconvert configuration, to PDF through LaTeX
  (the default) or to HTML printed to PDF by a system Chromium (for machines without TeX).

nbconvert, nbformat and traitlets are imported only when a notebook is exported, so the text
helpers work without them. Nothing here looks for files outside the package: callers pass the
configuration file (the repository's is ``notebooks/nbconvert_config.py``).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = [
    "CONTINUATION",
    "chromium_binary",
    "clean_source",
    "clean_text",
    "continuation_marks",
    "export_notebook",
    "html_to_text",
    "load_config",
    "main",
    "sanitize_outputs",
    "saved_widget_state",
    "strip_control_chars",
    "visual_lines",
    "widget_text",
]

# An ANSI CSI sequence: ESC [ parameters intermediates final-byte.
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Other two-character ESC sequences (ESC followed by one byte in @-Z, \, ], ^, _).
_ESC_OTHER = re.compile(r"\x1b[@-Z\\\]^_]")
# Control characters that xelatex refuses ("Text line contains an invalid character"), plus ESC
# left over after the sequences above were handled, and DEL. Tab and newline are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_NO_ESC = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]")

# text/plain reprs that carry no information in a PDF.
_USELESS_PLAIN = re.compile(
    r"^<IPython\.core\.display\.\w+ object>$|^<IPython\.display\.\w+ object>$"
)

_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


# -- long lines across page breaks (the LaTeX template's filters) --------------------------------

CONTINUATION = "\ue000"
"""Marks a visual line that continues the line above (a private-use character, which no
output contains): :func:`continuation_marks` turns it into the template's margin mark."""


def _width(char: str) -> int:
    if char == "\t":
        return 8
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def visual_lines(text: str, width: int) -> str:
    """``text`` with every line longer than ``width`` columns cut into lines of ``width``,
    each continuation starting with :data:`CONTINUATION`.

    Why: fvextra wraps a long line inside one unbreakable box, so a 2,650-character Upbit
    line moves whole to the next page and leaves the page before it half empty. Lines cut
    here before LaTeX sees them are ordinary lines that a page break may fall between. Wide
    (East Asian) characters count two columns; ANSI escape sequences count none and are never
    cut. Joining each marked line to the one above gives the text back exactly.
    """
    if width < 1:
        raise ValueError(f"visual_lines: width must be >= 1, not {width}")
    out = []
    for line in text.split("\n"):
        pieces, piece, used, i = [], [], 0, 0
        while i < len(line):
            escape = _CSI.match(line, i)
            if escape:  # zero width, kept whole
                piece.append(escape.group())
                i = escape.end()
                continue
            w = _width(line[i])
            if used + w > width and used > 0:
                pieces.append("".join(piece))
                piece, used = [], 0
            piece.append(line[i])
            used += w
            i += 1
        pieces.append("".join(piece))
        out.append(("\n" + CONTINUATION).join(pieces))
    return "\n".join(out)


def continuation_marks(latex: str, macro: str = "\\btclibContinued{}") -> str:
    """The escaped text of :func:`visual_lines` with each mark replaced by ``macro``."""
    return latex.replace(CONTINUATION, macro)


def _keep_sgr(match: re.Match[str]) -> str:
    """Keep colour (SGR, ``...m``) sequences; drop cursor moves, clear-line, etc."""
    seq = match.group(0)
    return seq if seq.endswith("m") else ""


def strip_control_chars(text: str, *, keep_ansi_colors: bool = True) -> str:
    """Remove the control characters that break a LaTeX build, keeping tab and newline.

    With ``keep_ansi_colors`` the ANSI colour sequences (``ESC[31m``) stay, since nbconvert's
    ``ansi2latex`` filter turns them into colours; every other escape sequence is removed.
    A carriage return is not handled here: see :func:`clean_text`.
    """
    if "\x1b" in text:
        text = _CSI.sub(_keep_sgr if keep_ansi_colors else "", text)
        text = _ESC_OTHER.sub("", text)
        if keep_ansi_colors:
            # A lone ESC (not starting a kept colour sequence) is removed; the kept sequences'
            # ESC bytes survive because the pattern below excludes \x1b.
            text = re.sub(r"\x1b(?!\[[0-9;]*m)", "", text)
            return _CONTROL_NO_ESC.sub("", text)
    return _CONTROL.sub("", text)


def _last_carriage_segment(line: str) -> str:
    """What a terminal shows for one line: the text after its last carriage return.

    Progress bars redraw a line as ``"\\r 10%...\\r 20%...\\r100%..."``; only the final state
    is kept. A trailing ``\\r`` (the redraw that follows has not arrived) does not blank the line.
    """
    stripped = line.rstrip("\r")
    if "\r" not in stripped:
        return stripped
    return stripped.rsplit("\r", 1)[1]


def clean_text(text: str, *, keep_ansi_colors: bool = True) -> str:
    """Make output text printable: resolve ``\\r`` redraws, then strip control characters.

    ``\\r\\n`` is a plain line end. On every other line only the text after the last ``\\r``
    is kept. Then raw control characters (``\\x00-\\x08``, ``\\x0b``, ``\\x0c``,
    ``\\x0e-\\x1f``, ``\\x7f``) are removed, except ANSI colour sequences when asked to keep them.
    """
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(_last_carriage_segment(line) for line in text.split("\n"))
    return strip_control_chars(text, keep_ansi_colors=keep_ansi_colors)


class _TextExtractor(HTMLParser):
    """Collect the visible text of an HTML fragment, with line breaks at block elements."""

    _BLOCKS = frozenset(
        {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "hr"}
    )
    _SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, for a PDF that cannot show HTML."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = [line.rstrip() for line in text.split("\n")]
    # Collapse runs of blank lines that block elements produce.
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    return "\n".join(out).strip("\n")


def _joined(value: Any) -> str:
    """nbformat allows multiline strings as lists of lines."""
    if isinstance(value, list):
        return "".join(value)
    return "" if value is None else str(value)


_WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
_PROGRESS_MODELS = frozenset({"FloatProgressModel", "IntProgressModel"})
_TEXT_MODELS = frozenset({"HTMLModel", "HTMLMathModel", "LabelModel", "TextModel", "TextareaModel"})
_BOX_MODELS = frozenset({"HBoxModel", "VBoxModel", "BoxModel", "GridBoxModel"})


def widget_text(model_id: str, state: dict[str, Any], *, _depth: int = 0) -> str | None:
    """The final state of an ipywidgets model as one line of text, or None if unknown.

    ``state`` is the notebook's saved widget state (``metadata.widgets[...]["state"]``, which
    nbclient stores after execution). A tqdm notebook bar (an HBox of HTML, FloatProgress, HTML)
    becomes the same text tqdm prints in a terminal, e.g.
    ``recording: 100%|██████████| 5/5 [00:02<00:00, 2.00msg/s]``, instead of the ``0%`` text
    captured when the bar was first displayed.
    """
    entry = state.get(model_id)
    if not isinstance(entry, dict) or _depth > 20:
        return None
    name = str(entry.get("model_name", ""))
    props = entry.get("state", {}) or {}
    description = str(props.get("description", "") or "")
    prefix = f"{description} " if description else ""
    if name in _BOX_MODELS:
        parts = []
        for child in props.get("children", []) or []:
            child_id = str(child).removeprefix("IPY_MODEL_")
            text = widget_text(child_id, state, _depth=_depth + 1)
            if text:
                parts.append(text)
        joiner = "\n" if name == "VBoxModel" else ""
        return joiner.join(parts) if parts else None
    if name in _PROGRESS_MODELS:
        try:
            value, low, high = (
                float(props.get(k, d)) for k, d in (("value", 0), ("min", 0), ("max", 100))
            )
        except (TypeError, ValueError):
            return None
        frac = 0.0 if high <= low else min(1.0, max(0.0, (value - low) / (high - low)))
        filled = round(frac * 10)
        return f"{prefix}|{'█' * filled}{' ' * (10 - filled)}|"
    if name in _TEXT_MODELS:
        value = str(props.get("value", "") or "")
        if name.startswith("HTML"):
            value = html_to_text(value)
        return prefix + value.replace("\u2007", " ")
    if "value" in props:
        return f"[{name.removesuffix('Model')}] {prefix}{props['value']}"
    return None


def saved_widget_state(nb: Any) -> dict[str, Any]:
    """The widget models a notebook saved after execution (``metadata.widgets``), by id."""
    widgets = nb.get("metadata", {}).get("widgets", {}) or {}
    return (widgets.get(_WIDGET_STATE_MIME, {}) or {}).get("state", {}) or {}


def clean_source(source: Any) -> str:
    """A cell's source without control characters (colour codes included): LaTeX sets it."""
    return strip_control_chars(_joined(source), keep_ansi_colors=False)


def sanitize_outputs(
    outputs: list[Any],
    *,
    widget_state: dict[str, Any] | None = None,
    keep_ansi_colors: bool = False,
    static_widgets: bool = True,
    drop_svg_when_png: bool = True,
) -> list[Any]:
    """A code cell's outputs made printable (the outputs are nbformat dicts, changed in place).

    Consecutive stream outputs are merged (a progress bar redraws across many messages), then
    their ``\\r`` redraws resolved and control characters removed; rich outputs get a useful
    ``text/plain`` (see :func:`widget_text`); errors lose their control characters. The options
    are :class:`btclib.report.nbsanitize.SanitizeOutputsPreprocessor`'s, with its defaults.
    """
    merged: list[Any] = []
    for out in outputs:
        kind = out.get("output_type")
        if (
            kind == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == out.get("name")
        ):
            # Merge before resolving \r: a progress bar redraws across many messages.
            merged[-1]["text"] = _joined(merged[-1]["text"]) + _joined(out.get("text"))
            continue
        merged.append(out)

    result: list[Any] = []
    for out in merged:
        kind = out.get("output_type")
        if kind == "stream":
            out["text"] = clean_text(_joined(out.get("text")), keep_ansi_colors=keep_ansi_colors)
            if not out["text"]:
                continue
        elif kind in ("execute_result", "display_data"):
            _sanitize_data(
                out,
                widget_state or {},
                keep_ansi_colors=keep_ansi_colors,
                static_widgets=static_widgets,
                drop_svg_when_png=drop_svg_when_png,
            )
        elif kind == "error":
            out["ename"] = strip_control_chars(_joined(out.get("ename")), keep_ansi_colors=False)
            out["evalue"] = clean_text(_joined(out.get("evalue")), keep_ansi_colors=False)
            out["traceback"] = [
                clean_text(_joined(line), keep_ansi_colors=keep_ansi_colors)
                for line in out.get("traceback", [])
            ]
        result.append(out)
    return result


def _sanitize_data(
    out: Any,
    widget_state: dict[str, Any],
    *,
    keep_ansi_colors: bool,
    static_widgets: bool,
    drop_svg_when_png: bool,
) -> None:
    data = out.get("data", {})
    plain = _joined(data.get("text/plain")) if "text/plain" in data else None
    useful_plain = plain is not None and not _USELESS_PLAIN.match(plain.strip())

    if not useful_plain and "text/html" in data:
        text = html_to_text(_joined(data["text/html"]))
        data["text/plain"] = text or "[HTML output without text: see the notebook]"
    elif not useful_plain and "text/markdown" in data:
        data["text/plain"] = _joined(data["text/markdown"])
    if _WIDGET_MIME in data:
        # The text/plain captured at display time is the widget's first state (a progress
        # bar at 0%): show its final state instead, from the saved widget state.
        model_id = str((data[_WIDGET_MIME] or {}).get("model_id", ""))
        final = widget_text(model_id, widget_state)
        if final:
            data["text/plain"] = final
        elif plain is None:
            data["text/plain"] = "[interactive widget: not shown in the PDF]"
        if static_widgets:
            # HTML would otherwise pick the widget view, which renders nothing without a
            # widget manager (the HTML template loads no script).
            del data[_WIDGET_MIME]

    if "image/svg+xml" in data:
        has_bitmap = "image/png" in data or "image/jpeg" in data or "application/pdf" in data
        if (has_bitmap and drop_svg_when_png) or (
            not has_bitmap and shutil.which("inkscape") is None
        ):
            del data["image/svg+xml"]
            if not has_bitmap and "text/plain" not in data:
                data["text/plain"] = "[SVG figure: install inkscape to include it in the PDF]"
            metadata = out.get("metadata", {})
            metadata.pop("image/svg+xml", None)

    if "text/plain" in data:
        data["text/plain"] = clean_text(
            _joined(data["text/plain"]), keep_ansi_colors=keep_ansi_colors
        )


# ---------------------------------------------------------------------------------------------
# Export entry
# ---------------------------------------------------------------------------------------------


def load_config(config_file: Path | str) -> Any:
    """The traitlets Config of an nbconvert configuration file (the repository's:
    ``notebooks/nbconvert_config.py``)."""
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(config_file).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no nbconvert configuration at {path}")
    loader = PyFileConfigLoader(path.name, path=str(path.parent))
    return loader.load_config()


_BROWSER_COMMANDS = (
    "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge",
)
_BROWSER_FILES = (
    # macOS application bundles
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
)
_WINDOWS_BROWSERS = (  # under %ProgramFiles%, %ProgramFiles(x86)% or %LocalAppData%
    "Google/Chrome/Application/chrome.exe",
    "Chromium/Application/chrome.exe",
    "Microsoft/Edge/Application/msedge.exe",  # on every Windows 10 and 11
)


def chromium_binary() -> str | None:
    """A Chromium-family browser that prints to PDF headless, or None: ``BTCLIB_CHROME`` if
    set, else a command on the PATH (Debian names it ``chromium``), else where Chrome,
    Chromium or Edge install themselves on macOS and Windows (not on the PATH there)."""
    explicit = os.environ.get("BTCLIB_CHROME")
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    for name in _BROWSER_COMMANDS:
        found = shutil.which(name)
        if found:
            return found
    candidates = [Path(p) for p in _BROWSER_FILES]
    for variable in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA"):
        base = os.environ.get(variable)
        if base:
            candidates += [Path(base, rel) for rel in _WINDOWS_BROWSERS]
    return next((str(c) for c in candidates if c.is_file()), None)


def _chromium_print(html_file: Path, pdf_file: Path, timeout: float = 120.0) -> None:
    browser = chromium_binary()
    if browser is None:
        raise RuntimeError(
            "no Chromium, Chrome or Edge found: install one (Debian/Ubuntu: "
            "`scripts/install-system-deps.sh chromium`; Windows: Edge is already there), "
            "or set BTCLIB_CHROME to the browser's path"
        )
    with tempfile.TemporaryDirectory(prefix="btclib-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file}",
            html_file.resolve().as_uri(),
        ]
        print("  $", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0 or not pdf_file.exists():
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def export_notebook(
    notebook: Path | str,
    output_dir: Path | str,
    *,
    config_file: Path | str,
    to: str = "pdf",
    execute: bool = True,
    timeout: int | None = None,
) -> Path:
    """Execute (optionally) and export one notebook; return the written file.

    ``config_file`` is the nbconvert configuration (template, preprocessors, timeout). ``to`` is
    ``pdf`` (LaTeX through xelatex, the report's route), ``html``, or ``chromium-pdf`` (HTML with
    wrapping CSS printed to PDF by a system Chromium). The kernel runs in the notebook's own
    folder and inherits the environment (``BTCLIB_DURATION``, ``BTCLIB_SOURCE``). ``timeout`` is
    the per-cell limit in seconds (default: the config's).
    """
    import nbformat
    from nbconvert.exporters import HTMLExporter, PDFExporter

    nb_path = Path(notebook).resolve()
    out_dir = Path(output_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    config = load_config(config_file)
    config.ExecutePreprocessor.enabled = execute
    if timeout is not None:
        config.ExecutePreprocessor.timeout = timeout

    nb = nbformat.read(nb_path, as_version=4)
    # The kernel (started by nbclient, inheriting this environment) knows its outputs are
    # exported: listings then add their LaTeX form (btclib.notebook, as for the report).
    os.environ["BTCLIB_EXPORT"] = "1"
    resources: dict[str, Any] = {
        "metadata": {"path": str(nb_path.parent), "name": nb_path.stem},
        "unique_key": nb_path.stem,
        "output_files_dir": f"{nb_path.stem}_files",
    }
    if to == "pdf":
        pdf_exporter = PDFExporter(config=config)
        body, _ = pdf_exporter.from_notebook_node(nb, resources=resources)
        target = out_dir / f"{nb_path.stem}.pdf"
        target.write_bytes(body)
        return target
    if to in ("html", "chromium-pdf"):
        config.HTMLExporter.embed_images = True
        html_exporter = HTMLExporter(config=config)
        body, _ = html_exporter.from_notebook_node(nb, resources=resources)
        html_file = out_dir / f"{nb_path.stem}.html"
        html_file.write_text(body, encoding="utf-8")
        if to == "html":
            return html_file
        target = out_dir / f"{nb_path.stem}.pdf"
        _chromium_print(html_file, target)
        return target
    raise ValueError(f"unknown export format {to!r}: use pdf, html or chromium-pdf")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m btclib.report.nbexport --config FILE [--to pdf|html|chromium-pdf] NB...``"""
    parser = argparse.ArgumentParser(
        prog="python -m btclib.report.nbexport",
        description="Execute notebooks and export them (PDF through LaTeX by default).",
    )
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("outputs"))
    parser.add_argument("--to", choices=("pdf", "html", "chromium-pdf"), default="pdf")
    parser.add_argument("--no-execute", action="store_true", help="export the stored outputs")
    parser.add_argument(
        "--timeout",
        type=int,
        default=int(os.environ.get("BTCLIB_CELL_TIMEOUT", "600")),
        help="per-cell time limit in seconds (env BTCLIB_CELL_TIMEOUT, default 600)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        required=True,
        help="nbconvert config file (the repository's: notebooks/nbconvert_config.py)",
    )
    args = parser.parse_args(argv)

    failures = 0
    total = time.monotonic()
    for nb in args.notebooks:
        start = time.monotonic()
        print(f"nbexport: {nb} -> {args.output_dir}/ ({args.to})", flush=True)
        try:
            written = export_notebook(
                nb,
                args.output_dir,
                to=args.to,
                execute=not args.no_execute,
                timeout=args.timeout,
                config_file=args.config,
            )
        except Exception as exc:  # report every notebook, fail at the end
            failures += 1
            print(f"nbexport: FAILED {nb}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        print(f"nbexport: wrote {written} in {time.monotonic() - start:.1f} s", flush=True)
    print(f"nbexport: {len(args.notebooks)} notebook(s) in {time.monotonic() - total:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
