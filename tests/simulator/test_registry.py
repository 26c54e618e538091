"""The server routes over the registry: a third exchange needs no change to it."""

from __future__ import annotations

import ast
import asyncio
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

import btclib.exchanges
import btclib.simulator
from btclib.simulator import (
    Faults,
    Malformed,
    MalformedKind,
    Refuse,
    Rule,
    SimConfig,
    Simulator,
    banner,
)
from btclib.simulator.link import Link
from btclib.simulator.market import Step
from btclib.simulator.registry import EXCHANGES

SERVER = Path(btclib.simulator.__file__).parent / "server.py"


class EchoLink(Link):
    """A made-up exchange: echoes every message, sends no market data."""

    exchange = "echo"
    binary = False

    async def serve(self) -> None:
        async for message in self.ws:
            self.control(f'{{"echo":{json.dumps(message)}}}')

    def on_step(self, step: Step) -> None:
        pass

    def malformed_text(self, kind: MalformedKind) -> str:
        return f"echo-broken-{kind.value}"


ECHO = SimpleNamespace(
    NAME="echo",
    REFUSAL_BODIES={503: '{"echo":"busy"}'},
    Link=EchoLink,
    serves=lambda path: path == "/echo",
    url=lambda base: base + "/echo",
    banner=lambda url: ["Echo:", f"  wscat -c {url}"],
)


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXCHANGES, "echo", ECHO)


def test_the_simulator_serves_the_exchanges_btclib_records() -> None:
    assert set(EXCHANGES) == {m.rsplit(".", 1)[-1] for m in _exchange_modules()}
    assert all(name == x.NAME for name, x in EXCHANGES.items())


def _exchange_modules() -> list[str]:
    registry = getattr(btclib.exchanges, "EXCHANGES", None)
    if isinstance(registry, dict):
        return list(registry)
    return list(btclib.exchanges.__all__)


@pytest.mark.usefixtures("echo")
async def test_a_registered_third_exchange_is_routed_refused_and_faulted() -> None:
    faults = Faults.of(
        Rule(Refuse(503), exchange="echo", connection=0),
        Rule(Malformed(MalformedKind.TRUNCATED), exchange="echo"),
    )
    async with Simulator(SimConfig(faults=faults)) as sim:
        assert sim.urls["echo"] == f"ws://127.0.0.1:{sim.port}/echo"
        assert f"wscat -c {sim.urls['echo']}" in banner(sim)
        with pytest.raises(InvalidStatus) as refused:
            await connect(sim.urls["echo"], open_timeout=3)
        assert refused.value.response.status_code == 503
        assert refused.value.response.body == b'{"echo":"busy"}'
        async with connect(sim.urls["echo"]) as ws:
            assert await asyncio.wait_for(ws.recv(), 3) == "echo-broken-truncated"
            await ws.send("hi")
            assert json.loads(await asyncio.wait_for(ws.recv(), 3)) == {"echo": "hi"}
        assert [(c.exchange, c.index) for c in sim.connections] == [("echo", 1)]
        assert [f.payload for f in sim.injected] == ["echo-broken-truncated"]


async def test_an_unregistered_exchange_is_not_served() -> None:
    async with Simulator(SimConfig()) as sim:
        assert "echo" not in sim.urls
        with pytest.raises(InvalidStatus) as refused:
            await connect(sim.base + "/echo", open_timeout=3)
        assert refused.value.response.status_code == 404


def _code_strings_and_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Every identifier and string constant of the code, docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.alias):
            found.append((node.lineno, node.name))
    return found


def test_server_code_names_no_exchange() -> None:
    tree = ast.parse(SERVER.read_text())
    named = [
        (line, text)
        for line, text in _code_strings_and_names(tree)
        if re.search("|".join(EXCHANGES), text, re.IGNORECASE)
    ]
    assert named == []


def test_the_server_check_would_see_an_exchange_name() -> None:
    tree = ast.parse('def route(path):\n    return "binance" if path else None\n')
    assert (2, "binance") in _code_strings_and_names(tree)


def _malformed_members(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "MalformedKind"
    ]


def test_only_the_exchange_packages_build_malformed_frames() -> None:
    root = Path(btclib.simulator.__file__).parent
    users = {str(p.relative_to(root)) for p in root.rglob("*.py") if _malformed_members(p)}
    assert users == {f"{name}/malformed.py" for name in EXCHANGES}
