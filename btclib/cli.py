"""``python -m btclib``: record a step, serve the exchange simulator, soak, list runs.

Examples::

    python -m btclib record binance --duration 30          # Step A
    python -m btclib record upbit --duration 30            # Step B
    python -m btclib record both --duration 30             # Step C
    python -m btclib simulate --port 8765                  # for wscat & co.

    python -m btclib soak --duration 30 --seed 7           # random faults, nothing lost?
    python -m btclib runs outputs/stream-data-multi.txt    # the runs a file holds
    python -m btclib report                                 # every notebook -> outputs/*.pdf

A bad argument ends the program before anything starts, the way argparse
does: usage, the option and what was wrong with it, exit code 2. Errors while
running end it with one line saying what was wrong and exit code 1; Ctrl+C
stops a recording cleanly (files flushed, last line whole, summary).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import arguments, exchanges, simulator
from .errors import BtclibError
from .files.datafile import try_writing
from .files.rotating import Output
from .files.rotation import parse_rotate
from .files.runs import events_path, format_runs, read_runs
from .recorder import RunSummary
from .steps.interrupts import install_stop_handlers
from .steps.sources import SOURCES
from .steps.steps import (
    DEFAULT_FILES,
    DEFAULT_STEP,
    STEPS,
    SourceSpec,
    default_path,
    make_plan,
    perform,
    step_exchanges,
)
from .version import __version__

__all__ = ["main", "parse_args", "parser"]


def parser() -> argparse.ArgumentParser:
    """The whole command line (its values checked one by one; see :func:`parse_args`)."""
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top parser and each subcommand's, by name (to report a usage error on its own)."""
    top = argparse.ArgumentParser(prog="python -m btclib", description=__doc__.split("\n")[0])
    top.add_argument("--version", action="version", version=f"btclib {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log every event")
    commands = top.add_subparsers(dest="command", required=True)

    rec = commands.add_parser("record", help="record a step into its data file")
    steps = ", ".join(f"{step} ({chr(ord('A') + i)})" for i, step in enumerate(STEPS))
    rec.add_argument(
        "step",
        type=_step,
        help=f"{steps}, or exchanges joined by commas ({','.join(exchanges.EXCHANGES)})",
    )
    rec.add_argument(
        "--duration",
        type=arguments.positive,
        default=None,
        help="seconds to record (default: until Ctrl+C)",
    )
    rec.add_argument(
        "--source",
        choices=SOURCES,
        default=None,
        help="auto (default, or BTCLIB_SOURCE): live if it answers, else simulator",
    )
    rec.add_argument(
        "--out",
        type=arguments.writable_file,
        default=None,
        help=f"data file (default: outputs/{DEFAULT_FILES[DEFAULT_STEP]} etc.)",
    )
    rec.add_argument(
        "--rotate",
        type=arguments.plain(parse_rotate),
        default=None,
        metavar="daily|SIZE",
        help="a file per UTC day, or files up to SIZE (500MB, 2GiB); --out names the set",
    )
    rec.add_argument(
        "--split",
        choices=["market"],
        default=None,
        help="a file per market; --out names the set",
    )
    for option in exchanges.options():  # each exchange's own settings and URL override
        option.add_to(rec)
    from .broker import cli as broker_cli

    broker_cli.add_record_arguments(rec)  # --publish, --stream, --no-file, --partition
    rec.add_argument(
        "--capture",
        type=arguments.writable_file,
        default=None,
        help="also keep every frame as received (.jsonl or .jsonl.gz)",
    )
    rec.add_argument(
        "--replay",
        type=arguments.existing_file,
        default=None,
        help="capture file to replay through the simulator",
    )
    rec.add_argument(
        "--speed", type=arguments.speed, default="max", help="replay speed: 1, 10, ... or max"
    )
    rec.add_argument("--seed", type=arguments.integer, default=None, help="simulator seed")
    rec.add_argument(
        "--metrics",
        type=arguments.plain(_metrics_address),
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus /metrics and /health while recording (e.g. 127.0.0.1:9108)",
    )
    rec.add_argument(
        "--backfill",
        action="store_true",
        help="after the run, fetch the trade ids a gap cost over REST into <out>.backfill.txt",
    )

    sim = commands.add_parser("simulate", help="serve the exchange simulator until Ctrl+C")
    simulator.add_arguments(sim)
    from .tools import bench

    ben = commands.add_parser(
        "bench", help="throughput, latency and memory against a local flood server"
    )
    bench.add_arguments(ben)
    from .tools import soak

    chaos = commands.add_parser(
        "soak", help="record from the simulator under random faults and check nothing was lost"
    )
    soak.add_arguments(chaos)
    runs = commands.add_parser("runs", help="list the runs a data file holds")
    runs.add_argument("file", metavar="FILE", help="a data file (its events log sits beside it)")
    quality = commands.add_parser(
        "check", help="the quality report card of a data file (or a rotated or split set)"
    )
    quality.add_argument("file", metavar="FILE", help="a data file or the base of a set")
    quality.add_argument(
        "--capture",
        type=arguments.existing_file,
        default=None,
        help="its capture (rates, latency, every id)",
    )
    quality.add_argument("--json", action="store_true", help="the card as JSON")
    quality.add_argument(
        "--strict", action="store_true", help="exit 1 when a stream's verdict is holes or degraded"
    )
    from .report import build as report

    rep = commands.add_parser(
        "report", help="run every notebook and export it to outputs/<notebook>.pdf"
    )
    report.add_arguments(rep)
    parsers = {"record": rec, "simulate": sim, "bench": ben, "soak": chaos, "runs": runs}
    parsers["check"] = quality
    con = commands.add_parser(
        "consume", help="write the lines of a NATS JetStream stream back into a line file"
    )
    broker_cli.add_consume_arguments(con)
    parsers["consume"] = con
    return top, {**parsers, "report": rep}


