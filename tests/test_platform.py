"""btclib on Windows and macOS, proved on Linux: what those platforms lack is taken away
here, and the fallbacks are shown to lock, stop cleanly on Ctrl+C and keep every line whole.

:func:`pretend_windows` takes away, in this process or in a child, what Windows lacks or does
differently: ``fcntl`` does not import (``msvcrt`` does: :class:`FakeMsvcrt`), ``os.open``
without ``O_BINARY`` and ``open()`` in text mode translate ``\\n`` into ``\\r\\n`` as the C
runtime does, and the event loop's ``add_signal_handler`` raises ``NotImplementedError``.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from btclib.files import datafile
from btclib.files.sink import LineSink, SinkError
from btclib.files.eventlog import EventLog
from btclib.report import build as report
from btclib.steps import interrupts
from btclib.steps.steps import events_path

REPO = Path(__file__).resolve().parents[1]
O_BINARY = 0x8000  # Windows' value


class Patcher(Protocol):
    """``pytest.MonkeyPatch``'s two methods used here (a child process patches for good)."""

    def setattr(self, target: Any, name: str, value: Any, raising: bool = True) -> None: ...

    def setitem(self, mapping: Any, name: Any, value: Any) -> None: ...


class ForGood:
    """A :class:`Patcher` for a child process: nothing is ever undone."""

    def setattr(self, target: Any, name: str, value: Any, raising: bool = True) -> None:
        setattr(target, name, value)

    def setitem(self, mapping: Any, name: Any, value: Any) -> None:
        mapping[name] = value


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` the way Windows' C runtime does it, recording every call.

    It locks ``nbytes`` from the file position; a byte another handle holds fails at once
    with EACCES (``LK_NBLCK``). Windows locks belong to a handle, so two descriptors in one
    process conflict (a table here); across processes POSIX record locks (``lockf``, from
    the real ``fcntl`` taken before it was blocked) make the conflict real.
    """

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self, real_fcntl: types.ModuleType) -> None:
        super().__init__("msvcrt")
        self.calls: list[tuple[int, int, int, int]] = []
        """(fd, mode, nbytes, file position) of each call."""
        self._fcntl = real_fcntl
        self._held: dict[tuple[int, int, int], int] = {}

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        position = os.lseek(fd, 0, os.SEEK_CUR)
        self.calls.append((fd, mode, nbytes, position))
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino, position)
        denied = PermissionError(errno.EACCES, "Permission denied")
        if mode == self.LK_UNLCK:
            if self._held.get(key) != fd:
                raise denied
            del self._held[key]
            self._fcntl.lockf(fd, self._fcntl.LOCK_UN, nbytes, 0, os.SEEK_CUR)
            return
        assert mode == self.LK_NBLCK, f"btclib must never wait for a lock (mode {mode})"
        if key in self._held:
            raise denied
        try:
            self._fcntl.lockf(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB, nbytes, 0, os.SEEK_CUR)
        except OSError:
            raise denied from None
        self._held[key] = fd


def pretend_windows(patch: Patcher) -> FakeMsvcrt:
    """Make this process lack what Windows lacks (see the module's docstring)."""
    import fcntl

    fake = FakeMsvcrt(fcntl)
    patch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    patch.setitem(sys.modules, "msvcrt", fake)

    # The C runtime's text mode: a descriptor opened without O_BINARY writes \r\n.
    text_fds: set[int] = set()
    real_open, real_write, real_close = os.open, os.write, os.close

    def crt_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        fd = real_open(path, flags & ~O_BINARY, mode, dir_fd=dir_fd)
        (text_fds.discard if flags & O_BINARY else text_fds.add)(fd)
        return fd

    def crt_write(fd: int, data: Any) -> int:
        if fd not in text_fds:
            return real_write(fd, data)
        raw = bytes(data)
        real_write(fd, raw.replace(b"\n", b"\r\n"))
        return len(raw)

    def crt_close(fd: int) -> None:
        text_fds.discard(fd)
        real_close(fd)

    patch.setattr(os, "O_BINARY", O_BINARY, raising=False)
    patch.setattr(os, "open", crt_open)
    patch.setattr(os, "write", crt_write)
    patch.setattr(os, "close", crt_close)

    # Python's text files: newline=None writes os.linesep, which is \r\n on Windows.
    real_io_open = io.open

    def windows_open(
        file: Any,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if "b" not in mode and newline is None:
            newline = "\r\n"
        return real_io_open(file, mode, buffering, encoding, errors, newline, *args, **kwargs)

    patch.setattr(io, "open", windows_open)
    patch.setattr(builtins, "open", windows_open)

    # Windows' event loops have no add_signal_handler.
    def no_signal_handlers(self: Any, *args: Any) -> None:
        raise NotImplementedError

    loop_class = asyncio.SelectorEventLoop
    patch.setattr(loop_class, "add_signal_handler", no_signal_handlers)
    patch.setattr(loop_class, "remove_signal_handler", no_signal_handlers)
    return fake


def child(script: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """Run ``script`` in a fresh Python that imports this module (from the repository)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def whole_lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, checked: every one ends with a bare \\n, none is empty."""
    assert data, "nothing was written"
    assert b"\r" not in data, "a \\r crept into the file"
    assert data.endswith(b"\n"), "the last line is torn"
    lines = data[:-1].split(b"\n")
    assert all(lines), "an empty line"
    return lines


# -- the stand-ins do what Windows does (so the tests below can fail) ------------------------


def test_the_windows_stand_in_translates_newlines_where_windows_would(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    fd = os.open(tmp_path / "text.bin", os.O_WRONLY | os.O_CREAT)  # no O_BINARY: text mode
    os.write(fd, b"a\nb\n")
    os.close(fd)
    assert (tmp_path / "text.bin").read_bytes() == b"a\r\nb\r\n"
    fd = os.open(tmp_path / "binary.bin", os.O_WRONLY | os.O_CREAT | os.O_BINARY)
    os.write(fd, b"a\nb\n")
    os.close(fd)
    assert (tmp_path / "binary.bin").read_bytes() == b"a\nb\n"
    with (tmp_path / "text.txt").open("w", encoding="utf-8") as f:
        f.write("x\n")
    assert (tmp_path / "text.txt").read_bytes() == b"x\r\n"
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401
    assert isinstance(datafile.platform_lock(), datafile.MsvcrtLock)


# -- line endings: \n on every platform --------------------------------------------------------


async def test_the_sink_writes_the_same_bytes_with_text_mode_translation_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    path = tmp_path / "data.txt"
    path.write_bytes(b"left by someone else")  # half a line: the sink ends it first
    lines = [b'{"a":1}\n', "원화 KRW-BTC\n".encode(), b"\n".join([b"x"] * 3) + b"\n"]
    async with LineSink(path) as sink:
        for line in lines:
            sink.write(line)
        await asyncio.sleep(0)  # let the loop idle once: the chunk goes out inline
        sink.flush()
        sink._inline = False  # and the writer thread's route, too
        sink.write(b"from the thread\n")
    assert path.read_bytes() == b"left by someone else\n" + b"".join(lines) + b"from the thread\n"


def test_the_events_log_ends_lines_with_lf_with_text_mode_translation_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pretend_windows(monkeypatch)
    path = tmp_path / "data.events.jsonl"
    log = EventLog(path)
    log("connect", "upbit", 1, url="wss://api.upbit.com/websocket/v1")
    log("close", "upbit", 1, reason="서버 점검\nmaintenance")  # Korean, and a \n inside
    log.close()
    data = path.read_bytes()
    records = [json.loads(line) for line in whole_lines(data)]
    assert [r["event"] for r in records] == ["connect", "close"]
    assert records[1]["reason"] == "서버 점검\nmaintenance"
    assert "서버 점검".encode() in data  # UTF-8, not escaped


# -- one writer per file, without fcntl --------------------------------------------------------


async def test_without_fcntl_the_lock_is_msvcrt_and_refuses_a_second_writer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    fake = pretend_windows(monkeypatch)
    path = tmp_path / "data.txt"
    async with LineSink(path) as first:
        fd = first._fd
        assert fake.calls == [(fd, fake.LK_NBLCK, 1, datafile.LOCK_OFFSET)]
        with pytest.raises(SinkError, match="another btclib recorder is writing") as refused:
            LineSink(path).open()
        assert refused.value.errno == errno.EBUSY
        first.write(b"still mine\n")
    # Released before the handle closed (Windows frees a closed handle's locks late).
    assert fake.calls[-1] == (fd, fake.LK_UNLCK, 1, datafile.LOCK_OFFSET)
    async with LineSink(path) as again:
        again.write(b"next run\n")
    assert path.read_bytes() == b"still mine\nnext run\n"


def test_the_lock_byte_lies_past_any_data_so_readers_never_meet_it():
    # Windows locks are mandatory: a locked byte inside the data would fail every reader.
    assert datafile.LOCK_OFFSET >= 2**40  # 1 TiB: weeks of the busiest recording


@pytest.mark.parametrize("platform", ["posix", "windows"])
def test_a_second_process_writing_the_same_file_is_refused(platform: str, tmp_path: Path):
    path = tmp_path / "data.txt"
    script = """
        import asyncio, sys
        if sys.argv[1] == "windows":
            from tests.test_platform import ForGood, pretend_windows
            pretend_windows(ForGood())
        from btclib.files.sink import LineSink, SinkError

        async def main():
            try:
                sink = LineSink(sys.argv[2])
                sink.open()
            except SinkError as exc:
                print("refused", exc, flush=True)
                return
            sink.write(sys.argv[3].encode() + b"\\n")
            sink.flush()
            print("holding", flush=True)
            sys.stdin.readline()
            await sink.aclose()
            print("closed", flush=True)

        asyncio.run(main())
    """
    holder = child(script, platform, str(path), "first")
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        second = child(script, platform, str(path), "second")
        out, err = second.communicate("\n", timeout=60)
        assert out.startswith("refused") and "another btclib recorder" in out, err
    finally:
        out, err = holder.communicate("\n", timeout=60)
    assert out == "closed\n", err
    after = child(script, platform, str(path), "third")
    out, err = after.communicate("\n", timeout=60)
    assert out == "holding\nclosed\n", err
    assert path.read_bytes() == b"first\nthird\n"


# -- Ctrl+C without add_signal_handler ---------------------------------------------------------


@pytest.fixture
def sigint_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGINT, before[0])
    signal.signal(signal.SIGTERM, before[1])


async def test_stop_handlers_use_the_loops_own_where_it_has_them(sigint_restored: None):
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    previous = signal.getsignal(signal.SIGINT)
    restore = interrupts.install_stop_handlers(loop, stop)
    signal.raise_signal(signal.SIGINT)
    await asyncio.wait_for(stop.wait(), 10)
    restore()
    assert signal.getsignal(signal.SIGINT) is previous


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_stop_handlers_fall_back_to_signal_signal_without_add_signal_handler(
    monkeypatch: pytest.MonkeyPatch, sigint_restored: None, signum: signal.Signals
):
    loop, stop = asyncio.get_running_loop(), asyncio.Event()

    def missing(*args: Any) -> None:
        raise NotImplementedError

    def not_to_be_called(*args: Any) -> None:
        raise AssertionError("remove_signal_handler for a handler it never installed")

    monkeypatch.setattr(loop, "add_signal_handler", missing)
    monkeypatch.setattr(loop, "remove_signal_handler", not_to_be_called)
    previous = signal.getsignal(signum)
    restore = interrupts.install_stop_handlers(loop, stop)
    assert signal.getsignal(signum) is not previous
    # Sent from another thread while the loop sleeps in select(): the handler must wake it.
    loop.call_soon(threading.Thread(target=os.kill, args=(os.getpid(), signum)).start)
    await asyncio.wait_for(stop.wait(), 10)
    restore()
    assert signal.getsignal(signum) is previous


def wait_for_lines(path: Path, lines: int, proc: subprocess.Popen[str], timeout: float) -> None:
    """Until ``path`` holds ``lines`` lines (the child writes them; nothing to await here)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_bytes().count(b"\n") >= lines):
        if proc.poll() is not None:
            raise AssertionError(f"the recorder ended early: {proc.communicate()}")
        assert time.monotonic() < deadline, f"no {lines} lines in {path} after {timeout} s"
        time.sleep(0.05)


def check_stopped_cleanly(proc: subprocess.Popen[str], data: Path) -> str:
    """SIGINT to a recorder child: it must exit 0 with every line of both files whole."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    whole_lines(data.read_bytes())
    records = [json.loads(line) for line in whole_lines(events_path(data).read_bytes())]
    assert records[-1]["event"] == "stop", records[-1]
    return out


def test_the_recorder_stops_on_ctrl_c_and_keeps_lines_whole_as_on_windows(tmp_path: Path):
    data = tmp_path / "stream-data-multi.txt"
    script = """
        import asyncio, sys
        from tests.test_platform import ForGood, pretend_windows
        pretend_windows(ForGood())
        from btclib.steps.interrupts import install_stop_handlers
        from btclib.steps import record

        async def main():
            stop = asyncio.Event()
            restore = install_stop_handlers(asyncio.get_running_loop(), stop)
            try:
                summary = await record(
                    "both", duration=None, source="sim", out=sys.argv[1], progress=None,
                    stop=stop, announce=lambda text: None,
                )
            finally:
                restore()
            print("lines", sum(summary.lines.values()), flush=True)

        asyncio.run(main())
    """
    proc = child(script, str(data))
    try:
        wait_for_lines(data, 50, proc, timeout=60)
        second = child(script, str(data))  # a second recorder on the same file
        out, err = second.communicate(timeout=60)
        assert second.returncode != 0 and "another btclib recorder" in err, (out, err)
    finally:
        if proc.poll() is None:
            out = check_stopped_cleanly(proc, data)
    assert out == f"lines {len(whole_lines(data.read_bytes()))}\n"  # each one whole, none lost


def test_the_command_line_stops_on_ctrl_c_without_add_signal_handler(tmp_path: Path):
    data = tmp_path / "stream-data-binance.txt"
    script = """
        import sys
        from tests.test_platform import ForGood, pretend_windows
        pretend_windows(ForGood())
        from btclib.cli import main
        sys.exit(main(["record", "binance", "--source", "sim", "--out", sys.argv[1]]))
    """
    proc = child(script, str(data))
    try:
        wait_for_lines(data, 20, proc, timeout=60)
    finally:
        if proc.poll() is None:
            check_stopped_cleanly(proc, data)
        else:
            pytest.fail(f"the command line ended before Ctrl+C: {proc.communicate()}")


# -- no POSIX-only module on the paths Windows takes -------------------------------------------


def test_btclib_imports_and_measures_without_posix_only_modules():
    script = """
        import math, sys
        for name in ("fcntl", "resource", "termios", "tty", "pty", "pwd", "grp"):
            sys.modules[name] = None
        import btclib, btclib.cli, btclib.files.sink, btclib.steps, btclib.files.capture, btclib.report
        import btclib.notebook, btclib.simulator.server, btclib.steps.interrupts, btclib.files.datafile
        from btclib.tools.bench import client, harness
        assert client.cpu_seconds() >= 0
        assert math.isnan(client.peak_rss_mb())
        assert client.rss_mb() > 0 or math.isnan(client.rss_mb())
        # Windows has no load average and no /proc.
        import builtins, os
        del os.getloadavg
        real_open = builtins.open
        def no_proc(file, *args, **kwargs):
            if str(file).startswith("/proc"):
                raise FileNotFoundError(2, "No such file or directory", str(file))
            return real_open(file, *args, **kwargs)
        builtins.open = no_proc
        machine = harness.machine()
        assert all(math.isnan(x) for x in machine["loadavg_start"]), machine
        assert math.isnan(client.rss_mb())
        print("ok")
    """
    proc = child(script)
    out, err = proc.communicate(timeout=120)
    assert out == "ok\n", err


# -- set-up: the distribution's name, environment.yml, python -m btclib report -----------------


def _requirement(spec: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, spec
    return match[1].lower().replace("_", "-"), match[2].replace(" ", "")


def conda_dependencies(text: str) -> dict[str, str]:
    """The conda packages of environment.yml (its ``pip:`` list apart), name -> bounds."""
    found: dict[str, str] = {}
    in_dependencies = in_pip = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            in_dependencies = line.startswith("dependencies:")
            continue
        if not in_dependencies:
            continue
        item = line.strip().removeprefix("- ").strip()
        if item == "pip:":
            in_pip = True
            continue
        if in_pip and line.startswith("      "):
            continue
        in_pip = False
        name, bounds = _requirement(item)
        found[name] = bounds
    return found


CONDA_ONLY = {"python", "pip", "pandoc"}
"""In environment.yml only: the interpreter, pip, and pandoc (a program, not a pip package)."""


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["notebooks"]]
    wanted += project["optional-dependencies"]["dev"]
    pip = dict(_requirement(spec) for spec in wanted)
    conda = conda_dependencies((REPO / "environment.yml").read_text(encoding="utf-8"))
    assert {k: v for k, v in conda.items() if k not in CONDA_ONLY} == pip
    assert conda.keys() >= CONDA_ONLY
    # The interpreter it pins satisfies requires-python.
    pinned = tuple(int(x) for x in conda["python"].lstrip("=").split("."))
    required = tuple(int(x) for x in project["requires-python"].lstrip(">=").split("."))
    assert pinned >= required


def test_the_environment_comparison_sees_a_difference():
    text = (REPO / "environment.yml").read_text(encoding="utf-8")
    changed = conda_dependencies(text.replace("websockets>=14.0", "websockets>=13.0"))
    assert changed["websockets"] == ">=13.0"
    assert "-e" not in conda_dependencies(text)  # the pip: list is not a conda package


def test_the_distribution_has_a_name_of_its_own_and_installs_come_from_the_clone():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] != "btclib"  # PyPI's btclib is a bitcoin cryptography library
    assert project["scripts"]["btclib"] == "btclib.cli:main"
    wrong = re.compile(r"pip install (-U |--upgrade )?btclib(?![\w-])")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = readme.split("```")[1::2]  # the fenced blocks: what a reader types
    commands += [line for line in readme.splitlines() if line.startswith("|")]  # table rows
    for name in ("environment.yml", "Makefile"):
        commands.append((REPO / name).read_text(encoding="utf-8"))
    assert not [text for text in commands if wrong.search(text)]
    # The one mention in prose warns against it.
    assert all(
        "Never" in readme[max(0, m.start() - 40) : m.start()] for m in wrong.finditer(readme)
    )
    assert wrong.search("pip install btclib") and not wrong.search("pip install btclib-recorder")


