"""btclib.plots: the figures of the step notebooks (quotes, twin-axis mids, depth with a reason).

Built on hand-made series, so what each figure must show is known exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from btclib import analysis, plots
from btclib.analysis import BookSeries, TradeSeries


def book(
    venue: str, symbol: str, currency: str, bids: list[float], asks: list[float]
) -> BookSeries:
    n = len(bids)
    t = np.arange(n, dtype=float) * 0.5
    # Two levels per side: the second one tick further out, 1.5 BTC each.
    bid_px = np.array([[b, b - 1] for b in bids])
    ask_px = np.array([[a, a + 1] for a in asks])
    qty = np.full((n, 2), 1.5)
    return BookSeries.from_arrays(venue, symbol, currency, t, bid_px, qty, ask_px, qty.copy())


BINANCE = book("binance", "BTCUSDT", "USDT", [100.0, 100.5, 101.0], [100.01, 100.6, 101.02])
UPBIT = book("upbit", "KRW-BTC", "KRW", [144_000.0, 145_000.0, 146_000.0], [144_100.0] * 3)
TRADES = TradeSeries.from_arrays(
    "binance", "BTCUSDT", "USDT", np.array([0.2, 0.7]), np.array([100.01, 100.5]), np.ones(2)
)
REASON = "DNS lookup of stream.binance.com failed (Name or service not known): no internet access?"


def lines_of(ax) -> dict[str, np.ndarray]:
    return {line.get_label(): np.asarray(line.get_ydata()) for line in ax.get_lines()}


def test_title_text_says_simulated_in_one_short_line() -> None:
    assert plots.title_text("Prices") == "Prices"
    assert plots.title_text("Prices", False, REASON) == "Prices"
    assert plots.title_text("Prices", True) == f"Prices\n{plots.SIMULATED}"
    # The reason is the notice's, printed once above the run: not five red lines per plot.
    assert plots.title_text("Prices", True, REASON) == f"Prices\n{plots.SIMULATED}"
    assert len(plots.SIMULATED) <= 70


@pytest.mark.parametrize("simulated", [True, False])
def test_plot_quotes_shows_bid_ask_and_trades(tmp_path: Path, simulated: bool) -> None:
    fig = plots.plot_quotes(
        BINANCE, TRADES, simulated=simulated, reason=REASON, start_wall_ns=1_795_000_000 * 10**9
    )
    title = fig.get_suptitle()
    assert ("SIMULATED DATA" in title) == simulated and "Why: DNS" not in title
    assert "Binance BTCUSDT" in title
    ax, low = fig.axes
    lines = lines_of(ax)
    assert lines["best bid (3)"].tolist()[:3] == [100.0, 100.5, 101.0]
    assert lines["best ask (3)"].tolist()[:3] == [100.01, 100.6, 101.02]
    (points,) = ax.collections[1:]  # after the spread band: the trades
    assert np.asarray(points.get_offsets()).tolist() == [[0.2, 100.01], [0.7, 100.5]]
    assert "USDT per BTC" in ax.get_ylabel() and "2026" in low.get_xlabel()
    assert low.get_xlabel().count("(") == 1  # "time (s, 0 = ... UTC)", not "(s) (t = 0 ...)"
    # The spread on its own axis: visible however thin it is beside the price.
    (spread,) = lines_of(low).values()
    assert spread.tolist()[:3] == pytest.approx([0.01, 0.1, 0.02])
    labels = [t.get_text() for t in low.get_legend().get_texts()]
    assert "trades (2)" in labels
    fig.savefig(tmp_path / "q.png")


def test_plot_quotes_without_trades_and_empty_book() -> None:
    fig = plots.plot_quotes(BINANCE, None, title="Only quotes")
    assert fig.get_suptitle() == "Only quotes"
    assert len(fig.axes[0].collections) == 1  # the band, no trades
    none = np.empty((0, 2))
    empty = BookSeries.from_arrays(
        "binance", "BTCUSDT", "USDT", np.empty(0), none, none, none, none
    )
    with pytest.raises(ValueError, match="no Binance BTCUSDT snapshot"):
        plots.plot_quotes(empty)


@pytest.mark.parametrize("simulated", [True, False])
def test_plot_twin_mids_puts_each_venue_on_its_own_axis(tmp_path: Path, simulated: bool) -> None:
    fig = plots.plot_twin_mids(BINANCE, UPBIT, simulated=simulated, reason=REASON)
    assert ("SIMULATED DATA" in fig.get_suptitle()) == simulated
    left, right = fig.axes
    (usdt,) = lines_of(left).values()
    (krw,) = lines_of(right).values()
    assert usdt.tolist()[:3] == pytest.approx(BINANCE.mid.tolist())
    assert krw.tolist()[:3] == pytest.approx(UPBIT.mid.tolist())
    assert "USDT" in left.get_ylabel() and "KRW" in right.get_ylabel()
    # One legend naming both lines and their axes, on the axes drawn last.
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any("left axis" in s and "BTCUSDT" in s for s in labels)
    assert any("right axis" in s and "KRW-BTC" in s for s in labels)
    # KRW ticks without decimals, USDT with cents.
    fig.canvas.draw()
    assert all("." not in t.get_text() for t in right.get_yticklabels() if t.get_text())
    assert any(t.get_text().endswith(".00") for t in left.get_yticklabels())
    fig.savefig(tmp_path / "m.png")


def test_plot_depth_takes_a_reason() -> None:
    d = analysis.depth(UPBIT)
    fig = plots.plot_depth([d], simulated=True, reason=REASON, title="Upbit book")
    assert fig.get_suptitle() == f"Upbit book\n{plots.SIMULATED}"
    assert plots.plot_depth([d], title="Upbit book").get_suptitle() == "Upbit book"
    assert not math.isnan(d.mid)


def covered_points(fig) -> list[tuple[str, int]]:
    """Per axes, the data points (steps, not the dotted mid line) under the axes' legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    covered = []
    for ax in fig.axes:
        box = ax.get_legend().get_window_extent()
        for line in ax.get_lines():
            if line.get_label() == "mid":
                continue
            xy = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
            xy = xy[np.isfinite(xy).all(axis=1)]
            inside = (
                (xy[:, 0] > box.x0)
                & (xy[:, 0] < box.x1)
                & (xy[:, 1] > box.y0)
                & (xy[:, 1] < box.y1)
            )
            if inside.any():
                covered.append((line.get_label(), int(inside.sum())))
    return covered


def test_depth_and_spread_legends_cover_no_data() -> None:
    # A tall ask side right next to the mid (the book Upbit's legend used to hide).
    tall = analysis.Depth(
        "upbit", "KRW-BTC", "KRW", "BTC", 2.9,
        np.array([135_660_000.0, 135_650_000.0]), np.array([0.5, 0.6]),
        np.array([135_661_000.0, 135_670_000.0]), np.array([10.0, 10.4]),
        "Upbit KRW-BTC",
    )  # fmt: skip
    fig = plots.plot_depth([analysis.depth(BINANCE), tall])
    assert covered_points(fig) == []
    assert all(len(ax.get_legend().get_texts()) == 3 for ax in fig.axes)  # bids, asks, mid
    spreads = [analysis.spread_bps(b) for b in (BINANCE, UPBIT)]
    fig = plots.plot_spreads(spreads, venues=["binance", "upbit"])
    assert covered_points(fig) == []


def test_spread_y_label_is_short_and_the_unit_is_explained_in_the_title() -> None:
    fig = plots.plot_spreads([analysis.spread_bps(BINANCE)], venues=["binance"])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "spread (bp)"
    assert "1 bp = 0.01 %" in ax.get_title(loc="left")
