"""Synthetic market shared by the simulated Binance and Upbit venues.

The model is pure: no I/O, no wall clock, no global random state. A
:class:`Market` is advanced one fixed step at a time with :meth:`Market.step`
and everything it produces (prices, books, trades, ids, timestamps) depends
only on its :class:`MarketParams`, its seed and the ``start_us`` it was given.
That is what makes the simulator reproducible: two markets built with the same
arguments emit identical steps, whatever the speed at which a server asks for
them.

One underlying USD price per asset (a geometric random walk) drives every
venue, so the prices the two exchanges show stay consistent: Binance
``BTCUSDT`` trades at the underlying plus a small venue noise, Upbit
``KRW-BTC`` at ``underlying * krw_per_usdt * (1 + premium)`` plus its own
noise (the "kimchi premium").

Prices are integers in units of ``10**-price_decimals`` of the quote currency
and sizes are integers in units of 1e-8 of the base asset, so formatting them
as the exchanges do never goes through a binary float.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "SIZE_SCALE",
    "Book",
    "Instrument",
    "Level",
    "Market",
    "MarketParams",
    "Step",
    "Trade",
    "Venue",
]

Venue = str
"""A simulated exchange's registry name (:data:`btclib.simulator.registry.EXCHANGES`)."""

#: Sizes are integers in units of 1 / SIZE_SCALE of the base asset (8 decimals).
SIZE_SCALE = 100_000_000


@dataclass(frozen=True)
class Instrument:
    """Static description of one tradable book on one venue."""

    venue: Venue
    #: Exchange spelling: ``"BTCUSDT"`` on Binance, ``"KRW-BTC"`` on Upbit.
    symbol: str
    #: Underlying asset whose USD price drives this book.
    asset: str
    #: Quote currency: ``"USDT"`` or ``"KRW"``.
    quote: str
    #: Integer prices are in units of ``10**-price_decimals`` quote currency.
    price_decimals: int
    #: Price step between levels, in price units.
    tick: int
    #: Size step, in 1e-8 units of the base asset.
    lot: int
    #: Levels kept on each side (Upbit sends up to 30, Binance depth up to 20).
    depth: int
    #: Typical size of one level, in 1e-8 units.
    size_median: int
    #: Mean number of trades per second of market time (Poisson).
    trade_rate: float
    #: Mean number of order-book size changes/cancels per second of market time.
    update_rate: float
    #: Half spread around the fair price, in ticks.
    half_spread_ticks: float = 0.5
    #: Largest hole between two consecutive levels before a new level fills it.
    max_gap_ticks: int = 6
    #: Probability, per step, that a moving price is followed by a new touch level.
    join_probability: float = 0.6
    #: A listed market with its own price walk (in its quote currency, from
    #: ``start_price``), stepped only at its own events once watched (:meth:`Market.watch`).
    own_walk: bool = False
    start_price: float = 0.0
    #: Offset of its publication grids (Binance depth every 1000 ms at this phase):
    #: 1,500 books are not all published in the same millisecond.
    phase_ms: int = 0
    #: The exchange's whole book reaches far beyond what it publishes (Binance's, beyond
    #: 20 levels), so its update id moves on every step and at each 100 ms publication.
    deep_book: bool = False

    @property
    def key(self) -> str:
        """Identifier unique across venues, e.g. ``"upbit:KRW-BTC"``."""
        return f"{self.venue}:{self.symbol}"


@dataclass(frozen=True)
class MarketParams:
    """Parameters of the synthetic market; defaults look like late-2020s BTC."""

    btc_usd: float = 95_000.0
    eth_usd: float = 3_300.0
    krw_per_usdt: float = 1_400.0
    #: Upbit premium over the Binance price, 0.02 = 2 %.
    premium: float = 0.02
    #: Standard deviation of the log price per second of market time.
    volatility: float = 6e-5
    #: Correlation of ETH's moves with BTC's.
    eth_btc_correlation: float = 0.8
    #: Standard deviation of the stationary venue noise, relative to the price.
    venue_noise: float = 1.5e-5
    #: Market step in milliseconds; every time field is a multiple of it.
    step_ms: int = 10
    #: Mean number of price moves per second (must stay below 1000 / step_ms).
    price_events: float = 20.0
    binance_trade_rate: float = 5.0
    upbit_trade_rate: float = 2.0
    #: Trades per second on Upbit KRW-USDT (a quiet book).
    upbit_usdt_trade_rate: float = 0.5


