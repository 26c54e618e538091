"""The registry: every exchange module has the same shape, and nothing else names an exchange."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from btclib import cli, exchanges
from btclib.exchanges import Exchange, Option
from btclib.steps import sources, steps

PROTOCOL_NAMES = sorted(
    {*Exchange.__annotations__}
    | {name for name, member in vars(Exchange).items() if callable(member) and name[0] != "_"}
)


def test_the_protocol_names_the_whole_shape():
    assert {"NAME", "LIVE_URL", "URL_ENV", "OPTIONS", "Parser", "make_feed"} <= set(PROTOCOL_NAMES)
    assert {"read_line", "read_frame", "classify", "check_market"} <= set(PROTOCOL_NAMES)


@pytest.mark.parametrize("name", list(exchanges.EXCHANGES))
def test_every_exchange_module_has_the_whole_shape(name: str):
    module = exchanges.get(name)
    missing = [attr for attr in PROTOCOL_NAMES if not hasattr(module, attr)]
    assert not missing, f"{name} lacks {missing}"
    assert set(PROTOCOL_NAMES) <= set(module.__all__), f"{name}: not all public"
    assert name == module.NAME and module.TITLE.lower() == name
    assert f"BTCLIB_{name.upper()}_URL" == module.URL_ENV
    assert module.LIVE_URL.startswith("wss://")
    assert all(isinstance(option, Option) for option in module.OPTIONS)
    for market in module.DEFAULT_MARKETS:
        assert module.check_market(market) == market
    with pytest.raises(ValueError, match="unknown"):
        module.check_market("no such market!")
    settings = {option.name: option.default for option in module.OPTIONS}
    feed = module.make_feed(module.LIVE_URL, settings)
    assert feed.exchange == name and feed.url.startswith(module.LIVE_URL)


def test_the_registry_keeps_the_steps_order():
    """The assignment's steps A, B, C stay exactly Binance, Upbit and both of them; an
    exchange added later gets a step of its own after them and never joins ``both``."""
    assert list(exchanges.ASSIGNMENT) == ["binance", "upbit"]
    assert list(exchanges.EXCHANGES)[:2] == ["binance", "upbit"]
    added = [name for name in exchanges.EXCHANGES if name not in exchanges.ASSIGNMENT]
    assert {
        "binance": ("binance",),
        "upbit": ("upbit",),
        "both": ("binance", "upbit"),
        **{name: (name,) for name in added},
    } == steps.STEPS
    assert list(steps.STEPS)[:3] == ["binance", "upbit", "both"]
    assert {
        "binance": "stream-data-binance.txt",
        "upbit": "stream-data-upbit.txt",
        **{name: f"stream-data-{name}.txt" for name in added},
        "both": "stream-data-multi.txt",
    } == steps.DEFAULT_FILES


def test_exchanges_joined_by_commas_make_a_step_of_their_own():
    assert steps.step_exchanges("upbit,binance") == ("upbit", "binance")
    assert steps.step_exchanges("both") == ("binance", "upbit")
    assert steps.default_path("upbit,binance").name == "stream-data-upbit-binance.txt"
    assert steps.default_path("both").name == "stream-data-multi.txt"
    for wrong in ("binance,kraken", "binance", "binance,binance", ""):
        if wrong in steps.STEPS:
            continue
        with pytest.raises(ValueError, match=r"unknown step .*joined by ','"):
            steps.step_exchanges(wrong)
    feeds = steps.build_feeds("upbit,binance", {"binance": "ws://127.0.0.1:9"})
    assert [feed.exchange for feed in feeds] == ["upbit", "binance"]


def test_get_of_an_unknown_exchange_names_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown exchange 'kraken': expected one of binance, upbit"
    ):
        exchanges.get("kraken")


def test_option_names_are_unique_and_do_not_shadow_records_own_keywords():
    names = [option.name for option in exchanges.options()]
    assert len(names) == len(set(names))
    own = set(inspect.signature(steps.record).parameters) - {"settings"}
    assert not own & set(names)
    flags = [option.flag for option in exchanges.options()]
    for flag in ("--symbol", "--code", "--depth-speed", "--keepalive"):
        assert flag in flags
    assert "--binance-url" in flags and "--upbit-url" in flags


def test_unknown_settings_are_refused_naming_them():
    with pytest.raises(TypeError, match=r"unknown exchange setting.*symbl"):
        steps.build_feeds("binance", symbl="ethusdt")


def test_live_urls_come_from_overrides_then_the_environment_then_the_module(
    monkeypatch: pytest.MonkeyPatch,
):
    for module in exchanges.EXCHANGES.values():
        monkeypatch.delenv(module.URL_ENV, raising=False)
    monkeypatch.setenv("BTCLIB_UPBIT_URL", "ws://127.0.0.1:9/websocket/v1")
    urls = sources.live_urls({"binance": "wss://data-stream.binance.vision"})
    assert urls == {
        **{name: module.LIVE_URL for name, module in exchanges.EXCHANGES.items()},
        "binance": "wss://data-stream.binance.vision",
        "upbit": "ws://127.0.0.1:9/websocket/v1",
    }
    assert sources.live_urls()["binance"] == exchanges.binance.LIVE_URL


def test_a_step_builds_its_exchanges_feeds_from_the_urls_given():
    urls = {"binance": "ws://127.0.0.1:9", "upbit": "ws://127.0.0.1:9/websocket/v1"}
    feeds = steps.build_feeds("both", urls, symbol="ethusdt", codes=["KRW-ETH"])
    assert [feed.exchange for feed in feeds] == ["binance", "upbit"]
    assert feeds[0].url == "ws://127.0.0.1:9/stream?streams=ethusdt@depth5/ethusdt@trade"
    assert feeds[1].url == urls["upbit"] and "KRW-ETH" in feeds[1].requests[0]


def exchange_names_in_code(path: Path) -> list[str]:
    """Where a module's code (not its docstrings or comments) spells an exchange's name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = "" if id(node) in docstrings else node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.arg | ast.keyword):
            text = node.arg or ""
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            text = node.name
        elif isinstance(node, ast.alias):
            text = node.asname or node.name
        else:
            continue
        found += [f"line {node.lineno}: {text!r}" for n in exchanges.EXCHANGES if n in text.lower()]
    return found


