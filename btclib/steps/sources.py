"""Where the data comes from: the live exchanges, or the simulator in this process.

SPEC section 3: ``live`` connects to the real exchanges (or to the URLs the
user gave); ``sim`` starts btclib's exchange simulator on 127.0.0.1; ``auto``
(the default) tries each live endpoint for a few seconds and falls back to
the simulator for the ones that do not answer, saying so in words no reader
can miss, with the reason. Simulated data is never presented as live.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import textwrap
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

from ..exchanges import EXCHANGES
from ..files.linereader import Skipped
from ..recorder import failures
from ..recorder.options import TIMINGS

__all__ = [
    "SOURCES",
    "Endpoints",
    "banner",
    "choose",
    "explain",
    "live_urls",
    "open_source",
    "probe",
]

SOURCES = ("auto", "live", "sim")


@dataclass
class Endpoints:
    """The URLs to record from, and what each one is."""

    urls: dict[str, str]
    """Per exchange: the URL its feed is built from (live, or the simulator's stand-in)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Per exchange: ``live`` or ``simulator`` (``simulator replay`` for captures)."""
    reasons: dict[str, str] = field(default_factory=dict)
    """Per exchange served by the simulator: why the live exchange was not used."""
    finish: asyncio.Event | None = None
    """Set by a replaying simulator when its capture has been sent whole."""
    seed: int | None = None
    """The synthetic market's seed when the simulator serves one (a replay has none)."""
    skipped: list[Skipped] = field(default_factory=list)
    """Records of a replayed capture skipped as damaged or overlong (line number, size)."""
    listings: dict[str, str] = field(default_factory=dict)
    """Per exchange: where ``all`` reads its markets, from the same source as the streams
    (the live REST listing, or the simulator's on its own port)."""

    @property
    def simulated(self) -> bool:
        return any(s != "live" for s in self.sources.values())


def choose(source: str | None) -> str:
    """The source to use: the argument, else ``BTCLIB_SOURCE``, else ``auto``."""
    chosen = (source or os.environ.get("BTCLIB_SOURCE") or "auto").strip().lower()
    if chosen not in SOURCES:
        raise ValueError(f"unknown source {chosen!r}: expected one of {', '.join(SOURCES)}")
    return chosen


def live_urls(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Every exchange's live endpoint, unless overridden by ``overrides`` (exchange name ->
    URL) or the exchange's ``BTCLIB_<NAME>_URL`` variable."""
    given = overrides or {}
    return {
        name: given.get(name) or os.environ.get(module.URL_ENV) or module.LIVE_URL
        for name, module in EXCHANGES.items()
    }


def explain(exc: BaseException, url: str, timeout: float) -> str:
    """Why a live endpoint did not answer, in words a reader understands."""
    return failures.explain(exc, url, timeout)


async def probe(url: str, timeout: float) -> str | None:
    """Open and close one WebSocket connection; return why it failed, or ``None``."""
    try:
        async with asyncio.timeout(timeout):
            ws = await connect(url, open_timeout=timeout, ping_interval=None, close_timeout=1)
            await ws.close()
    except Exception as exc:
        return explain(exc, url, timeout)
    return None


def banner(exchange: str | Sequence[str], reason: str | Mapping[str, str]) -> str:
    """The notice printed when the simulator stands in for live exchanges: one box for all of
    them (two identical boxes, one per exchange, said the same thing twice). ``reason`` is
    the shared reason, or one per exchange (then each is named)."""
    names = [exchange] if isinstance(exchange, str) else list(exchange)
    width = 78
    who = " AND ".join(n.upper() for n in names)
    verb = "IS" if len(names) == 1 else "ARE"
    if isinstance(reason, Mapping):
        texts = {reason[n] for n in names}
        whys = ([f"Why: {texts.pop()}"] if len(texts) == 1
                else [f"Why ({n}): {reason[n]}" for n in names])  # fmt: skip
    else:
        whys = [f"Why: {reason}"]
    these = "this exchange" if len(names) == 1 else "these exchanges"
    lines = [
        f"SIMULATED DATA: {who} {verb} NOT LIVE.",
        *whys,
        f"Every line recorded for {these} comes from btclib's local exchange "
        "simulator (synthetic market on 127.0.0.1), not from the real exchange.",
    ]
    body = [
        f"!! {piece:<{width - 6}} !!" for text in lines for piece in textwrap.wrap(text, width - 6)
    ]
    rule = "!" * width
    return "\n".join([rule, *body, rule])


@contextlib.asynccontextmanager
async def open_source(
    exchanges: Sequence[str],
    source: str | None = None,
    *,
    urls: Mapping[str, str | None] | None = None,
    probe_urls: dict[str, str] | None = None,
    probe_timeout: float = TIMINGS.probe_timeout,
    replay: str | Path | None = None,
    speed: float | str = "max",
    seed: int | None = None,
    sim_options: dict[str, object] | None = None,
    announce: Callable[[str], None] = print,
) -> AsyncIterator[Endpoints]:
    """Decide live or simulator per exchange and yield the endpoints to use.

    ``urls`` overrides live endpoints by exchange name (see :func:`live_urls`).
    ``probe_urls`` are the exact URLs ``auto`` tries (the recorder's own,
    so a working probe means a working recording). A simulator, when one is
    needed, runs for as long as the context is open. Without ``seed`` the
    synthetic market gets a fresh one (so a re-run records new lines), named
    in :attr:`Endpoints.seed` for the summary and the events log; passing it
    again reproduces the run.
    """
    chosen = "sim" if replay is not None else choose(source)
    live = live_urls(urls)
    endpoints = Endpoints(dict(live))
    endpoints.listings = {x: EXCHANGES[x].LISTING_URL for x in exchanges}
    need_sim: dict[str, str] = {}
    if chosen == "sim":
        why = f"replaying capture {replay}" if replay is not None else "source 'sim' was chosen"
        need_sim = dict.fromkeys(exchanges, why)
    elif chosen == "auto":
        targets = probe_urls or live
        results = await asyncio.gather(*(probe(targets[x], probe_timeout) for x in exchanges))
        need_sim = {x: r for x, r in zip(exchanges, results, strict=True) if r}
    for exchange in exchanges:
        endpoints.sources[exchange] = "live"
    if not need_sim:
        yield endpoints
        return
    from ..simulator import SimConfig, Simulator

    settings: dict[str, object] = dict(sim_options or {})
    if seed is not None:
        settings["seed"] = seed
    if replay is not None:
        settings.update(replay=Path(replay), replay_speed=speed)
    config = SimConfig(**settings)  # type: ignore[arg-type]
    async with Simulator(config) as sim:
        announce(banner(list(need_sim), need_sim))  # one box for every simulated exchange
        for exchange, reason in need_sim.items():
            endpoints.sources[exchange] = "simulator replay" if replay is not None else "simulator"
            endpoints.reasons[exchange] = reason
            endpoints.urls[exchange] = sim.urls[exchange]
            endpoints.listings[exchange] = sim.listing_urls.get(exchange, "")
        if sim.replay is not None:
            endpoints.finish = sim.replay_finished
            endpoints.skipped = sim.replay.skipped
        else:
            endpoints.seed = config.seed
        yield endpoints
