"""A WebSocket server that floods clients with exchange-shaped frames, in its own process.

Run as ``python -m btclib.tools.bench.flood [--port 0] [--max-seconds 900]``: it binds
127.0.0.1 only, prints ``PORT <n>`` on stdout, and serves until stdin closes (its
parent went away), SIGTERM, or ``--max-seconds`` pass.

Paths are the exchanges' own, optionally behind one segment of run parameters
(``key=value`` pairs separated by commas), which is how the harness tells the
server how many frames to send and how fast:

- ``/[params/]stream?streams=btcusdt@depth5/btcusdt@trade``: Binance combined
  stream, text frames, sent at once;
- ``/[params/][...]/ws[/<id>]``: Binance raw stream: waits for a ``SUBSCRIBE``
  request, answers ``{"result":null,"id":...}`` and sends bare payloads (for ccxt,
  which wants ``/stream`` somewhere in a spot URL: ``/n=.../stream/ws`` does);
- ``/[params/]websocket/v1``: Upbit: waits for the JSON request array, then sends
  binary DEFAULT-format orderbook frames for its codes.

Parameters: ``n`` (frames to send, then a close frame 1000; default 1,000,000) and
``rate`` (frames per second; 0 = flood: a pre-encoded cycle handed to ``sendall`` as
fast as the socket takes it; > 0 = paced, each frame stamped with
``time.monotonic_ns()`` at send time in its price field). Pings get pongs.

The server is blocking sockets and one thread per connection: in flood mode it
spends its time in ``sendall`` (the kernel), not in Python, so on loopback the
client is the bottleneck.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from . import frames as fr

__all__ = ["flood", "main", "paced", "serve"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_cycles: dict[tuple[str, ...], fr.Cycle] = {}
_cycles_lock = threading.Lock()


def cycle_for(kind: str, names: list[str]) -> fr.Cycle:
    """Pre-encoded cycles are built once per stream set and shared (copied per connection)."""
    key = (kind, *names)
    with _cycles_lock:
        cycle = _cycles.get(key)
        if cycle is None:
            if kind == "upbit":
                cycle = fr.upbit_cycle(names)
            else:
                cycle = fr.binance_cycle(names, raw=kind == "raw")
            _cycles[key] = cycle
    return fr.Cycle(bytearray(cycle.buffer), cycle.ends, cycle.patches, cycle.trades)


class Closed(Exception):
    pass


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.close_sent = False
        self.messages: list[bytes] = []
        self.message_ready = threading.Condition()

    # Handshake.

    def handshake(self) -> str:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed
            data += chunk
            if len(data) > 65536:
                raise Closed
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()
        self.sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return path

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed.is_set():
            raise Closed
        with self.lock:
            self.sock.sendall(data)

    # Reading the client's frames (masked): pings, close, requests.

    def reader(self) -> None:
        buf = bytearray()
        try:
            while True:
                while True:
                    frame = _parse_client_frame(buf)
                    if frame is None:
                        break
                    opcode, payload = frame
                    if opcode == fr.PING:
                        with self.lock:
                            self.sock.sendall(fr.ws_frame(fr.PONG, payload))
                    elif opcode == fr.CLOSE:
                        with self.lock:
                            if not self.close_sent:
                                self.close_sent = True
                                self.sock.sendall(fr.ws_frame(fr.CLOSE, payload[:2]))
                        return
                    elif opcode in (fr.TEXT, fr.BINARY):
                        with self.message_ready:
                            self.messages.append(payload)
                            self.message_ready.notify()
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
        except OSError:
            return
        finally:
            self.closed.set()
            with self.message_ready:
                self.message_ready.notify_all()

    def next_message(self, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        with self.message_ready:
            while not self.messages:
                left = deadline - time.monotonic()
                if self.closed.is_set() or left <= 0:
                    raise Closed
                self.message_ready.wait(left)
            return self.messages.pop(0)

    def finish(self) -> None:
        """Send close 1000, wait for the client's answer, close the socket."""
        with self.lock:
            if not self.close_sent:
                self.close_sent = True
                with contextlib.suppress(OSError):
                    self.sock.sendall(fr.close_frame(1000))
        self.closed.wait(5.0)


