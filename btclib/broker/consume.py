"""``python -m btclib consume nats://... --out FILE``: the stream back into a line file.

Why a durable consumer and a state file beside the output: ``consume`` must resume
where it stopped, neither skipping nor repeating a line, even when it was killed
between writing lines and telling the server so. The server's durable consumer
(``--durable NAME``, acknowledgements "all up to this one") remembers what was
delivered; ``<out>.consume.json`` remembers what reached the file: its size after the
last whole batch, and per recorder run which line numbers were written (as ranges).
On start the file is cut back to that size (a batch written but not recorded is
written again), and a message whose run and line number were written already is
skipped: so a resend the server's duplicate window let through (a recorder restarted
on its spool long after) is not written twice either.

Lines are written in stream order, which for one recorder is its own order (the
publisher keeps each run's lines in increasing stream sequence, see
:mod:`btclib.broker.publish`): with one recorder and no fault the file is
byte-identical to the recorder's. Several recorders (``--partition``) interleave in
the stream, and their lines interleave in the file the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BrokerError
from .connection import DEFAULT_STREAM, open_broker
from .subjects import DATA_SUBJECTS

__all__ = ["ConsumeSummary", "consume", "default_durable", "parse_msg_id", "state_path"]

BATCH = 1000
"""Messages fetched, written and acknowledged together."""


def state_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".consume.json")


def default_durable(out: str | Path) -> str:
    """The durable consumer's name when none is given: from the output file's name, so
    consuming into the same file again resumes."""
    return "btclib-" + (re.sub(r"[^A-Za-z0-9_-]", "_", Path(out).name) or "out")


def parse_msg_id(msg_id: str | None) -> tuple[str, int] | None:
    """``run:seq`` or ``run:seq.n`` (a line resent after a repair) -> (run, seq)."""
    if not msg_id:
        return None
    run, sep, rest = msg_id.rpartition(":")
    if not sep or not run or run == "ev" or run.startswith("ev:"):
        return None
    try:
        return run, int(rest.partition(".")[0])
    except ValueError:
        return None


@dataclass
class _Written:
    """Per run, the line numbers written, as sorted [first, last] ranges."""

    ranges: dict[str, list[list[int]]] = field(default_factory=dict)

    def add(self, run: str, seq: int) -> bool:
        """Record ``seq``; False when it was written already."""
        spans = self.ranges.setdefault(run, [])
        if spans and spans[-1][1] + 1 == seq:  # the usual case: the next one
            spans[-1][1] = seq  # extending the last range cannot reach another one
            return True
        for i, (lo, hi) in enumerate(spans):
            if lo <= seq <= hi:
                return False
            if seq < lo:
                spans.insert(i, [seq, seq])
                self._merge(spans, i)
                return True
        spans.append([seq, seq])
        return True

    @staticmethod
    def _merge(spans: list[list[int]], i: int) -> None:
        if i + 1 < len(spans) and spans[i][1] + 1 == spans[i + 1][0]:
            spans[i][1] = spans[i + 1][1]
            del spans[i + 1]
        if i > 0 and spans[i - 1][1] + 1 == spans[i][0]:
            spans[i - 1][1] = spans[i][1]
            del spans[i]


@dataclass
class ConsumeSummary:
    out: Path
    lines: int = 0
    duplicates: int = 0
    """Messages skipped: their run and line number were written already."""
    others: int = 0
    """Messages without a btclib line id (published by another tool), written as they are."""
    caught_up: bool = False

    def text(self) -> str:
        return (
            f"Consumed {self.lines} lines into {self.out}"
            + (f"; {self.duplicates} duplicates skipped" if self.duplicates else "")
            + (f"; {self.others} messages without a btclib id" if self.others else "")
            + ("; caught up." if self.caught_up else ".")
        )


async def consume(
    urls: list[str],
    out: str | Path,
    *,
    stream: str = DEFAULT_STREAM,
    subject: str = DATA_SUBJECTS,
    follow: bool = False,
    durable: str | None = None,
    stop: asyncio.Event | None = None,
) -> ConsumeSummary:
    """Append the stream's lines on ``subject`` to ``out`` until caught up (``follow``:
    until ``stop``), resuming the durable consumer ``durable``. Raises
    :class:`~btclib.errors.BrokerError` when the broker refuses."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import APIError

    out = Path(out)
    durable = durable or default_durable(out)
    broker = await open_broker(urls, stream, create=False, name="btclib-consume")
    summary = ConsumeSummary(out)
    state_file = state_path(out)
    state = _load(state_file)
    if state and (state.get("stream"), state.get("subject")) != (stream, subject):
        await broker.close()
        raise BrokerError(
            f"{out} was consumed from stream {state.get('stream')} subject "
            f"{state.get('subject')}: consume it with those, or write another --out"
        )
    written = _Written({k: [list(r) for r in v] for k, v in (state or {}).get("runs", {}).items()})
    try:
        try:
            sub = await broker.js.pull_subscribe(
                subject,
                durable=durable,
                stream=stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.ALL,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=30.0,
                    max_ack_pending=-1,
                ),
            )
        except APIError as exc:
            raise BrokerError(
                f"the stream {stream} refused consumer {durable} on {subject} "
                f"({exc.description or exc}): name another with --durable NAME"
            ) from None
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if state is not None and size > int(state["size"]):
                os.ftruncate(fd, int(state["size"]))  # a batch written, never recorded
                size = int(state["size"])
            os.lseek(fd, size, os.SEEK_SET)
            await _loop(sub, fd, size, written, summary, follow, stop, state_file, stream, subject)
        finally:
            os.close(fd)
    finally:
        await broker.close()
    return summary


async def _loop(
    sub: Any,
    fd: int,
    size: int,
    written: _Written,
    summary: ConsumeSummary,
    follow: bool,
    stop: asyncio.Event | None,
    state_file: Path,
    stream: str,
    subject: str,
) -> None:
    import nats.errors

    while stop is None or not stop.is_set():
        # Ask how many wait first: a pull for more than there are can sit until the
        # consumer's ack wait (30 s) on a resumed durable, where nothing new means done.
        pending = (await sub.consumer_info()).num_pending
        if pending == 0 and not follow:
            summary.caught_up = True
            return
        try:
            msgs = await sub.fetch(min(BATCH, pending) or 1, timeout=1.0)
        except (TimeoutError, nats.errors.TimeoutError):
            msgs = []
        if not msgs:
            continue
        chunk: list[bytes] = []
        for msg in msgs:
            key = parse_msg_id((msg.headers or {}).get("Nats-Msg-Id"))
            if key is None:
                summary.others += 1
            elif not written.add(*key):
                summary.duplicates += 1
                continue
            data = msg.data
            chunk.append(data if data.endswith(b"\n") else data + b"\n")
        data = b"".join(chunk)
        view, done = memoryview(data), 0
        while done < len(data):
            done += os.write(fd, view[done:])
        os.fsync(fd)
        size += len(data)
        summary.lines += len(chunk)
        _save(state_file, {"stream": stream, "subject": subject, "size": size,
                           "runs": written.ranges})  # fmt: skip
        await msgs[-1].ack_sync(timeout=5.0)  # confirmed: a resumed consume starts after it
        pending = msgs[-1].metadata.num_pending
        if pending == 0 and not follow:
            summary.caught_up = True
            return


def _load(path: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        state = json.loads(path.read_text())
        if isinstance(state, dict) and "size" in state:
            return state
    return None


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)
