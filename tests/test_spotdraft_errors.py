"""Every failure point of the SpotDraft recipe gives an error the model can act on, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from .conftest import sandbox_of, service_of
from .support import text_of

pytestmark = pytest.mark.anyio


async def created_counts(server: MCPServer) -> tuple[int, int]:
    store = (await sandbox_of(server, "spotdraft")).store
    return store.count("intake", include_deleted=True), store.count("task", include_deleted=True)


async def assert_refused(client: Client, server: MCPServer, tool: str, args: dict[str, Any], *needles: str) -> str:
    before = await created_counts(server)
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    message = text_of(result)
    for needle in needles:
        assert needle in message, (needle, message)
    assert "Traceback" not in message
    assert await created_counts(server) == before
    return message


@pytest.mark.parametrize(
    ("workflow_id", "reason"),
    [(8, "not an INTAKE_WORKFLOW"), (9, "no published version"), (999, "not found")],
)
async def test_invalid_workflow(client: Client, server: MCPServer, workflow_id: int, reason: str) -> None:
    await assert_refused(
        client, server, "create_intake", {"title": "T", "workflow_id": workflow_id}, "`workflow_id`", reason
    )


async def test_missing_default_workflow(server: MCPServer) -> None:
    service_of(server).vendors.runtimes["spotdraft"].settings.intake_workflow_id = None  # type: ignore[attr-defined]
    async with Client(server) as client:
        message = await assert_refused(client, server, "create_intake", {"title": "T"}, "`workflow_id`")
    assert "SPOTDRAFT_INTAKE_WORKFLOW_ID" in message


async def test_malformed_intake_assignee_row(client: Client, server: MCPServer) -> None:
    await assert_refused(
        client, server, "create_intake", {"title": "T", "assignees": [{"role": "assigned_to"}]}, "assignees[0].user_id"
    )
    await assert_refused(
        client,
        server,
        "create_intake",
        {"title": "T", "assignees": [{"user_id": "100", "role": "chef"}]},
        "assignees[0].role",
        "assigned_to",
    )


async def test_unknown_intake_assignee_is_named_by_the_vendor(client: Client, server: MCPServer) -> None:
    await assert_refused(
        client,
        server,
        "create_intake",
        {"title": "T", "assignees": [{"user_id": "999", "role": "assigned_to"}]},
        "assignees[0].user_id",
        "999",
    )


@pytest.mark.parametrize("who", [{"user_id": "100", "role_id": "456"}, {}])
async def test_task_assignee_needs_exactly_one_of_user_or_role(
    client: Client, server: MCPServer, who: dict[str, str]
) -> None:
    args = {"vendor": "spotdraft", "title": "T", "due": "2030-01-01", "assignees": [who]}
    await assert_refused(client, server, "create_task", args, "`assignees[0]`", "exactly one of user_id or role_id")


async def test_role_assignee_is_accepted(client: Client) -> None:
    args = {"vendor": "spotdraft", "title": "Legal team task", "due": "2030-01-01", "assignees": [{"role_id": "456"}]}
    result = await client.call_tool("create_task", args)
    assert not result.is_error, text_of(result)
    assert result.structured_content["assignees"] == ["role:456"]


@pytest.mark.parametrize(("field", "value"), [("priority", "HIGH"), ("status", "in_progress")])
async def test_intake_only_fields_on_a_plain_task(client: Client, server: MCPServer, field: str, value: str) -> None:
    args = {"vendor": "spotdraft", "title": "T", "due": "2030-01-01", "assignees": ["100"], field: value}
    await assert_refused(client, server, "create_task", args, f"`{field}`", "intake_id")


async def test_plain_task_needs_assignee_and_due(client: Client, server: MCPServer) -> None:
    await assert_refused(
        client, server, "create_task", {"vendor": "spotdraft", "title": "T", "due": "2030-01-01"}, "`assignees`"
    )
    await assert_refused(
        client, server, "create_task", {"vendor": "spotdraft", "title": "T", "assignees": ["100"]}, "`due`"
    )


async def test_unexpressible_status_lists_what_spotdraft_takes(client: Client, server: MCPServer) -> None:
    intake = (await client.call_tool("create_intake", {"title": "Host"})).structured_content
    before = await created_counts(server)
    result = await client.call_tool(
        "create_task", {"vendor": "spotdraft", "title": "T", "intake_id": intake["id"], "status": "waiting"}
    )
    assert result.is_error
    assert "`status`" in text_of(result) and "todo (PENDING)" in text_of(result)
    assert await created_counts(server) == before


@pytest.mark.parametrize("due", ["some day soon", "2026-13-01", "2026-12-04T17:00:00"])
async def test_bad_due_dates(client: Client, server: MCPServer, due: str) -> None:
    await assert_refused(client, server, "create_intake", {"title": "T", "due": due}, "`due`", "YYYY-MM-DD")


async def test_intake_that_is_not_visible(client: Client) -> None:
    for tool, args in [
        ("get_intake", {"intake_id": 4242}),
        ("update_intake", {"intake_id": 4242, "title": "x"}),
        ("update_intake_assignees", {"intake_id": 4242, "assignees": []}),
    ]:
        result = await client.call_tool(tool, args)
        assert result.is_error, tool
        assert "does not exist or is not visible to these credentials" in text_of(result), tool
    # deletes are idempotent: nothing there is nothing left to delete, said with the vendor's reason
    gone = await client.call_tool("delete_intake", {"intake_id": 4242})
    assert not gone.is_error and gone.structured_content["already_deleted"] is True  # type: ignore[index]
    assert "does not exist or is not visible to these credentials" in text_of(gone)


async def test_task_on_missing_intake(client: Client, server: MCPServer) -> None:
    await assert_refused(
        client, server, "create_task", {"vendor": "spotdraft", "title": "T", "intake_id": 4242}, "intake_id", "4242"
    )


async def test_assignee_modes_keep_everyone_else(client: Client) -> None:
    intake = (
        await client.call_tool(
            "create_intake",
            {"title": "Team", "assignees": [{"user_id": "100"}, {"user_id": "101", "role": "collaborator"}]},
        )
    ).structured_content
    added = await client.call_tool(
        "update_intake_assignees", {"intake_id": intake["id"], "mode": "add", "assignees": [{"user_id": "102"}]}
    )
    assert [a["user_id"] for a in added.structured_content["assignees"]] == ["100", "102"]
    assert [c["user_id"] for c in added.structured_content["collaborators"]] == ["101"]
    removed = await client.call_tool(
        "update_intake_assignees", {"intake_id": intake["id"], "mode": "remove", "assignees": [{"user_id": "100"}]}
    )
    assert [a["user_id"] for a in removed.structured_content["assignees"]] == ["102"]
    assert [c["user_id"] for c in removed.structured_content["collaborators"]] == ["101"]
    dup = await client.call_tool(
        "update_intake_assignees",
        {"intake_id": intake["id"], "assignees": [{"user_id": "100"}, {"user_id": "100", "role": "collaborator"}]},
    )
    assert dup.is_error and "appears twice" in text_of(dup)
