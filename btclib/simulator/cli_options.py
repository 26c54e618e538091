"""The options of ``python -m btclib simulate``, declared by the simulator itself.

:func:`add_arguments` puts them on a parser, :func:`options` turns the parsed
arguments into :class:`~btclib.simulator.SimConfig` fields. The faults every
exchange shares are spelled here; the settings of one exchange (Binance's
ping timers, Upbit's idle timeout) come from that exchange's package
(``OPTIONS``) through the registry, so :mod:`btclib.cli` names no exchange and
a new simulated exchange brings its own options.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from ..arguments import (
    count,
    existing_file,
    http_error_status,
    integer,
    non_negative,
    port,
    positive,
    speed,
)
from .config import SimConfig
from .faults import Drop, Fault, Faults, Malformed, MalformedKind, Refuse, Rule, Stall
from .registry import EXCHANGES

__all__ = ["add_arguments", "options"]

_KINDS = ", ".join(kind.value for kind in MalformedKind)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of ``simulate``: where to listen, what to serve, which faults."""
    parser.add_argument("--port", type=port, default=8765)
    parser.add_argument("--seed", type=integer, default=None)
    parser.add_argument(
        "--replay",
        type=existing_file,
        default=None,
        help="serve a capture instead of the synthetic market",
    )
    parser.add_argument("--speed", type=speed, default=1.0, help="replay speed: 1, 10, ... or max")
    parser.add_argument(
        "--speedup",
        type=positive,
        default=1.0,
        help="market time runs this many times faster than the clock",
    )
    faults = parser.add_argument_group(
        "faults", "inject faults on purpose (deterministic; scoped by --fault-exchange/-connection)"
    )
    faults.add_argument(
        "--fault-exchange",
        choices=list(EXCHANGES),
        default=None,
        help="apply the faults below to this exchange only",
    )
    faults.add_argument(
        "--fault-connection",
        type=count,
        default=None,
        help="apply them to the Nth connection only (0 = first)",
    )
    faults.add_argument(
        "--drop-after",
        type=count,
        metavar="N",
        help="abort the TCP connection (no close frame) after N data messages",
    )
    faults.add_argument("--drop-after-seconds", type=positive, metavar="T")
    faults.add_argument(
        "--stall-after",
        type=non_negative,
        metavar="T",
        help="stop sending data after T seconds (socket stays open)",
    )
    faults.add_argument("--stall-for", type=positive, metavar="D", help="stall duration")
    faults.add_argument(
        "--stall-channel",
        action="append",
        default=None,
        help="stall only streams containing this text (e.g. depth)",
    )
    faults.add_argument(
        "--refuse",
        type=http_error_status,
        metavar="STATUS",
        help="refuse the handshake with this HTTP status (451, 429, ...)",
    )
    faults.add_argument(
        "--malformed",
        action="append",
        default=[],
        metavar="KIND[:AFTER]",
        help=f"inject a bad frame: {_KINDS}",
    )
    for exchange in EXCHANGES.values():
        for option in exchange.OPTIONS:
            option.add_to(faults)


def _malformed(spec: str) -> Malformed:
    kind, _, after = spec.partition(":")
    try:
        return Malformed(MalformedKind(kind), after_messages=count(after or "0"))
    except (ValueError, argparse.ArgumentTypeError) as exc:
        raise ValueError(
            f"--malformed {spec!r}: expected KIND[:AFTER] with KIND in {_KINDS}"
            " and AFTER a whole number of 0 or more"
        ) from exc


def options(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`~btclib.simulator.SimConfig` fields from :func:`add_arguments`' options.

    ``ValueError`` names an option whose value, or whose lack of a companion,
    makes no sense (``--stall-for`` without ``--stall-after``); the command
    line reports it as a usage error.
    """
    for needs, flag in (("stall_for", "--stall-for"), ("stall_channel", "--stall-channel")):
        if getattr(args, needs) is not None and args.stall_after is None:
            raise ValueError(f"{flag} needs --stall-after (when the stall begins)")
    if any(not channel for channel in args.stall_channel or ()):
        raise ValueError("--stall-channel: expected some text of a stream name, got ''")
    items: list[Fault] = []
    if args.drop_after is not None or args.drop_after_seconds is not None:
        items.append(Drop(after_messages=args.drop_after, after_seconds=args.drop_after_seconds))
    if args.stall_after is not None:
        channels = tuple(args.stall_channel) if args.stall_channel else None
        items.append(
            Stall(after_seconds=args.stall_after, duration=args.stall_for, channels=channels)
        )
    if args.refuse is not None:
        items.append(Refuse(args.refuse))
    items += [_malformed(spec) for spec in args.malformed]
    fields: dict[str, Any] = {"speedup": args.speedup}
    if items:
        rules = [
            Rule(i, exchange=args.fault_exchange, connection=args.fault_connection) for i in items
        ]
        fields["faults"] = Faults.of(*rules)
    settings: dict[str, Any] = {}
    for exchange in EXCHANGES.values():
        for option in exchange.OPTIONS:
            value = getattr(args, option.name)
            if value is not None:  # a SimConfig field, or a package's own setting
                (fields if option.name in _FIELDS else settings)[option.name] = value
    if settings:
        fields["settings"] = settings
    return fields


_FIELDS = frozenset(f.name for f in dataclasses.fields(SimConfig))
"""SimConfig's fields; an exchange package's option that names none goes in ``settings``."""
