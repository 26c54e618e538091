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
from typing import Any

from . import exchanges
from .errors import BtclibError
from .exchanges.options import positive as _positive
from .recorder import RunSummary
from .sources import SOURCES
from .steps import DEFAULT_FILES, DEFAULT_STEP, STEPS, record
from .version import __version__

__all__ = ["main", "parser", "simulator_options"]


def _speed(text: str) -> float | str:
    return "max" if text == "max" else _positive(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m btclib", description=__doc__.split("\n")[0])
    top.add_argument("--version", action="version", version=f"btclib {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log every event")
    commands = top.add_subparsers(dest="command", required=True)

    rec = commands.add_parser("record", help="record a step into its data file")
    steps = ", ".join(f"{step} ({chr(ord('A') + i)})" for i, step in enumerate(STEPS))
    rec.add_argument("step", choices=list(STEPS), help=steps)
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
        "--out",
        default=None,
        help=f"data file (default: outputs/{DEFAULT_FILES[DEFAULT_STEP]} etc.)",
    )
    for option in exchanges.options():  # each exchange's own settings and URL override
        rec.add_argument(
            option.flag,
            dest=option.name,
            default=None if option.repeatable else option.default,
            action="append" if option.repeatable else "store",
            type=option.type,
            choices=option.choices,
            help=option.help,
        )
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
    sim.add_argument(
        "--speedup",
        type=_positive,
        default=1.0,
        help="market time runs this many times faster than the clock",
    )
    from . import bench

    bench.add_arguments(
        commands.add_parser(
            "bench", help="throughput, latency and memory against a local flood server"
        )
    )
    faults = sim.add_argument_group(
        "faults", "inject faults on purpose (deterministic; scoped by --fault-exchange/-connection)"
    )
    faults.add_argument(
        "--fault-exchange",
        choices=list(exchanges.EXCHANGES),
        default=None,
        help="apply the faults below to this exchange only",
    )
    faults.add_argument(
        "--fault-connection",
        type=int,
        default=None,
        help="apply them to the Nth connection only (0 = first)",
    )
    faults.add_argument(
        "--drop-after",
        type=int,
        metavar="N",
        help="abort the TCP connection (no close frame) after N data messages",
    )
    faults.add_argument("--drop-after-seconds", type=_positive, metavar="T")
    faults.add_argument(
        "--stall-after",
        type=float,
        metavar="T",
        help="stop sending data after T seconds (socket stays open)",
    )
    faults.add_argument("--stall-for", type=_positive, metavar="D", help="stall duration")
    faults.add_argument(
        "--stall-channel",
        action="append",
        default=None,
        help="stall only streams containing this text (e.g. depth)",
    )
    faults.add_argument(
        "--refuse",
        type=int,
        metavar="STATUS",
        help="refuse the handshake with this HTTP status (451, 429, ...)",
    )
    faults.add_argument(
        "--malformed",
        action="append",
        default=[],
        metavar="KIND[:AFTER]",
        help="inject a bad frame: not_json, truncated, missing_bids, foreign_stream",
    )
    faults.add_argument(
        "--ping-interval",
        type=_positive,
        metavar="P",
        help="Binance: ping every P seconds (default 20)",
    )
    faults.add_argument(
        "--pong-timeout",
        type=_positive,
        metavar="Q",
        help="Binance: close if no pong within Q seconds (default 60)",
    )
    faults.add_argument(
        "--lifetime",
        type=_positive,
        metavar="L",
        help="Binance: cut connections after L seconds (default 24 h)",
    )
    faults.add_argument(
        "--shutdown-notice",
        type=float,
        metavar="S",
        help="Binance: send serverShutdown S seconds before the cut",
    )
    faults.add_argument(
        "--upbit-idle",
        type=_positive,
        metavar="I",
        help="Upbit: abort after I seconds without client traffic (default 120)",
    )
    return top


def simulator_options(args: argparse.Namespace) -> dict[str, Any]:
    """SimConfig fields from the ``simulate`` command line."""
    from .simulator import Drop, Faults, Malformed, MalformedKind, Refuse, Rule, Stall

    items: list[Any] = []
    if args.drop_after is not None or args.drop_after_seconds is not None:
        items.append(Drop(after_messages=args.drop_after, after_seconds=args.drop_after_seconds))
    if args.stall_after is not None:
        channels = tuple(args.stall_channel) if args.stall_channel else None
        items.append(
            Stall(after_seconds=args.stall_after, duration=args.stall_for, channels=channels)
        )
    if args.refuse is not None:
        items.append(Refuse(args.refuse))
    for spec in args.malformed:
        kind, _, after = spec.partition(":")
        try:
            items.append(Malformed(MalformedKind(kind), after_messages=int(after or 0)))
        except ValueError as exc:
            kinds = ", ".join(k.value for k in MalformedKind)
            raise ValueError(
                f"--malformed {spec!r}: expected KIND[:AFTER] with KIND in {kinds}"
            ) from exc
    options: dict[str, Any] = {"speedup": args.speedup}
    if items:
        rules = [
            Rule(i, exchange=args.fault_exchange, connection=args.fault_connection) for i in items
        ]
        options["faults"] = Faults.of(*rules)
    fields = {
        "binance_ping_interval": args.ping_interval,
        "binance_ping_timeout": args.pong_timeout,
        "binance_lifetime": args.lifetime,
        "binance_shutdown_notice": args.shutdown_notice,
        "upbit_idle_timeout": args.upbit_idle,
    }
    options.update({k: v for k, v in fields.items() if v is not None})
    return options


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
            capture=args.capture,
            replay=args.replay,
            speed=args.speed,
            seed=args.seed,
            progress="terminal",
            stop=stop,
            **{option.name: getattr(args, option.name) for option in exchanges.options()},
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
    if args.command == "bench":
        from . import bench

        return bench.main(
            args.quick,
            args.json_path,
            repeats=getattr(args, "repeats", None),
            plot_path=getattr(args, "plot_path", None),
            peer_python=getattr(args, "peer_python", None),
        )
    if args.command == "simulate":
        from .simulator.server import main as simulate

        try:
            options = simulator_options(args)
        except ValueError as exc:
            print(f"btclib: error: {exc}", file=sys.stderr)
            return 2
        return simulate(
            port=args.port, seed=args.seed, replay=args.replay, speed=args.speed, **options
        )
    try:
        summary = asyncio.run(_record(args))
    except (BtclibError, ValueError) as exc:
        partial = exc.summary if isinstance(exc, BtclibError) else None
        if partial is not None:
            print(partial.text(), file=sys.stderr)
        print(f"btclib: error: {exc}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0
