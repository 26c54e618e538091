"""The simulated Upbit's settings on the ``simulate`` command line (protocols.md 2.6)."""

from __future__ import annotations

from ...arguments import Option, positive

__all__ = ["OPTIONS"]

OPTIONS = (
    Option(
        "upbit_idle_timeout",
        "--upbit-idle",
        metavar="I",
        type=positive,
        help="Upbit: abort after I seconds without client traffic (default 120)",
    ),
)
