"""A throwaway PostgreSQL cluster for the tests that need one: initdb into a temp dir, start on a
private unix socket and a free loopback port, stop and delete on exit. Never depends on a server
being up. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user that
Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


def postgres_bin() -> Path | None:
    """The directory of initdb/pg_ctl: Debian's versioned one, else whatever is on PATH."""

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running throwaway cluster: its URL, and stop/start (the data stays) for failure tests."""

    def __init__(self, bindir: Path, root: Path, port: int, prefix: list[str]) -> None:
        self.bindir, self.root, self.port, self.prefix = bindir, root, port, prefix
        self.data, self.sockets = root / "data", root / "sock"
        self.url = f"postgresql://tasklink@127.0.0.1:{port}/postgres"

    def run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off -c max_connections=300"
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60", "-l",
                 str(self.root / "log"), "start")  # fmt: skip
        deadline = time.monotonic() + 30
        while not (self.sockets / f".s.PGSQL.{self.port}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not open its socket within 30 s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def new_database(self) -> str:
        """A fresh, empty database of its own; its URL."""

        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + f"/{name}"


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """A fresh cluster, started; stopped and removed afterwards."""

    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: scripts/test installs Debian's postgresql package")
    root = Path(tempfile.mkdtemp(prefix="tasklink-pg-"))
    (root / "sock").mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(root / "sock", "postgres")
    cluster = Cluster(bindir, root, _free_port(), ["runuser", "-u", "postgres", "--"] if as_root else [])
    try:
        cluster.run(str(bindir / "initdb"), "-D", str(cluster.data), "-U", "tasklink", "--auth=trust", "-E", "UTF8",
                    "--no-sync")  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields a `postgresql://` URL to a fresh, empty database; everything is removed afterwards."""

    with running_cluster() as cluster:
        yield cluster.url
