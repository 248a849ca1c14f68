"""An assignee filter given as a name or email is resolved exactly as for writes, never silently
matched against ids; `me` only where the configuration says who the credentials act as; and a list
that lags its writes says which tasks created here may be missing."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from .conftest import sandbox_of, service_of
from .support import call_ok, text_of

pytestmark = pytest.mark.anyio

SAM = "mem_sam0001"


async def test_a_name_as_the_assignee_filter_finds_that_persons_tasks(client: Client, server: MCPServer) -> None:
    mine = await call_ok(client, "create_task", {"vendor": "lightfield", "title": "Sam's call", "assignees": [SAM]})
    other = await call_ok(
        client, "create_task", {"vendor": "lightfield", "title": "Dana's call", "assignees": ["mem_dana003"]}
    )
    service_of(server).vendors.runtimes["lightfield"].sandbox_app.state.lightfield.catch_up()
    page = await call_ok(client, "list_tasks", {"vendor": "lightfield", "assignee": "Sam"})
    ids = [t["id"] for t in page["tasks"]]
    assert mine["id"] in ids and other["id"] not in ids
    assert [(r["given"], r["id"]) for r in page["resolved"]] == [("Sam", SAM)]
    by_email = await call_ok(client, "list_tasks", {"vendor": "lightfield", "assignee": "sam@northwind.example"})
    assert [t["id"] for t in by_email["tasks"]] == ids


async def test_an_unknown_or_ambiguous_name_is_an_error_not_an_empty_list(client: Client) -> None:
    nobody = await client.call_tool("list_tasks", {"vendor": "lightfield", "assignee": "Zebedee"})
    assert nobody.is_error and "assignee" in text_of(nobody)
    trackops = await client.call_tool("list_tasks", {"vendor": "trackops", "assignee": "Sam Okafor"})
    assert trackops.is_error and "assignee" in text_of(trackops)


async def test_me_needs_to_know_who_the_credentials_are(client: Client) -> None:
    result = await client.call_tool("list_tasks", {"vendor": "workiva", "assignee": "me"})
    assert result.is_error and "`me` cannot be resolved" in text_of(result)


async def test_a_lagging_list_says_which_new_tasks_may_be_missing(client: Client, server: MCPServer) -> None:
    await sandbox_of(server, "lightfield")
    created = await call_ok(client, "create_task", {"vendor": "lightfield", "title": "Just now", "assignees": [SAM]})
    page = await call_ok(client, "list_tasks", {"vendor": "lightfield"})
    assert created["id"] not in [t["id"] for t in page["tasks"]]  # Lightfield's index has not caught up
    assert any(created["id"] in w and "lags its writes" in w for w in page["warnings"])
