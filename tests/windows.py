"""What Windows lacks or does differently, taken away on Linux (and macOS) so that btclib's
fallbacks can be proved here.

:func:`pretend_windows` takes away, in this process or in a child, what Windows lacks or does
differently: ``fcntl`` does not import (``msvcrt`` does: :class:`FakeMsvcrt`), ``os.open``
without ``O_BINARY`` and ``open()`` in text mode translate ``\\n`` into ``\\r\\n`` as the C
runtime does, and the event loop's ``add_signal_handler`` raises ``NotImplementedError``.
The tests that use it sit beside the module each proves (tests/files/test_datafile.py,
test_sink.py, test_eventlog.py, tests/steps/test_interrupts.py, tests/test_platform.py).
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import io
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any, Protocol

__all__ = ["REPO", "FakeMsvcrt", "ForGood", "Patcher", "child", "pretend_windows", "whole_lines"]

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
