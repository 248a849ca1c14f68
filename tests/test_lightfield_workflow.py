"""Lightfield tasks end to end through real MCP clients (both protocol modes), on the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stamina
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitResult

from tasklink.sandbox._core import Fault, SandboxState
from tasklink.sandbox.lightfield import API_VERSION, LightfieldSandbox
from tasklink.settings import TaskLinkSettings
from tasklink.vendors._http import VendorRequest

from .conftest import MODES, sandbox_of, service_of
from .support import call_ok, text_of

pytestmark = pytest.mark.anyio

SAM, PRIYA, DANA = "mem_sam0001", "mem_priya02", "mem_dana003"
ACME = "acc_acme001"


class FakeClock:
    """A clock the test moves by hand, so the index lag and rate limits never need real time."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def settings(tmp_path: Path) -> TaskLinkSettings:
    return TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, vendors=["lightfield"])


async def lightfield(server: MCPServer) -> tuple[LightfieldSandbox, SandboxState, FakeClock]:
    state = await sandbox_of(server, "lightfield")
    sandbox = service_of(server).vendors.runtimes["lightfield"].sandbox_app.state.lightfield
    assert isinstance(sandbox, LightfieldSandbox)
    clock = FakeClock()
    sandbox.clock = clock
    return sandbox, state, clock


async def listed_ids(client: Client, **filters: Any) -> list[str]:
    page = await call_ok(client, "list_tasks", {"vendor": "lightfield", **filters})
    return [t["id"] for t in page["tasks"]]


FOLLOW_UP = {
    "vendor": "lightfield",
    "title": "Follow up with Acme on the renewal",
    "description": "Send the **revised** pricing sheet.",
    "due": "2030-05-02T15:00:00+02:00",
    "status": "in_progress",
    "assignees": [SAM],
    "vendor_fields": {"$account": ACME},
}


async def test_task_lifecycle(client: Client, server: MCPServer) -> None:
    sandbox, state, clock = await lightfield(server)

    task = await call_ok(client, "create_task", FOLLOW_UP)
    assert task["title"] == "Follow up with Acme on the renewal"
    assert (task["status"], task["vendor_status"]) == ("in_progress", "IN_PROGRESS")
    assert task["description"] == "Send the **revised** pricing sheet."
    assert task["due"] == "2030-05-02T13:00:00.000Z"
    assert task["assignees"] == [SAM]
    assert task["links"]["account"] == ACME
    assert task["url"] == f"https://crm.lightfield.app/crm/tasks/{task['id']}"
    task_id = task["id"]
    # The create result came from a read by id: the search index has not caught up yet.
    assert task_id not in await listed_ids(client)

    fetched = await call_ok(client, "get_task", {"vendor": "lightfield", "task_id": task_id})
    assert fetched == task

    updated = await call_ok(
        client,
        "update_task",
        {"vendor": "lightfield", "task_id": task_id, "status": "done", "assignees": [DANA]},
    )
    assert (updated["status"], updated["vendor_status"]) == ("done", "COMPLETE")
    assert updated["assignees"] == [DANA]
    assert updated["title"] == task["title"] and updated["links"]["account"] == ACME
    update_body = json.loads(state.requests_matching("POST", f"/v1/tasks/{task_id}")[0].body)
    assert update_body == {"fields": {"$status": "COMPLETE"}, "relationships": {"$assignedTo": {"replace": DANA}}}

    assert task_id not in await listed_ids(client)
    clock.advance(sandbox.index_lag)
    page = await call_ok(client, "list_tasks", {"vendor": "lightfield"})
    assert [t["id"] for t in page["tasks"]] == [task_id]
    assert page["tasks"][0]["status"] == "done" and page["tasks"][0]["assignees"] == [DANA]
    assert await listed_ids(client, status="done", assignee=DANA) == [task_id]
    assert await listed_ids(client, status="todo") == []

    preview = await call_ok(client, "delete_task", {"vendor": "lightfield", "task_id": task_id})
    assert preview["deleted"] is False and "Nothing was deleted" in preview["message"]
    assert preview["preview"]["title"] == "Follow up with Acme on the renewal"
    assert "Follow up with Acme" not in preview["message"]
    assert state.requests_matching("DELETE") == []
    deleted = await call_ok(
        client,
        "delete_task",
        {"vendor": "lightfield", "task_id": task_id, "confirm": True, "confirm_token": preview["confirm_token"]},
    )
    assert deleted["deleted"] is True

    gone = await client.call_tool("get_task", {"vendor": "lightfield", "task_id": task_id})
    assert gone.is_error
    assert f"Lightfield task {task_id} does not exist or is in the trash" in text_of(gone)
    assert sandbox.task_count() == 0 and sandbox.task_count(include_trashed=True) == 1
    sandbox.catch_up()
    assert await listed_ids(client) == []
    assert await listed_ids(client, vendor_filters={"status": "trashed"}) == [task_id]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_delete_asks_the_user_when_the_client_can(server: MCPServer, mode: str, answer: str) -> None:
    sandbox, state, _ = await lightfield(server)
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")

    async with Client(server, mode=mode, elicitation_callback=elicit) as client:
        task = await call_ok(client, "create_task", {**FOLLOW_UP, "title": "Delete me"})
        result = await call_ok(client, "delete_task", {"vendor": "lightfield", "task_id": task["id"]})
        assert len(asked) == 1 and "Delete me" in asked[0]
        assert result["deleted"] is (answer == "accept")
        after = await client.call_tool("get_task", {"vendor": "lightfield", "task_id": task["id"]})
        assert after.is_error is (answer == "accept")
        assert len(state.requests_matching("DELETE")) == (1 if answer == "accept" else 0)
        assert sandbox.task_count() == (0 if answer == "accept" else 1)


