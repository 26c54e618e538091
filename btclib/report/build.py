"""``python -m btclib report``: run every notebook, export each to ``outputs/<name>.pdf``, and
write ``outputs/report.pdf`` with ``outputs/report-manifest.json``.

Why a module: ``make report`` needs ``make`` and bash, which Windows and macOS students
may not have. This is the one implementation of the report: ``make report`` calls it too
(after installing what it installs), so the two cannot drift apart.

What it does, per ``notebooks/step_*.ipynb`` in name order (a failed notebook is reported and
the others still run):

- execute it once, in a process of its own: ``python -m nbconvert --config
  notebooks/nbconvert_config.py --execute --to notebook --ExecutePreprocessor.timeout=T
  --output-dir outputs/executed NOTEBOOK`` (exactly what ``jupyter nbconvert`` runs), with
  ``BTCLIB_EXPORT=1`` so listings add their LaTeX form;
- read back what its ``notebook.check_run`` stated, hash the data files, take each cell's run
  time from the execution metadata (:mod:`.provenance`) and append the colophon;
- export it by the TeX route when ``xelatex`` and ``pandoc`` are on the PATH (TeX Live, MiKTeX,
  MacTeX), else by the Chromium route (HTML printed to PDF), and give the PDF a human title.

Then report.pdf (:mod:`.book`): on the TeX route one LaTeX document of every chapter's own
LaTeX (contents, page numbers, bookmarks); without TeX the step PDFs merged with pypdf. The
manifest holds what the colophons print, for ``--verify`` (:mod:`.verify`).

The notebooks read ``BTCLIB_DURATION``, ``BTCLIB_SOURCE`` and ``BTCLIB_OUTPUTS`` from the
environment, which the child processes inherit; ``BTCLIB_AUTHOR`` names the author.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import arguments
from . import provenance

__all__ = [
    "CONFIG",
    "EXECUTED",
    "NOTEBOOKS",
    "add_arguments",
    "author",
    "commands",
    "entry_of",
    "export",
    "find_root",
    "main",
    "route",
    "run",
]

CONFIG = Path("notebooks") / "nbconvert_config.py"
"""The nbconvert configuration, relative to the repository."""

NOTEBOOKS = "notebooks/step_*.ipynb"
"""The report's notebooks, relative to the repository, run in name order."""

