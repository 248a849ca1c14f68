"""Workiva against its published contracts: platform.yaml (2026-01-01) and seed-docs/003 (the
2022-01-01 prototype create). The simulator answers in the documented shapes and refuses what they
forbid; the adapter reads answers through typed models, shows approval progress, `modified` and
`completed`, and pins where the spec's examples and schemas disagree."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
import stamina
import yaml
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.errors import OutcomeUnknown, VendorUnavailable
from tasklink.models import CreateTaskRequest, ListTasksRequest
from tasklink.sandbox._core import Fault
from tasklink.sandbox.workiva import CLIENT_ID, CLIENT_SECRET, WorkivaSandbox, create_app
from tasklink.vendors.workiva import WorkivaAdapter, WorkivaTask

from .conftest import sandbox_of, service_of
from .support import JANE, SEED_EXAMPLE, VENDOR_SPECS, call_ok, text_of

pytestmark = pytest.mark.anyio

GA = {"X-Version": "2026-01-01"}
PROTO = {"X-Version": "2022-01-01"}
MARCUS = "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"
ANA = "V0ZVc2VyHzU3MjI2NDY2Mzc0NDUxMjA"
SEED_003 = VENDOR_SPECS / "seed-docs" / "003_d7c2508b7593f107.txt"


# -- the published documents -----------------------------------------------------------------------


@cache
def platform() -> dict[str, Any]:
    document = yaml.safe_load((VENDOR_SPECS / "workiva" / "platform.yaml").read_text(encoding="utf-8"))
    assert document["info"]["version"] == "1.2734.0"
    return dict(document)


def _json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes an allowed null."""

    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("example", "examples", "nullable"):
            continue
        if key == "properties":
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = _json_schema(value)
    if node.get("nullable") is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def components() -> dict[str, Any]:
    return {"schemas": _json_schema(platform()["components"]["schemas"])}


def check(schema: dict[str, Any], value: Any) -> None:
    jsonschema.Draft202012Validator({**_json_schema(schema), "components": components()}).validate(value)


def answer_schema(path: str, method: str, status: int) -> dict[str, Any]:
    response = platform()["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = platform()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return dict(response["content"]["application/json"]["schema"])


def example(path: str, method: str, status: int) -> Any:
    return copy.deepcopy(
        platform()["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["example"]
    )


def seed_003_answer() -> dict[str, Any]:
    """The example answer of `POST /prototype/platform/tasks` in seed-docs/003 (lines 99-130)."""

    text = SEED_003.read_text(encoding="utf-8")
    start = text.index("{", text.index("Example Responses#"))
    answer, _ = json.JSONDecoder().raw_decode(text[start:])
    return dict(answer)


# -- the simulator over HTTP -----------------------------------------------------------------------


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, WorkivaSandbox]]:
    app = create_app(tmp_path / "workiva.sqlite3")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="https://api.app.wdesk.com") as c:
        yield c, app.state.workiva
    app.state.sandbox.store.close()


