"""Take the frames websockets has already received, without one ``await`` each.

Why: ``await ws.recv()`` costs about 0.7 microseconds even when the next
message is already queued (a coroutine chain through the connection and its
Assembler), as much as formatting a line. Under load websockets reads many
frames per ``data_received`` and queues them; the recorder takes those
directly from the queue and awaits ``recv()`` only when it is empty or the
next message is fragmented (``recv()`` reassembles those).

This reads the internals of ``websockets.asyncio`` (``Connection.recv_messages``,
an ``Assembler`` with a ``frames.queue`` deque and ``maybe_resume()``; the same
in websockets 14.0, 15.0, 16.0 and 17.4, read in their sources):
:func:`queued_frames` checks their shape and, if anything differs, returns an
always-empty queue, so the recorder falls back to plain ``recv()`` and stays
correct, only slower. ``tests/test_wsqueue.py`` fails on a websockets whose
internals moved, so that the slowdown cannot pass unnoticed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["queued_frames"]


def _nothing() -> None:
    return None


def queued_frames(ws: Any) -> tuple[deque[Any], Callable[[], Any], Callable[[], None]]:
    """``(queue, take, resume)`` for the frames ``ws`` has received but nobody read.

    ``queue[0].fin`` says the next frame is a whole message (``take().data`` is
    its payload, ``bytes`` or ``bytearray``); ``resume()`` must run before
    awaiting ``recv()``, so that a connection paused by flow control (the queue
    went over ``max_queue``) reads again once the queue is drained.
    """
    assembler = getattr(ws, "recv_messages", None)
    frames = getattr(assembler, "frames", None)
    queue = getattr(frames, "queue", None)
    resume = getattr(assembler, "maybe_resume", None)
    if not isinstance(queue, deque) or not callable(resume):
        empty: deque[Any] = deque()
        return empty, empty.popleft, _nothing
    return queue, queue.popleft, resume
