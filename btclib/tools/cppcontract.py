"""btcrec's copy of the contract, generated from btclib's own values: ``cpp/src/contract.hpp``.

btcrec (cpp/) is the student's C++ program: it builds and runs on its own, so it cannot
import these values at run time. Instead this module writes them into a header, each read
from the one place btclib writes it (the recorder's timings, the supervisor's rules, each
exchange module's limits, stall limits, line formats and hints); the header is committed, and
``tests/cpp/test_contract.py`` regenerates it and fails on any difference, and on a C++
source that still spells one of these values itself. When a value changes in Python, run
``python -m btclib.tools.cppcontract`` and commit the header with it.

Line formats are not copied as strings either: they are cut out of what btclib's own
formatting functions make of marker values, so a changed prefix reaches the header too.

This module (its imports, :func:`values`) is the only place that knows where the values
live in btclib; ``/work/tools/CONTRACT.md`` lists them.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from ..exchanges import binance, upbit
from ..feed import Limits
from ..files import sink
from ..recorder import supervisor
from ..recorder.continuity import Continuity
from ..recorder.options import TIMINGS

__all__ = ["HEADER", "main", "render", "values"]

HEADER = Path(__file__).resolve().parents[2] / "cpp" / "src" / "contract.hpp"
"""Where btcrec's build finds the generated header."""

TIMING_FIELDS = (
    "backoff_base", "backoff_cap", "open_timeout", "close_timeout", "check_interval",
    "rotate_before", "overlap_max", "rotation_retry", "max_refusals", "max_silent",
    "max_queued_bytes",
)  # fmt: skip
"""The recorder timings btcrec uses (the rest, progress and fsync, it has no use for)."""


def _between(text: bytes, before: bytes, after: bytes) -> str:
    """The bytes between two markers of a formatted line: a fixed piece of the format."""
    start = text.index(before) + len(before)
    return text[start : text.index(after, start)].decode()


def _binance() -> dict[str, Any]:
    symbol = binance.DEFAULT_MARKETS[0]
    speed = next(o.default for o in binance.OPTIONS if o.name == "depth_speed")
    depth, trade = binance.stream_names(symbol, speed)
    parser = binance.Parser(symbol, speed)
    book = binance.format_depth("S", b"<B>", b"<A>")
    deal = binance.format_trade("S", b"<P>", b"<Q>")
    feed = binance.feed(symbol, speed)
    streams = f"{depth} and {trade}"  # how the Python hint names them, replaced by a placeholder
    hint = feed.silence_hint.replace(streams, "{streams}").replace(f"'{symbol}'", "'{symbol}'")
    assert "{streams}" in hint and "{symbol}" in hint, hint
    return {
        "live_url": binance.LIVE_URL,
        "url_env": binance.URL_ENV,
        "default_symbol": symbol,
        "default_depth_speed": speed,
        "limits": binance.LIMITS,
        "depth_speeds": [
            (name, suffix, binance.DEPTH_STALL_AFTER[name])
            for name, suffix in binance.DEPTH_SPEEDS.items()
        ],
        "depth_stream": depth.removeprefix(symbol).removesuffix(binance.DEPTH_SPEEDS[speed]),
        "trade_stream": trade.removeprefix(symbol),
        "depth_key": parser.depth_key.removeprefix(symbol),
        "trade_key": parser.trade_key.removeprefix(symbol),
        "depth_head": _between(book, b"S", b"<B>"),
        "depth_middle": _between(book, b"<B>", b"<A>"),
        "trade_head": _between(deal, b"S", b"<P>"),
        "trade_middle": _between(deal, b"<P>", b"<Q>"),
        "status_hints": dict(binance.STATUS_HINTS),
        "silence_hint": hint,
    }


def _upbit() -> dict[str, Any]:
    code = upbit.DEFAULT_MARKETS[0]
    key = upbit.line_key(code)
    book = upbit.format_orderbook("K", b"<U>")
    quote, base = code.split("-")
    hint = upbit.feed([code]).silence_hint.replace(code, "{codes}")
    assert "{codes}" in hint, hint
    return {
        "live_url": upbit.LIVE_URL,
        "url_env": upbit.URL_ENV,
        "default_code": code,
        "limits": upbit.LIMITS,
        "keepalive_max": upbit.LIMITS.stall_after / 2,
        "watched_codes": upbit.WATCHED_CODES,
        "key": key.removeprefix(f"{base}{quote}".lower()),
        "head": _between(book, b"K", b"<U>"),
        "status_hints": dict(upbit.STATUS_HINTS),
        "silence_hint": hint,
    }


