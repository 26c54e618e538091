"""One exception tree: every error btclib raises on purpose is a BtclibError, drawn in
btclib/errors.py's docstring.

The classes are found in the source with ``ast`` (every ``class X(...Error)`` of the
package), so an error class added anywhere outside the tree fails here.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from btclib import errors
from btclib.errors import BtclibError

PACKAGE = Path(errors.__file__).resolve().parent

INTERNAL = {
    "btclib.files.datafile.FileBusyError": "an OSError the sink catches and reports as SinkError",
    "btclib.recorder.runner._Finished": "control flow inside the runner: the source ended",
    "btclib.tools.bench.flood.Closed": "control flow inside the bench's flood server",
}
"""Exception classes that never leave btclib, and why."""


def error_classes() -> list[str]:
    """``module.Class`` of every class whose base's name ends in Error or Exception."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = [ast.unparse(base).rpartition(".")[2] for base in node.bases]
                if any(n.endswith(("Error", "Exception")) for n in names):
                    found.append(f"{module}.{node.name}")
    return found


def load(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_finder_finds_the_error_classes_outside_errors_py():
    found = error_classes()
    assert "btclib.exchanges.binance.BinanceError" in found
    assert "btclib.errors.ListingError" in found and "btclib.errors.BuildError" in found


@pytest.mark.parametrize("qualified", [q for q in error_classes() if q not in INTERNAL])
def test_every_error_btclib_raises_is_under_btclib_error(qualified: str):
    cls = load(qualified)
    assert issubclass(cls, BaseException)
    assert issubclass(cls, BtclibError), f"{qualified} is outside btclib's error tree"


@pytest.mark.parametrize("qualified", [q for q in error_classes() if q not in INTERNAL])
def test_errors_py_draws_every_error_of_the_tree(qualified: str):
    """Each by name; an exchange module's own error as the tree's ``<Name>Error`` line (adding
    an exchange touches only its own modules)."""
    module, _, name = qualified.rpartition(".")
    tree = errors.__doc__ or ""
    if module.startswith("btclib.exchanges.") and issubclass(load(qualified), errors.ExchangeError):
        assert "`-- <Name>Error" in tree and name.endswith("Error")
    else:
        assert f" {name}" in tree, f"{name} missing from errors.py's tree"


def test_the_listing_and_build_errors_keep_their_old_homes_and_bases():
    from btclib.exchanges import markets
    from btclib.tools import btcrec

    assert markets.ListingError is errors.ListingError
    assert issubclass(errors.ListingError, errors.RecordingError)
    assert btcrec.BuildError is errors.BuildError
    assert issubclass(errors.BuildError, RuntimeError)  # what callers caught before
