"""Supervision as pure rules: when to abort, rotate, reconnect or give up.

The ``websockets`` library splits a Sans-I/O core that decides from an asyncio
front-end that only moves bytes; the recorder does the same. A
:class:`Supervisor` holds the rules of one feed. It is told what happened (a
connect attempt failed, a connection opened, delivered its first data,
announced a shutdown, closed) and what time it is, and it answers with
actions that :mod:`btclib.recorder.runner` performs: :class:`Abort` a
connection, open a replacement (:class:`Rotate`), :class:`Retire` the old one,
:class:`Reconnect` after a delay, :class:`Stop` the run, and the events to
:class:`Log` on the way. It reads no clock, never sleeps and touches no
socket, so every rule is tested on a fake clock.

The rules (:class:`~btclib.recorder.options.Rules`: the recorder's timings,
:class:`~btclib.recorder.options.RecorderOptions`, with the exchange's own
limits, carried by its :class:`~btclib.feed.Feed` from the module's
:class:`~btclib.feed.Limits`):

- connect within the exchange's budget (``connect_limit``, this connection's
  part of the module's ``LIMITS.connect_budget``) with full-jitter
  exponential backoff; HTTP 5xx and
  network errors are retried, 418/429 a few times with a long backoff, other
  refusals and invalid URLs stop the run with the exchange's explanation;
- a connection that sends no data at all within ``first_data_within`` is
  replaced; after ``max_silent`` such connections in a row the run stops with
  the feed's ``silence_hint`` (both exchanges answer unknown symbols with
  silence);
- a stream with a stall limit that stays silent that long ends its
  connection (a dead book while trades still flow), except while the sink
  makes the reader wait (that silence is ours);
- before the server's connection lifetime runs out, or when it announces a
  shutdown, a replacement is opened; the old connection is retired once the
  new one delivers every stream the old one did (or ``overlap_max`` after it
  opened); if the replacement fails, rotation is tried again later;
- a connection that ends opens a gap (:mod:`btclib.recorder.gaps`).

``now`` is a monotonic clock in seconds (the runner passes ``loop.time()``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import RecordingError
from .backoff import Backoff, ConnectBudget
from .continuity import Continuity
from .gaps import GapBook
from .options import Rules

__all__ = [
    "ANOMALIES_LOGGED",
    "LOGGED_EVERY",
    "TLS_HINT",
    "Abort",
    "Action",
    "Done",
    "Failure",
    "FailureKind",
    "GapFound",
    "Log",
    "Reconnect",
    "Retire",
    "Retry",
    "Rotate",
    "Stop",
    "Supervisor",
    "worth_logging",
]


# -- What the supervisor is told ---------------------------------------------------------------

FailureKind = Literal["status", "invalid_url", "tls", "transient", "fatal"]
"""What a failed connect attempt was (see :class:`Failure`)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A connect attempt that failed, as the runner describes it.

    ``kind`` is ``status`` (the handshake was refused with HTTP ``status``),
    ``invalid_url``, ``tls`` (certificate not trusted, hostname mismatch),
    ``transient`` (worth retrying: DNS, refused, reset, timeout) or ``fatal``
    (anything else); ``text`` says it in plain words.
    """

    kind: FailureKind
    text: str
    status: int | None = None


# -- What the supervisor answers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Log:
    """Write ``event`` to the events log (``conn`` 0: the feed, not one connection)."""

    event: str
    conn: int = 0
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Abort:
    """End connection ``conn``: it is dead or useless (what it already sent is still read)."""

    conn: int
    cause: str


@dataclass(frozen=True, slots=True)
class Rotate:
    """Open a replacement for connection ``old`` while it still runs (make before break)."""

    old: int
    reason: str


@dataclass(frozen=True, slots=True)
class Retire:
    """Close connection ``old`` politely: ``new`` has taken over."""

    old: int
    new: int
    cause: str


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Open a new connection after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class Retry:
    """Try connecting again after ``delay`` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class Done:
    """The source ended and its last connection closed: the feed is finished."""


