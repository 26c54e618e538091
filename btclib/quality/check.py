"""``btclib.check(FILE)``: the quality report card from the files a recording left.

Read, each where present: the line file (or the rotated or split set it names,
:func:`btclib.files.rotation.set_files`): books crossed, locked, disordered or
one-sided, lines per stream; the events log (:mod:`btclib.files.runs`): the
runs, time connected, gaps with their causes and the trade ids they cost,
stalls; the capture (:mod:`btclib.files.capture`): every trade id, every
``lastUpdateId``, every receive time (rates, latency against the exchange's
own time); the backfill sidecar and its events (ids healed). Nothing here
writes to the recording; :meth:`Card.write` writes the card where asked.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exchanges import EXCHANGES
from ..files.capture import frames
from ..files.linereader import Skipped, read_lines
from ..files.rotation import set_base, set_files
from ..files.runs import Run, events, events_path, read_runs
from .card import Card, Finding, Gap, Hole, Latency, RunCard, StreamCard
from .rules import (
    RateRules,
    book_faults,
    latency,
    rate_findings,
    rate_series,
    trade_holes,
    update_id_backwards,
)

__all__ = ["BACKFILL_SUFFIX", "backfill_path", "check"]

BACKFILL_SUFFIX = ".backfill.txt"
_LINE_LIMIT = 64 << 20


def backfill_path(path: str | Path) -> Path:
    """The sidecar of trades fetched after the fact: ``stream-data-binance.backfill.txt``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".gz").removesuffix(".txt") + BACKFILL_SUFFIX)


@dataclass
class _Stream:
    """What was read of one stream of one run, before the rules judge it."""

    exchange: str = ""
    lines: int = 0
    book_faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    times: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    seq_times: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    contiguous: bool = False


def _exchange_of_line(line: bytes) -> tuple[str, str, Any] | None:
    """(exchange, stream key, record) of a data line, by each exchange's own reader."""
    key = line.split(b",", 1)[0].decode("utf-8", "replace")
    for name, module in EXCHANGES.items():
        record = module.read_line(line)
        if record is not None:
            return name, key, record
    return None


class _Reader:
    def __init__(self, path: Path, capture: Path | None, rules: RateRules) -> None:
        self.path = path
        self.capture = capture
        self.rules = rules
        base = set_base(path)
        gz = path.with_name(path.name + ".gz")
        if path != base and (path.exists() or gz.exists()):  # one file of a set: that file
            self.files = [path if path.exists() else gz]
        else:
            self.files = set_files(base) or ([path] if path.exists() else [])
        own = events_path(path)
        self.log = own if own.exists() else events_path(base)
        self.runs: list[Run] = read_runs(path) if self.log.exists() else []
        self.events = list(events(self.log)) if self.log.exists() else []

    # which run a line or a frame belongs to

    def _spans(self) -> dict[str, list[tuple[int, int, int]]]:
        """Per file: (first line, last line, run index) of each run that wrote into it."""
        spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        single = str(self.files[0]) if len(self.files) == 1 else None
        for index, run in enumerate(self.runs):
            if run.files:
                for s in run.files:
                    last = s.last_line if s.last_line is not None else 1 << 62
                    spans[s.file].append((s.first_line or 1, last, index))
                    if s.compressed:
                        spans[s.compressed].append((s.first_line or 1, last, index))
            elif single is not None:
                last = run.last_line if run.last_line is not None else 1 << 62
                spans[single].append((run.first_line or 1, last, index))
        return spans

    def read_lines(self, streams: list[dict[str, _Stream]]) -> None:
        spans = self._spans()
        for file in self.files:
            mine = sorted(spans.get(str(file), [])) or [(1, 1 << 62, 0)]
            number = 0
            for line in read_lines(file, _LINE_LIMIT):
                number += 1
                if isinstance(line, Skipped):
                    continue
                index = next((i for a, b, i in mine if a <= number <= b), None)
                if index is None or index >= len(streams):
                    continue
                read = _exchange_of_line(line)
                if read is None:
                    continue
                exchange, key, record = read
                s = streams[index][key]
                s.exchange = exchange
                s.lines += 1
                bids = getattr(record, "bids", None)
                if bids is not None:
                    for fault in book_faults(bids, record.asks):
                        s.book_faults[fault].append(number)

    def read_capture(self, streams: list[dict[str, _Stream]]) -> None:
        assert self.capture is not None
        bounds = [
            (r.started - 1.0, r.started + (r.duration if r.duration is not None else 1e12) + 5.0)
            for r in self.runs
        ] or [(0.0, 1e18)]
        for frame in frames(self.capture):
            module = EXCHANGES.get(frame.exchange)
            facts_of = getattr(module, "frame_facts", None)
            if facts_of is None:
                continue
            facts = facts_of(frame.data)
            if facts is None:
                continue
            t = frame.wall_ns / 1e9
            index = next((i for i, (a, b) in enumerate(bounds) if a <= t <= b), None)
            if index is None or index >= len(streams):
                continue
            s = streams[index][facts.stream]
            s.exchange = frame.exchange
            s.times.append(t)
            s.contiguous = s.contiguous or facts.contiguous
            if facts.seq is not None:
                s.seqs.append(facts.seq)
                s.seq_times.append(t)
            if facts.sent is not None:
                s.latencies.append(t - facts.sent)


