"""Trackops against its published reference (seed-docs/001): what the date bounds mean, how answers
are read (typed, documented fields only), and the requests and answers checked against
tests/vendor_contracts/trackops-tasks.openapi.yaml, the reference written down as OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import jsonschema
import pytest
import yaml
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.errors import OutcomeUnknown, VendorUnavailable
from tasklink.models import CreateTaskRequest, ListTasksRequest, parse_due
from tasklink.sandbox._core import Fault
from tasklink.sandbox.trackops import API_TOKEN, USERNAME, create_app
from tasklink.vendors.trackops import TrackopsAdapter, TrackopsTaskRecord

from .conftest import sandbox_of, service_of
from .support import FULL_TASK, ROOT, VENDOR_SPECS, call_ok, text_of

pytestmark = pytest.mark.anyio

VENDOR = "trackops"
SEED_001 = VENDOR_SPECS / "seed-docs" / "001_a79a9817a8219db0.txt"
OPENAPI = ROOT / "tests" / "vendor_contracts" / "trackops-tasks.openapi.yaml"


async def listed(client: Client, **args: Any) -> list[str]:
    page = await call_ok(client, "list_tasks", {"vendor": VENDOR, "limit": 100, **args})
    return [t["id"] for t in page["tasks"]]


async def last_query(server: MCPServer) -> dict[str, str]:
    state = await sandbox_of(server, VENDOR)
    return dict(parse_qsl(state.requests_matching("GET", "/api/v1/tasks")[-1].query))


async def adapter_of(server: MCPServer) -> TrackopsAdapter:
    adapter = await service_of(server).vendors.adapter(VENDOR)
    assert isinstance(adapter, TrackopsAdapter)
    return adapter


# -- defect: a date given to a `*_to` filter excluded the named day ------------------------------


def test_the_reference_says_on_or_before() -> None:
    """The reading pinned below comes from these lines of the reference."""

    text = " ".join(SEED_001.read_text(encoding="utf-8").split())
    for line in (
        "complete_to timestamp no Task was completed on or before the date.",
        "created_to timestamp no Created on or before the date, as determined by the system.",
        "due_to date no Task is due on or before the date (Alias: To).",
        "Note: All timestamp parameters are queried and returned in UTC.",
    ):
        assert line in text


async def test_complete_to_includes_the_named_day(client: Client, server: MCPServer) -> None:
    """Task 1002 was completed at 21:45 UTC on 2024-03-19: "completed on or before 2024-03-19" finds it.
    The date is sent as the last second of that UTC day, never as its first."""

    assert await listed(client, vendor_filters={"complete_to": "2024-03-19"}) == ["1002"]
    assert (await last_query(server))["complete_to"] == "2024-03-19 23:59:59"
    assert await listed(client, vendor_filters={"complete_to": "2024-03-18"}) == []


@pytest.mark.parametrize(
    ("name", "day", "found"),
    [
        ("created_to", "2024-03-10", "1003"),  # created 2024-03-10 08:30:00
        ("updated_to", "2024-03-19", "1002"),  # modified 2024-03-19 21:45:00
        ("alert_to", "2024-04-09", "1001"),  # alert 2024-04-09 13:00:00
        ("alert_sent_to", "2024-04-09", "1001"),  # delivered 2024-04-09 13:00:04
        ("complete_to", "2024-03-19", "1002"),
    ],
)
async def test_every_to_filter_includes_the_named_day(
    client: Client, server: MCPServer, name: str, day: str, found: str
) -> None:
    assert found in await listed(client, vendor_filters={name: day})
    assert (await last_query(server))[name] == f"{day} 23:59:59"


async def test_from_filters_start_at_the_named_day(client: Client, server: MCPServer) -> None:
    assert await listed(client, vendor_filters={"complete_from": "2024-03-19", "complete_to": "2024-03-19"}) == ["1002"]
    query = await last_query(server)
    assert (query["complete_from"], query["complete_to"]) == ("2024-03-19 00:00:00", "2024-03-19 23:59:59")


async def test_due_to_includes_the_named_day(client: Client, server: MCPServer) -> None:
    """due_to/To take a date (not a timestamp) and are sent as that date: task 1002 is due 2024-03-20."""

    assert "1002" in await listed(client, due_before="2024-03-20")
    assert (await last_query(server))["due_to"] == "2024-03-20"
    assert "1002" in await listed(client, vendor_filters={"To": "2024-03-20"})
    assert (await last_query(server))["To"] == "2024-03-20"
    assert "1002" not in await listed(client, vendor_filters={"due_to": "2024-03-19"})


async def test_a_fraction_of_a_second_is_rounded_inwards(server: MCPServer) -> None:
    """Trackops timestamps have whole seconds: `from` 21:45:00.5 cannot include 21:45:00; `to` 21:45:00.5 does."""

    adapter = await adapter_of(server)
    instant = "2024-03-19T21:45:00.500Z"
    params = dict(adapter.list_params(ListTasksRequest(vendor=VENDOR, vendor_filters={"complete_from": instant})))
    assert params["complete_from"] == "2024-03-19 21:45:01"
    params = dict(adapter.list_params(ListTasksRequest(vendor=VENDOR, vendor_filters={"complete_to": instant})))
    assert params["complete_to"] == "2024-03-19 21:45:00"


# -- contradictions and tolerant reading ---------------------------------------------------------


async def test_trackops_alert_at_in_example_not_in_parameter_table_contradiction(
    client: Client, server: MCPServer
) -> None:
    """seed-docs/001's example request carries `"alert_at": "2023-02-01"` (line 124); its parameter table
    (lines 61-87) does not list it. The example is the only word on it, so tasklink sends it (as a date,
    or a UTC timestamp) and the simulator accepts it."""

    text = SEED_001.read_text(encoding="utf-8")
    table = text[text.index("Available Parameters") : text.index("Address Field Object Reference")]
    assert "alert_at" not in table and '"alert_at": "2023-02-01"' in text
    created = await call_ok(
        client,
        "create_task",
        {"vendor": VENDOR, "title": "Alert on a date", "due": "2031-04-01",
         "vendor_fields": {"casefile_id": 246, "calendar_id": 2, "alert_at": "2031-03-30"}},
    )  # fmt: skip
    sent = json.loads((await sandbox_of(server, VENDOR)).requests_matching("POST")[-1].body)
    assert sent["task"]["alert_at"] == "2031-03-30"
    assert created["vendor_fields"]["alert_at"] == "2031-03-30T00:00:00Z"


def test_trackops_reads_flat_and_cakephp_wrapped_records() -> None:
    """NOTES.md section 2: the PHP client reads related models under capitalised keys (`$record['User']
    ['name']`), so a record may come flat or as `{"Task": {...}, "User": ...}`; both read the same."""

    flat = {"id": 7, "title": "Serve papers", "status": "none", "casefile_id": 245,
            "User": [{"id": 2, "first_name": "Omar", "last_name": "Reyes"}]}  # fmt: skip
    wrapped = {"Task": {k: v for k, v in flat.items() if k != "User"}, "User": {"id": 2, "name": "Omar Reyes"}}
    for record in (flat, wrapped):
        task = TrackopsTaskRecord.model_validate(record)
        assert (task.id, task.title, task.casefile_id, task.assignee_ids()) == (7, "Serve papers", 245, ["2"])
        assert task.User is not None and task.User[0].display_name() == "Omar Reyes"
    # PHP writes an empty object as []; ids may come as strings of digits
    loose = TrackopsTaskRecord.model_validate({"id": "8", "address": [], "Casefile": [], "users_list": ["3"]})
    assert (loose.id, loose.address, loose.Casefile, loose.assignee_ids()) == (8, None, None, ["3"])


async def test_trackops_undocumented_fields_never_reach_a_result(client: Client, server: MCPServer) -> None:
    state = await sandbox_of(server, VENDOR)
    record = {
        "id": 1001, "title": "Surveil claimant", "status": "in_progress", "due_on": "2024-04-10",
        "internal_billing_code": "X-99", "address": {"city": "Denver", "gate_code": "4411"},
        "Casefile": {"id": 245, "name": "Hartley", "retainer": 5000},
    }  # fmt: skip
    state.inject(Fault(status=200, body=json.dumps(record), method="GET", path_prefix="/api/v1/tasks/1001"))
    task = await call_ok(client, "get_task", {"vendor": VENDOR, "task_id": "1001"})
    text = json.dumps(task)
    assert "X-99" not in text and "4411" not in text and "5000" not in text
    assert task["vendor_fields"]["address"] == {"city": "Denver"}
    assert task["vendor_fields"]["case"] == {"id": 245, "name": "Hartley"}


async def test_trackops_unreadable_answers_are_the_vendors_failure(server: MCPServer) -> None:
    adapter = await adapter_of(server)
    state = await sandbox_of(server, VENDOR)
    state.inject(Fault(status=200, body='{"title": "no id"}', method="GET", path_prefix="/api/v1/tasks/1001"))
    with pytest.raises(VendorUnavailable) as read:
        await adapter.get_task("1001")
    assert "Trackops answered get task with a body tasklink cannot read (`id`" in str(read.value)
    state.inject(Fault(status=200, body='[{"id": "one"}]', method="GET", path_prefix="/api/v1/tasks"))
    with pytest.raises(VendorUnavailable):
        await adapter.list_tasks(ListTasksRequest(vendor=VENDOR))
    state.inject(Fault(status=201, body='{"id": null}', method="POST", path_prefix="/api/v1/tasks"))
    plan = await adapter.plan_create_task(
        CreateTaskRequest(vendor=VENDOR, title="Unreadable", due=parse_due("2031-01-01", tz="UTC"),
                          vendor_fields={"casefile_id": 245, "calendar_id": 1})
    )  # fmt: skip
    with pytest.raises(OutcomeUnknown) as write:
        await adapter.http.execute(plan)
    assert "cannot be confirmed" in str(write.value)


# -- the simulator against the reference ---------------------------------------------------------


@pytest.fixture
async def raw(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(tmp_path / "trackops.sqlite3")
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app),
        base_url="https://sandbox.viewcases.com/api/v1",
        auth=httpx2.BasicAuth(f"{USERNAME}/token", API_TOKEN),
    ) as http:
        yield http
    app.state.sandbox.store.close()


async def test_trackops_simulator_refuses_ids_that_are_not_integers(raw: httpx2.AsyncClient) -> None:
    """The reference types casefile_id, calendar_id, subject_id and case_service_id as integers (lines 64-67)."""

    valid = {"casefile_id": 245, "calendar_id": 1, "due_on": "2031-01-10", "title": "Serve subpoena"}
    for name in ("casefile_id", "calendar_id", "subject_id", "case_service_id"):
        answer = await raw.post("/tasks", json={"task": {**valid, name: str(valid.get(name, 1))}})
        assert answer.status_code == 422, name
        assert answer.json()["errors"] == {name: ["must be an integer"]}
    untitled = await raw.post("/tasks", json={"task": {**valid, "title": 7}})
    assert untitled.json()["errors"] == {"title": ["must be a string"]}


def contract() -> dict[str, Any]:
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    return dict(document)


def check(document: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """`value` against a schema of the document (its `#/components/...` references resolved)."""

    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(value)


def answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = document["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return dict(response["content"]["application/json"]["schema"])


async def test_trackops_simulator_answers_fit_the_reference(raw: httpx2.AsyncClient) -> None:
    document = contract()
    answers: list[tuple[str, str, httpx2.Response]] = [
        ("/tasks", "get", await raw.get("/tasks", params={"per_page": 100})),
        ("/tasks", "get", await raw.get("/tasks", params={"mode": "count"})),
        ("/tasks", "get", await raw.get("/tasks", params={"status": "done"})),
        ("/tasks/{task_id}", "get", await raw.get("/tasks/1005")),
        ("/tasks/{task_id}", "get", await raw.get("/tasks/4242")),
        ("/tasks", "post", await raw.post("/tasks", json={"task": {"casefile_id": 245}})),
        ("/tasks", "post", await raw.post("/tasks", json={"task": {"casefile_id": 245, "calendar_id": 1,
              "due_on": "2031-01-10", "title": "t", "address": {"zip": 80202, "state": "CO"}, "users_list": [2]}})),
    ]  # fmt: skip
    assert [a.status_code for _, _, a in answers] == [200, 200, 400, 200, 404, 422, 201]
    for path, method, answer in answers:
        check(document, answer_schema(document, path, method, answer.status_code), answer.json())
    unauthenticated = await raw.get("/tasks", auth=None)
    check(document, answer_schema(document, "/tasks", "get", 401), unauthenticated.json())


async def test_trackops_requests_fit_the_reference(client: Client, server: MCPServer) -> None:
    document = contract()
    await call_ok(client, "create_task", FULL_TASK)
    await call_ok(client, "list_tasks", {"vendor": VENDOR, "status": "todo", "assignee": "2", "text": "x",
                                         "due_after": "2024-01-01", "due_before": "2031-12-31"})  # fmt: skip
    await call_ok(client, "list_tasks", {"vendor": VENDOR, "vendor_filters": {
        "id": 1, "case": 245, "calendar": 1, "subject": 209, "To": "2031-01-01",
        **{f"{p}_{e}": "2024-03-19" for p in ("complete", "alert", "alert_sent", "created", "updated")
           for e in ("from", "to")}}})  # fmt: skip
    await call_ok(client, "get_task", {"vendor": VENDOR, "task_id": "1001"})
    state = await sandbox_of(server, VENDOR)
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/tasks"]["get"]["parameters"]}
    lists = state.requests_matching("GET", "/api/v1/tasks")
    assert len(lists) >= 3
    for request in lists:
        if request.path != "/api/v1/tasks":
            assert request.path.removeprefix("/api/v1/tasks/").isdigit()
            continue
        for name, value in parse_qsl(request.query):
            assert name in parameters, name
            schema = parameters[name]
            wanted = document["components"]["schemas"].get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)
            typed: Any = int(value) if wanted.get("type") == "integer" else value
            check(document, schema, typed)
    body_schema = document["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for request in state.requests_matching("POST", "/api/v1/tasks"):
        check(document, body_schema, json.loads(request.body))
    with pytest.raises(jsonschema.ValidationError):  # the document is closed on the request side
        check(document, body_schema, {"task": {**json.loads(request.body)["task"], "status": "none"}})


async def test_trackops_refusals_send_nothing_the_reference_forbids(client: Client, server: MCPServer) -> None:
    """A create the reference would refuse (a 4-letter state) never leaves tasklink."""

    args = {**FULL_TASK, "vendor_fields": {**FULL_TASK["vendor_fields"], "address": {"state": "COLO"}}}
    result = await client.call_tool("create_task", args)
    assert result.is_error and "`vendor_fields.address.state`" in text_of(result)
    assert (await sandbox_of(server, VENDOR)).requests_matching("POST") == []
