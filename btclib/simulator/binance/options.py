"""The simulated Binance's settings on the ``simulate`` command line (protocols.md 1.7, 1.8)."""

from __future__ import annotations

from ...arguments import Option, non_negative, positive

__all__ = ["OPTIONS"]

OPTIONS = (
    Option(
        "binance_ping_interval",
        "--ping-interval",
        metavar="P",
        type=positive,
        help="Binance: ping every P seconds (default 20)",
    ),
    Option(
        "binance_ping_timeout",
        "--pong-timeout",
        metavar="Q",
        type=positive,
        help="Binance: close if no pong within Q seconds (default 60)",
    ),
    Option(
        "binance_lifetime",
        "--lifetime",
        metavar="L",
        type=positive,
        help="Binance: cut connections after L seconds (default 24 h)",
    ),
    Option(
        "binance_shutdown_notice",
        "--shutdown-notice",
        metavar="S",
        type=non_negative,
        help="Binance: send serverShutdown S seconds before the cut",
    ),
)
