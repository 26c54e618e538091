"""The simulated Upbit's settings on the ``simulate`` command line (protocols.md 2.6)."""

from __future__ import annotations

from ..option import SimOption

__all__ = ["OPTIONS"]

OPTIONS = (
    SimOption(
        "upbit_idle_timeout",
        "--upbit-idle",
        "I",
        "Upbit: abort after I seconds without client traffic (default 120)",
    ),
)
