"""A private `redis-server` on a spare loopback port, which a fault drill may stop and start.

The shared Redis of the test run is never touched: a drill points its web process and workers
at this one (`url()`), then stops it for as long as the outage lasts. It keeps nothing on disk,
so it comes back empty, as after a crash without persistence: whatever was queued in it is
gone too, and only what the database holds can bring the work back.
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_problem() -> str | None:
    """None when `redis-server` can be run here, else why not."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install redis-server)"
    return None


class RedisServer:
    """`with RedisServer(tmp) as r:` runs redis-server on `r.port` until the block ends."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log = directory / f"redis-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10) -> None:
        """Start (again) on the same port and wait until it answers PING."""
        assert self.proc is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.log.read_text()}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server not answering within {timeout}s")

    def stop(self) -> None:
        """Stop at once (SIGKILL: no last save, clients see their connections drop)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
