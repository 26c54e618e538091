"""Step F's fault lab: Step C recorded from the simulator while it does what the student chose.

Why a lab: the recorder's supervision (reconnects, stall detection, make-before-break
rotation, bad frames counted and never written, a slow disk moved to a thread) is invisible on
a good day. Here the student picks the faults, the simulator plants them on a fixed schedule
drawn from a seed, and the run shows what the recorder did: the events log, a timeline, the
summary, the quality card, and the soak checker's verdict (:func:`btclib.tools.soak.check`)
that every data message the simulator sent while a connection was up is in the file exactly
once, byte for byte, in order.

The plan (:class:`Plan`) names faults from :data:`FAULTS`; :func:`rules` turns it into the
simulator's :class:`~btclib.simulator.faults.Faults` and a slow-disk schedule, with times
scaled to the run's duration so each fault has time to happen and heal. A 451 (a region
block) ends a run by design, so it is shown in a short run of its own (:func:`refused_451`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BtclibError
from ..files.eventlog import events_path as events_path_of
from ..files.runs import events as read_events
from ..files.sink import LineSink
from ..recorder import Progress, RecorderOptions, RunSummary, record_feeds
from ..recorder.record import RunContext
from ..simulator import SimConfig, Simulator
from ..simulator.faults import (
    Drop,
    Faults,
    Malformed,
    MalformedKind,
    Refuse,
    Rule,
    Shutdown,
    Stall,
)
from ..steps.progress import ProgressFn, make_progress
from ..steps.steps import build_feeds, interrupt_stops
from .soak import OPTIONS, SentSpool, SlowDisk, Verdict, check

__all__ = ["FAULTS", "Controls", "LabRun", "Plan", "controls", "explain", "refused_451", "rules",
           "run"]  # fmt: skip

FAULTS: dict[str, str] = {
    "drop": "Binance drops the connection without a close frame (the client sees 1006)",
    "stall": "Binance's book stream goes silent while its trades keep flowing",
    "shutdown": "Binance's 24-hour cut, announced by serverShutdown (here after seconds)",
    "malformed": "Upbit sends an HTML error page and a frame cut in the middle",
    "slow_disk": "the disk turns slow for a while (each write takes 50 ms)",
    "rate_limit": "Binance closes the connection with 1008, as it does past 5 messages a second",
}
"""The faults a plan can name, with what each does."""

STALL_AFTER = 1.0
"""Seconds of silence on one stream before the lab's recorder replaces the connection (the
production limits are longer: tens of seconds; short here so a short run shows it)."""


@dataclass(frozen=True)
class Plan:
    """What the simulator does wrong, and when: ``faults`` from :data:`FAULTS`, over
    ``duration`` seconds, the market and the faults' details drawn from ``seed``."""

    faults: tuple[str, ...] = tuple(FAULTS)
    duration: float = 20.0
    seed: int = 2026

    def __post_init__(self) -> None:
        unknown = [f for f in self.faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}: choose from {', '.join(FAULTS)}")
        if not self.duration >= 8:
            raise ValueError(f"the lab needs 8 s or more to show faults heal, not {self.duration}")


