"""The card as a small timeline: each stream's rate over the run, its gaps and findings shaded.

For Step C's notebook (helper "report" places it): one row per stream, messages per
minute from the capture's receive times (:attr:`StreamCard.rates`), gaps in grey,
collapses and silences in red, the verdict in the row's title. Made without pyplot
(as :mod:`btclib.plots` does), so nothing global changes in a notebook.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from .card import Card

__all__ = ["timeline"]

_MARKED = {"collapse", "silence"}


def timeline(card: Card, run: int = -1, width: float = 7.0) -> Figure:
    """Coverage and rate of each stream of run ``run`` (default: the last) of ``card``."""
    chosen = card.runs[run]
    streams = chosen.streams
    figure = Figure(figsize=(width, 1.1 + 1.0 * max(1, len(streams))), layout="constrained")
    axes = figure.subplots(max(1, len(streams)), 1, sharex=True, squeeze=False)[:, 0]
    start = chosen.started or 0.0
    for ax, s in zip(axes, streams, strict=False):
        if s.rates:
            ax.step([t for t, _ in s.rates], [r for _, r in s.rates], where="post", lw=1.0)
        for gap in s.gaps:
            if gap.start is not None and gap.end is not None:
                ax.axvspan(gap.start - start, gap.end - start, color="0.75", lw=0)
        for f in s.findings:
            if f.kind in _MARKED and f.start is not None and f.end is not None:
                ax.axvspan(f.start - start, f.end - start, color="tab:red", alpha=0.3, lw=0)
        cov = f", coverage {s.coverage:.1%}" if s.coverage is not None else ""
        ax.set_title(f"{s.stream}: {s.verdict}{cov}", loc="left", fontsize=9)
        ax.set_ylabel("msg/min", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.set_ylim(bottom=0)
    axes[-1].set_xlabel("seconds since the run's start (grey: gaps; red: collapse, silence)")
    return figure
