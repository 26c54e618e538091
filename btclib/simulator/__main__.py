"""``python -m btclib.simulator ...``: an alias of ``python -m btclib simulate ...``.

One command line serves the simulator (its options in :mod:`.cli_options`,
wired by :mod:`btclib.cli`); this one only forwards its arguments there, so
the two cannot drift apart.
"""

from __future__ import annotations

import sys

from ..cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main(["simulate", *sys.argv[1:]]))
