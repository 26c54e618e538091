"""btcrec over wss://: certificate verification on, the host name checked, SNI sent.

A local TLS WebSocket server with a self-signed certificate (made with the openssl command
line) stands in for the exchange; OpenSSL's SSL_CERT_FILE makes btcrec trust it or not.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from .conftest import btcrec_path

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

TRADE = (
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":5,'
    '"p":"1.50000000","q":"0.25000000","T":1,"m":true,"M":true}}'
)


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def run_against_tls(tmp_path: Path, served: str, trusted: Path) -> tuple[int, str, list]:
    """btcrec records Step A from a wss://localhost server holding ``served``'s certificate."""
    cert, key = certificate(tmp_path, served)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    async def handler(ws):
        await ws.send(TRADE)
        await ws.wait_closed()

    out = tmp_path / "data.txt"
    async with serve(handler, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            str(btcrec_path()), "record", "binance", "--duration", "1", "--out", str(out),
            "--binance-url", f"wss://localhost:{port}",
            env={**os.environ, "SSL_CERT_FILE": str(trusted)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    data = out.read_bytes() if out.exists() else b""
    return proc.returncode or 0, stderr.decode(), [data, names]


async def test_a_trusted_certificate_for_the_host_records_and_sends_sni(tmp_path: Path):
    code, stderr, (data, names) = await run_against_tls(
        tmp_path, "localhost", tmp_path / "localhost.pem"
    )
    assert code == 0, stderr
    assert data == b"btcusdt@trade, p:1.50000000,q:0.25000000\n"
    assert "localhost" in names  # SNI


async def test_an_untrusted_certificate_ends_the_run_naming_verification(tmp_path: Path):
    other, _ = certificate(tmp_path, "elsewhere.test")
    code, stderr, (data, _) = await run_against_tls(tmp_path, "localhost", other)
    assert code == 1 and data == b""
    assert "certificate verification failed" in stderr


async def test_a_certificate_for_another_host_is_refused(tmp_path: Path):
    code, stderr, (data, _) = await run_against_tls(
        tmp_path, "exchange.test", tmp_path / "exchange.test.pem"
    )
    assert code == 1 and data == b""
    assert "certificate verification failed" in stderr
