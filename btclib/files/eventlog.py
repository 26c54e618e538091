"""The events log: what happened during a run, beside its data file. Its one owner.

Why a log beside the data: the data file keeps the SPEC line format, so it cannot say where
it has holes, which source its lines came from, or which run wrote them; this log can. Data
files are appended to and notebooks re-run, so one log holds run after run.

Format (version 1). Path: beside the data file, its stem + ``.events.jsonl``
(``stream-data-binance.txt`` -> ``stream-data-binance.events.jsonl``, :func:`events_path`);
a rotated or split set has one log, its base's (:func:`log_of` finds it from any file of
the set). One JSON object a line, UTF-8, ``\\n``-terminated, appended. Every record has

- ``time``: wall clock, seconds since the epoch (6 decimals); ``event``: its kind;
- ``exchange`` and ``conn`` (connection id, from 1 within a run) when it concerns one.

The records, by ``event``:

- ``start`` (one per run, first): ``format`` (``"btclib-events"``) and ``version``
  (:data:`VERSION`; absent in logs written before it), ``path`` (the data file or the
  set's base), ``duration`` (s or null), ``feeds`` (``exchange``, ``url``, ``streams``),
  ``sources`` (exchange -> ``live``/``simulator``/``simulator replay``), ``reasons`` (why
  the simulator stood in), ``seed``, ``offset``/``line`` (byte and 1-based line number at
  which this run's lines start; null when split), and when rotating ``file`` (the first
  file) and ``rotate`` (``daily`` or ``<n>B``), when split ``split`` (``market``);
- connections (with ``exchange``/``conn``): ``connected`` (``url``), ``subscribed``
  (``requests``), ``closed`` (``cause``), ``connect_failed`` (``url``, ``error``,
  ``retry_in``), ``connect_budget`` (``wait``), ``reconnect`` (``retry_in``), ``rotate``
  (a connection's planned replacement: ``reason``), ``rotated`` (``replaced``),
  ``rotate_failed`` (``cause``), ``silent`` (``seconds``), ``stall`` (``stream``,
  ``seconds``), ``anomaly`` (``stream``, ``id``, ``after``, ``count``), ``error``
  (``error``: what stopped the run);
- frames that are not data (``detail``): ``bad_frame``, ``unexpected``,
  ``server_shutdown`` (``reply`` and ``status`` are logged at debug level, not written);
- ``gap`` (``exchange``; ``start``/``end`` wall-clock s, ``cause``, ``missed``: trades
  missed per stream, ...: :mod:`btclib.recorder.gaps`);
- files of a set, no ``exchange`` (:class:`FileEvents`; lines and offsets are positions
  in the file named beside them): ``rotate`` (``closed`` ended at ``end_offset``/
  ``end_line``; ``file`` goes on from ``offset``/``line``; ``market`` when split),
  ``file`` (a market's file opened: ``market``, ``file``, ``offset``, ``line``),
  ``compressed`` (``file`` -> ``gz``), ``compress_failed`` (``file``, ``error``);
- ``lines_dropped`` (``count``, ``why``), ``records_skipped`` (``count``, ``records``:
  the first 100 as ``line``/``size``, ``why``): before ``stop``, when any;
- ``clock`` (between ``start`` and ``stop``, every few minutes: :mod:`btclib.quality.clock`):
  ``local`` (the OS's own clock state: synchronised, maximum and estimated error) and
  ``exchanges`` (each one's offset from a round trip, with the round trip as its bound);
- ``backfill`` (after a run, :mod:`btclib.quality.backfill`): ``exchange``, ``stream``,
  ``first``/``last`` (the id range asked for), ``count`` (trades healed), ``file`` (the
  sidecar), ``unavailable`` (id ranges the exchange no longer had);
- when publishing (:mod:`btclib.broker`): ``broker`` (the stream and subjects),
  ``broker_down`` (``why``, ``spooled``), ``broker_up`` (``down_s``, ``spooled``,
  ``resent``), ``broker_resend`` (a restarted recorder's spool), ``broker_behind`` and
  ``broker_spool_full``;
- ``stop`` (one per run, last): ``stopped`` (why), ``lines`` (per stream), ``elapsed``
  (s), ``end_offset``/``end_line`` (of the last file; null when split), ``file`` when
  rotating, ``files`` when split (each file -> ``end_offset`` and ``end_line``).

A run without a ``stop`` was killed. Readers skip lines that are not JSON objects or longer
than :data:`MAX_EVENT_BYTES` (damage), and ignore fields they do not know.
:func:`events` reads a log back; :mod:`btclib.files.runs` makes runs of it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..feed import Feed
from .linereader import Skipped, read_lines
from .rotation import Compressed, Switch, set_base

__all__ = [
    "FORMAT",
    "MAX_EVENT_BYTES",
    "VERSION",
    "EventLog",
    "EventTap",
    "FileEvents",
    "append",
    "count_lines",
    "events",
    "events_path",
    "first_line_number",
    "log_of",
]

FORMAT = "btclib-events"
VERSION = 1
MAX_EVENT_BYTES = 1 << 20
"""An events-log line longer than this is damage, not an event: skipped unread."""

_CHUNK = 1 << 20

logger = logging.getLogger("btclib")


# The path rule.


def events_path(path: str | Path) -> Path:
    """The events log beside a data file: ``stream-data-binance.events.jsonl``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.events.jsonl")