def values() -> dict[str, Any]:
    """Every value of the contract btcrec uses, read from where btclib writes it."""
    recent = inspect.signature(Continuity).parameters["recent"].default
    return {
        "timings": {name: getattr(TIMINGS, name) for name in TIMING_FIELDS},
        "rules": {
            "throttle_backoff_attempt": supervisor._THROTTLE_BACKOFF_ATTEMPT,
            "anomalies_logged": supervisor.ANOMALIES_LOGGED,
            "logged_every": supervisor.LOGGED_EVERY,
            "continuity_recent": recent,
        },
        "sink": {"flush_bytes": sink.FLUSH_BYTES},
        "retried_statuses": sorted(supervisor._RETRIED_STATUSES),
        "throttle_statuses": sorted(supervisor._THROTTLE_STATUSES),
        "binance": _binance(),
        "upbit": _upbit(),
    }


# Rendering: C++ spellings of Python values.


def _cpp(value: Any) -> str:
    if value is None:
        return "std::nullopt"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value), value
        return repr(value)
    if isinstance(value, str):
        out = []
        for ch in value:
            if ch in '"\\':
                out.append("\\" + ch)
            elif " " <= ch <= "~":
                out.append(ch)
            else:
                out.extend(f"\\x{b:02x}" for b in ch.encode())
        return '"' + "".join(out) + '"'
    raise TypeError(f"no C++ spelling for {value!r}")


def _limits(limits: Limits) -> str:
    items = asdict(limits)
    return "{" + ", ".join(_cpp(items[f.name]) for f in fields(Limits)) + "}"


def _hints(hints: dict[int, str]) -> list[str]:
    return [f"    {{{status}, {_cpp(text)}}}," for status, text in hints.items()]