ROUTES = ("auto", "pdf", "chromium-pdf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``report``."""
    parser.add_argument(
        "--timeout",
        type=arguments.seconds,
        default=int(os.environ.get("BTCLIB_CELL_TIMEOUT", "600")),
        help="per-cell time limit in seconds (env BTCLIB_CELL_TIMEOUT, default 600)",
    )
    parser.add_argument(
        "--to",
        choices=ROUTES,
        default="auto",
        help="pdf (TeX: xelatex and pandoc), chromium-pdf (HTML printed by Chromium/Chrome), "
        "or auto (default): TeX where it is installed, else Chromium",
    )
    parser.add_argument(
        "--output-dir",
        type=arguments.writable_folder,
        default=Path("outputs"),
        help="where the PDFs go (default: outputs, in the repository)",
    )
    parser.add_argument(
        "--verify",
        nargs="?",
        const="outputs",
        type=arguments.existing_folder,
        default=None,
        metavar="FOLDER",
        help="check a written report instead of making one: recompute every data file's "
        "SHA-256 and compare it with the manifest and with what the PDFs print "
        "(default folder: outputs)",
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="with --verify: re-record each simulated run from its seed and compare line by line",
    )


def find_root(start: Path | None = None) -> Path | None:
    """The repository: the current folder when it holds the notebooks' config, else the
    clone this package was installed from (``pip install -e .``), else None."""
    for candidate in (start or Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / CONFIG).is_file():
            return candidate
    return None


def route(to: str = "auto") -> str:
    """``pdf`` or ``chromium-pdf``: ``to`` itself unless it is ``auto``."""
    if to != "auto":
        return to
    if shutil.which("xelatex") and shutil.which("pandoc"):
        return "pdf"
    from .nbexport import chromium_binary

    if chromium_binary():
        return "chromium-pdf"
    raise RuntimeError(
        "report: neither TeX (xelatex and pandoc on the PATH) nor Chromium/Chrome was found: "
        "install one of them (README.md, 'On Windows / on macOS')"
    )


EXECUTED = "executed"
"""The folder, under the output folder, of the executed notebooks (what the PDFs print)."""


def commands(
    notebooks: Sequence[Path], to: str, timeout: int, output_dir: Path, config: Path
) -> list[list[str]]:
    """One command line per notebook: execute it with nbconvert (``jupyter nbconvert
    --execute --to notebook``, run by this Python) into ``output_dir/executed/``.

    Executing once and exporting the executed notebook after (:func:`export`) lets the same
    outputs go into the step's PDF, into its chapter of report.pdf and into the manifest.
    ``to`` (``pdf`` or ``chromium-pdf``) only checks the route: execution is the same for both.
    """
    if to not in ("pdf", "chromium-pdf"):
        raise ValueError(f"report: unknown route {to!r}: use pdf or chromium-pdf")
    return [
        [sys.executable, "-m", "nbconvert", "--config", str(config), "--execute",
         "--to", "notebook", f"--ExecutePreprocessor.timeout={timeout}",
         "--output-dir", str(output_dir / EXECUTED), str(nb)]
        for nb in notebooks
    ]  # fmt: skip


def author(executed: Sequence[Any] = ()) -> str:
    """``BTCLIB_AUTHOR``, else an ``AUTHOR`` a notebook's parameters cell set, else ``""``."""
    named = os.environ.get("BTCLIB_AUTHOR", "").strip()
    if named:
        return named
    for nb in executed:
        for cell in nb.get("cells", []):
            if "parameters" in (cell.get("metadata") or {}).get("tags", []):
                source = "".join(cell["source"])
                found = re.search(r"^AUTHOR\s*=\s*[\"']([^\"']+)[\"']", source, re.M)
                if found:
                    return found[1].strip()
    return ""


def _shown(path: Path, output_dir: Path) -> str:
    """A data file as the colophon names it: relative to the output folder when inside it."""
    try:
        return path.resolve().relative_to(output_dir.resolve().parent).as_posix()
    except ValueError:
        return str(path)


def entry_of(nb: Any, name: str, title: str, output_dir: Path) -> dict[str, Any]:
    """A notebook's manifest entry: its runs (from ``check_run``), data files, cell times."""
    runs = provenance.runs_of(nb)
    files = []
    for run in runs:
        path = Path(run["path"])
        if not path.is_file():
            continue
        facts = provenance.file_facts(path)
        files.append({
            "path": str(path.resolve()),
            "shown": _shown(path, output_dir),
            **facts,
            "first_line": run.get("first_line"),
            "last_line": run.get("last_line"),
            "run_lines": run.get("lines"),
            "first_receive": provenance.utc(run.get("first_receive_ns")),
            "last_receive": provenance.utc(run.get("last_receive_ns")),
        })  # fmt: skip
    return {"notebook": name, "title": title, "pdf": f"{Path(name).stem}.pdf",
            "cells": provenance.cell_times(nb), "runs": runs, "files": files}  # fmt: skip


def export(nb: Any, stem: str, to: str, output_dir: Path, config_file: Path) -> Path:
    """Export an executed notebook (no execution) by route ``to``: ``output_dir/<stem>.pdf``."""
    from nbconvert.exporters import HTMLExporter, PDFExporter

    from .nbexport import _chromium_print, load_config

    config = load_config(config_file)
    config.ExecutePreprocessor.enabled = False
    resources = {"metadata": {"name": stem, "path": "."}, "unique_key": stem,
                 "output_files_dir": f"{stem}_files"}  # fmt: skip
    target = output_dir / f"{stem}.pdf"
    if to == "pdf":
        body, _ = PDFExporter(config=config).from_notebook_node(nb, resources=resources)
        target.write_bytes(body)
        return target
    config.HTMLExporter.embed_images = True
    body, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    html_file = output_dir / EXECUTED / f"{stem}.html"
    html_file.write_text(body, encoding="utf-8")
    _chromium_print(html_file, target)
    return target


def _title(nb: Any, stem: str) -> str:
    return str((nb.get("metadata") or {}).get("title") or stem.replace("_", " "))


def run(args: argparse.Namespace) -> int:
    """Run and export every notebook, then write report.pdf and its manifest (the parsed
    options of :func:`add_arguments`); with ``--verify``, check a report instead.

    Returns 0 when every notebook was exported, 1 otherwise (after trying them all).
    """
    if getattr(args, "verify", None) is not None:
        from . import verify

        return verify.main(Path(args.verify), rerun=bool(getattr(args, "rerun", False)))
    root = find_root()
    if root is None:
        print(
            f"report: no {CONFIG.as_posix()} here: run this in the btclib clone "
            "(the folder with README.md and notebooks/)",
            file=sys.stderr,
        )
        return 1
    start = time.time()
    output_dir = args.output_dir if args.output_dir.is_absolute() else root / args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(root.glob(NOTEBOOKS))
    duration = os.environ.get("BTCLIB_DURATION", "<notebook default>")
    source = os.environ.get("BTCLIB_SOURCE", "<notebook default>")
    print(
        f"report: BTCLIB_DURATION={duration} BTCLIB_SOURCE={source} CELL_TIMEOUT={args.timeout} s",
        flush=True,
    )
    failed: list[str] = []
    if not notebooks:
        return _record_steps(root, start, output_dir)
    try:
        to = route(args.to)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    import nbformat

    from . import book
    from .nbexport import load_config

    config = root / CONFIG
    env = provenance.environment(root)
    executed: list[tuple[Path, Any, dict[str, Any]]] = []
    for nb_path, cmd in zip(
        notebooks, commands(notebooks, to, args.timeout, output_dir, config), strict=True
    ):
        t0 = time.monotonic()
        name = nb_path.relative_to(root).as_posix()
        print(f"report: running {name}", flush=True)
        # BTCLIB_EXPORT: the kernel's outputs are exported, so listings add their LaTeX form
        # (in JupyterLab they do not compute it: btclib.notebook).
        done = subprocess.run(cmd, cwd=root, check=False, env={**os.environ, "BTCLIB_EXPORT": "1"})
        result = output_dir / EXECUTED / nb_path.name
        if done.returncode != 0 or not result.is_file():
            print(f"report: FAILED {name} after {time.monotonic() - t0:.0f} s", file=sys.stderr)
            failed.append(name)
            continue
        nb = nbformat.read(result, as_version=4)
        title = _title(nb, nb_path.stem)
        entry = entry_of(nb, name, title, output_dir)
        printed = copy.deepcopy(nb)
        printed.cells.extend(book.colophon_cells(provenance.colophon_text(entry, env)))
        try:
            pdf = export(printed, nb_path.stem, to, output_dir, config)
            book.set_title(pdf, title, author([nb]))
        except Exception as exc:  # report every notebook, fail at the end
            print(f"report: FAILED to export {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"report: {name} -> {pdf} in {time.monotonic() - t0:.0f} s", flush=True)
        executed.append((nb_path, printed, entry))

    manifest = {
        "created": provenance.now_utc(),
        "environment": env,
        "report": "report.pdf",
        "notebooks": [entry for _, _, entry in executed],
    }
    if executed:
        by = author([nb for _, nb, _ in executed])
        title = book.assignment_title(root)
        if to == "pdf":
            try:
                cfg = load_config(config)
                chapters = [
                    book.latex_chapter(
                        book.chapter_opening(nb, entry["files"]), p.stem, entry["title"], cfg
                    )
                    for p, nb, entry in executed
                ]
                target = book.write_report(
                    chapters, output_dir / "report.pdf", title=title, author=by,
                    date=time.strftime("%d %B %Y", time.gmtime()),
                    colophon=_report_colophon(manifest),
                )  # fmt: skip
                book.set_title(target, title, by)
                print(f"report: {len(chapters)} chapters -> {target}", flush=True)
            except Exception as exc:
                print(f"report: FAILED report.pdf: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed.append("report.pdf")
        else:  # no TeX: the step PDFs merged (pypdf), front matter printed by Chromium
            from .nbexport import _chromium_print

            try:
                target = book.merge_report(
                    [(output_dir / entry["pdf"], entry["title"]) for _, _, entry in executed],
                    output_dir / "report.pdf", title=title, author=by,
                    date=time.strftime("%d %B %Y", time.gmtime()),
                    colophon=_report_colophon(manifest), print_html=_chromium_print,
                )  # fmt: skip
                print(f"report: {len(executed)} chapters -> {target}", flush=True)
            except Exception as exc:
                print(f"report: FAILED report.pdf: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed.append("report.pdf")
        (output_dir / provenance.MANIFEST).write_text(
            json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
        )
    return _finish(start, output_dir, failed)


def _report_colophon(manifest: dict[str, Any]) -> str:
    """The report's colophon: the environment once, then each chapter's runs and files."""
    env = manifest["environment"]
    parts = []
    for i, entry in enumerate(manifest["notebooks"]):
        text = provenance.colophon_text({**entry, "cells": entry["cells"]}, env)
        lines = text.splitlines()
        parts.append("\n".join(lines if i == 0 else lines[4:]))  # the environment once
    return "\n\n".join(parts)


def _record_steps(root: Path, start: float, output_dir: Path) -> int:
    """No notebooks yet: record each step from the command line (the registry's steps)."""
    from ..steps.steps import STEPS

    failed = []
    seconds = os.environ.get("BTCLIB_DURATION", "20")
    print("report: no notebooks/step_*.ipynb yet: recording each step from the command line")
    for step in STEPS:
        cmd = [sys.executable, "-m", "btclib", "record", step, "--duration", seconds]
        print(f"report: python -m btclib record {step} --duration {seconds}", flush=True)
        if subprocess.run(cmd, cwd=root, check=False).returncode != 0:
            failed.append(f"record {step}")
    return _finish(start, output_dir, failed)


def _finish(start: float, output_dir: Path, failed: list[str]) -> int:
    print(f"report: finished in {time.time() - start:.0f} s; written or updated in {output_dir}:")
    written = sorted(
        p for p in output_dir.iterdir() if p.is_file() and p.stat().st_mtime >= start - 1
    )
    for path in written:
        print(f"  {path.stat().st_size:>10}  {path.name}")
    if not written:
        print("  (nothing)")
    if failed:
        print(f"report: failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m btclib.report [--to auto|pdf|chromium-pdf] [--timeout S] [--output-dir D]``"""
    parser = argparse.ArgumentParser(
        prog="python -m btclib report",
        description="Run every notebooks/step_*.ipynb and export it to PDF.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