def _metrics_address(text: str) -> str:
    """``--metrics``' value, checked (HOST:PORT, an IP address) before anything starts."""
    from .quality.metrics import parse_address

    host, port = parse_address(text)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _step(text: str) -> str:
    """A step of :data:`STEPS` or exchanges joined by commas; a usage error otherwise."""
    try:
        step_exchanges(text)
    except ValueError:
        choices = ", ".join(STEPS)
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {choices}, or exchanges joined by commas)"
        ) from None
    return text


def _check_writable(flag: str, given: str | None, fail: Callable[[str], NoReturn]) -> None:
    """Fail unless file ``given`` can be written; leaves no file behind that was not there."""
    if given is None:
        return
    try:
        arguments.writable_file(given)
        try_writing(Path(given))
    except argparse.ArgumentTypeError as exc:
        fail(f"argument {flag}: {exc}")
    except OSError as exc:
        fail(f"argument {flag}: cannot write {given!r}: {exc.strerror or exc}")


def _check_record(args: argparse.Namespace, fail: Callable[[str], NoReturn]) -> None:
    """What argparse cannot tell from one value alone: markets, then whether files can be
    written. The run's plan is made here, once (``args.plan``, performed by :func:`_record`).
    """
    _blame_one_value(args, fail)
    try:
        args.plan = make_plan(
            args.step,
            _settings(args),
            Output(Path(args.out or default_path(args.step)), args.rotate, args.split),
            capture=args.capture,
            source=SourceSpec(args.source, args.replay, args.speed, args.seed),
        )
    except ValueError as exc:
        fail(str(exc))
    files = {"--out": args.out, "--capture": args.capture, "--replay": args.replay}
    seen: dict[Path, str] = {}
    for flag, given in files.items():
        if given is None:
            continue
        same = seen.setdefault(Path(given).resolve(), flag)
        if same != flag:
            fail(f"argument {flag}: {given!r} is also the file of {same}; give each its own file")
    _check_writable("--out", args.out, fail)
    _check_writable("--capture", args.capture, fail)
    from .broker import cli as broker_cli

    broker_cli.check_record(args, fail)


