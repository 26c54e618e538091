"""The command line's settings and argument types: text in, a value out, or a message in
plain words.

An :class:`Option` declares one setting once, where it belongs: an exchange
module's (``OPTIONS``: ``--symbol``, ``--keepalive``), a simulated exchange's
(``--ping-interval``), and from that one declaration come the keyword of
:func:`btclib.record`, the argparse option (:meth:`Option.add_to`) and its
default. Its ``type`` is one of the types below, so a bad value reads the same
whichever module declared it.

argparse calls a ``type`` with the option's text. A ``ValueError`` from it
becomes ``invalid positive value: 'abc'`` (the function's name), and any other
exception a traceback; an :class:`argparse.ArgumentTypeError` becomes
``argument --duration: expected a number of seconds above 0, got 'abc'`` and
exit code 2. Every type here raises only the latter, so each bad value is
reported by argparse in words a user can act on. :func:`plain` wraps a
checker written for the library (a ``ValueError`` naming the problem) the
same way.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "Option",
    "count",
    "existing_file",
    "existing_folder",
    "http_error_status",
    "integer",
    "non_negative",
    "number",
    "plain",
    "port",
    "positive",
    "seconds",
    "speed",
    "websocket_url",
    "writable_file",
    "writable_folder",
]


def _error(expected: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")


def _number(text: str, expected: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise _error(expected, text) from None
    if not math.isfinite(number):
        raise _error(expected, text)
    return number


def number(text: str) -> float:
    """A finite number, any sign."""
    return _number(text, "a number")


def positive(text: str) -> float:
    """A finite number above 0 (seconds, intervals, speeds)."""
    number = _number(text, "a number above 0")
    if number <= 0:
        raise _error("a number above 0", text)
    return number


def non_negative(text: str) -> float:
    """A finite number, 0 or more (a delay that may be nil)."""
    number = _number(text, "a number of 0 or more")
    if number < 0:
        raise _error("a number of 0 or more", text)
    return number


def _whole(text: str, expected: str, low: int | None = None, high: int | None = None) -> int:
    try:
        number = int(text)
    except ValueError:
        raise _error(expected, text) from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise _error(expected, text)
    return number


def integer(text: str) -> int:
    """A whole number, any sign (a seed)."""
    return _whole(text, "a whole number")


def count(text: str) -> int:
    """A whole number, 0 or more (messages, a connection's index)."""
    return _whole(text, "a whole number of 0 or more", 0)


def seconds(text: str) -> int:
    """A whole number of seconds above 0 (a time limit)."""
    return _whole(text, "a whole number of seconds above 0", 1)


def port(text: str) -> int:
    """A TCP port: 1 to 65535, or 0 for any free one."""
    return _whole(text, "a port number from 1 to 65535 (0: any free port)", 0, 65535)


def http_error_status(text: str) -> int:
    """An HTTP error status, 400 to 599 (a refused handshake)."""
    return _whole(text, "an HTTP error status from 400 to 599", 400, 599)


def speed(text: str) -> float | Literal["max"]:
    """A replay speed: a number above 0 (1 = as recorded), or ``max``."""
    if text == "max":
        return "max"
    try:
        return positive(text)
    except argparse.ArgumentTypeError:
        raise _error("a number above 0 or 'max'", text) from None


def websocket_url(text: str) -> str:
    """A ``ws://`` or ``wss://`` URL with a host (and a valid port, if one is given)."""
    expected = "a ws:// or wss:// URL with a host"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError when the port is not a number in range)
    except ValueError:
        raise _error(expected, text) from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise _error(expected, text)
    return text


def existing_file(text: str) -> str:
    """A file that exists and can be read (a capture to replay)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"not a file: {text!r}")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: permission denied")
    return text


def writable_file(text: str) -> str:
    """A file path that can be written: not a folder, in a folder that is or can be made.

    Nothing is created here (a later option may still be wrong); this catches
    what can be told without writing: an empty path, a folder given as the
    file, a file standing where a folder must be, a folder without write
    permission.
    """
    if not text:
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, expected a file path")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot write {text!r}: permission denied")
        return text
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: folder {str(folder)!r} is read-only"
        )
    return text


def writable_folder(text: str) -> Path:
    """A folder that is, or can be made, and written into (where reports go)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, expected a folder")
    folder = path.absolute()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make {text!r}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {text!r}: {str(folder)!r} is read-only")
    return path


def existing_folder(text: str) -> Path:
    """A folder that is there (one a command reads, such as a written report)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder, got ''")
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text!r} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, expected a folder")
    return path


def plain(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """``check`` for argparse: its ``ValueError`` message becomes the argument's error.

    For checkers written for the library, such as an exchange's
    ``check_market``, whose messages already say what is wrong.
    """
    if check in _PLAIN:
        return check

    def checked(text: str) -> Any:
        try:
            return check(text)
        except argparse.ArgumentTypeError:
            raise
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(str(exc) or f"invalid value {text!r}") from None

    checked.__name__ = getattr(check, "__name__", "value")
    return checked


_PLAIN: set[Callable[[str], Any]] = {
    count,
    existing_file,
    http_error_status,
    integer,
    non_negative,
    number,
    port,
    positive,
    speed,
    websocket_url,
    writable_file,
}


@dataclass(frozen=True)
class Option:
    """One setting, declared once: its name, its command-line spelling, its default and type.

    Exchange modules list theirs (``OPTIONS``: keywords of :func:`btclib.record`
    and keys of the settings ``make_feed`` gets), simulated exchanges theirs
    (:class:`~btclib.simulator.SimConfig` fields), and the command line adds
    each with :meth:`add_to`; neither names an exchange.
    """

    name: str
    """The keyword, settings key or config field it sets (argparse's ``dest``)."""
    flag: str
    """Command-line spelling: ``--symbol``."""
    default: Any = None
    """The value when not given (``None``: the consumer's own default, e.g. SimConfig's)."""
    help: str | None = None
    choices: tuple[str, ...] | None = None
    type: Callable[[str], Any] | None = None
    """Converts the command line's text: a type of this module (:func:`positive`, or
    :func:`plain` around a library check), so its error reads like every other's;
    ``None``: the text as given."""
    repeatable: bool = False
    """Given once per value on the command line (``--code A --code B``): a list."""
    metavar: str | None = None

    def value(self, settings: Mapping[str, Any]) -> Any:
        """This option's value in ``settings``; its default when absent or ``None``."""
        given = settings.get(self.name)
        return self.default if given is None else given

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        """Add it to ``parser`` (or an argument group); a repeatable one starts empty
        (``None``), so that a list given replaces the default rather than extending it."""
        parser.add_argument(
            self.flag,
            dest=self.name,
            default=None if self.repeatable else self.default,
            action="append" if self.repeatable else "store",
            type=self.type,
            choices=self.choices,
            metavar=self.metavar,
            help=self.help,
        )
