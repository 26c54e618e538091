"""``python -m btclib.tools.bench [--quick] [--json PATH] [--plot PATH] [--repeats N]``."""

from __future__ import annotations

import argparse

from . import add_arguments, main

parser = argparse.ArgumentParser(prog="python -m btclib.tools.bench", description=__doc__)
add_arguments(parser)
parser.add_argument("--plot", dest="plot_path", default=None, help="write the PNG here")
parser.add_argument("--repeats", type=int, default=None, help="runs per pipeline")
parser.add_argument(
    "--peer-python",
    default=None,
    help="interpreter with ccxt installed for the peer run (env BTCLIB_BENCH_PEER_PYTHON)",
)
args = parser.parse_args()
raise SystemExit(
    main(
        args.quick,
        args.json_path,
        repeats=args.repeats,
        plot_path=args.plot_path,
        peer_python=args.peer_python,
    )
)
