"""`tasklink` at a terminal: serve says what it waits for and stops on Ctrl-C; the loopback sandbox
reports its address only once it is bound, and is reset on request; the README's quick start runs twice;
`tasklink manifests` works from an installation made apart from the checkout."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tasklink import generated
from tasklink.console import WAITING
from tasklink.manifests import load_manifests

from .conftest import tasklink_command

pytestmark = pytest.mark.slow

VENDOR_PREFIXES = tuple(f"{name.upper()}_" for name in load_manifests())
REPO = generated.ROOT


def clean_env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("TASKLINK_", *VENDOR_PREFIXES))}
    return env | {"TASKLINK_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"} | extra


def run(*args: str, data: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tasklink_command(), *args],
        env=clean_env(data, **env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- serve on a terminal -----------------------------------------------------------------------------


class Terminal:
    """`tasklink serve` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, data: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes tasklink
            try:
                command = tasklink_command()
                os.execve(command[0], [*command, "serve"], clean_env(data))
            finally:
                os._exit(127)
        self.seen = b""

    def read_until(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen.replace(b"\r\n", b"\n") and time.monotonic() < deadline:
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:  # the child is gone
                    break
        return self.seen.decode(errors="replace").replace("\r\n", "\n")

    def wait(self, timeout: float = 20) -> int | None:
        """The exit status, or None if it is still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_until("\0", timeout=0.1)  # keep the terminal drained
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        return None

    def close(self) -> None:
        try:
            if os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


def test_serve_on_a_terminal_says_it_waits_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    term = Terminal(tmp_path / "data")
    try:
        seen = term.read_until(WAITING)
        assert WAITING in seen, seen
        assert "Ctrl-C" in WAITING and "Ctrl-D" in WAITING and "stdin" in WAITING
        os.kill(term.pid, signal.SIGINT)
        status = term.wait()
        seen = term.read_until("\0", timeout=0.5)
        assert status in (0, 130), f"still running 20 s after Ctrl-C: {seen}"
        assert "Traceback" not in seen and "Aborted" not in seen, seen
    finally:
        term.close()


def test_serve_on_a_terminal_stops_on_ctrl_d(tmp_path: Path) -> None:
    term = Terminal(tmp_path / "data")
    try:
        term.read_until(WAITING)
        os.write(term.fd, b"\x04")  # the terminal's end of input
        assert term.wait() == 0
        assert "Traceback" not in term.read_until("\0", timeout=0.5)
    finally:
        term.close()


def test_serve_for_a_client_says_nothing_more_and_stops_on_sigint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*tasklink_command(), "serve"],
        env=clean_env(tmp_path / "data"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None and proc.stdin is not None and proc.stdout is not None
        banner = proc.stderr.readline().decode()
        assert banner.startswith("tasklink ") and "vendors" in banner
        hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        proc.stdin.write(json.dumps(hello).encode() + b"\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] == 1  # still a working stdio server
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) in (0, 130)
        rest = proc.stderr.read().decode()
        assert WAITING not in rest and "Traceback" not in rest, rest
    finally:
        proc.kill()
        proc.wait()


# -- the loopback sandbox ------------------------------------------------------------------------------


def test_sandbox_reports_its_address_once_bound_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*tasklink_command(), "sandbox", "--port", "0"],
        env=clean_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        address = re.search(r"serving at (http://127\.0\.0\.1:(\d+))", first)
        assert address and address.group(2) != "0", first
        exports = [proc.stderr.readline() for _ in load_manifests()]
        assert all(line.strip().startswith("export ") and address.group(1) in line for line in exports), exports
        # told only once it listens: the address answers at once (the requests log of a simulator)
        with urllib.request.urlopen(f"{address.group(1)}/trackops/_sandbox/requests", timeout=10) as answer:
            assert answer.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) in (0, 130)
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


def test_sandbox_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run("sandbox", "--port", str(port), data=tmp_path / "data")
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == [
        f"tasklink: the sandbox cannot listen on 127.0.0.1:{port} (Address already in use); choose another --port"
    ]
    assert "export" not in out.stdout + out.stderr


def create_intake(data: Path, title: str) -> subprocess.CompletedProcess[str]:
    return run("call", "create_intake", "--args", json.dumps({"title": title, "description": "d"}), data=data)


def test_sandbox_reset_removes_the_simulators_state_and_says_what(tmp_path: Path) -> None:
    data = tmp_path / "data"
    empty = run("sandbox", "reset", data=data)
    assert empty.returncode == 0 and "already empty" in empty.stdout
    assert not data.exists()  # nothing made to say nothing is there

    first = create_intake(data, "Reset me")
    assert first.returncode == 0, first.stderr
    assert create_intake(data, "Reset me").returncode == 1  # the duplicate check refuses a second one
    assert (data / "sandbox" / "spotdraft.sqlite3").exists()

    reset = run("sandbox", "reset", data=data)
    assert reset.returncode == 0, reset.stderr
    assert f"removed the sandbox state of spotdraft from {data / 'sandbox'}" in reset.stdout
    assert "forgot 1 recent create" in reset.stdout
    assert list((data / "sandbox").iterdir()) == []
    again = create_intake(data, "Reset me")
    assert again.returncode == 0, again.stderr  # neither the simulator nor tasklink remembers it


# -- the README's quick start ---------------------------------------------------------------------------


def quick_start() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text[text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 1)]


def test_the_quick_start_example_runs_twice(tmp_path: Path) -> None:
    section = quick_start()
    calls = [line.split("  #")[0] for line in section.splitlines() if line.startswith("tasklink call ")]
    assert calls, "the quick start shows no `tasklink call`"
    for attempt in (1, 2):
        for line in calls:
            out = run(*shlex.split(line)[1:], data=tmp_path / "data")
            assert out.returncode == 0, f"run {attempt} of {line!r}: {out.stderr}"
    assert "duplicate" in section  # and it says why the duplicate check is there


# -- `tasklink manifests` from another installation -------------------------------------------------------


def test_manifests_works_from_an_installation_apart_from_the_checkout(tmp_path: Path) -> None:
    """A copy of the package as `pip install .` lays it out (site-packages/tasklink, manifests inside)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "server" / "tasklink", site / "tasklink", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "tool_manifests", site / "tasklink" / "_manifests")
    env = clean_env(tmp_path / "data", PYTHONPATH=str(site))

    def manifests(cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tasklink", "manifests", "--check"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    outside = manifests(tmp_path)
    assert outside.returncode == 2, outside.stdout + outside.stderr
    assert outside.stderr.splitlines() == [
        "tasklink: `tasklink manifests` checks and writes the generated files of a tasklink checkout: run it inside one"
    ]
    inside = manifests(REPO / "docs")  # anywhere in the checkout
    from_checkout = run("manifests", "--check", data=tmp_path / "data", cwd=REPO)
    assert (inside.returncode, inside.stdout) == (from_checkout.returncode, from_checkout.stdout), inside.stderr
    assert inside.returncode in (0, 1) and "Traceback" not in inside.stderr
