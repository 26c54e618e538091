"""Cross-exchange analysis of a recording on pandas: quotes, trades, the Korean premium, spreads.

A recording becomes two tidy :class:`pandas.DataFrame` (one observation per row), the form
every data tool reads:

* ``Recording.levels``: one row per book level, columns ``time`` (receive time, a UTC
  timestamp; ``NaT`` for line files), ``t`` (seconds since the first frame, or the line
  number), ``snapshot`` (which book message the level came in), ``venue``, ``symbol``,
  ``side`` (``bid``/``ask``), ``level`` (1 is the touch), ``price`` and ``size``;
* ``Recording.prints``: one row per trade, ``time``, ``t``, ``venue``, ``symbol``, ``id``,
  ``price``, ``size`` and ``side`` (``id``/``side`` when the exchange module reads them).

:meth:`Recording.to_csv` and :meth:`Recording.to_parquet` write them for readers who continue
in other tools. The preferred input is a capture (:mod:`btclib.files.capture`): every frame with its
receive time, so two venues compare at the same instant; the line files alone have no times,
and :func:`load_lines` uses the line number as the clock (order only).

Numbers are parsed here, and only here (analysis, not recording: the line files stay
byte-exact). Each exchange module reads its own lines and frames (``read_line``,
``read_frame`` in :mod:`btclib.exchanges`); prices and sizes become float64, which holds
every price the two exchanges send (at most 16 significant digits) to the nearest double.

The joins are :func:`pandas.merge_asof` with ``direction="backward"``: a value as known at
that instant, never one received later. The premium compares like with like, in USDT: each
Upbit ``KRW-BTC`` book is converted with Upbit's own ``KRW-USDT`` mid as known then, and
divided by Binance's ``BTCUSDT`` mid as known then (the usual "kimchi premium": what a trader
on Upbit pays for BTC in USDT terms). :meth:`Series.stats` gives ``describe()``'s statistics
and the time-weighted mean, which a quiet stretch of the market does not under-count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import exchanges
from .exchanges import Book, Record, Trade
from .files.capture import read_capture
from .files.linereader import read_lines
from .files.rotation import set_base, set_files

__all__ = [
    "LEVELS",
    "LEVEL_COLUMNS",
    "SECONDS",
    "TRADE_COLUMNS",
    "BookSeries",
    "CrossExchange",
    "Depth",
    "Print",
    "Quote",
    "Recording",
    "Series",
    "Stats",
    "TradeSeries",
    "asof",
    "convert",
    "cross_exchange",
    "depth",
    "describe",
    "load",
    "load_capture",
    "load_lines",
    "parse_frame",
    "parse_line",
    "premium",
    "spread_bps",
]

LEVELS = 5
_LINE_LIMIT = 64 << 20
"""Longer lines are not read into memory (the recorder's frames are far smaller)."""
"""Levels kept per side: Binance ``depth5`` sends five, so five compare both books fairly."""

SECONDS = "time since the first frame (s, receive time)"
LINES = "line number in the data file (order only: line files have no times)"

LEVEL_COLUMNS = ["time", "t", "snapshot", "venue", "symbol", "side", "level", "price", "size"]
TRADE_COLUMNS = ["time", "t", "venue", "symbol", "id", "price", "size", "side"]

# -- one frame or line --------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """One order-book snapshot: up to ``levels`` (price, size) pairs per side, best first."""

    venue: str
    symbol: str
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Print:
    """One trade: price and size (base currency); ``id`` and ``side`` when the exchange's
    reader provides them (``None`` otherwise)."""

    venue: str
    symbol: str
    price: float
    qty: float
    id: Any = field(default=None, compare=False)
    side: str | None = field(default=None, compare=False)


Event = Quote | Print


def _levels(pairs: Iterable[Any], levels: int) -> tuple[tuple[float, float], ...]:
    """The first ``levels`` real levels: Upbit pads a thin side with 0-price levels."""
    out = []
    for pair in pairs:
        price, size = float(pair[0]), float(pair[1])
        if price > 0:
            out.append((price, size))
        if len(out) == levels:
            break
    return tuple(out)


def _event(record: Record | None, levels: int) -> Event | None:
    if isinstance(record, Book):
        bids, asks = _levels(record.bids, levels), _levels(record.asks, levels)
        return Quote(record.exchange, record.market, bids, asks)
    if isinstance(record, Trade):
        return Print(
            record.exchange,
            record.market,
            float(record.price),
            float(record.size),
            getattr(record, "id", None),
            getattr(record, "side", None),
        )
    return None


def parse_frame(exchange: str, data: bytes, levels: int = LEVELS) -> Event | None:
    """The market data in one received frame, or ``None`` for anything else.

    Each exchange module reads its own frames (``read_frame``: Binance's combined-stream
    wrappers or bare payloads, Upbit's DEFAULT or SIMPLE messages). Replies, status messages
    and errors give ``None``: the recorder already reported them.
    """
    module = exchanges.EXCHANGES.get(exchange)
    return _event(module.read_frame(data), levels) if module is not None else None


def parse_line(line: bytes | str, levels: int = LEVELS) -> Event | None:
    """The market data in one line of a data file (SPEC section 1), or ``None``.

    ``btcusdt@orderbook,bids:[..],asks:[..]`` (Binance book), ``btcusdt@trade, p:<p>,q:<q>``
    (Binance trade) and ``btckrw@orderbook,[<orderbook_units>]`` (Upbit book): the exchange
    modules read them back (``read_line``).
    """
    return _event(exchanges.read_line(line), levels)


# -- tidy frames --------------------------------------------------------------------------------


class _Rows:
    """Column lists for the two tidy frames: one DataFrame built at the end, not row by row."""

    def __init__(self) -> None:
        self.levels: dict[str, list[Any]] = {c: [] for c in LEVEL_COLUMNS}
        self.trades: dict[str, list[Any]] = {c: [] for c in TRADE_COLUMNS}
        self.snapshots = 0

    def add(self, wall_ns: int | None, t: float, event: Event) -> None:
        if isinstance(event, Print):
            values = (wall_ns, t, event.venue, event.symbol, event.id, event.price, event.qty)
            for column, v in zip(TRADE_COLUMNS, (*values, event.side), strict=True):
                self.trades[column].append(v)
            return
        for side, pairs in (("bid", event.bids), ("ask", event.asks)):
            for level, (price, size) in enumerate(pairs, 1):
                row = (wall_ns, t, self.snapshots, event.venue, event.symbol, side, level)
                for column, v in zip(LEVEL_COLUMNS, (*row, price, size), strict=True):
                    self.levels[column].append(v)
        self.snapshots += 1

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        levels = pd.DataFrame(self.levels, columns=LEVEL_COLUMNS)
        extra = [c for c in self.trades if c not in TRADE_COLUMNS]  # ``backfill``, when asked
        trades = pd.DataFrame(self.trades, columns=[*TRADE_COLUMNS, *extra])
        for frame in (levels, trades):
            frame["time"] = pd.to_datetime(frame["time"], unit="ns", utc=True)
            frame["t"] = frame["t"].astype(float)
            for column in ("price", "size"):
                frame[column] = frame[column].astype(float)
        levels["snapshot"] = levels["snapshot"].astype("int64")
        levels["level"] = levels["level"].astype("int64")
        # Stable sort on the clock: appended runs and two connections interleave.
        return (
            levels.sort_values("t", kind="stable", ignore_index=True),
            trades.sort_values("t", kind="stable", ignore_index=True),
        )


def _currencies(venue: str, symbol: str) -> tuple[str, str]:
    module = exchanges.EXCHANGES.get(venue)
    pair = module.currencies(symbol) if module is not None else None
    return pair or ("base", "quote")


def _title(venue: str) -> str:
    module = exchanges.EXCHANGES.get(venue)
    return module.TITLE if module is not None else venue


# -- series: wide views of one market -----------------------------------------------------------


def _columns(side: str, what: str, levels: int) -> list[str]:
    return [f"{side}_{what}_{i}" for i in range(1, levels + 1)]


@dataclass(frozen=True)
class BookSeries:
    """One order book over time: a DataFrame with one row per received snapshot.

    ``frame`` has ``t``, ``time`` and, per level ``i`` (1 = the touch), ``bid_price_i``,
    ``bid_size_i``, ``ask_price_i``, ``ask_size_i``; a missing level is NaN (a thin book, or
    Upbit's 0-price padding), so ``bid``/``ask`` are NaN when that side is empty. The array
    properties are views for plotting.
    """

    venue: str
    symbol: str
    currency: str
    """Currency of the prices (``USDT``, ``KRW``); sizes are in the base asset."""
    frame: pd.DataFrame
    time_label: str = SECONDS

    @classmethod
    def from_arrays(
        cls,
        venue: str,
        symbol: str,
        currency: str,
        t: Any,
        bid_px: Any,
        bid_qty: Any,
        ask_px: Any,
        ask_qty: Any,
        time_label: str = SECONDS,
    ) -> BookSeries:
        """A book from ``(n,)`` times and ``(n, levels)`` price and size arrays."""
        t = np.asarray(t, dtype=float)
        data: dict[str, Any] = {"t": t, "time": pd.NaT}
        for side, px, qty in (("bid", bid_px, bid_qty), ("ask", ask_px, ask_qty)):
            px, qty = np.asarray(px, dtype=float), np.asarray(qty, dtype=float)
            for i in range(px.shape[1]):
                data[f"{side}_price_{i + 1}"] = px[:, i]
                data[f"{side}_size_{i + 1}"] = qty[:, i]
        return cls(venue, symbol, currency, pd.DataFrame(data), time_label)

    @property
    def levels(self) -> int:
        return sum(1 for c in self.frame.columns if c.startswith("bid_price_"))

    def _block(self, side: str, what: str) -> np.ndarray:
        return self.frame[_columns(side, what, self.levels)].to_numpy(dtype=float)

    @property
    def label(self) -> str:
        """``Binance BTCUSDT``, ``Upbit KRW-BTC``, plus the currency when converted."""
        name = f"{_title(self.venue)} {self.symbol}"
        native = _currencies(self.venue, self.symbol)[1]
        return name if self.currency == native else f"{name} (in {self.currency})"

    @property
    def base(self) -> str:
        return _currencies(self.venue, self.symbol)[0]

    @property
    def t(self) -> np.ndarray:
        return self.frame["t"].to_numpy(dtype=float)

    bid_px = property(lambda self: self._block("bid", "price"), doc="Bid prices, (n, levels).")
    bid_qty = property(lambda self: self._block("bid", "size"), doc="Bid sizes, (n, levels).")
    ask_px = property(lambda self: self._block("ask", "price"), doc="Ask prices, (n, levels).")
    ask_qty = property(lambda self: self._block("ask", "size"), doc="Ask sizes, (n, levels).")

    @property
    def bid(self) -> np.ndarray:
        """Best bid over time."""
        return self.frame["bid_price_1"].to_numpy(dtype=float)

    @property
    def ask(self) -> np.ndarray:
        """Best ask over time."""
        return self.frame["ask_price_1"].to_numpy(dtype=float)

    @property
    def mid(self) -> np.ndarray:
        """(best bid + best ask) / 2 over time: the price half-way across the spread."""
        return (self.bid + self.ask) / 2

    def __len__(self) -> int:
        return len(self.frame)


def _book(levels: pd.DataFrame, venue: str, symbol: str, n: int, label: str) -> BookSeries:
    """The wide form of one market's rows of the tidy levels frame (a pivot)."""
    rows = levels[(levels["venue"] == venue) & (levels["symbol"] == symbol)]
    wide = rows.pivot(index="snapshot", columns=["side", "level"], values=["price", "size"])
    wide.columns = [f"{side}_{what}_{level}" for what, side, level in wide.columns]
    wanted = [c for side in ("bid", "ask") for w in ("price", "size") for c in _columns(side, w, n)]
    when = rows.groupby("snapshot", sort=False)[["t", "time"]].first()
    frame = when.join(wide.reindex(columns=wanted)).sort_values("t", kind="stable")
    frame = frame.reset_index(drop=True)
    return BookSeries(venue, symbol, _currencies(venue, symbol)[1], frame, label)


@dataclass(frozen=True)
class TradeSeries:
    """Trade prints of one market over time: ``frame`` has the tidy trade columns."""

    venue: str
    symbol: str
    currency: str
    frame: pd.DataFrame
    time_label: str = SECONDS

    @classmethod
    def from_arrays(
        cls, venue: str, symbol: str, currency: str, t: Any, price: Any, qty: Any
    ) -> TradeSeries:
        frame = pd.DataFrame({"t": np.asarray(t, float), "price": price, "size": qty})
        return cls(venue, symbol, currency, frame.astype(float))

    @property
    def label(self) -> str:
        return f"{_title(self.venue)} {self.symbol} trades"

    t = property(lambda self: self.frame["t"].to_numpy(dtype=float))
    price = property(lambda self: self.frame["price"].to_numpy(dtype=float))
    qty = property(lambda self: self.frame["size"].to_numpy(dtype=float))

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Stats:
    """Summary of a series (NaNs excluded): ``describe()``, and the time-weighted mean."""

    n: int
    mean: float
    """Mean over samples (one per snapshot: a busy stretch has more of them)."""
    median: float
    std: float
    min: float
    max: float
    time_mean: float = math.nan
    """Mean weighted by how long each value stood (until the next sample): what the series
    was on average over the recording's time, however often it was sampled."""


@dataclass(frozen=True)
class Series:
    """One derived quantity over time (a premium, a spread): ``frame`` has ``t``, ``value``."""

    name: str
    unit: str
    frame: pd.DataFrame
    time_label: str = SECONDS

    t = property(lambda self: self.frame["t"].to_numpy(dtype=float))
    values = property(lambda self: self.frame["value"].to_numpy(dtype=float))

    def stats(self) -> Stats:
        """Count, mean, median, standard deviation, min and max (``describe()``) and the
        time-weighted mean of the finite values.

        The time-weighted mean weighs each value by the time until the next sample; the last
        one has no known duration and weighs nothing. With a single sample it is that sample.
        """
        frame = self.frame[np.isfinite(self.frame["value"])]
        if frame.empty:
            nan = math.nan
            return Stats(0, nan, nan, nan, nan, nan, nan)
        d = frame["value"].describe()
        held = frame["t"].diff().shift(-1).fillna(0.0)
        total = float(held.sum())
        weighted = float((frame["value"] * held).sum() / total) if total > 0 else float(d["mean"])
        std = float(d["std"]) if d["count"] > 1 else 0.0
        return Stats(
            int(d["count"]),
            float(d["mean"]),
            float(d["50%"]),
            std,
            float(d["min"]),
            float(d["max"]),
            weighted,
        )

    def __len__(self) -> int:
        return len(self.frame)


# -- a recording --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """One recording as two tidy frames (``levels``, ``prints``), with per-market views."""

    levels: pd.DataFrame
    """One row per book level: :data:`LEVEL_COLUMNS`."""
    prints: pd.DataFrame
    """One row per trade: :data:`TRADE_COLUMNS`."""
    timed: bool
    """True for a capture (``t`` in seconds); False for line files (``t`` = line number)."""
    start_wall_ns: int | None = None
    """Wall-clock receive time of the first frame (captures only)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Per exchange: ``live``, ``simulator`` or ``simulator replay`` (from the capture header)."""
    path: Path | None = None
    depth: int = LEVELS
    """Levels kept per side."""
    books: dict[str, BookSeries] = field(init=False, repr=False)
    """Per ``venue:symbol``: the book, one row per snapshot (a pivot of ``levels``)."""
    trades: dict[str, TradeSeries] = field(init=False, repr=False)
    """Per ``venue:symbol``: the trades (``prints`` of that market)."""

    def __post_init__(self) -> None:
        label = SECONDS if self.timed else LINES
        for name, columns in (("levels", LEVEL_COLUMNS), ("prints", TRADE_COLUMNS)):
            if not isinstance(getattr(self, name), pd.DataFrame):  # e.g. {} for "nothing"
                object.__setattr__(self, name, pd.DataFrame(getattr(self, name), columns=columns))
        markets = self.levels[["venue", "symbol"]].drop_duplicates().itertuples(index=False)
        books = {f"{v}:{s}": _book(self.levels, v, s, self.depth, label) for v, s in markets}
        trades = {
            f"{v}:{s}": TradeSeries(v, s, _currencies(v, s)[1], rows.reset_index(drop=True), label)
            for (v, s), rows in self.prints.groupby(["venue", "symbol"], sort=False)
        }
        object.__setattr__(self, "books", books)
        object.__setattr__(self, "trades", trades)

    @property
    def simulated(self) -> bool:
        """True when any exchange of the recording was served by btclib's simulator."""
        return any(source != "live" for source in self.sources.values())

    def book(self, venue: str, symbol: str) -> BookSeries:
        """The book of ``symbol`` on ``venue``; ``KeyError`` lists what was recorded."""
        key = f"{venue}:{symbol}"
        if key not in self.books:
            raise KeyError(
                f"no {key} order book in this recording; it has: {', '.join(self.books) or 'none'}"
            )
        return self.books[key]

    def to_csv(self, folder: str | Path, stem: str = "recording") -> list[Path]:
        """Write ``<stem>-levels.csv`` and ``<stem>-trades.csv`` (times in ISO 8601, UTC)."""
        return self._write(folder, stem, "csv", lambda f, p: f.to_csv(p, index=False))

    def to_parquet(self, folder: str | Path, stem: str = "recording") -> list[Path]:
        """Write ``<stem>-levels.parquet`` and ``<stem>-trades.parquet`` (types kept: UTC
        timestamps, float64). Needs a Parquet engine (``pip install pyarrow``)."""
        return self._write(folder, stem, "parquet", lambda f, p: f.to_parquet(p, index=False))

    def _write(self, folder: str | Path, stem: str, ext: str, write: Any) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, frame in (("levels", self.levels), ("trades", self.prints)):
            path = folder / f"{stem}-{name}.{ext}"
            write(frame.astype({"id": "string"}) if "id" in frame else frame, path)
            paths.append(path)
        return paths


def _header_markets(header: dict[str, Any]) -> dict[str, set[str]]:
    """Per exchange, the markets a capture header's streams name (``btcusdt@trade`` ->
    ``BTCUSDT``): what a frame that does not name its market (Binance's raw depth payload)
    must belong to when its exchange recorded one market alone."""
    return {
        str(name): {str(s).partition("@")[0].upper() for s in info.get("streams", [])}
        for name, info in header.get("exchanges", {}).items()
        if isinstance(info, dict)
    }


def _runs(path: Path, run: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(run index, record)`` for the headers and frames of the runs asked for."""
    header, records = read_capture(path)
    if run is not None and run < -1:
        raise ValueError(f"run {run}: expected None, -1 (the last run) or an index >= 0")
    index = 0
    yield 0, header
    for r in records:
        if "format" in r:  # the header of an appended run
            index += 1
            yield index, r
        elif "ev" not in r:
            yield index, r
    if run is not None and run > index:
        raise ValueError(f"{path}: run {run} asked for, the capture has {index + 1} run(s)")


def load_capture(path: str | Path, levels: int = LEVELS, *, run: int | None = None) -> Recording:
    """Read a capture into tidy frames timed by receive time.

    A capture file is appended to, one header per run: ``run=None`` reads every run,
    ``run=-1`` only the last (what a notebook just recorded), ``run=0`` the first, and so on.

    ``time`` is the wall clock of each frame; ``t`` (seconds since the first frame) comes from
    the monotonic clock of the recording process (immune to wall-clock steps); a capture with
    several appended runs is laid out on the wall clock run by run, never going backwards, so
    the series stay sorted and the as-of joins stay free of look-ahead.
    """
    path = Path(path)
    records = list(_runs(path, run))
    last = records[-1][0]
    wanted = last if run == -1 else run
    sources: dict[str, str] = {}
    named: dict[str, set[str]] = {}
    rows = _Rows()
    wall0: int | None = None
    run_t0 = last_t = 0.0  # time of the first frame of the current run; of the last frame
    run_mono0: int | None = None
    for index, r in records:
        if wanted is not None and index != wanted:
            continue
        if "format" in r:
            for exchange, info in r.get("exchanges", {}).items():
                sources[exchange] = str(info.get("source", "live"))
            for exchange, markets in _header_markets(r).items():
                named.setdefault(exchange, set()).update(markets)
            run_mono0 = None
            continue
        data = r["f"].encode("utf-8") if "f" in r else bytes.fromhex(r["fx"])
        event = parse_frame(str(r.get("x", "")), data, levels)
        if event is None:
            continue
        if not event.symbol and len(named.get(event.venue, ())) == 1:
            event = replace(event, symbol=next(iter(named[event.venue])))
        wall, mono = int(r["t"]), int(r["m"])
        if wall0 is None:
            wall0 = wall
        if run_mono0 is None or mono < run_mono0:
            run_mono0 = mono
            run_t0 = max(last_t, (wall - wall0) / 1e9)
        last_t = run_t0 + (mono - run_mono0) / 1e9
        rows.add(wall, last_t, event)
    book_rows, trade_rows = rows.frames()
    return Recording(book_rows, trade_rows, True, wall0, sources, path, levels)


def load_lines(
    paths: str | Path | Iterable[str | Path], levels: int = LEVELS, *, backfill: bool = False
) -> Recording:
    """Read data files (SPEC section 1) into tidy frames indexed by line number.

    The fallback when no capture was kept: the lines have no receive times (``time`` is
    ``NaT``), only their order, so ``t`` is the line number (0-based, continuing across the
    files given). Joins by line number are still free of look-ahead, because a line is written
    when its frame arrives; but the x axis is not time, and the plots say so.

    A path that names a rotated or split set (``rotate``/``split`` in
    :func:`btclib.recorder.record_feeds`) reads the whole set as one recording, its files in
    order (:func:`btclib.files.rotation.set_files`: the base file, then by date or number; market
    after market when split), compressed ones included.

    ``backfill=True`` adds the trades fetched again after the recording's gaps (the
    sidecar ``<file>.backfill.txt``, :mod:`btclib.quality.backfill`), marked in a
    ``backfill`` column of ``prints``; their place in the line order is not known (they
    were fetched afterwards), so they come after the lines recorded live.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    rows = _Rows()
    n = 0
    live = 0
    sidecars = []
    if backfill:
        from .quality.check import backfill_path

        sidecars = [s for s in {backfill_path(set_base(i)) for i in items} if s.exists()]
    for index, item in enumerate([*items, *sidecars]):
        if index == len(items):
            live = len(rows.trades["id"])
        listed = set_files(item) if index < len(items) else [Path(item)]
        for path in listed or [Path(item)]:  # a missing file: FileNotFoundError
            for line in read_lines(path, _LINE_LIMIT):
                if not isinstance(line, bytes):
                    n += 1  # longer than any frame the recorder keeps: not a data line
                    continue
                event = parse_line(line, levels)
                if event is not None:
                    rows.add(None, float(n), event)
                n += 1
    if backfill and not sidecars:
        live = len(rows.trades["id"])
    if backfill:
        marks = [False] * live + [True] * (len(rows.trades["id"]) - live)
        rows.trades["backfill"] = marks
    book_rows, trade_rows = rows.frames()
    if backfill:
        trade_rows["backfill"] = trade_rows["backfill"].astype(bool)
    first = Path(items[0]) if items else None
    return Recording(book_rows, trade_rows, False, None, {}, first, levels)


def load(path: str | Path, levels: int = LEVELS, *, backfill: bool = False) -> Recording:
    """A capture (``.jsonl``/``.jsonl.gz`` with a btclib header) or else a data file (or set);
    ``backfill=True`` merges a data file's backfill sidecar in, marked (:func:`load_lines`)."""
    path = Path(path)
    if path.name.endswith((".jsonl", ".jsonl.gz", ".gz")) and not path.name.endswith(".txt.gz"):
        return load_capture(path, levels)
    return load_lines(path, levels, backfill=backfill)


# -- joins and derived quantities ----------------------------------------------------------------


def asof(t: Any, t_ref: Any, values: Any) -> np.ndarray:
    """``values`` as known at each time in ``t``: the last one with ``t_ref <= t``.

    :func:`pandas.merge_asof` with ``direction="backward"`` (no interpolation, no look-ahead):
    a value received at the same instant counts as known; before the first reference it is
    NaN. ``t_ref`` must be sorted (the series built here are); ``t`` may be in any order.
    """
    left = pd.DataFrame({"t": np.asarray(t, dtype=float)})
    left["row"] = np.arange(len(left))
    right = pd.DataFrame({"t": np.asarray(t_ref, dtype=float), "v": np.asarray(values, float)})
    joined = pd.merge_asof(
        left.sort_values("t", kind="stable"), right, on="t", direction="backward"
    )
    return joined.sort_values("row")["v"].to_numpy(dtype=float)


def convert(book: BookSeries, rate: BookSeries, currency: str = "USDT") -> BookSeries:
    """``book``'s prices divided by ``rate``'s mid as of each snapshot of ``book``.

    For Upbit ``KRW-BTC`` and ``rate`` = Upbit ``KRW-USDT`` (KRW per USDT), this gives the BTC
    book in USDT. Snapshots before the first rate are NaN. Sizes are unchanged (they are BTC).
    """
    r = asof(book.t, rate.t, rate.mid)
    frame = book.frame.copy()
    prices = [c for c in frame.columns if "_price_" in c]
    frame[prices] = frame[prices].div(r, axis=0)
    return replace(book, currency=currency, frame=frame)


def premium(local: BookSeries, reference: BookSeries) -> Series:
    """Premium of ``local`` over ``reference`` in percent, at each snapshot of ``local``.

    ``(local mid / reference mid as of that instant - 1) * 100``, the as-of being
    :func:`pandas.merge_asof`. Both must be in the same currency (use :func:`convert` first).
    Samples before the first reference snapshot, or with a one-sided book, are dropped.
    """
    if local.currency != reference.currency:
        raise ValueError(
            f"premium of {local.label} over {reference.label}: prices in {local.currency} vs "
            f"{reference.currency}; convert one first"
        )
    left = pd.DataFrame({"t": local.t, "time": local.frame["time"], "mid": local.mid})
    right = pd.DataFrame({"t": reference.t, "ref": reference.mid})
    joined = pd.merge_asof(left, right, on="t", direction="backward")
    joined["value"] = (joined["mid"] / joined["ref"] - 1.0) * 100.0
    joined = joined[np.isfinite(joined["value"])].reset_index(drop=True)
    return Series(
        f"premium of {local.label} over {reference.label}",
        "%",
        joined[["t", "time", "value"]],
        local.time_label,
    )


def spread_bps(book: BookSeries) -> Series:
    """Quoted spread ``(ask - bid) / mid`` in basis points (1 bp = 0.01 %), per snapshot.

    Relative to the mid, so a KRW book and a USDT book compare directly (converting a book
    does not change it).
    """
    frame = pd.DataFrame(
        {"t": book.t, "time": book.frame["time"], "value": (book.ask - book.bid) / book.mid * 1e4}
    )
    frame = frame[np.isfinite(frame["value"])].reset_index(drop=True)
    return Series(f"{book.label} spread", "bp", frame, book.time_label)


@dataclass(frozen=True)
class Depth:
    """One book at one instant: cumulative size from the touch outwards, per side."""

    venue: str
    symbol: str
    currency: str
    base: str
    t: float
    bid_px: np.ndarray
    """Bid prices, best (highest) first."""
    bid_cum: np.ndarray
    """Size available at that bid price or better (cumulative, base asset)."""
    ask_px: np.ndarray
    ask_cum: np.ndarray
    label: str
    time_label: str = SECONDS

    @property
    def mid(self) -> float:
        return (float(self.bid_px[0]) + float(self.ask_px[0])) / 2


def depth(book: BookSeries, at: float | None = None) -> Depth:
    """The book as of time ``at`` (default: its last snapshot) as cumulative depth.

    Cumulative size against price shows how far a market order of a given size would walk
    the book; missing levels are left out.
    """
    if len(book) == 0:
        raise ValueError(f"{book.label}: no order-book snapshot recorded")
    i = len(book) - 1 if at is None else int(np.searchsorted(book.t, at, side="right")) - 1
    if i < 0:
        raise ValueError(f"{book.label}: no snapshot at or before {at}")
    row = book.frame.iloc[i]

    def side(name: str) -> tuple[np.ndarray, np.ndarray]:
        px = row[_columns(name, "price", book.levels)].to_numpy(dtype=float)
        qty = row[_columns(name, "size", book.levels)].to_numpy(dtype=float)
        ok = np.isfinite(px) & np.isfinite(qty)
        return px[ok], np.cumsum(qty[ok])

    (bid_px, bid_cum), (ask_px, ask_cum) = side("bid"), side("ask")
    return Depth(
        book.venue,
        book.symbol,
        book.currency,
        book.base,
        float(row["t"]),
        bid_px,
        bid_cum,
        ask_px,
        ask_cum,
        book.label,
        book.time_label,
    )


@dataclass(frozen=True)
class CrossExchange:
    """The two BTC markets side by side, both in USDT, and the premium between them."""

    binance: BookSeries
    """Binance ``BTCUSDT`` (USDT)."""
    upbit_krw: BookSeries
    """Upbit ``KRW-BTC`` as sent (KRW)."""
    krw_usdt: BookSeries
    """Upbit ``KRW-USDT``: KRW per USDT, the conversion rate."""
    upbit: BookSeries
    """Upbit ``KRW-BTC`` converted to USDT with ``krw_usdt``'s mid as of each snapshot."""
    premium: Series
    """Premium of Upbit over Binance in percent."""
    trades: TradeSeries | None
    """Binance ``BTCUSDT`` trade prints (None if none were recorded)."""


def cross_exchange(
    rec: Recording,
    *,
    binance: str = "BTCUSDT",
    upbit: str = "KRW-BTC",
    rate: str = "KRW-USDT",
) -> CrossExchange:
    """Binance vs Upbit for one asset: convert Upbit to USDT, compute the premium.

    Needs Upbit's ``KRW-USDT`` book in the same recording (record with
    ``codes=("KRW-BTC", "KRW-USDT")``): KRW prices are converted with Upbit's own USDT
    market, as of each instant.
    """
    ref = rec.book("binance", binance)
    local = rec.book("upbit", upbit)
    krw = rec.book("upbit", rate)
    converted = convert(local, krw, _currencies("upbit", rate)[0])
    return CrossExchange(
        ref,
        local,
        krw,
        converted,
        premium(converted, ref),
        rec.trades.get(f"binance:{binance}"),
    )


def describe(rec: Recording) -> str:
    """One line per market: what the recording holds, for a notebook's output."""
    clock = "receive times" if rec.timed else "line order only (no receive times)"
    lines = [f"{rec.path}: {clock}"]
    if rec.sources:
        lines[0] += "; sources " + ", ".join(f"{x}={s}" for x, s in rec.sources.items())
    lines += [f"  {key}: {len(book)} book snapshots" for key, book in rec.books.items()]
    lines += [f"  {key}: {len(trades)} trades" for key, trades in rec.trades.items()]
    return "\n".join(lines)
