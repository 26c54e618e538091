"""The run: the assignment's steps as one call each, from the options to the summary.

- :mod:`.record` (``btclib.record``: choose the feeds, the source and the file, then record);
- :mod:`.sources` (live or the simulator, and why), :mod:`.progress` (the progress line and
  bar), :mod:`.interrupts` (Ctrl+C, SIGTERM and the notebook's Interrupt as a clean stop).
"""

from .steps import record, record_sync

__all__ = ["record", "record_sync"]
