"""``python -m btclib.simulator [--port N] [--seed N] [--speedup X] [--replay FILE]``."""

from __future__ import annotations

import argparse
import sys

from .server import main


def _speed(text: str) -> float | str:
    return text if text == "max" else float(text)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m btclib.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speedup", type=float, default=1.0, help="market time vs wall time")
    parser.add_argument("--replay", default=None, help="serve this capture instead")
    parser.add_argument("--speed", type=_speed, default=1.0, help="replay speed or 'max'")
    args = parser.parse_args(argv)
    return main(args.port, args.seed, replay=args.replay, speed=args.speed, speedup=args.speedup)


if __name__ == "__main__":
    sys.exit(cli())