def rules(plan: Plan) -> tuple[Faults, SlowDisk | None]:
    """The simulator's fault rules for ``plan`` and its slow disk (None when not chosen).

    Binance's faults come one after another, each on the connection the one before opened
    (drop on the first, stall on the next, shutdown on the next, the rate-limit close on the
    replacement the shutdown's rotation opened); Upbit's malformed frames on its first
    connection. Times are fractions of the duration, nudged by the seed.
    """
    rng = random.Random(f"{plan.seed}/lab")
    d = plan.duration
    chosen: list[Rule] = []
    binance = 0
    if "drop" in plan.faults:
        chosen.append(Rule(Drop(after_seconds=round(d * rng.uniform(0.12, 0.18), 2)),
                           exchange="binance", connection=binance))  # fmt: skip
        binance += 1
    if "stall" in plan.faults:
        chosen.append(Rule(Stall(after_seconds=round(d * rng.uniform(0.08, 0.12), 2),
                                 channels=("depth",)), exchange="binance",
                           connection=binance))  # fmt: skip
        binance += 1
    if "shutdown" in plan.faults:
        chosen.append(Rule(Shutdown(after_seconds=round(d * rng.uniform(0.18, 0.22), 2),
                                    notice=1.0), exchange="binance",
                           connection=binance))  # fmt: skip
        binance += 1  # the replacement the rotation opens
    if "rate_limit" in plan.faults:
        chosen.append(Rule(Drop(after_seconds=round(d * rng.uniform(0.12, 0.16), 2),
                                close_code=1008), exchange="binance",
                           connection=binance))  # fmt: skip
    if "malformed" in plan.faults:
        chosen.append(Rule(Malformed(MalformedKind.NOT_JSON, after_messages=rng.randint(4, 8)),
                           exchange="upbit", connection=0))  # fmt: skip
        chosen.append(Rule(Malformed(MalformedKind.TRUNCATED, after_messages=rng.randint(9, 14)),
                           exchange="upbit", connection=0))  # fmt: skip
    disk = None
    if "slow_disk" in plan.faults:
        start = d * rng.uniform(0.55, 0.65)
        disk = SlowDisk(random.Random(f"{plan.seed}/disk"), d, every=(2 * start, 2 * start),
                        length=(1.5, 1.5), delay=(0.05, 0.05))  # fmt: skip
    return Faults(tuple(chosen)), disk


@dataclass
class LabRun:
    """What one lab run did, for the timeline, the words and the verdict."""

    plan: Plan
    path: Path
    events_path: Path
    summary: RunSummary
    verdict: Verdict
    started: float
    """Wall-clock time (epoch s) the recording started: the timeline's zero."""
    stopped: float
    spans: list[tuple[str, int, float, float]]
    """Each connection the simulator accepted: exchange, id, opened and closed (s from start)."""
    fired: list[tuple[float, str, str]]
    """Each fault that took effect: seconds from start, exchange, what it was."""
    samples: list[tuple[float, int]]
    """(seconds from start, lines written so far), every quarter second."""
    slow: list[tuple[float, float]] = field(default_factory=list)
    """The slow disk's bursts that slowed a write (start, end, s from start)."""
    events: list[dict[str, Any]] = field(default_factory=list)

    def verdict_text(self) -> str:
        """The soak checker's verdict in a sentence or two."""
        v = self.verdict
        said = (
            f"The simulator sent {v.sent} data messages while a connection was up; the file "
            f"holds {v.written} of them, each once and whole: {v.lost} lost, {v.duplicated} "
            f"duplicated, {v.torn} torn, {v.out_of_order} out of order. The exchanges were "
            f"without any connection {v.breaks} time(s), and the events log names "
            f"{v.breaks_logged} gap(s)."
        )
        if v.problems:
            said += " Problems: " + "; ".join(v.problems)
        return said

    def planted(self) -> list[str]:
        """What took effect, each kind once, in the order first seen."""
        return list(dict.fromkeys(what for _, _, what in self.fired))

    @property
    def nothing_lost(self) -> bool:
        return self.verdict.ok


def _name(fault: object) -> str:
    if isinstance(fault, Drop):
        return f"close {fault.close_code}" if fault.close_code else "drop (no close frame)"
    if isinstance(fault, Stall):
        return f"stall {'/'.join(fault.channels or ('all',))}"
    if isinstance(fault, Shutdown):
        return "serverShutdown" if fault.notice else "lifetime cut"
    if isinstance(fault, Malformed):
        return f"malformed ({fault.kind})"
    if isinstance(fault, Refuse):
        return f"HTTP {fault.status}"
    return type(fault).__name__


