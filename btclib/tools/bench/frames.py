"""Exchange-shaped frames for the flood server, and the WebSocket framing around them.

Everything here is pure: it builds bytes. The flood server (:mod:`btclib.tools.bench.flood`)
sends them; the tests can look at them.

- Binance: combined-stream text frames ``{"stream":...,"data":...}``, spot ``depth5``
  books (5 levels, 8-decimal strings) and ``trade`` payloads (current layout, no
  ``b``/``a``). Trade ids grow by exactly one across the whole connection and
  ``lastUpdateId`` only grows, so btclib's continuity check accepts every frame
  (a benchmark that fed it duplicates would measure the wrong path).
- Upbit: binary frames of a DEFAULT-format 30-unit orderbook with Java-style numbers
  (``1.16539E8``, ``0.02054761``, ``7.9276E-4``), key order as observed on the wire.

Flood mode pre-encodes a cycle of frames once; only the high digits of the ids are
patched in place between cycles (a few bytes per frame), so the server spends its
time in ``sendall``, not in Python.

The wire layout is not spelled here: every payload comes from the simulator's
exchange packages (:mod:`btclib.simulator.binance`, :mod:`btclib.simulator.upbit`
and their Java number spelling), fed with numbers this module picks and ids that
hold the patch marker. What stays here is what the benchmark needs and the
simulator does not: seeded random levels around a fixed mid, ids laid out for
patching, and the WebSocket framing the flood server writes by hand.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import Any

from ...simulator import binance as sim_binance
from ...simulator import upbit as sim_upbit

__all__ = [
    "BINARY",
    "CLOSE",
    "CYCLE_TRADES",
    "DEPTH_EVERY",
    "DEPTH_ID0",
    "ID_HIGH_DIGITS",
    "PING",
    "PONG",
    "TEXT",
    "TRADE_E",
    "TRADE_ID0",
    "Cycle",
    "binance_cycle",
    "binance_stamped",
    "close_frame",
    "combined",
    "depth_payload",
    "java_double",
    "trade_payload",
    "upbit_book",
    "upbit_cycle",
    "upbit_size",
    "upbit_stamped",
    "ws_frame",
    "ws_header",
]

TRADE_E = 1790134742106
CYCLE_TRADES = 10_000
"""Trades per pre-encoded Binance cycle: the low 4 digits of each id are fixed."""
DEPTH_EVERY = 3
"""One depth5 frame after every third trade (25 % of Binance frames are books)."""
ID_HIGH_DIGITS = 7
"""Patched digits in front of the fixed low 4: ids have 11 digits, like live ones."""
TRADE_ID0 = 50_000_000_000
DEPTH_ID0 = 74_000_000_000


def ws_header(opcode: int, length: int) -> bytes:
    """Server-to-client frame header (FIN set, no mask)."""
    first = 0x80 | opcode
    if length < 126:
        return struct.pack("!BB", first, length)
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def ws_frame(opcode: int, payload: bytes) -> bytes:
    return ws_header(opcode, len(payload)) + payload


TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def close_frame(code: int = 1000, reason: bytes = b"") -> bytes:
    return ws_frame(CLOSE, struct.pack("!H", code) + reason)


# Binance.


def _price(rng: random.Random, mid: float) -> bytes:
    return b"%.8f" % (mid + rng.randint(-500, 500) / 100)


def _qty(rng: random.Random) -> bytes:
    return b"%.8f" % (rng.randint(1, 5_000_000) / 1e8)


def depth_payload(rng: random.Random, update_id: bytes, first_bid: bytes | None = None) -> bytes:
    mid = 116851.33
    bids = [[_price(rng, mid - 1), _qty(rng)] for _ in range(5)]
    asks = [[_price(rng, mid + 1), _qty(rng)] for _ in range(5)]
    if first_bid is not None:
        bids[0][0] = first_bid

    def levels(side: list[list[bytes]]) -> list[tuple[str, str]]:
        return [(p.decode(), q.decode()) for p, q in side]

    return sim_binance.depth_text(update_id.decode(), levels(bids), levels(asks)).encode()


def trade_payload(symbol: str, trade_id: bytes, price: bytes, qty: bytes) -> bytes:
    return sim_binance.trade_text(
        symbol.upper(), trade_id.decode(), price.decode(), qty.decode(), TRADE_E, TRADE_E - 1, True
    ).encode()


def combined(stream: str, payload: bytes) -> bytes:
    return sim_binance.wrap(stream, payload.decode()).encode()


@dataclass
class Cycle:
    """One pre-encoded run of frames and where to patch it between runs."""

    buffer: bytearray
    ends: list[int]
    """End offset of each frame in ``buffer``."""
    patches: list[tuple[int, int]]
    """(offset of the high id digits, their value in cycle 0) per numbered frame."""
    trades: int = 0
    """Trades per cycle (for peers that count trades)."""
    _groups: list[tuple[int, Any]] | None = field(default=None, repr=False, compare=False)
    """Byte positions of the high digits per base, built on the first patch."""

    def patch(self, cycle: int) -> None:
        """Set the high digits of every id for cycle number ``cycle``.

        One numpy assignment per distinct base (two in a Binance cycle: trades, books), not
        a Python loop per frame: that loop cost 0.7 us a frame and made the flood server,
        not the client, the bound near 1M frames/s.
        """
        import numpy as np

        groups = self._groups
        if groups is None:
            starts: dict[int, list[int]] = {}
            for offset, base in self.patches:
                starts.setdefault(base, []).append(offset)
            groups = self._groups = [
                (base, [np.asarray(offsets) + k for k in range(ID_HIGH_DIGITS)])
                for base, offsets in starts.items()
            ]
        view = np.frombuffer(self.buffer, dtype=np.uint8)
        for base, positions in groups:  # positions[k]: where digit k of every id sits
            digits = b"%d" % (base + cycle)
            assert len(digits) == ID_HIGH_DIGITS, "id ran out of digits"
            for where, digit in zip(positions, digits, strict=True):
                view[where] = digit


def _split_id(value: int) -> tuple[int, bytes]:
    """High part (patched) and the fixed low 4 digits of an id."""
    return value // 10_000, b"%04d" % (value % 10_000)


def binance_cycle(streams: list[str], seed: int = 1, raw: bool = False) -> Cycle:
    """Trades and depth5 books for the combined stream names requested.

    ``raw`` gives bare payloads as on ``/ws`` (what ccxt subscribes to).
    """
    rng = random.Random(seed)
    trade_stream = next((s for s in streams if s.endswith("@trade")), None)
    depth_stream = next((s for s in streams if "@depth" in s), None)
    symbol = (trade_stream or depth_stream or "btcusdt").split("@")[0]
    buf = bytearray()
    ends: list[int] = []
    patches: list[tuple[int, int]] = []
    marker = b"\x00" * ID_HIGH_DIGITS
    d = 0
    trades = 0

    def add(opcode: int, payload: bytes, base: int, low: bytes) -> None:
        text = payload.replace(marker + b"LOW", marker + low)
        frame = ws_frame(opcode, text)
        at = frame.index(marker)
        patches.append((len(buf) + at, base))
        buf.extend(frame)
        ends.append(len(buf))

    for i in range(CYCLE_TRADES):
        if trade_stream is not None:
            high, low = _split_id(TRADE_ID0 + i)
            payload = trade_payload(symbol, marker + b"LOW", _price(rng, 116851.33), _qty(rng))
            add(TEXT, payload if raw else combined(trade_stream, payload), high, low)
            trades += 1
        if depth_stream is not None and (trade_stream is None or i % DEPTH_EVERY == 0):
            high, low = _split_id(DEPTH_ID0 + d * 3)
            d += 1
            payload = depth_payload(rng, marker + b"LOW")
            add(TEXT, payload if raw else combined(depth_stream, payload), high, low)
    cycle = Cycle(buf, ends, patches, trades)
    # Each cycle advances the high digits by one: ids stay contiguous across cycles
    # because a cycle holds exactly 10,000 trades (low digits 0000..9999).
    cycle.patch(0)
    return cycle


def binance_stamped(
    streams: list[str], n: int, stamp_ns: int, rng: random.Random, raw: bool = False
) -> bytes:
    """Frame number ``n`` of a paced run, carrying its send time in the price.

    The stamp (``time.monotonic_ns()``, digits) becomes the trade price ``p`` or the
    first bid price, which btclib copies into the line: the writer hook finds it there.
    """
    trade_stream = next((s for s in streams if s.endswith("@trade")), None)
    depth_stream = next((s for s in streams if "@depth" in s), None)
    symbol = (trade_stream or depth_stream or "btcusdt").split("@")[0]
    stamp = b"%d.00000000" % stamp_ns
    if trade_stream is not None and (depth_stream is None or n % (DEPTH_EVERY + 1)):
        trade_id = b"%d" % (TRADE_ID0 + n - n // (DEPTH_EVERY + 1))
        payload = trade_payload(symbol, trade_id, stamp, _qty(rng))
        stream = trade_stream
    else:
        payload = depth_payload(rng, b"%d" % (DEPTH_ID0 + n), first_bid=stamp)
        stream = depth_stream or ""
    return ws_frame(TEXT, payload if raw else combined(stream, payload))


# Upbit.


def java_double(value: float) -> bytes:
    """``Double.toString`` spelling: ``1.16539E8``, ``0.0205476``, ``7.9276E-4``, ``127.0``.

    Not :func:`btclib.simulator.numbers.java_double`: outside ``[1e-3, 1e7)`` this
    one writes 16 significant digits, not the shortest that round-trip (a size of
    ``8.475E-4`` comes out ``8.474999999999999E-4``, a spelling Upbit never sends
    but one the parsers read the same way). It stays so the benchmark's frames stay
    byte-identical to those of every earlier run, and it is faster.
    """
    if value == 0:
        return b"0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text.encode() if "e" not in text else (b"%.10f" % value).rstrip(b"0")
    mantissa, exponent = f"{value:.15e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}".encode()


def upbit_size(rng: random.Random) -> bytes:
    """Sizes as Upbit spells them: 8 decimals with trailing zeros, or Java exponents."""
    value = rng.randint(1, 300_000_000) / 1e8
    if value < 1e-3:
        return java_double(value)
    return b"%.8f" % value if rng.random() < 0.5 else java_double(value)


def upbit_book(
    code: str, rng: random.Random, units: int = 30, first_ask: bytes | None = None
) -> bytes:
    mid = 116_538_000
    units_text = []
    ask_total = bid_total = 0.0
    for i in range(units):
        ask = java_double(float(mid + 1000 * (i + 1)))
        bid = java_double(float(mid - 1000 * i))
        if i == 0 and first_ask is not None:
            ask = first_ask
        ask_size, bid_size = upbit_size(rng), upbit_size(rng)
        ask_total += float(ask_size)
        bid_total += float(bid_size)
        units_text.append(
            sim_upbit.unit_text(ask.decode(), bid.decode(), ask_size.decode(), bid_size.decode())
        )
    return sim_upbit.orderbook_text(
        code,
        TRADE_E + rng.randint(0, 10**6),
        f"{ask_total:.8f}",
        f"{bid_total:.8f}",
        units_text,
    ).encode()


def upbit_cycle(codes: list[str], seed: int = 2, frames: int = 512) -> Cycle:
    """Pre-encoded binary orderbook frames, round-robin over the codes."""
    rng = random.Random(seed)
    buf = bytearray()
    ends = []
    for i in range(frames):
        buf.extend(ws_frame(BINARY, upbit_book(codes[i % len(codes)], rng)))
        ends.append(len(buf))
    return Cycle(buf, ends, [])


def upbit_stamped(codes: list[str], n: int, stamp_ns: int, rng: random.Random) -> bytes:
    stamp = b"%d.0" % stamp_ns
    return ws_frame(BINARY, upbit_book(codes[n % len(codes)], rng, first_ask=stamp))
