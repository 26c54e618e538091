"""Duplicates and holes in a numbered stream: pure bookkeeping, no I/O.

Binance numbers its messages: trade ids grow by exactly one per trade of a
symbol, and each depth snapshot carries the ``lastUpdateId`` of the book it
shows. While two connections overlap (the make-before-break rotation before
Binance's 24 h cut) both deliver the same messages; after a drop, the trades
sent while we were away are missing. :class:`Continuity` tells, per message,
whether to write it, and keeps the list of holes so a data file can explain
its own gaps.

The rule is narrow on purpose: a message is dropped only when the same id was
already WRITTEN, by another connection. A guess ("at or below the highest id
seen, so it must be a copy") would cost data on a live feed; so on a single
connection nothing is ever dropped, and an id that goes backwards is written
and kept as an :class:`Anomaly` for the events log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Anomaly", "Continuity", "Hole"]


@dataclass(slots=True)
class Hole:
    """Ids ``first..last`` (inclusive) that never arrived, minus late fill-ins."""

    first: int
    last: int
    filled: set[int] = field(default_factory=set)

    @property
    def missing(self) -> int:
        return self.last - self.first + 1 - len(self.filled)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Connection ``conn`` sent id ``seq`` after the stream had reached ``after``: written."""

    seq: int
    after: int
    conn: int


class Continuity:
    """Write each numbered message unless another connection already wrote that id.

    ``contiguous`` streams (trade ids) must grow by one: a jump opens a
    :class:`Hole` of known size, and an id inside a hole fills it. Other
    streams (``lastUpdateId``) only grow, by any step. Which connection wrote
    each id is remembered for the last ``2 * recent`` ids at least (two
    generations of ``recent``): the overlap of a rotation lasts seconds.
    """

    __slots__ = (
        "anomalies",
        "contiguous",
        "duplicates",
        "holes",
        "last",
        "older",
        "recent",
        "written",
    )

    def __init__(self, contiguous: bool, recent: int = 4096) -> None:
        self.contiguous = contiguous
        self.last: int | None = None
        self.duplicates = 0
        self.holes: list[Hole] = []
        self.anomalies: list[Anomaly] = []
        self.recent = recent
        self.written: dict[int, int] = {}
        """Id -> the connection that wrote it, newest generation."""
        self.older: dict[int, int] = {}

    def accept(self, seq: int, conn: int = 0) -> bool:
        """True when the message (id ``seq``, from connection ``conn``) must be written."""
        last = self.last
        if last is None or seq > last:
            if self.contiguous and last is not None and seq > last + 1:
                self.holes.append(Hole(last + 1, seq - 1))
            self.last = seq
            written = self.written  # the hot path: inline, no method call
            written[seq] = conn
            if len(written) >= self.recent:
                self.older, self.written = written, {}
            return True
        writer = self.written.get(seq)
        if writer is None:
            writer = self.older.get(seq)
        if writer is not None and writer != conn:
            self.duplicates += 1
            return False
        if not self._fills_hole(seq):
            self.anomalies.append(Anomaly(seq, last, conn))
        self._remember(seq, conn)
        return True

    def _remember(self, seq: int, conn: int) -> None:
        written = self.written
        written[seq] = conn
        if len(written) >= self.recent:
            self.older, self.written = written, {}

    def _fills_hole(self, seq: int) -> bool:
        for hole in reversed(self.holes):
            if hole.first <= seq <= hole.last:
                if seq in hole.filled:
                    return False
                hole.filled.add(seq)
                return True
        return False

    @property
    def missing(self) -> int:
        """How many numbered messages never arrived."""
        return sum(hole.missing for hole in self.holes)