def _blame_one_value(args: argparse.Namespace, fail: Callable[[str], NoReturn]) -> None:
    """Fail naming the option if one value alone is wrong (a market beside ``all`` too).

    Each value of each exchange option is tried alone on its exchange
    (``make_feed`` checks it, no network; ``all`` stands for the default
    markets there), so the error names the option and the value that was wrong.
    """
    for module in exchanges.EXCHANGES.values():
        defaults = {option.name: option.default for option in module.OPTIONS}
        for option in module.OPTIONS:
            given = getattr(args, option.name)
            if given is None:
                continue
            for value in given if option.repeatable else [given]:
                alone = [value] if option.repeatable else value
                try:
                    module.make_feed(module.LIVE_URL, {**defaults, option.name: alone})
                except ValueError as exc:
                    fail(f"argument {option.flag}: {exc}")


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The exchanges' options by keyword, as :func:`btclib.record` takes them."""
    return {option.name: getattr(args, option.name) for option in exchanges.options()}


def _check_bench(args: argparse.Namespace, fail: Callable[[str], NoReturn]) -> None:
    _check_writable("--json", args.json_path, fail)


def _check_runs(args: argparse.Namespace, fail: Callable[[str], NoReturn]) -> None:
    path = Path(args.file)
    if path.is_dir():
        fail(f"argument FILE: {args.file!r} is a folder, expected a data file")
    if not path.exists() and not events_path(path).exists():
        fail(f"argument FILE: no such file: {args.file!r}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, every value checked: a bad one ends the program with a usage
    error (exit code 2, the option named, no traceback) before anything starts."""
    top, commands = _parsers()
    args = top.parse_args(argv)
    fail = commands[args.command].error
    if args.command == "record":
        _check_record(args, fail)
    elif args.command == "simulate":
        try:
            args.sim_options = simulator.options(args)
        except ValueError as exc:
            fail(str(exc))
    elif args.command == "bench":
        _check_bench(args, fail)
    elif args.command in ("runs", "check"):
        _check_runs(args, fail)
    return args


async def _record(args: argparse.Namespace) -> RunSummary:
    stop = asyncio.Event()
    restore = install_stop_handlers(asyncio.get_running_loop(), stop)
    try:
        from .broker import cli as broker_cli

        broker = await broker_cli.open_for_record(args)  # a refusal: before anything starts
        args.plan = broker_cli.publishing_plan(args.plan, broker, args)
        try:
            return await perform(
                args.plan,
                duration=args.duration,
                progress="terminal",
                stop=stop,
                stop_reason="interrupted",  # Ctrl+C or SIGTERM: the handlers set ``stop``
                backfill=args.backfill,
                metrics=args.metrics,
            )
        finally:
            if broker is not None:
                await broker.close()
    finally:
        restore()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    if args.command == "bench":
        from .tools import bench

        return bench.main(
            args.quick,
            args.json_path,
            scale=getattr(args, "scale", False),
            repeats=getattr(args, "repeats", None),
            plot_path=getattr(args, "plot_path", None),
            peer_python=getattr(args, "peer_python", None),
        )
    if args.command == "soak":
        from .tools import soak

        return soak.main(args)
    if args.command == "consume":
        from .broker import cli as broker_cli

        return broker_cli.consume_main(args)
    if args.command == "runs":
        print(format_runs(read_runs(args.file), args.file))
        return 0
    if args.command == "check":
        from .quality import check

        card = check(args.file, capture=args.capture)
        print(card.to_json() if args.json else card.text())
        return 1 if args.strict and card.failed else 0
    if args.command == "report":
        from .report import build as report

        return report.run(args)
    if args.command == "simulate":
        from .simulator.server import main as simulate

        try:
            return simulate(
                port=args.port,
                seed=args.seed,
                replay=args.replay,
                speed=args.speed,
                **args.sim_options,
            )
        except (BtclibError, OSError, ValueError) as exc:  # a port in use, a damaged capture
            print(f"btclib: error: {exc}", file=sys.stderr)
            return 1
    try:
        summary = asyncio.run(_record(args))
    except (BtclibError, OSError, ValueError) as exc:
        partial = exc.summary if isinstance(exc, BtclibError) else None
        if partial is not None:
            print(partial.text(), file=sys.stderr)
        print(f"btclib: error: {exc}", file=sys.stderr)
        return 1
    print(summary.text())
    from .broker import cli as broker_cli

    if broker_text := broker_cli.summary_text(args.plan):
        print(broker_text)  # how far behind the broker is (btclib.broker)
    if summary.problems:  # never connected, or nothing written: a failed run says so
        print(f"btclib: error: {'; '.join(summary.problems)}", file=sys.stderr)
        return 1
    return 0
