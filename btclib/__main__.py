"""``python -m btclib``: see :mod:`btclib.cli`."""

import sys

from .cli import main

sys.exit(main())
