"""Connect, keep alive, reconnect, write: the recorder, exchange-agnostic."""

from .runner import Progress, RecorderOptions, RunSummary, record_feeds

__all__ = ["Progress", "RecorderOptions", "RunSummary", "record_feeds"]
