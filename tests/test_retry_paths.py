"""Retry paths that end: a same-key retry after an unknown outcome looks the record up instead of
answering "unknown" forever, and never writes a second time."""

from __future__ import annotations

import pytest
import stamina
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.sandbox._core import Fault

from .conftest import sandbox_of
from .support import call_ok, text_of

pytestmark = pytest.mark.anyio


async def test_a_same_key_retry_after_an_unknown_outcome_finds_the_record(client: Client, server: MCPServer) -> None:
    state = await sandbox_of(server, "workiva")
    state.inject(Fault(kind="timeout_after", method="POST", path_prefix="/tasks"))
    args = {"vendor": "workiva", "title": "Landed but unanswered", "idempotency_key": "lost-answer-1"}
    with stamina.set_testing(True, attempts=1):
        lost = await client.call_tool("create_task", args)
    assert lost.is_error and "may or may not" in text_of(lost)
    found = await call_ok(client, "create_task", args)
    assert found["replayed"] is True and any("looked it up" in w for w in found["warnings"])
    again = await call_ok(client, "create_task", args)
    assert again["id"] == found["id"]
    assert len(state.requests_matching("POST", "/tasks")) == 1
    titles = [t["title"] for t in state.store.all("task")]
    assert titles.count("Landed but unanswered") == 1


async def test_when_nothing_is_found_the_retry_still_says_unknown(client: Client, server: MCPServer) -> None:
    state = await sandbox_of(server, "workiva")
    state.inject(Fault(kind="drop_before", method="POST", path_prefix="/tasks"))  # never landed
    args = {"vendor": "workiva", "title": "Never landed", "idempotency_key": "lost-answer-2"}
    with stamina.set_testing(True, attempts=1):
        first = await client.call_tool("create_task", args)
    assert first.is_error
    second = await client.call_tool("create_task", args)
    if second.is_error:  # a drop before sending is not always an unknown outcome; both answers are honest
        assert "unknown outcome" in text_of(second) or "Could not reach" in text_of(second)
    else:
        assert second.structured_content is not None and second.structured_content["title"] == "Never landed"
