"""Over HTTP the audit records which credential made each call, and `audit://recent` shows a caller
only its own entries unless its credential is an audit admin."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from .http_support import OTHER_TOKEN, TOKEN, ServeProcess, base_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
#: the tests that take `settings` (or `server`/`client`) run on SQLite and on PostgreSQL
BOTH_STORES = True


async def recent(url: str, token: str) -> list[dict[str, object]]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.read_resource("audit://recent")
    return list(json.loads(result.contents[0].text))  # type: ignore[union-attr]


async def create(url: str, token: str, title: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
    ):
        result = await client.call_tool("create_task", {"vendor": "workiva", "title": title})
        assert not result.is_error


async def test_each_credential_sees_its_own_audit_entries(tmp_path: Path) -> None:
    env = base_env(
        tmp_path / "data",
        TASKLINK_HTTP_TOKEN=f"{TOKEN},{OTHER_TOKEN}",
        TASKLINK_AUDIT_ADMINS="static-token-2",
    )
    with ServeProcess(tmp_path, env) as srv:
        await create(srv.url, TOKEN, "Made by the first token")
        await create(srv.url, OTHER_TOKEN, "Made by the second token")
        first = await recent(srv.url, TOKEN)
        admin = await recent(srv.url, OTHER_TOKEN)
    assert {e["credential"] for e in first} == {"static-token-1"} and len(first) == 1
    assert {e["credential"] for e in admin} == {"static-token-1", "static-token-2"} and len(admin) == 2
