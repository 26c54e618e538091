"""The ``auto`` probe says why a live endpoint did not answer, in words a reader understands.

Each failure is produced for real where this machine can: a name that never resolves, a
closed port, a server that accepts and never answers, an HTTP 451 handshake refusal.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import serve

from btclib.steps.sources import explain, probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_name_that_does_not_resolve_is_a_dns_failure_named_with_its_host():
    # .invalid never resolves (RFC 2606), with or without internet access.
    why = await probe("wss://stream.btclib.invalid:9443/stream", timeout=10)
    assert why is not None
    assert why.startswith("DNS lookup of stream.btclib.invalid failed (")
    assert why.endswith("): no internet access?")


async def test_a_closed_port_is_a_refused_connection_naming_the_host():
    port = free_port()
    why = await probe(f"ws://127.0.0.1:{port}/ws", timeout=10)
    assert why is not None
    assert why.startswith("connection to 127.0.0.1") and why.endswith(" refused")


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers the WebSocket handshake."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_answers_is_a_timeout_naming_the_limit(silent_server: int):
    why = await probe(f"ws://127.0.0.1:{silent_server}/ws", timeout=0.3)
    assert why == "127.0.0.1 did not answer within 0.3 s"


async def test_http_451_is_named_as_the_exchange_blocking_the_region():
    body = b'{"code":0,"msg":"Service unavailable from a restricted location"}'

    def refuse(connection, request):  # type: ignore[no-untyped-def]
        return connection.respond(451, body.decode())

    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=refuse) as srv:
        port = srv.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        why = await probe(f"ws://127.0.0.1:{port}/stream", timeout=10)
    assert why == "127.0.0.1 refused with HTTP 451: the exchange blocks this region"


@pytest.mark.parametrize("code", [errno.ENETUNREACH, errno.EHOSTUNREACH])
def test_an_unreachable_network_is_named_as_such(code: int):
    # No test machine can be made to lose its route for one connect: the error as the OS
    # raises it (connect() fails with this errno and its strerror).
    exc = OSError(code, "Network is unreachable")
    why = explain(exc, "wss://api.upbit.com/websocket/v1", 5)
    assert why == "network unreachable for api.upbit.com: no internet access?"
