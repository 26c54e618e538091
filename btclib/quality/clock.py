"""The clock ledger: whose clock is off, and by how much, written into the events log.

A negative latency (a message received before the exchange says it sent it)
means some clock is wrong, but not whose. The ledger says it, per run and
every few minutes, as ``clock`` events:

- this machine's clock as the OS tells it (Linux ``adjtimex``: synchronised or
  not, maximum and estimated error);
- each exchange's clock against this machine's, from round trips: the
  exchange's time (Binance ``GET /api/v3/time``; Upbit the HTTP ``Date`` header,
  1 s resolution) against the midpoint of the request, the half round trip
  (plus half the resolution) as the error bound. The fastest of a few rounds
  is kept: its bound is the tightest.

The card (:func:`btclib.quality.check`) corrects latencies by the offset, gives
them with the bound, and names the clock that is off. What each exchange offers
is its module's ``CLOCK_PATH`` and ``server_time``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..exchanges import EXCHANGES
from ..files import eventlog
from ..recorder import Progress

__all__ = ["LEDGER_INTERVAL", "ClockLedger", "local_clock", "measure", "offset_of"]

LEDGER_INTERVAL = 300.0
"""Seconds between two entries of the ledger during a run ("every few minutes")."""
ROUNDS = 3
_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """``struct timex`` of ``<sys/timex.h>`` (Linux), as adjtimex(2) fills it."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("padding", ctypes.c_int * 11),
    ]


def local_clock() -> dict[str, Any]:
    """This machine's clock as the OS tells it: ``synced``, ``max_error_s``, ``est_error_s``
    (Linux ``adjtimex``, read-only: ``modes`` 0); ``{"source": None}`` where it cannot tell."""
    if not sys.platform.startswith("linux"):
        return {"source": None}
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return {"source": None}
    if state < 0:
        return {"source": None}
    return {
        "source": "adjtimex",
        "synced": state != _TIME_ERROR and not tx.status & _STA_UNSYNC,
        "max_error_s": tx.maxerror / 1e6,
        "est_error_s": tx.esterror / 1e6,
    }


def offset_of(
    sent: float, received: float, server: float, resolution: float
) -> tuple[float, float]:
    """The exchange clock minus this machine's, and its error bound, from one round trip:
    the request left at ``sent``, its answer (the exchange's time ``server``, which
    truncates to ``resolution``) came at ``received``."""
    middle = (sent + received) / 2
    return server + resolution / 2 - middle, (received - sent) / 2 + resolution / 2


def _get(url: str, timeout: float) -> tuple[float, float, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    sent = time.time()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
        received = time.time()
        return sent, received, body, dict(response.headers)


async def measure(exchange: str, base: str, timeout: float = 5.0) -> dict[str, Any]:
    """One ledger entry for ``exchange`` at REST ``base``: offset and bound (fastest of
    :data:`ROUNDS` round trips), or the error in plain words."""
    module = EXCHANGES.get(exchange)
    path = getattr(module, "CLOCK_PATH", None)
    if module is None or path is None:
        return {"exchange": exchange, "error": "the exchange tells no time"}
    best: tuple[float, float, float] | None = None
    for _ in range(ROUNDS):
        try:
            sent, received, body, headers = await asyncio.to_thread(_get, base + path, timeout)
        except (OSError, urllib.error.URLError) as exc:
            return {"exchange": exchange, "via": path, "error": str(getattr(exc, "reason", exc))}
        told = module.server_time(body, headers)
        if told is None:
            return {"exchange": exchange, "via": path, "error": "no time in the answer"}
        offset, bound = offset_of(sent, received, *told)
        if best is None or bound < best[1]:
            best = (offset, bound, received - sent)
    assert best is not None
    return {
        "exchange": exchange,
        "via": path,
        "offset_s": round(best[0], 6),
        "bound_s": round(best[1], 6),
        "rtt_s": round(best[2], 6),
    }


class ClockLedger:
    """Writes ``clock`` events into a run's events log: at its first progress snapshot
    (so after its ``start``), then every ``interval`` seconds while it runs."""

    def __init__(
        self,
        bases: Mapping[str, str],
        log: Path,
        *,
        interval: float = LEDGER_INTERVAL,
        shown: Callable[[Progress], None] | None = None,
    ) -> None:
        self.bases = dict(bases)
        self.log = log
        self.interval = interval
        self._shown = shown
        self._due = 0.0
        self._ended = False
        self._tasks: set[asyncio.Task[None]] = set()

    def progress(self, p: Progress) -> None:
        if self._shown is not None:
            self._shown(p)
        if p.done:  # the run logged its stop: nothing may follow it
            self._ended = True
            return
        now = time.monotonic()
        if self.bases and now >= self._due and not self._tasks and not p.done:
            self._due = now + self.interval
            task = asyncio.get_running_loop().create_task(self.entry())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def entry(self) -> None:
        """Measure every exchange and append one ``clock`` event."""
        exchanges = await asyncio.gather(*(measure(x, b) for x, b in self.bases.items()))
        if self._ended:  # measured while the run ended: its stop stays the last record
            return
        eventlog.append(self.log, "clock", local=local_clock(), exchanges=list(exchanges))

    async def aclose(self) -> None:
        """The run ended: a measurement still under way is dropped (a run's ``stop`` is its
        last record; the next run's first entry follows its ``start``)."""
        self._ended = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
