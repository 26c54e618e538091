"""Which file holds which lines: the events a run logs about the files of a set.

Why: with ``rotate`` or ``split`` (:mod:`btclib.files.rotation`) a run's lines are spread over
several files, and the events log is what says where. Line numbers and byte offsets in
these events are positions *in the file named beside them* (1-based lines), so each is
exact without reading the other files:

- ``start`` names the first file (``file``, ``offset``, ``line``) when rotating;
- ``rotate``: ``closed`` ended at ``end_offset``/``end_line``, ``file`` goes on from
  ``offset``/``line`` (``market`` too when split);
- ``file``: a market's file opened (split), from ``offset``/``line``;
- ``compressed``: ``file`` became ``gz`` (or ``compress_failed`` with the ``error``: the
  file stays whole, uncompressed);
- ``stop``: ``end_offset``/``end_line`` (and ``file``) of the last file; when split,
  ``files`` maps each file written to its ``end_offset`` and ``end_line``.

A plain recording's events stay as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .rotating import Compressed, RotatingSink, SplitSink, Switch
from .runs import count_lines
from .sink import LineSink

__all__ = ["FileEvents"]


class _Log(Protocol):
    def __call__(self, event: str, exchange: str = "", conn: int = 0, **fields: Any) -> None: ...


def _first_line(path: Path, offset: int) -> int:
    return 1 if offset == 0 else count_lines(path, offset) + 1


class FileEvents:
    """Hooks a sink's switches, openings and compressions to the events log ``log``
    (set once the log is open; events before are not logged) and keeps each file's
    first line number of this run."""

    def __init__(self, sink: LineSink | SplitSink) -> None:
        self.sink = sink
        self.log: _Log | None = None
        self.first: dict[Path, int] = {}
        """This run's first line number in each file it wrote."""
        if isinstance(sink, RotatingSink | SplitSink):
            sink.on_switch, sink.on_compressed = self.switched, self.compressed
        if isinstance(sink, SplitSink):
            sink.on_open = self.market_opened

    def opened(self, path: Path, line: int) -> None:
        self.first[path] = line

    def _log(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            self.log(event, **fields)

    def start_fields(self) -> dict[str, Any]:
        sink = self.sink
        if isinstance(sink, SplitSink):
            fields: dict[str, Any] = {"split": "market"}
            if sink.rotation is not None:
                fields["rotate"] = str(sink.rotation)
            return fields
        if isinstance(sink, RotatingSink):
            return {"file": str(sink.path), "rotate": str(sink.rotation)}
        return {}

    def stop_fields(self, plain_end_line: int) -> dict[str, Any]:
        sink = self.sink
        if isinstance(sink, SplitSink):
            files = {}
            for part in sink.sinks.values():
                files[str(part.path)] = {
                    "end_offset": part.size,
                    "end_line": self._end_line(part),
                }
            return {"end_offset": None, "end_line": None, "files": files}
        if isinstance(sink, RotatingSink):
            return {
                "end_offset": sink.size,
                "end_line": self._end_line(sink),
                "file": str(sink.path),
            }
        return {"end_offset": sink.size, "end_line": plain_end_line}

    def _end_line(self, sink: LineSink) -> int:
        lines = sink.file_lines if isinstance(sink, RotatingSink) else sink.lines
        return self.first.get(sink.path, 1) - 1 + lines

    def market_opened(self, market: str, sink: LineSink) -> None:
        line = _first_line(sink.path, sink.size)
        self.first[sink.path] = line
        self._log("file", market=market, file=str(sink.path), offset=sink.size, line=line)

    def switched(self, switch: Switch) -> None:
        line = _first_line(switch.opened, switch.offset)
        end_line = self.first.get(switch.closed, 1) - 1 + switch.lines
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

    def compressed(self, outcome: Compressed) -> None:
        if outcome.gz is not None:
            self._log("compressed", file=str(outcome.path), gz=str(outcome.gz))
        else:
            self._log("compress_failed", file=str(outcome.path), error=outcome.error)