def _parse_client_frame(buf: bytearray) -> tuple[int, bytes] | None:
    if len(buf) < 2:
        return None
    opcode = buf[0] & 0x0F
    length = buf[1] & 0x7F
    pos = 2
    if length == 126:
        if len(buf) < 4:
            return None
        (length,) = struct.unpack_from("!H", buf, 2)
        pos = 4
    elif length == 127:
        if len(buf) < 10:
            return None
        (length,) = struct.unpack_from("!Q", buf, 2)
        pos = 10
    masked = buf[1] & 0x80
    mask = b""
    if masked:
        if len(buf) < pos + 4:
            return None
        mask = bytes(buf[pos : pos + 4])
        pos += 4
    if len(buf) < pos + length:
        return None
    payload = bytes(buf[pos : pos + length])
    del buf[: pos + length]
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload


def _params(path: str) -> tuple[dict[str, float], str, dict[str, list[str]]]:
    split = urlsplit(path)
    params: dict[str, float] = {}
    route = []
    for segment in split.path.split("/"):
        if "=" in segment:
            for pair in segment.split(","):
                name, _, value = pair.partition("=")
                params[name] = float(value)
        elif segment:
            route.append(segment)
    return params, "/" + "/".join(route), parse_qs(split.query)


def handle(sock: socket.socket) -> None:
    conn = Connection(sock)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        path = conn.handshake()
        threading.Thread(target=conn.reader, daemon=True).start()
        params, route, query = _params(path)
        n = int(params.get("n", 1_000_000))
        rate = params.get("rate", 0.0)
        if "ws" in route.split("/"):
            request = json.loads(conn.next_message())
            names = list(request.get("params", []))
            conn.send(fr.ws_frame(fr.TEXT, b'{"result":null,"id":%d}' % int(request.get("id", 1))))
            kind = "raw"
        elif route.endswith("/stream"):
            kind, names = "binance", query.get("streams", [""])[0].split("/")
        elif route.endswith("/websocket/v1"):
            request = json.loads(conn.next_message())
            names = [c for item in request if "codes" in item for c in item["codes"]]
            kind = "upbit"
        else:
            conn.send(fr.close_frame(1008, b"unknown path"))
            return
        if rate > 0:
            paced(conn, kind, names, n, rate)
        else:
            flood(conn, kind, names, n)
        conn.finish()
    except (Closed, OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def flood(conn: Connection, kind: str, names: list[str], n: int) -> None:
    cycle = cycle_for(kind, names)
    per = len(cycle.ends)
    full, rest = divmod(n, per)
    view = memoryview(cycle.buffer)
    for c in range(full + (1 if rest else 0)):
        if c:
            cycle.patch(c)
        conn.send(view if c < full else view[: cycle.ends[rest - 1]])


def paced(conn: Connection, kind: str, names: list[str], n: int, rate: float) -> None:
    rng = random.Random(3)
    interval = 1.0 / rate
    # Frames are built with a placeholder of the stamp's width; the stamp itself is
    # taken just before the send, so building a frame is not counted as latency.
    width = len(str(time.monotonic_ns()))
    mark = 10 ** (width - 1)  # a number of the stamp's width, unlike any price
    placeholder = b"%d" % mark
    start = time.monotonic()
    for i in range(n):
        if kind == "upbit":
            frame = fr.upbit_stamped(names, i, mark, rng)
        else:
            frame = fr.binance_stamped(names, i, mark, rng, raw=kind == "raw")
        due = start + i * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        conn.send(frame.replace(placeholder, b"%d" % time.monotonic_ns(), 1))


def serve(port: int, max_seconds: float) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"PORT {listener.getsockname()[1]}", flush=True)
    deadline = time.monotonic() + max_seconds

    def watch_parent() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin or dies
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    listener.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        sock.settimeout(None)
        threading.Thread(target=handle, args=(sock,), daemon=True).start()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m btclib.tools.bench.flood", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # Pre-build the default cycles so the first run does not time their encoding.
    cycle_for("binance", ["btcusdt@depth5", "btcusdt@trade"])
    cycle_for("upbit", ["KRW-BTC"])
    serve(args.port, args.max_seconds)


if __name__ == "__main__":
    main()
