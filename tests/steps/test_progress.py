"""The terminal status line stays one short line, whatever the number of streams."""

from btclib.recorder import Progress
from btclib.steps.progress import STREAMS_LISTED, status_line


def progress(per_stream: dict[str, int]) -> Progress:
    total = sum(per_stream.values())
    return Progress(elapsed=2.0, duration=10.0, lines=total, rate=5.0, per_stream=per_stream,
                    reconnects=0)  # fmt: skip


def test_a_few_streams_are_listed_with_their_counts():
    line = status_line(progress({"btcusdt@orderbook": 2, "btcusdt@trade": 9}))
    assert line.endswith("btcusdt@orderbook 2  btcusdt@trade 9")
    assert "8.0 s left" in line


def test_thousands_of_streams_are_summed_up_not_listed():
    streams = {f"s{i}@trade": i % 3 for i in range(3000)}
    line = status_line(progress(streams))
    assert len(streams) > STREAMS_LISTED
    assert line.endswith("2,000 of 3,000 streams with data") and len(line) < 120


def test_a_publishing_run_says_how_far_the_broker_is_behind():
    p = progress({"btcusdt@trade": 9})
    assert "broker" not in status_line(p)  # files alone: nothing to say
    p.behind = (0, 0.0)
    assert " | broker up to date | " in status_line(p)
    p.behind = (1234, 3.25)
    assert " | broker 1,234 lines spooled, oldest 3.2 s | " in status_line(p)
