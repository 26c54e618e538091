"""One setting of a simulated exchange that ``python -m btclib simulate`` exposes.

Each simulated exchange's package declares its own (``OPTIONS``: Binance's
ping and lifetime timers, Upbit's idle timeout), so the command line
(:mod:`.cli_options`) loops over the registry and names no exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..arguments import positive

__all__ = ["SimOption"]


@dataclass(frozen=True)
class SimOption:
    """A :class:`~btclib.simulator.SimConfig` field set from the command line."""

    field: str
    """The :class:`~btclib.simulator.SimConfig` field it sets (left at its default if not given)."""
    flag: str
    """Command-line spelling: ``--ping-interval``."""
    metavar: str
    help: str
    type: Callable[[str], Any] = positive
    """Converts the text; raises :class:`argparse.ArgumentTypeError` in plain words."""
