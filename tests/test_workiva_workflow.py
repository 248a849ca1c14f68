"""Workiva through real MCP clients on the sandbox: the GA task lifecycle, the prototype endpoint's
deprecation and sunset, the token cache, and every documented error code."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.errors import ConfigurationError
from tasklink.mcp.server import build_server
from tasklink.sandbox._core import Fault, SandboxState
from tasklink.sandbox.workiva import CLIENT_SECRET, WorkivaSandbox
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.workiva import WorkivaAdapter

from .conftest import MODES, sandbox_of, service_of
from .support import JANE, SEED_EXAMPLE, text_of

pytestmark = pytest.mark.anyio

PRIYA = "V0ZVc2VyHzU1MDg3OTc0MDE4MDg4OTY"
MARCUS = "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"
ANA = "V0ZVc2VyHzU3MjI2NDY2Mzc0NDUxMjA"
BEFORE_SUNSET = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SUNSET_DAY = datetime(2027, 1, 31, 0, 0, tzinfo=UTC)
AFTER_SUNSET = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
MIGRATION = "WORKIVA_API_VERSION=2026-01-01"


def server_at(settings: TaskLinkSettings, when: datetime) -> MCPServer:
    tl = TaskLink(settings, clock=lambda: when.timestamp())
    return build_server(settings, service=tl)


def simulator(server: MCPServer) -> WorkivaSandbox:
    sim = service_of(server).vendors.runtimes["workiva"].sandbox_app.state.workiva
    assert isinstance(sim, WorkivaSandbox)
    return sim


async def adapter_of(server: MCPServer) -> WorkivaAdapter:
    adapter = await service_of(server).vendors.adapter("workiva")
    assert isinstance(adapter, WorkivaAdapter)
    return adapter


def token_requests(state: SandboxState) -> int:
    return len(state.requests_matching("POST", "/oauth2/token"))


@pytest.fixture(params=MODES)
async def ga(request: pytest.FixtureRequest, settings: TaskLinkSettings) -> AsyncIterator[tuple[Client, MCPServer]]:
    server = server_at(settings, BEFORE_SUNSET)
    async with Client(server, mode=request.param) as c:
        yield c, server


@pytest.fixture(params=MODES)
async def prototype(
    request: pytest.FixtureRequest, settings: TaskLinkSettings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Client, MCPServer]]:
    monkeypatch.setenv("WORKIVA_API_VERSION", "2022-01-01")
    server = server_at(settings, BEFORE_SUNSET)
    async with Client(server, mode=request.param) as c:
        yield c, server


# -- 2026-01-01: the GA lifecycle ----------------------------------------------------------------


async def test_workiva_ga_lifecycle_create_get_list_pages_reassign_delete(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    created = await client.call_tool(
        "create_task",
        {
            "vendor": "workiva",
            "title": "Quarterly close: tie out balance sheet",
            "description": "Check every balance against the trial balance.",
            "due": "2026-12-18T17:00:00+01:00",
            "assignees": [JANE],
            "vendor_fields": {
                "approvalSteps": [
                    {"completionMode": "ALL", "participants": [PRIYA, MARCUS], "dueDate": "2026-12-20"},
                ],
                "location": {"resource": "124efa2a142f472ba1ceab34ed18915f", "segment": "465ttdh2a142y75ehsf"},
            },
        },
    )
    assert not created.is_error, text_of(created)
    task = created.structured_content
    assert task["status"] == "todo" and task["vendor_status"] == "Created"
    assert task["warnings"] == []
    task_id = task["id"]

    state = await sandbox_of(server, "workiva")
    sent = json.loads(state.requests_matching("POST", "/tasks")[-1].body)
    assert sent["dueDate"] == "2026-12-18T16:00:00Z"
    assert sent["assignees"] == [{"id": JANE, "type": "USER"}]
    assert sent["approvalSteps"][0]["participants"] == [{"id": PRIYA, "type": "USER"}, {"id": MARCUS, "type": "USER"}]

    fetched = await client.call_tool("get_task", {"vendor": "workiva", "task_id": task_id})
    assert not fetched.is_error, text_of(fetched)
    got = fetched.structured_content
    assert got["title"] == "Quarterly close: tie out balance sheet"
    assert got["due"] == "2026-12-18T16:00:00Z"
    assert got["assignees"] == [JANE]
    assert got["vendor_fields"]["approvalSteps"] == [
        {"completionMode": "ALL", "participants": [PRIYA, MARCUS], "dueDate": "2026-12-20T17:00:00Z", "responses": []}
    ]
    assert got["vendor_fields"]["location"]["resource"] == "124efa2a142f472ba1ceab34ed18915f"

    for n in range(4):
        extra = await client.call_tool(
            "create_task", {"vendor": "workiva", "title": f"Quarterly close: schedule {n}", "assignees": [JANE]}
        )
        assert not extra.is_error, text_of(extra)
    other = await client.call_tool(
        "create_task", {"vendor": "workiva", "title": "Quarterly close: someone else's", "assignees": [PRIYA]}
    )
    assert not other.is_error

    seen: list[str] = []
    pages = 0
    arguments: dict[str, Any] = {"vendor": "workiva", "text": "quarterly close", "assignee": JANE, "limit": 2}
    while True:
        page = await client.call_tool("list_tasks", arguments)
        assert not page.is_error, text_of(page)
        pages += 1
        seen += [t["id"] for t in page.structured_content["tasks"]]
        assert len(page.structured_content["tasks"]) <= 2
        cursor = page.structured_content["next_cursor"]
        if cursor is None:
            break
        arguments = {"vendor": "workiva", "cursor": cursor}
        assert pages < 10
    assert pages == 3 and len(seen) == 5 == len(set(seen))
    assert task_id in seen and other.structured_content["id"] not in seen
    # (create_task's duplicate check also lists tasks, with its own page size)
    first_list = next(r for r in state.requests_matching("GET", "/tasks") if "%24maxpagesize=2&" in r.query)
    assert "assignees+eq+%27V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD%27" in first_list.query
    assert "title+contains+%27quarterly+close%27" in first_list.query

    updated = await client.call_tool("update_task", {"vendor": "workiva", "task_id": task_id, "assignees": [ANA]})
    assert not updated.is_error, text_of(updated)
    assert updated.structured_content["assignees"] == [ANA]
    assert any("restarts the task" in w for w in updated.structured_content["warnings"])
    patch = json.loads(state.requests_matching("PATCH", f"/tasks/{task_id}")[-1].body)
    assert patch == [{"op": "replace", "path": "/assignees", "value": [{"id": ANA, "type": "USER"}]}]

    preview = await client.call_tool("delete_task", {"vendor": "workiva", "task_id": task_id})
    assert not preview.is_error, text_of(preview)
    assert preview.structured_content["deleted"] is False
    assert state.requests_matching("DELETE") == []
    token = preview.structured_content["confirm_token"]
    deleted = await client.call_tool(
        "delete_task", {"vendor": "workiva", "task_id": task_id, "confirm": True, "confirm_token": token}
    )
    assert not deleted.is_error, text_of(deleted)
    assert deleted.structured_content["deleted"] is True
    gone = await client.call_tool("get_task", {"vendor": "workiva", "task_id": task_id})
    assert gone.is_error and "no such record" in text_of(gone)


async def test_workiva_filters_map_to_dollar_filter(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    result = await client.call_tool(
        "list_tasks",
        {
            "vendor": "workiva",
            "status": "done",
            "due_after": "2026-01-01T00:00:00Z",
            "due_before": "2026-12-31",
            "text": "O'Brien",
            "vendor_filters": {"location.resource": "abc"},
        },
    )
    assert not result.is_error, text_of(result)
    state = await sandbox_of(server, "workiva")
    from urllib.parse import parse_qs

    query = parse_qs(state.requests_matching("GET", "/tasks")[-1].query)
    assert query["$filter"] == [
        "status eq 'Completed' and dueDate ge 2026-01-01T00:00:00Z and dueDate le 2026-12-31T17:00:00Z "
        "and title contains 'O''Brien' and location.resource eq 'abc'"
    ]
    assert query["$maxpagesize"] == ["25"]


async def test_workiva_changing_a_set_location_is_refused_by_workiva(ga: tuple[Client, MCPServer]) -> None:
    client, _ = ga
    task = (
        await client.call_tool(
            "create_task", {"vendor": "workiva", "title": "Pinned", "vendor_fields": {"location": {"resource": "r1"}}}
        )
    ).structured_content
    moved = await client.call_tool(
        "update_task",
        {
            "vendor": "workiva",
            "task_id": task["id"],
            "title": "Moved",
            "vendor_fields": {"location": {"resource": "r2"}},
        },
    )
    assert moved.is_error
    assert "vendor_fields.location" in text_of(moved) and "cannot be changed" in text_of(moved)
    after = (await client.call_tool("get_task", {"vendor": "workiva", "task_id": task["id"]})).structured_content
    assert after["title"] == "Pinned" and after["vendor_fields"]["location"]["resource"] == "r1"


async def test_workiva_status_and_unknown_fields_are_refused_before_sending(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    state = await sandbox_of(server, "workiva")
    status = await client.call_tool("update_task", {"vendor": "workiva", "task_id": "abc", "status": "done"})
    assert status.is_error and "`status`" in text_of(status) and "Nothing was sent" in text_of(status)
    notify = await client.call_tool(
        "update_task", {"vendor": "workiva", "task_id": "abc", "vendor_fields": {"notificationsDisabled": True}}
    )
    assert notify.is_error and "vendor_fields.notificationsDisabled" in text_of(notify)
    mode = await client.call_tool(
        "create_task",
        {"vendor": "workiva", "title": "x", "vendor_fields": {"approvalSteps": [{"completionMode": "SOME"}]}},
    )
    assert mode.is_error and "vendor_fields.approvalSteps[0].completionMode" in text_of(mode)
    assert "ONE, ALL" in text_of(mode)
    role = await client.call_tool("create_task", {"vendor": "workiva", "title": "x", "assignees": [{"role_id": "7"}]})
    assert role.is_error and "assignees[0]" in text_of(role)
    assert state.requests_matching("POST", "/tasks") == [] and state.requests_matching("PATCH") == []


async def test_workiva_unknown_assignee_is_a_field_error(ga: tuple[Client, MCPServer]) -> None:
    client, _ = ga
    result = await client.call_tool("create_task", {"vendor": "workiva", "title": "x", "assignees": [JANE, "nobody"]})
    assert result.is_error
    # not id-shaped, so it is looked up by name first (and never sent)
    assert "Field `assignees[1]`" in text_of(result)
    assert "no Workiva person's name starts with 'nobody'" in text_of(result)
    ghost = "V0ZVc2VyHzAwMDAwMDAwMDAwMDAwMDA"  # id-shaped: sent, and the vendor's refusal is mapped to the field
    result = await client.call_tool("create_task", {"vendor": "workiva", "title": "x", "assignees": [JANE, ghost]})
    assert "Field `assignees[1]`" in text_of(result) and f"No active user {ghost}" in text_of(result)


async def test_workiva_find_people(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    found = await client.call_tool("find_people", {"vendor": "workiva", "query": "priya"})
    assert not found.is_error, text_of(found)
    assert [(p["id"], p["name"]) for p in found.structured_content["people"]] == [(PRIYA, "Priya Raman")]
    by_mail = await client.call_tool("find_people", {"vendor": "workiva", "query": "tom.baker@example.com"})
    assert [p["active"] for p in by_mail.structured_content["people"]] == [False]
    state = await sandbox_of(server, "workiva")
    assert state.requests_matching("GET", "/organizations/")[0].headers["x-version"] == "2026-01-01"


async def test_workiva_ga_version_has_no_sunset(settings: TaskLinkSettings) -> None:
    server = server_at(settings, AFTER_SUNSET)
    async with Client(server) as client:
        result = await client.call_tool("create_task", {"vendor": "workiva", "title": "After the sunset, on GA"})
        assert not result.is_error, text_of(result)
        assert result.structured_content["warnings"] == []
        vendors = (await client.call_tool("list_vendors", {})).structured_content["vendors"]
        assert next(v for v in vendors if v["name"] == "workiva")["notices"] == []
        state = await sandbox_of(server, "workiva")
        assert {r.headers["x-version"] for r in state.requests_matching(path_prefix="/tasks")} == {"2026-01-01"}


# -- 2022-01-01: the prototype endpoint, deprecated then sunset ---------------------------------


async def test_workiva_prototype_seed_example_creates_a_task_and_warns(prototype: tuple[Client, MCPServer]) -> None:
    client, server = prototype
    result = await client.call_tool(
        "create_task",
        {
            "vendor": "workiva",
            "title": SEED_EXAMPLE["title"],
            "description": SEED_EXAMPLE["description"],
            "assignees": [a["id"] for a in SEED_EXAMPLE["assignees"]],
            "status": SEED_EXAMPLE["status"],
            "vendor_fields": {k: SEED_EXAMPLE[k] for k in ("approvalSteps", "location", "notificationsDisabled")},
        },
    )
    assert not result.is_error, text_of(result)
    task = result.structured_content
    assert task["status"] == "done" and task["vendor_status"] == "Completed"
    assert task["vendor_fields"]["notificationsDisabled"] is True
    assert task["vendor_fields"]["approvalSteps"][0]["dueDate"] == "2023-06-11T13:00:00Z"
    (warning,) = task["warnings"]
    assert "2027-01-31" in warning and "2026-02-12" in warning and MIGRATION in warning

    state = await sandbox_of(server, "workiva")
    (sent,) = state.requests_matching("POST", "/prototype/platform/tasks")
    assert sent.headers["x-version"] == "2022-01-01" and sent.status == 201
    body = json.loads(sent.body)
    expected = {k: v for k, v in SEED_EXAMPLE.items() if k != "dueDate"}
    expected["approvalSteps"] = [dict(SEED_EXAMPLE["approvalSteps"][0], dueDate="2023-06-11T13:00:00Z")]
    assert body == expected

    listed = await client.call_tool("list_tasks", {"vendor": "workiva", "text": "quarterly report"})
    assert not listed.is_error, text_of(listed)
    assert [t["id"] for t in listed.structured_content["tasks"]] == [task["id"]]
    assert any("2027-01-31" in w for w in listed.structured_content["warnings"])
    vendors = (await client.call_tool("list_vendors", {})).structured_content["vendors"]
    (notice,) = next(v for v in vendors if v["name"] == "workiva")["notices"]
    assert "2027-01-31" in notice and MIGRATION in notice


async def test_workiva_prototype_patch_and_undocumented_routes(prototype: tuple[Client, MCPServer]) -> None:
    client, server = prototype
    task = (await client.call_tool("create_task", {"vendor": "workiva", "title": "Proto"})).structured_content
    renamed = await client.call_tool("update_task", {"vendor": "workiva", "task_id": task["id"], "title": "Renamed"})
    assert not renamed.is_error, text_of(renamed)
    assert renamed.structured_content["title"] == "Renamed"
    assert any("2027-01-31" in w for w in renamed.structured_content["warnings"])
    state = await sandbox_of(server, "workiva")
    assert state.requests_matching("PATCH", f"/prototype/platform/tasks/{task['id']}")
    before = len(state.requests)
    for tool, args in (("get_task", {}), ("delete_task", {})):
        refused = await client.call_tool(tool, {"vendor": "workiva", "task_id": task["id"], **args})
        assert refused.is_error and "WORKIVA_API_VERSION=2026-01-01" in text_of(refused)
    assert len(state.requests) == before


@pytest.mark.parametrize("when", [SUNSET_DAY, AFTER_SUNSET], ids=["sunset-day", "after"])
@pytest.mark.parametrize("mode", MODES)
async def test_workiva_prototype_is_refused_from_the_sunset_on(
    settings: TaskLinkSettings, monkeypatch: pytest.MonkeyPatch, when: datetime, mode: str
) -> None:
    monkeypatch.setenv("WORKIVA_API_VERSION", "2022-01-01")
    server = server_at(settings, when)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("create_task", {"title": SEED_EXAMPLE["title"], "assignees": [JANE]}),
        ("list_tasks", {}),
        ("get_task", {"task_id": "129g274495354cf18edb6b3ea3d023b2"}),
        ("update_task", {"task_id": "129g274495354cf18edb6b3ea3d023b2", "title": "x"}),
        ("delete_task", {"task_id": "129g274495354cf18edb6b3ea3d023b2"}),
        ("find_people", {"query": "jane"}),
    ]
    async with Client(server, mode=mode) as client:
        for tool, args in calls:
            result = await client.call_tool(tool, {"vendor": "workiva", **args})
            assert result.is_error, tool
            text = text_of(result)
            assert "sunset on 2027-01-31" in text and MIGRATION in text and "nothing was sent" in text, text
        vendors = (await client.call_tool("list_vendors", {})).structured_content["vendors"]
        (notice,) = next(v for v in vendors if v["name"] == "workiva")["notices"]
        assert "was sunset on 2027-01-31" in notice and MIGRATION in notice
        state = await sandbox_of(server, "workiva")
        assert state.requests == []


def test_workiva_unknown_api_version_is_a_configuration_error(
    settings: TaskLinkSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKIVA_API_VERSION", "2024-01-01")
    with pytest.raises(ConfigurationError) as err:
        TaskLink(settings)
    assert "2024-01-01" in str(err.value) and "2026-01-01" in str(err.value) and "2022-01-01" in str(err.value)


# -- the token ----------------------------------------------------------------------------------


async def test_workiva_twenty_calls_use_one_token(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    listed = await client.call_tool("list_tasks", {"vendor": "workiva", "limit": 3})
    ids = [t["id"] for t in listed.structured_content["tasks"]]
    for n in range(19):
        tool, args = ("get_task", {"task_id": ids[n % 3]}) if n % 2 else ("list_tasks", {"limit": 1})
        result = await client.call_tool(tool, {"vendor": "workiva", **args})
        assert not result.is_error, text_of(result)
    state = await sandbox_of(server, "workiva")
    assert token_requests(state) == 1
    token_call = state.requests_matching("POST", "/oauth2/token")[0]
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "grant_type=client_credentials" in token_call.body
    api_calls = [r for r in state.requests if r.path != "/oauth2/token"]
    assert len(api_calls) == 20 and all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


async def test_workiva_token_expired_at_workiva_is_refreshed_once_transparently(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    assert not (await client.call_tool("list_tasks", {"vendor": "workiva"})).is_error
    state = await sandbox_of(server, "workiva")
    simulator(server).expire_tokens()
    again = await client.call_tool("list_tasks", {"vendor": "workiva"})
    assert not again.is_error, text_of(again)
    assert token_requests(state) == 2
    assert [r.status for r in state.requests_matching("GET", "/tasks")] == [200, 401, 200]


async def test_workiva_token_is_renewed_before_it_expires(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    assert not (await client.call_tool("list_tasks", {"vendor": "workiva"})).is_error
    auth = (await adapter_of(server)).token_auth
    start = auth.clock()
    auth.clock = lambda: start + 560  # 599 s lifetime, renewed inside the last tenth
    assert not (await client.call_tool("list_tasks", {"vendor": "workiva"})).is_error
    state = await sandbox_of(server, "workiva")
    assert token_requests(state) == 2
    assert 401 not in [r.status for r in state.requests]


async def test_workiva_second_401_gives_up_after_one_refresh(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    assert not (await client.call_tool("list_tasks", {"vendor": "workiva"})).is_error
    state = await sandbox_of(server, "workiva")
    body = json.dumps({"code": "401Unauthorized", "message": "No valid API token provided"})
    state.inject(Fault(status=401, body=body, method="GET", path_prefix="/tasks", times=2))
    result = await client.call_tool("list_tasks", {"vendor": "workiva"})
    assert result.is_error
    assert "rejected the credentials (HTTP 401)" in text_of(result)
    assert "Retrying the same call will not help" in text_of(result)
    assert token_requests(state) == 2


async def test_workiva_bad_client_credentials_name_the_variables(
    loopback_sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    _, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("WORKIVA_"):
            monkeypatch.setenv(key, value)
    wrong = "wrong-secret-4f9a1c"
    monkeypatch.setenv("WORKIVA_CLIENT_SECRET", wrong)
    settings = TaskLinkSettings(data_dir=tmp_path / "live")
    async with Client(build_server(settings)) as client:
        vendors = (await client.call_tool("list_vendors", {})).structured_content["vendors"]
        assert next(v for v in vendors if v["name"] == "workiva")["mode"] == "live"
        result = await client.call_tool("create_task", {"vendor": "workiva", "title": "Never sent"})
    assert result.is_error
    text = text_of(result)
    assert "WORKIVA_CLIENT_ID" in text and "WORKIVA_CLIENT_SECRET" in text
    assert wrong not in text and CLIENT_SECRET not in text and "Traceback" not in text


# -- every documented error code ----------------------------------------------------------------

ERROR_CASES = [
    ("400BadRequest", 400, {}, "refused create task (HTTP 400)", "Retrying the same call will not help"),
    ("403Forbidden", 403, {}, "lacks the scope", "Retrying the same call will not help"),
    ("404NotFound", 404, {}, "has no such record", "Retrying the same call will not help"),
    ("409Conflict", 409, {}, "conflicts with another change", "Retrying the same call will not help"),
    ("429TooManyRequests", 429, {"Retry-After": "7"}, "rate limiting", "Retry after 7 s"),
    ("500InternalServerError", 500, {}, "failed on create task (HTTP 500)", "Retrying may help"),
    ("503ServiceUnavailable", 503, {}, "failed on create task (HTTP 503)", "Retrying may help"),
    ("401Unauthorized", 401, {}, "rejected the credentials (HTTP 401)", "Retrying the same call will not help"),
]


@pytest.mark.parametrize(("code", "status", "headers", "what", "advice"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
async def test_workiva_each_documented_error_code_becomes_a_tool_error(
    ga: tuple[Client, MCPServer], code: str, status: int, headers: dict[str, str], what: str, advice: str
) -> None:
    client, server = ga
    state = await sandbox_of(server, "workiva")
    from tasklink.sandbox.workiva import MESSAGES

    body = json.dumps({"code": code, "message": MESSAGES[status][1]})
    # A 401 is retried once with a fresh token, so it must come back twice to reach the caller.
    state.inject(
        Fault(
            status=status,
            headers=headers,
            body=body,
            method="POST",
            path_prefix="/tasks",
            times=2 if status == 401 else 1,
        )
    )
    result = await client.call_tool("create_task", {"vendor": "workiva", "title": "Fault"})
    assert result.is_error
    text = text_of(result)
    assert what in text and advice in text, text
    assert state.faults == []


async def test_workiva_read_rate_limit_waits_retry_after_then_succeeds(ga: tuple[Client, MCPServer]) -> None:
    client, server = ga
    state = await sandbox_of(server, "workiva")
    body = json.dumps({"code": "429TooManyRequests", "message": "Too many requests"})
    state.inject(Fault(status=429, headers={"Retry-After": "0"}, body=body, method="GET", path_prefix="/tasks"))
    result = await client.call_tool("list_tasks", {"vendor": "workiva"})
    assert not result.is_error, text_of(result)
    assert (await adapter_of(server)).http.waits == [0.0]
    assert [r.status for r in state.requests_matching("GET", "/tasks")] == [429, 200]
