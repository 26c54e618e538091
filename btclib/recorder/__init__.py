"""Connect, keep alive, reconnect, write: the recorder, exchange-agnostic.

The rules (:mod:`.supervisor`, :mod:`.gaps`, :mod:`.continuity`,
:mod:`.backoff`) are pure code on an injected clock; the asyncio modules
(:mod:`.runner`: one feed's connections and hot loop; :mod:`.record`: the run)
perform what they decide. :mod:`.summary` holds what a run reports; :mod:`.events` the
tap that sees every frame. The files it writes (the sink, the events log) belong to
:mod:`btclib.files`, known here by the :class:`~btclib.files.sink.Sink` protocol alone.
"""

from .options import RecorderOptions
from .record import record_feeds
from .runner import FeedRunner
from .summary import Progress, RunSummary

__all__ = ["FeedRunner", "Progress", "RecorderOptions", "RunSummary", "record_feeds"]
