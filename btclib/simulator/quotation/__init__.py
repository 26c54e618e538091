"""The simulated side of the quotation API shape two venues share (one published it,
the other adopted it): what a session replies and the status frame (:mod:`.session`),
the rules a broken frame follows (:mod:`.malformed`), the connection's loop and timers
(:mod:`.link`), the wscat banner (here).

A protocol family, not a venue: the server never pings and answers a text ``PING``
with ``{"status":"UP"}``, then repeats it every few seconds; it drops a client idle
too long without a close frame (1006); it answers a bad request with an error, then
closes normally (1000) a little later; its data frames are binary. Each venue's
package keeps its own facts (its session, frames, request rules, which frames it
breaks and how, the timings' values) and takes only what they share from here.
All but :mod:`.link` are pure: no I/O (the venues' pure modules import them).
"""

from __future__ import annotations

__all__ = ["banner"]


def banner(title: str, url: str, frames: str = "binary") -> list[str]:
    """How to connect with wscat, for humans (``frames``: how the venue's frames go)."""
    request = '[{"ticket":"test"},{"type":"orderbook","codes":["KRW-BTC"]}]'
    return [
        f"{title}:",
        f"  wscat -c {url}",
        f"  then paste: {request}",
        f"  ({title} frames are {frames}; wscat prints them as text.)",
    ]
