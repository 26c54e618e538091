"""What went wrong when connecting, in plain words, for the log and the supervisor."""

from __future__ import annotations

import errno
import socket
import ssl
from urllib.parse import urlsplit

from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from .supervisor import (
    Failure,
)

__all__ = ["describe", "explain", "failure", "tls_problem"]


def describe(exc: BaseException) -> str:
    """One line naming a connection error in plain words."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        body = response.body.decode("utf-8", "replace").strip() if response.body else ""
        text = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        return f"{text}: {body[:300]}" if body else text
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        if rcvd is None:
            return "connection lost without a close frame (1006)"
        return f"closed by the server with code {rcvd.code}" + (
            f" ({rcvd.reason})" if rcvd.reason else ""
        )
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def explain(exc: BaseException, url: str, timeout: float | None = None) -> str:
    """Why connecting to ``url`` failed, in words a reader understands (the host named).

    The same words for the ``auto`` probe's banner, the progress line and the
    summary: ``DNS lookup of stream.binance.com failed (...): no internet access?``.
    """
    host = urlsplit(url).hostname or url
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup of {host} failed ({exc.strerror}): no internet access?"
    if isinstance(exc, ConnectionRefusedError):
        port = urlsplit(url).port
        return f"connection to {host}" + (f" port {port}" if port else "") + " refused"
    if isinstance(exc, TimeoutError):
        within = f"within {timeout:g} s" if timeout is not None else "in time"
        return f"{host} did not answer {within}"
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status == 451:
            return f"{host} refused with HTTP 451: the exchange blocks this region"
        return f"{host} refused the WebSocket handshake with HTTP {status}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"network unreachable for {host}: no internet access?"
    if isinstance(exc, ssl.SSLError):
        return f"{host}: {tls_problem(exc)}"
    return f"{host}: {describe(exc)}"


def tls_problem(exc: ssl.SSLError) -> str:
    """A TLS failure in plain words: whose certificate, and what is wrong with it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        # The ssl module sets these attributes on the errors it raises; one made elsewhere
        # (a library re-raising, a test) may lack them.
        reason = getattr(exc, "reason", None)
        detail = getattr(exc, "verify_message", None) or reason or str(exc)
        code = getattr(exc, "verify_code", None)
        if code in (62, 64) or "mismatch" in detail.lower():  # host name or IP
            return f"hostname mismatch: the server's certificate is not valid for it ({detail})"
        return f"certificate not trusted ({detail})"
    return f"TLS handshake failed ({getattr(exc, 'reason', None) or exc})"


def failure(exc: Exception) -> Failure:
    """What a failed connect attempt was, for the supervisor's rules."""
    if isinstance(exc, ssl.SSLError):  # before ValueError: a certificate error is one too
        return Failure("tls", tls_problem(exc))
    if isinstance(exc, InvalidStatus):
        return Failure("status", describe(exc), exc.response.status_code)
    if isinstance(exc, InvalidURI | ValueError | TypeError):
        return Failure("invalid_url", str(exc))
    if process_exception(exc) is None:  # websockets' own judgement: worth retrying
        return Failure("transient", describe(exc))
    return Failure("fatal", describe(exc))
