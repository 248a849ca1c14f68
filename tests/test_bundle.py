"""`tasklink bundle` (an MCP Bundle) and `server.json` (the MCP Registry entry), checked against their
official formats.

- The bundle is written by the CLI, unpacked and validated with the official MCP Bundle CLI
  (`@anthropic-ai/mcpb`, installed with the other Node clients in tests/clients); then the server is started
  from the unpacked bundle exactly as its manifest's `mcp_config` says (with a Python that has none of
  tasklink's packages of its own) and answers `tools/list` through the Python MCP client over stdio.
- `server.json` is validated against the MCP Registry's published schema named by its `$schema`
  (https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json). The machine that runs
  the tests has no route to that address, so a copy is kept in tests/schemas/: byte-for-byte the published
  file, whose SHA-256 (pinned below) two public projects pin for that URL (one of them after comparing it
  with the live file).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters
from pydantic import SecretStr

from tasklink import __version__
from tasklink.generated import SERVER_JSON, _types
from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.sandbox.demo import DEMO_SETTINGS
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import adapter_for

from .conftest import tasklink_command
from .http_support import NODE_BIN, node_env

pytestmark = pytest.mark.anyio

REGISTRY_SCHEMA = Path(__file__).parent / "schemas" / "mcp-registry-server-2025-12-11.schema.json"
REGISTRY_SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKLINK_")}
    env["TASKLINK_DATA_DIR"] = str(out / "data")
    made = subprocess.run(
        [*tasklink_command(), "bundle", "--out", str(out)], env=env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    path = out / f"tasklink-{__version__}.mcpb"
    assert path.is_file()
    assert f"wrote {path}" in made.stdout
    return path


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    return folder


def manifest_of(folder: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return found


def mcpb() -> str:
    path = NODE_BIN / "mcpb"
    if path.exists():
        return str(path)
    message = "the MCP Bundle CLI is not installed: run scripts/test (or `npm ci` in tests/clients)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_the_official_cli_validates_the_bundle(bundle: Path, tmp_path: Path) -> None:
    cli = mcpb()
    env = node_env(tmp_path / "home")
    target = tmp_path / "by-mcpb"
    unpacked = subprocess.run([cli, "unpack", str(bundle), str(target)], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
    assert unpacked.returncode == 0, unpacked.stdout + unpacked.stderr
    validated = subprocess.run(
        [cli, "validate", str(target / "manifest.json")], env=env, capture_output=True, text=True, timeout=120
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "Manifest schema validation passes" in validated.stdout
    info = subprocess.run([cli, "info", str(bundle)], env=env, capture_output=True, text=True, timeout=120)
    assert info.returncode == 0, info.stdout + info.stderr


async def test_the_manifest_declares_tools_prompts_and_vendor_settings(unpacked: Path, tmp_path: Path) -> None:
    manifest = manifest_of(unpacked)
    assert (manifest["name"], manifest["version"], manifest["server"]["type"]) == ("tasklink", __version__, "python")
    assert (unpacked / manifest["server"]["entry_point"]).is_file()

    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, read_only=False, tools=[], vendors=[])
    async with Client(build_server(settings)) as client:
        tools = {t.name: t.description for t in (await client.list_tools()).tools}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert {t["name"]: t["description"] for t in manifest["tools"]} == tools
    assert {p["name"] for p in manifest["prompts"]} == prompts
    review = next(p for p in manifest["prompts"] if p["name"] == "review_tasks")
    assert "${arguments.vendor}" in review["text"]

    # each vendor setting is a user_config entry mapped to the vendor's own variable; credentials are sensitive
    env = manifest["server"]["mcp_config"]["env"]
    config = manifest["user_config"]
    for name, vendor_manifest in load_manifests().items():
        settings_class = adapter_for(vendor_manifest).settings_class
        for field in settings_class.credential_fields:
            key = f"{name}_{field}"
            variable = f"{name.upper()}_{field.upper()}"
            assert env[variable] == f"${{user_config.{key}}}"
            assert config[key]["required"] is False
            secret = SecretStr in _types(settings_class.model_fields[field].annotation)
            assert config[key].get("sensitive", False) is secret, key
    assert config["lightfield_api_key"]["sensitive"] is True
    assert env["LIGHTFIELD_API_KEY"] == "${user_config.lightfield_api_key}"
    demo_secrets = [v for s in DEMO_SETTINGS.values() for k, v in s.items() if k in ("api_key", "client_secret")]
    text = (unpacked / "manifest.json").read_text()
    assert not [s for s in demo_secrets if s in text], "no credential is baked into the bundle"


def host_command(manifest: dict[str, Any], folder: Path) -> tuple[str, list[str], dict[str, str]]:
    """What a desktop host runs for the manifest: `${__dirname}` is the unpacked bundle, and every
    `${user_config.*}` the user left empty is an empty string."""

    config = manifest["server"]["mcp_config"]

    def expand(value: str) -> str:
        value = value.replace("${__dirname}", str(folder))
        for key in manifest["user_config"]:
            value = value.replace(f"${{user_config.{key}}}", "")
        return value

    return config["command"], [expand(a) for a in config["args"]], {k: expand(v) for k, v in config["env"].items()}


def bare_python() -> str:
    """An interpreter without tasklink's packages: the base of this virtual environment."""

    base = getattr(sys, "_base_executable", sys.executable)
    return base if Path(base).exists() else sys.executable


async def test_the_bundled_server_answers_a_client(unpacked: Path, tmp_path: Path) -> None:
    manifest = manifest_of(unpacked)
    command, args, env = host_command(manifest, unpacked)
    assert command == "python"
    home = tmp_path / "home"
    home.mkdir()
    # the host's environment: a PATH and a HOME (the data dir goes under it), none of tasklink's settings
    env |= {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    python = bare_python()

    where = subprocess.run(
        [python, "-c", "import tasklink, mcp, pydantic_core; print(tasklink.__file__, mcp.__file__)"],
        env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert all(Path(p).is_relative_to(unpacked) for p in where.stdout.split()), "the bundle's own packages run"

    params = StdioServerParameters(command=python, args=args, env=env, cwd=str(tmp_path))
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        vendors = await client.call_tool("list_vendors", {})
    assert tools == {t["name"] for t in manifest["tools"]}
    assert not vendors.is_error
    assert {v["mode"] for v in vendors.structured_content["vendors"]} == {"sandbox"}
    assert list(home.rglob("state.sqlite3")), "state went to the user's data dir"


def test_server_json_validates_against_the_registry_schema() -> None:
    raw = REGISTRY_SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == REGISTRY_SCHEMA_SHA256, "the published schema, unchanged"
    schema = json.loads(raw)
    document = json.loads(SERVER_JSON.read_text())
    assert document["$schema"] == schema["$id"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)] == []

    # the schema is live: what the registry refuses, it refuses here too
    broken = json.loads(json.dumps(document))
    broken["description"] = "x" * 101
    broken["packages"][0]["version"] = "latest"
    del broken["name"]
    messages = [e.message for e in validator.iter_errors(broken)]
    assert len(messages) == 3, messages
