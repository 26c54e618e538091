"""The spool: every line not yet acknowledged by the broker, on disk beside the data file.

Why on disk and not only in memory: the broker may be away for minutes (a restart, a
network cut, a cluster without quorum), and the recorder itself may be killed meanwhile;
a line the broker never acknowledged must still be there for the next run to send. So
each line handed to the publisher is first appended to a segment file of the spool
(one ``os.write`` per flush of the recorder, the lines exactly as in the data file),
and each line is known by its run and its sequence number in that run: a segment is
named ``<run>.<first sequence>.lines`` and holds consecutive lines, so the number is the
position and nothing else needs to be stored with it. ``<run>.run.json`` says how far the
broker has acknowledged the run in order (``acked``, and the stream sequence of that
line, ``stream_seq``) and how far lines were ever sent (``sent``: those after it cannot
be in the stream yet). Segments whose lines are all acknowledged are deleted.

Bounded: past ``max_bytes`` of unacknowledged lines, new lines are not spooled (and so
not published); they are counted and the events log says so. They are still in the data
file, which stays the local truth. A spool folder is locked by the recorder using it.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..files.datafile import FileLock, platform_lock

__all__ = ["SEGMENT_BYTES", "RunSpool", "Spool", "spool_path"]

SEGMENT_BYTES = 16 * 1024 * 1024
"""A segment file is closed at this size and a new one begun (deleted once acknowledged)."""


def spool_path(data_file: str | Path) -> Path:
    """The spool folder of a data file (or of a set's base name): ``<name>.spool``."""
    data_file = Path(data_file)
    return data_file.with_name(data_file.name + ".spool")


@dataclass
class _Segment:
    first: int
    path: Path
    count: int = 0
    size: int = 0


@dataclass
class RunSpool:
    """One run's lines in the spool: where they are and how far they are acknowledged."""

    folder: Path
    run: str
    acked: int = 0
    """Every line up to this sequence number is in the stream, in order."""
    stream_seq: int = 0
    """The stream sequence of line ``acked`` (0: none yet)."""
    sent: int = 0
    """No line after this one was ever sent: those cannot be in the stream."""
    end: int = 1
    """The sequence number the next line will get."""
    segments: list[_Segment] = field(default_factory=list)
    following: bool = False
    """Written by another process (the recorder), read here as it grows (:meth:`follow`):
    the last segment is never deleted, the writer may still be appending to it."""
    _fd: int = -1
    _tail: tuple[int, int] = (0, 0)  # (first sequence of the segment followed, byte offset)
    _cursor: tuple[int, int, int] | None = None  # (segment index, byte offset, seq) to read next

    @property
    def meta(self) -> Path:
        return self.folder / f"{self.run}.run.json"

    @property
    def pending_bytes(self) -> int:
        return sum(s.size for s in self.segments)

    def append(self, chunk: bytes, count: int) -> None:
        """Append ``count`` whole lines (``chunk``) as sequence numbers ``end`` onwards."""
        seg = self.segments[-1] if self.segments and self._fd >= 0 else None
        if seg is None or seg.size >= SEGMENT_BYTES:
            self._close_fd()
            seg = _Segment(self.end, self.folder / f"{self.run}.{self.end:012d}.lines")
            self.segments.append(seg)
            self._fd = os.open(seg.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        view, done = memoryview(chunk), 0
        while done < len(chunk):
            done += os.write(self._fd, view[done:])
        seg.count += count
        seg.size += len(chunk)
        self.end += count

    def read(self, seq: int, max_bytes: int) -> list[bytes]:
        """Lines from sequence ``seq`` on (up to about ``max_bytes``), read back from disk."""
        if self._cursor is None or self._cursor[2] != seq:
            self._cursor = self._locate(seq)
        if self._cursor is None:
            return []
        index, offset, at = self._cursor
        out: list[bytes] = []
        size = 0
        while index < len(self.segments) and size < max_bytes:
            seg = self.segments[index]
            with seg.path.open("rb") as f:
                f.seek(offset)
                data = f.read(max(max_bytes - size, 1 << 16))
            lines = data.split(b"\n")
            whole = lines[:-1]  # the last piece is cut short (or empty at the end)
            remaining = seg.first + seg.count - at
            whole = whole[:remaining]
            for line in whole:
                out.append(line + b"\n")
                offset += len(line) + 1
                size += len(line) + 1
            at += len(whole)
            if at >= seg.first + seg.count:
                index, offset = index + 1, 0
            elif not whole:
                break  # a line longer than the buffer: read more next time
        self._cursor = (index, offset, at)
        return out

    def _locate(self, seq: int) -> tuple[int, int, int] | None:
        for index, seg in enumerate(self.segments):
            if seg.first <= seq < seg.first + seg.count:
                offset = 0
                with seg.path.open("rb") as f:
                    skip = seq - seg.first
                    while skip:
                        line = f.readline()
                        offset += len(line)
                        skip -= 1
                return index, offset, seq
        return None

    def save(self) -> None:
        """Write how far the run is acknowledged (atomically) and delete what is done."""
        while len(self.segments) > 1 or (self.segments and self._fd < 0 and not self.following):
            seg = self.segments[0]
            if seg.first + seg.count - 1 > self.acked:
                break
            with contextlib.suppress(OSError):
                seg.path.unlink()
            self.segments.pop(0)
            if self._cursor is not None:
                index, offset, at = self._cursor
                self._cursor = (index - 1, offset, at) if index > 0 else None
        meta = {"run": self.run, "acked": self.acked, "stream_seq": self.stream_seq,
                "sent": self.sent, "end": self.end}  # fmt: skip
        tmp = self.meta.with_name(self.meta.name + ".tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, self.meta)

    def follow(self, max_bytes: int = 4 << 20) -> list[bytes]:
        """The whole lines another process appended since the last call (a following run)."""
        known = {seg.first for seg in self.segments}
        for path in sorted(self.folder.glob(f"{self.run}.*.lines")):
            first = int(path.name.split(".")[-2])
            if first not in known and first >= self.end:
                self.segments.append(_Segment(first, path))
        self.segments.sort(key=lambda seg: seg.first)
        out: list[bytes] = []
        size = 0
        while size < max_bytes:
            first, offset = self._tail
            seg = next((x for x in self.segments if x.first == first), None)
            if seg is None:  # the first call: the segment holding line ``end``
                seg = next((x for x in self.segments if x.first == self.end), None)
                if seg is None:
                    break
                self._tail = first, offset = seg.first, 0
            try:
                with seg.path.open("rb") as f:
                    f.seek(offset)
                    data = f.read(max_bytes - size)
            except OSError:
                break
            whole = data[: data.rfind(b"\n") + 1]
            if whole:
                lines = [line + b"\n" for line in whole.split(b"\n")[:-1]]
                out.extend(lines)
                seg.count += len(lines)
                seg.size += len(whole)
                self.end += len(lines)
                size += len(whole)
                self._tail = seg.first, offset + len(whole)
                continue
            following = next((x for x in self.segments if x.first == self.end), None)
            if following is None or following is seg:
                break  # nothing new yet
            self._tail = following.first, 0  # the writer moved on to the next segment
        return out

    def sync(self) -> None:
        """``fsync`` the open segment (from a thread: it may take a while)."""
        fd = self._fd
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(fd)

    def done(self) -> bool:
        return self.acked >= self.end - 1

    def remove(self) -> None:
        """Every line acknowledged: nothing of this run stays in the spool."""
        self._close_fd()
        for seg in self.segments:
            with contextlib.suppress(OSError):
                seg.path.unlink()
        self.segments.clear()
        with contextlib.suppress(OSError):
            self.meta.unlink()

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Spool:
    """The spool folder: the runs left unacknowledged by earlier recorders, and ours."""

    def __init__(self, folder: str | Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._lock: FileLock | None = None
        self._lock_fd = -1

    def open(self, *, lock: bool = True, skip: frozenset[str] = frozenset()) -> list[RunSpool]:
        """Create and lock the folder; the earlier runs with lines still unacknowledged,
        oldest first (runs left fully acknowledged are removed). The publisher's own
        process (:mod:`btclib.broker.worker`) reads a folder its recorder holds locked
        (``lock=False``), leaving the recorder's current run (``skip``) alone."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if lock:
            self._lock_fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                self._lock = platform_lock()
                self._lock.acquire(self._lock_fd)
            except OSError:
                os.close(self._lock_fd)
                self._lock_fd = -1
                raise
        left = []
        for meta in sorted(self.folder.glob("*.run.json"), key=lambda p: p.stat().st_mtime):
            if meta.name.removesuffix(".run.json") in skip:
                continue
            try:
                info = json.loads(meta.read_text())
            except (OSError, ValueError):
                continue
            run = RunSpool(self.folder, str(info["run"]), int(info["acked"]),
                           int(info["stream_seq"]), int(info["sent"]))  # fmt: skip
            for path in sorted(self.folder.glob(f"{run.run}.*.lines")):
                first = int(path.name.split(".")[-2])
                data = path.read_bytes()
                whole = data[: data.rfind(b"\n") + 1]  # a torn last line: never handed over
                run.segments.append(_Segment(first, path, whole.count(b"\n"), len(whole)))
            run.end = (
                run.segments[-1].first + run.segments[-1].count if run.segments else run.acked + 1
            )
            if run.done():
                run.remove()
            else:
                left.append(run)
        return left

    def new_run(self, run: str) -> RunSpool:
        spool = RunSpool(self.folder, run)
        spool.save()
        return spool

    def close(self, runs: list[RunSpool]) -> None:
        for run in runs:
            if run.done():
                run.remove()
            else:
                run.save()
                run._close_fd()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.release(self._lock_fd)
            self._lock = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
