"""The asyncio side of one simulated Upbit connection: its session and its timers.

Upbit never pings; it answers a text ``PING`` with ``{"status":"UP"}`` and
repeats that every 10 s, drops a client silent for 120 s without a close
frame, and answers a bad request with an error, then closes normally about
150 ms later (protocols.md 2.6 and 2.7). The frames come from :mod:`.session`,
:mod:`.frames` and :mod:`.malformed`.
"""

from __future__ import annotations

from ..faults import Fault, MalformedKind
from ..link import ConnectionInfo, Host, SimConnection
from ..quotation.link import QuotationLink
from .malformed import malformed_frame
from .session import UpbitSession

__all__ = ["UpbitLink"]


class UpbitLink(QuotationLink):
    """One Upbit connection: binary frames, status after PING, idle timeout
    (the loop and timers: :class:`~..quotation.QuotationLink`)."""

    exchange = "upbit"

    def __init__(
        self, host: Host, ws: SimConnection, info: ConnectionInfo, faults: tuple[Fault, ...]
    ) -> None:
        super().__init__(host, ws, info, faults)
        self.session = UpbitSession(
            microseconds=self.micro, publish_ms=self.config.upbit_publish_ms
        )
        self.start()

    @property
    def idle_timeout(self) -> float | None:
        """Observed: Upbit drops a socket idle this long, with no close frame (1006)."""
        return self.config.upbit_idle_timeout

    @property
    def status_interval(self) -> float:
        return self.config.upbit_status_interval

    @property
    def error_close_delay(self) -> float:
        """Upbit answers a bad request, then closes normally ~150 ms later."""
        return self.config.upbit_error_close_delay

    def malformed_text(self, kind: MalformedKind) -> str:
        return malformed_frame(kind, self.session, self.live_market())
