"""``python -m btclib report``: run every notebook and export it to ``outputs/<name>.pdf``.

Why a module: ``make report`` needs ``make`` and bash, which Windows and macOS students
may not have. This is the one implementation of the report: ``make report`` calls it too
(after installing what it installs), so the two cannot drift apart.

What it runs, per ``notebooks/step_*.ipynb`` and each in a process of its own (a failed
notebook is reported and the others still run):

- the TeX route, when ``xelatex`` and ``pandoc`` are on the PATH (TeX Live, MiKTeX,
  MacTeX): ``python -m nbconvert --config notebooks/nbconvert_config.py --execute --to pdf
  --ExecutePreprocessor.timeout=T --output-dir outputs NOTEBOOK``, which is exactly what
  ``jupyter nbconvert`` runs;
- otherwise the Chromium route (:mod:`btclib.report.nbexport`, HTML printed to PDF by a Chromium
  or Chrome), into the same folder, with the same config and time limit.

The notebooks read ``BTCLIB_DURATION`` and ``BTCLIB_SOURCE`` from the environment, which
the child processes inherit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .. import arguments

__all__ = [
    "CONFIG",
    "NOTEBOOKS",
    "add_arguments",
    "commands",
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


def commands(
    notebooks: Sequence[Path], to: str, timeout: int, output_dir: Path, config: Path
) -> list[list[str]]:
    """One command line per notebook, for the route ``to`` (``pdf`` or ``chromium-pdf``)."""
    if to == "pdf":
        # `jupyter nbconvert` is this module run by this Python: the same code either way.
        return [
            [sys.executable, "-m", "nbconvert", "--config", str(config), "--execute",
             "--to", "pdf", f"--ExecutePreprocessor.timeout={timeout}",
             "--output-dir", str(output_dir), str(nb)]
            for nb in notebooks
        ]  # fmt: skip
    if to == "chromium-pdf":
        return [
            [sys.executable, "-m", "btclib.report.nbexport", "--config", str(config),
             "--to", "chromium-pdf", "--timeout", str(timeout),
             "--output-dir", str(output_dir), str(nb)]
            for nb in notebooks
        ]  # fmt: skip
    raise ValueError(f"report: unknown route {to!r}: use pdf or chromium-pdf")


def run(args: argparse.Namespace) -> int:
    """Run and export every notebook (the parsed options of :func:`add_arguments`).

    Returns 0 when every notebook was exported, 1 otherwise (after trying them all).
    """
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
    if notebooks:
        try:
            to = route(args.to)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        config = root / CONFIG
        for nb, cmd in zip(
            notebooks, commands(notebooks, to, args.timeout, output_dir, config), strict=True
        ):
            t0 = time.monotonic()
            name = nb.relative_to(root).as_posix()
            print(f"report: {to} {name} -> {output_dir / (nb.stem + '.pdf')}", flush=True)
            if subprocess.run(cmd, cwd=root, check=False).returncode == 0:
                print(f"report: {name} done in {time.monotonic() - t0:.0f} s", flush=True)
            else:
                print(f"report: FAILED {name} after {time.monotonic() - t0:.0f} s", file=sys.stderr)
                failed.append(name)
    else:
        seconds = os.environ.get("BTCLIB_DURATION", "20")
        print("report: no notebooks/step_*.ipynb yet: recording each step from the command line")
        for step in ("binance", "upbit", "both"):
            cmd = [sys.executable, "-m", "btclib", "record", step, "--duration", seconds]
            print(f"report: python -m btclib record {step} --duration {seconds}", flush=True)
            if subprocess.run(cmd, cwd=root, check=False).returncode != 0:
                failed.append(f"record {step}")
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
