"""Number spellings of the two exchanges, computed exactly.

``json.dumps`` can produce neither exchange's numbers:

* Binance writes prices and quantities as JSON strings with exactly eight
  decimals (``"16702.06000000"``): :func:`fixed8`.
* Upbit's servers are written in Java and print numbers two ways, sometimes in
  the same frame: ``Double.toString`` (``2.2855E7``, ``127.0``, ``0.695``,
  ``7.9276E-4``): :func:`java_double`; and ``BigDecimal.toString`` with scale 8
  (``0.13138600``, ``123.00000000``, ``6E-8``): :func:`java_bigdecimal`.

The functions are pure and take integers where the value is exact, so the
output never depends on binary floating point rounding except where Upbit's
own output does (its ``total_*_size`` sums are doubles: ``11.400931790000001``).
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["fixed8", "java_bigdecimal", "java_double"]


def fixed8(units: int) -> str:
    """Spell ``units * 1e-8`` with exactly eight decimals, like Binance."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 100_000_000)
    return f"{sign}{whole}.{frac:08d}"


def java_double(value: float) -> str:
    """Spell ``value`` like Java's ``Double.toString`` (shortest repr digits).

    Values in ``[1e-3, 1e7)`` are written plainly with at least one decimal
    (``127.0``, ``0.695``), others in computerized scientific notation with at
    least one digit after the point (``1.16539E8``, ``6.0E-8``). The digits are
    the shortest that round-trip, which is what Java does since JDK 19 and what
    Python's ``repr`` computes.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    value = abs(value)
    if value == 0.0:
        return f"{sign}0.0"
    exact = Decimal(repr(value)).normalize()
    if 1e-3 <= value < 1e7:
        text = format(exact, "f")
        return sign + (text if "." in text else text + ".0")
    digits = "".join(map(str, exact.as_tuple().digits))
    exponent = exact.adjusted()
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{sign}{mantissa}E{exponent}"


def java_bigdecimal(unscaled: int, scale: int = 8) -> str:
    """Spell ``unscaled * 10**-scale`` like Java's ``BigDecimal.toString``.

    Plain notation when the adjusted exponent is at least -6
    (``0.00077720``, ``123.00000000``), scientific otherwise (``6E-8``,
    ``9.9E-7``, and ``0E-8`` for a zero of scale 8).
    """
    sign = "-" if unscaled < 0 else ""
    coeff = str(abs(unscaled))
    adjusted = len(coeff) - 1 - scale
    if scale >= 0 and adjusted >= -6:
        if scale == 0:
            return sign + coeff
        if len(coeff) > scale:
            return f"{sign}{coeff[:-scale]}.{coeff[-scale:]}"
        return f"{sign}0.{coeff.rjust(scale, '0')}"
    mantissa = coeff[0] + ("." + coeff[1:] if len(coeff) > 1 else "")
    return f"{sign}{mantissa}E{'+' if adjusted > 0 else ''}{adjusted}"
