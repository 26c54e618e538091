"""``--partition K/N``: four recorders share every market of the simulator's listing."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from btclib.broker.partition import Partition, parse_partition
from btclib.broker.servers import NatsServer
from btclib.simulator import SimConfig, Simulator
from btclib.simulator.registry import EXCHANGES as SIM
from btclib.steps import steps

from .conftest import consume, start_recorder

N = 4


def listed_markets() -> dict[str, list[str]]:
    """Every market the simulator lists, as the recorder names them (the line's market)."""

    async def ask() -> dict[str, list[str]]:
        async with Simulator(SimConfig(seed=1)) as sim:
            listings = {n: f"http://127.0.0.1:{sim.port}{x.LISTING_PATH}" for n, x in SIM.items()}
            settings = await steps.resolve_markets(
                tuple(SIM), {"symbol": "all", "codes": "all"}, listings, announce=lambda _: None
            )
            feeds = steps.build_feeds("both", **settings)
        return {
            name: sorted(
                {s.partition("@")[0] for f in feeds if f.exchange == name for s in f.streams}
            )
            for name in SIM
        }

    return asyncio.run(ask())


def test_a_partition_is_a_stable_share_and_a_bad_one_is_refused():
    markets = [f"M{i}USDT" for i in range(1000)]
    shares = [Partition(k, 4).share(markets) for k in range(1, 5)]
    assert sorted(m for share in shares for m in share) == sorted(markets)
    assert all(150 < len(share) < 350 for share in shares)  # roughly even
    assert Partition(2, 4).share(markets[:500]) == [m for m in shares[1] if m in markets[:500]]
    with pytest.raises(ValueError, match="holds none of the 1 Binance market"):
        next(
            Partition(k, 4).settings({"symbol": ["btcusdt"], "codes": ["KRW-BTC"]})
            for k in range(1, 5)
            if not Partition(k, 4).owns("btcusdt")
        )
    for bad in ("0/4", "5/4", "1/0", "a/b", "3"):
        try:
            parse_partition(bad)
        except ValueError as exc:
            assert bad in str(exc) or "between" in str(exc)
        else:
            raise AssertionError(bad)


def _partition(k: int, path: Path, url: str):
    return start_recorder(
        "both", "--source", "sim", "--symbol", "all", "--code", "all", "--duration", "6",
        "--partition", f"{k}/{N}", "--out", str(path), "--publish", url,
    )  # fmt: skip


def test_four_partitions_record_every_market_once_and_consume_merges_them(
    server: NatsServer, tmp_path: Path
):
    files = [tmp_path / f"part{k}.txt" for k in range(1, N + 1)]
    recorders = [_partition(k, path, server.url) for k, path in enumerate(files, 1)]
    for recorder in recorders:
        _out, err = recorder.communicate(timeout=120)
        assert recorder.returncode == 0, err
    asked: list[Counter[str]] = []
    for path in files:
        log = path.with_name(path.stem + ".events.jsonl")
        [start] = [
            e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == "start"
        ]
        asked.append(
            Counter(
                f"{feed['exchange']}:{stream.partition('@')[0]}"
                for feed in start["feeds"]
                for stream in dict.fromkeys(feed["streams"])
                if stream.endswith(("@orderbook",))
            )
        )
    every = {f"{x}:{m}" for x, markets in listed_markets().items() for m in markets}
    union = sum(asked, Counter())
    assert set(union) == every  # every market of the listing is in a partition...
    assert set(union.values()) == {1}  # ...and in one only
    back = tmp_path / "merged.txt"
    consume(server.url, back)
    recorded = [line for path in files for line in path.read_bytes().splitlines()]
    assert len(recorded) > 100
    assert sorted(back.read_bytes().splitlines()) == sorted(recorded)
