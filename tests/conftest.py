"""Shared fixtures: an isolated data dir, the server on its sandbox, MCP clients in both eras."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.sandbox._core import SandboxState
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.state import StateStore, open_store

from .pg_support import Cluster, running_cluster

VENDOR_ENV_PREFIXES = ("TASKLINK_", *(f"{name.upper()}_" for name in load_manifests()))

MODES = ["auto", "legacy"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's real credentials or data dir."""
    for key in list(os.environ):
        if key.startswith(VENDOR_ENV_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TASKLINK_DATA_DIR", str(tmp_path / "data"))


#: the two state stores; a test module with `BOTH_STORES = True` runs each of its tests that uses `state_url`
#: (the `settings` fixture does) on each
STORES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the run, started by the first test that needs it."""

    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A fresh, empty PostgreSQL database of the test's own."""

    return pg_cluster.new_database()


@pytest.fixture
def state_url(request: pytest.FixtureRequest) -> str | None:
    """TASKLINK_STATE_URL for the test: None (SQLite in the data dir) unless parametrized with "postgresql"."""

    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    url = request.getfixturevalue("pg_url")
    assert isinstance(url, str)
    return url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "state_url" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_STORES", False):
        metafunc.parametrize("state_url", STORES, indirect=True)


@pytest.fixture
def settings(tmp_path: Path, state_url: str | None) -> TaskLinkSettings:
    return TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, state_url=state_url)


@pytest.fixture
async def store(settings: TaskLinkSettings) -> AsyncIterator[StateStore]:
    """The configured state store, opened (and migrated) as a worker opens it."""

    opened = open_store(settings)
    yield opened
    await opened.aclose()


@pytest.fixture
def server(settings: TaskLinkSettings) -> MCPServer:
    return build_server(settings)


def service_of(server: MCPServer) -> TaskLink:
    tl = server.service
    assert isinstance(tl, TaskLink)
    return tl


async def sandbox_of(server: MCPServer, vendor: str) -> SandboxState:
    """The vendor simulator behind a server (built on first use)."""
    tl = service_of(server)
    await tl.vendors.adapter(vendor)
    state = tl.vendors.runtimes[vendor].sandbox_app.state.sandbox
    assert isinstance(state, SandboxState)
    return state


@pytest.fixture(params=MODES)
async def client(request: pytest.FixtureRequest, server: MCPServer) -> AsyncIterator[Client]:
    async with Client(server, mode=request.param) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedUvicorn:
    """A real HTTP server on loopback for the duration of a test."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        started = threading.Event()
        for _ in range(500):
            if self.server.started:
                started.set()
                break
            self.thread.join(0.01)
        assert started.is_set(), "loopback server did not start within 5 s"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def loopback_sandbox(tmp_path: Path) -> Iterator[tuple[ThreadedUvicorn, dict[str, str]]]:
    """Every vendor simulator on a real loopback port, plus the env that points tasklink at it."""
    from tasklink.sandbox.server import loopback_app

    sandbox_settings = TaskLinkSettings(data_dir=tmp_path / "loopback")
    port = free_port()
    app, hints = loopback_app(sandbox_settings, f"http://127.0.0.1:{port}")
    env: dict[str, str] = {}
    for line in hints[1:]:
        for pair in line.strip().removeprefix("export ").split():
            key, _, value = pair.partition("=")
            env[key] = value
    with ThreadedUvicorn(app, port) as srv:
        yield srv, env


def tasklink_command() -> list[str]:
    return [sys.executable, "-m", "tasklink"]


#: tables tests want shown at the end of the run (e.g. the fault matrix)
REPORTS: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for report in REPORTS:
        terminalreporter.write_line("")
        for line in report.splitlines():
            terminalreporter.write_line(line)