def _run_events(all_events: list[dict[str, Any]], runs: list[Run]) -> list[list[dict[str, Any]]]:
    """The events log cut into runs at each ``start``."""
    out: list[list[dict[str, Any]]] = []
    for event in all_events:
        if event.get("event") == "start":
            out.append([])
        if out:
            out[-1].append(event)
    return out[: len(runs)] if runs else out


def _connected(evs: list[dict[str, Any]], exchange: str, end: float) -> float:
    """Seconds ``exchange`` had a connection open (overlapping connections counted once)."""
    opened: dict[int, float] = {}
    spans = []
    for e in evs:
        if e.get("exchange") != exchange:
            continue
        if e.get("event") == "connected":
            opened[int(e.get("conn", 0))] = float(e["time"])
        elif e.get("event") == "closed" and int(e.get("conn", 0)) in opened:
            spans.append((opened.pop(int(e.get("conn", 0))), float(e["time"])))
    spans += [(t, end) for t in opened.values()]
    total, reach = 0.0, float("-inf")
    for a, b in sorted(spans):
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def _healed(evs: list[dict[str, Any]], stream: str) -> list[tuple[int, int]]:
    """Id ranges the backfill brought back for ``stream`` (``backfill`` events, less the
    ids the exchange no longer had)."""
    out: list[tuple[int, int]] = []
    for e in evs:
        if e.get("event") != "backfill" or e.get("stream") != stream or "first" not in e:
            continue
        start = int(e["first"])
        for a, b in sorted((int(a), int(b)) for a, b in e.get("unavailable") or []):
            if a > start:
                out.append((start, a - 1))
            start = b + 1
        if start <= int(e["last"]):
            out.append((start, int(e["last"])))
    return out


