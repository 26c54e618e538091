"""Where a data file has holes, and how many trades each one cost: pure bookkeeping.

The data file keeps the SPEC line format, so it cannot say where it is
incomplete; the events log and the summary can. A gap opens when a
connection ends (its cause: a drop, a stall, a server cut), its end is the
first data on the next connection, and it is reported once every numbered
stream (Binance trade ids) has spoken again, because only then is the size of
the jump known. Trade ids that jump within one connection are gaps too.

Nothing here reads a clock: every call takes ``now`` (monotonic seconds) and
records wall-clock times as ``now + wall_offset``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .continuity import Continuity

__all__ = ["GapBook"]


class GapBook:
    """The gaps of one feed, reported as dicts for the summary and the events log.

    A reported gap has ``start`` and ``end`` (wall-clock seconds; ``start`` is
    ``None`` for an id jump within a connection), ``cause``, ``exchange`` and
    ``missed`` (per numbered stream, the ids that never arrived) and, where some did
    not, ``ids`` (per stream, each ``[first, last]`` range of them).
    """

    def __init__(
        self,
        exchange: str,
        continuity: Mapping[str, Continuity],
        contiguous: frozenset[str],
        wall_offset: float = 0.0,
    ) -> None:
        self.exchange = exchange
        self.continuity = continuity
        self.contiguous = contiguous
        self.wall_offset = wall_offset
        self._open: dict[str, Any] | None = None
        self._holes_seen = dict.fromkeys(continuity, 0)

    def _wall(self, now: float) -> float:
        return round(now + self.wall_offset, 6)

    @property
    def open(self) -> bool:
        """A connection ended and its gap has not been reported yet."""
        return self._open is not None

    def opened(self, now: float, cause: str) -> None:
        """A connection ended: the gap starts now."""
        self._open = {
            "start": self._wall(now),
            "end": None,
            "cause": cause,
            "holes_from": {s: len(c.holes) for s, c in self.continuity.items()},
        }

    def resumed(self, now: float) -> None:
        """Data flows again on a new connection: the open gap ends now."""
        if self._open is not None:
            self._open["end"] = self._wall(now)

    def close_if_known(self, counts: Mapping[str, int]) -> list[dict[str, Any]]:
        """The open gap, once every numbered stream spoke on the new connection (``counts``)."""
        gap = self._open
        if gap is None or gap["end"] is None:
            return []
        if not all(counts[s] for s in self.contiguous):
            return []
        return self.finish()

    def finish(self) -> list[dict[str, Any]]:
        """Report the open gap as it stands (also at the end of a run)."""
        gap, self._open = self._open, None
        if gap is None:
            return []
        holes_from = gap.pop("holes_from")
        missed = {
            stream: sum(h.missing for h in c.holes[holes_from[stream] :])
            for stream, c in self.continuity.items()
            if stream in self.contiguous
        }
        # The id ranges too, so that a file without its capture still says which trades to
        # fetch again (btclib.quality, the backfill).
        ids = {
            stream: [[h.first, h.last] for h in c.holes[holes_from[stream] :]]
            for stream, c in self.continuity.items()
            if stream in self.contiguous and c.holes[holes_from[stream] :]
        }
        for stream, cont in self.continuity.items():
            self._holes_seen[stream] = len(cont.holes)
        gap.update(exchange=self.exchange, missed=missed)
        if ids:
            gap["ids"] = ids
        return [gap]

    def jumps(self, now: float) -> list[dict[str, Any]]:
        """Ids that jumped within a connection since the last call (none while a gap is open)."""
        if self._open is not None:
            return []
        gaps = []
        for stream, cont in self.continuity.items():
            for hole in cont.holes[self._holes_seen[stream] :]:
                gaps.append(
                    {
                        "exchange": self.exchange,
                        "start": None,
                        "end": self._wall(now),
                        "cause": f"{stream} ids jumped from {hole.first - 1} to {hole.last + 1}",
                        "missed": {stream: hole.missing},
                        "ids": {stream: [[hole.first, hole.last]]},
                    }
                )
            self._holes_seen[stream] = len(cont.holes)
        return gaps
