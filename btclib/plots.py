"""Matplotlib figures of recorded market data, built from :mod:`btclib.analysis` results.

Each builder takes analysis results and returns a new
:class:`~matplotlib.figure.Figure` (made without pyplot, so nothing global
is touched and a loop can build many). A notebook shows one with
``display(fig)``. Sizes and fonts are chosen to stay legible at the width of
a PDF page. When ``simulated`` is true the title says, in red, that the data
came from btclib's simulator: a reader of the report must never take a
synthetic market for the real one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from .analysis import BookSeries, Depth, Series, TradeSeries

__all__ = [
    "SIMULATED",
    "plot_depth",
    "plot_premium",
    "plot_prices",
    "plot_quotes",
    "plot_spreads",
    "plot_timeline",
    "plot_twin_mids",
    "title_text",
]

SIMULATED = "SIMULATED DATA: btclib's exchange simulator, not a live exchange"

# A PDF page shows a figure 0.9 text widths wide (about 5.8 in): 8 in with 12 pt text
# prints at about 9 pt. 120 dpi keeps lines sharp in the PDF.
_SIZE = (8.0, 4.0)
_DPI = 120
_RC = {
    "font.size": 12,
    "axes.titlesize": 12,
    "axes.labelsize": 12,
    "legend.fontsize": 10.5,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
}
_COLORS = {
    "binance": "#d4a017",  # Binance yellow, darkened to read on white
    "upbit": "#1f5fbf",  # Upbit blue
}
P = ParamSpec("P")
_OTHER = ["#2a9d8f", "#8e44ad", "#6c757d", "#c0392b"]
_BID, _ASK = "#2e8b57", "#c0392b"
_TITLE_WIDTH = 84  # characters of a suptitle line that fit the 8 in figure


def _styled(build: Callable[P, Figure]) -> Callable[P, Figure]:
    """Build the figure with this module's font sizes, leaving the global rcParams alone."""

    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with rc_context(_RC):
            return build(*args, **kwargs)

    return wrapper


def title_text(title: str, simulated: bool = False, reason: str | None = None) -> str:
    """``title``, with one short line saying SIMULATED DATA when the source was the simulator.

    ``reason`` (why the live exchange was not used) is not repeated on the figure: the notice
    printed above the run says it once, in full; a five-line red title said it again per plot.
    """
    del reason  # accepted for the callers that pass it; the notice above says it
    return f"{title}\n{SIMULATED}" if simulated else title


def _figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = _SIZE, **kw: object):
    fig = Figure(figsize=size, dpi=_DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)  # type: ignore[arg-type]
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        ax.ticklabel_format(useOffset=False, style="plain")
    return fig, axes


def _title(fig: Figure, title: str, simulated: bool, reason: str | None = None) -> None:
    fig.suptitle(
        title_text(title, simulated, reason),
        fontsize=_RC["axes.titlesize"] + 1,
        color="firebrick" if simulated else "black",
        fontweight="bold" if simulated else "normal",
    )


def _color(i: int, venue: str, used: set[str]) -> str:
    color = _COLORS.get(venue)
    if color is None or color in used:
        color = next(c for c in _OTHER if c not in used) if len(used) < len(_OTHER) else None
    color = color or f"C{i}"
    used.add(color)
    return color


def _start(start_wall_ns: int | None) -> str:
    """``, 0 = 2026-12-07 01:02:03 UTC``: put inside the time label's own parentheses by
    :func:`_time_label` (appended as a second pair, the label read ``time (s) (t = 0 ...)``)."""
    if start_wall_ns is None:
        return ""
    when = dt.datetime.fromtimestamp(start_wall_ns / 1e9, dt.UTC)
    return f", 0 = {when:%Y-%m-%d %H:%M:%S} UTC"


def _time_label(label: str, start_wall_ns: int | None) -> str:
    """``time (s, 0 = ... UTC)`` from ``time (s)``; a label without parentheses gets its own."""
    start = _start(start_wall_ns)
    if not start:
        return label
    if label.endswith(")"):
        return f"{label[:-1]}{start})"
    return f"{label} ({start.removeprefix(', ')})"


