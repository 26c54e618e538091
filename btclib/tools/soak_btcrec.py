"""btcrec, the C++ recorder, under the fault soak (``python -m btclib soak --recorder cpp``).

The soak's check (:func:`btclib.tools.soak.check`) needs to know what the recorder did and
when: which connections it opened, which it cut itself (a stall, a silent connection: frames
the simulator sent on them afterwards were never meant to arrive), and each gap. btclib
writes that to its events log; btcrec has none (cpp/README.md) but says each of these on
stderr the moment it happens, one line each (``btcrec: binance #3: connected to ...``). A
thread reads those lines as they come and stamps each with the wall clock (a thread, so a
busy event loop cannot delay the stamps), and :func:`events_of` turns them into the events
log's records.

btcrec's data file is a FIFO drained by another thread through the soak's
:class:`~btclib.tools.soak.SlowDisk`: its writer thread meets the same slow bursts as
btclib's sink does, waiting in ``write(2)`` while the disk is slow.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bench.cpp import BINARY

__all__ = ["BINARY", "Btcrec", "events_of", "options_args"]

_SAID = re.compile(r"^btcrec: (?P<exchange>\w+)(?: #(?P<conn>\d+))?: (?P<text>.*)$")
_REPLACES = re.compile(r"^rotated: #\d+ replaces #(?P<old>\d+)")

#: Seconds a stamp may lag behind the moment btcrec cut a connection (the stderr line's
#: way through a pipe and a thread): frames sent this long before the stamp count as sent
#: after the cut (read or not, neither is a fault).
STAMP_SLACK = 0.1


def options_args(options: Any, stall_after: float) -> list[str]:
    """The soak's recorder timings (:data:`btclib.tools.soak.OPTIONS`) in btcrec's words."""
    return [
        "--stall-after", f"{stall_after:g}",
        "--backoff-base", f"{options.backoff_base:g}",
        "--backoff-cap", f"{options.backoff_cap:g}",
        "--check-interval", f"{options.check_interval:g}",
        "--overlap-max", f"{options.overlap_max:g}",
    ]  # fmt: skip


def events_of(said: Sequence[tuple[float, str]]) -> list[dict[str, Any]]:
    """btcrec's stderr lines, ``(wall-clock time, line)``, as events log records.

    ``connected`` (``conn`` is ``exchange#n``: btcrec numbers each exchange's connections
    from 1), ``stall`` for a connection btcrec dropped itself (stalled, or silent since it
    opened), ``gap`` when it waits to reconnect (its ``start``: the time it said so).
    """
    out: list[dict[str, Any]] = []
    for at, line in said:
        m = _SAID.match(line.rstrip("\n"))
        if m is None:
            continue
        exchange, conn, text = m["exchange"], m["conn"], m["text"]
        record: dict[str, Any] = {"time": at, "exchange": exchange}
        if conn is not None:
            record["conn"] = f"{exchange}#{conn}"
        if conn is not None and text.startswith("connected to"):
            out.append({**record, "event": "connected"})
        elif conn is not None and text.startswith("dropped: "):
            out.append({**record, "event": "stall", "time": at - STAMP_SLACK, "cause": text})
        elif conn is None and text.startswith("reconnect in"):
            out.append({**record, "event": "gap", "start": at, "missed": {}})
    return out


def open_connections(said: Sequence[tuple[float, str]]) -> set[str]:
    """Connections btcrec said it opened and has not said it closed or replaced."""
    open_: set[str] = set()
    for _, line in said:
        m = _SAID.match(line.rstrip("\n"))
        if m is None or m["conn"] is None:
            continue
        key, text = f"{m['exchange']}#{m['conn']}", m["text"]
        if text.startswith("connected to"):
            open_.add(key)
        elif text.startswith("closed:"):
            open_.discard(key)
        elif replaced := _REPLACES.match(text):
            open_.discard(f"{m['exchange']}#{replaced['old']}")
    return open_


def rss_of(pid: int) -> int:
    """Resident memory of process ``pid`` now (Linux ``/proc``; 0 elsewhere or once gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class Btcrec:
    """One btcrec run of the soak: the process, its stderr as it came, its slow disk."""

    out: Path
    summary_json: Path
    write: Callable[[int, memoryview], int]
    #: ``(wall-clock time, line)`` of everything btcrec said on stderr, in order.
    said: list[tuple[float, str]] = field(default_factory=list)
    stdout: str = ""
    proc: subprocess.Popen[bytes] | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _changed: threading.Event = field(default_factory=threading.Event)
    _holder: int | None = None

    def start(self, urls: dict[str, str], args: Sequence[str], binary: Path = BINARY) -> None:
        """Start ``btcrec record both`` writing into a FIFO at ``out``'s side, drained into
        ``out`` through ``write``."""
        if not os.access(binary, os.X_OK):
            raise FileNotFoundError(f"{binary} is not built: run `make cpp`")
        fifo = self.out.with_name(self.out.name + ".fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open before btcrec's writer
        os.set_blocking(reader, True)
        # A writer of our own until btcrec has ended: reading waits for btcrec's lines
        # instead of seeing the end of the file before btcrec opened it.
        self._holder = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        command = [
            str(binary), "record", "both", "--out", str(fifo),
            "--summary-json", str(self.summary_json),
            "--binance-url", urls["binance"], "--upbit-url", urls["upbit"], *args,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._spawn(self._drain, reader, fifo)
        self._spawn(self._listen)
        self._spawn(self._read_stdout)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="soak-btcrec", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _drain(self, reader: int, fifo: Path) -> None:
        """The slow disk: what btcrec writes into the FIFO goes to ``out`` through ``write``."""
        fd = os.open(self.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while chunk := os.read(reader, 1 << 16):
                view = memoryview(chunk)
                while view:
                    view = view[self.write(fd, view) :]
        finally:
            os.close(fd)
            os.close(reader)
            with contextlib.suppress(OSError):
                fifo.unlink()

    def _listen(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.said.append((time.time(), raw.decode("utf-8", "replace")))
            self._changed.set()
        self._changed.set()

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        self.stdout = self.proc.stdout.read().decode("utf-8", "replace")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def errors(self) -> list[str]:
        return [line.strip() for _, line in self.said if line.startswith("btcrec: error:")]

    def wait_closed(self, timeout: float) -> bool:
        """Block until every connection btcrec opened is closed (or it ended); False after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while open_connections(self.said) and self.running:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            self._changed.wait(min(left, 0.1))
        return True

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT (btcrec writes its last whole lines and its summary), kill if it lingers;
        then wait for the disk to take everything. Returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._holder is not None:
            os.close(self._holder)  # btcrec has ended: the disk reads to the end
            self._holder = None
        for thread in self._threads:
            thread.join(timeout)
        return code
