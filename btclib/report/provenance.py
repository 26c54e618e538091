"""Where a report came from, in words a grader can check: the colophon and its manifest.

Why: a PDF of a recording is only worth trusting if a reader can tell what produced it and can
check that the data files it talks about are the ones on disk. Every PDF of the report ends
with a colophon (:func:`colophon_text`): btclib's version and git commit (and whether the tree
had changes), Python's and the key libraries' versions, the machine, the run's start and end
(UTC), per exchange live or simulator (with the seed), per data file its line count, first and
last receive time and SHA-256, and how long each cell ran (from the execution metadata
nbclient stores). The same facts go to ``report-manifest.json`` (:data:`MANIFEST`) so that
``python -m btclib report --verify`` (:mod:`btclib.report.verify`) can recompute them.

A notebook states what it recorded with :func:`btclib.notebook.check_run`, whose output carries
the run's facts as JSON under :data:`RUN_MIME`; this module reads them back from the executed
notebook (:func:`runs_of`), so nothing is guessed from file names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..version import __version__

__all__ = [
    "LIBRARIES",
    "MANIFEST",
    "RUN_MIME",
    "cell_times",
    "colophon_text",
    "environment",
    "file_facts",
    "runs_of",
    "sha256_of",
    "utc",
]

RUN_MIME = "application/vnd.btclib.run+json"
"""The output data type under which :func:`btclib.notebook.check_run` states a run's facts."""

MANIFEST = "report-manifest.json"
"""The machine-readable colophon of every PDF, beside the PDFs."""

LIBRARIES = (
    "websockets", "numpy", "pandas", "matplotlib", "ipykernel", "nbclient", "nbconvert",
    "ipywidgets", "pypdf",
)  # fmt: skip
"""The libraries whose versions the colophon names (those that shape what the PDF shows)."""


def utc(ns_or_seconds: float | int | None) -> str | None:
    """``2026-12-07 01:02:03.456 UTC`` from epoch nanoseconds (int > 1e15) or seconds."""
    if ns_or_seconds is None:
        return None
    seconds = ns_or_seconds / 1e9 if ns_or_seconds > 1e15 else float(ns_or_seconds)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _processor() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows, and the cores."""
    name = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(errors="replace"), re.M)
        name = found[1].strip() if found else ""
    name = name or platform.processor() or platform.machine() or "unknown processor"
    return f"{name}, {os.cpu_count() or '?'} cores"


def environment(root: Path) -> dict[str, Any]:
    """btclib, git, Python, the libraries and the machine, as the colophon prints them."""
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "btclib": __version__,
        "commit": commit or "unknown (not a git clone)",
        "dirty": bool(status) if status is not None else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": versions,
        "os": platform.platform(),
        "processor": _processor(),
    }


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in blocks (a data file can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def file_facts(path: Path) -> dict[str, Any]:
    """A data file's size, line count and SHA-256, now."""
    lines = 0
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
            lines += block.count(b"\n")
            size += len(block)
    return {"bytes": size, "lines": lines, "sha256": digest.hexdigest()}


def runs_of(nb: Any) -> list[dict[str, Any]]:
    """The facts each :func:`btclib.notebook.check_run` output of an executed notebook states."""
    found = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = (out.get("data") or {}).get(RUN_MIME)
            if isinstance(data, dict):
                found.append(dict(data))
    return found


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def cell_times(nb: Any) -> list[dict[str, Any]]:
    """Per executed code cell: its number, first line and seconds (nbclient's timestamps)."""
    times = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        timing = (cell.get("metadata") or {}).get("execution") or {}
        start = _moment(timing.get("iopub.execute_input") or timing.get("shell.execute_request"))
        end = _moment(timing.get("shell.execute_reply"))
        if start is None or end is None:
            continue
        source = "".join(cell.get("source", ""))
        first = next((line for line in source.splitlines() if line.strip()), "")
        times.append({
            "cell": index + 1,
            "first_line": first[:60],
            "seconds": round((end - start).total_seconds(), 3),
            "start": start.astimezone(dt.UTC).isoformat(),
            "end": end.astimezone(dt.UTC).isoformat(),
        })  # fmt: skip
    return times


def _span(times: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    times = list(times)
    if not times:
        return None, None
    start = min(_moment(t["start"]) for t in times)  # type: ignore[type-var]
    end = max(_moment(t["end"]) for t in times)  # type: ignore[type-var]
    return utc(start.timestamp()), utc(end.timestamp())  # type: ignore[union-attr]


def colophon_text(entry: dict[str, Any], env: dict[str, Any]) -> str:
    """The colophon of one notebook's PDF: ``entry`` is its manifest entry, ``env``
    :func:`environment`. Short lines (the hashes on lines of their own), so nothing wraps."""
    libs = env["libraries"]
    dirty = {True: "with uncommitted changes", False: "clean", None: "state unknown"}[env["dirty"]]
    start, end = _span(entry.get("cells", []))
    out = [
        f"btclib {env['btclib']}, git commit {env['commit'][:12]} ({dirty})",
        f"{env['python']}; " + ", ".join(f"{k} {v}" for k, v in libs.items()),
        f"machine: {env['os']}",
        f"processor: {env['processor']}",
        f"notebook {entry['notebook']}: run from {start or '?'} to {end or '?'}",
    ]
    for run in entry.get("runs", []):
        out.append("")
        out.append(f"run of {run.get('what', 'a recording')} ({run.get('lines', 0)} lines, "
                   f"stopped: {run.get('stopped') or '?'})")  # fmt: skip
        for exchange, source in (run.get("sources") or {}).items():
            seed = run.get("seed")
            said = "live" if source == "live" else f"{source}" + (
                f", seed {seed}" if seed is not None else ""
            )
            out.append(f"  {exchange}: {said}")
    for facts in entry.get("files", []):
        out.append("")
        out.append(f"data file {facts['shown']}")
        out.append(f"  {facts['lines']} lines ({facts['bytes']} bytes); this run: lines "
                   f"{facts.get('first_line') or '?'}-{facts.get('last_line') or '?'}")  # fmt: skip
        out.append(f"  first receive {facts.get('first_receive') or 'not recorded (no capture)'}")
        out.append(f"  last receive  {facts.get('last_receive') or 'not recorded (no capture)'}")
        out.append(f"  sha256 {facts['sha256']}")
    cells = entry.get("cells", [])
    if cells:
        out.append("")
        out.append("cell run times (nbclient's execution metadata):")
        out.extend(
            f"  [{c['cell']:>2}] {c['seconds']:>8.2f} s  {c['first_line'][:58]}" for c in cells
        )
    out.append("")
    out.append("Check it: python -m btclib report --verify (recomputes every SHA-256 above)")
    return "\n".join(out)


def now_utc() -> str:
    """The time now, as the manifest writes it."""
    return utc(dt.datetime.now(dt.UTC).timestamp()) or ""


