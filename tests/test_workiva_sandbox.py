"""Workiva simulator contract tests over HTTP, the adapter over real loopback HTTP, and the
dueAt/dueDate contradiction pinned."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tasklink.models import CreateTaskRequest, ListTasksRequest, UpdateTaskRequest
from tasklink.sandbox.workiva import CLIENT_ID, CLIENT_SECRET, WorkivaSandbox, create_app
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.workiva import WorkivaAdapter

from .support import JANE, SEED_EXAMPLE

pytestmark = pytest.mark.anyio

GA = {"X-Version": "2026-01-01"}
PROTO = {"X-Version": "2022-01-01"}


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, WorkivaSandbox]]:
    app = create_app(tmp_path / "workiva.sqlite3", token_lifetime=30)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="https://api.app.wdesk.com") as c:
        yield c, app.state.workiva
    app.state.sandbox.store.close()


async def bearer(client: httpx2.AsyncClient, **form: str) -> dict[str, str]:
    data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials", **form}
    response = await client.post("/oauth2/token", data=data)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_token_endpoint_contract(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    ok = await client.post(
        "/oauth2/token",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"},
    )
    body = ok.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["expires_in"] == 30 and body["token_type"] == "Bearer" and "task:write" in body["scope"]
    wrong = await client.post(
        "/oauth2/token", data={"client_id": CLIENT_ID, "client_secret": "nope", "grant_type": "client_credentials"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized_client"
    grant = await client.post("/oauth2/token", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_request"
    scope = await client.post(
        "/oauth2/token",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials", "scope": "x"},
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


async def test_bearer_expiry_scopes_and_error_body(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, sim = http
    missing = await client.get("/tasks", headers=GA)
    assert missing.status_code == 401
    assert missing.json() == {"code": "401Unauthorized", "message": "No valid API token provided"}
    auth = await bearer(client)
    assert (await client.get("/tasks", headers=GA | auth)).status_code == 200
    now = sim.clock()
    sim.clock = lambda: now + 31
    assert (await client.get("/tasks", headers=GA | auth)).status_code == 401
    sim.clock = lambda: now
    read_only = await bearer(client, scope="task:read")
    denied = await client.post("/tasks", headers=GA | read_only, json={"title": "x"})
    assert denied.status_code == 403 and denied.json()["code"] == "403Forbidden"


async def test_x_version_routing(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    auth = await bearer(client)
    # No X-Version = 2022-01-01, where /tasks does not exist and the prototype endpoint does.
    assert (await client.get("/tasks", headers=auth)).json()["code"] == "404NotFound"
    assert (await client.get("/prototype/platform/tasks", headers=auth)).status_code == 200
    assert (await client.get("/prototype/platform/tasks", headers=GA | auth)).status_code == 404
    assert (await client.get("/tasks", headers=GA | auth)).status_code == 200
    bad = await client.get("/tasks", headers={"X-Version": "2024-01-01"} | auth)
    assert bad.status_code == 400 and bad.json()["target"] == "X-Version"


async def test_seed_example_body_creates_a_prototype_task(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    auth = await bearer(client)
    created = await client.post("/prototype/platform/tasks", headers=PROTO | auth, json=SEED_EXAMPLE)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == SEED_EXAMPLE["title"] and task["status"] == "Completed"
    assert task["notificationsDisabled"] is True and task["dueAt"] is None and "dueDate" not in task


async def test_only_title_is_required_and_status_needs_one_step(
    http: tuple[httpx2.AsyncClient, WorkivaSandbox],
) -> None:
    client, _ = http
    auth = await bearer(client)
    assert (await client.post("/tasks", headers=GA | auth, json={"title": "Only a title"})).status_code == 201
    untitled = await client.post("/tasks", headers=GA | auth, json={"description": "no title"})
    assert untitled.status_code == 400
    assert untitled.json()["code"] == "400BadRequest" and untitled.json()["target"] == "title"
    step = {"completionMode": "ONE", "participants": [{"id": JANE, "type": "USER"}]}
    two = await client.post(
        "/tasks", headers=GA | auth, json={"title": "t", "status": "Completed", "approvalSteps": [step, step]}
    )
    assert two.status_code == 400 and two.json()["target"] == "status"


async def test_paging_with_next_link(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    auth = await bearer(client)
    for n in range(5):
        await client.post("/tasks", headers=GA | auth, json={"title": f"Paged {n}"})
    url, titles = "/tasks", []
    params: dict[str, str] | None = {"$maxpagesize": "2", "$filter": "title contains 'paged'"}
    for _ in range(5):
        page = (await client.get(url, params=params, headers=GA | auth)).json()
        titles += [t["title"] for t in page["data"]]
        if "@nextLink" not in page:
            break
        url, params = page["@nextLink"], None
    assert titles == [f"Paged {n}" for n in range(5)]
    too_big = await client.get("/tasks", params={"$maxpagesize": "1001"}, headers=GA | auth)
    assert too_big.status_code == 400 and too_big.json()["target"] == "$maxpagesize"
    bad_filter = await client.get("/tasks", params={"$filter": "owner eq 'x'"}, headers=GA | auth)
    assert bad_filter.status_code == 400 and bad_filter.json()["target"] == "$filter"
    empty = (await client.get("/tasks", params={"$filter": "title contains 'zzz'"}, headers=GA | auth)).json()
    assert empty == {"data": []}


@pytest.mark.parametrize(
    ("ops", "target"),
    [
        ([{"op": "add", "path": "/title", "value": "x"}], "/0/op"),
        ([{"op": "replace", "path": "/status", "value": "Completed"}], "/0/path"),
        ([{"op": "replace", "path": "/title", "value": "ok"}, {"op": "remove", "path": "/description"}], "/1/op"),
        ([{"op": "replace", "path": "/location", "value": {"resource": "elsewhere"}}], "/location"),
    ],
    ids=["add", "status-path", "second-op-remove", "move-location"],
)
async def test_json_patch_rules(
    http: tuple[httpx2.AsyncClient, WorkivaSandbox], ops: list[dict[str, Any]], target: str
) -> None:
    client, _ = http
    auth = await bearer(client)
    task = (
        await client.post("/tasks", headers=GA | auth, json={"title": "Patch me", "location": {"resource": "here"}})
    ).json()
    refused = await client.patch(f"/tasks/{task['id']}", headers=GA | auth, json=ops)
    assert refused.status_code == 400
    assert refused.json()["code"] == "400BadRequest" and refused.json()["target"] == target
    after = (await client.get(f"/tasks/{task['id']}", headers=GA | auth)).json()
    assert after["title"] == "Patch me" and after["location"]["resource"] == "here"


async def test_reassigning_restarts_the_task(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    auth = await bearer(client)
    task = (await client.post("/tasks", headers=GA | auth, json={"title": "Restart", "status": "Started"})).json()
    patched = await client.patch(
        f"/tasks/{task['id']}",
        headers=GA | auth,
        json=[{"op": "replace", "path": "/assignees", "value": [{"id": JANE, "type": "USER"}]}],
    )
    assert patched.status_code == 200 and patched.json()["status"] == "Created"
    assert (await client.delete(f"/tasks/{task['id']}", headers=GA | auth)).status_code == 204
    assert (await client.get(f"/tasks/{task['id']}", headers=GA | auth)).status_code == 404


async def test_prototype_is_gone_at_workiva_after_its_sunset(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, sim = http
    sim.clock = lambda: datetime(2027, 2, 1, tzinfo=UTC).timestamp()
    auth = await bearer(client)
    assert (await client.get("/prototype/platform/tasks", headers=PROTO | auth)).status_code == 404
    assert (await client.get("/tasks", headers=GA | auth)).status_code == 200


async def test_workiva_due_dueAt_vs_dueDate_contradiction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec's examples say `dueAt`, its Task schema and PATCH path say `dueDate`. We send
    `dueDate` (the schema), and read either: the prototype answers with `dueAt`, GA with `dueDate`.
    A body carrying only `dueAt` sets no due date at all — sending it would lose the date."""

    for version, answer_field in (("2026-01-01", "dueDate"), ("2022-01-01", "dueAt")):
        monkeypatch.setenv("WORKIVA_API_VERSION", version)
        async with TaskLink(TaskLinkSettings(data_dir=tmp_path / version, sandbox=True)) as tl:
            task = await tl.create_task(
                CreateTaskRequest(vendor="workiva", title=f"Due {version}", due=tl.parse_due("2030-03-01T09:00:00Z"))
            )
            assert task.due == "2030-03-01T09:00:00Z"
            rt = tl.vendors.runtimes["workiva"]
            log = rt.sandbox_app.state.sandbox.requests
            sent = json.loads(next(r for r in log if r.method == "POST" and "tasks" in r.path).body)
            assert sent["dueDate"] == "2030-03-01T09:00:00Z" and "dueAt" not in sent
            stored = rt.sandbox_app.state.sandbox.store.get("task", task.id)
            answer = WorkivaSandbox.render(stored, version)
            assert answer[answer_field] == "2030-03-01T09:00:00Z"
            assert ("dueAt" in answer) is (version == "2022-01-01")

    app = create_app(tmp_path / "raw.sqlite3")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="https://api.app.wdesk.com") as c:
        auth = await bearer(c)
        only_due_at = await c.post("/tasks", headers=GA | auth, json={"title": "x", "dueAt": "2030-03-01T09:00:00Z"})
        assert only_due_at.status_code == 201 and only_due_at.json()["dueDate"] is None
    app.state.sandbox.store.close()


async def test_adapter_over_loopback_live_mode(
    loopback_sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    srv, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("WORKIVA_"):
            monkeypatch.setenv(key, value)
    async with TaskLink(TaskLinkSettings(data_dir=tmp_path / "live")) as tl:
        rt = tl.vendors.runtime("workiva")
        assert rt.mode == "live" and rt.settings.api_base_url() == f"{srv.base}/workiva"
        created = await tl.create_task(CreateTaskRequest(vendor="workiva", title="Over loopback"))
        updated = await tl.update_task(UpdateTaskRequest(vendor="workiva", task_id=created.id, description="Real HTTP"))
        assert updated.description == "Real HTTP"
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            page = await tl.list_tasks(ListTasksRequest(vendor="workiva", limit=1, cursor=cursor))
            seen += [t.id for t in page.tasks]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert created.id in seen and len(seen) == len(set(seen))
        adapter = await tl.vendors.adapter("workiva")
        assert isinstance(adapter, WorkivaAdapter) and adapter.token_auth.fetches == 1
