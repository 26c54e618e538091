"""``python -m btclib.report``: the same as ``python -m btclib report``."""

import sys

from .build import main

sys.exit(main())