def default_instruments(params: MarketParams) -> tuple[Instrument, ...]:
    """Books the simulator serves: Binance BTC/ETH-USDT, Upbit KRW-BTC/ETH/USDT."""
    btc, usdt = SIZE_SCALE, SIZE_SCALE
    return (
        Instrument(
            "binance",
            "BTCUSDT",
            "BTC",
            "USDT",
            2,
            1,
            1_000,
            20,
            btc // 20,
            params.binance_trade_rate,
            40.0,
            max_gap_ticks=8,
            deep_book=True,
        ),
        Instrument(
            "binance",
            "ETHUSDT",
            "ETH",
            "USDT",
            2,
            1,
            10_000,
            20,
            btc,
            params.binance_trade_rate / 2,
            25.0,
            max_gap_ticks=5,
            deep_book=True,
        ),
        Instrument(
            "upbit",
            "KRW-BTC",
            "BTC",
            "KRW",
            0,
            1_000,
            1,
            30,
            btc // 8,
            params.upbit_trade_rate,
            12.0,
            half_spread_ticks=1.0,
            max_gap_ticks=4,
        ),
        Instrument(
            "upbit",
            "KRW-ETH",
            "ETH",
            "KRW",
            0,
            1_000,
            1,
            30,
            btc * 2,
            params.upbit_trade_rate / 2,
            8.0,
            half_spread_ticks=1.0,
            max_gap_ticks=4,
        ),
        Instrument(
            "upbit",
            "KRW-USDT",
            "USDT",
            "KRW",
            0,
            1,
            1,
            30,
            usdt * 2_000,
            params.upbit_usdt_trade_rate,
            1.0,
            half_spread_ticks=0.5,
            max_gap_ticks=2,
            join_probability=0.05,
        ),
    )


@dataclass(slots=True)
class Level:
    """One price level. ``plain`` chooses Upbit's BigDecimal-style spelling."""

    price: int
    size: int
    #: Upbit prints some sizes as a scale-8 BigDecimal (``0.13138600``) and
    #: others as a Java double (``0.695``); the choice sticks to the level.
    plain: bool