@dataclass(frozen=True, slots=True)
class Stop:
    """End the run: retrying cannot heal this."""

    error: RecordingError


@dataclass(frozen=True, slots=True)
class GapFound:
    """A gap to add to the summary (and to log as ``gap``)."""

    gap: dict[str, Any]


Action = Log | Abort | Rotate | Retire | Reconnect | Retry | Stop | Done | GapFound


# -- The rules ---------------------------------------------------------------------------------

TLS_HINT = (
    "A network that inspects TLS (a company proxy, an antivirus) presents its own "
    "certificate: put its CA certificate in a PEM file and point SSL_CERT_FILE at it."
)
ANOMALIES_LOGGED = 20
"""Repeated events (ids out of order per stream, bad frames) logged one by one; after that,
every :data:`LOGGED_EVERY`-th, so a misbehaving server cannot flood the events log."""
LOGGED_EVERY = 100
"""After the first :data:`ANOMALIES_LOGGED`, a repeated event is logged this often."""


def worth_logging(count: int) -> bool:
    """Whether the ``count``-th (from 1) of a repeated event goes into the events log."""
    return count <= ANOMALIES_LOGGED or count % LOGGED_EVERY == 0
_RETRIED_STATUSES = frozenset({500, 502, 503, 504})
_THROTTLE_STATUSES = frozenset({418, 429})
_THROTTLE_BACKOFF_ATTEMPT = 6
"""After a 418/429, backoff continues from this attempt (0.5 s * 2**6 = 32 s: the cap)."""


@dataclass(slots=True)
class _Conn:
    """What the supervisor knows of one connection."""

    id: int
    opened: float
    counts: Mapping[str, int]
    """The hot loop's per-stream frame counters, read at each tick."""
    rotate_at: float | None
    first_data: float | None = None
    shutdown_notice: bool = False
    last_count: dict[str, int] = field(default_factory=dict)
    last_change: dict[str, float] = field(default_factory=dict)