def _judge(
    key: str,
    s: _Stream,
    evs: list[dict[str, Any]],
    run: Run | None,
    have_capture: bool,
    rules: RateRules,
    healed: Sequence[tuple[int, int]] = (),
) -> StreamCard:
    exchange = s.exchange or next(
        (e.get("exchange", "") for e in evs if key in (e.get("missed") or {})), ""
    )
    card = StreamCard(key, exchange, s.lines)
    started = run.started if run is not None else (s.times[0] if s.times else None)
    duration = run.duration if run is not None else None
    end = (started + duration) if started is not None and duration is not None else None
    if run is not None and end is not None and started is not None:
        card.recorded_s = round(duration or 0.0, 3)
        card.connected_s = round(min(_connected(evs, exchange, end), duration or 0.0), 3)
        card.coverage = round(card.connected_s / duration, 4) if duration else None
    # gaps and the trade ids they cost, as the recorder logged them
    numbered_by_log = False
    excluded: list[tuple[float, float]] = []
    for e in evs:
        if e.get("event") == "gap" and e.get("exchange") == exchange:
            missed = e.get("missed") or {}
            numbered_by_log = numbered_by_log or key in missed
            gap = Gap(
                e.get("start"), e.get("end"), str(e.get("cause", "")), int(missed.get(key, 0))
            )
            card.gaps.append(gap)
            if gap.start is not None and gap.end is not None:
                excluded.append((float(gap.start), float(gap.end)))
        elif e.get("event") == "stall" and e.get("exchange") == exchange and e.get("stream") == key:
            at, limit = float(e["time"]), float(e.get("seconds", 0.0))
            excluded.append((at - limit, at + 1.0))
            card.findings.append(
                Finding("silence", 1, _hms(at - limit), f"no message for over {limit:g} s "
                        "(the stall limit): the recorder reconnected", at - limit, at)
            )  # fmt: skip
    # trade continuity
    if have_capture and s.seqs and (numbered_by_log or s.contiguous):
        card.numbered, card.ids_from = True, "capture"
        present, expected, holes = trade_holes(s.seqs, s.seq_times)
        card.ids_present, card.ids_expected, card.holes = present, expected, holes
    elif numbered_by_log:
        card.numbered, card.ids_from = True, "events log"
        holes = [
            hole
            for e in evs
            if e.get("event") == "gap" and int((e.get("missed") or {}).get(key, 0)) > 0
            for hole in _log_holes(e, key)
        ]
        card.holes = holes
        card.ids_present = s.lines
        card.ids_expected = s.lines + sum(h.count for h in holes)
    for hole in card.holes:
        if hole.first is not None and hole.last is not None:
            hole.healed = sum(max(0, min(hole.last, b) - max(hole.first, a) + 1) for a, b in healed)
    card.healed_ids = sum(h.healed for h in card.holes)
    card.missing_ids = sum(h.count - h.healed for h in card.holes)
    # books
    for kind, numbers in s.book_faults.items():
        card.findings.append(
            Finding(kind, len(numbers), f"line {numbers[0]:,}", _book_detail(kind))
        )
    if have_capture and s.seqs and not card.numbered:
        back = update_id_backwards(s.seqs)
        if back:
            card.findings.append(
                Finding("update_id_backwards", len(back), _hms(s.seq_times[back[0]]),
                        f"lastUpdateId {s.seqs[back[0] - 1]} then {s.seqs[back[0]]}")
            )  # fmt: skip
    # rates and latency (receive times: the capture), against the clock ledger
    ledger = _ledger(evs, exchange)
    raw = latency(s.latencies)
    if have_capture and s.times:
        span = (started, end) if started is not None and end is not None else None
        times = sorted(s.times)
        card.rate_per_min, collapses = rate_findings(times, rules, excluded, span)
        card.rates = rate_series(times, rules.bin_s, span or (times[0], times[-1]))
        card.findings += collapses
        if ledger is None:
            card.latency = raw
        else:  # corrected by the exchange's measured offset, with the ledger's bound
            offset, bound, _ = ledger
            card.latency = latency([v + offset for v in s.latencies], bound_s=bound)
    clock = _clock_finding(raw, ledger, s.latencies)
    if clock is not None:
        card.findings.append(clock)
    if not have_capture:
        card.notes.append("rates and latency need the capture (the line file has no times)")
    if card.gaps and not card.numbered and exchange:
        card.notes.append(f"{exchange} books cannot be backfilled: no exchange serves past books")
    card.decide()
    return card


def _log_holes(event: dict[str, Any], key: str) -> list[Hole]:
    """The holes a ``gap`` record names: each id range, or one of unknown ids (older logs)."""
    start, end = event.get("start"), event.get("end")
    ranges = (event.get("ids") or {}).get(key)
    if not ranges:
        return [Hole(None, None, int(event["missed"][key]), start, end)]
    return [Hole(int(a), int(b), int(b) - int(a) + 1, start, end) for a, b in ranges]


CLOCK_TOLERANCE_S = 0.010
"""An exchange clock offset beyond its bound by more than this is named (10 ms: below it,
latencies are not worth correcting)."""


def _ledger(evs: list[dict[str, Any]], exchange: str) -> tuple[float, float, dict[str, Any]] | None:
    """The exchange's clock offset (median of the run's ``clock`` entries), its bound,
    and this machine's clock state, or None when the ledger has no entry for it."""
    offsets, bounds, local = [], [], {}
    for e in evs:
        if e.get("event") != "clock":
            continue
        for x in e.get("exchanges") or []:
            if x.get("exchange") == exchange and "offset_s" in x:
                offsets.append(float(x["offset_s"]))
                bounds.append(float(x["bound_s"]))
                local = e.get("local") or local
    if not offsets:
        return None
    return statistics.median(offsets), statistics.median(bounds), local


