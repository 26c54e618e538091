"""btcrec, the C++ twin of the recorder (``cpp/``), driven from Python: build it, record with it.

btcrec records from the URLs it is given and nothing else: deciding live or simulator stays in
Python, exactly as for :func:`btclib.record`. :func:`record` probes each live exchange the way
``source="auto"`` does (:func:`btclib.steps.sources.open_source`), starts btclib's simulator for the
ones that do not answer (announcing it with the same SIMULATED DATA banner and reason), passes
the simulator's URLs to btcrec, and keeps the simulator serving until btcrec has ended. What it
returns, :class:`CppRun`, carries ``sources``, ``reasons`` and ``path`` like a
:class:`~btclib.RunSummary`, so the notebook helpers (``notebook.notice``, ``tail_view``) treat
a C++ run as they treat a Python one.

:func:`build` runs ``make cpp`` (which installs the compiler and libraries when missing, then
builds ``cpp/build/btcrec``; a no-op when nothing changed), or CMake directly where there is no
``make``. A build that fails raises :class:`BuildError` whose message says why in plain words
(no compiler, no Boost, a compile error at file:line, ...), then the output's last lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BuildError
from ..recorder import Progress
from ..recorder.options import TIMINGS
from ..steps.interrupts import signal_child
from ..steps.progress import ProgressFn, make_progress
from ..steps.sources import live_urls, open_source
from ..steps.steps import STEPS, build_feeds, default_path, interrupt_stops
from .bench.cpp import BINARY

__all__ = ["BINARY", "STEPS", "Build", "BuildError", "CppRun", "build", "explain_build", "record"]

ROOT = BINARY.parents[2]
"""The repository: ``cpp/`` and the ``Makefile`` are here."""

# STEPS (Step A, B, C and their exchanges) is btclib.steps.steps.STEPS: the registry's, once.

MARKET_SETTINGS = ("symbol", "codes", "depth_speed")
"""What to record, as :func:`record` takes it (btcrec's --symbol, --code, --depth-speed)."""

GRACE = 30.0
"""Seconds btcrec may take beyond ``--duration`` (closing politely, flushing) before it is
interrupted: it closes each connection within a few seconds, so this is only a safety net."""


# -- build --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """A built btcrec: where it is, how it was built, and how long that took."""

    binary: Path
    command: str
    seconds: float
    output: str

    def __repr__(self) -> str:
        return f"btcrec is built: {self.binary} ({self.command}, {self.seconds:.1f} s)"


# (pattern in the build output, what it means): the first that matches explains the failure.
_CAUSES: list[tuple[str, str]] = [
    (
        r"No CMAKE_CXX_COMPILER could be found|CMAKE_CXX_COMPILER.*not (set|found)"
        r"|g\+\+: not found",
        "there is no C++ compiler: install g++ (Debian: sudo apt-get install g++)",
    ),
    (
        r"Could NOT find Boost|Boost.*(not found|NOTFOUND)|boost/[\w/]+\.hpp: No such file",
        "the Boost headers (Beast, Asio; >= 1.74) are missing: install libboost-dev",
    ),
    (
        r"Could NOT find OpenSSL|openssl/[\w/]+\.h: No such file",
        "the OpenSSL headers are missing: install libssl-dev",
    ),
    (
        r"cmake: (command )?not found|No such file or directory: 'cmake'",
        "cmake is not installed: install cmake",
    ),
    (
        r"sudo: a (terminal|password) is required|are you root\?|Permission denied.*dpkg",
        "installing the missing packages needs administrator rights: run `make cpp` once in a "
        "terminal (it asks for your password), or install g++ cmake libboost-dev libssl-dev",
    ),
    (
        r"not a Debian/Ubuntu system",
        "this is not Debian or Ubuntu: install g++, cmake, Boost >= 1.74 and the OpenSSL "
        "headers by hand",
    ),
    (r"No space left on device", "the disk is full"),
    (
        r"(?:virtual memory exhausted|out of memory|Killed signal terminated program cc1plus)",
        "the compiler ran out of memory: close other programs, or build with one job",
    ),
]
_COMPILER_ERROR = re.compile(r"^(?P<where>[^\s:]+:\d+(?::\d+)?): (?:fatal )?error: (?P<what>.*)$")


def explain_build(output: str, returncode: int | None = None) -> str:
    """Why a build failed, in plain words, from its output (and exit status)."""
    for pattern, meaning in _CAUSES:
        if re.search(pattern, output):
            return meaning
    for line in output.splitlines():
        found = _COMPILER_ERROR.match(line.strip())
        if found:
            return f"the compiler stopped at {found['where']}: {found['what']}"
    if "undefined reference to" in output:
        ref = re.search(r"undefined reference to [`'](.+?)'", output)
        return f"linking failed: {ref[1] if ref else 'a symbol'} is not defined"
    status = f" (exit status {returncode})" if returncode is not None else ""
    return f"the build command failed{status}; its output ends as below"


def _build_commands(root: Path) -> list[list[str]]:
    """``make cpp`` where there is make and the Makefile, else CMake's two steps."""
    if shutil.which("make") and (root / "Makefile").is_file():
        return [["make", "--no-print-directory", "cpp"]]
    cmake = shutil.which("cmake")
    if cmake is None:
        raise BuildError(
            "btcrec could not be built: neither make nor cmake is installed. Install them "
            "with a C++ compiler and the libraries (Debian: sudo apt-get install make cmake "
            "g++ libboost-dev libssl-dev), then run `make cpp`."
        )
    configure = [cmake, "-S", "cpp", "-B", "cpp/build", "-DCMAKE_BUILD_TYPE=Release"]
    return [configure, [cmake, "--build", "cpp/build", "-j", "2"]]


def build(
    root: str | Path = ROOT,
    *,
    timeout: float = 900.0,
    echo: Callable[[str], None] | None = None,
) -> Build:
    """Build ``<root>/cpp/build/btcrec`` (``make cpp``) and return where it is.

    ``echo`` gets each line of the build's output as it comes (a first build takes about a
    minute: ``echo=print`` shows it working, ``[ 40%] Building CXX object ...``); without it
    the output is only kept. Raises :class:`BuildError` when it cannot be built: the message
    first says why in plain words (see :func:`explain_build`), then the command and the last
    lines of its output.
    """
    root = Path(root)
    if not (root / "cpp" / "CMakeLists.txt").is_file():
        raise BuildError(
            f"btcrec could not be built: its sources are not here ({root / 'cpp'} has no "
            "CMakeLists.txt). The C++ twin lives in the repository's cpp/ folder: run this from "
            "a clone of the repository, not from an installed copy of btclib."
        )
    started = time.perf_counter()
    output: list[str] = []
    shown = ""
    for command in _build_commands(root):
        shown = shlex.join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))
        returncode, text = _run_build(command, root, timeout, echo)
        if returncode is None:
            raise BuildError(
                f"btcrec could not be built: `{shown}` did not finish within {timeout:g} s"
            )
        output.append(text)
        if returncode != 0:
            text = "".join(output)
            last = "\n".join(text.rstrip().splitlines()[-15:])
            raise BuildError(
                f"btcrec could not be built: {explain_build(text, returncode)}.\n"
                f"Command: {shown} (in {root})\nLast lines of its output:\n{last}"
            )
    binary = root / "cpp" / "build" / "btcrec"
    if not binary.is_file():
        raise BuildError(
            f"btcrec could not be built: `{shown}` succeeded but {binary} is not there"
        )
    return Build(binary, shown, time.perf_counter() - started, "".join(output))


