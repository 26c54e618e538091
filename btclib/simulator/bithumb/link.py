"""The asyncio side of one simulated Bithumb connection: its session and its timers.

Bithumb (docs/protocols-bithumb.md 6): drops a connection with nothing sent or
received for 60 s (documented: about 120 s), without a close frame; answers WebSocket
pings with pongs; answers a text ``PING`` with ``{"status":"UP"}`` and repeats it
every 10 s; sends no pings of its own. A bad request gets an error, then a close
1000. The settings come from ``SimConfig.settings`` by the names
in :data:`SETTINGS`, defaulting to the documented values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..faults import Fault, MalformedKind
from ..link import ConnectionInfo, Host, SimConnection
from ..quotation.link import QuotationLink
from .malformed import malformed_frame
from .session import BithumbSession

__all__ = ["SETTINGS", "BithumbLink", "setting"]

SETTINGS: Mapping[str, float] = {
    "bithumb_idle_timeout": 60.0,
    "bithumb_status_interval": 10.0,
    "bithumb_error_close_delay": 0.15,
    "bithumb_publish_ms": 100,
    "bithumb_connect_count": 10,
    "bithumb_connect_window": 1.0,
}
"""Each setting's value on the wire (docs/protocols-bithumb.md 6): an idle socket dropped
at 60 s (the docs say about 120 s; the probe saw 60 s, 1006, no close frame); status UP
every 10 s after a text PING; an error answered, then a close 1000 (delay UNCONFIRMED,
Upbit's 150 ms); books on a 100 ms grid (about 10 a second on KRW-BTC); 10 connection
requests a second per IP (documented)."""


def setting(settings: Mapping[str, Any], name: str) -> Any:
    """``SimConfig.settings[name]``, else its documented value (:data:`SETTINGS`);
    ``bithumb_idle_timeout`` may be None (never close an idle client)."""
    return settings.get(name, SETTINGS[name])


class BithumbLink(QuotationLink):
    """One Bithumb connection: status after PING, idle timeout, binary data frames
    (the loop and timers: :class:`~..quotation.QuotationLink`)."""

    exchange = "bithumb"

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(host, ws, info, faults)
        self.settings = self.config.settings
        self.session = BithumbSession(publish_ms=int(setting(self.settings, "bithumb_publish_ms")))
        self.start()

    @property
    def idle_timeout(self) -> float | None:
        """Probed: an idle socket is dropped at 60 s, 1006, no close frame."""
        idle = setting(self.settings, "bithumb_idle_timeout")
        return None if idle is None else float(idle)

    @property
    def status_interval(self) -> float:
        return float(setting(self.settings, "bithumb_status_interval"))

    @property
    def error_close_delay(self) -> float:
        return float(setting(self.settings, "bithumb_error_close_delay"))

    def malformed_text(self, kind: MalformedKind) -> str:
        return malformed_frame(kind, self.session, self.live_market())
