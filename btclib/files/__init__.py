"""The files on disk: how lines reach a file, and how a recording is read back.

- :mod:`.sink`: the :class:`~btclib.files.sink.Sink` contract and :class:`LineSink`, one
  writer per file (its thread, fsync, lock and back-pressure);
- :mod:`.rotation` (pure rules: when to switch files) and :mod:`.rotating` (the rotating
  and split sinks that perform them, gzip in the background);
- :mod:`.datafile` (opening a data file: the lock, appending), :mod:`.linereader` (bounded
  reading of lines, ``.gz`` included), :mod:`.capture` (the raw-frame capture format);
- :mod:`.fileevents` and :mod:`.runs` (the events log beside a data file, read back as runs).

Nothing here knows an exchange or a socket: the recorder hands lines in, readers take them out.
"""

__all__: list[str] = []
