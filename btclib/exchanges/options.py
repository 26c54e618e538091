"""The settings an exchange module takes, declared once for the library and the command line.

Each exchange module lists its own (``OPTIONS``): :func:`btclib.steps.steps`
takes them as keyword arguments and ``python -m btclib record`` as options,
so neither names an exchange.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Option", "positive"]


def positive(text: str) -> float:
    """A number above 0, for the command line (argparse reports the error)."""
    number = float(text)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return number


@dataclass(frozen=True)
class Option:
    """One setting of an exchange: its keyword, its command-line spelling and its default."""

    name: str
    """Keyword of :func:`btclib.steps.steps` and key in the settings ``make_feed`` gets."""
    flag: str
    """Command-line spelling: ``--symbol``."""
    default: Any
    help: str | None = None
    choices: tuple[str, ...] | None = None
    type: Callable[[str], Any] | None = None
    """Converts the command line's text (``float``, :func:`positive`); ``None``: the text."""
    repeatable: bool = False
    """Given once per value on the command line (``--code A --code B``): a list."""

    def value(self, settings: Mapping[str, Any]) -> Any:
        """This option's value in ``settings``; its default when absent or ``None``."""
        given = settings.get(self.name)
        return self.default if given is None else given
