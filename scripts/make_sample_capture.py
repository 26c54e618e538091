#!/usr/bin/env python3
"""Build the sample capture shipped in ``tests/data/real-frames.jsonl``.

The capture (format: :mod:`btclib.files.capture`, version 1) holds the real exchange
messages quoted in ``protocols.md`` (sections 1.11 and 2.10, the modern
DEFAULT-format ones) and in the assignment, with synthetic frames around them:

- Binance, one combined-stream connection ``btcusdt@depth5/btcusdt@trade``:
  R3 (2025 BTCUSDT 5-level book, wrapped as ``btcusdt@depth5``), R6 (2025
  trade, after the 2024-06 removal of ``b``/``a``), R4 (2021 ETHUSDT trade
  with ``b``/``a``: a stream nobody subscribed, no line), plus frames written
  by btclib's simulator (seed 1), a subscription reply and, last, a
  ``!serverShutdown`` notice (neither becomes a line).
- Upbit, one connection, KRW-BTC orderbook, binary frames: R10 (2026 probe,
  DEFAULT, trimmed to 2 units, SNAPSHOT), the assignment's 2022 frame (15
  units, REALTIME, no ``level``; joined from its wrapped lines), plus
  simulator frames (5 units), ``{"status":"UP"}``, a KRW-ETH book and a
  KRW-BTC trade (not subscribed: no line).

The real frames come from different years, so prices jump between them: this
is a fixture for byte-exact handling, not a market. Its expected lines are in
``tests/data/real-frames.expected.txt``, written independently of btclib.

Deterministic: fixed times, no randomness; running it again gives the same
bytes (``tests/test_replay.py`` checks that). Usage::

    python scripts/make_sample_capture.py [OUT]   # default tests/data/real-frames.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "real-frames.jsonl"

#: Wall clock of the first record (2026-09-23T02:19:02Z, near the R10 probe) and a
#: monotonic clock one day after boot: both fixed so the file is reproducible.
WALL0 = 1_790_134_742_000_000_000
MONO0 = 86_400_000_000_000

BINANCE_URL = "wss://stream.binance.com:9443/stream?streams=btcusdt@depth5/btcusdt@trade"
UPBIT_URL = "wss://api.upbit.com/websocket/v1"

# -- real frames (protocols.md 1.11 and 2.10, the assignment) ------------------------------

#: R3: 5-level BTCUSDT spot book, 2025; quoted as the bare payload, wrapped here.
R3 = (
    '{"lastUpdateId":74282382772,"bids":[["116851.33000000","14.02364000"],'
    '["116851.32000000","0.00010000"],["116851.31000000","0.00009000"],'
    '["116850.84000000","0.00010000"],["116850.83000000","0.04299000"]],'
    '"asks":[["116851.34000000","0.78898000"],["116851.35000000","0.02279000"],'
    '["116851.86000000","0.00030000"],["116852.00000000","0.00305000"],'
    '["116852.07000000","0.00010000"]]}'
)
R3_DEPTH = '{"stream":"btcusdt@depth5","data":' + R3 + "}"

#: R6: trade after the b/a removal, 2025-06-28, combined form as quoted.
R6_TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1751132780369,"s":"BTCUSDT",'
    '"t":5052328858,"p":"107407.88000000","q":"0.00024000","T":1751132780368,"m":true,"M":true}}'
)

#: R4: ETHUSDT trade, 2021-12-12, with b/a: a stream this connection did not ask for.
R4_FOREIGN = (
    '{"stream":"ethusdt@trade","data":{"e":"trade","E":1639351062244,"s":"ETHUSDT",'
    '"t":705291099,"p":"4149.74000000","q":"0.43870000","b":7038593583,"a":7038593613,'
    '"T":1639351062243,"m":true,"M":true}}'
)

#: R10: Upbit KRW-BTC orderbook, DEFAULT format, probed 2026-09-23, trimmed to 2 units.
R10_BOOK = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":1790134742106,'
    '"total_ask_size":2.51469375,"total_bid_size":1.63815297,"orderbook_units":['
    '{"ask_price":1.16539E8,"bid_price":1.16538E8,"ask_size":0.02054761,"bid_size":0.08120946},'
    '{"ask_price":1.16542E8,"bid_price":1.16537E8,"ask_size":0.00077720,"bid_size":0.01129382}],'
    '"stream_type":"SNAPSHOT","level":0}'
)

#: The assignment's Upbit frame (2022-11-15, 15 units), as its PDF wrapped it. The
#: hyphen of "KRW-BTC" fell at a line break and was lost in the text; it is restored.
ASSIGNMENT_BOOK = "".join(
    [
        '{"type":"orderbook","code":"KRW-',
        'BTC","timestamp":1668495774440,"total_ask_size":11.400931790000001,"total_bid_size":3.10816646',
        '99999996,"orderbook_units":[{"ask_price":2.2855E7,"bid_price":2.2845E7,"ask_size":2.21720611,"bid',
        '_size":0.00164598},{"ask_price":2.286E7,"bid_price":2.2844E7,"ask_size":1.07409042,"bid_size":0.39',
        '629050},{"ask_price":2.2861E7,"bid_price":2.2843E7,"ask_size":0.13138600,"bid_size":0.07457449},{',
        '"ask_price":2.2862E7,"bid_price":2.2842E7,"ask_size":1.11673137,"bid_size":0.41861210},{"ask_pric',
        'e":2.2863E7,"bid_price":2.2841E7,"ask_size":0.695,"bid_size":0.23034224},{"ask_price":2.2864E7,"bi',
        'd_price":2.284E7,"ask_size":0.24999199,"bid_size":0.00146232},{"ask_price":2.2865E7,"bid_price":2.',
        '283E7,"ask_size":0.06318533,"bid_size":0.50251088},{"ask_price":2.2866E7,"bid_price":2.2827E7,"as',
        'k_size":0.46969651,"bid_size":0.08409668},{"ask_price":2.2867E7,"bid_price":2.2826E7,"ask_size":1.',
        '68992953,"bid_size":0.00087619},{"ask_price":2.2868E7,"bid_price":2.2825E7,"ask_size":0.86078502',
        ',"bid_size":0.00044389},{"ask_price":2.2869E7,"bid_price":2.2821E7,"ask_size":0.01956419,"bid_size',
        '":0.058},{"ask_price":2.2872E7,"bid_price":2.282E7,"ask_size":2.06000000,"bid_size":0.45073815},{"',
        'ask_price":2.2874E7,"bid_price":2.2818E7,"ask_size":0.74898200,"bid_size":0.00043825},{"ask_price',
        '":2.2875E7,"bid_price":2.2817E7,"ask_size":0.00354223,"bid_size":0.17213480},{"ask_price":2.2876E',
        '7,"bid_price":2.2816E7,"ask_size":0.00084109,"bid_size":0.716}],"stream_type":"REALTIME"}',
    ]
)

# -- synthetic frames ----------------------------------------------------------------------

#: Written by btclib's simulator (seed 1, clock 1795000000.0), frozen here so the
#: sample does not change when the simulator does. The two trades' ids are renumbered
#: to come just before R6's, so the trade ids run without a hole.
SIM_TRADE_1 = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1795000000009,"s":"BTCUSDT",'
    '"t":5052328856,"p":"94998.81000000","q":"0.01300000","T":1795000000008,"m":true,"M":true}}'
)
SIM_TRADE_2 = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1795000000029,"s":"BTCUSDT",'
    '"t":5052328857,"p":"94998.83000000","q":"0.00269000","T":1795000000028,"m":false,"M":true}}'
)
SIM_DEPTH = (
    '{"stream":"btcusdt@depth5","data":{"lastUpdateId":65747625995,"bids":['
    '["95001.95000000","0.04401000"],["95001.93000000","0.08600000"],'
    '["95001.89000000","0.01629000"],["95001.81000000","0.64964000"],'
    '["95001.75000000","0.09749000"]],"asks":[["95001.97000000","0.09454000"],'
    '["95002.03000000","0.07082000"],["95002.07000000","0.01700000"],'
    '["95002.12000000","0.03520000"],["95002.16000000","0.28800000"]]}}'
)
SIM_BOOK_1 = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":1795000000100,'
    '"total_ask_size":0.84638181,"total_bid_size":0.81519643,"orderbook_units":['
    '{"ask_price":1.35662E8,"bid_price":1.35659E8,"ask_size":0.273,"bid_size":0.00425523},'
    '{"ask_price":1.35663E8,"bid_price":1.35658E8,"ask_size":0.142,"bid_size":0.02100000},'
    '{"ask_price":1.35664E8,"bid_price":1.35656E8,"ask_size":0.14900000,"bid_size":0.4119412},'
    '{"ask_price":1.35667E8,"bid_price":1.35653E8,"ask_size":0.00945575,"bid_size":0.17200000},'
    '{"ask_price":1.35668E8,"bid_price":1.35651E8,"ask_size":0.27292606,"bid_size":0.206}],'
    '"stream_type":"REALTIME","level":0}'
)
SIM_BOOK_2 = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":1795000000200,'
    '"total_ask_size":0.70397689,"total_bid_size":0.7468781199999999,"orderbook_units":['
    '{"ask_price":1.35664E8,"bid_price":1.35661E8,"ask_size":0.16883901,"bid_size":0.13768169},'
    '{"ask_price":1.35665E8,"bid_price":1.35659E8,"ask_size":0.21950831,"bid_size":0.00425523},'
    '{"ask_price":1.35667E8,"bid_price":1.35658E8,"ask_size":0.00945575,"bid_size":0.02100000},'
    '{"ask_price":1.35668E8,"bid_price":1.35656E8,"ask_size":0.27292606,"bid_size":0.4119412},'
    '{"ask_price":1.35671E8,"bid_price":1.35653E8,"ask_size":0.03324776,"bid_size":0.17200000}],'
    '"stream_type":"REALTIME","level":0}'
)

#: Not market data, or not asked for: none of these may become a line.
REPLY = '{"result":null,"id":1}'
SHUTDOWN = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1790134744000}}'
STATUS_UP = '{"status":"UP"}'
ETH_BOOK = (
    '{"type":"orderbook","code":"KRW-ETH","timestamp":1790134743050,'
    '"total_ask_size":1.5,"total_bid_size":2.0,"orderbook_units":['
    '{"ask_price":5200000.0,"bid_price":5199000.0,"ask_size":1.5,"bid_size":2.0}],'
    '"stream_type":"REALTIME","level":0}'
)
BTC_TRADE = (
    '{"type":"trade","code":"KRW-BTC","timestamp":1790134743120,"trade_date":"2026-09-23",'
    '"trade_time":"02:19:03","trade_timestamp":1790134743100,"trade_price":1.16539E8,'
    '"trade_volume":0.00042,"ask_bid":"BID","prev_closing_price":1.15E8,"change":"RISE",'
    '"change_price":1539000.0,"sequential_id":17901347431000000,"best_ask_price":1.16539E8,'
    '"best_ask_size":0.02012761,"best_bid_price":1.16538E8,"best_bid_size":0.08120946,'
    '"stream_type":"REALTIME"}'
)

# (ms after the start, exchange, frame): the captured order. Binance is connection 1,
# Upbit connection 2; Upbit frames were binary on the wire.
TIMELINE: list[tuple[int, str, str]] = [
    (12, "binance", REPLY),
    (48, "upbit", R10_BOOK),
    (95, "binance", SIM_TRADE_1),
    (115, "binance", SIM_TRADE_2),
    (150, "upbit", SIM_BOOK_1),
    (250, "upbit", SIM_BOOK_2),
    (310, "binance", R4_FOREIGN),
    (350, "upbit", STATUS_UP),
    (402, "binance", SIM_DEPTH),
    (450, "upbit", ETH_BOOK),
    (520, "upbit", BTC_TRADE),
    (560, "upbit", ASSIGNMENT_BOOK),
    (1402, "binance", R3_DEPTH),
    (1460, "binance", R6_TRADE),
    (1950, "binance", SHUTDOWN),
]


def records() -> list[dict[str, object]]:
    """Header, then events and frames as btclib.files.capture.CaptureWriter writes them."""
    header: dict[str, object] = {
        "format": "btclib-capture",
        "version": 1,
        "btclib": "0.1.0",
        "started": "2026-09-23T02:19:02+00:00",
        "started_ns": WALL0,
        "exchanges": {
            "binance": {
                "url": BINANCE_URL,
                "streams": ["btcusdt@orderbook", "btcusdt@trade"],
                "source": "sample",
            },
            "upbit": {"url": UPBIT_URL, "streams": ["btckrw@orderbook"], "source": "sample"},
        },
        "note": "sample: real frames quoted in protocols.md 1.11/2.10 and the assignment, "
        "with synthetic frames around them (scripts/make_sample_capture.py)",
    }
    conn = {"binance": 1, "upbit": 2}
    out: list[dict[str, object]] = [header]

    def at(ms: float) -> dict[str, int]:
        return {"t": WALL0 + int(ms * 1_000_000), "m": MONO0 + int(ms * 1_000_000)}

    out.append({**at(0), "c": 1, "x": "binance", "ev": "connected", "url": BINANCE_URL})
    out.append({**at(0.1), "c": 1, "x": "binance", "ev": "subscribed", "requests": 0})
    out.append({**at(3), "c": 2, "x": "upbit", "ev": "connected", "url": UPBIT_URL})
    out.append({**at(3.1), "c": 2, "x": "upbit", "ev": "subscribed", "requests": 1})
    seq = {"binance": 0, "upbit": 0}
    for ms, exchange, frame in TIMELINE:
        seq[exchange] += 1
        out.append(
            {
                **at(ms),
                "c": conn[exchange],
                "n": seq[exchange],
                "x": exchange,
                "b": exchange == "upbit",
                "f": frame,
            }
        )
    out.append({**at(2000), "c": 1, "x": "binance", "ev": "closed", "cause": "sample ends"})
    out.append({**at(2000.1), "c": 2, "x": "upbit", "ev": "closed", "cause": "sample ends"})
    return out


def build() -> bytes:
    """The capture's bytes (compact JSON lines, UTF-8, as CaptureWriter writes them)."""
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records()]
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    data = build()
    out.write_bytes(data)
    print(f"wrote {out} ({len(data)} bytes, {len(TIMELINE)} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
