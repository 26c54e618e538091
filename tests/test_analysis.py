"""btclib.analysis: quotes, premium, spreads and depth from captures and line files.

Two kinds of proof: hand-made frames whose premium, spreads and depth are known
exactly, and a simulated recording whose premium was set in the simulator.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from btclib import analysis
from btclib.analysis import Print, Quote

# -- hand-made frames ---------------------------------------------------------------------------

# Binance book 1: bid 100.00, ask 101.00 -> mid 100.5, spread 1/100.5 = 99.50 bp.
# Binance book 2: bid 100.50, ask 101.50 -> mid 101.0.
# Upbit KRW-USDT: bid 1399, ask 1401 -> 1400 KRW per USDT (later 1500: must not leak backwards).
# Upbit KRW-BTC 1: 144920 / 144922 -> mid 144921 KRW = 103.515 USDT = 100.5 * 1.03 -> +3 %.
# Upbit KRW-BTC 2: 144227 / 144229 -> mid 144228 KRW = 103.02 USDT = 101.0 * 1.02 -> +2 %.

DEPTH1 = (
    '{"stream":"btcusdt@depth5","data":{"lastUpdateId":160,'
    '"bids":[["100.00000000","1.00000000"],["99.00000000","2.00000000"]],'
    '"asks":[["101.00000000","0.50000000"],["102.00000000","1.50000000"]]}}'
)
DEPTH2 = (
    '{"stream":"btcusdt@depth5","data":{"lastUpdateId":161,'
    '"bids":[["100.50000000","1.00000000"]],"asks":[["101.50000000","0.25000000"]]}}'
)
TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1672515782136,"s":"BTCUSDT",'
    '"t":12345,"p":"100.75000000","q":"0.00626000","T":1672515782136,"m":true,"M":true}}'
)


def upbit_book(code: str, units: str) -> str:
    return (
        f'{{"type":"orderbook","code":"{code}","timestamp":1790134742106,'
        f'"total_ask_size":1.0,"total_bid_size":1.0,"orderbook_units":[{units}],'
        f'"stream_type":"REALTIME","level":0}}'
    )


BTC0 = upbit_book(
    "KRW-BTC", '{"ask_price":1.44922E5,"bid_price":1.4492E5,"ask_size":0.1,"bid_size":0.2}'
)
USDT1 = upbit_book(
    "KRW-USDT",
    '{"ask_price":1401.0,"bid_price":1399.0,"ask_size":1000.0,"bid_size":2000.00000000}',
)
BTC1 = upbit_book(
    "KRW-BTC", '{"ask_price":1.44922E5,"bid_price":1.4492E5,"ask_size":0.1,"bid_size":0.2}'
)
BTC2 = upbit_book(
    "KRW-BTC",
    '{"ask_price":1.44229E5,"bid_price":1.44227E5,"ask_size":0.50000000,"bid_size":0.25},'
    '{"ask_price":1.4423E5,"bid_price":0.0,"ask_size":1.0,"bid_size":0.0}',
)
USDT2 = upbit_book(
    "KRW-USDT", '{"ask_price":1501.0,"bid_price":1499.0,"ask_size":1.0,"bid_size":1.0}'
)

# (seconds, exchange, frame, binary): the order and receive times of the capture below.
FRAMES = [
    (0.00, "upbit", BTC0, True),  # before any KRW-USDT rate: no premium sample
    (0.05, "binance", '{"result":null,"id":1}', False),
    (0.10, "binance", DEPTH1, False),
    (0.15, "upbit", '{"status":"UP"}', False),
    (0.20, "upbit", USDT1, True),
    (0.30, "upbit", BTC1, True),
    (0.40, "binance", TRADE, False),
    (0.50, "binance", DEPTH2, False),
    (0.60, "upbit", BTC2, True),
    (0.70, "upbit", USDT2, True),
]

T0_WALL = 1_795_000_000_000_000_000
T0_MONO = 5_000_000_000


def write_capture(path: Path, frames=FRAMES, source: str = "live") -> Path:
    header = {
        "format": "btclib-capture",
        "version": 1,
        "btclib": "0.1.0",
        "started": "2026-11-17T00:00:00Z",
        "started_ns": T0_WALL,
        "exchanges": {
            "binance": {"url": "wss://x", "streams": ["btcusdt@orderbook"], "source": source},
            "upbit": {"url": "wss://y", "streams": ["btckrw@orderbook"], "source": source},
        },
    }
    lines = [json.dumps(header)]
    lines.append(
        json.dumps({"t": T0_WALL, "m": T0_MONO, "c": 1, "x": "binance", "ev": "connected"})
    )
    for i, (s, exchange, frame, binary) in enumerate(frames):
        ns = round(s * 1e9)
        record = {"t": T0_WALL + ns, "m": T0_MONO + ns, "c": 1 + (exchange == "upbit"), "n": i}
        record.update({"x": exchange, "b": binary, "f": frame})
        lines.append(json.dumps(record, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return path


LINES = [
    "btckrw@orderbook," + BTC0.split('"orderbook_units":')[1].split(',"stream_type"')[0],
    'btcusdt@orderbook,bids:[["100.00000000","1.00000000"],["99.00000000","2.00000000"]],'
    'asks:[["101.00000000","0.50000000"],["102.00000000","1.50000000"]]',
    "usdtkrw@orderbook," + USDT1.split('"orderbook_units":')[1].split(',"stream_type"')[0],
    "btckrw@orderbook," + BTC1.split('"orderbook_units":')[1].split(',"stream_type"')[0],
    "btcusdt@trade, p:100.75000000,q:0.00626000",
    'btcusdt@orderbook,bids:[["100.50000000","1.00000000"]],asks:[["101.50000000","0.25000000"]]',
    "btckrw@orderbook," + BTC2.split('"orderbook_units":')[1].split(',"stream_type"')[0],
    "usdtkrw@orderbook," + USDT2.split('"orderbook_units":')[1].split(',"stream_type"')[0],
]


def test_parse_frame_binance_depth_and_trade() -> None:
    q = analysis.parse_frame("binance", DEPTH1.encode())
    assert q == Quote(
        "binance", "BTCUSDT", ((100.0, 1.0), (99.0, 2.0)), ((101.0, 0.5), (102.0, 1.5))
    )
    assert analysis.parse_frame("binance", TRADE.encode()) == Print(
        "binance", "BTCUSDT", 100.75, 0.00626
    )
    assert analysis.parse_frame("binance", b'{"result":null,"id":1}') is None
    assert analysis.parse_frame("binance", b"not json") is None


def test_parse_frame_upbit_skips_zero_padding_and_reads_java_numbers() -> None:
    q = analysis.parse_frame("upbit", BTC2.encode())
    assert q == Quote("upbit", "KRW-BTC", ((144227.0, 0.25),), ((144229.0, 0.5), (144230.0, 1.0)))
    simple = b'{"ty":"orderbook","cd":"KRW-BTC","obu":[{"ap":116606000,"bp":116534000,"as":0.06288509,"bs":7.9276E-4}]}'
    assert analysis.parse_frame("upbit", simple) == Quote(
        "upbit", "KRW-BTC", ((116534000.0, 7.9276e-4),), ((116606000.0, 0.06288509),)
    )
    assert analysis.parse_frame("upbit", b'{"status":"UP"}') is None


def test_parse_line_matches_parse_frame() -> None:
    assert analysis.parse_line(LINES[1]) == analysis.parse_frame("binance", DEPTH1.encode())
    assert analysis.parse_line(LINES[4] + "\n") == Print("binance", "BTCUSDT", 100.75, 0.00626)
    assert analysis.parse_line(LINES[6]) == analysis.parse_frame("upbit", BTC2.encode())
    assert analysis.parse_line(LINES[2]).symbol == "KRW-USDT"
    spec = 'btckrw@orderbook,[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,"bid_size":0.00164598}]'
    assert analysis.parse_line(spec) == Quote(
        "upbit", "KRW-BTC", ((22845000.0, 0.00164598),), ((22855000.0, 2.21720611),)
    )
    assert analysis.parse_line("garbage") is None


def test_asof_has_no_look_ahead() -> None:
    out = analysis.asof(
        np.array([0.0, 1.0, 1.5, 2.0, 9.0]), np.array([1.0, 2.0]), np.array([10, 20])
    )
    assert math.isnan(out[0])
    assert out[1:].tolist() == [10.0, 10.0, 20.0, 20.0]


def check_hand_made(rec: analysis.Recording, times: list[float]) -> None:
    x = analysis.cross_exchange(rec)
    assert x.binance.mid.tolist() == [100.5, 101.0]
    assert x.krw_usdt.mid.tolist() == [1400.0, 1500.0]
    assert x.upbit_krw.mid.tolist() == [144921.0, 144921.0, 144228.0]
    # First Upbit book came before any rate: NaN in USDT, no premium sample.
    assert math.isnan(x.upbit.mid[0])
    assert x.upbit.mid[1:] == pytest.approx([103.515, 103.02], rel=1e-12)
    assert x.upbit.currency == "USDT" and x.upbit.label == "Upbit KRW-BTC (in USDT)"
    assert x.premium.t.tolist() == pytest.approx(times)
    assert x.premium.values == pytest.approx([3.0, 2.0], abs=1e-9)
    assert x.premium.unit == "%"
    stats = x.premium.stats()
    assert (stats.n, stats.min, stats.max) == (2, pytest.approx(2.0), pytest.approx(3.0))
    assert stats.mean == pytest.approx(2.5, abs=1e-9)

    spreads = analysis.spread_bps(x.binance)
    assert spreads.values == pytest.approx([1 / 100.5 * 1e4, 1 / 101.0 * 1e4], rel=1e-12)
    assert spreads.unit == "bp"
    krw = analysis.spread_bps(x.upbit_krw).values
    assert krw == pytest.approx([2 / 144921 * 1e4, 2 / 144921 * 1e4, 2 / 144228 * 1e4])
    # Converting prices leaves the relative spread alone.
    assert analysis.spread_bps(x.upbit).values == pytest.approx(krw[1:], rel=1e-12)

    d = analysis.depth(x.binance, at=times[0])  # as of the first Upbit premium sample: book 1
    assert d.bid_px.tolist() == [100.0, 99.0] and d.bid_cum.tolist() == [1.0, 3.0]
    assert d.ask_px.tolist() == [101.0, 102.0] and d.ask_cum.tolist() == [0.5, 2.0]
    assert d.mid == 100.5 and d.base == "BTC" and d.currency == "USDT"
    last = analysis.depth(x.upbit_krw)
    assert last.bid_px.tolist() == [144227.0] and last.bid_cum.tolist() == [0.25]
    assert last.ask_px.tolist() == [144229.0, 144230.0] and last.ask_cum.tolist() == [0.5, 1.5]
    assert last.currency == "KRW"

    assert x.trades is not None
    assert x.trades.price.tolist() == [100.75] and x.trades.qty.tolist() == [0.00626]


def test_hand_made_capture(tmp_path: Path) -> None:
    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    assert rec.timed and not rec.simulated
    assert rec.start_wall_ns == T0_WALL
    check_hand_made(rec, [0.30, 0.60])
    assert rec.books["binance:BTCUSDT"].t.tolist() == pytest.approx([0.10, 0.50])
    assert rec.trades["binance:BTCUSDT"].t.tolist() == pytest.approx([0.40])
    assert "receive times" in analysis.describe(rec)


def test_hand_made_lines(tmp_path: Path) -> None:
    path = tmp_path / "stream-data-step-d.txt"
    path.write_text("\n".join(LINES) + "\n")
    rec = analysis.load(path)
    assert not rec.timed and rec.sources == {}
    check_hand_made(rec, [3.0, 6.0])  # line numbers
    assert "line" in rec.books["binance:BTCUSDT"].time_label


def test_simulated_source_is_flagged(tmp_path: Path) -> None:
    rec = analysis.load(write_capture(tmp_path / "c.jsonl", source="simulator"))
    assert rec.simulated


def test_missing_rate_book_says_what_to_record(tmp_path: Path) -> None:
    frames = [f for f in FRAMES if "KRW-USDT" not in f[2]]
    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl", frames))
    with pytest.raises(KeyError, match="upbit:KRW-USDT"):
        analysis.cross_exchange(rec)


def test_premium_needs_one_currency(tmp_path: Path) -> None:
    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    with pytest.raises(ValueError, match="convert"):
        analysis.premium(rec.book("upbit", "KRW-BTC"), rec.book("binance", "BTCUSDT"))


def test_appended_runs_keep_time_moving_forward(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c.jsonl", FRAMES[:3])
    # A second run, appended by another process: a new header and an unrelated monotonic clock.
    second = json.loads(path.read_text().splitlines()[0])
    with path.open("a") as f:
        f.write(json.dumps(second) + "\n")
        rec = {"t": T0_WALL + 60 * 10**9, "m": 1, "c": 1, "n": 0, "x": "binance", "b": False}
        f.write(json.dumps({**rec, "f": DEPTH2}) + "\n")
    t = analysis.load_capture(path).books["binance:BTCUSDT"].t
    assert t.tolist() == pytest.approx([0.10, 60.0])
    # One run at a time: the first, or the last (what a notebook just recorded).
    first = analysis.load_capture(path, run=0)
    assert first.books["binance:BTCUSDT"].bid.tolist() == [100.0]
    assert "upbit:KRW-BTC" in first.books
    last = analysis.load_capture(path, run=-1)
    assert last.books["binance:BTCUSDT"].bid.tolist() == [100.5]
    assert last.books["binance:BTCUSDT"].t.tolist() == [0.0]
    assert list(last.books) == ["binance:BTCUSDT"] and last.start_wall_ns == T0_WALL + 60 * 10**9
    assert analysis.load_capture(path, run=1).books.keys() == last.books.keys()
    with pytest.raises(ValueError, match="2 run"):
        analysis.load_capture(path, run=2)


@pytest.mark.parametrize("simulated", [True, False])
def test_figures_have_labels_and_say_when_simulated(tmp_path: Path, simulated: bool) -> None:
    from btclib import plots

    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    x = analysis.cross_exchange(rec)
    figures = [
        plots.plot_prices([x.binance, x.upbit], [x.trades], detail=x.binance, simulated=simulated),
        plots.plot_premium(x.premium, simulated=simulated, expected=2.5),
        plots.plot_spreads(
            [analysis.spread_bps(b) for b in (x.binance, x.upbit_krw, x.krw_usdt)],
            venues=["binance", "upbit", "upbit"],
            simulated=simulated,
        ),
        plots.plot_depth(
            [analysis.depth(x.binance), analysis.depth(x.upbit_krw)], simulated=simulated
        ),
    ]
    for fig in figures:
        assert ("SIMULATED DATA" in fig.get_suptitle()) == simulated
        for ax in fig.axes:
            assert ax.get_ylabel() and ax.get_legend() is not None
        assert fig.axes[-1].get_xlabel()
        fig.savefig(tmp_path / "f.png")  # renders without error
    with pytest.raises(ValueError, match="currencies"):
        plots.plot_prices([x.binance, x.upbit_krw])


# -- a simulated recording with a known premium ---------------------------------------------------


async def test_simulated_recording_recovers_the_configured_premium(tmp_path: Path) -> None:
    simulator = pytest.importorskip("btclib.simulator")
    if not hasattr(simulator, "Simulator"):
        pytest.skip("btclib.simulator has no Simulator server yet")
    import btclib
    from btclib.simulator.market import MarketParams

    configured = 0.035
    capture = tmp_path / "c.jsonl"
    started = time.monotonic()
    summary = await btclib.record(
        "both",
        duration=3,
        source="sim",
        codes=("KRW-BTC", "KRW-USDT"),
        capture=capture,
        out=tmp_path / "m.txt",
        progress=None,
        announce=lambda _text: None,
        sim_options={"market": MarketParams(premium=configured, krw_per_usdt=1_380.0)},
    )
    elapsed = time.monotonic() - started
    assert set(summary.sources.values()) == {"simulator"}, summary.text()

    rec = analysis.load_capture(capture)
    assert rec.simulated
    x = analysis.cross_exchange(rec)
    stats = x.premium.stats()
    assert stats.n >= 5, analysis.describe(rec)
    # The KRW-USDT tick (1 KRW at ~1380) quantizes the rate's mid by up to 0.04 %:
    # 0.15 percentage points is a tolerance the computation must meet with room to spare.
    assert stats.mean == pytest.approx(configured * 100, abs=0.15), stats
    assert np.nanmedian(x.krw_usdt.mid) == pytest.approx(1_380.0, rel=0.005)
    assert len(x.trades or ()) > 0
    assert np.all(analysis.spread_bps(x.binance).values > 0)

    # The line file alone gives the same premium (line order instead of times).
    lines = analysis.cross_exchange(analysis.load_lines(tmp_path / "m.txt"))
    assert lines.premium.stats().mean == pytest.approx(stats.mean, abs=0.05)
    print(f"configured {configured * 100:.2f} %, measured {stats}, run {elapsed:.1f} s")


# -- tidy frames, time-weighted statistics, export -------------------------------------------------


def test_capture_loads_into_tidy_frames_with_utc_receive_times(tmp_path: Path) -> None:
    import pandas as pd

    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    levels, prints = rec.levels, rec.prints
    assert list(levels.columns) == analysis.LEVEL_COLUMNS
    assert list(prints.columns) == analysis.TRADE_COLUMNS
    assert str(levels["time"].dt.tz) == "UTC" and levels["price"].dtype == np.float64
    # Binance book 1: two levels per side, one row each, level 1 at the touch.
    first = levels[levels["snapshot"] == levels.loc[levels["venue"] == "binance", "snapshot"].min()]
    assert first[["side", "level", "price", "size"]].values.tolist() == [
        ["bid", 1, 100.0, 1.0],
        ["bid", 2, 99.0, 2.0],
        ["ask", 1, 101.0, 0.5],
        ["ask", 2, 102.0, 1.5],
    ]
    assert (first["time"] == pd.Timestamp(T0_WALL + 100_000_000, unit="ns", tz="UTC")).all()
    # Upbit's 0-price padding is not a level.
    assert not (levels["price"] <= 0).any()
    assert prints[["venue", "symbol", "price", "size"]].values.tolist() == [
        ["binance", "BTCUSDT", 100.75, 0.00626]
    ]
    assert prints["t"].tolist() == pytest.approx([0.40])


def test_line_files_have_no_receive_time(tmp_path: Path) -> None:
    path = tmp_path / "stream-data-step-d.txt"
    path.write_text("\n".join(LINES) + "\n")
    rec = analysis.load_lines(path)
    assert rec.levels["time"].isna().all() and rec.prints["time"].isna().all()
    assert sorted(rec.levels["t"].unique()) == [0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0]


def test_asof_is_merge_asof_backward_in_any_order() -> None:
    out = analysis.asof(np.array([2.0, 0.0, 1.0]), np.array([1.0, 2.0]), np.array([10, 20]))
    assert out[0] == 20.0 and math.isnan(out[1]) and out[2] == 10.0


def test_time_weighted_mean_weighs_each_value_by_how_long_it_stood() -> None:
    import pandas as pd

    # 1.0 for 9 s, then 10.0 for 1 s, then a last sample (no duration): time mean 1.9.
    frame = pd.DataFrame({"t": [0.0, 9.0, 10.0], "value": [1.0, 10.0, 4.0]})
    stats = analysis.Series("x", "%", frame).stats()
    assert stats.mean == pytest.approx(5.0)  # per sample, as describe() gives it
    assert stats.time_mean == pytest.approx(1.9)
    assert (stats.n, stats.median, stats.min, stats.max) == (3, 4.0, 1.0, 10.0)
    assert stats.std == pytest.approx(float(np.std([1.0, 10.0, 4.0], ddof=1)))
    one = analysis.Series("x", "%", frame.iloc[:1]).stats()
    assert (one.time_mean, one.std) == (1.0, 0.0)


def test_hand_made_premium_time_weighted(tmp_path: Path) -> None:
    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    # +3 % from 0.30 s until the next sample at 0.60 s; the last (+2 %) has no duration yet.
    assert analysis.cross_exchange(rec).premium.stats().time_mean == pytest.approx(3.0)


def test_recording_exports_to_csv_and_reads_back(tmp_path: Path) -> None:
    import pandas as pd

    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    levels_csv, trades_csv = rec.to_csv(tmp_path / "out", stem="step-d")
    assert levels_csv.name == "step-d-levels.csv" and trades_csv.name == "step-d-trades.csv"
    back = pd.read_csv(levels_csv, parse_dates=["time"])
    assert back["price"].tolist() == rec.levels["price"].tolist()
    assert back["time"].tolist() == rec.levels["time"].tolist()
    assert pd.read_csv(trades_csv)["size"].tolist() == [0.00626]


def test_recording_exports_to_parquet_with_its_types(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (optional: pip install pyarrow)")
    import pandas as pd

    rec = analysis.load_capture(write_capture(tmp_path / "c.jsonl"))
    levels_path, _ = rec.to_parquet(tmp_path / "out")
    back = pd.read_parquet(levels_path)
    pd.testing.assert_frame_equal(back, rec.levels, check_dtype=False)
    assert str(back["time"].dt.tz) == "UTC"