async def bearer(client: httpx2.AsyncClient) -> dict[str, str]:
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}
    answer = await client.post("/oauth2/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_workiva_description_is_never_null(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    """`Task.description` is a string and not nullable: a task without one answers without the field,
    and a null in a create body or a PATCH is refused with the documented 400 ErrorResponse."""

    client, _ = http
    auth = await bearer(client)
    assert "nullable" not in platform()["components"]["schemas"]["Task"]["properties"]["description"]
    created = await client.post("/tasks", headers=GA | auth, json={"title": "No description"})
    assert created.status_code == 201 and "description" not in created.json()
    fetched = (await client.get(f"/tasks/{created.json()['id']}", headers=GA | auth)).json()
    assert "description" not in fetched
    listed = (await client.get("/tasks", headers=GA | auth)).json()["data"]
    assert all(isinstance(t.get("description", ""), str) for t in listed)

    null = await client.post("/tasks", headers=GA | auth, json={"title": "x", "description": None})
    assert null.status_code == 400
    assert null.json()["code"] == "400BadRequest" and null.json()["target"] == "description"
    patch = [{"op": "replace", "path": "/description", "value": None}]
    cleared = await client.patch(f"/tasks/{created.json()['id']}", headers=GA | auth, json=patch)
    assert cleared.status_code == 400 and cleared.json()["target"] == "/description"
    proto = await client.post(
        "/prototype/platform/tasks", headers=PROTO | auth, json={"title": "x", "description": None}
    )
    assert proto.status_code == 400 and proto.json()["target"] == "description"


async def test_workiva_2026_status_is_a_free_string(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    """2026-01-01 `Task.status` is a string with no enum (default Created; examples show Completed and
    Awaiting Approval). The nine values are the 2022-01-01 reference's task statuses: the prototype keeps
    them. Null is refused in both versions (the field is not nullable)."""

    client, _ = http
    auth = await bearer(client)
    assert "enum" not in platform()["components"]["schemas"]["Task"]["properties"]["status"]
    for status in ("In Review", "Awaiting Approval", "Completed"):
        created = await client.post("/tasks", headers=GA | auth, json={"title": status, "status": status})
        assert created.status_code == 201, created.text
        assert created.json()["status"] == status
    for bad in (None, 3):
        refused = await client.post("/tasks", headers=GA | auth, json={"title": "x", "status": bad})
        assert refused.status_code == 400 and refused.json()["target"] == "status"
    proto = await client.post(
        "/prototype/platform/tasks", headers=PROTO | auth, json={"title": "x", "status": "In Review"}
    )
    assert proto.status_code == 400 and "Awaiting Approval" in proto.json()["message"]


async def test_workiva_token_endpoint_takes_a_form(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    """`POST /oauth2/token` documents an application/x-www-form-urlencoded body only; errors are IamError."""

    client, _ = http
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "client_credentials"}
    as_json = await client.post("/oauth2/token", json=form)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    check(platform()["paths"]["/oauth2/token"]["post"]["responses"]["400"]["content"]["application/json"]["schema"],
          as_json.json())  # fmt: skip
    ok = await client.post("/oauth2/token", data=form)
    check(answer_schema("/oauth2/token", "post", 200), ok.json())


async def test_workiva_simulator_answers_fit_platform_yaml(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    client, _ = http
    auth = await bearer(client)
    step = {"completionMode": "ONE", "participants": [{"id": JANE, "type": "USER"}], "dueDate": None}
    body = {"title": "Shapes", "description": "d", "dueDate": "2030-01-01T00:00:00Z", "assignees": [{"id": JANE}],
            "approvalSteps": [step], "location": {"resource": "r", "segment": None}, "status": "Completed"}  # fmt: skip
    created = await client.post("/tasks", headers=GA | auth, json=body)
    task_id = created.json()["id"]
    answers = [
        ("/tasks", "post", created),
        ("/tasks", "post", await client.post("/tasks", headers=GA | auth, json={"title": "Bare"})),
        ("/tasks", "get", await client.get("/tasks", headers=GA | auth, params={"$maxpagesize": "2"})),
        ("/tasks", "get", await client.get("/tasks", headers=GA | auth, params={"$filter": "title contains 'zz'"})),
        ("/tasks/{taskId}", "get", await client.get(f"/tasks/{task_id}", headers=GA | auth)),
        ("/tasks/{taskId}", "patch", await client.patch(f"/tasks/{task_id}", headers=GA | auth,
                                                         json=[{"op": "replace", "path": "/title", "value": "T"}])),
        ("/tasks/{taskId}", "get", await client.get("/tasks/nope", headers=GA | auth)),
        ("/tasks", "post", await client.post("/tasks", headers=GA | auth, json={"title": "x", "description": None})),
        ("/tasks", "get", await client.get("/tasks", headers=GA)),
        ("/tasks", "get", await client.get("/tasks", headers=GA | auth, params={"$maxpagesize": "0"})),
    ]  # fmt: skip
    assert [a.status_code for _, _, a in answers] == [201, 201, 200, 200, 200, 200, 404, 400, 401, 400]
    for path, method, answer in answers:
        check(answer_schema(path, method, answer.status_code), answer.json())
    page = answers[2][2].json()
    assert len(page["data"]) == 2 and isinstance(page["@nextLink"], str)
    assert answers[3][2].json() == {"data": []}
    deleted = await client.delete(f"/tasks/{task_id}", headers=GA | auth)
    assert deleted.status_code == 204 and deleted.content == b""


async def test_workiva_prototype_create_answers_like_seed_003(http: tuple[httpx2.AsyncClient, WorkivaSandbox]) -> None:
    """seed-docs/003: 201 with a PrototypeTask whose due date is `dueAt`, and `completed` for a completed task."""

    client, _ = http
    auth = await bearer(client)
    created = await client.post("/prototype/platform/tasks", headers=PROTO | auth, json=SEED_EXAMPLE)
    assert created.status_code == 201
    answer = created.json()
    documented = seed_003_answer()
    assert set(documented) <= set(answer), set(documented) - set(answer)
    assert answer["completed"]["dateTime"] == answer["created"]["dateTime"]
    assert answer["dueAt"] is None and answer["status"] == "Completed"


# -- the adapter's typed reading -------------------------------------------------------------------


async def adapter_of(server: MCPServer) -> WorkivaAdapter:
    adapter = await service_of(server).vendors.adapter("workiva")
    assert isinstance(adapter, WorkivaAdapter)
    return adapter


async def test_workiva_get_task_shows_approval_progress(client: Client) -> None:
    """Per approval step, who has responded and how (`approvalSteps[].responses`); list rows stay compact."""

    page = await call_ok(client, "list_tasks", {"vendor": "workiva", "text": "Tie out Q3"})
    (row,) = page["tasks"]
    assert row["vendor_fields"] == {} and row["vendor_status"] == "Awaiting Approval"
    task = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": row["id"]})
    (step,) = task["vendor_fields"]["approvalSteps"]
    assert step["completionMode"] == "ALL" and step["participants"] == [MARCUS, ANA]
    assert step["responses"] == [
        {"by": MARCUS, "action": "APPROVE", "at": "2026-10-02T15:30:00Z",
         "comment": "Balances agree with the trial balance."}
    ]  # fmt: skip


async def test_workiva_get_task_shows_modified_and_completed(client: Client) -> None:
    done = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Signed off", "status": "done"})
    assert done["vendor_fields"]["completed"] == {"at": done["created_at"], "by": done["links"]["owner"]}
    open_task = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Still open"})
    renamed = await call_ok(
        client, "update_task", {"vendor": "workiva", "task_id": open_task["id"], "title": "Still open, renamed"}
    )
    fetched = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": open_task["id"]})
    assert fetched["vendor_fields"]["completed"] is None
    assert fetched["vendor_fields"]["modified"] == renamed["vendor_fields"]["modified"]
    assert fetched["vendor_fields"]["modified"]["by"] == fetched["links"]["owner"]
    assert fetched["vendor_fields"]["modified"]["at"] >= fetched["created_at"]


async def test_workiva_approval_response_user_vs_user_id_contradiction(client: Client, server: MCPServer) -> None:
    """`TaskApprovalResponse.created` is an `Action` (`{dateTime, user: {id}}`) in the schema, but every task
    example in platform.yaml writes `created: {user_id, dateTime}`. The simulator answers the schema's shape;
    the adapter reads both, so the spec's own get example shows who rejected."""

    schema = platform()["components"]["schemas"]
    assert schema["TaskApprovalResponse"]["properties"]["created"]["allOf"] == [{"$ref": "#/components/schemas/Action"}]
    assert "user_id" not in schema["Action"]["properties"]
    documented = example("/tasks/{taskId}", "get", 200)
    assert "user_id" in documented["approvalSteps"][0]["responses"][0]["created"]

    state = await sandbox_of(server, "workiva")
    state.inject(Fault(status=200, body=json.dumps(documented), method="GET", path_prefix="/tasks/"))
    task = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": documented["id"]})
    assert task["vendor_fields"]["approvalSteps"][0]["responses"] == [
        {"by": "V0ZVc2VyHzU0MDg3OTc0MDE4MDg4OTY", "action": "REJECT", "at": "2023-06-11T13:00:00+00:00",
         "comment": "please refine"}
    ]  # fmt: skip
    seeded = next(t for t in state.store.all("task") if t["title"] == "Tie out Q3 balance sheet")
    assert seeded["approvalSteps"][0]["responses"][0]["created"]["user"] == {"id": MARCUS}


async def test_workiva_completed_in_examples_not_in_schema_contradiction(client: Client, server: MCPServer) -> None:
    """The `Task` schema has no `completed`; the 2026-01-01 create example and seed-docs/003's answer carry
    `completed: {dateTime}`. It is read as an `Action` (examples are the only word on it), and the simulator
    answers it for a task created as Completed."""

    assert "completed" not in platform()["components"]["schemas"]["Task"]["properties"]
    for documented in (example("/tasks", "post", 201), seed_003_answer()):
        assert documented["completed"] == {"dateTime": "2019-10-29T15:03:27Z"}
    state = await sandbox_of(server, "workiva")
    state.inject(
        Fault(status=200, body=json.dumps(example("/tasks", "post", 201)), method="GET", path_prefix="/tasks/")
    )
    task = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": "129g274495354cf18edb6b3ea3d023b2"})
    assert task["vendor_fields"]["completed"] == {"at": "2019-10-29T15:03:27Z", "by": None}
    assert task["vendor_fields"]["modified"] == {"at": "2019-10-29T15:03:27Z", "by": None}
    assert task["due"] == "2019-10-30T00:00:00Z"  # the example's dueAt


def test_workiva_every_documented_example_reads() -> None:
    """Each task answer example in platform.yaml and seed-docs/003 fits the adapter's models."""

    for path, method, status in (("/tasks", "post", 201), ("/tasks/{taskId}", "get", 200),
                                 ("/tasks/{taskId}", "patch", 200)):  # fmt: skip
        task = WorkivaTask.model_validate(example(path, method, status))
        assert task.id and task.title == "Review Document" and task.dueAt == "2019-10-30T00:00:00Z"
    listed = example("/tasks", "get", 200)
    assert [t["id"] for t in listed["data"]] == [WorkivaTask.model_validate(t).id for t in listed["data"]]
    prototype = WorkivaTask.model_validate(seed_003_answer())
    assert prototype.created is not None and prototype.created.by() == "V3ZVc2VyFzV3NiQ5NDA2NjIzNxk2njH"


async def test_workiva_undocumented_fields_never_reach_a_result(client: Client, server: MCPServer) -> None:
    documented = example("/tasks/{taskId}", "get", 200)
    leaky = {**documented, "internalNotes": "do not show", "location": {"resource": "r", "segment": None, "x": "y"},
             "approvalSteps": [{**documented["approvalSteps"][0], "escalation": "to the CFO"}]}  # fmt: skip
    state = await sandbox_of(server, "workiva")
    state.inject(Fault(status=200, body=json.dumps(leaky), method="GET", path_prefix="/tasks/"))
    task = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": documented["id"]})
    text = json.dumps(task)
    assert "do not show" not in text and "CFO" not in text and '"x"' not in text
    assert task["vendor_fields"]["location"] == {"resource": "r", "segment": None}


async def test_workiva_unreadable_answers_are_the_vendors_failure(server: MCPServer) -> None:
    adapter = await adapter_of(server)
    state = await sandbox_of(server, "workiva")
    state.inject(Fault(status=200, body='{"title": "no id"}', method="GET", path_prefix="/tasks/"))
    with pytest.raises(VendorUnavailable) as read:
        await adapter.get_task("abc")
    assert "Workiva answered get task with a body tasklink cannot read (`id`" in str(read.value)
    state.inject(
        Fault(status=200, body='{"data": [{"id": 1, "approvalSteps": [{}]}]}', method="GET", path_prefix="/tasks")
    )
    with pytest.raises(VendorUnavailable):
        await adapter.list_tasks(ListTasksRequest(vendor="workiva"))
    state.inject(Fault(status=201, body='{"title": "no id"}', method="POST", path_prefix="/tasks"))
    plan = await adapter.plan_create_task(CreateTaskRequest(vendor="workiva", title="Unreadable"))
    with pytest.raises(OutcomeUnknown) as write:
        await adapter.http.execute(plan)
    assert "Workiva answered create task" in str(write.value) and "cannot be confirmed" in str(write.value)


async def test_workiva_token_answer_must_fit_bearer_token(server: MCPServer) -> None:
    """`BearerToken` requires access_token, expires_in, scope and token_type."""

    state = await sandbox_of(server, "workiva")
    answer = '{"access_token": "t", "expires_in": 599}'
    state.inject(Fault(status=200, body=answer, path_prefix="/oauth2/token", times=10))
    adapter = await adapter_of(server)
    with stamina.set_testing(True, attempts=3), pytest.raises(VendorUnavailable) as caught:
        await adapter.list_tasks(ListTasksRequest(vendor="workiva"))
    assert "without a usable access token" in str(caught.value)


async def test_workiva_requests_fit_platform_yaml(client: Client, server: MCPServer) -> None:
    """What the adapter sends: a create body that is a `Task`, a JSON Patch of `replace` operations on the
    documented paths, and a form-urlencoded token request."""

    fields = {"approvalSteps": [{"completionMode": "ONE", "participants": [JANE]}], "location": {"resource": "r"},
              "notificationsDisabled": True}  # fmt: skip
    created = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Wire", "description": "d",
        "due": "2031-01-01", "status": "todo", "assignees": [JANE], "vendor_fields": fields})  # fmt: skip
    await call_ok(client, "update_task", {"vendor": "workiva", "task_id": created["id"], "title": "Wired",
                                          "description": "", "due": "2031-02-01", "assignees": [ANA]})  # fmt: skip
    state = await sandbox_of(server, "workiva")
    post = platform()["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    (sent,) = state.requests_matching("POST", "/tasks")
    check(post, json.loads(sent.body))
    patch_schema = platform()["paths"]["/tasks/{taskId}"]["patch"]["requestBody"]["content"]["application/json"]
    (patched,) = state.requests_matching("PATCH", "/tasks/")
    ops = json.loads(patched.body)
    check(patch_schema["schema"], ops)
    assert {op["op"] for op in ops} == {"replace"}
    assert {op["path"] for op in ops} == {"/title", "/description", "/dueDate", "/assignees"}
    assert all(op["value"] is not None for op in ops if op["path"] == "/description")
    (token,) = state.requests_matching("POST", "/oauth2/token")
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_workiva_tool_text_has_no_null_description(client: Client) -> None:
    task = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Plain"})
    assert task["description"] is None  # no description: the tool result says null, the vendor omits it
    result = await client.call_tool("get_task", {"vendor": "workiva", "task_id": task["id"]})
    assert not result.is_error, text_of(result)