@dataclass
class Book:
    """Order book of one instrument: bids descending, asks ascending."""

    instrument: Instrument
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)
    #: Binance-style update id: grows by the number of book events.
    update_id: int = 0
    #: Bumped whenever the visible book changes.
    version: int = 0
    #: Market time of the last change, microseconds since the epoch.
    changed_us: int = 0

    def top(self, n: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """Best ``n`` levels per side as ``(price, size)`` pairs, for change detection."""
        return (
            tuple((lv.price, lv.size) for lv in self.bids[:n]),
            tuple((lv.price, lv.size) for lv in self.asks[:n]),
        )


@dataclass(frozen=True)
class Trade:
    """One trade, with the touch right after it (Upbit's ``best_*`` fields)."""

    instrument: Instrument
    #: Binance ``t``: strictly increasing by one per instrument.
    trade_id: int
    #: Market time of the trade, microseconds since the epoch.
    time_us: int
    price: int
    size: int
    size_plain: bool
    #: True when the buyer was the maker, i.e. a seller hit the bid (Upbit ``ASK``).
    buyer_maker: bool
    best_ask: Level
    best_bid: Level


@dataclass(frozen=True)
class Step:
    """What happened during one market step ending at ``time_us``."""

    index: int
    time_us: int
    #: Market milliseconds since the market started; publication grids use it.
    elapsed_ms: int
    #: Keys of the instruments whose visible book changed during the step.
    changed: frozenset[str]
    #: Trades in time order.
    trades: tuple[Trade, ...]


class _Asset:
    """Log-price random walk of one underlying asset in USD."""

    def __init__(self, usd: float) -> None:
        self.log_price = math.log(usd)

    @property
    def usd(self) -> float:
        return math.exp(self.log_price)


class Market:
    """Deterministic synthetic market; advance it with :meth:`step`."""

    def __init__(
        self,
        params: MarketParams | None = None,
        *,
        seed: int = 1,
        start_us: int = 1_790_000_000_000_000,
        instruments: Iterable[Instrument] | None = None,
        listed: Iterable[Instrument] = (),
        added: Iterable[Instrument] = (),
    ) -> None:
        """``instruments`` are stepped on every step (default: :func:`default_instruments`);
        ``listed`` ones with their own walk are served once watched (:meth:`watch`);
        ``added`` books (an exchange package's own, :func:`~.registry.added_books`) are
        stepped with the defaults on the shared walk, their venue noise drawn from their
        own random stream, so adding one leaves every other book's numbers as they were."""
        self.params = params if params is not None else MarketParams()
        self.seed = seed
        self.start_us = start_us
        self.step_us = self.params.step_ms * 1000
        self.steps = 0
        self.instruments: dict[str, Instrument] = {}
        self.books: dict[str, Book] = {}
        self.last_trades: dict[str, Trade] = {}
        self.prev_close: dict[str, int] = {}
        # One random stream per concern, so that adding an instrument or a
        # feature does not change the numbers of the others.
        self._rng = random.Random(f"btclib-sim:{seed}:walk")
        self._assets = {
            "BTC": _Asset(self.params.btc_usd),
            "ETH": _Asset(self.params.eth_usd),
            "USDT": _Asset(1.0),
        }
        self._noise: dict[str, float] = {}
        self._rngs: dict[str, random.Random] = {}
        self._next_trade_us: dict[str, int] = {}
        self._next_trade_id: dict[str, int] = {}
        for inst in instruments if instruments is not None else default_instruments(self.params):
            self._add(inst)
        self._own_noise: set[str] = set()
        for inst in added:
            if inst.key not in self.instruments:
                self._add(inst)
                self._own_noise.add(inst.key)
        self.listed: dict[str, Instrument] = {
            i.key: i for i in listed if i.own_walk and i.key not in self.instruments
        }
        """Markets served once watched, by key (``binance:ABCUSDT``)."""
        self.watched: dict[str, Instrument] = {}
        self._events: list[tuple[int, str]] = []
        """(market time of the next event, key) of every watched market: a heap."""
        self._next_update_us: dict[str, int] = {}
        self._walked_us: dict[str, int] = {}
        self._sigma: dict[str, float] = {}
        self._phases: dict[int, list[Book]] = {}
        """Watched Binance books by phase within 100 ms: their update id moves there."""

    # -- public API -------------------------------------------------------------

    @property
    def now_us(self) -> int:
        """Market time of the last completed step, microseconds since the epoch."""
        return self.start_us + self.steps * self.step_us

    @property
    def elapsed_ms(self) -> int:
        """Market milliseconds since the start; publication grids use it."""
        return self.steps * self.params.step_ms

    def book(self, venue: Venue, symbol: str) -> Book | None:
        """The book of ``symbol`` on ``venue`` (exchange spelling), if the market has it."""
        return self.books.get(f"{venue}:{symbol}")

    def symbols(self, venue: Venue) -> list[str]:
        """Symbols of ``venue`` in exchange spelling."""
        return [i.symbol for i in self.instruments.values() if i.venue == venue]

    def fair_price(self, inst: Instrument) -> float:
        """Current fair price of ``inst`` in its price units (float)."""
        usd = self._assets[inst.asset].usd
        if inst.own_walk:
            return usd * 10**inst.price_decimals
        if inst.quote == "KRW":
            value = usd * self.params.krw_per_usdt
            if inst.asset != "USDT":
                value *= 1.0 + self.params.premium
        else:
            value = usd
        value *= 1.0 + self._noise[inst.key]
        return value * 10**inst.price_decimals

    def step(self) -> Step:
        """Advance the market by one step and report what changed."""
        self.steps += 1
        t1 = self.now_us
        t0 = t1 - self.step_us
        self._walk()
        changed: set[str] = set()
        trades: list[Trade] = []
        for key, inst in self.instruments.items():
            rng = self._rngs[key]
            book = self.books[key]
            moved = self._follow(book, rng)
            updated = self._random_updates(book, rng)
            new_trades = self._trades(book, rng, t0, t1)
            if moved or updated or new_trades:
                trades.extend(new_trades)
                self._fill(book, rng)
                changed.add(key)
                book.version += 1
                book.changed_us = t1
            if inst.deep_book:
                # The whole book (far beyond the levels published) changes all the
                # time, so its update id moves on every step.
                book.update_id += rng.randint(1, 40)
            elif key in changed:
                book.update_id += 1
        if self._events:
            self._listed_events(t0, t1, changed, trades)
        trades.sort(key=lambda tr: (tr.time_us, tr.instrument.key))
        return Step(self.steps, t1, self.elapsed_ms, frozenset(changed), tuple(trades))

    def watch(self, venue: Venue, symbols: Iterable[str]) -> int:
        """Start serving the listed markets among ``symbols`` (exchange spelling) that are
        not served yet; returns how many started. Unknown symbols are ignored (the
        exchanges answer them with silence)."""
        started = 0
        for symbol in symbols:
            key = f"{venue}:{symbol}"
            inst = self.listed.get(key)
            if inst is not None and key not in self.watched:
                self._activate(inst)
                started += 1
        return started

    # -- listed markets: stepped at their own events -------------------------------

    def _activate(self, inst: Instrument) -> None:
        key = inst.key
        rng = random.Random(f"btclib-sim:{self.seed}:{key}")
        now = self.now_us
        self.watched[key] = inst
        self._rngs[key] = rng
        self._assets[inst.asset] = _Asset(inst.start_price * math.exp(rng.gauss(0.0, 0.05)))
        self._walked_us[key] = now
        self._sigma[key] = self.params.volatility * rng.uniform(1.0, 3.0)
        book = Book(inst, update_id=rng.randrange(1_000_000, 9_000_000_000))
        book.changed_us = now
        self.books[key] = book
        fair = self.fair_price(inst)
        self.prev_close[key] = max(
            inst.tick, round(fair * (1 + rng.gauss(0, 0.03)) / inst.tick) * inst.tick
        )
        bid = max(inst.tick, math.floor(fair / inst.tick - inst.half_spread_ticks) * inst.tick)
        ask = max(math.ceil(fair / inst.tick + inst.half_spread_ticks) * inst.tick, bid + inst.tick)
        book.bids.append(self._new_level(inst, rng, bid))
        book.asks.append(self._new_level(inst, rng, ask))
        self._fill(book, rng)
        self._next_trade_id[key] = rng.randrange(1_000_000, 900_000_000)
        self._next_trade_us[key] = now + self._interarrival_us(inst, rng)
        self._next_update_us[key] = now + _exponential_us(inst.update_rate, rng)
        heapq.heappush(self._events, (self._next_event(key), key))
        if inst.deep_book:
            self._phases.setdefault(inst.phase_ms % 100, []).append(book)

    def _next_event(self, key: str) -> int:
        return min(self._next_trade_us[key], self._next_update_us[key])

    def _listed_events(self, t0: int, t1: int, changed: set[str], trades: list[Trade]) -> None:
        """Step the watched markets whose next event falls in ``(t0, t1]``, and only them."""
        events = self._events
        while events and events[0][0] <= t1:
            _, key = heapq.heappop(events)
            inst, book, rng = self.watched[key], self.books[key], self._rngs[key]
            self._walk_own(key, t1, rng)
            self._follow(book, rng)
            if self._next_update_us[key] <= t1:
                self._random_update(book, rng)
                self._next_update_us[key] += _exponential_us(inst.update_rate, rng)
            trades.extend(self._trades(book, rng, t0, t1))
            self._fill(book, rng)
            changed.add(key)
            book.version += 1
            book.changed_us = t1
            book.update_id += rng.randint(1, 40)
            heapq.heappush(events, (max(self._next_event(key), t1 + 1), key))
        # Binance's full book moves all the time, so its update id does between
        # events too: each publication (every 100 ms at the book's phase) sees a new one.
        due = self._phases.get(self.elapsed_ms % 100)
        if due:
            for book in due:
                book.update_id += 1

    def _walk_own(self, key: str, now: int, rng: random.Random) -> None:
        """A listed market's own walk, caught up to ``now`` in one draw."""
        seconds = (now - self._walked_us[key]) / 1e6
        self._walked_us[key] = now
        if seconds > 0:
            asset = self._assets[self.watched[key].asset]
            asset.log_price += self._sigma[key] * math.sqrt(seconds) * rng.gauss(0.0, 1.0)

    def _random_update(self, book: Book, rng: random.Random) -> None:
        """One order added to or cancelled from a level near the touch."""
        inst = book.instrument
        side = book.bids if rng.random() < 0.5 else book.asks
        if not side:
            return
        i = min(int(rng.expovariate(0.25)), len(side) - 1)
        if rng.random() < 0.25 and len(side) > 1:
            del side[i]
        else:
            level = side[i]
            factor = math.exp(rng.gauss(0.0, 0.6))
            level.size = max(inst.lot, _quantize(int(level.size * factor), inst.lot))

    # -- construction -----------------------------------------------------------

    def _add(self, inst: Instrument) -> None:
        key = inst.key
        rng = random.Random(f"btclib-sim:{self.seed}:{key}")
        self.instruments[key] = inst
        self._rngs[key] = rng
        self._noise[key] = rng.gauss(0.0, self.params.venue_noise)
        book = Book(inst, update_id=rng.randrange(60_000_000_000, 80_000_000_000))
        book.changed_us = self.start_us
        self.books[key] = book
        fair = self.fair_price(inst)
        self.prev_close[key] = round(fair * (1 + rng.gauss(0, 0.01)) / inst.tick) * inst.tick
        bid = math.floor(fair / inst.tick - inst.half_spread_ticks) * inst.tick
        ask = max(math.ceil(fair / inst.tick + inst.half_spread_ticks) * inst.tick, bid + inst.tick)
        book.bids.append(self._new_level(inst, rng, bid))
        book.asks.append(self._new_level(inst, rng, ask))
        self._fill(book, rng)
        self._next_trade_id[key] = rng.randrange(4_000_000_000, 6_000_000_000)
        self._next_trade_us[key] = self.start_us + self._interarrival_us(inst, rng)

    # -- dynamics ---------------------------------------------------------------

    def _walk(self) -> None:
        """Move every underlying and every venue noise, at Poisson price events.

        Prices move in jumps at ``price_events`` per second rather than a
        little on every step: books then keep their touch for a while, as real
        ones do, and quiet steps cost nothing.
        """
        p = self.params
        if self._rng.random() >= p.price_events * p.step_ms / 1000.0:
            return
        sigma = p.volatility / math.sqrt(p.price_events)
        btc_shock = self._rng.gauss(0.0, 1.0)
        own = self._rng.gauss(0.0, 1.0)
        rho = p.eth_btc_correlation
        self._assets["BTC"].log_price += sigma * btc_shock
        eth_shock = rho * btc_shock + math.sqrt(1 - rho**2) * own
        self._assets["ETH"].log_price += sigma * 1.3 * eth_shock
        # USDT stays pegged, with a tiny mean-reverting wobble.
        usdt = self._assets["USDT"]
        usdt.log_price = 0.995 * usdt.log_price + sigma * 0.05 * self._rng.gauss(0.0, 1.0)
        # Venue noise: AR(1) with the requested stationary deviation.
        phi = 0.95
        scale = p.venue_noise * math.sqrt(1 - phi**2)
        for key in self._noise:
            rng = self._rngs[key] if key in self._own_noise else self._rng
            self._noise[key] = phi * self._noise[key] + scale * rng.gauss(0.0, 1.0)

    def _follow(self, book: Book, rng: random.Random) -> bool:
        """Keep the book around the fair price: drop crossed levels, join the touch.

        Returns whether the book changed.
        """
        inst = book.instrument
        fair = self.fair_price(inst) / inst.tick
        bid = math.floor(fair - inst.half_spread_ticks) * inst.tick
        ask = max(math.ceil(fair + inst.half_spread_ticks) * inst.tick, bid + inst.tick)
        bids, asks = book.bids, book.asks
        changed = False
        # Crossed levels sit at the front of each side (best first).
        while bids and bids[0].price > bid:
            del bids[0]
            changed = True
        while asks and asks[0].price < ask:
            del asks[0]
            changed = True
        if (not bids or bids[0].price < bid) and (not bids or rng.random() < inst.join_probability):
            bids.insert(0, self._new_level(inst, rng, bid))
            changed = True
        if (not asks or asks[0].price > ask) and (not asks or rng.random() < inst.join_probability):
            asks.insert(0, self._new_level(inst, rng, ask))
            changed = True
        return changed

    def _random_updates(self, book: Book, rng: random.Random) -> bool:
        """Orders added to or cancelled from existing levels; returns whether any."""
        inst = book.instrument
        lam = inst.update_rate * self.params.step_ms / 1000.0
        events = _poisson(rng, lam)
        for _ in range(events):
            side = book.bids if rng.random() < 0.5 else book.asks
            if not side:
                continue
            i = min(int(rng.expovariate(0.25)), len(side) - 1)
            level = side[i]
            if rng.random() < 0.25 and len(side) > 1:
                del side[i]
            else:
                factor = math.exp(rng.gauss(0.0, 0.6))
                level.size = max(inst.lot, _quantize(int(level.size * factor), inst.lot))
        return events > 0

    def _trades(self, book: Book, rng: random.Random, t0: int, t1: int) -> list[Trade]:
        """Trades whose Poisson arrival time falls in ``(t0, t1]``, at the touch."""
        inst = book.instrument
        key = inst.key
        out: list[Trade] = []
        while self._next_trade_us[key] <= t1:
            at = max(self._next_trade_us[key], t0 + 1)
            self._next_trade_us[key] += self._interarrival_us(inst, rng)
            buyer_maker = rng.random() < 0.5  # a seller hits the bid
            side = book.bids if buyer_maker else book.asks
            if not side:
                continue
            level = side[0]
            size = max(inst.lot, _quantize(self._size(inst, rng) // 3, inst.lot))
            size = min(size, level.size)
            plain = rng.random() < 0.5
            level.size -= size
            if level.size <= 0:
                del side[0]
                if not side:
                    side.append(
                        self._new_level(
                            inst, rng, level.price + (-inst.tick if buyer_maker else inst.tick)
                        )
                    )
            trade_id = self._next_trade_id[key]
            self._next_trade_id[key] = trade_id + 1
            trade = Trade(
                instrument=inst,
                trade_id=trade_id,
                time_us=at,
                price=level.price,
                size=size,
                size_plain=plain,
                buyer_maker=buyer_maker,
                best_ask=_copy(book.asks[0]),
                best_bid=_copy(book.bids[0]),
            )
            self.last_trades[key] = trade
            out.append(trade)
        return out

    def _fill(self, book: Book, rng: random.Random) -> None:
        """Fill holes wider than ``max_gap_ticks`` and extend both sides to ``depth``."""
        inst = book.instrument
        for side, direction in ((book.bids, -1), (book.asks, 1)):
            out = side[:1]
            rest = side[1:]
            i = 0
            while len(out) < inst.depth:
                last = out[-1].price
                nxt = rest[i] if i < len(rest) else None
                if nxt is not None and abs(nxt.price - last) <= inst.max_gap_ticks * inst.tick:
                    out.append(nxt)
                    i += 1
                    continue
                # nxt (if any) is farther than max_gap_ticks: the new level
                # lands strictly between, keeping the side sorted.
                gap = rng.randint(1, inst.max_gap_ticks)
                price = last + direction * gap * inst.tick
                if price <= 0:
                    break
                out.append(self._new_level(inst, rng, price))
            side[:] = out

    # -- helpers ----------------------------------------------------------------

    def _interarrival_us(self, inst: Instrument, rng: random.Random) -> int:
        if inst.trade_rate <= 0:
            return 10**18
        return max(1, int(rng.expovariate(inst.trade_rate) * 1_000_000))

    def _size(self, inst: Instrument, rng: random.Random) -> int:
        size = int(inst.size_median * math.exp(rng.gauss(0.0, 1.3)))
        if rng.random() < 0.3:
            # Round sizes (0.695, 2.06) are common: people type them.
            size = round(size, -5)
        return max(inst.lot, _quantize(size, inst.lot))

    def _new_level(self, inst: Instrument, rng: random.Random, price: int) -> Level:
        return Level(price, self._size(inst, rng), rng.random() < 0.4)


def _exponential_us(rate: float, rng: random.Random) -> int:
    """Microseconds to the next event of a Poisson process of ``rate`` per second."""
    return max(1, int(rng.expovariate(rate) * 1_000_000)) if rate > 0 else 10**18


def _quantize(size: int, lot: int) -> int:
    return size - size % lot


def _copy(level: Level) -> Level:
    return Level(level.price, level.size, level.plain)


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler; ``lam`` is small here (a few per step at most)."""
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
