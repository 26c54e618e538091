"""Java and Binance number spellings of the simulator (pure functions)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from btclib.simulator.numbers import fixed8, java_bigdecimal, java_double


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # Spellings quoted from real Upbit frames (protocols.md 2.5, assignment sample).
        (116539000.0, "1.16539E8"),
        (22855000.0, "2.2855E7"),
        (22860000.0, "2.286E7"),
        (22840000.0, "2.284E7"),
        (127.0, "127.0"),
        (0.695, "0.695"),
        (0.058, "0.058"),
        (2.21720611, "2.21720611"),
        (9.9e-7, "9.9E-7"),
        (7.9276e-4, "7.9276E-4"),
        (11.400931790000001, "11.400931790000001"),
        (3.1081664699999996, "3.1081664699999996"),
        (2.2403413, "2.2403413"),
        # Java's Double.toString boundaries.
        (1e7, "1.0E7"),
        (9999999.0, "9999999.0"),
        (0.001, "0.001"),
        (0.000999, "9.99E-4"),
        (6e-8, "6.0E-8"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (-22855000.0, "-2.2855E7"),
        (1395.0, "1395.0"),
        (1.0, "1.0"),
        (1e21, "1.0E21"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text
    assert float(text) == value


@pytest.mark.parametrize(
    ("unscaled", "text"),
    [
        (77720, "0.00077720"),
        (12300000000, "123.00000000"),
        (13138600, "0.13138600"),
        (206000000, "2.06000000"),
        (6, "6E-8"),
        (99, "9.9E-7"),
        (845000000000000, "8450000.00000000"),
        (100, "0.00000100"),  # adjusted exponent -6: still plain
        (10, "1.0E-7"),
        (0, "0E-8"),
        (-400000000, "-4.00000000"),
    ],
)
def test_java_bigdecimal_scale8(unscaled: int, text: str) -> None:
    assert java_bigdecimal(unscaled, 8) == text
    assert Decimal(text) == Decimal(unscaled).scaleb(-8)


def test_java_bigdecimal_other_scales() -> None:
    assert java_bigdecimal(12345, 0) == "12345"
    assert java_bigdecimal(5, 2) == "0.05"
    assert java_bigdecimal(123, -2) == "1.23E+4"


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (1670206000000, "16702.06000000"),
        (69000, "0.00069000"),
        (0, "0.00000000"),
        (11685133000000, "116851.33000000"),
        (-1, "-0.00000001"),
    ],
)
def test_fixed8(units: int, text: str) -> None:
    assert fixed8(units) == text


def test_spellings_survive_json_parsing() -> None:
    """A client can read every spelling with ``parse_float=Decimal``."""
    a, b = java_double(2.2855e7), java_bigdecimal(6)
    text = f'{{"a":{a},"b":{b},"c":0.13138600}}'
    assert json.loads(text, parse_float=Decimal) == {
        "a": Decimal("2.2855E7"),
        "b": Decimal("6E-8"),
        "c": Decimal("0.13138600"),
    }
