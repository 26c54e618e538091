"""The simulated Binance's settings on the ``simulate`` command line (protocols.md 1.7, 1.8)."""

from __future__ import annotations

from ...arguments import non_negative
from ..option import SimOption

__all__ = ["OPTIONS"]

OPTIONS = (
    SimOption(
        "binance_ping_interval",
        "--ping-interval",
        "P",
        "Binance: ping every P seconds (default 20)",
    ),
    SimOption(
        "binance_ping_timeout",
        "--pong-timeout",
        "Q",
        "Binance: close if no pong within Q seconds (default 60)",
    ),
    SimOption(
        "binance_lifetime",
        "--lifetime",
        "L",
        "Binance: cut connections after L seconds (default 24 h)",
    ),
    SimOption(
        "binance_shutdown_notice",
        "--shutdown-notice",
        "S",
        "Binance: send serverShutdown S seconds before the cut",
        non_negative,
    ),
)