def test_the_name_finder_sees_code_and_skips_docstrings(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""binance in a docstring"""\n# upbit\nx = f(upbit_url="x")\n')
    assert exchange_names_in_code(sample) == ["line 3: 'upbit_url'"]


@pytest.mark.parametrize(
    "module",
    [sources, steps, cli],
    ids=lambda m: m.__name__,
)
def test_the_glue_names_no_exchange(module: object):
    assert exchange_names_in_code(Path(inspect.getfile(module))) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "frame", "kind"),
    [
        ("binance", b'{"stream":"ethusdt@aggTrade","data":{"e":"aggTrade"}}', "data"),
        ("binance", b'{"result":null,"id":1}', "reply"),
        (
            "binance",
            b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}',
            "shutdown",
        ),
        ("binance", b'{"e":"serverShutdown","E":1}', "shutdown"),
        ("binance", b'{"error":{"code":2,"msg":"Invalid request"},"id":2}', "error"),
        ("binance", b"<html>", "malformed"),
        ("upbit", b'{"type":"orderbook","code":"KRW-ETH","orderbook_units":[]}', "data"),
        ("upbit", b'{"status":"UP"}', "status"),
        ("upbit", b'{"error":{"name":"NO_TICKET","message":"x"}}', "error"),
        ("upbit", b"[1,2]", "malformed"),
    ],
)
def test_classify_tells_data_of_any_market_from_every_other_frame(
    name: str, frame: bytes, kind: str
):
    assert exchanges.get(name).classify(frame) == kind
