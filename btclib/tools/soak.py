"""``python -m btclib soak``: the recorder against the simulator while random faults rain.

Each fault test injects one fault; real outages come mixed. The soak records
both exchanges from the simulator for ``duration`` seconds while the
simulator draws faults at random from the catalogue
(:class:`~btclib.simulator.chaos.RandomFaults`: drops with and without close
frames, per-stream stalls, garbage and foreign-stream frames, shutdown
notices and lifetime cuts, 429 on a reconnect) and the data file's disk has
slow bursts (:class:`SlowDisk`), all drawn from one seed (a fresh one unless
given, printed first so a failure can be replayed).

At the end :func:`check` compares the data file with the simulator's own log
of what it sent (spooled to disk as it goes, so a long soak does not hold it
in memory), computing each expected line without btclib's parsers
(:mod:`btclib.simulator.expected`): every data message sent while a
connection was up is in the file exactly once, byte for byte, in order per
connection (a message both connections sent during a make-before-break
rotation belongs there once); no torn line; every time an exchange had no
connection at all is a gap in the events log, and the trades missed add up;
memory stayed bounded (RSS sampled while it ran). The last line printed is::

    soak: F faults, S data messages sent while connected, W written, L lost, D duplicated, T torn

and the exit status is 0 only when L, D and T are 0 (and the gaps and memory
checks passed).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import hashlib
import json
import math
import os
import pickle
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..files.eventlog import events as read_events
from ..files.sink import LineSink
from ..recorder import RecorderOptions, record_feeds
from ..simulator import SentFrame, SimConfig, Simulator
from ..simulator.chaos import Odds, RandomFaults
from ..simulator.expected import expected_line, message_key
from ..simulator.link import ConnectionSpan
from ..steps.steps import build_feeds
from .soak_btcrec import BINARY as BTCREC
from .soak_btcrec import Btcrec, events_of, options_args, rss_of

__all__ = [
    "OPTIONS",
    "RECORDERS",
    "MemoryCheck",
    "SentSpool",
    "SlowDisk",
    "SoakResult",
    "Verdict",
    "add_arguments",
    "check",
    "compare",
    "main",
    "run",
    "soak",
]

#: The recorder's timings in a soak: as in the fault tests, short, so faults come thick.
OPTIONS = RecorderOptions(
    backoff_base=0.05,
    backoff_cap=0.5,
    open_timeout=2.0,
    close_timeout=0.5,
    check_interval=0.05,
    progress_interval=0.5,
    overlap_max=2.0,
    rotation_retry=1.0,
    max_queued_bytes=256 * 1024,
)

#: The recorders a soak can run: btclib's, and btcrec (the C++ twin in cpp/).
RECORDERS = ("python", "cpp")

#: Recorder events that mean the recorder itself dropped a connection at once:
#: frames the simulator sent on it after that moment were never meant to arrive.
_RECORDER_CUTS = ("stall", "silent")

#: Seconds between two samples of the recorder's memory.
RSS_EVERY = 0.5

#: Seconds of leeway between the simulator's and the recorder's view of a close.
_SLACK = 0.25


# -- What the simulator sent, kept on disk -------------------------------------------------------


class SentSpool:
    """The simulator's log of data frames sent (``Simulator(sent=...)``), spooled to a file.

    Each frame is stamped with the wall-clock time it was handed to the socket,
    so the check can leave out what was sent after the recorder itself cut a
    connection. On disk, so that the soak's own bookkeeping does not grow its
    memory while RSS is being watched.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: BinaryIO | None = path.open("wb")

    def append(self, frame: SentFrame, /) -> None:
        assert self._file is not None, "spool closed"
        self.count += 1
        pickle.dump(
            (time.time(), frame.conn_id, frame.exchange, frame.payload, frame.binary), self._file
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def frames(self) -> Iterator[tuple[float, SentFrame]]:
        """``(time sent, frame)`` in send order."""
        self.close()
        with self.path.open("rb") as f:
            while True:
                try:
                    at, conn_id, exchange, payload, binary = pickle.load(f)
                except EOFError:
                    return
                yield at, SentFrame(conn_id, exchange, payload, binary)


# -- A disk with slow bursts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """From ``start`` to ``end`` (seconds from the soak's start) each write takes ``delay``."""

    start: float
    end: float
    delay: float


class SlowDisk:
    """A data file's disk that now and then turns slow for a while (``LineSink(write=...)``).

    The bursts are drawn up front from ``rng``; :meth:`delay` is the pure rule
    (seconds a write at ``t`` takes); :meth:`write` is the ``os.write`` stand-in.
    """

    def __init__(
        self,
        rng: random.Random,
        duration: float,
        *,
        every: tuple[float, float] = (2.0, 8.0),
        length: tuple[float, float] = (0.2, 1.5),
        delay: tuple[float, float] = (0.01, 0.2),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bursts: list[Burst] = []
        t = rng.uniform(*every) / 2
        while t < duration:
            end = t + rng.uniform(*length)
            self.bursts.append(Burst(round(t, 3), round(end, 3), round(rng.uniform(*delay), 3)))
            t = end + rng.uniform(*every)
        self._starts = [b.start for b in self.bursts]
        self._clock = clock
        self._t0 = clock()
        #: Bursts that slowed at least one write.
        self.hit: set[int] = set()

    def delay(self, t: float) -> tuple[int, float]:
        """(burst index, seconds) for a write ``t`` seconds after the start; (-1, 0) when fast."""
        i = bisect.bisect_right(self._starts, t) - 1
        if i >= 0 and t < self.bursts[i].end:
            return i, self.bursts[i].delay
        return -1, 0.0

    def write(self, fd: int, data: memoryview) -> int:
        i, seconds = self.delay(self._clock() - self._t0)
        if seconds:
            self.hit.add(i)
            time.sleep(seconds)  # the disk is slow: this thread (or the loop, once) waits
        return os.write(fd, data)


# -- Memory ----------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


@dataclass(frozen=True)
class MemoryCheck:
    """RSS samples of a run, judged: memory must stop growing once the run is warm.

    Bounded means: the highest RSS of the last third of the run is no more than
    ``slack`` bytes (or 25 %) above the highest of the first third. A leak of a
    few bytes per message grows steadily and fails it; queues filling during a
    slow-disk burst and draining again do not.
    """

    samples: tuple[tuple[float, int], ...]
    slack: int = 48 * 1024 * 1024

    @property
    def start(self) -> int:
        return self.samples[0][1] if self.samples else 0

    @property
    def peak(self) -> int:
        return max((r for _, r in self.samples), default=0)

    @property
    def end(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def _third(self, which: int) -> int:
        n = len(self.samples)
        part = self.samples[which * n // 3 : (which + 1) * n // 3] or self.samples
        return max((r for _, r in part), default=0)

    @property
    def bounded(self) -> bool:
        if len(self.samples) < 3:
            return True
        first, last = self._third(0), self._third(2)
        return last <= first + max(self.slack, first // 4)

    def text(self) -> str:
        mb = 1024 * 1024
        return (
            f"RSS {self.start / mb:.0f} MB at start, {self._third(0) / mb:.0f} MB in the first "
            f"third, {self._third(2) / mb:.0f} MB in the last, peak {self.peak / mb:.0f} MB, "
            f"{len(self.samples)} samples: {'bounded' if self.bounded else 'GROWING'}"
        )


# -- The check -------------------------------------------------------------------------------------


def _digest(line: bytes) -> bytes:
    return hashlib.blake2b(line, digest_size=16).digest()


@dataclass
class Verdict:
    """What the data file holds compared with what the simulator sent."""

    #: Distinct data messages sent while a connection was up (rotation copies count once);
    #: a frame sent after the recorder cut its connection counts only if it was read all the same.
    sent: int = 0
    #: Whole lines in the file that are the line of a message sent.
    written: int = 0
    #: Messages sent while connected missing from the file (or not where their
    #: connection's order put them: see ``out_of_order``).
    lost: int = 0
    #: Lines in the file beyond one per message.
    duplicated: int = 0
    #: Lines that are no message's line (a fragment, two lines run together, an unfinished end).
    torn: int = 0
    #: Messages found later than their connection's order allows (counted in ``lost`` too).
    out_of_order: int = 0
    #: Frames sent on a connection after the recorder itself had cut it (not expected).
    after_cut: int = 0
    #: Times an exchange had no connection at all (before the end), and those the
    #: events log names as a gap.
    breaks: int = 0
    breaks_logged: int = 0
    #: Trades missed per stream: holes in the ids sent while connected, and the events log's sum.
    missed_sent: dict[str, int] = field(default_factory=dict)
    missed_logged: dict[str, int] = field(default_factory=dict)
    #: Plain-words problems (the first few of each kind).
    problems: list[str] = field(default_factory=list)

    @property
    def gaps_explained(self) -> bool:
        return self.breaks == self.breaks_logged and self.missed_sent == self.missed_logged

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.torn) and self.gaps_explained

    def note(self, problem: str) -> None:
        if len(self.problems) < 30:
            self.problems.append(problem)


@dataclass(slots=True)
class _Expected:
    at: float
    key: Hashable
    digest: bytes


class _Connection:
    """One simulator connection's frames in send order, and how far the file has used them."""

    def __init__(self, conn_id: int) -> None:
        self.conn_id = conn_id
        self.frames: list[_Expected] = []
        self.at: dict[bytes, list[int]] = defaultdict(list)
        self.next = 0

    def add(self, item: _Expected) -> None:
        self.at[item.digest].append(len(self.frames))
        self.frames.append(item)

    def head(self, written: set[Hashable]) -> _Expected | None:
        """The next frame not yet written by any connection (copies already written are skipped)."""
        frames = self.frames
        while self.next < len(frames) and frames[self.next].key in written:
            self.next += 1
        return frames[self.next] if self.next < len(frames) else None

    def find(self, digest: bytes, written: set[Hashable]) -> int | None:
        """The first later frame with this line whose message is not written yet."""
        spots = self.at.get(digest, ())
        for j in spots[bisect.bisect_left(spots, self.next) :]:
            if self.frames[j].key not in written:
                return j
        return None


def _cuts(events: Sequence[dict[str, Any]], spans: Sequence[ConnectionSpan], v: Verdict):
    """Simulator connection id -> when the recorder itself cut it (wall clock).

    The recorder's connections and the simulator's are matched in order per
    exchange (the recorder opens one at a time per exchange and logs it at once).
    """
    ours: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if e.get("event") == "connected":
            ours[e["exchange"]].append(e["conn"])
    theirs: dict[str, list[int]] = defaultdict(list)
    for span in spans:
        theirs[span.info.exchange].append(span.info.conn_id)
    mapping: dict[int, int] = {}
    for exchange in set(ours) | set(theirs):
        if len(ours[exchange]) != len(theirs[exchange]):
            v.note(
                f"{exchange}: the recorder logged {len(ours[exchange])} connections, "
                f"the simulator accepted {len(theirs[exchange])}"
            )
            continue
        mapping.update(zip(ours[exchange], theirs[exchange], strict=True))
    cuts: dict[int, float] = {}
    for e in events:
        if e.get("event") in _RECORDER_CUTS and e.get("conn") in mapping:
            sim_id = mapping[e["conn"]]
            cuts[sim_id] = min(cuts.get(sim_id, math.inf), e["time"])
    return cuts


def _breaks(
    spans: Sequence[ConnectionSpan], events: Sequence[dict[str, Any]], stop: float, v: Verdict
) -> None:
    """Every time an exchange had no connection open (before ``stop``) must be a logged gap."""
    gaps: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.get("event") == "gap" and e.get("start") is not None:
            gaps[e["exchange"]].append(e["start"])
    for exchange in {s.info.exchange for s in spans}:
        moments = []
        for s in spans:
            if s.info.exchange == exchange:
                moments.append((s.opened, 1, s.opened))
                if s.closed is not None:
                    moments.append((s.closed, -1, s.opened))
        moments.sort(key=lambda m: (m[0], -m[1]))
        # A break: (the last connection up opened, it closed, the next one opened).
        up, down, found = 0, None, []
        for at, step, opened in moments:
            if up == 0 and step > 0 and down is not None:
                found.append((*down, at))
                down = None
            up += step
            if up == 0:
                down = (opened, at)
        if down is not None:
            found.append((*down, math.inf))
        found = [(o, a, b) for o, a, b in found if a < stop - 1.0]  # the soak's end is no break
        logged = sorted(gaps[exchange])
        v.breaks += len(found)
        for opened, a, b in found:
            # The recorder may see the close before the simulator's side of it has ended.
            match = next((g for g in logged if opened <= g <= min(b, stop) + _SLACK), None)
            if match is None:
                v.note(f"{exchange}: no connection from {a:.3f} to {b:.3f}, no gap logged for it")
            else:
                logged.remove(match)
                v.breaks_logged += 1


def _trade_holes(keys: Iterable[Hashable]) -> dict[str, int]:
    """Per trade stream keyed by trade id, the ids never sent between the first and last sent.

    A message key ``(exchange, "<market>@trade", id)`` (:func:`~btclib.simulator.expected.
    message_key`) names a trade stream whose ids grow by one (Binance's); an exchange
    whose trades carry no such id keys them by connection and position, and has no holes.
    """
    ids: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        if (
            isinstance(key, tuple)
            and len(key) == 3
            and isinstance(key[1], str)
            and key[1].endswith("@trade")
            and isinstance(key[2], int)
        ):
            ids[key[1]].add(key[2])
    return {s: max(i) - min(i) + 1 - len(i) for s, i in ids.items()}


def check(
    sent: Iterable[tuple[float, SentFrame]],
    data: bytes | Iterable[bytes],
    events: Sequence[dict[str, Any]],
    spans: Sequence[ConnectionSpan] = (),
    *,
    stop: float = math.inf,
) -> Verdict:
    """Compare a data file (its bytes, or its lines) with what the simulator sent.

    ``sent``: ``(time sent, frame)`` in send order; ``events``: the events
    log's records; ``spans``: when each simulator connection was up; ``stop``:
    when the soak told the source to end (wall clock).

    The file's lines are walked in order and matched to each connection's
    frames in that connection's order; a copy of a message already written
    (the other connection of a rotation) is skipped, not lost. A frame skipped
    over is lost unless its message turns up from another connection; one
    that turns up later from the same connection is out of order.
    """
    v = Verdict()
    cuts = _cuts(events, spans, v) if spans else {}
    conns: dict[int, _Connection] = {}
    exchange_of: dict[int, str] = {}
    keys_of: dict[bytes, list[Hashable]] = defaultdict(list)
    required: set[Hashable] = set()
    optional: set[Hashable] = set()
    for n, (at, frame) in enumerate(sent):
        key = message_key(frame, n)
        digest = _digest(expected_line(frame))
        if key not in required and key not in optional:
            keys_of[digest].append(key)
        if at > cuts.get(frame.conn_id, math.inf):
            v.after_cut += 1
            if key not in required:
                optional.add(key)
            continue
        optional.discard(key)
        required.add(key)
        conn = conns.get(frame.conn_id)
        if conn is None:
            conn = conns[frame.conn_id] = _Connection(frame.conn_id)
            exchange_of[frame.conn_id] = frame.exchange
        conn.add(_Expected(at, key, digest))
    v.sent = len(required)
    written: set[Hashable] = set()
    skipped: set[Hashable] = set()
    active = list(conns.values())
    for line in _lines(data):
        if not line.endswith(b"\n"):
            v.torn += 1
            v.note(f"unfinished last line: {line[:80]!r}")
            continue
        digest = _digest(line)
        keys = keys_of.get(digest)
        if keys is None:
            v.torn += 1
            v.note(f"torn line (no message's line): {line[:80]!r}")
            continue
        v.written += 1
        heads = [(c, c.head(written)) for c in active]
        active = [c for c, h in heads if h is not None]  # used up: nothing more to match
        now = [(h.at, c.conn_id) for c, h in heads if h is not None and h.digest == digest]
        if now:
            conn = conns[min(now)[1]]
            written.add(conn.frames[conn.next].key)
            conn.next += 1
            continue
        later = [
            (conn.frames[j].at, conn.conn_id, j)
            for conn in active
            if (j := conn.find(digest, written)) is not None
        ]
        if later:
            _, conn_id, j = min(later)
            conn = conns[conn_id]
            skipped.update(f.key for f in conn.frames[conn.next : j] if f.key not in written)
            written.add(conn.frames[j].key)
            conn.next = j + 1
            continue
        late = next((k for k in keys if k in skipped and k not in written), None)
        if late is not None:
            v.out_of_order += 1
            v.note(f"out of order: {line[:80]!r}")
            written.add(late)
            continue
        extra = next((k for k in keys if k in optional and k not in written), None)
        if extra is not None:  # sent after the recorder's cut, yet read: it was connected
            written.add(extra)
            v.sent += 1
            continue
        v.duplicated += 1
        v.note(f"duplicated: {line[:80]!r}")
    missing = required - written
    v.lost = len(missing) + v.out_of_order
    for conn in conns.values():
        for f in conn.frames:
            if f.key in missing and len(v.problems) < 30:
                v.note(
                    f"lost: {exchange_of[conn.conn_id]} connection {conn.conn_id}, "
                    f"sent at {f.at:.6f}: {f.key}"
                )
    if spans:
        _breaks(spans, events, stop, v)
    # A trade sent after the recorder's cut that it read all the same was not missed.
    v.missed_sent = _trade_holes(required | (optional & written))
    logged: dict[str, int] = dict.fromkeys(v.missed_sent, 0)
    for e in events:
        if e.get("event") == "gap":
            for stream, n in (e.get("missed") or {}).items():
                logged[stream] = logged.get(stream, 0) + n
    v.missed_logged = {s: n for s, n in logged.items() if n or s in v.missed_sent}
    if v.missed_sent != v.missed_logged:
        v.note(f"trades missed: {v.missed_sent} in what was sent, {v.missed_logged} in the log")
    return v


def compare(sent: Iterable[SentFrame], data: bytes | Iterable[bytes]) -> Verdict:
    """:func:`check` for a run whose every frame sent was meant to be read (a fault test's
    ``Simulator.sent``, no send times): each data message is in ``data`` exactly once, byte
    for byte, in its connection's order; a message both connections of a make-before-break
    rotation sent counts once. The behaviour suite (tests/behaviour) judges both recorders
    with it."""
    return check(((float(n), frame) for n, frame in enumerate(sent)), data, [])


def _lines(data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray):
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
            yield bytes(data[start:end])
            start = end
    else:
        yield from data


# -- The run ---------------------------------------------------------------------------------------


@dataclass
class SoakResult:
    """A soak's outcome: what it injected, what the check found, and the final line."""

    seed: int
    duration: float
    faults: int
    fault_kinds: dict[str, int]
    verdict: Verdict
    memory: MemoryCheck
    error: str | None = None
    folder: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.verdict.ok and self.memory.bounded

    def line(self) -> str:
        v = self.verdict
        return (
            f"soak: {self.faults} faults, {v.sent} data messages sent while connected, "
            f"{v.written} written, {v.lost} lost, {v.duplicated} duplicated, {v.torn} torn"
        )

    def report(self) -> list[str]:
        """What the check found, the final line last."""
        v = self.verdict
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.fault_kinds.items()))
        lines = [f"soak: seed {self.seed}, {self.duration:g} s; faults: {kinds or 'none'}"]
        lines.append(
            f"soak: gaps: {v.breaks} times an exchange had no connection, "
            f"{v.breaks_logged} of them logged; trades missed {v.missed_sent} sent, "
            f"{v.missed_logged} logged; {v.after_cut} frames sent after the recorder cut "
            f"their connection (not expected)"
        )
        lines.append(f"soak: memory: {self.memory.text()}")
        if v.out_of_order:
            lines.append(f"soak: {v.out_of_order} messages out of order (counted as lost)")
        lines += [f"soak: problem: {p}" for p in v.problems]
        if self.error:
            lines.append(f"soak: the recorder stopped: {self.error}")
        if self.folder is not None:
            lines.append(f"soak: files kept in {self.folder}")
        lines.append(self.line())
        return lines


def fresh_seed() -> int:
    return secrets.randbelow(2**31)


def _fault_name(fault: object) -> str:
    name = type(fault).__name__.lower()
    if name == "drop":
        return "drop with close frame" if getattr(fault, "close_code", None) else "drop"
    if name == "shutdown":
        return "shutdown notice" if getattr(fault, "notice", None) else "lifetime cut"
    if name == "malformed":
        return f"malformed {fault.kind}"  # type: ignore[attr-defined]
    if name == "stall":
        channels = "/".join(fault.channels or ("all",))  # type: ignore[attr-defined]
        return f"stall {channels}" + ("" if fault.duration is None else " (hiccup)")  # type: ignore[attr-defined]
    if name == "refuse":
        return f"refuse {fault.status}"  # type: ignore[attr-defined]
    return name


async def run(
    duration: float,
    seed: int | None = None,
    *,
    folder: str | Path | None = None,
    speedup: float = 10.0,
    odds: Odds | None = None,
    options: RecorderOptions = OPTIONS,
    stall_after: float = 1.0,
    progress: Callable[[str], None] | None = None,
    progress_every: float | None = None,
    recorder: str = "python",
) -> SoakResult:
    """Record from a faulty simulator for ``duration`` seconds, then check the file.

    ``seed`` draws the market, the faults and the disk's slow bursts (a fresh
    one when None; read it back from the result). Files go to ``folder``, or
    to a temporary folder removed afterwards unless the soak failed.
    ``progress`` receives a line now and then (faults so far, messages, time
    left). ``recorder``: ``python`` (btclib's) or ``cpp`` (btcrec, cpp/build/btcrec,
    with the same timings, the same slow disk and the same check; memory is btcrec's).
    """
    if recorder not in RECORDERS:
        raise ValueError(f"recorder must be one of {', '.join(RECORDERS)}, not {recorder!r}")
    if not duration > 0 or not math.isfinite(duration):
        raise ValueError(f"duration must be a positive number of seconds, not {duration!r}")
    seed = fresh_seed() if seed is None else seed
    own_folder = folder is None
    work = Path(tempfile.mkdtemp(prefix="btclib-soak-")) if folder is None else Path(folder)
    work.mkdir(parents=True, exist_ok=True)
    out, events_path = work / "soak.txt", work / "soak.events.jsonl"
    spool = SentSpool(work / "sent.pickle")
    disk = SlowDisk(random.Random(f"{seed}/disk"), duration)
    config = SimConfig(
        seed=seed,
        speedup=speedup,
        record_sent=True,
        faults=RandomFaults(seed, odds or Odds()),  # type: ignore[arg-type]
    )
    every = progress_every or max(1.0, min(10.0, duration / 20))
    samples: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with Simulator(config, sent=spool) as sim:

        async def watch(rss: Callable[[], int]) -> None:
            next_report = started + every
            while True:
                now = loop.time()
                samples.append((now - started, rss()))
                if progress is not None and now >= next_report:
                    next_report += every
                    progress(
                        f"soak: {max(0.0, started + duration - now):.0f} s left, "
                        f"{len(sim.fired) + len(disk.hit)} faults, "
                        f"{spool.count} data messages sent"
                    )
                await asyncio.sleep(RSS_EVERY)

        if recorder == "cpp":
            stop, error, events = await _soak_btcrec(
                sim, work, disk, duration, watch, options, stall_after
            )
        else:
            stop, error = await _soak_btclib(
                sim, out, events_path, disk, duration, watch, options, stall_after
            )
            events = list(read_events(events_path))
    fired = [_fault_name(f.fault) for f in sim.fired if f.time <= stop]
    fired += ["slow disk"] * len(disk.hit)
    kinds: dict[str, int] = defaultdict(int)
    for name in fired:
        kinds[name] += 1
    with out.open("rb") as f:
        verdict = check(spool.frames(), f, events, sim.spans, stop=stop)
    result = SoakResult(
        seed, duration, len(fired), dict(kinds), verdict, MemoryCheck(tuple(samples)), error
    )
    _write_timeline(work / "soak.timeline.txt", sim, disk, stop)
    if own_folder:
        if result.ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            result.folder = work
    return result


_Watch = Callable[[Callable[[], int]], Coroutine[Any, Any, None]]


async def _soak_btclib(
    sim: Simulator,
    out: Path,
    events_path: Path,
    disk: SlowDisk,
    duration: float,
    watch: _Watch,
    options: RecorderOptions,
    stall_after: float,
) -> tuple[float, str | None]:
    """btclib's recorder for ``duration`` s; then the source ends. (stop time, error)."""
    sink = LineSink(
        out,
        write=disk.write,
        max_queued_bytes=options.max_queued_bytes,
        fsync_interval=options.fsync_interval,
    )
    error: str | None = None
    finish = asyncio.Event()
    feeds = build_feeds("both", sim.urls, stall_after=stall_after)
    task = asyncio.create_task(
        record_feeds(feeds, sink, events_path=events_path, options=options, finish=finish)
    )
    watcher = asyncio.create_task(watch(rss_bytes))
    await asyncio.wait({task}, timeout=duration)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    stop = time.time()
    if task.done():
        error = _failure(task) or "the recorder stopped by itself"
    finish.set()
    await sim.stop()
    if not task.done():
        try:
            await asyncio.wait_for(task, 30.0)
        except Exception as exc:  # reported, not raised: the soak failed
            error = f"{type(exc).__name__}: {exc}"
    return stop, error


async def _soak_btcrec(
    sim: Simulator,
    work: Path,
    disk: SlowDisk,
    duration: float,
    watch: _Watch,
    options: RecorderOptions,
    stall_after: float,
) -> tuple[float, str | None, list[dict[str, Any]]]:
    """btcrec for ``duration`` s (:mod:`.soak_btcrec`); then the source ends, btcrec reads
    each connection to its close and is interrupted. (stop time, error, its events)."""
    run = Btcrec(work / "soak.txt", work / "soak.summary.json", disk.write)
    run.start(sim.urls, options_args(options, stall_after), BTCREC)
    assert run.proc is not None
    pid = run.proc.pid
    watcher = asyncio.create_task(watch(lambda: rss_of(pid)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    while run.running and loop.time() < deadline:
        await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    stop = time.time()
    error = None if run.running else "btcrec stopped by itself"
    await sim.stop()
    if not await asyncio.to_thread(run.wait_closed, 30.0):
        error = error or "btcrec did not see every connection close within 30 s"
    code = await asyncio.to_thread(run.stop)
    if run.errors():
        error = "; ".join(run.errors())
    elif code not in (0, 130):
        error = error or f"btcrec exit status {code}"
    events = events_of(run.said)
    with (work / "soak.btcrec.stderr").open("w") as f:  # beside the files, for a failure
        f.writelines(f"{at:.6f} {line}" for at, line in run.said)
    summary = json.loads(run.summary_json.read_text()) if run.summary_json.is_file() else {}
    trades = [s for s in summary.get("lines", {}) if s.endswith("@trade")]
    if len(trades) == 1:  # btcrec counts missed trades per run, not per gap
        events.append(
            {"event": "gap", "start": None, "missed": {trades[0]: summary["missed_trades"]}}
        )
    return stop, error, events


def _write_timeline(path: Path, sim: Simulator, disk: SlowDisk, stop: float) -> None:
    """What the simulator did and when, beside the files, to read a failure against the events."""
    rows = [
        (s.opened, f"open  {s.info.exchange} #{s.info.conn_id} (attempt {s.info.index})")
        for s in sim.spans
    ]
    rows += [
        (s.closed, f"close {s.info.exchange} #{s.info.conn_id}")
        for s in sim.spans
        if s.closed is not None
    ]
    rows += [
        (f.time, f"fault {f.exchange} #{f.conn_id} (attempt {f.index}): {f.fault}")
        for f in sim.fired
    ]
    rows.append((stop, "stop"))
    rows.sort()
    lines = [f"{at:.6f} {text}" for at, text in rows]
    lines += [f"slow disk: {b}" for i, b in enumerate(disk.bursts) if i in disk.hit]
    path.write_text("\n".join(lines) + "\n")


def _failure(task: asyncio.Task[Any]) -> str | None:
    exc = task.exception()
    return None if exc is None else f"{type(exc).__name__}: {exc}"


def soak(duration: float, seed: int | None = None, **kwargs: Any) -> SoakResult:
    """Blocking :func:`run`."""
    return asyncio.run(run(duration, seed, **kwargs))


# -- The command -----------------------------------------------------------------------------------


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r}: the duration must be more than 0 seconds")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the seed must be 0 or more")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``soak``: ``--duration S``, ``--seed N``, ``--recorder python|cpp``."""
    parser.add_argument(
        "--duration",
        type=_duration,
        default=30.0,
        metavar="S",
        help="seconds of recording under random faults (default: 30)",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="draw the market, the faults and the slow disk from this seed "
        "(default: a fresh one, printed first)",
    )
    parser.add_argument(
        "--recorder",
        choices=RECORDERS,
        default="python",
        help="btclib's recorder (python, default) or btcrec, the C++ twin (cpp: build it "
        "first with make cpp)",
    )


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """Run a soak, print what it found (the final line last); 0 only when it passed.

    ``args``: parsed options (``duration``, ``seed``, ``recorder``), or a command line.
    """
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(prog="python -m btclib soak")
        add_arguments(parser)
        args = parser.parse_args(args)
    seed = fresh_seed() if args.seed is None else args.seed
    recorder = getattr(args, "recorder", "python")
    which = "" if recorder == "python" else f" --recorder {recorder}"
    print(
        f"soak: seed {seed}, {args.duration:g} s, recorder {recorder} (reproduce: python -m "
        f"btclib soak --duration {args.duration:g} --seed {seed}{which})",
        flush=True,
    )

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        result = soak(args.duration, seed, progress=progress, recorder=recorder)
    except FileNotFoundError as exc:  # btcrec not built
        print(f"soak: error: {exc}", file=sys.stderr, flush=True)
        return 1
    for line in result.report():
        print(line, flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
