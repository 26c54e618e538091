"""Connecting to NATS and checking, before anything records, that it will take the lines.

Why first and all at once: a broker that refuses (no server at the address, bad
credentials, no JetStream, a stream of that name holding other subjects, another stream
owning ``btclib.>``) would otherwise be found out only after the recorder had opened its
files and its exchange connections; the user must instead get one plain sentence naming
the way out, exit code 1, and nothing started. Once recording runs, the broker going
away is an outage, not an error (the spool keeps the lines).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import BrokerError
from .subjects import STREAM_SUBJECTS

__all__ = ["DEFAULT_STREAM", "Broker", "open_broker", "split_urls"]

DEFAULT_STREAM = "BTCLIB"
MAX_REPLICAS = 3
"""JetStream replicates a stream on at most this many nodes that btclib asks for."""


def split_urls(text: str) -> list[str]:
    """``nats://a:4222,nats://b:4222`` -> the list; ``ValueError`` for a non-NATS URL."""
    urls = [u.strip() for u in text.split(",") if u.strip()]
    if not urls:
        raise ValueError("no URL given (nats://HOST:PORT[,nats://...])")
    for url in urls:
        if not url.startswith(("nats://", "tls://")):
            raise ValueError(f"{url!r} is not a NATS URL (nats://HOST:PORT)")
    return urls


@dataclass
class Broker:
    """A connected NATS client, its JetStream context, and the stream checked to exist."""

    nc: Any
    js: Any
    stream: str
    replicas: int
    urls: list[str]
    listeners: list[Any] = field(default_factory=list)
    """Told ``on_disconnected()`` / ``on_reconnected()`` (the publisher)."""

    @property
    def shown(self) -> str:
        """The URLs without their passwords (for messages and the events log)."""
        return _shown(self.urls)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.drain()
        with contextlib.suppress(Exception):
            await self.nc.close()


def _shown(urls: list[str]) -> str:
    """The URLs without their passwords."""
    out = []
    for url in urls:
        scheme, sep, rest = url.partition("://")
        creds, at, host = rest.rpartition("@")
        out.append(f"{scheme}{sep}{creds.split(':')[0] + ':***@' if at else ''}{host}")
    return ", ".join(out)


async def open_broker(
    urls: list[str],
    stream: str = DEFAULT_STREAM,
    *,
    create: bool = True,
    connect_timeout: float = 3.0,
    name: str = "btclib",
) -> Broker:
    """Connect, check JetStream, and make sure ``stream`` takes ``btclib.>``.

    ``create``: make the stream when it is missing (the recorder); ``consume`` only reads
    one. The new stream is replicated on as many nodes as the cluster has, up to 3
    (``num_replicas``), keeps every message (limits: none) on disk, and drops duplicates
    by ``Nats-Msg-Id`` within its duplicate window (2 minutes). Raises
    :class:`BrokerError` with the way out.
    """
    import nats
    from nats.js.api import StorageType, StreamConfig
    from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

    shown = _shown(urls)
    errors: list[str] = []
    listeners: list[Any] = []

    async def note(exc: Exception) -> None:
        errors.append(str(exc) or type(exc).__name__)
        del errors[:-5]

    async def disconnected() -> None:
        for listener in list(listeners):
            await listener.on_disconnected()

    async def reconnected() -> None:
        for listener in list(listeners):
            await listener.on_reconnected()

    try:
        nc = await nats.connect(
            servers=urls,
            name=name,
            connect_timeout=connect_timeout,
            allow_reconnect=True,
            # Tried twice each at the start (a refusal is an error before recording);
            # once connected, reconnecting never gives up (see below).
            max_reconnect_attempts=1,
            reconnect_time_wait=0.25,
            ping_interval=5,
            max_outstanding_pings=2,
            pending_size=64 * 1024 * 1024,
            skip_subject_validation=True,  # subjects are made by btclib.broker.subjects
            error_cb=note,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
        )
    except Exception as exc:
        said = " ".join(dict.fromkeys([*errors, str(exc) or type(exc).__name__]))
        if "authoriz" in said.lower() or "auth" in type(exc).__name__.lower():
            raise BrokerError(
                f"the NATS server at {shown} refused our credentials ({said}): put the user and "
                "password in the URL, nats://USER:PASSWORD@HOST:PORT"
            ) from None
        raise BrokerError(
            f"cannot reach a NATS server at {shown} ({said}): start one (nats-server -js) or "
            "check the address"
        ) from None
    nc.options["max_reconnect_attempts"] = -1  # an outage from now on: spool and retry
    js = nc.jetstream(timeout=5.0)
    try:
        try:
            await js.account_info()
        except (ServiceUnavailableError, nats.errors.NoRespondersError, nats.errors.TimeoutError):
            raise BrokerError(
                f"the NATS server at {shown} has no JetStream: start it with -js "
                "(or jetstream {} in its configuration)"
            ) from None
        replicas = 1
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            if not create:
                raise BrokerError(
                    f"no stream {stream} on the NATS server at {shown}: record with --publish "
                    "first, or name the stream with --stream NAME"
                ) from None
            replicas = await _create(js, stream, nc, StreamConfig, StorageType, APIError, shown)
        else:
            have = list(info.config.subjects or [])
            if create and not set(STREAM_SUBJECTS) <= set(have):
                raise BrokerError(
                    f"the stream {stream} on {shown} holds other subjects ({', '.join(have)}), "
                    f"not {', '.join(STREAM_SUBJECTS)}: name another stream with --stream NAME, "
                    f"or remove this one (nats stream rm {stream})"
                )
            replicas = info.config.num_replicas or 1
    except BaseException:
        await Broker(nc, js, stream, 1, urls).close()
        raise
    return Broker(nc, js, stream, replicas, urls, listeners)


def _cluster_size(nc: Any) -> int:
    """Nodes of the cluster the client is connected to (its INFO lists their URLs)."""
    info = getattr(nc, "_server_info", {}) or {}
    if not info.get("cluster"):
        return 1
    return max(1, len(info.get("connect_urls") or []))


async def _create(
    js: Any, stream: str, nc: Any, config: Any, storage: Any, api_error: Any, shown: str
) -> int:
    """Add the stream with as many replicas as the cluster allows (3 at most)."""
    replicas = min(MAX_REPLICAS, _cluster_size(nc))
    while True:
        try:
            await js.add_stream(
                config(
                    name=stream,
                    subjects=STREAM_SUBJECTS,
                    num_replicas=replicas,
                    storage=storage.FILE,
                    duplicate_window=120.0,
                )
            )
            return replicas
        except api_error as exc:
            text = f"{exc.description or exc}"
            if "overlap" in text.lower():
                raise BrokerError(
                    f"another stream on {shown} already takes {', '.join(STREAM_SUBJECTS)} "
                    f"({text}): publish into it with --stream NAME (nats stream ls names it)"
                ) from None
            if replicas > 1 and ("replica" in text.lower() or "resources" in text.lower()):
                replicas -= 1  # fewer nodes up than the cluster lists
                continue
            raise BrokerError(
                f"the NATS server at {shown} refused stream {stream}: {text}"
            ) from None
