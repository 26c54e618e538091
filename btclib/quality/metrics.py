"""The recorder's health while it runs: Prometheus metrics and ``/health`` on a port.

``record --metrics 127.0.0.1:9108`` (opt-in; loopback unless another address is
asked for) serves, with ``prometheus-client``'s own exposition format:

- ``/metrics``: lines per stream, seconds since each stream's last message and its
  stall limit, connections, failed connection attempts and reconnects, whether each
  exchange is connected, gaps, missed and healed trades, writer queue bytes, lines
  dropped, bad frames, and spooled lines when publishing (every name ``btclib_``;
  a ``stream`` label where a figure is per stream, ``exchange`` where per exchange);
- ``/health``: 200 ``ok`` while every stream with a stall limit delivered within it,
  503 with the reason otherwise (``btcusdt@orderbook: no message for 6.1 s, stall limit
  5 s``), for a load balancer or a cron job.

:class:`RunMetrics` learns everything from the progress snapshots the recorder hands
out twice a second (:class:`~btclib.recorder.Progress`, which carries the run's
summary), so the hot loop pays nothing for it. The HTTP side is websockets' own
server answering plain GETs, as the simulator's listings do.
"""

from __future__ import annotations

import http
import ipaddress
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..feed import Feed
from ..recorder import Progress

__all__ = [
    "DEFAULT_ADDRESS",
    "RunMetrics",
    "Served",
    "parse_address",
    "serve_metrics",
    "serve_while_recording",
]

DEFAULT_ADDRESS = ("127.0.0.1", 9108)