def log_of(path: str | Path) -> Path:
    """The events log of a data file, or of the set it belongs to."""
    own = events_path(path)
    if own.exists():
        return own
    return events_path(set_base(path))


# Writing.


class EventTap(Protocol):
    """Also receives every event that concerns an exchange (a capture keeps them:
    :class:`btclib.files.capture.CaptureWriter`)."""

    def event(self, exchange: str, conn: int, event: str, **fields: Any) -> None: ...


class EventLog:
    """The writer: appends one record a call (``log("connected", "binance", 1, url=...)``),
    and logs it to the ``btclib`` logger. ``path`` None: logged only."""

    def __init__(self, path: Path | None, tap: EventTap | None = None) -> None:
        self.path = path
        self._tap = tap
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Binary: a text-mode file would end each line with \r\n on Windows.
            self._file = path.open("ab")

    def __call__(self, event: str, exchange: str = "", conn: int = 0, **fields: Any) -> None:
        record = _record(event, exchange, conn, fields)
        level = logging.DEBUG if event in ("reply", "status") else logging.INFO
        logger.log(level, "%s", json.dumps(record, ensure_ascii=False))
        if self._file is not None and level > logging.DEBUG:
            self._file.write(_encoded(record))
            self._file.flush()
        if self._tap is not None and exchange:
            self._tap.event(exchange, conn, event, **fields)

    def start(
        self, path: Path, feeds: Sequence[Feed], run: dict[str, Any], files: dict[str, Any]
    ) -> None:
        """The ``start`` record: ``run`` holds ``duration``, ``sources``, ``reasons`` and
        ``seed``; ``files`` the sink's :meth:`~btclib.files.sink.Sink.start_fields`."""
        self(
            "start",
            format=FORMAT,
            version=VERSION,
            path=str(path),
            duration=run.get("duration"),
            feeds=[
                {"exchange": f.exchange, "url": f.url, "streams": list(f.streams)} for f in feeds
            ],
            sources=run.get("sources"),
            reasons=run.get("reasons"),
            seed=run.get("seed"),
            **files,
        )

    def lost(self, dropped: int, skipped: list[dict[str, int]]) -> None:
        """``lines_dropped`` and ``records_skipped``, before ``stop``, when any (``skipped``:
        the source's damaged records as ``line``/``size``)."""
        if dropped:
            self("lines_dropped", count=dropped, why="writer queue full")
        if skipped:
            self(
                "records_skipped",
                count=len(skipped),
                records=skipped[:100],
                why="damaged, or longer than the recorder's frame limit",
            )

    def stop(
        self, stopped: str, lines: dict[str, int], elapsed: float, files: dict[str, Any]
    ) -> None:
        """The ``stop`` record; ``files``: the sink's
        :meth:`~btclib.files.sink.Sink.stop_fields`."""
        self("stop", stopped=stopped, lines=lines, elapsed=round(elapsed, 3), **files)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _record(event: str, exchange: str, conn: int, fields: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"time": round(time.time(), 6), "event": event}
    if exchange:
        record["exchange"] = exchange
    if conn:
        record["conn"] = conn
    record.update(fields)
    return record


