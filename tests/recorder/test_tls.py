"""TLS failures are named for what they are, with the way out, not as an invalid URL.

A local wss:// server with a self-signed certificate (made with the openssl
command line) stands in for an exchange seen through a network that inspects
TLS, or for a misconfigured endpoint.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from websockets.asyncio.server import serve

from btclib.errors import RecordingError
from btclib.feed import Data, Feed
from btclib.recorder import record_feeds

from ..conftest import FAST

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``exchange.test`` (and nothing else)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=exchange.test", "-addext", "subjectAltName=DNS:exchange.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def record_from_tls_server(cert: Path, key: Path, out: Path) -> RecordingError:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handler(ws):  # never reached: the handshake fails first
        await ws.send("{}")

    async with serve(handler, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        feed = Feed(
            "binance",
            f"wss://127.0.0.1:{port}/",
            (),
            lambda f: Data("s", None, f),
            ("s",),
            title="Binance",
        )
        with pytest.raises(RecordingError) as info:
            await asyncio.wait_for(record_feeds([feed], out, options=FAST, duration=10), 10)
    return info.value


async def test_an_untrusted_certificate_is_named_with_the_way_out(tmp_path, certificate):
    error = await record_from_tls_server(*certificate, tmp_path / "out.txt")
    text = str(error)
    assert text.startswith("Binance: TLS failure connecting to wss://127.0.0.1:")
    assert "certificate not trusted" in text and "self-signed certificate" in text
    assert "SSL_CERT_FILE" in text
    assert "invalid URL" not in text
    assert error.summary is not None and error.summary.total == 0


async def test_a_certificate_for_another_host_is_a_hostname_mismatch(
    tmp_path, certificate, monkeypatch
):
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted now, but not for 127.0.0.1
    error = await record_from_tls_server(cert, key, tmp_path / "out.txt")
    assert "hostname mismatch" in str(error) and "127.0.0.1" in str(error)
