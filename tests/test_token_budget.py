"""The tool catalogue has a byte budget: every tool schema costs the model context on every turn.

The budgets and why they are what they are: tests/benchmarks/tokens.py and the README (Performance).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasklink.mcp.schemas import compact_schema
from tests.benchmarks.tokens import MODEL_BUDGET, WIRE_BUDGET, list_tools_payload, sizes

pytestmark = pytest.mark.anyio


async def test_tools_list_stays_within_its_byte_budget(tmp_path: Path) -> None:
    measured = sizes(await list_tools_payload(tmp_path))
    biggest = sorted(measured["per_tool"].items(), key=lambda kv: -kv[1]["model"])[:3]
    assert measured["model_bytes"] <= MODEL_BUDGET, f"name+description+inputSchema grew: {biggest}"
    assert measured["wire_bytes"] <= WIRE_BUDGET, "the whole tools/list result grew past its ceiling"
    assert len(measured["per_tool"]) == 13


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