async def test_same_idempotency_key_creates_one_task(client: Client, server: MCPServer) -> None:
    sandbox, state, _ = await lightfield(server)
    args = {**FOLLOW_UP, "idempotency_key": "renewal-follow-up-2030"}
    first = await call_ok(client, "create_task", args)
    second = await call_ok(client, "create_task", args)
    assert second["id"] == first["id"]
    assert sandbox.task_count() == 1
    # Whether the repeat is answered by tasklink's own ledger or by Lightfield's replay, every
    # create that went out carried the caller's key.
    keys = [r.headers.get("idempotency-key") for r in state.requests_matching("POST", "/v1/tasks")]
    assert keys in (["renewal-follow-up-2030"], ["renewal-follow-up-2030", "renewal-follow-up-2030"])


async def test_each_call_without_a_key_gets_its_own_minted_key(client: Client, server: MCPServer) -> None:
    sandbox, state, _ = await lightfield(server)
    same_task_twice = {**FOLLOW_UP, "allow_duplicate": True}  # the same title twice on purpose
    await call_ok(client, "create_task", same_task_twice)
    await call_ok(client, "create_task", same_task_twice)
    keys = [r.headers.get("idempotency-key") for r in state.requests_matching("POST", "/v1/tasks")]
    assert len(keys) == 2 and all(keys) and keys[0] != keys[1]
    assert sandbox.task_count() == 2


