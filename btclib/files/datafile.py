"""How a data file is opened for appending and held by one writer, on every platform.

Why a module of its own: the two things a data file needs from the operating system
differ between POSIX and Windows, and neither may change a byte of what is recorded.

- Bytes as given. On Windows, ``os.open`` without ``O_BINARY`` opens a file in the C
  runtime's text mode, which writes every ``\\n`` as ``\\r\\n``: the data files would no
  longer be the SPEC's lines. :func:`open_append` always asks for binary mode
  (``O_BINARY`` exists only on Windows; elsewhere there is no text mode to avoid).
- One writer per file. Two recorders appending to one file would tear each other's
  lines, so the second one is refused. POSIX has ``fcntl.flock``; Windows has no
  ``fcntl`` module at all but ``msvcrt.locking``. Windows locks are mandatory (a locked
  byte cannot be read by anyone else), so :class:`MsvcrtLock` locks one byte far past any
  real end of file (:data:`LOCK_OFFSET`): readers (a notebook plotting the file while it
  grows) never touch it, and a second writer's lock on the same byte fails at once.

:func:`platform_lock` picks the lock from the modules that import, at call time, so a
test can take ``fcntl`` away (as on Windows) and give a stand-in ``msvcrt``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import ModuleType
from typing import Protocol

from ..errors import SinkError

__all__ = [
    "APPEND_FLAGS",
    "LOCK_OFFSET",
    "FileBusyError",
    "FileLock",
    "FlockLock",
    "MsvcrtLock",
    "open_append",
    "platform_lock",
    "try_writing",
    "writable",
    "writable_set",
]

APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT
"""Flags of a data file before the platform's own (see :func:`open_append`)."""

LOCK_OFFSET = 2**43
"""The byte :class:`MsvcrtLock` locks: 8 TiB, past the end of any data file, so no reader
meets it, and below the largest file a file system allows (a position past that limit is
refused: ext4's is 16 TiB; NTFS's and exFAT's are larger)."""


class FileBusyError(BlockingIOError):
    """Another writer holds the file's lock."""

    def __init__(self) -> None:
        super().__init__(errno.EBUSY, "another btclib recorder is writing to this file right now")


class FileLock(Protocol):
    """An exclusive, non-blocking lock on an open file descriptor."""

    def acquire(self, fd: int) -> None:
        """Take the lock or raise :class:`FileBusyError` at once (never wait)."""

    def release(self, fd: int) -> None:
        """Give the lock back (before the descriptor is closed)."""


class FlockLock:
    """POSIX: ``flock(LOCK_EX | LOCK_NB)``, held by the open file until it is closed."""

    def __init__(self, fcntl: ModuleType) -> None:
        self._fcntl = fcntl

    def acquire(self, fd: int) -> None:
        try:
            self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileBusyError() from None

    def release(self, fd: int) -> None:
        self._fcntl.flock(fd, self._fcntl.LOCK_UN)


class MsvcrtLock:
    """Windows: ``msvcrt.locking(LK_NBLCK)`` on one byte at :data:`LOCK_OFFSET`.

    ``msvcrt.locking`` locks from the file position, so the position is moved there and
    back to the end (a file opened with ``O_APPEND`` writes at the end whatever the
    position, but ``fstat`` and readers see nothing of this). Windows releases a lock
    some time after its handle closes, so :meth:`release` unlocks explicitly.
    """

    def __init__(self, msvcrt: ModuleType) -> None:
        self._msvcrt = msvcrt

    def _at_lock_byte(self, fd: int, mode: int) -> None:
        os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
        try:
            self._msvcrt.locking(fd, mode, 1)
        finally:
            os.lseek(fd, 0, os.SEEK_END)

    def acquire(self, fd: int) -> None:
        try:
            self._at_lock_byte(fd, self._msvcrt.LK_NBLCK)
        except OSError as exc:
            # The C runtime reports a byte locked by someone else as EACCES.
            if exc.errno == errno.EACCES:
                raise FileBusyError() from None
            raise

    def release(self, fd: int) -> None:
        self._at_lock_byte(fd, self._msvcrt.LK_UNLCK)


def platform_lock() -> FileLock:
    """``flock`` where ``fcntl`` imports (Linux, macOS), else ``msvcrt.locking`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        pass
    else:
        return FlockLock(fcntl)
    try:
        import msvcrt
    except ImportError:
        raise OSError(
            errno.ENOSYS, "no file lock on this platform (neither fcntl nor msvcrt imports)"
        ) from None
    return MsvcrtLock(msvcrt)


def open_append(path: str | Path) -> int:
    """Open ``path`` for appending bytes exactly as written (binary mode on Windows)."""
    return os.open(path, APPEND_FLAGS | getattr(os, "O_BINARY", 0), 0o644)


def try_writing(path: Path) -> None:
    """Raise ``OSError`` unless ``path`` can be opened for appending, leaving no file behind
    that was not there (the command line checks its files before anything starts; folders
    it had to make stay)."""
    if path.exists():
        with path.open("ab"):
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb"):
        pass
    path.unlink()


def writable(path: Path) -> None:
    """Raise :class:`~btclib.errors.SinkError` naming ``path`` unless it can be appended
    to (the folder is made, the file created if missing: it is about to be written)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
    except OSError as exc:
        raise SinkError(exc.errno, f"cannot write {path}: {exc.strerror}") from exc


def writable_set(base: str | Path) -> None:
    """Raise :class:`~btclib.errors.SinkError` unless files of set ``base`` can be created
    (the folder is made; nothing is left behind: the set's files are made when their first
    line comes)."""
    base = Path(base)
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        probe = base.with_name(f".{base.name}.{os.getpid()}.probe")
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise SinkError(exc.errno, f"cannot write in {base.parent}: {exc.strerror}") from exc
