"""The assignment's three steps as one call each: build the feeds, pick the source, record.

This is the glue a notebook or the command line calls. It knows which
exchanges a step uses and where its file goes (SPEC section 2); the recorder
below it knows no exchange, and the exchange modules know no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .capture import CaptureWriter
from .errors import SinkError
from .exchanges import binance, upbit
from .feed import Feed
from .progress import ProgressFn, make_progress
from .recorder import RecorderOptions, RunSummary, record_feeds
from .sources import live_urls, open_source

STEPS: dict[str, tuple[str, ...]] = {
    "binance": (binance.EXCHANGE,),
    "upbit": (upbit.EXCHANGE,),
    "both": (binance.EXCHANGE, upbit.EXCHANGE),
}
"""Step A, B and C: the exchanges each one records."""

DEFAULT_FILES = {
    "binance": "stream-data-binance.txt",
    "upbit": "stream-data-upbit.txt",
    "both": "stream-data-multi.txt",
}


def default_path(step: str, folder: str | Path = "outputs") -> Path:
    """Where a step's lines go by default: ``outputs/stream-data-<...>.txt``."""
    return Path(folder) / DEFAULT_FILES[step]


def events_path(path: str | Path) -> Path:
    """The events log beside a data file: ``stream-data-binance.events.jsonl``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.events.jsonl")


def writable(path: Path) -> None:
    """Raise :class:`~btclib.sink.SinkError` naming ``path`` unless it can be appended to."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
    except OSError as exc:
        raise SinkError(exc.errno, f"cannot write {path}: {exc.strerror}") from exc


def build_feeds(
    step: str,
    *,
    binance_base: str = binance.LIVE_BASE,
    upbit_url: str = upbit.LIVE_URL,
    symbol: str = "btcusdt",
    codes: Sequence[str] = ("KRW-BTC",),
    depth_speed: str = "1000ms",
    keepalive: float = 20.0,
    stall_after: float | None = None,
) -> list[Feed]:
    """The feeds of a step, one WebSocket connection each."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: expected one of {', '.join(STEPS)}")
    feeds = []
    if binance.EXCHANGE in STEPS[step]:
        feeds.append(binance.feed(symbol, depth_speed, binance_base, stall_after))
    if upbit.EXCHANGE in STEPS[step]:
        feeds.append(upbit.feed(codes, upbit_url, keepalive, stall_after))
    return feeds


async def record(
    step: str = "binance",
    *,
    duration: float | None = 30.0,
    source: str | None = None,
    out: str | Path | None = None,
    symbol: str = "btcusdt",
    codes: Sequence[str] = ("KRW-BTC",),
    depth_speed: str = "1000ms",
    keepalive: float = 20.0,
    binance_url: str | None = None,
    upbit_url: str | None = None,
    progress: str | ProgressFn | None = "auto",
    capture: str | Path | None = None,
    replay: str | Path | None = None,
    speed: float | str = "max",
    seed: int | None = None,
    sim_options: dict[str, Any] | None = None,
    options: RecorderOptions | None = None,
    stop: asyncio.Event | None = None,
    announce: Callable[[str], None] = print,
) -> RunSummary:
    """Record one step for ``duration`` seconds (``None``: until stopped) and summarise.

    ``step`` is ``binance`` (Step A), ``upbit`` (Step B) or ``both`` (Step C,
    two connections, one file). ``source`` is ``auto`` (default, or the
    ``BTCLIB_SOURCE`` variable), ``live`` or ``sim``. Works with ``await`` in a
    notebook; see :func:`record_sync` for scripts. ``capture`` keeps every
    frame as received in a capture file (:mod:`btclib.capture`); ``replay``
    serves such a file through the simulator instead of a live exchange.
    """
    feeds_args: dict[str, Any] = {
        "symbol": symbol,
        "codes": codes,
        "depth_speed": depth_speed,
        "keepalive": keepalive,
    }
    build_feeds(step, **feeds_args)  # check every argument before touching the network
    path = Path(out) if out is not None else default_path(step)
    writable(path)  # a wrong path fails now, not after probing the exchanges
    # ``auto`` tries the exact URLs the recorder will open (overrides and
    # environment included): a bare base such as "/" may well answer 404.
    live_binance, live_upbit = live_urls(binance_url, upbit_url)
    probes = {
        binance.EXCHANGE: binance.stream_url(symbol, depth_speed, live_binance),
        upbit.EXCHANGE: live_upbit,
    }
    async with open_source(
        STEPS[step],
        source,
        binance_url=binance_url,
        upbit_url=upbit_url,
        probe_urls=probes,
        replay=replay,
        speed=speed,
        seed=seed,
        sim_options=sim_options,
        announce=announce,
    ) as endpoints:
        feeds = build_feeds(
            step, binance_base=endpoints.binance_base, upbit_url=endpoints.upbit_url, **feeds_args
        )
        tap = None
        if capture is not None:
            tap = CaptureWriter(capture)
            tap.open(feeds, endpoints.sources)
        try:
            return await record_feeds(
                feeds,
                path,
                duration=duration,
                progress=make_progress(
                    progress, f"{step} ({'/'.join(endpoints.sources.values())})"
                ),
                events_path=events_path(path),
                options=options,
                stop=stop,
                finish=endpoints.finish,
                tap=tap,
                sources=endpoints.sources,
                reasons=endpoints.reasons,
            )
        finally:
            if tap is not None:
                await tap.aclose()


def record_sync(step: str = "binance", **kwargs: Any) -> RunSummary:
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
