"""No duplicate writes, dry runs that send nothing, and unknown outcomes reported — for every vendor."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.mcp.server import build_server
from tasklink.sandbox._core import Fault, LoggedRequest, SandboxState
from tasklink.settings import TaskLinkSettings

from .conftest import sandbox_of, service_of
from .support import text_of

pytestmark = pytest.mark.anyio
#: the tests that take `settings` (or `server`/`client`) run on SQLite and on PostgreSQL
BOTH_STORES = True

CREATE_ARGS: dict[str, dict[str, Any]] = {
    "spotdraft": {"vendor": "spotdraft", "due": "2031-01-10", "assignees": ["100"]},
    "trackops": {"vendor": "trackops", "due": "2031-04-01", "vendor_fields": {"casefile_id": 246, "calendar_id": 2}},
    "lightfield": {"vendor": "lightfield", "status": "todo", "assignees": ["mem_sam0001"]},
    "workiva": {"vendor": "workiva", "due": "2031-02-01"},
}
CREATE_PATH = {
    "spotdraft": "/api/v2.1/public/user_tasks/",
    "trackops": "/api/v1/tasks",
    "lightfield": "/v1/tasks",
    "workiva": "/tasks",
}
VENDORS = list(CREATE_ARGS)
NO_VENDOR_DEDUPE = ["spotdraft", "trackops", "workiva"]


def create_args(vendor: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {**CREATE_ARGS[vendor], "title": title or f"Task {uuid.uuid4().hex[:8]}", **extra}


async def task_count(server: MCPServer, vendor: str) -> int:
    return (await sandbox_of(server, vendor)).store.count("task", include_deleted=True)


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


# -- idempotency ------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
async def test_five_concurrent_calls_with_one_key_create_one_task(
    client: Client, server: MCPServer, vendor: str
) -> None:
    before = await task_count(server, vendor)
    args = create_args(vendor, idempotency_key=f"key-{uuid.uuid4()}")
    results: list[dict[str, Any]] = []

    async def one() -> None:
        results.append(await ok(client, "create_task", args))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert len({r["id"] for r in results}) == 1
    assert sum(not r["replayed"] for r in results) == 1
    assert await task_count(server, vendor) == before + 1


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_same_key_after_a_restart_still_creates_one(settings: TaskLinkSettings, vendor: str) -> None:
    args = create_args(vendor, idempotency_key=f"restart-{uuid.uuid4()}")
    first_server = build_server(settings)
    async with Client(first_server) as client:
        before = await task_count(first_server, vendor)
        first = await ok(client, "create_task", args)
    second_server = build_server(settings)  # a new process would see the same data dir
    async with Client(second_server) as client:
        again = await ok(client, "create_task", args)
    assert again["id"] == first["id"]
    assert again["replayed"] is True
    assert await task_count(second_server, vendor) == before + 1


async def test_same_key_with_different_arguments_is_refused(client: Client, server: MCPServer) -> None:
    key = f"k-{uuid.uuid4()}"
    await ok(client, "create_task", create_args("workiva", "First", idempotency_key=key))
    before = await task_count(server, "workiva")
    result = await client.call_tool("create_task", create_args("workiva", "Second", idempotency_key=key))
    assert result.is_error
    assert "`idempotency_key`" in text_of(result) and "different arguments" in text_of(result)
    assert await task_count(server, "workiva") == before


async def test_a_failed_write_frees_its_key_for_a_corrected_retry(client: Client, server: MCPServer) -> None:
    key = f"k-{uuid.uuid4()}"
    bad = await client.call_tool(
        "create_intake", {"title": "Needs a workflow", "workflow_id": 8, "idempotency_key": key}
    )
    assert bad.is_error
    fixed = await ok(client, "create_intake", {"title": "Needs a workflow", "workflow_id": 7, "idempotency_key": key})
    assert fixed["id"] > 0


# -- unknown outcomes -----------------------------------------------------------------------


@pytest.mark.parametrize("vendor", NO_VENDOR_DEDUPE)
async def test_a_dropped_answer_is_reported_as_unknown_and_never_resent(
    client: Client, server: MCPServer, vendor: str
) -> None:
    state = await sandbox_of(server, vendor)
    before = await task_count(server, vendor)
    state.inject(Fault(kind="drop_after", method="POST", path_prefix=CREATE_PATH[vendor]))
    args = create_args(vendor, idempotency_key=f"drop-{uuid.uuid4()}")
    first = await client.call_tool("create_task", args)
    assert first.is_error
    assert "may or may not have been applied" in text_of(first)
    assert "Do not blindly retry" in text_of(first)
    assert await task_count(server, vendor) == before + 1  # the write landed; only its answer was lost
    posts = len(state.requests_matching("POST", CREATE_PATH[vendor]))
    again = await client.call_tool("create_task", args)  # looked up at the vendor, never resent
    if again.is_error:
        assert "unknown outcome" in text_of(again)
    else:
        assert again.structured_content is not None and again.structured_content["replayed"] is True
    assert len(state.requests_matching("POST", CREATE_PATH[vendor])) == posts
    assert await task_count(server, vendor) == before + 1


async def test_a_vendor_that_dedupes_by_key_is_retried_safely(client: Client, server: MCPServer) -> None:
    import stamina

    state = await sandbox_of(server, "lightfield")
    before = await task_count(server, "lightfield")
    state.inject(Fault(kind="drop_after", method="POST", path_prefix="/v1/tasks"))
    with stamina.set_testing(True, attempts=3):
        task = await ok(client, "create_task", create_args("lightfield", idempotency_key=f"lf-{uuid.uuid4()}"))
    assert task["id"]
    assert await task_count(server, "lightfield") == before + 1
    keys = {r.headers.get("idempotency-key") for r in state.requests_matching("POST", "/v1/tasks")}
    assert len(keys) == 1


# -- duplicate check ----------------------------------------------------------------------------


async def catch_up_index(server: MCPServer, vendor: str) -> None:
    if vendor == "lightfield":
        await sandbox_of(server, vendor)
        service_of(server).vendors.runtimes[vendor].sandbox_app.state.lightfield.catch_up()


@pytest.mark.parametrize("vendor", ["trackops", "lightfield", "workiva"])
async def test_a_same_titled_open_task_is_not_created_twice(client: Client, server: MCPServer, vendor: str) -> None:
    args = create_args(vendor, f"Call the landlord {uuid.uuid4().hex[:6]}")
    first = await ok(client, "create_task", args)
    await catch_up_index(server, vendor)
    before = await task_count(server, vendor)
    second = await client.call_tool("create_task", args)
    assert second.is_error
    assert first["id"] in text_of(second)
    assert "allow_duplicate=true" in text_of(second)
    assert await task_count(server, vendor) == before
    forced = await ok(client, "create_task", {**args, "allow_duplicate": True})
    assert forced["id"] != first["id"]
    assert await task_count(server, vendor) == before + 1


async def test_a_same_titled_open_intake_is_not_created_twice(client: Client, server: MCPServer) -> None:
    first = await ok(client, "create_intake", {"title": "Acme Vendor Review"})
    second = await client.call_tool("create_intake", {"title": "acme vendor review"})
    assert second.is_error
    assert f"intake {first['id']}" in text_of(second)
    forced = await ok(client, "create_intake", {"title": "acme vendor review", "allow_duplicate": True})
    assert forced["id"] != first["id"]


# -- dry run ------------------------------------------------------------------------------------


Setup = Callable[[Client], Awaitable[dict[str, Any]]]


async def new_task(client: Client, vendor: str) -> str:
    return str((await ok(client, "create_task", create_args(vendor, allow_duplicate=True)))["id"])


async def new_intake(client: Client) -> int:
    return int((await ok(client, "create_intake", {"title": f"Intake {uuid.uuid4().hex[:8]}"}))["id"])


def dry_run_cases() -> list[tuple[str, str, Setup]]:
    cases: list[tuple[str, str, Setup]] = []
    for vendor in VENDORS:

        async def create(client: Client, vendor: str = vendor) -> dict[str, Any]:
            return create_args(vendor, idempotency_key=f"dry-{uuid.uuid4()}")

        cases.append(("create_task", vendor, create))
    for vendor in ("lightfield", "workiva"):

        async def update(client: Client, vendor: str = vendor) -> dict[str, Any]:
            return {
                "vendor": vendor,
                "task_id": await new_task(client, vendor),
                "title": "Renamed",
                "idempotency_key": "u-1",
            }

        async def delete(client: Client, vendor: str = vendor) -> dict[str, Any]:
            return {"vendor": vendor, "task_id": await new_task(client, vendor)}

        cases += [("update_task", vendor, update), ("delete_task", vendor, delete)]

    async def create_intake(client: Client) -> dict[str, Any]:
        return {
            "title": f"Dry {uuid.uuid4().hex[:6]}",
            "priority": "HIGH",
            "due": "2031-03-03",
            "assignees": [{"user_id": "100"}],
        }

    async def update_intake(client: Client) -> dict[str, Any]:
        return {"intake_id": await new_intake(client), "status": "IN_PROGRESS", "clear_due": True}

    async def assignees(client: Client) -> dict[str, Any]:
        return {"intake_id": await new_intake(client), "assignees": [{"user_id": "101", "role": "collaborator"}]}

    async def delete_intake(client: Client) -> dict[str, Any]:
        return {"intake_id": await new_intake(client)}

    cases += [
        ("create_intake", "spotdraft", create_intake),
        ("update_intake", "spotdraft", update_intake),
        ("update_intake_assignees", "spotdraft", assignees),
        ("delete_intake", "spotdraft", delete_intake),
    ]
    return cases


def last_write(state: SandboxState) -> LoggedRequest:
    return [r for r in state.requests if r.method not in ("GET", "HEAD")][-1]


@pytest.mark.parametrize(("tool", "vendor", "setup"), dry_run_cases(), ids=lambda v: v if isinstance(v, str) else "")
async def test_dry_run_sends_nothing_and_shows_the_exact_request(
    client: Client, server: MCPServer, tool: str, vendor: str, setup: Setup
) -> None:
    state = await sandbox_of(server, vendor)
    args = await setup(client)
    seen = len(state.requests)
    dry = await ok(client, tool, {**args, "dry_run": True})
    # nothing is written; a create's dry run reads the vendor's list (the duplicate check, which the real call
    # with the same arguments then relies on; on Lightfield after the task definitions its filter needs) and
    # nothing else; an OAuth token may be fetched on the way
    read = [f"{r.method} {r.path}" for r in state.requests[seen:] if r.path != "/oauth2/token"]
    listing = "/api/v1/public/legal_intake/" if tool == "create_intake" else CREATE_PATH[vendor]
    listed = {f"GET {listing}", "GET /v1/tasks/definitions"}
    assert set(read) <= listed if tool.startswith("create_") else read == [], read
    report = dry["dry_run"]
    assert report is not None
    assert "***" in json.dumps(report["headers"])  # credentials are shown only as redacted
    if tool.startswith("delete_"):
        preview = await ok(client, tool, args)
        real = await ok(client, tool, {**args, "confirm": True, "confirm_token": preview["confirm_token"]})
        assert real["deleted"] is True
    else:
        await ok(client, tool, {**args, "allow_duplicate": True} if tool.startswith("create_") else args)
    sent = last_write(state)
    url = urlsplit(report["url"])
    assert (report["method"], url.path) == (sent.method, sent.path)
    assert parse_qsl(url.query) == parse_qsl(sent.query)
    assert report["body"] == (json.loads(sent.body) if sent.body else None)


async def test_dry_run_of_an_unsupported_operation_is_the_guardrail_verdict(client: Client, server: MCPServer) -> None:
    state = await sandbox_of(server, "spotdraft")
    result = await client.call_tool("delete_task", {"vendor": "spotdraft", "task_id": "1", "dry_run": True})
    assert result.is_error
    assert "SpotDraft does not support `delete_task`" in text_of(result)
    assert state.requests == []


# -- gating -------------------------------------------------------------------------------------


async def test_read_only_hides_and_refuses_every_write(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path, sandbox=True, read_only=True))
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools
        assert all(t.annotations.read_only_hint for t in tools.values())
        for name in ("create_task", "create_intake", "delete_intake", "update_task"):
            result = await client.call_tool(name, {"vendor": "workiva", "title": "x"})
            assert result.is_error
            assert "disabled on this server" in text_of(result)
            assert "Nothing was changed" in text_of(result)
    state = await sandbox_of(server, "workiva")
    assert [r for r in state.requests if r.method != "GET"] == []


async def test_allow_and_deny_lists(tmp_path: Path) -> None:
    settings = TaskLinkSettings(
        data_dir=tmp_path, sandbox=True, tools=["list_vendors", "create_task", "get_task"], exclude_tools=["get_task"]
    )
    async with Client(build_server(settings)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"list_vendors", "create_task"}
        assert (await client.call_tool("get_task", {"vendor": "workiva", "task_id": "x"})).is_error


# -- audit --------------------------------------------------------------------------------------


async def test_audit_records_writes_replays_dry_runs_and_refusals(client: Client, server: MCPServer) -> None:
    key = f"audit-{uuid.uuid4()}"
    await ok(client, "create_task", create_args("workiva", "Audited", idempotency_key=key))
    await ok(client, "create_task", create_args("workiva", "Audited", idempotency_key=key))
    await ok(client, "create_task", create_args("workiva", "Dry", dry_run=True))
    await client.call_tool("update_task", {"vendor": "spotdraft", "task_id": "1", "title": "x"})
    entries = await service_of(server).audit.entries()
    outcomes = [(e["tool"], e["vendor"], e["outcome"]) for e in entries]
    assert ("create_task", "workiva", "ok") in outcomes
    assert ("create_task", "workiva", "replay") in outcomes
    assert ("create_task", "workiva", "dry_run") in outcomes
    assert ("update_task", "spotdraft", "refused:UnsupportedOperation") in outcomes
    replay = next(e for e in entries if e["outcome"] == "replay")
    assert replay["idempotency_key"] == key and replay["target"]
    assert all("arguments" not in e for e in entries)  # free text stays out unless TASKLINK_AUDIT_FULL=1
    assert "Audited" not in json.dumps(entries)
