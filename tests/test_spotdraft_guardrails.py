"""Operations SpotDraft's public API cannot do are refused before any request is sent."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitResult

from .conftest import MODES, sandbox_of
from .support import text_of

pytestmark = pytest.mark.anyio

UNSUPPORTED_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_tasks", {"vendor": "spotdraft"}, "get_intake"),
    ("get_task", {"vendor": "spotdraft", "task_id": "501"}, "get_intake"),
    ("update_task", {"vendor": "spotdraft", "task_id": "501", "title": "New"}, "create_task"),
    ("update_task", {"vendor": "spotdraft", "task_id": "501", "assignees": ["100"]}, "update_intake_assignees"),
    ("delete_task", {"vendor": "spotdraft", "task_id": "501"}, "delete_intake"),
    (
        "delete_task",
        {"vendor": "spotdraft", "task_id": "501", "confirm": True, "confirm_token": "x.y"},
        "delete_intake",
    ),
]


@pytest.mark.parametrize(("tool", "arguments", "alternative"), UNSUPPORTED_CALLS)
async def test_unsupported_task_operations_send_nothing(
    client: Client, server: MCPServer, tool: str, arguments: dict[str, Any], alternative: str
) -> None:
    state = await sandbox_of(server, "spotdraft")
    before = len(state.requests)
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    message = text_of(result)
    assert "SpotDraft does not support" in message
    assert alternative in message
    assert "Nothing was sent" in message
    assert len(state.requests) == before


@pytest.mark.parametrize("mode", MODES)
async def test_unsupported_delete_is_refused_before_asking_the_user(server: MCPServer, mode: str) -> None:
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    state = await sandbox_of(server, "spotdraft")
    async with Client(server, mode=mode, elicitation_callback=elicit) as client:
        result = await client.call_tool("delete_task", {"vendor": "spotdraft", "task_id": "501"})
    assert result.is_error
    assert "SpotDraft does not support `delete_task`" in text_of(result)
    assert asked == []
    assert state.requests == []


async def test_list_vendors_reports_every_refusal_reason(client: Client) -> None:
    report = (await client.call_tool("list_vendors", {"vendor": "spotdraft", "detail": True})).structured_content
    assert [v["name"] for v in report["vendors"]] == ["spotdraft"]
    spotdraft = report["details"][0]
    assert spotdraft["mode"] == "sandbox"
    ops = {op["name"]: op for op in spotdraft["operations"]}
    assert ops["create_intake"]["supported"] is True
    for name in ("list_tasks", "get_task", "update_task", "reassign_task", "delete_task"):
        assert ops[name]["supported"] is False
        assert ops[name]["reason"] and ops[name]["alternative"]


async def test_unknown_vendor_names_the_allowed_ones(client: Client) -> None:
    result = await client.call_tool("create_task", {"vendor": "jira", "title": "x"})
    assert result.is_error
    assert "`vendor`" in text_of(result) and "spotdraft" in text_of(result)
