"""Duplicates and holes in a numbered stream: pure bookkeeping, no I/O.

Binance numbers its messages: trade ids grow by exactly one per trade of a
symbol, and each depth snapshot carries the ``lastUpdateId`` of the book it
shows. While two connections overlap (the make-before-break rotation before
Binance's 24 h cut) both deliver the same messages; after a drop, the trades
sent while we were away are missing. :class:`Continuity` tells, per message,
whether to write it, and keeps the list of holes so a data file can explain
its own gaps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Continuity", "Hole"]


@dataclass(slots=True)
class Hole:
    """Ids ``first..last`` (inclusive) that never arrived, minus late fill-ins."""

    first: int
    last: int
    filled: set[int] = field(default_factory=set)

    @property
    def missing(self) -> int:
        return self.last - self.first + 1 - len(self.filled)


class Continuity:
    """Accept each numbered message once; count what is missing.

    ``contiguous`` streams (trade ids) must grow by one: a jump opens a
    :class:`Hole` of known size, a number at or below the highest seen is a
    duplicate unless it fills a hole. Other streams (``lastUpdateId``) only
    grow, by any step: a number seen recently is a duplicate.
    """

    __slots__ = ("contiguous", "duplicates", "holes", "last", "recent")

    def __init__(self, contiguous: bool, recent: int = 256) -> None:
        self.contiguous = contiguous
        self.last: int | None = None
        self.duplicates = 0
        self.holes: list[Hole] = []
        self.recent: deque[int] = deque(maxlen=recent)

    def accept(self, seq: int) -> bool:
        """True when the message is new and must be written."""
        last = self.last
        if self.contiguous:
            if last is None or seq == last + 1:
                self.last = seq
                return True
            if seq > last:
                self.holes.append(Hole(last + 1, seq - 1))
                self.last = seq
                return True
            for hole in reversed(self.holes):
                if hole.first <= seq <= hole.last:
                    if seq in hole.filled:
                        break
                    hole.filled.add(seq)
                    return True
            self.duplicates += 1
            return False
        if last is None or seq > last:
            self.last = seq
            self.recent.append(seq)
            return True
        if seq in self.recent:
            self.duplicates += 1
            return False
        self.recent.append(seq)
        return True

    @property
    def missing(self) -> int:
        """How many numbered messages never arrived."""
        return sum(hole.missing for hole in self.holes)
