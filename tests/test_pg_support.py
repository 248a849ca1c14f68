"""The throwaway PostgreSQL cluster the shared-state tests use starts, answers and goes away."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from .pg_support import postgres_bin, throwaway_cluster


def test_a_throwaway_cluster_answers_and_is_removed() -> None:
    bindir = postgres_bin()
    assert bindir is not None
    with throwaway_cluster() as url:
        parts = urlsplit(url)
        psql = bindir / "psql" if (bindir / "psql").exists() else Path("psql")
        done = subprocess.run(
            [str(psql), "-h", str(parts.hostname), "-p", str(parts.port), "-U", "tasklink", "-d", "postgres",
             "-tAc", "select 6 * 7"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.stdout.strip() == "42", done.stderr
    with socket.socket() as probe:  # stopped: nothing listens on its port any more
        assert probe.connect_ex(("127.0.0.1", int(parts.port or 0))) != 0
