"""Start-up does only what `initialize` and `tools/list` need.

- `tools/list` is served from the checked-in definitions, filtered and completed exactly as the built
  tools would list them (tests/test_generated.py keeps the files equal to the tools); each tool is
  built the first time it is called.
- No simulator, no adapter of a vendor without credentials, no retry library and no JSON Schema
  validator is imported to start serving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tasklink.manifests import load_manifests
from tasklink.mcp import server as server_module
from tasklink.mcp.server import build_server
from tasklink.refs import sibling
from tasklink.sandbox.demo import DEMO_SETTINGS
from tasklink.settings import TaskLinkSettings

from .contract.harness import TASKTRAIL_MANIFESTS

pytestmark = pytest.mark.anyio

PROBE = """
import json, sys
import tasklink.cli
from tasklink.mcp.server import build_server
server = build_server()
print(json.dumps(sorted(sys.modules)))
"""


def test_serving_imports_no_simulator_adapter_retry_library_or_schema_validator(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLINK_", *VENDOR_PREFIXES))}
    env["TASKLINK_DATA_DIR"] = str(tmp_path / "data")
    found = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    modules = json.loads(found.stdout)
    simulators = [m for m in modules if m.startswith("tasklink.sandbox.") and m != "tasklink.sandbox.demo"]
    adapters = [m for m in modules if m.startswith("tasklink.vendors.") and m.rpartition(".")[2] in load_manifests()]
    heavy = [m for m in modules if m.split(".")[0] in ("stamina", "tenacity", "jsonschema")]
    assert (simulators, adapters, heavy) == ([], [], [])


VENDOR_PREFIXES = tuple(f"{name.upper()}_" for name in load_manifests())

CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "everything": {},
    "read-only": {"read_only": True},
    "allow- and deny-lists": {"tools": ["get_task", "list_tasks", "delete_task"], "exclude_tools": ["delete_task"]},
    "one vendor without people": {"vendors": ["trackops"]},
    "the intake vendor only": {"vendors": ["spotdraft"]},
    "a vendor from a manifest folder": {"manifest_dirs": [TASKTRAIL_MANIFESTS]},
}


def dumped(tools: list[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


@pytest.mark.parametrize("config", list(CONFIGURATIONS))
async def test_listed_definitions_are_what_the_built_tools_list(config: str, tmp_path: Path) -> None:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, **CONFIGURATIONS[config])
    listed = build_server(settings)
    built = build_server(settings, checked_in=False)
    from_files = dumped(await listed.list_tools())
    assert from_files == dumped(await built.list_tools())
    assert listed._tool_manager.built == []  # listing built nothing
    async with Client(listed, mode="legacy") as client:
        assert dumped((await client.list_tools()).tools) == from_files


async def test_a_tool_is_built_when_first_called(settings: TaskLinkSettings) -> None:
    server = build_server(settings)
    async with Client(server) as client:
        result = await client.call_tool("list_vendors", {})
    assert not result.is_error
    assert server._tool_manager.built == ["list_vendors"]


async def test_a_missing_definition_lists_the_built_tools(
    settings: TaskLinkSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "get_task.json").write_text((server_module.definitions_dir() / "get_task.json").read_text())
    monkeypatch.setattr(server_module, "definitions_dir", lambda: folder)
    server = build_server(settings)
    expected = dumped(await build_server(settings, checked_in=False).list_tools())
    assert dumped(await server.list_tools()) == expected


def test_demo_credentials_are_the_simulators_own() -> None:
    shipped = {name: m for name, m in load_manifests().items() if m.sandbox.partition(":")[0] in DEMO_SETTINGS}
    assert len(shipped) == len(DEMO_SETTINGS) == len(load_manifests())
    for manifest in shipped.values():
        assert DEMO_SETTINGS[manifest.sandbox.partition(":")[0]] == sibling(manifest.sandbox, "demo_settings")()


def test_shipped_settings_read_the_variables_the_registry_looks_for() -> None:
    """A vendor without any `<NAME>_*` variable is put on its sandbox without importing its adapter."""

    from tasklink.vendors.registry import adapter_for

    for name, manifest in load_manifests().items():
        settings_class = adapter_for(manifest).settings_class
        assert str(settings_class.model_config.get("env_prefix", "")).upper() == f"{name.upper()}_"


def test_vendors_are_configured_without_loading_what_they_do_not_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTFIELD_API_KEY", "sk_lf_live_key_0123456789")
    monkeypatch.setenv("TRACKOPS_BASE_URL", "http://127.0.0.1:9/trackops")  # a setting, not a credential
    settings = TaskLinkSettings(data_dir=tmp_path / "data", manifest_dirs=[TASKTRAIL_MANIFESTS])
    runtimes = build_server(settings).service.vendors.runtimes
    loaded = {name: rt.loaded_adapter is not None for name, rt in runtimes.items()}
    assert loaded == {"lightfield": True, "spotdraft": False, "trackops": True, "workiva": False, "tasktrail": True}
    assert {name: rt.mode for name, rt in runtimes.items()} == {
        "lightfield": "live",
        "spotdraft": "sandbox",
        "trackops": "sandbox",
        "workiva": "sandbox",
        "tasktrail": "sandbox",
    }
    assert runtimes["workiva"].settings.api_base_url()  # the sandbox settings are made when first asked for
    assert runtimes["workiva"].loaded_adapter is not None
