"""The recorder's output when it publishes: the data file (or none) and the stream.

Why an :class:`~btclib.files.rotating.Output`: the recorder opens whatever ``Output`` the
plan names (:meth:`Output.sink`), so publishing changes nothing in the recorder or the
steps: this one's sink is a :class:`~btclib.broker.publish.BrokerSink` around the sink
the plain output would have made (``--no-file``: around none).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..files.datafile import writable
from ..files.eventlog import events_path
from ..files.rotating import Output
from ..files.sink import Sink
from .connection import Broker
from .publish import BrokerSink, PublishOptions
from .spool import spool_path

__all__ = ["PublishedOutput", "published"]


@dataclass(frozen=True)
class PublishedOutput(Output):
    """``Output`` whose sink also publishes to ``broker``; ``file=False``: only publishes."""

    broker: Broker | None = None
    file: bool = True
    options: PublishOptions = field(default_factory=PublishOptions)
    sinks: list[BrokerSink] = field(default_factory=list, compare=False)
    """The sinks made (the caller reads how far behind the broker is from them)."""

    def spooled(self) -> int:
        """Lines not yet in the stream, over the sinks made: the ``spooled`` hook of the
        progress line and of ``--metrics`` (:mod:`btclib.quality.metrics`)."""
        return sum(sink.behind()[0] for sink in self.sinks)

    def oldest_age(self) -> float:
        """Seconds the oldest line not yet in the stream has waited (0: none)."""
        return max((sink.behind()[1] for sink in self.sinks), default=0.0)

    def check_writable(self) -> None:
        if self.file:
            super().check_writable()
        else:  # only the spool and the events log are written beside the name
            writable(events_path(self.path))

    def sink(self, **options: Any) -> Sink:
        assert self.broker is not None
        file = super().sink(**options) if self.file else None
        made = BrokerSink(
            file,
            self.broker,
            base=self.path,
            events_path=events_path(self.path),
            options=self.options,
        )
        self.sinks.append(made)
        return made


def published(
    output: Output, broker: Broker, *, file: bool = True, options: PublishOptions | None = None
) -> PublishedOutput:
    """``output`` (the plan's) made to publish to ``broker``."""
    fields = {f.name: getattr(output, f.name) for f in dataclasses.fields(output)}
    options = options or PublishOptions(process=True)  # the client's work off the recorder
    return PublishedOutput(**fields, broker=broker, file=file, options=options)


def describe(output: PublishedOutput) -> str:
    """The summary's broker line: what went to the stream and what still waits."""
    out = []
    for sink in output.sinks:
        r = sink.report()
        text = (
            f"  broker: {r['published']} lines acknowledged into stream {sink.broker.stream} "
            f"(R{sink.broker.replicas}), {r['outages']} outage(s)"
        )
        if r["spooled"]:
            text += (
                f"; {r['spooled']} lines still in the spool {spool_path(sink.base)} "
                f"(oldest {r['oldest_s']:.1f} s): the next run on this spool sends them"
            )
        else:
            text += "; nothing left in the spool"
        if r["not_spooled"]:
            text += f"; {r['not_spooled']} lines not published (spool full; in the data file)"
        if r.get("worker"):
            text += f"; the publisher process {r['worker']}"
        out.append(text)
    return "\n".join(out)
