"""The tool catalogue has a byte budget: every tool schema costs the model context on every turn.

The budgets and why they are what they are: tests/benchmarks/tokens.py and the README (Performance).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasklink.mcp.schemas import compact_schema
from tests.benchmarks.tokens import (
    MODEL_BUDGET,
    TOOL_BUDGETS,
    VENDOR_BYTES,
    WIRE_BUDGET,
    list_tools_payload,
    sizes,
)

from .support import renamed_manifest

pytestmark = pytest.mark.anyio


def assert_within_budgets(measured: dict[str, Any]) -> None:
    assert set(measured["per_tool"]) == set(TOOL_BUDGETS)
    for name, size in measured["per_tool"].items():
        own = size["model"] - size["vendor_names"]
        assert own <= TOOL_BUDGETS[name], f"{name}: name+description+inputSchema is {own} bytes"
        assert size["vendor_names"] <= VENDOR_BYTES * size["vendors"], f"{name}: a vendor name is too long"
    assert measured["model_bytes"] <= MODEL_BUDGET, "the catalogue grew past its ceiling"


async def test_tools_list_stays_within_its_byte_budget(tmp_path: Path) -> None:
    measured = sizes(await list_tools_payload(tmp_path))
    assert_within_budgets(measured)
    assert measured["wire_bytes"] <= WIRE_BUDGET, "the whole tools/list result grew past its ceiling"


async def test_a_fifth_vendor_stays_within_the_budgets(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    renamed_manifest(folder, "northwind", "Northwind")
    measured = sizes(await list_tools_payload(tmp_path / "data", [folder]))
    assert measured["per_tool"]["create_task"]["vendors"] == 5
    assert_within_budgets(measured)


async def test_schemas_carry_no_pydantic_noise(tmp_path: Path) -> None:
    payload = await list_tools_payload(tmp_path)
    for tool in payload["tools"]:
        for key in ("inputSchema", "outputSchema"):
            schema = tool.get(key) or {}
            assert compact_schema(schema) == schema, (tool["name"], key)
            for name, prop in schema.get("properties", {}).items():
                assert "title" not in prop and prop.get("default", 0) is not None, (tool["name"], name)


def test_compaction_keeps_properties_named_like_keywords() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string", "description": "Task title."},
            "default": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "description": "d"},
        },
        "required": ["title"],
    }
    assert compact_schema(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Task title."},
            "default": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"},
        },
        "required": ["title"],
    }