def _clock_finding(
    raw: Latency | None, ledger: tuple[float, float, dict[str, Any]] | None, values: list[float]
) -> Finding | None:
    """A clock problem, and whose clock it is when the ledger can tell."""
    negative = raw.negative if raw is not None else 0
    if ledger is None:
        if not negative:
            return None
        return Finding(
            "clock", negative, "the whole run",
            f"{negative} of {raw.count} messages received before the exchange's own time "  # type: ignore[union-attr]
            f"(down to {_lowest(values):.1f} ms): the exchange's clock is ahead of this "
            "machine's, or this machine's is behind (no clock ledger to tell which)",
        )  # fmt: skip
    offset, bound, local = ledger
    if not negative and abs(offset) <= bound + CLOCK_TOLERANCE_S:
        return None
    side = "ahead of" if offset > 0 else "behind"
    if local.get("synced"):
        whose = (
            f"this machine's clock is synchronised (adjtimex, estimated error "
            f"{local.get('est_error_s', 0) * 1000:.1f} ms): the exchange's clock is off"
        )
    elif local.get("source"):
        whose = (
            "this machine's clock is not synchronised (adjtimex): it may be the one off, "
            f"by up to {local.get('max_error_s', 0):g} s"
        )
    else:
        whose = "the OS does not say how good this machine's clock is"
    counted = (
        f"{negative} of {raw.count} messages received before their exchange time; "
        if raw and negative
        else ""
    )
    return Finding(
        "clock", max(negative, 1), "the whole run",
        f"{counted}the exchange's clock is {abs(offset):.3f} s {side} this machine's "
        f"(+-{bound * 1000:.1f} ms, round trips); {whose}",
    )  # fmt: skip


def _book_detail(kind: str) -> str:
    return {
        "crossed": "best bid above the best ask",
        "locked": "best bid equal to the best ask",
        "out_of_order": "levels not sorted from the touch outwards",
        "empty_side": "a side without a level",
    }.get(kind, "")


def _lowest(values: list[float]) -> float:
    return min(values) * 1000.0


def _hms(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def check(
    path: str | Path,
    *,
    capture: str | Path | None = None,
    rules: RateRules | None = None,
) -> Card:
    """The report card of data file ``path`` (or the set it names) with its events log,
    ``capture`` (every frame with its receive time) when given, and the backfill sidecar."""
    path = Path(path)
    rules = rules or RateRules()
    reader = _Reader(path, Path(capture) if capture is not None else None, rules)
    if not reader.files and not reader.runs:
        raise FileNotFoundError(f"no data file {path} (nor a set of files named by it)")
    count = max(1, len(reader.runs))
    streams: list[dict[str, _Stream]] = [defaultdict(_Stream) for _ in range(count)]
    reader.read_lines(streams)
    if reader.capture is not None:
        reader.read_capture(streams)
    per_run = _run_events(reader.events, reader.runs)
    sidecar = backfill_path(set_base(path))
    card = Card(
        str(path),
        [str(f) for f in reader.files],
        str(reader.log) if reader.log.exists() else None,
        str(reader.capture) if reader.capture is not None else None,
        backfill=str(sidecar) if sidecar.exists() else None,
    )
    for index in range(count):
        run = reader.runs[index] if index < len(reader.runs) else None
        evs = per_run[index] if index < len(per_run) else []
        run_card = RunCard(
            index + 1,
            run.started if run else None,
            run.duration if run else None,
            dict(run.sources) if run else {},
        )
        names = list(run.lines) if run is not None and run.lines else []
        names += [k for k in streams[index] if k not in names]
        for key in names:
            run_card.streams.append(
                _judge(
                    key,
                    streams[index][key],
                    evs,
                    run,
                    reader.capture is not None,
                    rules,
                    _healed(reader.events, key),  # a backfill may come long after its run
                )
            )
        if run is not None and run.duration is None:
            run_card.notes.append("no stop event: the recorder was killed?")
        card.runs.append(run_card)
    return card
