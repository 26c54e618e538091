"""``python -m btclib report --verify [outputs/]``: does the report still describe the files?

Why: a colophon that prints SHA-256s is only a proof when someone recomputes them. This reads
the manifest the report wrote (``report-manifest.json``), recomputes each data file's SHA-256
and line count, and checks that every PDF named in the manifest prints that same hash (its
text extracted with pypdf, whitespace removed, so a hash wrapped over two lines still counts).
It says in plain words which files match; one changed or appended byte makes it fail, naming
the file.

``--rerun`` re-records each simulated run from its seed (same step, same duration, the
simulator only) into a scratch folder and compares it with the lines the run wrote, line for
line per stream. The simulator's content follows its seed, but how many frames fit into the
duration follows the clock of the machine, so the rerun compares each stream's lines over the
length both runs have (and says how long that was).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from . import provenance

__all__ = ["Finding", "check", "main", "pdf_hashes", "rerun_runs"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


class Finding:
    """One thing checked: ``ok`` and what to say about it."""

    def __init__(self, ok: bool, text: str) -> None:
        self.ok, self.text = ok, text

    def __repr__(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.text}"


def pdf_text(pdf: Path) -> str:
    """A PDF's text without whitespace (a wrapped hash joins back)."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(pdf).pages)
    return re.sub(r"\s+", "", text)


def pdf_hashes(pdf: Path) -> set[str]:
    """The SHA-256s a PDF prints after the word ``sha256``."""
    return set(re.findall(r"sha256([0-9a-f]{64})", pdf_text(pdf)))


def check(folder: Path) -> list[Finding]:
    """Every data file of the manifest in ``folder`` against its hash and the PDFs' text."""
    manifest_path = folder / provenance.MANIFEST
    if not manifest_path.is_file():
        return [Finding(False, f"no {provenance.MANIFEST} in {folder}: run `python -m btclib "
                               "report` first (it writes the PDFs and the manifest)")]  # fmt: skip
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    findings: list[Finding] = []
    printed: dict[str, set[str]] = {}
    pdfs = [e["pdf"] for e in manifest.get("notebooks", [])] + [manifest.get("report")]
    for name in filter(None, pdfs):
        pdf = folder / name
        if pdf.is_file():
            printed[name] = pdf_hashes(pdf)
        else:
            findings.append(Finding(False, f"{name}: the PDF named in the manifest is missing"))
    for entry in manifest.get("notebooks", []):
        for facts in entry.get("files", []):
            findings.append(_check_file(facts, entry, manifest, printed, folder))
    if not any(e.get("files") for e in manifest.get("notebooks", [])):
        findings.append(Finding(False, "the manifest names no data file: nothing to check"))
    return findings


def _locate(facts: dict[str, Any], folder: Path) -> Path:
    """The data file: as the colophon names it (relative to the folder above ``folder``),
    else its absolute path at the time of the run."""
    shown = Path(facts["shown"])
    if not shown.is_absolute() and (folder.parent / shown).is_file():
        return folder.parent / shown
    return Path(facts["path"])


def _check_file(
    facts: dict[str, Any],
    entry: dict[str, Any],
    manifest: dict[str, Any],
    printed: dict[str, set[str]],
    folder: Path,
) -> Finding:
    path = _locate(facts, folder)
    want = facts["sha256"]
    where = [n for n in (entry["pdf"], manifest.get("report")) if n in printed]
    missing_in = [n for n in where if want not in printed[n]]
    if not path.is_file():
        return Finding(False, f"{facts['shown']}: the data file is gone (the PDFs print "
                              f"sha256 {want[:16]}...)")  # fmt: skip
    now = provenance.file_facts(path)
    if now["sha256"] != want:
        grew = now["bytes"] - facts["bytes"]
        if grew > 0:
            how = f"{grew} byte(s) were added"
        elif grew < 0:
            how = f"{-grew} byte(s) were removed"
        else:
            how = "bytes were changed"
        return Finding(
            False,
            f"{facts['shown']}: CHANGED since the run ({how}; {facts['lines']} lines then, "
            f"{now['lines']} now): the PDFs print sha256 {want[:16]}..., the file now has "
            f"{now['sha256'][:16]}...",
        )
    if missing_in:
        return Finding(
            False,
            f"{facts['shown']}: the file matches the manifest, but {', '.join(missing_in)} "
            f"does not print its sha256 {want[:16]}...",
        )
    return Finding(
        True,
        f"{facts['shown']}: matches: {now['lines']} lines, sha256 {want[:16]}..., as printed "
        f"in {' and '.join(where) or 'no PDF'}",
    )


