"""A widely used peer on the same flood: ``python -m btclib.tools.bench.peers '<json spec>'``.

``ccxt`` (ccxt.pro, the most used crypto exchange library) is pointed at the flood
server by overriding its spot WebSocket URL (``urls['api']['ws']['spot']``) and
giving it the BTC/USDT market by hand (``set_markets``, so it needs no REST call).
``watch_trades`` then subscribes with ``{"method":"SUBSCRIBE",...}`` on the raw
``/ws`` path, as it does live, and the server answers and floods raw trade payloads.
Trade ids are consecutive, so the id of the last trade ccxt hands back says how
many frames it has processed even when its cache (1,000 trades) overflows between
two awaits.

``btclib-trades`` runs btclib's recorder on the same trades (one combined stream
carrying ``btcusdt@trade`` only) for the like-for-like figure.

Runs with any interpreter that has ccxt (``BTCLIB_BENCH_PEER_PYTHON``); without it
the result says ``skipped`` and why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

from .frames import TRADE_ID0

__all__ = ["main", "run_btclib_trades", "run_ccxt"]

MARKET = {
    "id": "BTCUSDT",
    "lowercaseId": "btcusdt",
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "baseId": "BTC",
    "quoteId": "USDT",
    "type": "spot",
    "spot": True,
    "margin": False,
    "swap": False,
    "future": False,
    "option": False,
    "contract": False,
    "linear": None,
    "inverse": None,
    "active": True,
    "precision": {"amount": 1e-8, "price": 1e-8},
    "limits": {},
    "info": {},
}


async def run_ccxt(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        import ccxt
        import ccxt.pro as ccxtpro
    except ImportError as exc:
        return {"skipped": f"ccxt not installed in {sys.executable} ({exc})"}
    n = spec["n"]
    exchange = ccxtpro.binance({"newUpdates": True})
    exchange.urls["api"]["ws"]["spot"] = f"ws://127.0.0.1:{spec['port']}/n={n}/stream/ws"
    exchange.set_markets([MARKET])
    last_id = TRADE_ID0 + n - 1
    seen = 0
    t0 = time.perf_counter()
    try:
        while seen < last_id:
            try:
                trades = await asyncio.wait_for(exchange.watch_trades("BTC/USDT"), 30)
            except ccxt.NetworkError:
                # The server's close after the last frame rejects the pending watch:
                # what ccxt processed by then is in its trade cache.
                seen = int(exchange.trades["BTC/USDT"][-1]["id"])
                break
            seen = int(trades[-1]["id"])
        elapsed = time.perf_counter() - t0
    finally:
        await exchange.close()
    frames = seen - TRADE_ID0 + 1
    return {
        "peer": f"ccxt {ccxt.__version__} (ccxt.pro binance.watch_trades, aiohttp)",
        "frames": frames,
        "seconds": elapsed,
        "fps": frames / elapsed,
    }


async def run_btclib_trades(spec: dict[str, Any]) -> dict[str, Any]:
    from ...exchanges import binance
    from ...files.sink import LineSink
    from ...recorder import RecorderOptions, record_feeds
    from .client import Written

    n = spec["n"]
    base = f"ws://127.0.0.1:{spec['port']}/n={n}"
    feed = binance.feed(base=base)
    feed = dataclasses.replace(feed, url=f"{base}/stream?streams=btcusdt@trade", stall_after={})
    written = Written()
    finish = asyncio.Event()

    def progress(p: Any) -> None:
        if p.lines:
            finish.set()

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="btclib-bench-", dir=spec.get("tmp")) as tmp:
        t0 = time.perf_counter()
        summary = await record_feeds(
            [feed],
            LineSink(Path(tmp) / "trades.txt", write=written),
            options=RecorderOptions(progress_interval=0.01),
            progress=progress,
            finish=finish,
            duration=300,
        )
    elapsed = written.last - t0
    return {
        "peer": "btclib recorder",
        "frames": summary.total,
        "seconds": elapsed,
        "fps": summary.total / elapsed,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    runner = run_ccxt if spec["peer"] == "ccxt" else run_btclib_trades
    print(json.dumps(asyncio.run(runner(spec))), flush=True)


if __name__ == "__main__":
    main()
