"""The assignment's three steps as one call each: build the feeds, pick the source, record.

This is the glue a notebook or the command line calls. It knows which
exchanges a step uses and where its file goes (SPEC section 2), by their
names in the registry (:data:`btclib.exchanges.EXCHANGES`): a step per
exchange, ``both`` for the assignment's two in one file, and any exchanges
named together (``binance,upbit,bithumb``) in one file. The recorder below it
knows no exchange, and the exchange modules know no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import exchanges
from ..errors import BtclibError, RecordingError
from ..exchanges.markets import ListingError, fetch_listing, wants_all
from ..feed import Feed
from ..files.capture import CaptureWriter
from ..files.datafile import writable
from ..files.eventlog import events_path
from ..files.rotating import Output
from ..files.rotation import Rotation
from ..recorder import RecorderOptions, RunSummary, record_feeds
from ..recorder.record import RunContext
from .progress import ProgressFn, make_progress
from .sources import Endpoints, live_urls, open_source

__all__ = [
    "DEFAULT_FILES",
    "DEFAULT_STEP",
    "JOIN",
    "STEPS",
    "build_feeds",
    "default_path",
    "events_path",
    "interrupt_stops",
    "make_plan",
    "markets_with_data",
    "perform",
    "record",
    "record_sync",
    "resolve_markets",
    "step_exchanges",
    "writable",
]

STEPS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in exchanges.ASSIGNMENT},
    "both": exchanges.ASSIGNMENT,
    **{name: (name,) for name in exchanges.EXCHANGES if name not in exchanges.ASSIGNMENT},
}
"""Step A, B and C (``binance``, ``upbit``, ``both``: the assignment's exchanges), then a
step for each exchange added since: the exchanges each one records."""

JOIN = ","
"""Exchanges named together make a Step C-style step of them (``binance,upbit,bithumb``)."""

DEFAULT_STEP = next(iter(STEPS))
"""Step A: the first exchange of the registry alone."""

DEFAULT_FILES = {
    **{name: f"stream-data-{name}.txt" for name in exchanges.EXCHANGES},
    "both": "stream-data-multi.txt",
}


def step_exchanges(step: str) -> tuple[str, ...]:
    """The exchanges ``step`` records: a step of :data:`STEPS`, or two or more registry
    names joined by :data:`JOIN` (one connection each, one file, as Step C);
    ``ValueError`` naming the choices otherwise."""
    if step in STEPS:
        return STEPS[step]
    names = tuple(dict.fromkeys(name.strip() for name in step.split(JOIN)))
    if len(names) < 2 or any(name not in exchanges.EXCHANGES for name in names):
        raise ValueError(
            f"unknown step {step!r}: expected one of {', '.join(STEPS)}, "
            f"or exchanges joined by {JOIN!r} ({JOIN.join(exchanges.EXCHANGES)})"
        )
    return names


def default_path(step: str, folder: str | Path = "outputs") -> Path:
    """Where a step's lines go by default: ``outputs/stream-data-<...>.txt`` (exchanges
    named together: ``stream-data-binance-upbit-bithumb.txt``)."""
    name = DEFAULT_FILES.get(step) or f"stream-data-{'-'.join(step_exchanges(step))}.txt"
    return Path(folder) / name


def build_feeds(
    step: str,
    urls: Mapping[str, str] | None = None,
    *,
    stall_after: float | None = None,
    **settings: Any,
) -> list[Feed]:
    """The feeds of a step, one WebSocket connection each.

    ``urls``: exchange name -> endpoint (live by default; a simulator's
    ``Simulator.urls``). ``settings``: the exchanges' options by name
    (``symbol``, ``codes``, ...; see each module's ``OPTIONS``); an option
    not given, or given as ``None``, takes its default. Many markets make
    several feeds per exchange (``make_feeds``: as few connections as the
    exchange's rules allow); ``all`` is resolved first (:func:`resolve_markets`),
    unresolved it stands for the default market.
    """
    names = step_exchanges(step)
    known = {option.name for module in exchanges.EXCHANGES.values() for option in module.OPTIONS}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(
            f"unknown exchange setting(s) {', '.join(unknown)}: "
            f"expected one of {', '.join(sorted(known))}"
        )
    feeds = []
    for name in names:
        module = exchanges.get(name)
        values = {option.name: option.value(settings) for option in module.OPTIONS}
        url = (urls or {}).get(name) or module.LIVE_URL
        feeds.extend(module.make_feeds(url, values, stall_after))
    return feeds


async def resolve_markets(
    names: tuple[str, ...],
    settings: Mapping[str, Any],
    listings: Mapping[str, str],
    announce: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``settings`` with every ``all`` replaced by the exchange's listed markets.

    ``listings``: per exchange, the listing URL of the source chosen for its
    streams (:attr:`btclib.steps.sources.Endpoints.listings`), so the markets and
    their data come from the same place. Markets named beside ``all`` are
    kept after the listed ones. A listing that cannot be fetched or read
    raises :class:`~btclib.exchanges.markets.ListingError` saying why.
    """
    resolved = dict(settings)
    for name in names:
        module = exchanges.get(name)
        value = settings.get(module.MARKETS_OPTION)
        if not wants_all(value):
            continue
        url = listings.get(name) or module.LISTING_URL
        listed = module.parse_listing(await fetch_listing(url, module.TITLE))
        if not listed:
            raise ListingError(f"{module.TITLE}'s listing at {url} names no market to record")
        extra = [v for v in ([value] if isinstance(value, str) else value) if not wants_all(v)]
        resolved[module.MARKETS_OPTION] = [*listed, *extra]
        announce(f"{module.TITLE}: {len(listed)} markets listed by {url}")
    return resolved


def markets_with_data(feeds: list[Feed], lines: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Per exchange: how many of its markets wrote at least one line, of how many asked.

    A market is a line key's part before ``@`` (``btcusdt@trade``, ``btckrw@orderbook``).
    """
    out: dict[str, tuple[int, int]] = {}
    for name in dict.fromkeys(feed.exchange for feed in feeds):
        asked: dict[str, bool] = {}
        for feed in feeds:
            if feed.exchange == name:
                for stream in feed.streams:
                    market = stream.partition("@")[0]
                    asked[market] = asked.get(market, False) or lines.get(stream, 0) > 0
        out[name] = (sum(asked.values()), len(asked))
    return out


@contextlib.contextmanager
def interrupt_stops(stop: asyncio.Event) -> Iterator[None]:
    """While the block runs, the first SIGINT sets ``stop`` instead of cancelling.

    SIGINT is Ctrl+C in a terminal and Kernel > Interrupt in JupyterLab:
    ipykernel's own handler cancels the cell's task, which ends a recording
    with a ``CancelledError`` traceback and no summary. Taken here, it stops
    the recording the way the command line's Ctrl+C does. A second SIGINT
    goes to the handler that was there before (the user insists: a stuck
    stop can still be broken). Signals can only be handled on the main
    thread; elsewhere, or when SIGINT is ignored, nothing changes.
    """
    previous = signal.getsignal(signal.SIGINT)
    if (
        threading.current_thread() is not threading.main_thread()
        or previous is None  # installed outside Python: it could not be put back
        or previous == signal.SIG_IGN
    ):
        yield
        return
    loop = asyncio.get_running_loop()
    presses = 0

    def handler(signum: int, frame: Any) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            loop.call_soon_threadsafe(stop.set)  # wakes the loop; safe at any point
        elif callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        # A handler installed since (ipykernel's, at a cell's end) stays.
        if signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class SourceSpec:
    """Where the data is asked to come from (:func:`btclib.steps.sources.open_source`):
    ``source`` ``auto``/``live``/``sim`` (None: ``BTCLIB_SOURCE``, else ``auto``), a capture
    to ``replay`` at ``speed``, the simulator's ``seed`` and ``sim_options``."""

    source: str | None = None
    replay: str | Path | None = None
    speed: float | str = "max"
    seed: int | None = None
    sim_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    """A run, built and checked once before anything starts, then performed (:func:`perform`).

    Every value in it was parsed at the door (:func:`make_plan`): the step's exchanges, their
    settings, the feeds they make, where the lines and the events go. Nothing here has
    touched the network or the disk.
    """

    step: str
    exchanges: tuple[str, ...]
    settings: dict[str, Any]
    """The exchanges' options by keyword (``all`` not yet resolved: that needs the source)."""
    overrides: dict[str, str | None]
    """Per exchange: the URL the user gave instead of the live one (None: not given)."""
    feeds: list[Feed]
    """The feeds from the live URLs (overrides and environment included): what ``auto``
    probes, and what is recorded when every exchange is live and no ``all`` was asked."""
    output: Output
    events: Path
    """The events log (:func:`btclib.files.eventlog.events_path` of the output)."""
    capture: Path | None = None
    source: SourceSpec = field(default_factory=SourceSpec)
    markets: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Applied to the settings once ``all`` is resolved: a share of the listed markets
    (``--partition K/N``, :class:`btclib.broker.partition.Partition`)."""

    @property
    def probes(self) -> dict[str, str]:
        """The exact URLs ``auto`` tries, the recorder's own: a bare base such as "/" may
        well answer 404 where the feed's URL would not."""
        return {feed.exchange: feed.url for feed in self.feeds}

    def feeds_for(self, endpoints: Endpoints, settings: Mapping[str, Any]) -> list[Feed]:
        """The feeds to record from ``endpoints`` with ``settings`` (``all`` resolved):
        the plan's own when nothing changed, else built anew for the simulator's URLs or
        the listed markets."""
        if settings == self.settings and endpoints.urls == live_urls(self.overrides):
            return self.feeds
        return build_feeds(self.step, endpoints.urls, **settings)


def make_plan(
    step: str,
    settings: Mapping[str, Any],
    output: Output,
    *,
    capture: str | Path | None = None,
    source: SourceSpec | None = None,
) -> Plan:
    """Check every value of a run and build its feeds, before the network or the disk.

    ``settings``: the exchanges' options and ``<exchange>_url`` overrides by keyword (as
    :func:`record` takes them). Raises ``ValueError`` (or ``TypeError`` for an unknown
    keyword) saying what is wrong.
    """
    names = step_exchanges(step)
    settings = dict(settings)
    overrides = {
        name: settings.pop(exchanges.url_keyword(name), None) for name in exchanges.EXCHANGES
    }
    feeds = build_feeds(step, live_urls(overrides), **settings)
    return Plan(
        step=step,
        exchanges=names,
        settings=settings,
        overrides=overrides,
        feeds=feeds,
        output=output,
        events=events_path(output.path),
        capture=Path(capture) if capture is not None else None,
        source=source or SourceSpec(),
    )


async def perform(
    plan: Plan,
    *,
    duration: float | None = 30.0,
    progress: str | ProgressFn | None = "auto",
    options: RecorderOptions | None = None,
    stop: asyncio.Event | None = None,
    stop_reason: str | None = None,
    announce: Callable[[str], None] = print,
    backfill: bool = False,
    metrics: str | None = None,
    clock_ledger: bool = True,
) -> RunSummary:
    """Record ``plan`` (see :func:`record` for what each keyword means): the output is
    checked writable first, then the source chosen, the markets listed, the run recorded."""
    plan.output.check_writable()
    own_stop = asyncio.Event()
    interrupt = contextlib.nullcontext() if stop is not None else interrupt_stops(own_stop)
    wanted = plan.source
    with interrupt:
        async with open_source(
            plan.exchanges,
            wanted.source,
            urls=plan.overrides,
            probe_urls=plan.probes,
            replay=wanted.replay,
            speed=wanted.speed,
            seed=wanted.seed,
            sim_options=wanted.sim_options,
            announce=announce,
        ) as endpoints:
            settings = await resolve_markets(
                plan.exchanges, plan.settings, endpoints.listings, announce
            )
            if plan.markets is not None:
                settings = plan.markets(settings)
            feeds = plan.feeds_for(endpoints, settings)
            tap = None
            if plan.capture is not None:
                tap = CaptureWriter(plan.capture)
                tap.open(feeds, endpoints.sources)
            from ..quality.cards import CardWriter

            cards = CardWriter()  # <file>.check.json beside each file a rotation closes
            context = RunContext(
                sources=endpoints.sources,
                reasons=endpoints.reasons,
                seed=endpoints.seed,
                skipped=endpoints.skipped,
                stop_reason=stop_reason or ("stopped" if stop is not None else "interrupted"),
                on_file_closed=cards.closed,
            )
            kinds = "/".join(dict.fromkeys(endpoints.sources.values()))  # "simulator", once
            shown = make_progress(progress, f"{plan.step} ({kinds})")
            served = None
            if metrics is not None:  # --metrics: Prometheus and /health while it runs
                from ..quality.metrics import serve_while_recording

                served = await serve_while_recording(metrics, feeds, shown)
                shown = served.progress
            ledger = None
            if clock_ledger:  # whose clock is off: clock events in the events log
                from ..quality.backfill import rest_bases
                from ..quality.clock import ClockLedger

                bases = rest_bases(endpoints.listings, endpoints.urls)
                ledger = ClockLedger(bases, plan.events, shown=shown)
                shown = ledger.progress
            try:
                summary = await record_feeds(
                    feeds,
                    plan.output,
                    duration=duration,
                    progress=shown,
                    events_path=plan.events,
                    options=options,
                    stop=stop or own_stop,
                    finish=endpoints.finish,
                    tap=tap,
                    context=context,
                )
            except BtclibError as exc:
                if exc.summary is not None:
                    exc.summary.markets = markets_with_data(feeds, exc.summary.lines)
                raise
            finally:
                if tap is not None:
                    await tap.aclose()
                if served is not None:
                    await served.aclose()
                if ledger is not None:
                    await ledger.aclose()
                await cards.aclose()
            if backfill:  # while the source is up: the simulator serves old trades too
                from ..quality.backfill import backfill as fetch_missed
                from ..quality.backfill import rest_bases

                bases = rest_bases(endpoints.listings, endpoints.urls)
                healed = await fetch_missed(plan.output.path, bases)
                summary.backfill = healed.text()
    summary.markets = markets_with_data(feeds, summary.lines)
    if summary.stopped == "interrupted" and stop is None:  # our own handler: a notebook's
        announce(
            f"Interrupted: the recording stopped cleanly; every line received is in "
            f"{plan.output.path}, and the call returned this run's summary."
        )
    return summary


async def record(
    step: str = DEFAULT_STEP,
    *,
    duration: float | None = 30.0,
    source: str | None = None,
    out: str | Path | None = None,
    progress: str | ProgressFn | None = "auto",
    capture: str | Path | None = None,
    replay: str | Path | None = None,
    speed: float | str = "max",
    seed: int | None = None,
    sim_options: dict[str, Any] | None = None,
    options: RecorderOptions | None = None,
    stop: asyncio.Event | None = None,
    stop_reason: str | None = None,
    announce: Callable[[str], None] = print,
    rotate: str | Rotation | None = None,
    split: str | None = None,
    strict: bool = False,
    backfill: bool = False,
    metrics: str | None = None,
    clock_ledger: bool = True,
    **settings: Any,
) -> RunSummary:
    """Record one step for ``duration`` seconds (``None``: until stopped) and summarise.

    ``step`` is ``binance`` (Step A), ``upbit`` (Step B) or ``both`` (Step C,
    two connections, one file), another exchange's name, or exchanges joined by
    commas (``"binance,upbit,bithumb"``: Step C with those, :func:`step_exchanges`).
    ``source`` is ``auto`` (default, or the ``BTCLIB_SOURCE`` variable), ``live`` or ``sim``.
    Works with ``await`` in a notebook; see :func:`record_sync` for scripts. ``capture`` keeps every
    frame as received in a capture file (:mod:`btclib.files.capture`); ``replay``
    serves such a file through the simulator instead of a live exchange.

    ``settings`` are the exchanges' options (Binance: ``symbol``,
    ``depth_speed``; Upbit: ``codes``, ``keepalive``) and their URL
    overrides, ``<exchange>_url`` (``binance_url``: a base URL;
    ``upbit_url``), else the ``BTCLIB_<EXCHANGE>_URL`` variables. ``symbol``
    and ``codes`` take one market, a list, or ``"all"``: every market the
    exchange lists (:func:`resolve_markets`, from the same source as the
    streams), spread over as few connections as the exchange allows; the
    summary's ``markets`` says how many had data.

    ``rotate`` (``"daily"``: a file per UTC day; ``"500MB"``: files up to that size)
    and ``split`` (``"market"``: a file per market) make ``out`` the base name of a
    set of files (:mod:`btclib.files.rotation`), closed ones gzipped; readers take the base.

    The simulator's market gets a fresh ``seed`` per run unless one is given;
    the summary and the events log name it, and passing it reproduces the run.
    A replay whose capture holds damaged records skips them and says how many
    and where (summary and events log).

    Stopping: unless the caller passes its own ``stop`` event (the command
    line does, set on SIGINT and SIGTERM), an interrupt (SIGINT: Ctrl+C, or
    Kernel > Interrupt in a notebook) stops the run cleanly: pending lines
    written, files flushed, the summary returned with ``stopped:
    interrupted`` (so ``summary = await record(...)`` is bound and the next
    cells work). A second interrupt falls through to the previous handler.
    Cancelling the call is different and stays a cancellation: the recorder
    still closes its files cleanly, but ``CancelledError`` propagates, because
    whoever cancelled relies on it (``asyncio.wait_for`` and
    ``asyncio.timeout`` turn it into ``TimeoutError``, a ``TaskGroup`` or a
    caller's ``task.cancel()`` expect the task to end cancelled); swallowing
    it would make a timeout look like a finished recording.

    A run in which an exchange never connected, or no line was written, is a
    failed run: the summary's ``problems`` say why (its text ends with them);
    with ``strict=True`` it raises :class:`~btclib.errors.RecordingError`
    instead, the summary attached. ``backfill=True`` fetches the trade ids a gap
    cost from the exchange's REST API once the run ends, into ``<out>.backfill.txt``
    (:mod:`btclib.quality.backfill`); the summary says what came back. ``metrics``
    (``"127.0.0.1:9108"``) serves Prometheus metrics and ``/health`` while it runs
    (:mod:`btclib.quality.metrics`). ``clock_ledger`` (on) writes ``clock`` events into
    the events log at the start and every few minutes: this machine's clock
    state and each exchange's clock offset from round trips (:mod:`btclib.quality.clock`).
    """
    plan = make_plan(
        step,
        settings,
        Output.parse(out if out is not None else default_path(step), rotate, split),
        capture=capture,
        source=SourceSpec(source, replay, speed, seed, sim_options),
    )
    summary = await perform(
        plan,
        duration=duration,
        progress=progress,
        options=options,
        stop=stop,
        stop_reason=stop_reason,
        announce=announce,
        backfill=backfill,
        metrics=metrics,
        clock_ledger=clock_ledger,
    )
    if strict and summary.problems:
        failed = RecordingError("; ".join(summary.problems))
        failed.summary = summary
        raise failed
    return summary


def record_sync(step: str = DEFAULT_STEP, **kwargs: Any) -> RunSummary:
    """:func:`record` for plain scripts; also works inside a running loop (Jupyter).

    Inside a running event loop it needs ``nest_asyncio``, which patches
    asyncio globally: notebooks should prefer ``await record(...)``.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(record(step, **kwargs))
    import nest_asyncio

    nest_asyncio.apply()
    return asyncio.get_event_loop().run_until_complete(record(step, **kwargs))
