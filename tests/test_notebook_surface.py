"""The step notebooks reach btclib only through its public surface, and show only public names.

A notebook may import ``btclib`` (the names of its ``__all__``), ``btclib.notebook``,
``btclib.analysis`` and ``btclib.plots``, plus the standard library, IPython, matplotlib and
numpy; it names no identifier or attribute that starts with ``_``; every object it shows with
``notebook.listing`` is public where it is defined. Renaming an internal then never breaks the
report. The code cells are read as IPython reads them (magics included), then parsed with ast.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import btclib
from btclib import analysis, notebook, plots

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: btclib modules a notebook may import, and what each may give by ``from ... import``.
SURFACE: dict[str, frozenset[str]] = {
    "btclib": frozenset(btclib.__all__) | {"analysis", "notebook", "plots"},
    "btclib.notebook": frozenset(notebook.__all__),
    "btclib.analysis": frozenset(analysis.__all__),
    "btclib.plots": frozenset(plots.__all__),
}
#: Third-party packages a notebook may import besides btclib.
THIRD_PARTY = frozenset({"IPython", "matplotlib", "numpy"})


def python_of(nb_path: Path) -> str:
    """The notebook's code cells as one Python module (magics turned into calls)."""
    nb = nbformat.read(nb_path, as_version=4)
    transform = TransformerManager().transform_cell
    return "\n".join(transform(c.source) for c in nb.cells if c.cell_type == "code")


def parse(source: str) -> ast.Module:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, "<notebook>", "exec", flags=flags)


def import_problem(module: str) -> str | None:
    top = module.partition(".")[0]
    if top == "btclib":
        return None if module in SURFACE else f"imports {module}"
    if top in sys.stdlib_module_names or top in THIRD_PARTY:
        return None
    allowed = ", ".join(sorted(THIRD_PARTY))
    return f"imports {module} (not btclib's surface, the standard library, {allowed})"


def surface_problems(source: str) -> list[str]:
    """Every import outside the surface and every ``_`` name in the code, with its line."""
    found = []
    for node in ast.walk(parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        names: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += [f"{where}: {p}" for p in [import_problem(alias.name)] if p]
                names.append(alias.asname or "")
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            problem = import_problem(module) if not node.level else f"imports {module}"
            if problem:
                found.append(f"{where}: {problem}")
            elif module in SURFACE:
                found += [
                    f"{where}: imports {a.name} from {module}, not in its public surface"
                    for a in node.names
                    if a.name not in SURFACE[module]
                ]
            names += [a.name for a in node.names] + [a.asname or "" for a in node.names]
        elif isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.keyword):
            names.append(node.arg or "")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        found += [f"{where}: names {n}" for n in names if n.startswith("_")]
    return found


def listed(source: str) -> list[tuple[str, Any]]:
    """What each ``listing(...)`` call shows: (the expression, the object it names).

    The objects are found by running the notebook's import statements only (nothing is
    recorded), then evaluating each argument, which must be a plain dotted name.
    """
    tree = parse(source)
    namespace: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            exec(compile(ast.Module([node], []), "<imports>", "exec"), namespace)
    shown = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "listing":
            continue
        for arg in node.args:
            expr = ast.unparse(arg)
            dotted = arg
            while isinstance(dotted, ast.Attribute):
                dotted = dotted.value
            assert isinstance(dotted, ast.Name), f"listing({expr}): show a dotted name"
            shown.append((expr, eval(compile(ast.Expression(arg), "<arg>", "eval"), namespace)))
    return shown


def cpp_listed(source: str) -> list[str]:
    """What each ``cpp_listing(...)`` call shows: its pieces (``"binance.cpp:Parser::parse"``),
    which must be string constants, so the check can find them in ``cpp/src``."""
    pieces = []
    for node in ast.walk(parse(source)):
        func = node.func if isinstance(node, ast.Call) else None
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "cpp_listing":
            continue
        for arg in node.args:  # type: ignore[attr-defined]
            assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), (
                f"cpp_listing({ast.unparse(arg)}): name a file or file:function as a string"
            )
            pieces.append(arg.value)
    return pieces


def private_parts(obj: Any) -> list[str]:
    """The parts of where ``obj`` is defined (module, qualified name) that start with ``_``."""
    parts = f"{obj.__module__}.{obj.__qualname__}".split(".")
    return [p for p in parts if p.startswith("_")]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook_source(request: pytest.FixtureRequest) -> str:
    return python_of(request.param)


def test_there_are_step_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS if p.name.startswith("step_")] == [
        "step_a_binance.ipynb",
        "step_b_upbit.ipynb",
        "step_c_multi.ipynb",
        "step_d_cross_exchange.ipynb",
        "step_e_cpp.ipynb",
        "step_f_fault_lab.ipynb",
    ]


def test_notebook_uses_only_the_public_surface(notebook_source: str) -> None:
    assert surface_problems(notebook_source) == []


def test_notebook_shows_only_public_btclib_names(notebook_source: str) -> None:
    shown = listed(notebook_source)
    assert shown or cpp_listed(notebook_source), "each step shows the code that did the work"
    for expr, obj in shown:
        assert obj.__module__.partition(".")[0] == "btclib", f"{expr} is not btclib's"
        assert private_parts(obj) == [], f"listing({expr}) shows a private name"


def test_notebook_shows_cpp_definitions_that_exist(notebook_source: str) -> None:
    # Step E shows btcrec's C++ by file and function name: a renamed function fails here.
    for piece in cpp_listed(notebook_source):
        assert str(notebook.cpp_listing(piece)), piece


def test_notebook_reads_its_settings_in_one_place(notebook_source: str) -> None:
    # The BTCLIB_* variables are read by btclib.notebook.parameters, not by each notebook.
    strings = [
        n.value
        for n in ast.walk(parse(notebook_source))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    assert not [s for s in strings if "BTCLIB_" in s]
    assert "notebook.parameters(" in notebook_source


def test_the_checks_catch_what_they_forbid() -> None:
    bad = """%matplotlib inline
import requests
import btclib.files.sink
from btclib import steps, record
from btclib.recorder import FeedRunner
from btclib.notebook import _where
from . import x
print(btclib.recorder._FeedRunner)
def _helper(_arg, *, key=1): pass
f(_key=1)
"""
    problems = surface_problems(TransformerManager().transform_cell(bad))
    for expected in (
        "line 2: imports requests",
        "line 3: imports btclib.files.sink",
        "line 4: imports steps from btclib, not in its public surface",
        "line 5: imports btclib.recorder",
        "line 6: imports _where from btclib.notebook, not in its public surface",
        "line 6: names _where",
        "line 7: imports .",
        "line 8: names _FeedRunner",
        "line 9: names _helper",
        "line 9: names _arg",
        "line 10: names _key",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert not [p for p in problems if p.startswith("line 4: imports record ")]  # it is public
    assert surface_problems("import json\nfrom IPython.display import display\n") == []


def test_listing_check_resolves_aliases_to_where_they_are_defined() -> None:
    # A private object under a public alias is still private where it is defined.
    src = "from btclib import notebook\nlisting(notebook.Listing._repr_html_, notebook.tail)\n"
    (first, obj1), (second, obj2) = listed(src)
    assert (first, second) == ("notebook.Listing._repr_html_", "notebook.tail")
    assert private_parts(obj1) == ["_repr_html_"]
    assert private_parts(obj2) == []