def test_make_report_and_python_m_btclib_report_are_one_route():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nreport:", 1)[1].split("\n\n", 1)[0]
    assert "-m btclib.report --timeout $(CELL_TIMEOUT) --output-dir outputs" in recipe
    assert "nbconvert" not in recipe.replace("# ", "")  # no second way of running it


def test_the_report_executes_each_notebook_with_jupyter_nbconvert(tmp_path: Path):
    nb = Path("notebooks/step_a_binance.ipynb")
    for to in ("pdf", "chromium-pdf"):  # executed the same way; exported per route after
        (cmd,) = report.commands([nb], to, 600, Path("outputs"), report.CONFIG)
        assert cmd[:3] == [sys.executable, "-m", "nbconvert"]
        assert cmd[3:] == [
            "--config", str(report.CONFIG), "--execute", "--to", "notebook",
            "--ExecutePreprocessor.timeout=600", "--output-dir", str(Path("outputs/executed")),
            str(nb),
        ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown route"):
        report.commands([nb], "docx", 60, Path("outputs"), report.CONFIG)


def test_the_route_is_tex_where_xelatex_and_pandoc_are_else_chromium(
    monkeypatch: pytest.MonkeyPatch,
):
    import btclib.report.nbexport as nbexport

    found = {"xelatex": "/x/xelatex", "pandoc": "/x/pandoc"}
    monkeypatch.setattr(report.shutil, "which", found.get)
    monkeypatch.setattr(nbexport, "chromium_binary", lambda: "/x/chrome")
    assert report.route("auto") == "pdf"
    del found["pandoc"]  # MiKTeX without pandoc: nbconvert's LaTeX route cannot run
    assert report.route("auto") == "chromium-pdf"
    assert report.route("pdf") == "pdf"  # asked for: tried, and its error shown
    monkeypatch.setattr(nbexport, "chromium_binary", lambda: None)
    with pytest.raises(RuntimeError, match="neither TeX"):
        report.route("auto")


def test_the_report_finds_the_clone_from_anywhere_and_refuses_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    assert report.find_root(REPO) == REPO
    assert report.find_root(tmp_path) == REPO  # the editable install's clone
    monkeypatch.setattr(report, "__file__", str(tmp_path / "btclib" / "report.py"))
    assert report.find_root(tmp_path) is None


def _notebook(path: Path, source: str) -> None:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb = {"cells": [{**cell, "source": source}], "metadata": {}, "nbformat": 4}
    path.write_text(json.dumps({**nb, "nbformat_minor": 5}), encoding="utf-8")


@pytest.mark.skipif(
    not (report.shutil.which("xelatex") and report.shutil.which("pandoc")), reason="no TeX here"
)
def test_the_report_exports_every_notebook_and_fails_at_the_end_if_one_failed(tmp_path: Path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / report.CONFIG).write_text("c = get_config()\nc.PDFExporter.latex_count = 1\n")
    _notebook(tmp_path / "notebooks" / "step_a_fails.ipynb", "raise SystemExit('broken')")
    _notebook(tmp_path / "notebooks" / "step_b_works.ipynb", "print('hello from step b')")
    _notebook(tmp_path / "notebooks" / "other.ipynb", "print('not a step')")
    done = subprocess.run(
        [sys.executable, "-m", "btclib.report", "--timeout", "60"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert done.returncode == 1, done.stderr
    assert "report: failed: notebooks/step_a_fails.ipynb" in done.stderr
    assert sorted(p.name for p in (tmp_path / "outputs").glob("*.pdf")) == ["step_b_works.pdf"]
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "outputs" / "step_b_works.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "hello from step b" in text
