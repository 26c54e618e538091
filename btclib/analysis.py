"""Cross-exchange analysis of a recording: quotes, trades, the Korean premium, spreads, depth.

Pure functions over what a recording kept. The preferred input is a capture
(:mod:`btclib.capture`): it has every frame with its receive time, so the
series here are on one clock and two venues can be compared at the same
instant. The line files alone have no times; :func:`load_lines` reads them
with the line number as the clock (order only), as a fallback.

Numbers are parsed here (this is analysis, not recording, and the line files
stay byte-exact): prices and sizes become float64, which holds every price
the two exchanges send (at most 16 significant digits) to the nearest double.
Series are numpy arrays because the plots and the as-of joins need vectors;
numpy comes with matplotlib, so this adds no dependency.

The premium compares like with like, in USDT and without look-ahead: each
Upbit ``KRW-BTC`` book is converted with Upbit's own ``KRW-USDT`` mid as
known at that instant, then divided by Binance's ``BTCUSDT`` mid as known at
that instant (:func:`asof`). Converting with Upbit's USDT market (rather than
a bank KRW/USD rate) measures what a trader on Upbit actually pays for BTC in
USDT terms, the usual definition of the "kimchi premium".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import exchanges
from .capture import read_capture
from .exchanges import Book, Record, Trade

__all__ = [
    "LEVELS",
    "SECONDS",
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
"""Levels kept per side: Binance ``depth5`` sends five, so five compare both books fairly."""

SECONDS = "time since the first frame (s, receive time)"
LINES = "line number in the data file (order only: line files have no times)"

# -- parsed frames ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """One order-book snapshot: up to ``levels`` (price, size) pairs per side, best first."""

    venue: str
    symbol: str
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Print:
    """One trade: price and size (base currency)."""

    venue: str
    symbol: str
    price: float
    qty: float


Event = Quote | Print


def _levels(pairs: Iterable[Any], levels: int) -> tuple[tuple[float, float], ...]:
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
        return Print(record.exchange, record.market, float(record.price), float(record.size))
    return None


def parse_frame(exchange: str, data: bytes, levels: int = LEVELS) -> Event | None:
    """The market data in one received frame, or ``None`` for anything else.

    Each exchange module reads its own frames (``read_frame``: Binance's
    combined-stream wrappers or bare payloads, Upbit's DEFAULT or SIMPLE
    messages). Replies, status messages and errors give ``None``: the
    recorder already reported them.
    """
    module = exchanges.EXCHANGES.get(exchange)
    return _event(module.read_frame(data), levels) if module is not None else None


def parse_line(line: bytes | str, levels: int = LEVELS) -> Event | None:
    """The market data in one line of a data file (SPEC section 1), or ``None``.

    ``btcusdt@orderbook,bids:[..],asks:[..]`` (Binance book),
    ``btcusdt@trade, p:<p>,q:<q>`` (Binance trade) and
    ``btckrw@orderbook,[<orderbook_units>]`` (Upbit book): the exchange
    modules read them back (``read_line``).
    """
    return _event(exchanges.read_line(line), levels)


# -- series -----------------------------------------------------------------------------------


def _currencies(venue: str, symbol: str) -> tuple[str, str]:
    module = exchanges.EXCHANGES.get(venue)
    pair = module.currencies(symbol) if module is not None else None
    return pair or ("base", "quote")


def _quote_currency(venue: str, symbol: str) -> str:
    return _currencies(venue, symbol)[1]


def _base_currency(venue: str, symbol: str) -> str:
    return _currencies(venue, symbol)[0]


_VENUE_NAMES = {name: module.TITLE for name, module in exchanges.EXCHANGES.items()}


@dataclass(frozen=True)
class BookSeries:
    """The top ``levels`` of one order book over time, one row per received snapshot.

    Price and size arrays have shape ``(n, levels)``; a missing level is NaN
    (a thin book, or Upbit's 0-price padding), so ``bid``/``ask`` are NaN
    when that side is empty.
    """

    venue: str
    symbol: str
    currency: str
    """Currency of the prices (``USDT``, ``KRW``); sizes are in the base asset."""
    t: np.ndarray
    bid_px: np.ndarray
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_qty: np.ndarray
    time_label: str = SECONDS

    @property
    def label(self) -> str:
        """``Binance BTCUSDT``, ``Upbit KRW-BTC``, plus the currency when converted."""
        name = f"{_VENUE_NAMES.get(self.venue, self.venue)} {self.symbol}"
        native = _quote_currency(self.venue, self.symbol)
        return name if self.currency == native else f"{name} (in {self.currency})"

    @property
    def base(self) -> str:
        return _base_currency(self.venue, self.symbol)

    @property
    def bid(self) -> np.ndarray:
        """Best bid over time."""
        return self.bid_px[:, 0]

    @property
    def ask(self) -> np.ndarray:
        """Best ask over time."""
        return self.ask_px[:, 0]

    @property
    def mid(self) -> np.ndarray:
        """(best bid + best ask) / 2 over time: the price half-way across the spread."""
        return (self.bid + self.ask) / 2

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class TradeSeries:
    """Trade prints of one market over time."""

    venue: str
    symbol: str
    currency: str
    t: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    time_label: str = SECONDS

    @property
    def label(self) -> str:
        return f"{_VENUE_NAMES.get(self.venue, self.venue)} {self.symbol} trades"

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Stats:
    """Summary of a series (NaNs excluded)."""

    n: int
    mean: float
    median: float
    std: float
    min: float
    max: float


@dataclass(frozen=True)
class Series:
    """One derived quantity over time (a premium, a spread), with its unit."""

    name: str
    unit: str
    t: np.ndarray
    values: np.ndarray
    time_label: str = SECONDS

    def stats(self) -> Stats:
        """Count, mean, median, standard deviation, min and max of the finite values.

        The mean is over samples (one per Upbit book update), not weighted by
        time: a quiet book contributes fewer samples.
        """
        v = self.values[np.isfinite(self.values)]
        if len(v) == 0:
            nan = math.nan
            return Stats(0, nan, nan, nan, nan, nan)
        return Stats(
            len(v),
            float(v.mean()),
            float(np.median(v)),
            float(v.std()),
            float(v.min()),
            float(v.max()),
        )

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Recording:
    """Every book and trade series of one recording, keyed ``venue:symbol``."""

    books: dict[str, BookSeries]
    trades: dict[str, TradeSeries]
    timed: bool
    """True for a capture (``t`` in seconds); False for line files (``t`` = line number)."""
    start_wall_ns: int | None = None
    """Wall-clock receive time of the first frame (captures only)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Per exchange: ``live``, ``simulator`` or ``simulator replay`` (from the capture header)."""
    path: Path | None = None

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


class _Builder:
    """Collects events into per-market columns, then freezes them into arrays."""

    def __init__(self, levels: int, time_label: str) -> None:
        self.levels = levels
        self.time_label = time_label
        self.books: dict[str, tuple[str, str, list[float], list[list[float]]]] = {}
        self.trades: dict[str, tuple[str, str, list[float], list[float], list[float]]] = {}

    def add(self, t: float, event: Event) -> None:
        key = f"{event.venue}:{event.symbol}"
        if isinstance(event, Quote):
            entry = self.books.setdefault(key, (event.venue, event.symbol, [], []))
            row = [math.nan] * (4 * self.levels)
            for i, (price, size) in enumerate(event.bids[: self.levels]):
                row[i], row[self.levels + i] = price, size
            for i, (price, size) in enumerate(event.asks[: self.levels]):
                row[2 * self.levels + i], row[3 * self.levels + i] = price, size
            entry[2].append(t)
            entry[3].append(row)
        else:
            trades = self.trades.setdefault(key, (event.venue, event.symbol, [], [], []))
            trades[2].append(t)
            trades[3].append(event.price)
            trades[4].append(event.qty)

    def freeze(self) -> tuple[dict[str, BookSeries], dict[str, TradeSeries]]:
        n = self.levels
        books = {}
        for key, (venue, symbol, ts, rows) in self.books.items():
            t = np.asarray(ts, dtype=float)
            order = np.argsort(t, kind="stable")
            m = np.asarray(rows, dtype=float).reshape(len(ts), 4 * n)[order]
            books[key] = BookSeries(
                venue,
                symbol,
                _quote_currency(venue, symbol),
                t[order],
                m[:, :n],
                m[:, n : 2 * n],
                m[:, 2 * n : 3 * n],
                m[:, 3 * n :],
                self.time_label,
            )
        trades = {}
        for key, (venue, symbol, ts, prices, qtys) in self.trades.items():
            t = np.asarray(ts, dtype=float)
            order = np.argsort(t, kind="stable")
            trades[key] = TradeSeries(
                venue,
                symbol,
                _quote_currency(venue, symbol),
                t[order],
                np.asarray(prices, dtype=float)[order],
                np.asarray(qtys, dtype=float)[order],
                self.time_label,
            )
        return books, trades


def _binance_symbols(header: dict[str, Any]) -> set[str]:
    streams = header.get("exchanges", {}).get("binance", {}).get("streams", [])
    return {str(s).partition("@")[0].upper() for s in streams}


def load_capture(path: str | Path, levels: int = LEVELS, *, run: int | None = None) -> Recording:
    """Read a capture into series timed by receive time, in seconds since the first frame.

    A capture file is appended to, one header per run: ``run=None`` reads
    every run, ``run=-1`` only the last (what a notebook just recorded),
    ``run=0`` the first, and so on.

    Times come from the monotonic clock of the recording process (immune to
    wall-clock steps); a capture with several appended runs is laid out on
    the wall clock run by run, never going backwards, so the series stay
    sorted and the as-of joins stay free of look-ahead.
    """
    path = Path(path)
    header, records = read_capture(path)
    sources: dict[str, str] = {}
    binance_symbols: set[str] = set()
    builder = _Builder(levels, SECONDS)
    wall0: int | None = None
    run_t0 = 0.0  # time of the first frame of the current run
    run_mono0: int | None = None
    last_t = 0.0

    def take(h: dict[str, Any]) -> None:
        for exchange, info in h.get("exchanges", {}).items():
            sources[exchange] = str(info.get("source", "live"))
        binance_symbols.update(_binance_symbols(h))

    if run is not None and run < -1:
        raise ValueError(f"run {run}: expected None, -1 (the last run) or an index >= 0")
    index = 0
    if run in (None, -1, 0):
        take(header)
    for r in records:
        if "format" in r:  # the header of an appended run
            index += 1
            if run == -1:  # only the last run counts: start over
                sources.clear()
                binance_symbols.clear()
                builder = _Builder(levels, SECONDS)
                wall0, last_t = None, 0.0
            if run is None or run in (-1, index):
                take(r)
            run_mono0 = None
            continue
        if "ev" in r or (run is not None and run not in (-1, index)):
            continue
        data = r["f"].encode("utf-8") if "f" in r else bytes.fromhex(r["fx"])
        event = parse_frame(str(r.get("x", "")), data, levels)
        if event is None:
            continue
        if event.venue == "binance" and not event.symbol and len(binance_symbols) == 1:
            event = replace(event, symbol=next(iter(binance_symbols)))
        wall, mono = int(r["t"]), int(r["m"])
        if wall0 is None:
            wall0 = wall
        if run_mono0 is None or mono < run_mono0:
            run_mono0 = mono
            run_t0 = max(last_t, (wall - wall0) / 1e9)
        last_t = run_t0 + (mono - run_mono0) / 1e9
        builder.add(last_t, event)
    if run is not None and run > index:
        raise ValueError(f"{path}: run {run} asked for, the capture has {index + 1} run(s)")
    books, trades = builder.freeze()
    return Recording(books, trades, True, wall0, sources, path)


def load_lines(paths: str | Path | Iterable[str | Path], levels: int = LEVELS) -> Recording:
    """Read data files (SPEC section 1) into series indexed by line number.

    The fallback when no capture was kept: the lines have no receive times,
    only their order, so ``t`` is the line number (0-based, continuing across
    the files given). Joins by line number are still free of look-ahead,
    because a line is written when its frame arrives; but the x axis is not
    time, and the plots say so.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    builder = _Builder(levels, LINES)
    n = 0
    for item in items:
        with Path(item).open("rb") as f:
            for line in f:
                event = parse_line(line, levels)
                if event is not None:
                    builder.add(float(n), event)
                n += 1
    books, trades = builder.freeze()
    first = Path(items[0]) if items else None
    return Recording(books, trades, False, None, {}, first)


def load(path: str | Path, levels: int = LEVELS) -> Recording:
    """A capture (``.jsonl``/``.jsonl.gz`` with a btclib header) or else a data file."""
    path = Path(path)
    if path.name.endswith((".jsonl", ".jsonl.gz", ".gz")):
        return load_capture(path, levels)
    return load_lines(path, levels)


# -- joins and derived quantities ----------------------------------------------------------------


def asof(t: np.ndarray, t_ref: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` as known at each time in ``t``: the last one with ``t_ref <= t``.

    An as-of join (no interpolation, no look-ahead): a value received at the
    same instant counts as known; before the first reference it is NaN.
    ``t_ref`` must be sorted (the series built here are).
    """
    t = np.asarray(t, dtype=float)
    idx = np.searchsorted(np.asarray(t_ref, dtype=float), t, side="right") - 1
    out = np.full(t.shape, math.nan)
    ok = idx >= 0
    out[ok] = np.asarray(values, dtype=float)[idx[ok]]
    return out


def convert(book: BookSeries, rate: BookSeries, currency: str = "USDT") -> BookSeries:
    """``book``'s prices divided by ``rate``'s mid as of each snapshot of ``book``.

    For Upbit ``KRW-BTC`` and ``rate`` = Upbit ``KRW-USDT`` (KRW per USDT),
    this gives the BTC book in USDT. Snapshots before the first rate are NaN.
    Sizes are unchanged (they are in BTC).
    """
    r = asof(book.t, rate.t, rate.mid)[:, None]
    return replace(book, currency=currency, bid_px=book.bid_px / r, ask_px=book.ask_px / r)


def premium(local: BookSeries, reference: BookSeries) -> Series:
    """Premium of ``local`` over ``reference`` in percent, at each snapshot of ``local``.

    ``(local mid / reference mid as of that instant - 1) * 100``. Both must be
    in the same currency (use :func:`convert` first). Samples before the
    first reference snapshot, or with a one-sided book, are dropped.
    """
    if local.currency != reference.currency:
        raise ValueError(
            f"premium of {local.label} over {reference.label}: prices in {local.currency} vs "
            f"{reference.currency}; convert one first"
        )
    ref = asof(local.t, reference.t, reference.mid)
    values = (local.mid / ref - 1.0) * 100.0
    ok = np.isfinite(values)
    return Series(
        f"premium of {local.label} over {reference.label}",
        "%",
        local.t[ok],
        values[ok],
        local.time_label,
    )


def spread_bps(book: BookSeries) -> Series:
    """Quoted spread ``(ask - bid) / mid`` in basis points (1 bp = 0.01 %), per snapshot.

    Relative to the mid, so a KRW book and a USDT book compare directly
    (converting a book does not change it).
    """
    values = (book.ask - book.bid) / book.mid * 1e4
    ok = np.isfinite(values)
    return Series(f"{book.label} spread", "bp", book.t[ok], values[ok], book.time_label)


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

    Cumulative size against price shows how far a market order of a given
    size would walk the book; missing levels are left out.
    """
    if len(book) == 0:
        raise ValueError(f"{book.label}: no order-book snapshot recorded")
    if at is None:
        i = len(book) - 1
    else:
        i = int(np.searchsorted(book.t, at, side="right")) - 1
        if i < 0:
            raise ValueError(f"{book.label}: no snapshot at or before {at}")

    def side(px: np.ndarray, qty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(px[i]) & np.isfinite(qty[i])
        return px[i][ok], np.cumsum(qty[i][ok])

    bid_px, bid_cum = side(book.bid_px, book.bid_qty)
    ask_px, ask_cum = side(book.ask_px, book.ask_qty)
    return Depth(
        book.venue,
        book.symbol,
        book.currency,
        book.base,
        float(book.t[i]),
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
    ``codes=("KRW-BTC", "KRW-USDT")``): KRW prices are converted with
    Upbit's own USDT market, as of each instant.
    """
    ref = rec.book("binance", binance)
    local = rec.book("upbit", upbit)
    krw = rec.book("upbit", rate)
    converted = convert(local, krw, _base_currency("upbit", rate))
    return CrossExchange(
        ref,
        local,
        krw,
        converted,
        premium(converted, ref),
        rec.trades.get(f"binance:{binance}"),
    )


def describe(rec: Recording) -> str:
    """One line per series: what the recording holds, for a notebook's output."""
    clock = "receive times" if rec.timed else "line order only (no receive times)"
    lines = [f"{rec.path}: {clock}"]
    if rec.sources:
        lines[0] += "; sources " + ", ".join(f"{x}={s}" for x, s in rec.sources.items())
    lines += [f"  {key}: {len(book)} book snapshots" for key, book in rec.books.items()]
    lines += [f"  {key}: {len(trades)} trades" for key, trades in rec.trades.items()]
    return "\n".join(lines)
