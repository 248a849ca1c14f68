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


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields a `postgresql://` URL to a fresh, empty database; everything is removed afterwards."""

    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: scripts/test installs Debian's postgresql package")
    root = Path(tempfile.mkdtemp(prefix="tasklink-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "tasklink", "--auth=trust", "-E", "UTF8", "--no-sync")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=200"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60", "-l", str(root / "log"), "start")
    try:
        deadline = time.monotonic() + 30
        while not (sockets / f".s.PGSQL.{port}").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not open its socket within 30 s")
            time.sleep(0.05)
        yield f"postgresql://tasklink@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
