"""Report cards written beside the files of a rotated or split set as each one closes.

A recording that runs for weeks never ends, so its cards cannot wait for the end:
:class:`CardWriter` is the events log's ``on_closed`` hook
(:attr:`btclib.files.eventlog.FileEvents.on_closed`, through
:attr:`btclib.recorder.record.RunContext.on_file_closed`). Each closed file gets
``<file>.check.json`` (:meth:`Card.write`), computed in a thread so the recorder's
loop never waits for it; a file compressed meanwhile is read as its ``.gz``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from .card import Card
from .check import check

__all__ = ["CARD_SUFFIX", "CardWriter", "card_path", "write_card"]

CARD_SUFFIX = ".check.json"
logger = logging.getLogger("btclib")


def card_path(path: str | Path) -> Path:
    """``stream-data-multi.2026-12-01.txt`` -> ``stream-data-multi.2026-12-01.txt.check.json``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".gz") + CARD_SUFFIX)


def write_card(path: str | Path) -> Card:
    """Check one closed file of a set and write its card beside it."""
    path = Path(path)
    try:
        card = check(path)
    except FileNotFoundError:  # compressed and removed while it was being read: its .gz
        card = check(path.with_name(path.name + ".gz"))
    card.write(card_path(path))
    return card


class CardWriter:
    """Writes each closed file's card in a thread; :meth:`aclose` waits for those under way."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self.written: list[Path] = []

    def closed(self, path: Path) -> None:
        task = asyncio.get_running_loop().create_task(self._write(path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, path: Path) -> None:
        try:
            await asyncio.to_thread(write_card, path)
            self.written.append(card_path(path))
        except (OSError, ValueError) as exc:  # the card is a courtesy: never the run's end
            logger.warning("cannot write the report card of %s: %s", path, exc)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=120)
