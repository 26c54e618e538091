"""Ctrl+C (and a polite kill) stop a run on every platform: one function for the command line.

Why: the command line stops a recording by setting an ``asyncio.Event`` when SIGINT or
SIGTERM arrives, so the run ends with its summary and every line whole instead of a
``KeyboardInterrupt`` traceback. ``loop.add_signal_handler`` does that on POSIX, but
Windows' event loops (Proactor and Selector alike) raise ``NotImplementedError`` for it.
There the plain ``signal.signal`` handler is the way: it runs between two bytecodes of the
main thread and hands the stop to the loop with ``call_soon_threadsafe`` (which also wakes
a loop waiting for I/O; Windows' loops register a wake-up socket for signals).
On Windows, Ctrl+Break (SIGBREAK) stops the run as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["STOP_SIGNALS", "install_stop_handlers", "signal_child"]

STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name)
)
"""The signals that stop a run here: SIGINT and SIGTERM, and SIGBREAK where it exists."""


def install_stop_handlers(
    loop: asyncio.AbstractEventLoop,
    stop: asyncio.Event,
    signals: Sequence[signal.Signals] = STOP_SIGNALS,
) -> Callable[[], None]:
    """Have each of ``signals`` set ``stop`` on ``loop``; returns what puts things back.

    ``loop.add_signal_handler`` where the loop has it, else ``signal.signal`` with a
    handler that calls ``loop.call_soon_threadsafe(stop.set)``; the returned callable puts
    back the handlers that were there before (``asyncio.run``'s own SIGINT handler, say).
    Off the main thread signals cannot be handled at all: nothing is installed there and
    the callable does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    via_loop: list[signal.Signals] = []
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(stop.set)

    for sig in signals:
        previous[sig] = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows
            signal.signal(sig, handler)
        else:
            via_loop.append(sig)

    def restore() -> None:
        for sig in via_loop:
            loop.remove_signal_handler(sig)  # which leaves SIGINT's default, not the previous
        for sig, before in previous.items():
            # None: a handler set outside Python, which cannot be put back.
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, before if before is not None else signal.SIG_DFL)
        via_loop.clear()
        previous.clear()

    return restore


def signal_child(proc: asyncio.subprocess.Process, sig: int | None = None) -> None:
    """Send ``sig`` (None: kill) to an asyncio child process, unless it is known to have ended.

    Why not ``proc.send_signal``: before Python 3.13 it polls the child first
    (``Popen.send_signal``), and a poll that finds the child just ended reaps it behind
    asyncio's child watcher, which then reports exit status 255 instead of the real one
    (CPython gh-87744). That is the very case of a stop: btcrec ends on the SIGINT the whole
    process group got from Ctrl+C or Kernel > Interrupt, a few milliseconds before btclib
    forwards its own. ``os.kill`` does not reap, and a child that ended but is not yet reaped
    takes the signal as a no-op. Windows has no child watcher: ``send_signal`` is right there.
    """
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if sys.platform != "win32":
            os.kill(proc.pid, sig if sig is not None else signal.SIGKILL)
        elif sig is not None:
            proc.send_signal(sig)
        else:
            proc.kill()
