"""The command line's argument types accept every good value and refuse the rest in words."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from btclib import arguments


@pytest.mark.parametrize(
    ("convert", "text", "value"),
    [
        (arguments.positive, "0.5", 0.5),
        (arguments.positive, "1e3", 1000.0),
        (arguments.non_negative, "0", 0.0),
        (arguments.number, "-2.5", -2.5),
        (arguments.integer, "-7", -7),
        (arguments.count, "0", 0),
        (arguments.port, "0", 0),
        (arguments.port, "1", 1),
        (arguments.port, "65535", 65535),
        (arguments.http_error_status, "429", 429),
        (arguments.speed, "max", "max"),
        (arguments.speed, "10", 10.0),
        (arguments.websocket_url, "wss://stream.binance.com:9443", "wss://stream.binance.com:9443"),
        (arguments.websocket_url, "ws://127.0.0.1:9/websocket/v1", "ws://127.0.0.1:9/websocket/v1"),
        (arguments.websocket_url, "ws://[::1]:8765", "ws://[::1]:8765"),
    ],
)
def test_good_values_pass_through(convert: Callable[[str], Any], text: str, value: Any):
    assert convert(text) == value


@pytest.mark.parametrize(
    ("convert", "text", "message"),
    [
        (arguments.positive, "inf", "expected a number above 0, got 'inf'"),
        (arguments.non_negative, "-0.1", "expected a number of 0 or more, got '-0.1'"),
        (arguments.number, "nan", "expected a number, got 'nan'"),
        (arguments.integer, "2.0", "expected a whole number, got '2.0'"),
        (arguments.count, "-1", "expected a whole number of 0 or more, got '-1'"),
        (arguments.port, "65536", "from 1 to 65535 (0: any free port), got '65536'"),
        (arguments.http_error_status, "399", "from 400 to 599, got '399'"),
        (arguments.speed, "-1", "expected a number above 0 or 'max', got '-1'"),
        (arguments.websocket_url, "http://example.com", "ws:// or wss:// URL with a host"),
        (arguments.websocket_url, "ws://:80/x", "URL with a host, got 'ws://:80/x'"),
        (arguments.websocket_url, "ws://h:port", "URL with a host, got 'ws://h:port'"),
    ],
)
def test_bad_values_raise_the_error_argparse_prints(
    convert: Callable[[str], Any], text: str, message: str
):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        convert(text)
    assert message in str(refused.value)


def test_files_are_checked_without_creating_anything(tmp_path: Path):
    existing = tmp_path / "data.txt"
    existing.write_text("x\n")
    assert arguments.writable_file(str(existing)) == str(existing)
    deep = tmp_path / "a" / "b" / "c.txt"
    assert arguments.writable_file(str(deep)) == str(deep)
    assert arguments.existing_file(str(existing)) == str(existing)
    with pytest.raises(argparse.ArgumentTypeError, match="is not a folder"):
        arguments.writable_file(str(existing / "c.txt"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder, expected a file path"):
        arguments.writable_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        arguments.existing_file(str(deep))
    with pytest.raises(argparse.ArgumentTypeError, match="not a file"):
        arguments.existing_file(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"]


def test_plain_turns_a_library_checks_value_error_into_its_message():
    def check_market(text: str) -> str:
        if "-" in text:
            raise ValueError(f"unknown symbol format {text!r}")
        return text.lower()

    checked = arguments.plain(check_market)
    assert checked("BTCUSDT") == "btcusdt"
    with pytest.raises(argparse.ArgumentTypeError, match="unknown symbol format 'btc-usdt'"):
        checked("btc-usdt")
    assert arguments.plain(arguments.port) is arguments.port
