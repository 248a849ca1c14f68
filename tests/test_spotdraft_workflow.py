"""The SpotDraft recipe end to end through real MCP clients, on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitResult

from .conftest import MODES, sandbox_of, tasklink_command

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def run_recipe(client: Client) -> None:
    created = await client.call_tool(
        "create_intake",
        {
            "title": "Acme vendor review",
            "description": "Initial request for legal review.",
            "priority": "MEDIUM",
            "due": "2030-05-05T17:00:00Z",
            "assignees": [{"user_id": "102", "role": "assigned_to"}],
            "metadata": {"source": "api"},
        },
    )
    assert not created.is_error, text_of(created)
    intake = created.structured_content
    assert intake["status"] == "PENDING" and intake["workflow_id"] == 7
    assert [a["user_id"] for a in intake["assignees"]] == ["102"]
    intake_id = intake["id"]

    task = await client.call_tool(
        "create_task",
        {
            "vendor": "spotdraft",
            "title": "Collect business justification",
            "description": "Follow up with procurement.",
            "assignees": ["102"],
            "priority": "HIGH",
            "status": "todo",
            "due": "2030-05-01T17:00:00Z",
            "intake_id": intake_id,
        },
    )
    assert not task.is_error, text_of(task)
    assert task.structured_content["links"] == {"intake_id": str(intake_id)}
    assert task.structured_content["status"] == "todo"
    task_id = task.structured_content["id"]

    fetched = (await client.call_tool("get_intake", {"intake_id": intake_id})).structured_content
    assert [(t["id"], t["title"], t["priority"]) for t in fetched["tasks"]] == [
        (task_id, "Collect business justification", "HIGH")
    ]

    updated = await client.call_tool(
        "update_intake_assignees",
        {
            "intake_id": intake_id,
            "assignees": [
                {"user_id": "100", "role": "assigned_to"},
                {"user_id": "101", "role": "collaborator"},
            ],
        },
    )
    assert not updated.is_error, text_of(updated)
    assert [a["user_id"] for a in updated.structured_content["assignees"]] == ["100"]
    assert [c["user_id"] for c in updated.structured_content["collaborators"]] == ["101"]
    assert updated.structured_content["collaborators"][0]["name"] == "Elena Kagan"

    preview = await client.call_tool("delete_intake", {"intake_id": intake_id})
    assert not preview.is_error, text_of(preview)
    assert preview.structured_content["deleted"] is False
    assert "Nothing was deleted" in preview.structured_content["message"]
    assert "Acme vendor review" in preview.structured_content["message"]
    still_there = await client.call_tool("get_intake", {"intake_id": intake_id})
    assert not still_there.is_error

    token = preview.structured_content["confirm_token"]
    deleted = await client.call_tool("delete_intake", {"intake_id": intake_id, "confirm": True, "confirm_token": token})
    assert not deleted.is_error, text_of(deleted)
    assert deleted.structured_content["deleted"] is True

    gone = await client.call_tool("get_intake", {"intake_id": intake_id})
    assert gone.is_error
    assert "does not exist or is not visible" in text_of(gone)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_recipe_over_stdio(mode: str, tmp_path: Path) -> None:
    command, *args = tasklink_command()
    params = StdioServerParameters(
        command=command,
        args=[*args, "serve"],
        env={"TASKLINK_DATA_DIR": str(tmp_path / "stdio"), "TASKLINK_SANDBOX": "1", "PATH": "/usr/bin:/bin"},
    )
    async with Client(params, mode=mode) as client:
        await run_recipe(client)


async def test_recipe_in_memory(client: Client) -> None:
    await run_recipe(client)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_delete_intake_asks_the_user_when_the_client_can(server: MCPServer, mode: str, answer: str) -> None:
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    async with Client(server, mode=mode, elicitation_callback=elicit) as client:
        intake = (await client.call_tool("create_intake", {"title": "Delete me"})).structured_content
        result = await client.call_tool("delete_intake", {"intake_id": intake["id"]})
        assert not result.is_error, text_of(result)
        assert len(asked) == 1 and "Delete me" in asked[0]
        assert result.structured_content["deleted"] is (answer == "accept")
        after = await client.call_tool("get_intake", {"intake_id": intake["id"]})
        assert after.is_error is (answer == "accept")
        if answer == "decline":
            assert "nothing was deleted" in result.structured_content["message"]


async def test_confirm_token_is_bound_to_its_intake(client: Client, server: MCPServer) -> None:
    first = (await client.call_tool("create_intake", {"title": "First"})).structured_content
    second = (await client.call_tool("create_intake", {"title": "Second"})).structured_content
    preview = (await client.call_tool("delete_intake", {"intake_id": first["id"]})).structured_content
    wrong = await client.call_tool(
        "delete_intake",
        {"intake_id": second["id"], "confirm": True, "confirm_token": preview["confirm_token"]},
    )
    assert wrong.is_error and "confirm_token" in text_of(wrong)
    state = await sandbox_of(server, "spotdraft")
    assert state.requests_matching("DELETE") == []
    assert not (await client.call_tool("get_intake", {"intake_id": second["id"]})).is_error


async def test_confirm_without_token_only_previews(client: Client) -> None:
    intake = (await client.call_tool("create_intake", {"title": "Keep"})).structured_content
    result = await client.call_tool("delete_intake", {"intake_id": intake["id"], "confirm": True})
    assert not result.is_error
    assert result.structured_content["deleted"] is False
    assert not (await client.call_tool("get_intake", {"intake_id": intake["id"]})).is_error
