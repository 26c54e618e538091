"""``python -m btclib bench``: how fast the recorder is, next to the raw WebSocket ceiling.

One command starts a flood server in its own process (127.0.0.1 only; exchange
paths and frame types, pre-encoded frames sent as fast as the socket takes them, or
paced and stamped with their send time), then measures, each in a fresh process:
the websockets client's receive-only ceiling and btclib's full recorder per workload
(Binance depth5+trade, Upbit 30-unit books, both), frame-to-line latency at 1,000
and 10,000 frames/s, CPU per frame, peak RSS, a soak of 1,000,000 frames, the cost
of JSON parsing for comparison, and ccxt.pro on the same flood where ccxt is
installed. It prints tables and can write JSON (and a PNG beside it).

Quick mode (``--quick``) takes under a minute; the full run under ten. Nothing is
written outside a temporary folder except the paths given. Figures are noisy on a
shared machine: the JSON keeps every run so spreads can be judged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``bench``: ``--quick``, ``--scale`` and ``--json PATH``.

    ``--scale`` also sets ``quick`` to ``"scale"``, so a caller that passes only
    ``quick`` on to :func:`main` (as the command line did before) still gets it.
    """
    parser.add_argument("--quick", action="store_true", help="small runs, under a minute")
    parser.add_argument(
        "--scale",
        action=_Scale,
        nargs=0,
        default=False,
        help="every market (~1,500 Binance + 200 Upbit) at live-like rates for 60 s: "
        "frames/s, recorder CPU and memory, lines lost (btclib.tools.bench.scale)",
    )
    parser.add_argument(
        "--broker",
        action=_Broker,
        nargs=0,
        default=False,
        help="a 3-node NATS JetStream cluster here: lines/s, publish-to-consume latency at "
        "2,000 lines/s, CPU a line with and without --publish (btclib.tools.bench.broker)",
    )
    parser.add_argument(
        "--json",
        dest="json_path",
        default=None,
        metavar="PATH",
        help="write the results as JSON here (and the plot as PATH with .png)",
    )


class _Scale(argparse.Action):
    """``--scale``: sets ``scale``, and ``quick`` to ``"scale"`` (see :func:`add_arguments`)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.scale = True
        namespace.quick = "scale"


class _Broker(argparse.Action):
    """``--broker``: sets ``broker``, and ``quick`` to ``"broker"`` (as ``--scale`` does)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.broker = True
        namespace.quick = "broker"


def main(
    quick: bool | str,
    json_path: str | None,
    *,
    scale: bool = False,
    repeats: int | None = None,
    plot_path: str | None = None,
    peer_python: str | None = None,
) -> int:
    """Run the benchmark, print the tables, write JSON/PNG if asked. Returns 0.

    ``scale`` (or ``quick == "scale"``): :mod:`btclib.tools.bench.scale` instead.
    """
    if quick == "broker":
        from . import broker

        return broker.main(json_path)
    if scale or quick == "scale":
        from . import scale as scale_bench

        return scale_bench.main(json_path)
    from . import harness, report

    print(f"btclib bench ({'quick' if quick else 'full'}): flood server on 127.0.0.1 ...")
    result = harness.run(quick, repeats=repeats, peer_python=peer_python)
    print()
    print(report.table(result))
    if json_path:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"\nJSON: {path}")
        if plot_path is None:
            plot_path = str(path.with_suffix(".png"))
    if plot_path:
        try:
            print(f"plot: {report.plot(result, plot_path)}")
        except ImportError as exc:
            print(f"plot skipped: {exc}", file=sys.stderr)
    return 0
