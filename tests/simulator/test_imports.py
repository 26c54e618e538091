"""The simulator's modules import each other without a cycle; replay does not need the server."""

from __future__ import annotations

import ast
from pathlib import Path

import btclib.simulator

ROOT = Path(btclib.simulator.__file__).parent
PACKAGE = "btclib.simulator"


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Simulator modules ``name`` imports explicitly, TYPE_CHECKING blocks included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else node.module
            target = target or base
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_simulator_module_imports_itself_through_others() -> None:
    graph = _graph()
    assert f"{PACKAGE}.server" in graph and f"{PACKAGE}.binance.link" in graph
    cycles = sorted(name for name in graph if name in _closure(graph, name))
    assert cycles == []


def test_replay_needs_the_public_link_not_the_server() -> None:
    graph = _graph()
    reached = _closure(graph, f"{PACKAGE}.replay")
    assert f"{PACKAGE}.link" in reached
    assert f"{PACKAGE}.server" not in reached
    assert f"{PACKAGE}.server" in _closure(graph, PACKAGE)  # the check can see the server


def test_the_cycle_check_sees_a_type_checking_import(tmp_path: Path) -> None:
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .server import _Link\n"
    (tmp_path / "replay.py").write_text(code)
    known = {f"{PACKAGE}.server", f"{PACKAGE}.replay"}
    assert _imports(f"{PACKAGE}.replay", tmp_path / "replay.py", known) == {f"{PACKAGE}.server"}


def _third_party_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_each_exchange_builds_its_frames_without_io() -> None:
    """Only an exchange's link module touches asyncio or websockets (sans-I/O frames)."""
    from btclib.simulator.registry import EXCHANGES

    for name in EXCHANGES:
        pure = [p for p in (ROOT / name).glob("*.py") if p.name not in ("link.py", "__init__.py")]
        assert {p.name for p in pure} >= {"frames.py", "session.py", "malformed.py"}
        for path in pure:
            assert not _third_party_imports(path) & {"asyncio", "websockets"}, path
        # The link is where the I/O is (a timer may live in the shared base Link, or in
        # the link of a protocol family the exchange belongs to, ``from ..family.link``).
        link = ROOT / name / "link.py"
        family = [
            ROOT / node.module.replace(".", "/")
            for node in ast.walk(ast.parse(link.read_text()))
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module
            if node.module.endswith(".link")
        ]
        links = [link, *(p.with_suffix(".py") for p in family)]
        assert any("websockets" in _third_party_imports(p) for p in links), name