def render(v: dict[str, Any] | None = None) -> str:
    """The header's text for the contract's values ``v`` (today's when not given)."""
    v = values() if v is None else v
    b, u = v["binance"], v["upbit"]
    types = {int: "int", float: "double"}
    limit_fields = "\n".join(f"    {_limit_type(f.type)} {f.name};" for f in fields(Limits))
    out = [
        "// GENERATED by `python -m btclib.tools.cppcontract` from btclib's own values:",
        "// do not edit. Change the value where btclib writes it (btclib/tools/cppcontract.py",
        "// says where), rerun the generator, commit both; tests/cpp/test_contract.py fails",
        "// when this file differs from what the generator writes, or when another C++ source",
        "// spells one of these values itself.",
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <optional>",
        "#include <string_view>",
        "",
        "namespace btcrec::contract {",
        "",
        "// What an exchange allows a client, how its server treats a connection (feed.Limits).",
        "struct Limits {",
        limit_fields,
        "};",
        "",
        "// Advice for an HTTP status of a refused handshake.",
        "struct Hint {",
        "    int status;",
        "    std::string_view text;",
        "};",
        "",
        "// The recorder's timings (btclib.recorder.options.TIMINGS).",
    ]
    for name, value in v["timings"].items():
        kind = "std::size_t" if name == "max_queued_bytes" else types[type(value)]
        out.append(f"inline constexpr {kind} {name} = {_cpp(value)};")
    out += ["", "// The data file (btclib.files.sink): a chunk goes to the writer at this size."]
    out += [f"inline constexpr std::size_t {k} = {_cpp(x)};" for k, x in v["sink"].items()]
    out += ["", "// The supervisor's rules (btclib.recorder.supervisor, continuity)."]
    for name, value in v["rules"].items():
        kind = "std::size_t" if name == "continuity_recent" else types[type(value)]
        out.append(f"inline constexpr {kind} {name} = {_cpp(value)};")
    for name in ("retried_statuses", "throttle_statuses"):
        items = ", ".join(map(str, v[name]))
        out.append(f"inline constexpr int {name}[] = {{{items}}};")
    out += [
        "",
        "namespace binance {  // btclib.exchanges.binance",
        "",
        "struct DepthSpeed {",
        '    std::string_view name, suffix;  // "100ms", "@100ms"',
        "    double stall_after;             // a book silent this long ends its connection, s",
        "};",
        "",
        f"inline constexpr std::string_view live_url = {_cpp(b['live_url'])};",
        f"inline constexpr const char* url_env = {_cpp(b['url_env'])};",
        f"inline constexpr std::string_view default_symbol = {_cpp(b['default_symbol'])};",
        "inline constexpr std::string_view default_depth_speed = "
        f"{_cpp(b['default_depth_speed'])};",
        f"inline constexpr Limits limits = {_limits(b['limits'])};",
        "inline constexpr DepthSpeed depth_speeds[] = {",
        *(f"    {{{_cpp(n)}, {_cpp(s)}, {_cpp(x)}}}," for n, s, x in b["depth_speeds"]),
        "};",
        "// Stream names: symbol + depth_stream + the speed's suffix, symbol + trade_stream.",
        f"inline constexpr std::string_view depth_stream = {_cpp(b['depth_stream'])};",
        f"inline constexpr std::string_view trade_stream = {_cpp(b['trade_stream'])};",
        '// Lines: symbol + head + the first bytes copied + middle + the second + "\\n".',
        f"inline constexpr std::string_view depth_key = {_cpp(b['depth_key'])};",
        f"inline constexpr std::string_view depth_head = {_cpp(b['depth_head'])};",
        f"inline constexpr std::string_view depth_middle = {_cpp(b['depth_middle'])};",
        f"inline constexpr std::string_view trade_key = {_cpp(b['trade_key'])};",
        f"inline constexpr std::string_view trade_head = {_cpp(b['trade_head'])};",
        f"inline constexpr std::string_view trade_middle = {_cpp(b['trade_middle'])};",
        "inline constexpr Hint status_hints[] = {",
        *_hints(b["status_hints"]),
        "};",
        '// {streams}: "<depth> and <trade>"; {symbol}: the symbol.',
        f"inline constexpr std::string_view silence_hint = {_cpp(b['silence_hint'])};",
        "",
        "}  // namespace binance",
        "",
        "namespace upbit {  // btclib.exchanges.upbit",
        "",
        f"inline constexpr std::string_view live_url = {_cpp(u['live_url'])};",
        f"inline constexpr const char* url_env = {_cpp(u['url_env'])};",
        f"inline constexpr std::string_view default_code = {_cpp(u['default_code'])};",
        f"inline constexpr Limits limits = {_limits(u['limits'])};",
        f"inline constexpr double keepalive_max = {_cpp(u['keepalive_max'])};",
        f"inline constexpr std::size_t watched_codes = {_cpp(u['watched_codes'])};",
        '// Lines: base + quote, lower case, + key, then head + the units array copied + "\\n".',
        f"inline constexpr std::string_view key = {_cpp(u['key'])};",
        f"inline constexpr std::string_view head = {_cpp(u['head'])};",
        "inline constexpr Hint status_hints[] = {",
        *_hints(u["status_hints"]),
        "};",
        "// {codes}: the codes, comma-separated.",
        f"inline constexpr std::string_view silence_hint = {_cpp(u['silence_hint'])};",
        "",
        "}  // namespace upbit",
        "",
        "}  // namespace btcrec::contract",
        "",
    ]
    return "\n".join(out)


def _limit_type(annotation: Any) -> str:
    """C++ type of a :class:`~btclib.feed.Limits` field (annotations are strings here)."""
    text = str(annotation).replace(" ", "")
    return {
        "int": "int",
        "float": "double",
        "int|None": "std::optional<int>",
        "float|None": "std::optional<double>",
    }[text]


def main(argv: list[str] | None = None) -> int:
    """Write the header (``--check``: only say whether the committed one is current)."""
    parser = argparse.ArgumentParser(prog="python -m btclib.tools.cppcontract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the header is stale")
    parser.add_argument("--out", type=Path, default=HEADER, help=f"default {HEADER}")
    args = parser.parse_args(argv)
    text = render()
    current = args.out.read_text() if args.out.exists() else None
    if args.check:
        if current != text:
            print(f"{args.out} is stale: run python -m btclib.tools.cppcontract", file=sys.stderr)
            return 1
        print(f"{args.out} is current")
        return 0
    if current != text:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        print(f"{args.out} is current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
