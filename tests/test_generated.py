"""Generated files stay in step with the live server: tool definitions, README regions, server.json, manifest format."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner
from mcp import Client
from pydantic import SecretStr

from tasklink import generated
from tasklink.cli import main
from tasklink.manifests import Limits, ManifestFile
from tasklink.mcp.tools import ALL_TOOLS

TOOLS_DIR = generated.TOOLS_DIR


def checked_in_tools() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(TOOLS_DIR.glob("*.json"))}


@pytest.mark.anyio
async def test_tool_files_match_what_the_live_server_lists(client: Client) -> None:
    listed = {
        t.name: {
            k: v
            for k, v in t.model_dump(mode="json", by_alias=True, exclude_none=True).items()
            if k in generated.DEFINITION_KEYS
        }
        for t in (await client.list_tools()).tools
    }
    files = checked_in_tools()
    assert sorted(files) == sorted(listed), "run `tasklink manifests --write`"
    for name, definition in listed.items():
        assert files[name] == definition, f"tool_manifests/tools/{name}.json is stale: run `tasklink manifests --write`"


def test_changing_a_description_without_regenerating_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    create_task = next(spec for spec in ALL_TOOLS if spec.name == "create_task")
    monkeypatch.setattr(create_task.fn, "__doc__", "Create a task somewhere.")
    stale = generated.stale(anyio.run(generated.expected_files))
    assert TOOLS_DIR / "create_task.json" in stale
    assert generated.README in stale  # the README's tool table shows descriptions too


def test_readme_regions_are_current() -> None:
    definitions = anyio.run(generated.tool_definitions)
    text = generated.README.read_text(encoding="utf-8")
    assert generated.readme(definitions, text) == text, "README is stale: run `tasklink manifests --write`"
    for name in definitions:
        assert f"| `{name}` |" in text
    assert "| `delete_task` | yes | no | no | yes |" in text  # Lightfield, SpotDraft, Trackops, Workiva


def test_manifest_format_is_current_and_documents_every_key() -> None:
    text = generated.MANIFEST_FORMAT.read_text(encoding="utf-8")
    assert text == generated.manifest_format(), "tool_manifests/README.md is stale: run `tasklink manifests --write`"
    for table in ManifestFile.model_fields:
        assert f"## `[{table}" in text or f"## `[[{table}]]`" in text, table
    for key, info in Limits.model_fields.items():
        assert f"| `{key}` |" in text and str(info.description) in text, key
    for heading in ("### Requirement", "### Accepted", "### VendorField", "## `[groups.<name>]`"):
        assert heading in text
    assert "`[idempotency]`: only for a vendor that itself deduplicates writes" in text


def test_changing_a_manifest_field_without_regenerating_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Limits.model_fields["list_page_max"], "description", "Records per page.")
    stale = generated.stale(anyio.run(generated.expected_files))
    assert generated.MANIFEST_FORMAT in stale
    assert "| `list_page_max` | integer | — | Records per page. |" in generated.manifest_format()


def test_server_json_is_current_and_describes_every_setting() -> None:
    on_disk = json.loads(generated.SERVER_JSON.read_text(encoding="utf-8"))
    assert on_disk == generated.server_json(), "server.json is stale: run `tasklink manifests --write`"

    pyproject = tomllib.loads((generated.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert on_disk["name"].startswith("io.github.") and on_disk["name"].endswith("/tasklink")
    assert f"mcp-name: {on_disk['name']}" in generated.README.read_text(encoding="utf-8")
    assert 0 < len(on_disk["description"]) <= 100
    (package,) = on_disk["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == pyproject["name"]
    assert package["version"] == on_disk["version"] == pyproject["version"]
    assert package["transport"] == {"type": "stdio"}

    env = {e["name"]: e for e in package["environmentVariables"]}
    for cls in generated.settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field, info in cls.model_fields.items():
            entry = env[(prefix + field).upper()]
            assert entry["description"]
            assert entry["isSecret"] is (SecretStr in generated._types(info.annotation))
    assert env["SPOTDRAFT_CLIENT_SECRET"]["isSecret"] is True
    assert env["LIGHTFIELD_API_KEY"]["isSecret"] is True
    assert env["TASKLINK_TIMEZONE"] == {
        "name": "TASKLINK_TIMEZONE",
        "description": "Zone for date-only due dates.",
        "format": "string",
        "isRequired": False,
        "isSecret": False,
        "default": "UTC",
    }


def test_manifests_command_checks_and_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools_dir = tmp_path / "tools"
    shutil.copytree(TOOLS_DIR, tools_dir)
    readme = tmp_path / "README.md"
    readme.write_text(
        # only the first mention: the generated tool table (the Trackops section names find_people too)
        generated.README.read_text(encoding="utf-8").replace("| `find_people` |", "| `find_persons` |", 1),
        encoding="utf-8",
    )
    (tools_dir / "create_task.json").write_text("{}\n", encoding="utf-8")
    (tools_dir / "retired_tool.json").write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(generated, "ROOT", tmp_path)
    monkeypatch.setattr(generated, "TOOLS_DIR", tools_dir)
    monkeypatch.setattr(generated, "README", readme)
    monkeypatch.setattr(generated, "SERVER_JSON", tmp_path / "server.json")
    manifest_format = tmp_path / "manifest-format.md"
    manifest_format.write_text("# Vendor manifests\n", encoding="utf-8")
    monkeypatch.setattr(generated, "MANIFEST_FORMAT", manifest_format)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    runner = CliRunner()

    check = runner.invoke(main, ["manifests", "--check"])
    assert check.exit_code == 1
    for stale in (
        "tools/create_task.json",
        "tools/retired_tool.json",
        "README.md",
        "server.json",
        "manifest-format.md",
    ):
        assert f"stale: {stale}" in check.output

    written = runner.invoke(main, ["manifests", "--write"])
    assert written.exit_code == 0, written.output
    assert not (tools_dir / "retired_tool.json").exists()
    assert json.loads((tools_dir / "create_task.json").read_text())["name"] == "create_task"
    assert "| `find_people` |" in readme.read_text() and "find_persons" not in readme.read_text()
    assert manifest_format.read_text() == generated.manifest_format()

    again = runner.invoke(main, ["manifests", "--check"])
    assert again.exit_code == 0 and "generated files are current" in again.output
