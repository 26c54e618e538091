"""``python -m btclib``: record a step, or serve the exchange simulator.

Examples::

    python -m btclib record binance --duration 30          # Step A
    python -m btclib record upbit --duration 30            # Step B
    python -m btclib record both --duration 30             # Step C
    python -m btclib simulate --port 8765                  # for wscat & co.

Errors end the program with one line saying what was wrong and exit code 1;
Ctrl+C stops a recording cleanly (files flushed, last line whole, summary).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from . import __version__
from .feed import ExchangeError
from .recorder import RecordingError, RunSummary
from .sink import SinkError
from .sources import SOURCES
from .steps import DEFAULT_FILES, STEPS, record


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _speed(text: str) -> float | str:
    return "max" if text == "max" else _positive(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m btclib", description=__doc__.split("\n")[0])
    top.add_argument("--version", action="version", version=f"btclib {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log every event")
    commands = top.add_subparsers(dest="command", required=True)

    rec = commands.add_parser("record", help="record a step into its data file")
    rec.add_argument("step", choices=list(STEPS), help="binance (A), upbit (B) or both (C)")
    rec.add_argument(
        "--duration", type=_positive, default=None, help="seconds to record (default: until Ctrl+C)"
    )
    rec.add_argument(
        "--source",
        choices=SOURCES,
        default=None,
        help="auto (default, or BTCLIB_SOURCE): live if it answers, else simulator",
    )
    rec.add_argument(
        "--out", default=None, help=f"data file (default: outputs/{DEFAULT_FILES['binance']} etc.)"
    )
    rec.add_argument("--symbol", default="btcusdt", help="Binance symbol (default btcusdt)")
    rec.add_argument(
        "--code",
        action="append",
        dest="codes",
        default=None,
        help="Upbit market code, repeatable (default KRW-BTC)",
    )
    rec.add_argument("--depth-speed", choices=["1000ms", "100ms"], default="1000ms")
    rec.add_argument(
        "--keepalive",
        type=_positive,
        default=20.0,
        help="client ping interval in seconds for Upbit (default 20)",
    )
    rec.add_argument(
        "--binance-url",
        default=None,
        help="Binance base URL, e.g. wss://data-stream.binance.vision (env BTCLIB_BINANCE_URL)",
    )
    rec.add_argument("--upbit-url", default=None, help="Upbit WebSocket URL (env BTCLIB_UPBIT_URL)")
    rec.add_argument(
        "--capture", default=None, help="also keep every frame as received (.jsonl or .jsonl.gz)"
    )
    rec.add_argument("--replay", default=None, help="capture file to replay through the simulator")
    rec.add_argument("--speed", type=_speed, default="max", help="replay speed: 1, 10, ... or max")
    rec.add_argument("--seed", type=int, default=None, help="simulator seed")

    sim = commands.add_parser("simulate", help="serve the exchange simulator until Ctrl+C")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument(
        "--replay", default=None, help="serve a capture instead of the synthetic market"
    )
    sim.add_argument("--speed", type=_speed, default=1.0, help="replay speed: 1, 10, ... or max")
    return top


async def _record(args: argparse.Namespace) -> RunSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        return await record(
            args.step,
            duration=args.duration,
            source=args.source,
            out=args.out,
            symbol=args.symbol,
            codes=args.codes or ("KRW-BTC",),
            depth_speed=args.depth_speed,
            keepalive=args.keepalive,
            binance_url=args.binance_url,
            upbit_url=args.upbit_url,
            capture=args.capture,
            replay=args.replay,
            speed=args.speed,
            seed=args.seed,
            progress="terminal",
            stop=stop,
        )
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if args.command == "simulate":
        from .simulator.server import main as simulate

        return simulate(port=args.port, seed=args.seed, replay=args.replay, speed=args.speed)
    try:
        summary = asyncio.run(_record(args))
    except (RecordingError, ExchangeError, SinkError, ValueError) as exc:
        partial = getattr(exc, "summary", None)
        if partial is not None:
            print(partial.text(), file=sys.stderr)
        print(f"btclib: error: {exc}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0