async def run(
    plan: Plan,
    out: str | Path,
    *,
    options: RecorderOptions = OPTIONS,
    progress: str | ProgressFn | None = "auto",
) -> LabRun:
    """Record Step C from the simulator with ``plan``'s faults into ``out`` (a fresh file:
    the checker compares the whole file with what was sent), then check it. ``progress`` is
    ``btclib.record``'s (the notebook bar in Jupyter), fed every quarter second."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    events_path = events_path_of(out)
    for stale in (out, events_path):
        stale.unlink(missing_ok=True)
    faults, disk = rules(plan)
    show = make_progress(progress, "fault lab")
    with tempfile.TemporaryDirectory(prefix="btclib-lab-") as scratch:
        spool = SentSpool(Path(scratch) / "sent.pickle")
        config = SimConfig(seed=plan.seed, speedup=1.0, record_sent=True, faults=faults)
        samples: list[tuple[float, int]] = []
        async with Simulator(config, sent=spool) as sim:
            if disk is not None:  # every write goes through the slow disk's clock
                sink = LineSink(out, write=disk.write, max_queued_bytes=options.max_queued_bytes,
                                fsync_interval=options.fsync_interval)  # fmt: skip
            else:
                sink = LineSink(out, max_queued_bytes=options.max_queued_bytes,
                                fsync_interval=options.fsync_interval)  # fmt: skip
            finish = asyncio.Event()
            feeds = build_feeds("both", sim.urls, stall_after=STALL_AFTER)
            started = time.time()
            simulated = {feed.exchange: "simulator" for feed in feeds}
            context = RunContext(sources=simulated, seed=plan.seed, stop_reason="interrupted")
            task = asyncio.create_task(
                record_feeds(feeds, sink, events_path=events_path, options=options,
                             finish=finish, context=context)
            )  # fmt: skip

            def shown(done: bool = False) -> None:
                t = time.time() - started
                lines = out.read_bytes().count(b"\n") if out.exists() else 0
                samples.append((t, lines))
                if show is not None:
                    show(Progress(elapsed=t, duration=plan.duration, lines=lines,
                                  rate=lines / t if t > 0 else 0.0, per_stream={},
                                  reconnects=len(sim.fired), done=done))  # fmt: skip

            async def watch() -> None:
                while True:
                    shown()
                    await asyncio.sleep(0.25)

            watcher = asyncio.create_task(watch())
            interrupted = asyncio.Event()  # Kernel > Interrupt ends the lab early, cleanly
            waiting = asyncio.create_task(interrupted.wait())
            try:
                with interrupt_stops(interrupted):
                    await asyncio.wait({task, waiting}, timeout=plan.duration,
                                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            finally:
                waiting.cancel()
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                shown(done=True)
                stopped = time.time()
                finish.set()
                await sim.stop()
            summary = await task
            spans = [(s.info.exchange, s.info.conn_id, s.opened - started,
                      (s.closed or stopped) - started) for s in sim.spans]  # fmt: skip
            fired = [(f.time - started, f.exchange, _name(f.fault)) for f in sim.fired]
            events = list(read_events(events_path))
            with out.open("rb") as f:
                verdict = check(spool.frames(), f, events, sim.spans, stop=stopped)
    slow = []
    if disk is not None:
        slow = [(b.start, b.end) for i, b in enumerate(disk.bursts) if i in disk.hit]
        fired += [(b.start, "disk", "slow disk") for i, b in enumerate(disk.bursts)
                  if i in disk.hit]  # fmt: skip
    fired.sort()
    return LabRun(plan, out, events_path, summary, verdict, started, stopped, spans, fired,
                  samples, slow, events)  # fmt: skip


_WORDS = {
    "connected": "connection {conn} opened",
    "subscribed": "subscribed on connection {conn} ({requests} request(s) sent)",
    "bad_frame": "a bad frame on connection {conn}, counted and not written: {detail}",
    "closed": "connection {conn} ended: {cause}",
    "reconnect": "reconnecting in {retry_in} s (backoff)",
    "stall": "no {stream} data for {seconds} s while the socket stayed open: a stall",
    "gap": "gap of {length} s with no connection ({cause}); trades missed: {missed}",
    "server_shutdown": "the server announced its shutdown (serverShutdown) on connection {conn}",
    "rotate": "opening a replacement for connection {conn} before it closes ({reason})",
    "rotated": "connection {conn} took over from {replaced}: lines seen on both written once",
    "connect_failed": "connecting failed: {error}; retrying in {retry_in} s",
    "error": "the run stops: {error}",
    "stop": "the recording stopped ({stopped}): {end_line} lines in the file",
}


def explain(events: Sequence[dict[str, Any]], started: float, limit: int = 60) -> list[str]:
    """The events log in words, one line per event, seconds from the start."""
    out = []
    for e in events:
        kind = e.get("event")
        if kind not in _WORDS:
            continue
        fields = dict(e)
        if kind == "gap":
            fields["length"] = f"{float(e.get('end', 0)) - float(e.get('start', 0)):.2f}"
        if kind == "bad_frame":
            fields["detail"] = str(e.get("detail", ""))[:70]
        try:
            text = _WORDS[kind].format_map(_Default(fields))
        except (ValueError, KeyError):
            text = kind
        where = f"{e.get('exchange')}: " if e.get("exchange") else ""
        out.append(f"{float(e['time']) - started:6.2f} s  {where}{text}")
    return out[:limit] + ([f"... {len(out) - limit} more in the events log"]
                          if len(out) > limit else [])  # fmt: skip


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


async def refused_451(out: str | Path, *, seed: int = 2026) -> str:
    """A short Step A against a simulator that refuses every handshake with HTTP 451: the
    error the run stops with, in the recorder's words (a 451 is not retried)."""
    faults = Faults.of(Rule(Refuse(451), exchange="binance"))
    async with Simulator(SimConfig(seed=seed, faults=faults)) as sim:
        feeds = build_feeds("binance", sim.urls)
        try:
            await record_feeds(feeds, Path(out), duration=5.0)
        except BtclibError as exc:
            return str(exc)
    return "the run was not refused (unexpected: the simulator should have said 451)"


