"""The files on disk: how lines reach a file, and how a recording is read back.

- :mod:`.sink`: the :class:`~btclib.files.sink.Sink` protocol (all the recorder knows of a
  sink) and :class:`LineSink`, one writer per file (its thread, fsync, lock, back-pressure);
- :mod:`.rotation` (pure rules: when to switch files, their names) and :mod:`.rotating`
  (the rotating and split sinks that perform them, gzip in the background; ``Output``,
  where a run's lines go, parsed and checked once);
- :mod:`.datafile` (opening a data file: the lock, appending, whether it can be written),
  :mod:`.linereader` (bounded reading of lines, ``.gz`` included);
- the formats, one owner each: :mod:`.capture` (raw frames) and :mod:`.eventlog` (the
  events log beside a data file: its records, writer, reader and path);
  :mod:`.runs` reads an events log back as runs.

Nothing here knows an exchange or a socket: the recorder hands lines in, readers take them out.
"""

__all__: list[str] = []
