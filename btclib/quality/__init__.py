"""The quality report card: how good a recording is, and why it is not better.

``python -m btclib check FILE`` and :func:`check` read what a recording left
(line file or set, events log, capture, backfill sidecar) and give a
:class:`Card`: per run and per stream its coverage and gaps, trade holes,
book faults, rate collapses and silences, latency against the exchange's
clock, and a verdict (``complete``, ``healed``, ``holes``, ``degraded``).
:func:`btclib.quality.figure.timeline` draws a card (matplotlib, imported only there).
"""

from .card import VERDICTS, Card, Finding, Gap, Hole, Latency, RunCard, StreamCard
from .check import backfill_path, check
from .rules import RateRules

__all__ = [
    "VERDICTS",
    "Card",
    "Finding",
    "Gap",
    "Hole",
    "Latency",
    "RateRules",
    "RunCard",
    "StreamCard",
    "backfill_path",
    "check",
]