def rerun_runs(folder: Path) -> list[Finding]:
    """Re-record each simulated run of the manifest from its seed; compare per stream."""
    from ..steps.steps import record_sync

    manifest = json.loads((folder / provenance.MANIFEST).read_text(encoding="utf-8"))
    findings = []
    for entry in manifest.get("notebooks", []):
        for run, facts in zip(entry.get("runs", []), entry.get("files", []), strict=False):
            sources = run.get("sources") or {}
            if run.get("seed") is None or any(s != "simulator" for s in sources.values()):
                findings.append(Finding(True, f"{facts['shown']}: not a simulated run with a "
                                              "seed: nothing to re-record"))  # fmt: skip
                continue
            if not run.get("step"):
                findings.append(Finding(True, f"{facts['shown']}: not re-recorded: its notebook "
                                              "names no step of btclib.record (btcrec's run, "
                                              "or the fault lab's)"))  # fmt: skip
                continue
            path = _locate(facts, folder)
            lines = path.read_bytes().splitlines()[facts["first_line"] - 1 : facts["last_line"]]
            with tempfile.TemporaryDirectory(prefix="btclib-rerun-") as scratch:
                out = Path(scratch) / "rerun.txt"
                settings = run.get("settings") or {}
                step = run["step"]
                record_sync(
                    step, duration=float(run.get("elapsed") or 3), source="sim",
                    seed=int(run["seed"]), out=out, progress=None, announce=lambda _: None,
                    **settings,
                )  # fmt: skip
                again = out.read_bytes().splitlines()
            findings.append(_compare(facts["shown"], lines, again, run["seed"]))
    return findings


def _compare(shown: str, lines: list[bytes], again: list[bytes], seed: int) -> Finding:
    first: dict[bytes, list[bytes]] = defaultdict(list)
    second: dict[bytes, list[bytes]] = defaultdict(list)
    for line in lines:
        first[line.split(b",", 1)[0]].append(line)
    for line in again:
        second[line.split(b",", 1)[0]].append(line)
    compared, differ = 0, []
    for stream, mine in first.items():
        theirs = second.get(stream, [])
        n = min(len(mine), len(theirs))
        compared += n
        bad = next((i for i in range(n) if mine[i] != theirs[i]), None)
        if bad is not None:
            differ.append(f"{stream.decode()} line {bad + 1}")
    if differ:
        return Finding(False, f"{shown}: re-recorded from seed {seed}, the lines differ at "
                              f"{', '.join(differ)} (per stream, in order)")  # fmt: skip
    return Finding(True, f"{shown}: re-recorded from seed {seed}: the first {compared} lines "
                         f"agree stream by stream ({len(lines)} then, {len(again)} now; how many "
                         "fit in the duration follows the machine's clock)")  # fmt: skip


def main(folder: Path, *, rerun: bool = False) -> int:
    """Print each finding; 0 when everything matches."""
    findings = check(folder)
    if rerun and (folder / provenance.MANIFEST).is_file():
        findings += rerun_runs(folder)
    for finding in findings:
        print(finding)
    bad = [f for f in findings if not f.ok]
    if bad:
        print(f"verify: {len(bad)} of {len(findings)} checks FAILED", file=sys.stderr)
        return 1
    print(f"verify: all {len(findings)} checks passed: the PDFs describe the files on disk")
    return 0
