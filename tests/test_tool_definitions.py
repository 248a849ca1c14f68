"""Every tool is described well enough for a model to use it without guessing."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from .support import EXPECTED_TOOLS

pytestmark = pytest.mark.anyio


def properties_without_description(schema: dict[str, Any]) -> list[str]:
    return [name for name, prop in schema.get("properties", {}).items() if not prop.get("description")]


async def test_every_tool_is_fully_described(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) >= EXPECTED_TOOLS
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 20, name
        assert tool.title, name
        assert tool.input_schema["type"] == "object", name
        assert properties_without_description(tool.input_schema) == [], name
        assert tool.output_schema and tool.output_schema.get("type") == "object", name
        ann = tool.annotations
        assert ann is not None, name
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(ann, hint) is not None, (name, hint)


async def test_annotations_match_what_tools_do(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("get_intake", "list_intakes", "get_task", "list_tasks", "list_vendors", "find_people"):
        assert tools[name].annotations.read_only_hint is True, name
    for name in ("delete_intake", "delete_task"):
        assert tools[name].annotations.destructive_hint is True, name
        assert tools[name].annotations.read_only_hint is False, name
    for name in ("create_intake", "create_task"):
        assert tools[name].annotations.idempotent_hint is False, name
        assert tools[name].annotations.destructive_hint is False, name


async def test_confirmation_plumbing_is_not_an_argument(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("delete_intake", "delete_task"):
        props = tools[name].input_schema["properties"]
        assert "approval" not in props and "ctx" not in props
        assert {"confirm", "confirm_token"} <= set(props)
