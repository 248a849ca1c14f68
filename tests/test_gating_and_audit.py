"""Write gating holds on every transport, and the audit log is readable from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from tasklink.manifests import load_manifests
from tasklink.sandbox.lightfield import API_KEY
from tasklink.sandbox.spotdraft import CLIENT_ID, CLIENT_SECRET
from tasklink.sandbox.trackops import API_TOKEN
from tasklink.sandbox.workiva import CLIENT_SECRET as WORKIVA_SECRET

from .conftest import tasklink_command
from .http_support import ServeProcess, base_env
from .support import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
#: the tests that take `settings` (or `server`/`client`) run on SQLite and on PostgreSQL
BOTH_STORES = True

WRITE_TOOLS = {"create_intake", "update_intake", "update_intake_assignees", "delete_intake", "create_task",
               "update_task", "delete_task"}  # fmt: skip
SANDBOX_SECRETS = [CLIENT_ID, CLIENT_SECRET, API_KEY, API_TOKEN, WORKIVA_SECRET]


async def assert_read_only(client: Client) -> None:
    names = {t.name for t in (await client.list_tools()).tools}
    assert names and not (names & WRITE_TOOLS)
    result = await client.call_tool("create_intake", {"title": "Should not exist"})
    assert result.is_error
    assert "disabled on this server" in text_of(result)
    listed = await client.call_tool("list_intakes", {"query": "Should not exist"})
    assert listed.structured_content["total_count"] == 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_read_only_over_stdio(tmp_path: Path, mode: str) -> None:
    command, *args = tasklink_command()
    env = base_env(tmp_path, TASKLINK_READ_ONLY="1")
    async with Client(StdioServerParameters(command=command, args=[*args, "serve"], env=env), mode=mode) as client:
        await assert_read_only(client)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_read_only_over_http(tmp_path: Path, mode: str) -> None:
    with ServeProcess(tmp_path, base_env(tmp_path, TASKLINK_READ_ONLY="1")) as srv:
        async with Client(srv.url, mode=mode) as client:
            await assert_read_only(client)


def test_unknown_vendor_in_configuration_stops_start_up(tmp_path: Path) -> None:
    out = subprocess.run(
        [*tasklink_command(), "tools"],
        env=base_env(tmp_path, TASKLINK_VENDORS="spotdraft,jira"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "jira" in out.stderr
    assert all(name in out.stderr for name in load_manifests())


async def test_audit_command_shows_the_runs_writes_without_credentials(tmp_path: Path) -> None:
    command, *args = tasklink_command()
    params = StdioServerParameters(command=command, args=[*args, "serve"], env=base_env(tmp_path))
    key = f"audit-{uuid.uuid4()}"
    async with Client(params) as client:
        created = await client.call_tool("create_intake", {"title": "Audit me", "idempotency_key": key})
        assert not created.is_error, text_of(created)
        await client.call_tool("create_intake", {"title": "Audit me", "idempotency_key": key})
        await client.call_tool("create_task", {"vendor": "workiva", "title": "Dry", "dry_run": True})
        await client.call_tool("delete_task", {"vendor": "trackops", "task_id": "1001"})
        await client.call_tool("create_task", {"vendor": "lightfield", "title": "No assignee", "status": "todo"})
        resource = await client.read_resource("audit://recent")
    out = subprocess.run(
        [sys.executable, "-m", "tasklink", "audit", "--json"],
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries = json.loads(out.stdout)
    outcomes = [(e["tool"], e["vendor"], e["outcome"]) for e in entries]
    assert outcomes == [
        ("create_intake", "spotdraft", "ok"),
        ("create_intake", "spotdraft", "replay"),
        ("create_task", "workiva", "dry_run"),
        ("delete_task", "trackops", "refused:UnsupportedOperation"),
        ("create_task", "lightfield", "refused:InvalidInput"),
    ]
    assert {e["transport"] for e in entries} == {"stdio"}
    assert entries[0]["target"] == entries[1]["target"]
    assert entries[0]["idempotency_key"] == key
    everything = out.stdout + resource.contents[0].text  # type: ignore[union-attr]
    for secret in SANDBOX_SECRETS:
        assert secret not in everything
    assert json.loads(resource.contents[0].text)[-1]["outcome"] == "refused:InvalidInput"  # type: ignore[union-attr]
    table = subprocess.run(
        [sys.executable, "-m", "tasklink", "audit", "--since", "1h"],
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(table.stdout.splitlines()) == 5
