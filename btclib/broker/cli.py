"""The broker's part of the command line: ``record --publish ...`` and ``consume``.

Kept here so :mod:`btclib.cli` only adds these options and calls three functions, and
``nats-py`` is imported only when a broker is named.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .. import arguments
from .connection import DEFAULT_STREAM, Broker, split_urls
from .partition import parse_partition
from .subjects import DATA_SUBJECTS

__all__ = [
    "add_consume_arguments",
    "add_record_arguments",
    "check_record",
    "consume_main",
    "open_for_record",
    "publishing_plan",
]


def _urls(text: str) -> list[str]:
    try:
        return split_urls(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")
_SUBJECT = re.compile(r"[^\s.*>]+|\*|>")


def _name(text: str) -> str:
    """A JetStream stream or consumer name: no spaces, dots, wildcards or slashes."""
    if not _NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected a name of letters, digits, '-' and '_', got {text!r}"
        )
    return text


def _subject(text: str) -> str:
    """A NATS subject filter: dot-separated tokens, ``*`` one token, ``>`` the rest."""
    tokens = text.split(".")
    if not text or not all(_SUBJECT.fullmatch(t) for t in tokens) or ">" in tokens[:-1]:
        raise argparse.ArgumentTypeError(
            f"expected a subject such as 'btclib.binance.>' or 'btclib.*.btcusdt.trade', "
            f"got {text!r}"
        )
    return text


def _partition(text: str) -> Any:
    try:
        return parse_partition(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_record_arguments(rec: argparse.ArgumentParser) -> None:
    """``--publish``, ``--stream``, ``--no-file``, ``--partition`` on ``record``."""
    rec.add_argument(
        "--publish",
        type=_urls,
        default=None,
        metavar="nats://HOST:PORT[,...]",
        help="also publish every line to this NATS JetStream server or cluster",
    )
    rec.add_argument(
        "--stream",
        type=_name,
        default=DEFAULT_STREAM,
        metavar="NAME",
        help=f"the JetStream stream (default {DEFAULT_STREAM}, made if missing)",
    )
    rec.add_argument(
        "--no-file",
        action="store_true",
        help="with --publish: write no data file (the stream holds the lines)",
    )
    rec.add_argument(
        "--partition",
        type=_partition,
        default=None,
        metavar="K/N",
        help="record partition K of N of the markets (with --symbol all --code all)",
    )


def check_record(args: argparse.Namespace, fail: Callable[[str], NoReturn]) -> None:
    if args.no_file and args.publish is None:
        fail("argument --no-file: only with --publish (else the lines would go nowhere)")
    if args.no_file and (args.rotate or args.split):
        fail("argument --no-file: --rotate and --split name files, and --no-file writes none")


async def open_for_record(args: argparse.Namespace) -> Broker | None:
    """Connect and check the broker before anything records (a refusal raises
    :class:`~btclib.errors.BrokerError`)."""
    if args.publish is None:
        return None
    from .connection import open_broker

    return await open_broker(args.publish, args.stream, name="btclib-record")


def publishing_plan(plan: Any, broker: Broker | None, args: argparse.Namespace) -> Any:
    """The plan with its output publishing to ``broker`` and its markets partitioned."""
    import dataclasses

    changes: dict[str, Any] = {}
    if broker is not None:
        from .output import published

        changes["output"] = published(plan.output, broker, file=not args.no_file)
    if args.partition is not None:
        changes["markets"] = args.partition.settings
    return dataclasses.replace(plan, **changes) if changes else plan


def summary_text(plan: Any) -> str:
    """The broker's line of the summary, when the run published."""
    from .output import PublishedOutput, describe

    return describe(plan.output) if isinstance(plan.output, PublishedOutput) else ""


def add_consume_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", type=_urls, help="the NATS server(s): nats://HOST:PORT[,...]")
    parser.add_argument(
        "--out", type=arguments.writable_file, required=True, help="the line file to write"
    )
    parser.add_argument(
        "--subject",
        type=_subject,
        default=DATA_SUBJECTS,
        help=f"subject filter (default {DATA_SUBJECTS}: every data line; e.g. 'btclib.binance.>')",
    )
    parser.add_argument("--stream", type=_name, default=DEFAULT_STREAM, metavar="NAME")
    parser.add_argument(
        "--follow", action="store_true", help="go on writing new lines until Ctrl+C"
    )
    parser.add_argument(
        "--durable",
        type=_name,
        default=None,
        metavar="NAME",
        help="the durable consumer (default: from --out's name; the same name resumes)",
    )


def consume_main(args: argparse.Namespace) -> int:
    from ..errors import BtclibError
    from ..steps.interrupts import install_stop_handlers
    from .consume import consume

    async def run() -> Any:
        stop = asyncio.Event()
        restore = install_stop_handlers(asyncio.get_running_loop(), stop)
        try:
            return await consume(
                args.urls,
                Path(args.out),
                stream=args.stream,
                subject=args.subject,
                follow=args.follow,
                durable=args.durable,
                stop=stop,
            )
        finally:
            restore()

    try:
        summary = asyncio.run(run())
    except (BtclibError, OSError) as exc:
        print(f"btclib: error: {exc}", file=sys.stderr)
        return 1
    print(summary.text())
    return 0
