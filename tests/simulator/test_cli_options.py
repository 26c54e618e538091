"""``simulate``'s options: each simulated exchange's Options on the command line, their
values into SimConfig (a field, or the package's own ``settings``)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import pytest

from btclib.arguments import Option, positive
from btclib.simulator import SimConfig, add_arguments, options, registry

FAKE = SimpleNamespace(
    OPTIONS=(Option("fake_depth", "--fake-depth", metavar="N", type=positive, help="depth"),)
)


@pytest.fixture
def parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    monkeypatch.setitem(registry.EXCHANGES, "fake", FAKE)  # type: ignore[arg-type]
    parser = argparse.ArgumentParser(prog="simulate", exit_on_error=False)
    add_arguments(parser)
    return parser


def test_an_option_naming_a_field_sets_it_and_one_naming_none_goes_in_settings(parser):
    args = parser.parse_args(["--ping-interval", "5", "--fake-depth", "3"])
    fields = options(args)
    assert fields["binance_ping_interval"] == 5.0
    assert fields["settings"] == {"fake_depth": 3.0}
    config = SimConfig(**fields)
    assert config.binance_ping_interval == 5.0 and config.settings == {"fake_depth": 3.0}


def test_options_not_given_leave_the_config_at_its_defaults(parser):
    fields = options(parser.parse_args([]))
    assert "settings" not in fields and "binance_ping_interval" not in fields
    assert SimConfig(**fields).binance_ping_interval == SimConfig().binance_ping_interval


def test_a_packages_option_refuses_a_bad_value_in_the_shared_words(parser):
    with pytest.raises(argparse.ArgumentError, match="expected a number above 0, got '0'"):
        parser.parse_args(["--fake-depth", "0"])
