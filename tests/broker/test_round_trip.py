"""One recorder, one server, no fault: the stream rebuilds the recorder's file exactly."""

from __future__ import annotations

from pathlib import Path

from btclib.broker.servers import NatsServer

from .conftest import btclib, consume


def test_record_both_publish_then_consume_is_byte_identical(server: NatsServer, tmp_path: Path):
    data = tmp_path / "stream-data-multi.txt"
    done = btclib(
        "record", "both", "--source", "sim", "--duration", "3",
        "--out", str(data), "--publish", server.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "broker:" in done.stdout and "nothing left in the spool" in done.stdout
    back = tmp_path / "back.txt"
    consumed = consume(server.url, back)
    assert "caught up" in consumed.stdout
    recorded = data.read_bytes()
    assert recorded.count(b"\n") > 20
    assert back.read_bytes() == recorded  # cmp
    # Consuming again into the same file resumes: nothing new, nothing twice...
    consume(server.url, back)
    assert back.read_bytes() == recorded
    # ...and after a second run appended to the data file, exactly that run's lines.
    again = btclib(
        "record", "both", "--source", "sim", "--duration", "2",
        "--out", str(data), "--publish", server.url,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    consume(server.url, back)
    assert len(data.read_bytes()) > len(recorded)
    assert back.read_bytes() == data.read_bytes()


def test_subject_filter_gives_one_exchange_lines_in_order(server: NatsServer, tmp_path: Path):
    data = tmp_path / "d.txt"
    done = btclib(
        "record", "both", "--source", "sim", "--duration", "2",
        "--out", str(data), "--publish", server.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    back = tmp_path / "upbit.txt"
    consume(server.url, back, "--subject", "btclib.upbit.>")
    upbit = [x for x in data.read_bytes().splitlines(keepends=True) if x.startswith(b"btckrw@")]
    assert upbit and back.read_bytes() == b"".join(upbit)


def test_no_file_writes_no_data_file_and_the_stream_has_every_line(
    server: NatsServer, tmp_path: Path
):
    data = tmp_path / "d.txt"
    done = btclib(
        "record", "both", "--source", "sim", "--duration", "2", "--no-file",
        "--out", str(data), "--publish", server.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not data.exists()
    assert data.with_name("d.events.jsonl").exists()  # what happened is still told
    recorded = int(done.stdout.split("Recorded ", 1)[1].split(" ", 1)[0])
    back = tmp_path / "back.txt"
    consume(server.url, back)
    lines = back.read_bytes().splitlines()
    assert recorded > 10 and len(lines) == recorded
    assert {line.split(b",")[0] for line in lines} == {
        b"btcusdt@orderbook",
        b"btcusdt@trade",
        b"btckrw@orderbook",
    }