def parse_address(text: str) -> tuple[str, int]:
    """``127.0.0.1:9108``, ``:9108`` (loopback), ``[::1]:9108``; ValueError in plain words."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9108)")
    host = host.strip("[]") or DEFAULT_ADDRESS[0]
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IP address (e.g. 127.0.0.1)") from None
    return host, int(port)


class RunMetrics:
    """The figures of one run, refreshed from each progress snapshot; a Prometheus collector.

    ``stall_after``: per stream, the silence after which the recorder gives up on a
    connection (the feeds' own limits); ``queue_bytes`` and ``spooled`` are hooks for
    what the sink and a publisher know (0 when not given).
    """

    def __init__(
        self,
        streams: Iterable[str],
        stall_after: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        queue_bytes: Callable[[], int] | None = None,
        spooled: Callable[[], int] | None = None,
    ) -> None:
        self.clock = clock
        self.stall_after = dict(stall_after)
        self.started = clock()
        self.lines = dict.fromkeys(streams, 0)
        self.last_seen = dict.fromkeys(self.lines, self.started)
        self.snapshot: Progress | None = None
        self.queue_bytes = queue_bytes
        self.spooled = spooled
        self.healed: dict[str, int] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)  # type: ignore[arg-type]

    def update(self, p: Progress) -> None:
        """Take a progress snapshot (the recorder's callback): counts, and when each moved."""
        now = self.clock()
        for stream, count in p.per_stream.items():
            if count != self.lines.get(stream):
                self.lines[stream] = count
                self.last_seen[stream] = now
        self.snapshot = p

    def silent_for(self, stream: str) -> float:
        return self.clock() - self.last_seen.get(stream, self.started)

    def health(self) -> tuple[bool, str]:
        """Whether every stream with a stall limit delivered within it, and why not."""
        late = [
            f"{stream}: no message for {self.silent_for(stream):.1f} s, stall limit {limit:g} s"
            for stream, limit in self.stall_after.items()
            if self.silent_for(stream) > limit
        ]
        return (not late, "; ".join(late) or "ok")

    def collect(self) -> Iterator[Any]:
        p = self.snapshot
        summary = p.summary if p is not None else None
        per_stream = [
            ("lines", "Lines written per stream", "counter", lambda s: self.lines[s]),
            ("seconds_since_last_message", "Seconds since the stream's last message", "gauge",
             self.silent_for),
        ]  # fmt: skip
        for name, text, kind, value in per_stream:
            family = (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(
                f"btclib_{name}", text, labels=["stream"]
            )
            for stream in self.lines:
                family.add_metric([stream], float(value(stream)))
            yield family
        limit = GaugeMetricFamily(
            "btclib_stall_limit_seconds", "Silence after which a stream counts as stalled",
            labels=["stream"],
        )  # fmt: skip
        for stream, seconds in self.stall_after.items():
            limit.add_metric([stream], seconds)
        yield limit
        links = p.links if p is not None else {}
        conns = CounterMetricFamily("btclib_connections", "Connections opened", labels=["exchange"])
        failed = CounterMetricFamily(
            "btclib_connect_failures", "Connection attempts that failed", labels=["exchange"]
        )
        up = GaugeMetricFamily("btclib_connected", "1 while connected", labels=["exchange"])
        for exchange, link in links.items():
            conns.add_metric([exchange], link.connections)
            failed.add_metric([exchange], link.failed)
            up.add_metric([exchange], 1.0 if link.state == "connected" else 0.0)
        yield from (conns, failed, up)
        yield CounterMetricFamily(
            "btclib_reconnects", "Reconnects after a connection ended",
            value=p.reconnects if p is not None else 0,
        )  # fmt: skip
        gaps = summary.gaps if summary is not None else []
        yield CounterMetricFamily("btclib_gaps", "Gaps (a connection ended, ids jumped)",
                                  value=len(gaps))  # fmt: skip
        missed = CounterMetricFamily(
            "btclib_missed_trades", "Trade ids that never arrived", labels=["stream"]
        )
        healed = CounterMetricFamily(
            "btclib_healed_trades", "Missed trade ids fetched again (backfill)", labels=["stream"]
        )
        totals: dict[str, int] = {}
        for gap in gaps:
            for stream, count in (gap.get("missed") or {}).items():
                totals[stream] = totals.get(stream, 0) + int(count)
        for stream in self.lines:
            if stream in totals or stream in self.healed:
                missed.add_metric([stream], totals.get(stream, 0))
                healed.add_metric([stream], self.healed.get(stream, 0))
        yield from (missed, healed)
        yield GaugeMetricFamily(
            "btclib_writer_queue_bytes", "Bytes waiting for the disk",
            value=self.queue_bytes() if self.queue_bytes else (p.queued_bytes if p else 0),
        )  # fmt: skip
        yield CounterMetricFamily(
            "btclib_lines_dropped", "Lines dropped (a line larger than the queue, a write error)",
            value=summary.dropped if summary is not None else 0,
        )  # fmt: skip
        yield CounterMetricFamily(
            "btclib_bad_frames", "Frames that were not market data as documented",
            value=summary.bad_frames if summary is not None else 0,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "btclib_spooled_lines", "Lines kept on disk until the broker acknowledges them",
            value=self.spooled() if self.spooled else (p.behind[0] if p and p.behind else 0),
        )  # fmt: skip

    def scrape(self) -> bytes:
        return generate_latest(self.registry)


async def serve_metrics(metrics: RunMetrics, host: str, port: int) -> Any:
    """Serve ``/metrics`` and ``/health`` on ``host:port`` until the returned server is
    closed (``server.close(); await server.wait_closed()``)."""
    from websockets.asyncio.server import serve

    def answer(connection: Any, request: Any) -> Any:
        path = request.path.split("?", 1)[0]
        if path == "/metrics":
            response = connection.respond(http.HTTPStatus.OK, "")
            response.body = metrics.scrape()
            _content_type(response, CONTENT_TYPE_LATEST)
        elif path == "/health":
            ok, reason = metrics.health()
            status = http.HTTPStatus.OK if ok else http.HTTPStatus.SERVICE_UNAVAILABLE
            response = connection.respond(status, reason + "\n")
        else:
            response = connection.respond(http.HTTPStatus.NOT_FOUND, "/metrics or /health\n")
        del response.headers["Content-Length"]
        response.headers["Content-Length"] = str(len(response.body))
        return response

    async def refuse(ws: Any) -> None:  # pragma: no cover - every request is answered above
        await ws.close()

    return await serve(refuse, host, port, process_request=answer)


def _content_type(response: Any, value: str) -> None:
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = value


class Served:
    """A metrics server running beside a recording: its progress hook and its end."""

    def __init__(self, metrics: RunMetrics, server: Any, shown: Callable[[Progress], None] | None):
        self.metrics = metrics
        self.server = server
        self._shown = shown

    def progress(self, p: Progress) -> None:
        self.metrics.update(p)
        if self._shown is not None:
            self._shown(p)

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def serve_while_recording(
    address: str,
    feeds: Iterable[Feed],
    shown: Callable[[Progress], None] | None,
    **hooks: Any,
) -> Served:
    """Start serving for a run of ``feeds`` at ``address``; ``shown`` is the progress
    display the snapshots still go to. ``hooks``: ``queue_bytes``, ``spooled``."""
    feeds = list(feeds)
    host, port = parse_address(address)
    metrics = RunMetrics(
        [stream for feed in feeds for stream in feed.streams],
        {stream: limit for feed in feeds for stream, limit in feed.stall_after.items()},
        **hooks,
    )
    return Served(metrics, await serve_metrics(metrics, host, port), shown)