async def test_429_with_retry_after_is_retried_with_the_same_key(
    client: Client, server: MCPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, state, _ = await lightfield(server)
    http = (await service_of(server).vendors.adapter("lightfield")).http
    waits_by_request: list[tuple[str, list[float]]] = []
    send = http._send

    async def recording_send(request: VendorRequest, *args: Any, **kw: Any) -> Any:
        try:
            return await send(request, *args, **kw)
        finally:
            waits_by_request.append((f"{request.method} {request.path}", list(http.waits)))

    monkeypatch.setattr(http, "_send", recording_send)
    state.inject(Fault(status=429, headers={"Retry-After": "1"}, method="POST", path_prefix="/v1/tasks"))
    with stamina.set_testing(True, attempts=3):
        task = await call_ok(client, "create_task", FOLLOW_UP)
    posts = state.requests_matching("POST", "/v1/tasks")
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert sandbox.task_count() == 1
    assert task["title"] == FOLLOW_UP["title"]
    # The create waited out Retry-After (stamina's test mode skips the actual sleep); no read (the duplicate
    # check's list) waited.
    assert [waits for what, waits in waits_by_request if what == "POST /v1/tasks"] == [[1.0]]
    assert all(waits == [] for what, waits in waits_by_request if what.startswith("GET"))


async def test_rate_limit_that_does_not_clear_is_reported(client: Client, server: MCPServer) -> None:
    sandbox, state, _ = await lightfield(server)
    task = await call_ok(client, "create_task", FOLLOW_UP)
    sandbox.rate_limit = 1  # a fresh bucket of one request; the frozen clock never refills it
    await call_ok(client, "get_task", {"vendor": "lightfield", "task_id": task["id"]})
    with stamina.set_testing(True, attempts=2):
        result = await client.call_tool("get_task", {"vendor": "lightfield", "task_id": task["id"]})
    assert result.is_error
    assert "rate limiting" in text_of(result) and "Retry after 1 s" in text_of(result)
    assert [r.status for r in state.requests_matching("GET")][-2:] == [429, 429]


@pytest.mark.parametrize(
    ("change", "field", "reaches_vendor"),
    [
        ({"vendor_fields": {"$priority": "HIGH"}}, "vendor_fields.$priority", False),
        ({"vendor_fields": {"sponsor": ACME}}, "vendor_fields.sponsor", True),
        ({"vendor_fields": {"$account": "acc_nope"}}, "vendor_fields.$account", True),
        ({"assignees": []}, "assignees", False),
        ({"assignees": [SAM, PRIYA]}, "assignees", False),
        ({"assignees": ["mem_ghost"]}, "assignees", True),
        ({"status": "blocked"}, "status", False),
        ({"status": "urgent"}, "status", False),
    ],
)
async def test_bad_create_names_the_field_and_creates_nothing(
    client: Client, server: MCPServer, change: dict[str, Any], field: str, reaches_vendor: bool
) -> None:
    sandbox, state, _ = await lightfield(server)
    result = await client.call_tool("create_task", {**FOLLOW_UP, **change})
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert sandbox.task_count(include_trashed=True) == 0
    assert len(state.requests_matching("POST")) == (1 if reaches_vendor else 0)


async def test_missing_assignee_says_assigned_to_is_required(client: Client, server: MCPServer) -> None:
    await lightfield(server)
    args = {k: v for k, v in FOLLOW_UP.items() if k != "assignees"}
    result = await client.call_tool("create_task", args)
    assert result.is_error
    assert "`assignees`" in text_of(result) and "$assignedTo" in text_of(result)


async def test_bad_status_lists_what_lightfield_accepts(client: Client, server: MCPServer) -> None:
    await lightfield(server)
    result = await client.call_tool("create_task", {**FOLLOW_UP, "status": "blocked"})
    assert result.is_error
    assert "todo (TODO)" in text_of(result) and "done (COMPLETE)" in text_of(result)
    assert "Nothing was sent" in text_of(result)


async def test_every_request_carries_the_version_header(client: Client, server: MCPServer) -> None:
    _, state, clock = await lightfield(server)
    task = await call_ok(client, "create_task", FOLLOW_UP)
    await call_ok(client, "update_task", {"vendor": "lightfield", "task_id": task["id"], "title": "Renamed"})
    clock.advance(1)
    await call_ok(client, "list_tasks", {"vendor": "lightfield", "text": "renamed"})
    await call_ok(client, "find_people", {"vendor": "lightfield", "query": "Priya"})
    preview = await call_ok(client, "delete_task", {"vendor": "lightfield", "task_id": task["id"]})
    await call_ok(
        client,
        "delete_task",
        {"vendor": "lightfield", "task_id": task["id"], "confirm": True, "confirm_token": preview["confirm_token"]},
    )
    sent = state.requests_matching()
    assert {r.method for r in sent} == {"GET", "POST", "DELETE"}
    assert {r.path.split("/")[2] for r in sent} == {"tasks", "members"}
    for r in sent:
        assert r.headers.get("lightfield-version") == API_VERSION, (r.method, r.path)
        assert r.headers.get("authorization", "").startswith("Bearer sk_lf_"), (r.method, r.path)
        if r.method == "POST":
            assert r.headers.get("content-type") == "application/json"
    assert all(r.status == 200 for r in sent)


async def test_find_people_by_name_prefix_and_email(client: Client, server: MCPServer) -> None:
    await lightfield(server)
    by_name = await call_ok(client, "find_people", {"vendor": "lightfield", "query": "pri"})
    assert [(p["id"], p["name"]) for p in by_name["people"]] == [(PRIYA, "Priya Natarajan")]
    by_email = await call_ok(client, "find_people", {"vendor": "lightfield", "query": "DANA@northwind.example"})
    assert [p["id"] for p in by_email["people"]] == [DANA]


async def test_list_pages_past_the_vendor_page_cap(client: Client, server: MCPServer) -> None:
    sandbox, state, _ = await lightfield(server)
    sandbox.rate_limit = 1000
    for n in range(30):
        await call_ok(client, "create_task", {**FOLLOW_UP, "title": f"Task {n:02d}"})
    sandbox.catch_up()
    first = await call_ok(client, "list_tasks", {"vendor": "lightfield", "limit": 27})
    assert len(first["tasks"]) == 27 and first["next_cursor"]
    limits = [r.query for r in state.requests_matching("GET", "/v1/tasks") if "limit=" in r.query]
    assert limits[-2:] == ["offset=0&limit=25", "offset=25&limit=2"]
    rest = await call_ok(client, "list_tasks", {"vendor": "lightfield", "limit": 27, "cursor": first["next_cursor"]})
    assert len(rest["tasks"]) == 3 and rest["next_cursor"] is None
    titles = [t["title"] for t in first["tasks"] + rest["tasks"]]
    assert sorted(titles) == [f"Task {n:02d}" for n in range(30)]


async def test_update_with_a_key_used_for_another_task_changes_nothing(client: Client, server: MCPServer) -> None:
    await lightfield(server)
    one = await call_ok(client, "create_task", {**FOLLOW_UP, "title": "One"})
    two = await call_ok(client, "create_task", {**FOLLOW_UP, "title": "Two"})
    key = {"idempotency_key": "reused-key"}
    await call_ok(client, "update_task", {"vendor": "lightfield", "task_id": one["id"], "status": "done", **key})
    result = await client.call_tool(
        "update_task", {"vendor": "lightfield", "task_id": two["id"], "status": "cancelled", **key}
    )
    assert result.is_error and "idempotency_key" in text_of(result)
    still = await call_ok(client, "get_task", {"vendor": "lightfield", "task_id": two["id"]})
    assert still["status"] == "in_progress"