def _run_build(
    command: list[str], root: Path, timeout: float, echo: Callable[[str], None] | None
) -> tuple[int | None, str]:
    """Run one build command: (exit status or None on timeout, its output), each line of
    the output (stderr merged) handed to ``echo`` as it comes. A thread reads the output, so
    a build silent for its whole time limit still stops at the limit."""
    import threading

    proc = subprocess.Popen(
        command, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace",
    )  # fmt: skip
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if echo is not None:
                echo(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    reader.join(5)
    return code, "".join(lines)


# -- record -------------------------------------------------------------------------------------


@dataclass
class CppRun:
    """What one btcrec run did: its summary (``--summary-json``) and where its data came from.

    Shaped like :class:`btclib.RunSummary` where the notebooks look (``path``, ``sources``,
    ``reasons``, ``lines``, ``total``, ``text()``), so the same notices and views apply.
    """

    path: Path
    command: list[str]
    exit_code: int
    lines: dict[str, int]
    sources: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    connections: int = 0
    reconnects: int = 0
    rotations: int = 0
    bad_frames: int = 0
    unexpected: int = 0
    duplicates: int = 0
    missed_trades: int = 0
    gaps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""
    elapsed: float = 0.0
    report: str = ""
    """btcrec's own summary, as it printed it on stdout."""
    events: list[str] = field(default_factory=list)
    """What btcrec said on stderr while it ran (connections, reconnects, errors), in order."""

    @property
    def total(self) -> int:
        return sum(self.lines.values())

    @property
    def ok(self) -> bool:
        """The run ended as asked (the duration, or an interrupt) without an error."""
        return self.exit_code in (0, 130) and not self.errors

    def text(self) -> str:
        """btcrec's report, with the source of each exchange under its first line (as in
        :meth:`btclib.RunSummary.text`) and the exit status when it is not 0."""
        report = self.report.rstrip("\n").splitlines() or [
            f"Recorded {self.total} lines in {self.elapsed:.1f} s into {self.path}; "
            f"stopped: {self.stopped or 'unknown'}."
        ]
        extra = [
            f"  source {x}: {s}" + (f" ({self.reasons[x]})" if self.reasons.get(x) else "")
            for x, s in self.sources.items()
        ]
        if self.seed is not None:
            extra.append(f"  simulator seed {self.seed}")
        out = [report[0], *extra, *report[1:]]
        if self.exit_code != 0:
            meaning = _STATUS.get(self.exit_code, "?")
            out.append(f"  btcrec exit status {self.exit_code} ({meaning})")
        if not self.report:
            out.extend(f"  {line}" for line in self.events[-5:])
        return "\n".join(out)


_STATUS = {0: "duration ended", 1: "an error ended the run", 2: "bad command line",
           130: "interrupted"}  # fmt: skip


def command(
    step: str,
    urls: dict[str, str],
    *,
    duration: float,
    out: Path,
    summary_json: Path,
    binary: Path,
    symbol: str | None,
    codes: Sequence[str] | None,
    depth_speed: str | None,
) -> list[str]:
    """btcrec's command line for a run: the same words as ``python -m btclib record``."""
    args = [str(binary), "record", step, "--duration", f"{duration:g}", "--out", str(out),
            "--summary-json", str(summary_json)]  # fmt: skip
    for exchange in STEPS[step]:
        args += [f"--{exchange}-url", urls[exchange]]
    if symbol is not None:
        args += ["--symbol", symbol]
    for code in codes or ():
        args += ["--code", code]
    if depth_speed is not None:
        args += ["--depth-speed", depth_speed]
    return args


async def record(
    step: str = "both",
    *,
    duration: float,
    source: str | None = None,
    out: str | Path | None = None,
    binary: str | Path | None = None,
    seed: int | None = None,
    announce: Callable[[str], None] = print,
    progress: str | ProgressFn | None = "auto",
    **markets: Any,
) -> CppRun:
    """Record ``step`` with btcrec for ``duration`` seconds, live or from the simulator.

    ``markets``: what to record, as btcrec's command line takes it: ``symbol`` (Binance),
    ``codes`` (Upbit), ``depth_speed``; each as for :func:`btclib.record`.

    ``source``: ``auto`` (each live exchange that answers, the simulator for the others, said
    with the SIMULATED DATA banner and reason), ``live`` or ``sim``; default ``BTCLIB_SOURCE``,
    else ``auto``. ``out`` defaults to ``outputs/stream-data-<step>.txt`` as for btclib.record.
    ``announce`` gets the banners and the command line before btcrec starts. An interrupt or a
    cancellation sends btcrec SIGINT (it writes its last whole lines and its summary) before
    it propagates. Kernel > Interrupt (SIGINT) and Ctrl+C stop it as they stop
    :func:`btclib.record`: btcrec gets SIGINT, finishes its own clean stop (its last whole
    lines, its summary), the summary is read and says ``stopped: interrupted``; a second press
    goes to the previous handler. ``progress`` is ``btclib.record``'s bar, fed from the data
    file's line count while btcrec runs.
    """
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: expected one of {', '.join(STEPS)}")
    program = Path(binary) if binary is not None else BINARY
    if not program.is_file():
        raise FileNotFoundError(
            f"{program} is not built: call btclib.tools.btcrec.build() (make cpp)"
        )
    unknown = sorted(set(markets) - set(MARKET_SETTINGS))
    if unknown:
        raise TypeError(
            f"record() got unknown keyword {', '.join(unknown)}; btcrec takes "
            f"{', '.join(MARKET_SETTINGS)}"
        )
    mine = {k: v for k, v in markets.items() if v is not None}
    symbol, codes, depth_speed = (markets.get(name) for name in MARKET_SETTINGS)
    # auto tries the exact URLs btcrec will open, as btclib.record does.
    probes = {f.exchange: f.url for f in build_feeds(step, live_urls(), **mine)}
    path = Path(out) if out is not None else default_path(step)
    with tempfile.TemporaryDirectory(prefix="btcrec-") as scratch:
        summary_json = Path(scratch) / "summary.json"
        async with open_source(
            STEPS[step], source, probe_urls=probes, probe_timeout=TIMINGS.probe_timeout,
            seed=seed, announce=announce,
        ) as endpoints:  # fmt: skip
            args = command(
                step, endpoints.urls, duration=duration, out=path, summary_json=summary_json,
                binary=program, symbol=symbol, codes=codes, depth_speed=depth_speed,
            )  # fmt: skip
            # The command as a reader would type it: the summary file is this helper's plumbing.
            at = args.index("--summary-json")
            announce("$ " + shlex.join([program.name, *args[1:at], *args[at + 2 :]]))
            stop = asyncio.Event()
            show = make_progress(progress, "btcrec")
            with interrupt_stops(stop):
                code, report, events = await _run(
                    args, duration + GRACE, stop=stop, watch=(path, duration, show)
                )
            summary = json.loads(summary_json.read_text()) if summary_json.is_file() else {}
            if stop.is_set():
                summary["stopped"] = "interrupted"
                announce(f"Interrupted: btcrec stopped cleanly; every line it received is in "
                         f"{path}, and its summary below says stopped: interrupted.")  # fmt: skip
        return _run_of(path, args, code, report, events, summary, endpoints)


class _LineCount:
    """The lines appended to a file since it was first looked at (what btcrec wrote)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.is_file() else 0
        self.lines = 0

    def update(self) -> int:
        if self.path.is_file():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
            self.offset += len(data)
            self.lines += data.count(b"\n")
        return self.lines


async def _show_progress(
    count: _LineCount, duration: float, show: ProgressFn, started: float
) -> None:
    """Every half second, the bar of btclib.record from btcrec's file (until cancelled)."""
    while True:
        elapsed = time.monotonic() - started
        lines = count.update()
        show(Progress(elapsed=elapsed, duration=duration, lines=lines,
                      rate=lines / elapsed if elapsed > 0 else 0.0, per_stream={},
                      reconnects=0))  # fmt: skip
        await asyncio.sleep(0.5)


async def _run(
    args: list[str],
    timeout: float,
    *,
    stop: asyncio.Event | None = None,
    watch: tuple[Path, float, ProgressFn | None] | None = None,
) -> tuple[int, str, list[str]]:
    """Run btcrec to its end; SIGINT it on timeout, on ``stop`` (an interrupt taken by
    :func:`interrupt_stops`: btcrec then ends as asked) or on cancellation (then re-raise)."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    events: list[str] = []

    async def said() -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            events.append(line.decode("utf-8", "replace").rstrip("\n"))

    reader = asyncio.create_task(said())
    assert proc.stdout is not None
    output = asyncio.create_task(proc.stdout.read())
    stopped = asyncio.create_task((stop or asyncio.Event()).wait())
    shower = None
    started = time.monotonic()
    if watch is not None and watch[2] is not None:
        count = _LineCount(watch[0])
        shower = asyncio.create_task(_show_progress(count, watch[1], watch[2], started))
    try:
        done, _ = await asyncio.wait({output, stopped}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if output not in done:  # interrupted, or past the time limit: btcrec stops cleanly
            await asyncio.shield(_interrupt(proc))
        stdout = await output
        code = await proc.wait()
    except BaseException:
        await asyncio.shield(_interrupt(proc))
        raise
    finally:
        stopped.cancel()
        if shower is not None:
            shower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shower
            elapsed = time.monotonic() - started
            lines = count.update()
            if watch and watch[2]:
                watch[2](Progress(elapsed=elapsed, duration=watch[1], lines=lines,
                                  rate=lines / elapsed if elapsed else 0.0, per_stream={},
                                  reconnects=0, done=True))  # fmt: skip
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 5)
    return code, stdout.decode("utf-8", "replace"), events


async def _interrupt(proc: asyncio.subprocess.Process) -> int:
    """SIGINT (btcrec writes its last whole lines and summary), then kill if it lingers."""
    if proc.returncode is None:
        signal_child(proc, signal.SIGINT)
        try:
            return await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            signal_child(proc)
    return await proc.wait()


def _run_of(
    path: Path,
    args: list[str],
    code: int,
    report: str,
    events: list[str],
    summary: dict[str, Any],
    endpoints: Any,
) -> CppRun:
    errors = list(summary.get("errors", []))
    if not summary:
        errors.append(f"btcrec wrote no summary (exit status {code})")
    return CppRun(
        path=path,
        command=args,
        exit_code=code,
        lines=dict(summary.get("lines", {})),
        sources=dict(endpoints.sources),
        reasons=dict(endpoints.reasons),
        seed=endpoints.seed,
        connections=summary.get("connections", 0),
        reconnects=summary.get("reconnects", 0),
        rotations=summary.get("rotations", 0),
        bad_frames=summary.get("bad_frames", 0),
        unexpected=summary.get("unexpected", 0),
        duplicates=summary.get("duplicates", 0),
        missed_trades=summary.get("missed_trades", 0),
        gaps=list(summary.get("gaps", [])),
        errors=errors,
        stopped=summary.get("stopped", ""),
        elapsed=float(summary.get("elapsed", 0.0)),
        report=report,
        events=events,
    )
