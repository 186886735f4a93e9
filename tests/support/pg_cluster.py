"""A private PostgreSQL cluster (initdb + pg_ctl) on a spare port under /tmp, for restart drills.

The shared cluster of the test run (DATABASE_URL, usually port 5432) is never stopped: a drill
copies the test database into this cluster (`copy_database`), points its web process and
workers at the copy and restarts this cluster under load. Its data lives in a fresh directory
under /tmp with fsync off (nothing of it outlives the test). As root, the server runs as the
`postgres` user, since PostgreSQL refuses to run as root.
"""

import getpass
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import environ
from django.db import connection

from tests.support.redis_server import free_port


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    return Path(versions[-1]) if versions else None


def _server_user() -> str | None:
    """Who runs the server: the current user, or `postgres` when we are root (None: nobody)."""
    if os.geteuid() != 0:
        return getpass.getuser()
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


def postgres_cluster_problem() -> str | None:
    """None when a private cluster can be made here, else why not."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        return "initdb and pg_ctl are not installed (apt-get install postgresql)"
    if _server_user() is None:
        return "running as root and there is no `postgres` user to run a private cluster as"
    return None


class PostgresCluster:
    """`with PostgresCluster() as pg:` runs a private cluster on `pg.port` until the block ends."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        user = _server_user()
        assert bin_dir is not None and user is not None, postgres_cluster_problem()
        self.bin = bin_dir
        self.user = user
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="xm-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    # --- running the server as its owner -------------------------------------------------------

    def _as_owner(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(  # noqa: S603 - fixed programs, our own arguments
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            check=False,
            **self._as_owner(),
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed:\n{result.stdout}{result.stderr}\n{log}")

    def init(self) -> None:
        if os.geteuid() != 0:
            self.root.chmod(0o700)
        else:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session (rolled back), as a restart does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, down_for: float = 0.0) -> float:
        """Stop, stay down `down_for` seconds, start; returns how long it was unreachable."""
        started = time.monotonic()
        self.stop()
        time.sleep(down_for)
        self.start()
        return time.monotonic() - started

    # --- databases ---------------------------------------------------------------------------

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_database(self, source_url: str, name: str) -> str:
        """Create database `name` here as a copy of `source_url` (schema and rows); its URL."""
        cfg = environ.Env.db_url_config(source_url)
        client_env = {**os.environ, "PGPASSWORD": cfg.get("PASSWORD") or ""}
        subprocess.run(  # noqa: S603
            [str(self.bin / "psql"), "-q", "-d", self.url(), "-c", f'CREATE DATABASE "{name}"'],
            check=True,
            capture_output=True,
            timeout=30,
        )
        dump = subprocess.Popen(  # noqa: S603
            [
                str(self.bin / "pg_dump"),
                "--no-owner",
                "--no-acl",
                "-h",
                cfg.get("HOST") or "127.0.0.1",
                "-p",
                str(cfg.get("PORT") or 5432),
                "-U",
                cfg.get("USER") or "postgres",
                cfg["NAME"],
            ],
            stdout=subprocess.PIPE,
            env=client_env,
        )
        restore = subprocess.run(  # noqa: S603
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(name)],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert dump.stdout is not None
        dump.stdout.close()
        if dump.wait(timeout=60) != 0 or restore.returncode != 0:
            raise RuntimeError(f"copying {cfg['NAME']} failed:\n{restore.stderr}")
        return self.url(name)

    def __enter__(self) -> "PostgresCluster":
        self.init()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def default_database(url: str) -> Iterator[None]:
    """Point this process's default connection at `url` until the block ends.

    The drill then reads its own cluster with the ORM; the test database's settings come back
    afterwards, in time for the test's teardown. After a restart of the cluster, close the
    connection (`connection.close()`) before the next query: outside a request nothing
    replaces a broken connection.
    """
    cfg = environ.Env.db_url_config(url)
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    saved = {key: connection.settings_dict.get(key) for key in keys}
    connection.close()
    connection.settings_dict.update({key: cfg.get(key) or "" for key in keys})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
