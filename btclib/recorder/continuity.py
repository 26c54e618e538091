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

import bisect
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
    streams (``lastUpdateId``) only grow, by any step; which of their ids were
    written is remembered for the last ``recent`` ids at least.

    Which connection wrote an id costs nothing per message: ids written in
    order are covered by runs (the first id written by a connection after
    another one wrote), found by bisection; the rare ids written out of order
    are kept in a small dict.
    """

    __slots__ = (
        "_conns",
        "_older",
        "_seen",
        "_starts",
        "_writer",
        "_written_late",
        "anomalies",
        "contiguous",
        "duplicates",
        "holes",
        "last",
        "recent",
    )

    def __init__(self, contiguous: bool, recent: int = 4096) -> None:
        self.contiguous = contiguous
        self.last: int | None = None
        self.duplicates = 0
        self.holes: list[Hole] = []
        self.anomalies: list[Anomaly] = []
        self.recent = recent
        self._seen: set[int] = set()
        self._older: set[int] = set()
        self._writer: int | None = None
        self._starts: list[int] = []
        """First id of each run of in-order ids written by one connection."""
        self._conns: list[int] = []
        self._written_late: dict[int, int] = {}
        """Ids written out of order (hole fill-ins, anomalies) -> their connection."""

    def accept(self, seq: int, conn: int = 0) -> bool:
        """True when the message (id ``seq``, from connection ``conn``) must be written."""
        last = self.last
        if last is None or seq > last:  # the hot path: in order
            if self.contiguous:
                if last is not None and seq > last + 1:
                    self.holes.append(Hole(last + 1, seq - 1))
            else:
                seen = self._seen
                seen.add(seq)
                if len(seen) >= self.recent:
                    self._older, self._seen = seen, set()
            self.last = seq
            if conn != self._writer:
                self._new_run(seq, conn)
            return True
        return self._behind(seq, last, conn)

    def _new_run(self, seq: int, conn: int) -> None:
        self._writer = conn
        self._starts.append(seq)
        self._conns.append(conn)
        if len(self._starts) > 2 * self.recent:  # many switches in a long overlap: forget old runs
            del self._starts[: self.recent], self._conns[: self.recent]

    def _behind(self, seq: int, last: int, conn: int) -> bool:
        """An id at or below the highest: a copy from the other connection, a fill-in, or not."""
        writer = self._written_late.get(seq)
        if writer is None:
            if self.contiguous:
                if self._fills_hole(seq):
                    self._remember_late(seq, conn)
                    return True
                writer = self._in_order_writer(seq)
            elif seq in self._seen or seq in self._older:
                writer = self._in_order_writer(seq)
        if writer is not None and writer != conn:
            self.duplicates += 1
            return False
        self.anomalies.append(Anomaly(seq, last, conn))
        self._remember_late(seq, conn)
        return True

    def _in_order_writer(self, seq: int) -> int | None:
        """The connection whose run of in-order ids covers ``seq`` (None: forgotten)."""
        run = bisect.bisect_right(self._starts, seq) - 1
        return self._conns[run] if run >= 0 else None

    def _remember_late(self, seq: int, conn: int) -> None:
        late = self._written_late
        if len(late) >= self.recent:
            late.clear()
        late[seq] = conn

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
