"""Settings of a simulator run."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .faults import Faults
from .market import MarketParams

__all__ = ["SimConfig", "fresh_seed"]


def fresh_seed() -> int:
    """A new seed for a run that was given none, so that re-runs differ (issue 12 #3).

    The market is a pure function of its seed: with a fixed default every run
    without ``seed`` sent the same lines, and a re-run looked like nothing new
    was recorded. The seed in use is printed (summary, events log), so any run
    can be reproduced exactly by passing it again.
    """
    return secrets.randbelow(2**31)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a simulator run; defaults mimic the real exchanges.

    Market time runs ``speedup`` times faster than the wall clock: depth frames,
    Upbit's 100 ms grid and trade rates all scale with it, so tests get many
    frames quickly. Protocol timers (pings, idle timeout, lifetime) are in wall
    seconds and do not scale.
    """

    #: The market's seed: a fresh one per config unless given (see :func:`fresh_seed`).
    seed: int = field(default_factory=fresh_seed)
    #: TCP port on 127.0.0.1; 0 picks a free one.
    port: int = 0
    speedup: float = 1.0
    market: MarketParams = field(default_factory=MarketParams)
    faults: Faults = field(default_factory=Faults)
    #: Keep every data frame sent in ``Simulator.sent`` (for tests).
    record_sent: bool = False
    #: Share of data frames laid out anew (other key order, spaces, escapes: valid JSON the
    #: exchanges do not send), so the recorders' general parsing path runs end to end
    #: (:mod:`btclib.simulator.layout`). 0 sends every frame in the exchange's own layout.
    layout_rate: float = 0.01
    #: Wall clock (seconds since the epoch) that anchors market timestamps.
    clock: Callable[[], float] = time.time

    # Binance (protocols.md 1.7, 1.8)
    binance_ping_interval: float | None = 20.0
    binance_ping_timeout: float | None = 60.0
    #: Connections are cut after this many seconds (Binance: 24 h).
    binance_lifetime: float | None = 86_400.0
    #: Send ``serverShutdown`` this many seconds before the lifetime cut.
    binance_shutdown_notice: float | None = None
    #: Close code of the lifetime cut (not documented by Binance).
    binance_lifetime_close_code: int = 1001
    #: Inbound frames (text, ping, pong) allowed in any 1 s; None disables.
    binance_rate_limit: int | None = 5
    binance_max_streams: int = 1024

    # Upbit (protocols.md 2.6, 2.7)
    #: Abort (no close frame) after this many seconds without client traffic.
    upbit_idle_timeout: float | None = 120.0
    upbit_status_interval: float = 10.0
    upbit_error_close_delay: float = 0.15
    #: Grid of REALTIME orderbook frames, in market milliseconds.
    upbit_publish_ms: int = 100

    #: Settings of an exchange package that has no field above, by the names its package
    #: documents (``bithumb_idle_timeout``...): each package reads its own and falls back
    #: to what its exchange documents.
    settings: Mapping[str, Any] = field(default_factory=dict)

    # Replay of a capture instead of the synthetic market
    replay: Path | None = None
    replay_speed: float | Literal["max"] = 1.0
    #: Start the replay this many seconds after the first client subscribed
    #: even if some exchange of the capture has no client.
    replay_start_timeout: float = 1.0