class Supervisor:
    """The rules of one feed, applied to what the runner reports.

    ``continuity`` (per stream) is shared with the hot loop, which asks it
    whether each numbered message is new; the supervisor reads its holes.
    """

    def __init__(
        self,
        rules: Rules,
        continuity: Mapping[str, Continuity],
        *,
        wall_offset: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.rules = rules
        self.feed = feed = rules.feed
        self.timings = timings = rules.timings
        self.backoff = Backoff(timings.backoff_base, timings.backoff_cap, rng)
        limit = feed.connect_limit
        self.budget = ConnectBudget(*limit) if limit is not None else None
        """At most so many attempts per window (``None``: the feed has no limit)."""
        self.continuity = continuity
        self.gaps = GapBook(feed.exchange, continuity, feed.contiguous, wall_offset)
        self._anomalies_seen = dict.fromkeys(continuity, 0)
        self.current: _Conn | None = None
        self.replacement: _Conn | None = None
        self.finishing = False
        """The source will send nothing more (a replay ended): no rotation, no reconnect."""
        self._rotation_reason = ""
        self._refusals = 0
        self._silent = 0
        self._ever_data = False

    @property
    def rotating(self) -> bool:
        """A replacement is open and the old connection still runs."""
        return self.replacement is not None

    # Connecting.

    def connect_wait(self, now: float) -> float:
        """Seconds to wait before the next attempt; 0 spends one attempt of the budget now."""
        if self.budget is None:
            return 0.0
        wait = self.budget.wait_time(now)
        if wait <= 0:
            self.budget.spend(now)
        return wait

    def connect_failed(self, failure: Failure) -> list[Action]:
        """Retry after a delay, or stop with the reason in the exchange's words."""
        decision = self._retry_or_stop(failure)
        if isinstance(decision, Stop):
            return [Log("error", 0, {"error": str(decision.error)}), decision]
        retry_in = round(decision.delay, 3)
        fields = {"url": self.feed.url, "error": failure.text, "retry_in": retry_in}
        return [Log("connect_failed", 0, fields), decision]

    def _retry_or_stop(self, failure: Failure) -> Retry | Stop:
        title, url = self.rules.title, self.feed.url
        if failure.kind == "status":
            status = failure.status
            retry = status in _RETRIED_STATUSES
            if status in _THROTTLE_STATUSES and self._refusals < self.timings.max_refusals:
                self._refusals += 1
                self.backoff.attempt = max(self.backoff.attempt, _THROTTLE_BACKOFF_ATTEMPT)
                retry = True
            if not retry:
                hint = self.feed.status_hints.get(status or 0, "")
                return Stop(
                    RecordingError(
                        f"{title} refused the connection to {url}: {failure.text}. {hint}".strip()
                    )
                )
        elif failure.kind == "tls":
            return Stop(
                RecordingError(
                    f"{title}: TLS failure connecting to {url}: {failure.text}. {TLS_HINT}"
                )
            )
        elif failure.kind == "invalid_url":
            return Stop(RecordingError(f"{title}: invalid URL {url!r}: {failure.text}"))
        elif failure.kind != "transient":
            return Stop(RecordingError(f"{title}: cannot connect to {url}: {failure.text}"))
        return Retry(self.backoff.next_delay())

    def opened(self, conn: int, now: float, counts: Mapping[str, int]) -> None:
        """Connection ``conn`` is open; ``counts`` are its hot loop's frame counters.

        While a connection is current, a new one is its replacement.
        """
        self._refusals = 0
        state = _Conn(conn, now, counts, self.rules.rotation_due(now))
        self._watch_from(state, now)
        if self.current is None:
            self.current = state
        else:
            self.replacement = state

    def first_data(self, conn: int, now: float) -> None:
        """Connection ``conn`` delivered its first data message."""
        state = self._find(conn)
        if state is not None:
            state.first_data = now
        self._ever_data = True
        self.backoff.reset()
        self.gaps.resumed(now)

    def shutdown_notice(self, conn: int) -> None:
        """The server announced it will close connection ``conn`` soon."""
        state = self._find(conn)
        if state is not None:
            state.shutdown_notice = True

    def closed(self, conn: int, now: float, cause: str) -> list[Action]:
        """Connection ``conn`` ended without being retired: what to do about it."""
        if self.replacement is not None and conn == self.replacement.id:
            # The replacement died before taking over: keep the old one, try again later.
            self.replacement = None
            if self.current is not None:
                self.current.rotate_at = now + self.timings.rotation_retry
                self.current.shutdown_notice = False
            return [Log("rotate_failed", conn, {"cause": cause})]
        state = self.current
        if state is None or state.id != conn:
            return []
        if self.replacement is not None:  # the old one ended first: the new one takes over
            return self._take_over(now)
        self.current = None
        actions: list[Action] = [Log("closed", conn, {"cause": cause})]
        if self.finishing:
            return [*actions, Done()]
        stop = self._silence(state)
        if stop is not None:
            return [*actions, stop]
        # Ids that jumped on this connection since the last tick are reported now: the gap
        # that opens would otherwise count only the holes after it (the soak found 12
        # trades a stall skipped 28 ms before a close, never logged).
        actions.extend(GapFound(gap) for gap in self.gaps.jumps(now))
        self.gaps.opened(now, cause)
        delay = self.backoff.next_delay()
        return [*actions, Log("reconnect", 0, {"retry_in": round(delay, 3)}), Reconnect(delay)]

    def _silence(self, state: _Conn) -> Stop | None:
        """Stop when connection after connection stays silent from the start."""
        if state.first_data is not None or self._ever_data:
            self._silent = 0
            return None
        self._silent += 1
        hint = self.feed.silence_hint
        if self._silent >= self.timings.max_silent and hint:
            return Stop(RecordingError(f"{hint} ({self._silent} connections, no data at all)"))
        return None

    # Watching.

    def tick(self, now: float, reader_waiting: bool = False) -> list[Action]:
        """Check every rule at ``now``; ``reader_waiting``: the sink holds the reader back."""
        actions: list[Action] = []
        state = self.current
        if state is None:
            return actions
        actions.extend(self._anomalies())
        actions.extend(GapFound(gap) for gap in self.gaps.jumps(now))
        actions.extend(GapFound(gap) for gap in self.gaps.close_if_known(state.counts))
        if self.replacement is not None:
            actions.extend(self._watch_rotation(now))
            return actions
        dead = self._dead(state, now, reader_waiting)
        if dead:
            actions.extend(dead)
            return actions
        if self.finishing:
            return actions
        due = state.rotate_at is not None and now > state.rotate_at
        if due or state.shutdown_notice:
            reason = "lifetime" if due else "server shutdown"
            self._rotation_reason = reason
            actions.append(Log("rotate", state.id, {"reason": reason}))
            actions.append(Rotate(state.id, reason))
        return actions

    def _dead(self, state: _Conn, now: float, reader_waiting: bool) -> list[Action]:
        """Abort a connection that never spoke, or one of whose streams stalled."""
        within = self.feed.first_data_within
        if state.first_data is None and within is not None and now - state.opened > within:
            return [
                Log("silent", state.id, {"seconds": within}),
                Abort(state.id, f"no data within {within:g} s of connecting"),
            ]
        if reader_waiting:  # not reading while the disk catches up: our own silence
            state.last_change = dict.fromkeys(state.last_change, now)
        for stream, limit in self.feed.stall_after.items():
            count = state.counts[stream]
            if count != state.last_count[stream]:
                state.last_count[stream], state.last_change[stream] = count, now
            elif now - state.last_change[stream] > limit:
                return [
                    Log("stall", state.id, {"stream": stream, "seconds": limit}),
                    Abort(state.id, f"stalled: no {stream} data for {limit:g} s"),
                ]
        return []

    def _watch_rotation(self, now: float) -> list[Action]:
        """Retire the old connection once the new one delivers what the old one did."""
        old, new = self.current, self.replacement
        assert old is not None and new is not None
        ticking = self.feed.stall_after
        ready = all(new.counts[s] for s in ticking) and all(
            new.counts[s] or not old.counts[s] for s in self.feed.streams
        )
        if not ready and now < new.opened + self.timings.overlap_max:
            return []
        return self._take_over(now)

    def _take_over(self, now: float) -> list[Action]:
        old, new = self.current, self.replacement
        assert old is not None and new is not None
        self.current, self.replacement = new, None
        self._watch_from(new, now)
        return [
            Retire(old.id, new.id, f"replaced ({self._rotation_reason})"),
            Log("rotated", new.id, {"replaced": old.id}),
        ]

    def _anomalies(self) -> list[Action]:
        """Ids that went backwards on their connection since the last tick (they were written).

        The first ``ANOMALIES_LOGGED`` of a stream are logged one by one, then every
        hundredth, so a misbehaving server cannot flood the events log.
        """
        actions: list[Action] = []
        for stream, cont in self.continuity.items():
            seen, total = self._anomalies_seen[stream], len(cont.anomalies)
            for n in range(seen, total):
                if worth_logging(n + 1):
                    a = cont.anomalies[n]
                    fields = {"stream": stream, "id": a.seq, "after": a.after, "count": n + 1}
                    actions.append(Log("anomaly", a.conn, fields))
            self._anomalies_seen[stream] = total
        return actions

    def finish(self, now: float) -> list[Action]:
        """The run ends: report what is still pending (anomalies, ids that jumped since the
        last tick, the gap still open)."""
        jumped = [GapFound(gap) for gap in self.gaps.jumps(now)]
        return [*self._anomalies(), *jumped, *(GapFound(gap) for gap in self.gaps.finish())]

    # Helpers.

    def _find(self, conn: int) -> _Conn | None:
        for state in (self.current, self.replacement):
            if state is not None and state.id == conn:
                return state
        return None

    def _watch_from(self, state: _Conn, now: float) -> None:
        """Stall timers of ``state`` start at ``now`` (when it became the one watched)."""
        state.last_count = {s: state.counts[s] for s in self.feed.stall_after}
        state.last_change = dict.fromkeys(self.feed.stall_after, now)
