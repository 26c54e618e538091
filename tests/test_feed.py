"""The names the recorder's contract gives what it meets: a Notice's kind, a frame's kind, a
failed connect's kind, each a Literal, shared where they mean the same."""

from __future__ import annotations

import ssl
from typing import get_args

import pytest

from btclib.exchanges.records import FrameKind, frame_kind
from btclib.feed import Answer, Notice, NoticeKind
from btclib.recorder.failures import failure
from btclib.recorder.supervisor import FailureKind


def test_a_frame_kind_takes_the_answer_names_of_the_notices():
    assert get_args(Answer) == ("reply", "status", "shutdown")
    assert set(get_args(NoticeKind)) == {*get_args(Answer), "unexpected", "malformed"}
    assert get_args(FrameKind) == ("data", "reply", "status", "shutdown", "error", "malformed")


@pytest.mark.parametrize("kind", get_args(NoticeKind))
def test_each_notice_kind_is_classified_as_its_frame_kind(kind: str):
    expected = {"unexpected": "data"}.get(kind, kind)  # data of a stream not subscribed: data
    assert frame_kind(lambda frame: Notice(kind, "x"), b"{}") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ssl.SSLError(1, "handshake failure"), "tls"),
        (ssl.SSLCertVerificationError("bad cert"), "tls"),
        (ValueError("no host"), "invalid_url"),
        (ConnectionRefusedError(111, "Connection refused"), "transient"),
        (TimeoutError(), "transient"),
    ],
)
def test_a_failed_connect_is_named_by_one_of_the_failure_kinds(exc: Exception, kind: str):
    named = failure(exc)
    assert named.kind == kind and named.kind in get_args(FailureKind)


def test_a_tls_error_made_outside_the_ssl_module_is_still_named():
    """Errors the ssl module did not raise lack its ``reason``/``verify_*`` attributes."""
    assert failure(ssl.SSLError(1, "handshake failure")).text.startswith("TLS handshake failed")
    assert "bad cert" in failure(ssl.SSLCertVerificationError("bad cert")).text
