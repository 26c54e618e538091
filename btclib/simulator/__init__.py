"""Local exchange simulator: Binance and Upbit market streams on 127.0.0.1.

Speaks both exchanges' WebSocket protocols on one port with a deterministic
synthetic market (or replays a capture), with switchable faults, so the
recorder can be developed and tested without the real exchanges::

    async with Simulator(SimConfig(seed=1)) as sim:
        ...  # connect to sim.urls["binance"] + "/stream?streams=..." and sim.urls["upbit"]
"""

from .cli_options import add_arguments, options
from .config import SimConfig
from .faults import (
    Drop,
    Fault,
    Faults,
    Malformed,
    MalformedKind,
    MicrosecondTimestamps,
    Refuse,
    Rule,
    Stall,
)
from .market import MarketParams
from .server import ConnectionInfo, SentFrame, Simulator, banner, main, run_simulator

__all__ = [
    "ConnectionInfo",
    "Drop",
    "Fault",
    "Faults",
    "Malformed",
    "MalformedKind",
    "MarketParams",
    "MicrosecondTimestamps",
    "Refuse",
    "Rule",
    "SentFrame",
    "SimConfig",
    "Simulator",
    "Stall",
    "add_arguments",
    "banner",
    "main",
    "options",
    "run_simulator",
]