def _encoded(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def append(path: Path, event: str, exchange: str = "", **fields: Any) -> None:
    """Append one record from outside a run's :class:`EventLog` (the clock ledger while it
    runs, the backfill after it): one whole line in one ``O_APPEND`` write, so it cannot
    interleave with the run's own records."""
    with path.open("ab") as f:
        f.write(_encoded(_record(event, exchange, 0, fields)))


class FileEvents:
    """The events a sink's files make (:class:`~btclib.files.sink.FileReport`): where each
    file's lines of this run begin, switches, market files, compressions.

    ``log`` is set once the log is open (events before are not logged). It keeps each
    file's first line number of this run, so that each end line is exact without
    reading the file.
    """

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.log: EventLog | None = None
        self.first: dict[Path, int] = {}
        """This run's first line number in each file it wrote."""
        self.on_closed: Callable[[Path], None] | None = None
        """Called on the loop with each file a switch closed, once its ``rotate`` event is
        logged (btclib.quality writes the file's report card beside it)."""

    def _log(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            self.log(event, **fields)

    def started(self, path: Path, offset: int) -> int:
        line = first_line_number(path, offset, self.log_path)
        self.first[path] = line
        return line

    def opened(self, market: str, path: Path, offset: int) -> None:
        line = _first_line(path, offset)
        self.first[path] = line
        self._log("file", market=market, file=str(path), offset=offset, line=line)

    def switched(self, switch: Switch) -> None:
        line = _first_line(switch.opened, switch.offset)
        end_line = self.end_line(switch.closed, switch.lines)
        self.first[switch.opened] = line
        fields: dict[str, Any] = {"market": switch.market} if switch.market else {}
        self._log(
            "rotate",
            closed=str(switch.closed),
            end_offset=switch.end_offset,
            end_line=end_line,
            file=str(switch.opened),
            offset=switch.offset,
            line=line,
            **fields,
        )
        if self.on_closed is not None:
            self.on_closed(switch.closed)

    def compressed(self, outcome: Compressed) -> None:
        if outcome.gz is not None:
            self._log("compressed", file=str(outcome.path), gz=str(outcome.gz))
        else:
            self._log("compress_failed", file=str(outcome.path), error=outcome.error)

    def end_line(self, path: Path, lines: int) -> int:
        return self.first.get(path, 1) - 1 + lines


def _first_line(path: Path, offset: int) -> int:
    return 1 if offset == 0 else count_lines(path, offset) + 1


# Reading.


def events(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a log, oldest first; damaged or overlong lines are skipped unread."""
    if not Path(path).exists():
        return
    for line in read_lines(path, MAX_EVENT_BYTES):
        if isinstance(line, Skipped):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def count_lines(path: str | Path, end: int) -> int:
    """Lines in the first ``end`` bytes of ``path`` (1 MB at a time: memory stays flat)."""
    count, left = 0, end
    with open(path, "rb") as f:
        while left > 0:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count


def first_line_number(path: Path, offset: int, log: Path | None) -> int:
    """The number (1-based) of the line that will be written at byte ``offset``.

    The previous run's ``stop`` record says it when the file has not changed
    since; otherwise the file is counted.
    """
    if offset == 0:
        return 1
    last_stop = None
    if log is not None:
        for event in events(log):
            if event.get("event") == "stop":
                last_stop = event
    same_file = last_stop is not None and last_stop.get("file", str(path)) == str(path)
    if last_stop is not None and same_file and last_stop.get("end_offset") == offset:
        return int(last_stop.get("end_line", 0)) + 1
    return count_lines(path, offset) + 1