def _price_label(currency: str, base: str) -> str:
    return f"price ({currency} per {base})"


def _legend(ax: Axes, loc: str = "best") -> None:
    """The legend under the axes, in rows, where it covers no data (inside, "best" still
    covered points once a run had many); ``loc`` is kept for callers that name a corner."""
    del loc
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False, ncols=3)


def _legend_below(ax: Axes) -> None:
    """The legend under the axes (past the x label), where it can cover no data; the
    constrained layout makes room for it."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)


@_styled
def plot_prices(
    books: Sequence[BookSeries],
    trades: Sequence[TradeSeries] = (),
    *,
    detail: BookSeries | None = None,
    simulated: bool = False,
    title: str = "Mid prices",
    start_wall_ns: int | None = None,
) -> Figure:
    """Mid price of each book over time, trade prints marked; optionally a zoomed panel.

    All ``books`` must quote in one currency (convert first). ``detail``
    adds a lower panel with that book's best bid and ask (the spread as a
    band) and its trades, where moves too small to see next to a second venue
    show up.
    """
    if not books:
        raise ValueError("plot_prices: no book to plot")
    currencies = {b.currency for b in books}
    if len(currencies) != 1:
        raise ValueError(f"plot_prices: books in several currencies {sorted(currencies)}")
    currency = currencies.pop()
    rows = 2 if detail is not None else 1
    size = (_SIZE[0], _SIZE[1] * (1.6 if rows == 2 else 1.0))
    fig, axes = _figure(rows, 1, size, sharex=True)
    ax = axes[0, 0]
    used: set[str] = set()
    colors = {}
    for i, book in enumerate(books):
        colors[(book.venue, book.symbol)] = color = _color(i, book.venue, used)
        ax.step(book.t, book.mid, where="post", color=color, lw=1.6, label=f"{book.label} mid")
    for trade in trades:
        if trade.currency != currency or len(trade) == 0:
            continue
        color = colors.get((trade.venue, trade.symbol), "black")
        ax.scatter(
            trade.t, trade.price, s=14, marker="x", lw=0.8, color=color, alpha=0.7,
            label=f"{trade.label} ({len(trade)})", zorder=3,
        )  # fmt: skip
    ax.set_ylabel(_price_label(currency, books[0].base))
    ax.set_title("Mid price = (best bid + best ask) / 2 of each book", loc="left")
    _legend(ax)
    if detail is not None:
        low = axes[1, 0]
        color = colors.get((detail.venue, detail.symbol), "C0")
        low.fill_between(
            detail.t, detail.bid, detail.ask, step="post", color=color, alpha=0.25,
            label="between best bid and best ask",
        )  # fmt: skip
        low.step(detail.t, detail.bid, where="post", color=_BID, lw=1.0, label="best bid")
        low.step(detail.t, detail.ask, where="post", color=_ASK, lw=1.0, label="best ask")
        for trade in trades:
            if (trade.venue, trade.symbol) == (detail.venue, detail.symbol) and len(trade):
                low.scatter(
                    trade.t, trade.price, s=18 if len(trade) < 150 else 8, marker="x",
                    lw=0.9 if len(trade) < 150 else 0.6, color="black",
                    label=f"trades ({len(trade)})", zorder=3,
                )  # fmt: skip
        low.set_ylabel(_price_label(detail.currency, detail.base))
        low.set_title(f"{detail.label}: best bid, best ask and trades (zoomed)", loc="left")
        _legend(low)
    axes[-1, 0].set_xlabel(_time_label(books[0].time_label, start_wall_ns))
    _title(fig, title, simulated)
    return fig


@_styled
def plot_premium(
    premium: Series,
    *,
    simulated: bool = False,
    title: str = "Premium of Upbit over Binance",
    start_wall_ns: int | None = None,
    expected: float | None = None,
) -> Figure:
    """The premium (percent) over time with its mean as a dashed line.

    ``expected`` (percent) draws a dotted reference line, e.g. the premium a
    simulator was configured with.
    """
    fig, axes = _figure(1, 1, (_SIZE[0], _SIZE[1] * 0.9))
    ax = axes[0, 0]
    ax.step(premium.t, premium.values, where="post", color="#1f5fbf", lw=1.4, label="premium")
    stats = premium.stats()
    if stats.n:
        ax.axhline(
            stats.mean, color="black", ls="--", lw=1.4,
            label=f"mean {stats.mean:.3f} {premium.unit} (n = {stats.n}, sd {stats.std:.3f})",
        )  # fmt: skip
    if expected is not None:
        ax.axhline(expected, color="firebrick", ls=":", lw=1.6, label=f"configured {expected:g} %")
    if stats.n:
        lo, hi = min(stats.min, stats.mean), max(stats.max, stats.mean)
        if expected is not None:
            lo, hi = min(lo, expected), max(hi, expected)
        pad = max((hi - lo) * 0.15, 0.02)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_ylabel(f"premium ({premium.unit})")
    ax.set_xlabel(_time_label(premium.time_label, start_wall_ns))
    ax.set_title(premium.name, loc="left", fontsize=_RC["font.size"])
    _legend(ax)
    _title(fig, title, simulated)
    return fig


@_styled
def plot_spreads(
    spreads: Sequence[Series],
    *,
    venues: Sequence[str] = (),
    simulated: bool = False,
    title: str = "Bid-ask spreads",
    start_wall_ns: int | None = None,
    log: bool | None = None,
) -> Figure:
    """Each book's quoted spread over time (basis points), with its median in the legend.

    Spreads of different books can differ by orders of magnitude (a 0.01 USDT
    tick on BTCUSDT against a 1,000 KRW tick on KRW-BTC), so the y axis is
    logarithmic when the medians differ by more than 20x (``log`` forces it).
    ``venues`` (one per series) picks the venue colours.
    """
    if not spreads:
        raise ValueError("plot_spreads: no spread to plot")
    fig, axes = _figure(1, 1, (_SIZE[0], _SIZE[1] * 1.15))  # and the legend below
    ax = axes[0, 0]
    used: set[str] = set()
    medians = []
    for i, spread in enumerate(spreads):
        venue = venues[i] if i < len(venues) else ""
        stats = spread.stats()
        medians.append(stats.median)
        ax.step(
            spread.t, spread.values, where="post", lw=1.3, color=_color(i, venue, used),
            label=f"{spread.name} (median {stats.median:.3g} {spread.unit})",
        )  # fmt: skip
    finite = [m for m in medians if np.isfinite(m) and m > 0]
    if log is None:
        log = len(finite) > 1 and max(finite) / min(finite) > 20
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    unit = spreads[0].unit
    # A short y label (a long one ran into the title); the unit is explained in the title.
    ax.set_ylabel(f"spread ({unit})" + (", log scale" if log else ""))
    ax.set_xlabel(_time_label(spreads[0].time_label, start_wall_ns))
    explained = ", in bp (1 bp = 0.01 %)" if unit == "bp" else f", in {unit}"
    ax.set_title(f"(best ask - best bid) / mid{explained}", loc="left", fontsize=_RC["font.size"])
    _legend_below(ax)
    _title(fig, title, simulated)
    return fig


@_styled
def plot_depth(
    depths: Sequence[Depth],
    *,
    simulated: bool = False,
    title: str = "Order-book depth",
    reason: str | None = None,
) -> Figure:
    """Cumulative size against price of each book at one instant, one panel per book.

    Bids step down and to the left from the best bid, asks up and to the
    right from the best ask: the height at a price is how much a market order
    would fill up to that price. Each book keeps its own price axis (two
    venues' books are often a premium apart).
    """
    if not depths:
        raise ValueError("plot_depth: no book to plot")
    fig, axes = _figure(1, len(depths), (_SIZE[0], _SIZE[1] * 0.95))
    for ax, d in zip(axes[0], depths, strict=True):
        prices = np.r_[d.bid_px, d.ask_px]
        for px, cum, color, name in (
            (d.bid_px, d.bid_cum, _BID, "bids"),
            (d.ask_px, d.ask_cum, _ASK, "asks"),
        ):
            if not len(px):
                continue
            x, y = _depth_steps(px, cum)
            ax.step(x, y, where="post", color=color, lw=1.8, label=f"{name} ({len(px)})")
            ax.fill_between(x, y, step="post", color=color, alpha=0.2)
        decimals = _decimals(prices)
        mid = ""
        if len(d.bid_px) and len(d.ask_px):
            ax.axvline(d.mid, color="black", ls=":", lw=1.0, label="mid")
            mid = f", mid {d.mid:,.{decimals}f}"
        ax.set_xlabel(_price_label(d.currency, d.base))
        ax.set_ylabel(f"cumulative size ({d.base})")
        when = f"t = {d.t:.1f} s" if "(s" in d.time_label else f"line {d.t:.0f}"
        ax.set_title(f"{d.label}\nat {when}{mid}", fontsize=_RC["font.size"])
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(StrMethodFormatter(f"{{x:,.{decimals}f}}"))
        ax.tick_params(axis="x", labelrotation=25)
        # One legend row at the top, over a band the data never reaches (the tallest step is at
        # 80 % of the height): it covers no step, whichever side holds the tall one.
        ax.set_ylim(top=max(np.r_[d.bid_cum, d.ask_cum, 0.0]) * 1.25 or 1.0)
        ax.legend(loc="upper center", ncols=3, framealpha=0.85, handlelength=1.2,
                  columnspacing=0.8, borderaxespad=0.3)  # fmt: skip
    _title(fig, title, simulated, reason)
    return fig


@_styled
def plot_quotes(
    book: BookSeries,
    trades: TradeSeries | None = None,
    *,
    simulated: bool = False,
    reason: str | None = None,
    title: str | None = None,
    start_wall_ns: int | None = None,
) -> Figure:
    """One market over the run: best bid, best ask (the spread as a band) and trade prices,
    and under them the spread itself.

    At the scale of the price a one-tick spread (0.01 USDT on 95,000) is thinner than the
    lines, so the lower panel draws it on its own axis, in the quote currency. ``reason`` is
    accepted for the callers that pass it (the notice above the run says it).
    """
    if len(book) == 0:
        raise ValueError(f"plot_quotes: no {book.label} snapshot recorded")
    fig = Figure(figsize=(_SIZE[0], _SIZE[1] * 1.35), dpi=_DPI, layout="constrained")
    ax, low = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for a in (ax, low):
        a.grid(True, alpha=0.3)
        a.ticklabel_format(useOffset=False, style="plain")
    ax.fill_between(
        book.t, book.bid, book.ask, step="post", color="#888888", alpha=0.18,
        label="spread (best bid to best ask)",
    )  # fmt: skip
    ax.step(book.t, book.ask, where="post", color=_ASK, lw=1.4, label=f"best ask ({len(book)})")
    ax.step(book.t, book.bid, where="post", color=_BID, lw=1.4, label=f"best bid ({len(book)})")
    if trades is not None and len(trades):
        ax.scatter(
            trades.t, trades.price, s=16 if len(trades) < 150 else 6, marker="x",
            lw=0.9 if len(trades) < 150 else 0.6, color="black", zorder=3,
            label=f"trades ({len(trades)})",
        )  # fmt: skip
    ax.set_ylabel(_price_label(book.currency, book.base))
    spread = np.asarray(book.ask, dtype=float) - np.asarray(book.bid, dtype=float)
    low.step(book.t, spread, where="post", color="#555555", lw=1.2)
    low.fill_between(book.t, 0, spread, step="post", color="#888888", alpha=0.3)
    low.set_ylabel(f"spread ({book.currency})", fontsize=10)
    low.set_ylim(bottom=0)
    low.set_xlabel(_time_label(book.time_label, start_wall_ns))
    # The price panel's legend, under the spread panel: it covers no data there.
    low.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, -0.55),
               frameon=False, ncols=2)  # fmt: skip
    _title(fig, title or f"{book.label}: best bid, best ask and trades", simulated, reason)
    return fig


@_styled
def plot_twin_mids(
    left: BookSeries,
    right: BookSeries,
    *,
    simulated: bool = False,
    reason: str | None = None,
    title: str | None = None,
    start_wall_ns: int | None = None,
) -> Figure:
    """Two books' mid prices over one time axis, each on its own price axis (left, right).

    For two venues quoting in different currencies (Binance in USDT, Upbit in KRW): no
    conversion, each line in its own units; the axes are coloured like their lines.
    """
    for book in (left, right):
        if len(book) == 0:
            raise ValueError(f"plot_twin_mids: no {book.label} snapshot recorded")
    fig, axes = _figure(1, 1)
    ax = axes[0, 0]
    other = ax.twinx()
    other.ticklabel_format(useOffset=False, style="plain")
    used: set[str] = set()
    handles = []
    for i, (axis, book) in enumerate(((ax, left), (other, right))):
        color = _color(i, book.venue, used)
        (line,) = axis.step(
            book.t, book.mid, where="post", color=color, lw=1.6,
            label=f"{book.label} mid ({len(book)} books), {'left' if i == 0 else 'right'} axis",
        )  # fmt: skip
        handles.append(line)
        axis.set_ylabel(f"{book.label} mid ({book.currency})", color=color)
        axis.tick_params(axis="y", colors=color)
        axis.yaxis.set_major_formatter(StrMethodFormatter(f"{{x:,.{_mid_decimals(book)}f}}"))
    ax.set_xlabel(_time_label(left.time_label, start_wall_ns))
    ax.set_title("Mid price = (best bid + best ask) / 2", loc="left", fontsize=_RC["font.size"])
    # On the top axes (not hidden by the other), under both, where it covers no line.
    other.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22),
                 frameon=False, ncols=2)  # fmt: skip
    _title(fig, title or f"{left.label} and {right.label}: mid prices", simulated, reason)
    return fig


def _mid_decimals(book: BookSeries) -> int:
    """Enough decimals on a price axis: none for KRW, cents for USDT (at most 2)."""
    mids = book.mid[np.isfinite(book.mid)]
    return min(2, _decimals(np.r_[book.bid_px[np.isfinite(book.bid_px)], mids]))


def _depth_steps(px: np.ndarray, cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step outline from the touch outwards; the last level runs one mean spacing further."""
    gap = (px[-1] - px[0]) / (len(px) - 1) if len(px) > 1 else px[0] * 1e-5
    return np.r_[px[0], px, px[-1] + gap], np.r_[0.0, cum, cum[-1]]


def _decimals(prices: np.ndarray) -> int:
    """Decimals that tell the levels apart: 0 for KRW's 1,000 steps, 2 for USDT cents."""
    steps = np.diff(np.unique(prices))
    smallest = float(steps.min()) if len(steps) else 1.0
    return 0 if smallest >= 1 else min(8, int(np.ceil(-np.log10(smallest) - 1e-6)))


@_styled
def plot_timeline(lab: Any, *, title: str = "Step F: what the recorder did") -> Figure:
    """A fault lab run (:class:`btclib.tools.faultlab.LabRun`) on one time axis.

    Above, one row per exchange: each connection the simulator accepted as a bar (shades
    alternate so that back-to-back connections stay apart), the gaps the events log names
    shaded red, reconnects marked by a vertical tick, make-before-break rotations by a star,
    and each fault that took effect as a labelled triangle (the slow disk on a row of its own).
    Below, the lines written per second.
    """
    fig = Figure(figsize=(_SIZE[0], _SIZE[1] * 1.6), dpi=_DPI, layout="constrained")
    top, low = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    exchanges = list(dict.fromkeys(x for x, *_ in lab.spans))
    disk = bool(lab.slow) or any(x == "disk" for _, x, _ in lab.fired)
    rows = [*exchanges, "disk"] if disk else exchanges
    y = {x: len(rows) - 1 - i for i, x in enumerate(rows)}
    shade = {x: 0 for x in rows}
    for exchange, conn, opened, closed in lab.spans:
        color = _COLORS.get(exchange, "#6c757d")
        alpha = 0.85 if shade[exchange] % 2 == 0 else 0.55
        shade[exchange] += 1
        top.broken_barh([(opened, max(closed - opened, 0.01))], (y[exchange] - 0.3, 0.6),
                        facecolors=color, alpha=alpha, edgecolor="white")  # fmt: skip
        top.text(opened + 0.05, y[exchange], f"#{conn}", va="center", fontsize=8, color="white")
    for start, end in lab.slow:
        top.broken_barh([(start, end - start)], (y["disk"] - 0.3, 0.6), facecolors="#8e44ad",
                        alpha=0.6)  # fmt: skip
    t0 = lab.started
    gaps = rotations = reconnects = 0
    for e in lab.events:
        exchange = e.get("exchange")
        if exchange not in y:
            continue
        if e.get("event") == "gap":  # shaded in its exchange's row, a little wider to be seen
            start, end = float(e["start"]) - t0, float(e["end"]) - t0
            top.broken_barh([(start - 0.05, end - start + 0.1)], (y[exchange] - 0.5, 1.0),
                            facecolors="firebrick", alpha=0.35,
                            label="gap (no connection)" if not gaps else None)  # fmt: skip
            gaps += 1
        elif e.get("event") == "reconnect":
            top.vlines(float(e["time"]) - t0, y[exchange] - 0.45, y[exchange] + 0.45,
                       color="black", lw=1.2,
                       label="reconnect" if not reconnects else None)  # fmt: skip
            reconnects += 1
        elif e.get("event") == "rotated":
            top.plot([float(e["time"]) - t0], [y[exchange] + 0.38], marker="*", ms=12,
                     color="black", ls="none",
                     label="rotation (make-before-break)" if not rotations else None)  # fmt: skip
            rotations += 1
    per_row: dict[str, int] = {}
    for i, (t, exchange, what) in enumerate(lab.fired):
        row = y.get(exchange, 0)
        # Faults close together on one row: their labels alternate between two heights.
        nth = per_row[exchange] = per_row.get(exchange, -1) + 1
        top.plot([t], [row - 0.42], marker="v", ms=8, color="firebrick", ls="none",
                 label="fault planted" if i == 0 else None)  # fmt: skip
        top.annotate(what, (t, row - 0.42), xytext=(0, -9 - 10 * (nth % 2)),
                     textcoords="offset points", fontsize=8, ha="center", va="top",
                     color="firebrick")  # fmt: skip
    top.set_yticks([y[x] for x in rows], [x for x in rows])
    top.set_ylim(-0.9, len(rows) - 0.4)
    top.set_xlim(0, lab.stopped - t0)
    top.set_ylabel("connections")
    samples = np.asarray(lab.samples, dtype=float)
    if len(samples) > 1:
        t, n = samples[:, 0], samples[:, 1]
        rate = np.diff(n) / np.maximum(np.diff(t), 1e-6)
        low.step(t[1:], rate, where="pre", color="#2a9d8f", lw=1.2)
        low.fill_between(t[1:], 0, rate, step="pre", color="#2a9d8f", alpha=0.25)
    low.set_ylabel("lines/s")
    low.set_ylim(bottom=0)
    low.set_xlabel("time (s from the start of the run)")
    low.grid(True, alpha=0.3)
    # The marks' legend under the lower panel, where it covers nothing.
    low.legend(*top.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, -0.4),
               frameon=False, ncols=3, fontsize=9)  # fmt: skip
    _title(fig, title, True)
    return fig
