"""Past one machine: every line published to a NATS JetStream stream, and read back.

- :mod:`~btclib.broker.publish`: :class:`BrokerSink`, the sink behind ``record
  --publish`` (a tee: the data file as always, and the stream), and its publisher.
- :mod:`~btclib.broker.worker`, :mod:`~btclib.broker.handoff`: the publisher in a process
  of its own, following the spool; the recorder's side of it.
- :mod:`~btclib.broker.spool`: the lines not yet acknowledged, on disk beside the file.
- :mod:`~btclib.broker.consume`: ``python -m btclib consume``, the stream into a file.
- :mod:`~btclib.broker.subjects`: ``btclib.<exchange>.<market>.<kind>``.
- :mod:`~btclib.broker.partition`: ``--partition K/N``, a stable share of the markets.
- :mod:`~btclib.broker.connection`: connecting, and the refusals named before recording.
- :mod:`~btclib.broker.servers`: real ``nats-server`` processes on 127.0.0.1 (tests, bench).

``nats-py`` is imported only when a broker is used (``pip install -e '.[broker]'``).
"""

from __future__ import annotations

__all__ = [
    "connection",
    "consume",
    "handoff",
    "partition",
    "publish",
    "servers",
    "spool",
    "subjects",
    "worker",
]
