"""Connect, keep alive, reconnect, write: the recorder, exchange-agnostic."""

from .runner import FeedRunner, Progress, RecorderOptions, RunSummary, record_feeds

__all__ = ["FeedRunner", "Progress", "RecorderOptions", "RunSummary", "record_feeds"]
