"""btcrec's numbers and line formats are btclib's: ``cpp/src/contract.hpp`` is what
``python -m btclib.tools.cppcontract`` writes from btclib's own values today, and no other C++
source spells one of those values itself (so a value changed in Python cannot leave a stale
copy in C++)."""

from __future__ import annotations

import copy
import re
from typing import Any

from btclib.tools import cppcontract

SOURCES = cppcontract.HEADER.parent
ALLOW = "// not the contract:"
"""A line carrying this comment may hold a number equal to a contract value by coincidence
(the comment says what the number is instead)."""


def test_the_committed_header_is_what_the_generator_writes_from_btclib_today():
    assert cppcontract.HEADER.read_text() == cppcontract.render(), (
        "cpp/src/contract.hpp is stale: run python -m btclib.tools.cppcontract and commit it"
    )


def test_a_value_changed_in_python_changes_the_header():
    today = cppcontract.values()
    changed = copy.deepcopy(today)
    changed["timings"]["backoff_cap"] = 31.5
    changed["binance"]["trade_head"] = "@trade,p:"
    text = cppcontract.render(changed)
    assert text != cppcontract.render(today)
    assert "backoff_cap = 31.5;" in text and 'trade_head = "@trade,p:";' in text


def test_the_header_carries_the_values_the_issue_names():
    text = cppcontract.HEADER.read_text()
    for name in (
        "backoff_base", "backoff_cap", "rotate_before", "overlap_max", "open_timeout",
        "throttle_backoff_attempt", "anomalies_logged", "continuity_recent", "flush_bytes",
        "depth_speeds", "depth_head", "trade_head", "trade_middle", "keepalive_max",
        "watched_codes", "status_hints", "silence_hint", "Limits limits",
    ):  # fmt: skip
        assert f" {name}" in text, name
    # The line formats come from btclib's formatting functions, not a copy of them.
    assert 'depth_head = "@orderbook,bids:"' in text and 'trade_middle = ",q:"' in text


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flatten(v)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flatten(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [x for name in value.__dataclass_fields__ for x in _flatten(getattr(value, name))]
    return [value]


_TOKENS = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.DOTALL)
_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[uUlLfF]*(?![\w.])")


def spelled(source: str) -> tuple[list[tuple[int, float, bool]], list[tuple[int, str]]]:
    """Numbers in code (value, and whether spelled as a float) and the texts of string
    literals, with their line numbers; comments and lines marked with ALLOW are left out."""
    numbers: list[tuple[int, float, bool]] = []
    strings: list[tuple[int, str]] = []
    allowed = {n for n, line in enumerate(source.splitlines(), 1) if ALLOW in line}
    pos = 0
    for m in [*_TOKENS.finditer(source), None]:
        code = source[pos : m.start() if m else len(source)]
        first = source.count("\n", 0, pos) + 1
        for num in _NUMBER.finditer(code):
            line = first + code.count("\n", 0, num.start())
            if line not in allowed:
                text = num.group().rstrip("uUlLfF")
                numbers.append((line, float(text), not text.isdigit()))
        if m is None:
            break
        if m.group().startswith('"'):
            line = source.count("\n", 0, m.start()) + 1
            if line not in allowed:
                strings.append((line, m.group()[1:-1].encode().decode("unicode_escape")))
        pos = m.end()
    return numbers, strings


def test_spelled_finds_numbers_and_strings_but_not_comments():
    numbers, strings = spelled('x = 30.0; // 600\ny = "@trade, p:" + 5u; /* 7 */ z = 1e3;\n')
    assert numbers == [(1, 30.0, True), (2, 5.0, False), (2, 1000.0, True)]
    assert strings == [(2, "@trade, p:")]


def test_no_cpp_source_spells_a_contract_value_itself():
    every = _flatten(cppcontract.values())
    # Any number spelled as a float (timings, limits in seconds); as an integer, those of
    # three digits or more (statuses, budgets, sizes): smaller integers are byte offsets,
    # lengths and bases in parsing code.
    values = {float(v) for v in every if type(v) in (int, float)}
    big = {v for v in values if v >= 100}
    texts = {v for v in every if isinstance(v, str) and len(v) >= 3}
    found = []
    for path in sorted(SOURCES.glob("*.[ch]pp")):
        if path == cppcontract.HEADER:
            continue
        nums, strs = spelled(path.read_text())
        found += [
            f"{path.name}:{line}: {value:g}"
            for line, value, is_float in nums
            if value in (values if is_float else big)
        ]
        found += [
            f"{path.name}:{line}: {text!r} holds {value!r}"
            for line, text in strs
            for value in texts
            if value in text
        ]
    assert found == [], "spell these through contract.hpp (or mark a coincidence with " + ALLOW
