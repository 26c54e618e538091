"""Sinks for weeks: a data file switched daily or by size, and one file per market.

Why not in :class:`~btclib.files.sink.LineSink` itself: the recorder's hot loop calls
``sink.append`` and ``sink.flush`` once per frame, and a plain recording must not pay for
rotation it does not use. :class:`RotatingSink` is a ``LineSink`` whose ``flush`` first
asks the pure rule :func:`btclib.files.rotation.due` whether the chunk it is about to hand over
belongs in a new file; ``append`` is untouched. :class:`SplitSink` routes each line to its
market's sink (plain or rotating) by the line key's symbol.

A switch happens between two chunks of whole lines, so every line is in exactly one file.
The new file is opened and locked on the event loop (the lock moves with the file: the new
one is held before the old one is let go); the descriptors are swapped in the writer's
order (:meth:`LineSink._in_order`: at once when nothing is queued, else by the writer
thread after the queued chunks). A helper thread then fsyncs, unlocks and closes the old
file and gzips it (:func:`btclib.files.rotation.compress`); the open file is never compressed.
When a sink opens, closed files of its set still uncompressed (a run stopped or crashed
before compressing them) are compressed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SinkError
from .datafile import FileLock, writable, writable_set
from .rotation import (
    Compressed,
    Rotation,
    Switch,
    compress,
    due,
    file_key,
    market_of,
    member_name,
    parse_rotate,
    parse_split,
    set_files,
)
from .sink import FileReport, LineSink, Sink

__all__ = ["Compressed", "Output", "RotatingSink", "SplitSink", "Switch", "open_sink"]


class RotatingSink(LineSink):
    """A :class:`LineSink` over the set of files named by ``base`` (see
    :mod:`btclib.files.rotation` for the names), switched by ``rotation``.

    ``clock`` gives the time in seconds since the epoch (tests pass their own to cross a
    midnight without waiting for one). ``on_switch(Switch)`` runs on the event loop at
    each switch, ``on_compressed(Compressed)`` there when a closed file is compressed
    (or failed to be). :meth:`aclose` waits for the compressions under way.
    """

    def __init__(
        self,
        base: str | Path,
        rotation: Rotation,
        *,
        market: str | None = None,
        clock: Callable[[], float] = time.time,
        on_switch: Callable[[Switch], None] | None = None,
        on_compressed: Callable[[Compressed], None] | None = None,
        compress_write: Callable[[Any, bytes], object] | None = None,
        **options: Any,
    ) -> None:
        self.base = Path(base)
        super().__init__(self.base, **options)
        self.rotation = rotation
        self.market = market
        self.clock = clock
        self.on_switch = on_switch
        self.on_compressed = on_compressed
        self.file_lines = 0
        """Lines handed to the current file by this sink."""
        self._compress_write = compress_write
        self._handed = 0
        self._key = ""
        self._until = float("inf")
        self._workers: list[threading.Thread] = []
        self._outcomes: list[Compressed] = []

    def open(self) -> None:
        """Pick the file to write (today's, or the last numbered one with room), open it,
        and compress the set's closed files left uncompressed."""
        now = self.clock()
        mine = self._members()
        keys = [key for key, _ in mine if key]
        key = self.rotation.first_key(now, keys)
        path = member_name(self.base, self.market, key)
        gz = path.with_name(path.name + ".gz")
        limit = self.rotation.max_bytes
        if not self.rotation.daily and (
            gz.exists()  # closed (a finished copy even if the original is still there)
            or (limit is not None and path.exists() and path.stat().st_size >= limit)
        ):
            key = self.rotation.next_key(now, key)
            path = member_name(self.base, self.market, key)
        elif gz.exists():
            _reopen(path, gz)  # a day's file compressed early (the clock went back?)
        self.path, self._key, self._until = path, key, self.rotation.until(key)
        self._opened = path
        super().open()
        self._handed = self.size
        leftovers = [p for k, p in mine if k and k != key and not p.name.endswith(".gz")]
        for stale in self.base.parent.glob(f"{self.base.stem}.*{self.base.suffix}.gz.part"):
            where = file_key(self.base, stale.with_name(stale.name.removesuffix(".gz.part")))
            if where is not None and where[0] == (self.market or ""):  # not another market's
                with contextlib.suppress(OSError):
                    stale.unlink()  # an unfinished compression: its original is still there
        if leftovers:
            self._start(self._compress_all, leftovers)

    def _members(self) -> list[tuple[str, Path]]:
        """``(key, path)`` of this market's files of the set, in order."""
        found = []
        for path in set_files(self.base):
            where = file_key(self.base, path)
            if where is not None and where[0] == (self.market or ""):
                found.append((where[1], path))
        return found

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        """See :meth:`Sink.start_fields`: the first file and the rule too."""
        fields = super().start_fields(files)
        return {**fields, "file": str(self.path), "rotate": str(self.rotation)}

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        """See :meth:`Sink.stop_fields`: the last file's end (``lines`` is the whole set's)."""
        end_line = files.end_line(self.path, self.file_lines)
        return {"end_offset": self.size, "end_line": end_line, "file": str(self.path)}

    def watch(self, files: FileReport) -> None:
        self.on_switch, self.on_compressed = files.switched, files.compressed

    def lines_in_file(self) -> int:
        return self.file_lines

    def flush(self) -> None:
        """Switch files first if the rule says so, then hand the lines over."""
        pending = self._pending_bytes
        if pending:
            limit = self.rotation.max_bytes
            if due(self.clock(), self._until, self._handed, pending, limit):
                self._switch()
            self._handed += pending
            self.file_lines += len(self._pending)
        super().flush()

    def _switch(self) -> None:
        now = self.clock()
        key = self.rotation.next_key(now, self._key)
        path = member_name(self.base, self.market, key)
        try:
            fd, lock, size = self._open_file(path)
        except OSError as exc:
            self._until = float("inf")  # the lines stay in the current file; the run stops
            self._fail(exc)
            return
        switch = Switch(self._next_path(), self._handed, self.file_lines, path, size, self.market)
        self._key, self._until = key, self.rotation.until(key)
        self._handed, self.file_lines, self._opened = size, 0, path
        self._in_order(functools.partial(self._swap, fd, lock, size, path))
        if self.on_switch is not None:
            self.on_switch(switch)

    _opened: Path | None = None

    def _next_path(self) -> Path:
        """The file the loop's lines go to now (the writer may still be on an older one)."""
        return self._opened or self.path

    def _swap(self, fd: int, lock: FileLock, size: int, path: Path) -> None:
        """In the writer's order: write into the new file from now on, retire the old."""
        old = (self._fd, self._file_lock, self.path)
        self._fd, self._file_lock, self._size, self.path = fd, lock, size, path
        self._start(self._retire, *old)

    def _start(self, target: Callable[..., None], *args: Any) -> None:
        worker = threading.Thread(target=target, args=args, name="btclib-rotate", daemon=True)
        self._workers.append(worker)
        worker.start()

    def _retire(self, fd: int, lock: FileLock | None, path: Path) -> None:
        """Sync, unlock and close a file written to the end; then compress it."""
        try:
            self._sync(fd)
        except OSError as exc:
            self._fail(exc)
        finally:
            if lock is not None:
                with contextlib.suppress(OSError):
                    lock.release(fd)
            os.close(fd)
        if self.error is None:
            self._compress_all([path])

    def _compress_all(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                outcome = Compressed(path, compress(path, write=self._compress_write))
            except (OSError, zlib.error) as exc:
                outcome = Compressed(path, None, f"cannot compress {path}: {exc}")
            self._outcomes.append(outcome)
            loop = self._loop
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(self._report)

    def _report(self) -> None:
        while self._outcomes:
            outcome = self._outcomes.pop(0)
            if self.on_compressed is not None:
                self.on_compressed(outcome)

    async def aclose(self) -> None:
        """Close the current file, then wait for the compressions under way."""
        try:
            await super().aclose()
        finally:
            workers, self._workers = self._workers, []
            if workers:
                await asyncio.to_thread(lambda: [w.join() for w in workers])
            self._report()


def _reopen(path: Path, gz: Path) -> None:
    """Bring back a compressed file to append to it: ``path`` (a superset when both
    exist: the ``.gz`` is then a finished copy whose original was not yet removed)."""
    if not path.exists():
        import gzip

        with gzip.open(gz, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
            dst.flush()
            os.fsync(dst.fileno())
    gz.unlink()


class SplitSink:
    """One sink per market, made when the market's first line comes: a :class:`Sink`.

    ``make(market)`` builds a market's sink (not yet open). Routing costs a search for
    ``@`` and a dict lookup per line. The markets' files are reported to the events log as
    they open (``file`` events), each one's switches and compressions too.
    """

    def __init__(
        self,
        base: str | Path,
        make: Callable[[str], LineSink],
        rotation: Rotation | None = None,
        fsync_interval: float = 1.0,
    ) -> None:
        self.base = self.path = Path(base)
        self.rotation = rotation
        """How each market's files are switched (``None``: not at all)."""
        self.make = make
        self.sinks: dict[bytes, LineSink] = {}
        self.failed = asyncio.Event()
        self.fsync_interval = fsync_interval
        self._files: FileReport | None = None
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None
        self._dirty: set[LineSink] = set()
        self._full: LineSink | None = None
        self._open = False
        self._error: SinkError | None = None
        self._unopened = 0
        """Lines of markets whose file could not be opened (the run then stops)."""

    def start_fields(self, files: FileReport) -> dict[str, Any]:
        """See :meth:`Sink.start_fields`: no single start (each market's file says its own)."""
        self._files = files
        for sink in self.sinks.values():
            sink.watch(files)
        fields: dict[str, Any] = {"offset": None, "line": None, "split": "market"}
        if self.rotation is not None:
            fields["rotate"] = str(self.rotation)
        return fields

    def stop_fields(self, files: FileReport, lines: int) -> dict[str, Any]:
        """See :meth:`Sink.stop_fields`: each market's last file and where it ends."""
        ends = {
            str(part.path): {
                "end_offset": part.size,
                "end_line": files.end_line(part.path, part.lines_in_file()),
            }
            for part in self.sinks.values()
        }
        return {"end_offset": None, "end_line": None, "files": ends}

    @property
    def size(self) -> int:
        """0: a split set has no single offset (each file's is in the events log)."""
        return 0

    @property
    def lines(self) -> int:
        return sum(sink.lines for sink in self.sinks.values())

    @property
    def dropped(self) -> int:
        return self._unopened + sum(sink.dropped for sink in self.sinks.values())

    @property
    def error(self) -> Exception | None:
        if self._error is not None:
            return self._error
        return next((s.error for s in self.sinks.values() if s.error is not None), None)

    @property
    def waiting(self) -> bool:
        return any(sink.waiting for sink in self.sinks.values())

    @property
    def queued_bytes(self) -> int:
        return sum(sink.queued_bytes for sink in self.sinks.values())

    def behind(self) -> None:
        """Files alone: no copy beyond them."""
        return None

    def open(self) -> None:
        """Start the one thread that fsyncs every market's file (each at most once per
        ``fsync_interval``): thousands of markets must not mean thousands of such threads.
        The markets' sinks are made with ``fsync_interval=None``."""
        self._open = True
        self._syncer = threading.Thread(target=self._sync_all, name="btclib-fsync", daemon=True)
        self._syncer.start()

    def _sync_all(self) -> None:
        synced: dict[LineSink, int] = {}
        while not self._closing.wait(self.fsync_interval):
            for sink in list(self.sinks.values()):
                synced[sink] = sink.sync_if_written(synced.get(sink, 0))

    def _sink(self, line: bytes) -> LineSink | None:
        """The line's market's sink, opened on its first line (None: it cannot be)."""
        key = line[: line.find(b"@")]
        sink = self.sinks.get(key)
        if sink is None:
            market = market_of(line)
            sink = self.make(market)
            sink.failed = self.failed  # one event for the set: any file failing stops the run
            if self._files is not None:
                sink.watch(self._files)
            try:
                sink.open()
            except SinkError as exc:  # locked by another recorder, no permission, ...
                self._error = self._error or exc
                self._unopened += 1
                self.failed.set()
                return None
            self.sinks[key] = sink
            if self._files is not None:
                self._files.opened(market, sink.path, sink.size)
        return sink

    def append(self, line: bytes) -> bool:
        sink = self._sink(line)
        if sink is None:
            return True  # counted in ``dropped``; ``failed`` stops the run
        if not sink.append(line):
            self._full = sink
            return False
        self._dirty.add(sink)
        return True

    def write(self, line: bytes) -> None:
        sink = self._sink(line)
        if sink is not None:
            sink.write(line)

    def flush(self) -> None:
        dirty = self._dirty
        while dirty:
            dirty.pop().flush()

    async def room(self) -> None:
        self.flush()
        full, self._full = self._full, None
        if full is not None:
            await full.room()

    async def aclose(self) -> None:
        """Close every market's file; raise the first error."""
        self.flush()
        self._closing.set()
        if self._syncer is not None:
            await asyncio.to_thread(self._syncer.join)  # before the files close under it
        errors: list[OSError] = [self._error] if self._error is not None else []
        for sink in self.sinks.values():
            try:
                await sink.aclose()
            except OSError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


@dataclass(frozen=True)
class Output:
    """Where a run's lines go: one file, or with ``rotation``/``split`` the base name of a
    set of files (:mod:`btclib.files.rotation`). Made once at the door
    (:meth:`parse`), checked once (:meth:`check_writable`), opened by the recorder
    (:meth:`sink`)."""

    path: Path
    rotation: Rotation | None = None
    split: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.path, str | os.PathLike):
            raise ValueError("rotate and split belong to the sink when a sink is given")
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def parse(
        cls, path: str | Path, rotate: str | Rotation | None = None, split: str | None = None
    ) -> Output:
        """From the user's words: ``rotate`` ``"daily"`` or a size, ``split`` ``"market"``
        (a :class:`ValueError` saying what is wrong otherwise)."""
        return cls(Path(path), parse_rotate(rotate), parse_split(split))

    @property
    def plain(self) -> bool:
        """One file, neither rotated nor split."""
        return self.rotation is None and self.split is None

    def check_writable(self) -> None:
        """Raise :class:`~btclib.errors.SinkError` naming the file (or the set's folder)
        unless the lines can be written: a plain file is created if missing; a set's
        files are made when their first line comes, so only its folder is tried."""
        if self.plain:
            writable(self.path)
        else:
            writable_set(self.path)

    def sink(self, *, clock: Callable[[], float] = time.time, **options: Any) -> Sink:
        """The sink, not yet open (:func:`open_sink`)."""
        return open_sink(self.path, rotate=self.rotation, split=self.split, clock=clock, **options)


def open_sink(
    base: str | Path,
    *,
    rotate: str | Rotation | None = None,
    split: str | None = None,
    clock: Callable[[], float] = time.time,
    **options: Any,
) -> Sink:
    """The sink for ``rotate`` and ``split`` (see :mod:`btclib.files.rotation`), not yet open.

    ``options`` go to each :class:`LineSink` (``fsync_interval``, ``max_queued_bytes``).
    """
    rotation, split = parse_rotate(rotate), parse_split(split)
    base = Path(base)

    def one(market: str | None) -> LineSink:
        if rotation is None:
            return LineSink(member_name(base, market, None), **options)
        return RotatingSink(base, rotation, market=market, clock=clock, **options)

    if split is None:
        return one(None)
    interval = options.pop("fsync_interval", 1.0)
    options["fsync_interval"] = None  # the split sink's one thread syncs them all
    return SplitSink(base, one, rotation=rotation, fsync_interval=interval)