class Controls:
    """The lab's controls in JupyterLab: a check box per fault and a slider for the duration
    (ipywidgets); :attr:`plan` is what they say now. Without ipywidgets (or in the PDF) the
    plan is the one given, and nothing is displayed."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self.widget: Any = None
        try:
            import ipywidgets as widgets
        except ImportError:
            return
        self._boxes = {name: widgets.Checkbox(value=name in plan.faults, description=name,
                                              indent=False) for name in FAULTS}  # fmt: skip
        self._length = widgets.IntSlider(value=int(plan.duration), min=8, max=120,
                                         description="seconds")  # fmt: skip
        for w in [*self._boxes.values(), self._length]:
            w.observe(self._changed, names="value")
        self.widget = widgets.VBox([widgets.HBox(list(self._boxes.values())), self._length])

    def _changed(self, change: Any = None) -> None:
        picked = tuple(n for n, b in self._boxes.items() if b.value)
        self._plan = Plan(faults=picked, duration=self._length.value, seed=self._plan.seed)

    @property
    def plan(self) -> Plan:
        return self._plan

    def text(self) -> str:
        """The plan in words: what each chosen fault does."""
        p = self._plan
        lines = [f"Plan (seed {p.seed}, {p.duration:g} s):"]
        lines += [f"  {name:<11} {FAULTS[name]}" for name in p.faults]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {"text/plain": self.text()}
        if self.widget is not None:
            data.update(self.widget._repr_mimebundle_() or {})
            data["text/plain"] = self.text()
        return data


def controls(plan: Plan) -> Controls:
    """``display(lab_controls := controls(plan))``, then ``lab_controls.plan``."""
    return Controls(plan)
