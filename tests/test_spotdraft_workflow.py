"""The SpotDraft recipe end to end through real MCP clients, on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitResult

from .conftest import MODES, sandbox_of, tasklink_command
from .support import run_recipe, text_of

pytestmark = pytest.mark.anyio


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
