"""The adapter contract against its manifest: a supported operation must be implemented, checked at start-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp import Client

from tasklink.errors import ConfigurationError
from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.base import OPERATION_METHODS, VendorAdapter
from tasklink.vendors.registry import adapter_for

from .conftest import sandbox_of
from .support import renamed_manifest, text_of

pytestmark = pytest.mark.anyio


def overclaiming_manifest(folder: Path) -> Path:
    """A manifest claiming update_task, which the Trackops adapter behind it lacks."""

    path = renamed_manifest(folder, "overclaim", "Overclaim")
    text = path.read_text(encoding="utf-8")
    block = re.search(r"\[operations\.update_task\]\n(?:[^\[\n].*\n)*", text)
    assert block is not None
    path.write_text(text.replace(block.group(0), "[operations.update_task]\nsupported = true\n"), encoding="utf-8")
    return path


def test_start_up_stops_when_a_manifest_claims_an_operation_its_adapter_lacks(tmp_path: Path) -> None:
    path = overclaiming_manifest(tmp_path)
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, manifest_dirs=[tmp_path])
    with pytest.raises(ConfigurationError) as caught:
        build_server(settings)
    message = str(caught.value)
    assert "Overclaim" in message and "update_task" in message and str(path) in message, message
    assert caught.value.actor == "operator"


def test_every_shipped_manifest_is_implemented_by_its_adapter() -> None:
    for manifest in load_manifests().values():
        adapter = adapter_for(manifest)
        assert adapter.unimplemented(manifest) == []
        for operation, method in OPERATION_METHODS.items():
            implemented = getattr(adapter, method) is not getattr(VendorAdapter, method)
            if manifest.operation(operation).supported:
                assert implemented, (manifest.name, operation)


def test_an_unknown_manifest_folder_is_an_operator_error(tmp_path: Path) -> None:
    settings = TaskLinkSettings(data_dir=tmp_path, sandbox=True, manifest_dirs=[tmp_path / "missing"])
    with pytest.raises(ConfigurationError, match="not a directory"):
        build_server(settings)


async def test_the_manifest_checks_arguments_before_any_adapter_code(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path, sandbox=True))
    async with Client(server) as client:
        result = await client.call_tool("create_task", {"vendor": "trackops", "title": "Canvass", "priority": "HIGH"})
        state = await sandbox_of(server, "trackops")
    text = text_of(result)
    assert result.is_error
    for field in ("`due`", "`vendor_fields.casefile_id`", "`vendor_fields.calendar_id`", "`priority`"):
        assert field in text, text
    assert "Nothing was sent" in text and state.requests_matching("POST", "/api/v1/tasks") == []
