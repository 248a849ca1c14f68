"""The Lightfield adapter over real loopback HTTP, its settings, and the contradictions it settles."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from tasklink.errors import ConfigurationError, InvalidInput, VendorError, VendorRejected
from tasklink.models import AssigneeRef, CreateTaskRequest, UpdateTaskRequest
from tasklink.policy.gate import WriteOptions
from tasklink.sandbox.lightfield import API_KEY, create_app
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors._http import Redactor, VendorHttp, VendorRequest, WritePlan
from tasklink.vendors.lightfield import LightfieldAdapter, LightfieldSettings, TaskDefinitions, param_to_argument
from tasklink.vendors.registry import Vendors

from .conftest import ThreadedUvicorn
from .support import VENDOR_SPECS

pytestmark = pytest.mark.anyio

SAM, DANA = "mem_sam0001", "mem_dana003"


def response(status: int, body: Any) -> httpx2.Response:
    return httpx2.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


# -- contradictions -------------------------------------------------------------------------


async def test_lightfield_error_envelope_contradiction(tmp_path: Path) -> None:
    """The errors page (and the plugin's errors reference) wrap bodies in {"error": {...}}; the OpenAPI error
    schemas (BadRequestError, TooManyRequestsError, ...) and the docs' own 429 and 409 examples are bare.

    The simulator answers bare, as the OpenAPI file (the contract requests and answers are checked against)
    and the examples show; the adapter reads both forms alike, so either answer maps to the same detail.
    """

    spec = (VENDOR_SPECS / "lightfield" / "lightfield-tasks-api-openapi.yml").read_text(encoding="utf-8")
    schemas = yaml.safe_load(spec)["components"]["schemas"]
    assert set(schemas["BadRequestError"]["properties"]) == {"type", "message", "code", "param"}
    app = create_app(tmp_path / "lf.sqlite3")
    headers = {"Authorization": f"Bearer {API_KEY}", "Lightfield-Version": "2026-03-01"}
    async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=httpx2.ASGITransport(app=app)) as c:
        refused = await c.get("/v1/tasks", params={"$title[contains]": "x"}, headers=headers)
        unauthorized = await c.get("/v1/tasks")
    app.state.sandbox.store.close()
    assert refused.status_code == 400 and set(refused.json()) == {"type", "message", "code", "param"}
    assert unauthorized.status_code == 401 and set(unauthorized.json()) == {"type", "message"}
    assert LightfieldAdapter.parse_error(refused).code == "invalid_configuration"
    assert LightfieldAdapter.parse_error(refused).field == "text"

    inner = {
        "type": "bad_request",
        "message": "Unknown field '$priority' for tasks.",
        "code": "unknown_field",
        "param": "fields.$priority",
    }
    wrapped = LightfieldAdapter.parse_error(response(400, {"error": inner}))
    bare = LightfieldAdapter.parse_error(response(400, inner))
    assert wrapped == bare
    assert wrapped.code == "unknown_field"
    assert wrapped.field == "vendor_fields.$priority"
    assert "Unknown field '$priority'" in wrapped.message

    limited = {"type": "too_many_requests", "message": "Rate limit exceeded. Please try again later."}
    for body in (limited, {"error": limited}):
        detail = LightfieldAdapter.parse_error(response(429, body))
        assert (detail.message, detail.code, detail.field) == (limited["message"], "too_many_requests", None)
    conflict = {"type": "idempotency_conflict", "message": "An operation with this idempotency key is in progress."}
    assert LightfieldAdapter.parse_error(response(409, conflict)).code == "idempotency_conflict"
    assert LightfieldAdapter.parse_error(httpx2.Response(502, content=b"<html>")).message.endswith("non-JSON body")


async def test_lightfield_definition_slug_contradiction(tmp_path: Path) -> None:
    """Relationship filters name the definition slug (`$task-account`), which varies per organisation and must be
    read from GET /v1/tasks/definitions (plugin filtering.md and recipes.md). The docs' Fields and relationships
    page shows a `slug` in each definition; the OpenAPI TaskDefinitionsResponse schema has no `slug` (nor forbids
    one). tasklink reads `slug` as the docs show it, builds `$<objectType>-<slug>`, and refuses the assignee
    filter when a definition has none rather than guess `$task-assignedTo`."""

    spec = (VENDOR_SPECS / "lightfield" / "lightfield-tasks-api-openapi.yml").read_text(encoding="utf-8")
    schema = yaml.safe_load(spec)["components"]["schemas"]["TaskDefinitionsResponse"]
    definition = schema["properties"]["relationshipDefinitions"]["additionalProperties"]
    assert "slug" not in definition["properties"] and "additionalProperties" not in definition
    # the write side names the relationship by its key, fixed in the schema: `$assignedTo` stays as it is
    create = yaml.safe_load(spec)["paths"]["/v1/tasks"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["properties"]["relationships"]["oneOf"][0]["required"] == ["$assignedTo"]

    app = create_app(tmp_path / "lf.sqlite3")
    headers = {"Authorization": f"Bearer {API_KEY}", "Lightfield-Version": "2026-03-01"}
    async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=httpx2.ASGITransport(app=app)) as c:
        served = (await c.get("/v1/tasks/definitions", headers=headers)).json()
    app.state.sandbox.store.close()
    definitions = TaskDefinitions.model_validate(served)
    assert definitions.relationship_filter("$assignedTo", "assignee") == "$task-owner_member"
    assert definitions.relationship_filter("$account", "vendor_filters") == "$task-account"  # the docs' example
    del served["relationshipDefinitions"]["$assignedTo"]["slug"]
    with pytest.raises(VendorError, match="no filter slug for the \\$assignedTo relationship") as caught:
        TaskDefinitions.model_validate(served).relationship_filter("$assignedTo", "assignee")
    assert caught.value.field == "assignee"


@pytest.mark.parametrize(
    ("param", "argument"),
    [
        ("fields.$title", "title"),
        ("fields.$status", "status"),
        ("fields.$description", "description"),
        ("fields.$dueAt", "due"),
        ("fields.$priority", "vendor_fields.$priority"),
        ("relationships.$assignedTo", "assignees"),
        ("relationships.$assignedTo.replace", "assignees"),
        ("relationships.$account", "vendor_fields.$account"),
        ("relationships.sponsor", "vendor_fields.sponsor"),
        ("Idempotency-Key", "idempotency_key"),
        ("limit", "limit"),
        ("$status[equal]", "status"),
        ("$task-account[contains]", "vendor_filters.$task-account[contains]"),
        (None, None),
    ],
)
def test_error_param_maps_to_the_tool_argument(param: str | None, argument: str | None) -> None:
    assert param_to_argument(param) == argument


async def test_vendor_field_error_reads_as_a_field_error() -> None:
    http = VendorHttp(
        vendor_title="Lightfield",
        client=httpx2.AsyncClient(),
        redactor=Redactor([]),
        parse_error=LightfieldAdapter.parse_error,
    )
    body = {"error": {"type": "bad_request", "message": "No member found.", "code": "relationship_entity_missing",
                      "param": "relationships.$assignedTo"}}  # fmt: skip
    err = http.error_for(VendorRequest("POST", "/v1/tasks", action="create task"), response(400, body))
    assert isinstance(err, VendorRejected)
    assert err.field == "assignees" and err.code == "relationship_entity_missing"
    assert str(err).startswith("Field `assignees`: Lightfield refused create task (HTTP 400): No member found.")
    await http.client.aclose()


def test_lightfield_base_url_contradiction(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The overlay's server is https://api.lightfield.app/v1, but every path already starts with /v1/."""

    assert LightfieldSettings().api_base_url() == "https://api.lightfield.app"
    assert LightfieldSettings(base_url="https://api.lightfield.app/").validate_live() == []
    problems = LightfieldSettings(base_url="https://api.lightfield.app/v1").validate_live()
    assert problems == [
        "LIGHTFIELD_BASE_URL must not end in /v1 (paths already start with /v1/); use https://api.lightfield.app"
    ]
    monkeypatch.setenv("LIGHTFIELD_API_KEY", "sk_lf_live_example")
    monkeypatch.setenv("LIGHTFIELD_BASE_URL", "https://api.lightfield.app/v1")
    with pytest.raises(ConfigurationError, match="must not end in /v1"):
        Vendors.configure(TaskLinkSettings(data_dir=tmp_path, vendors=["lightfield"]))


async def test_lightfield_task_recipe_contradiction(tmp_path: Path) -> None:
    """The plugin's recipe writes $name, $dueDate and an option id; the OpenAPI file and SDK say $title, $dueAt
    and a status string. tasklink follows the OpenAPI file; the recipe's keys are refused by name."""

    for key in ("$name", "$dueDate"):
        with pytest.raises(InvalidInput, match=rf"`vendor_fields\.\{key}`"):
            LightfieldAdapter._relationship_fields({key: "x"})
    app = create_app(tmp_path / "lf.sqlite3")
    recipe = {
        "fields": {"$name": "Follow up", "$dueDate": "2030-01-01", "$status": "opt_task_todo"},
        "relationships": {"$assignedTo": SAM, "$account": "acc_acme001"},
    }
    headers = {"Authorization": f"Bearer {API_KEY}", "Lightfield-Version": "2026-03-01"}
    async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=httpx2.ASGITransport(app=app)) as c:
        answer = await c.post("/v1/tasks", json=recipe, headers=headers)
    app.state.sandbox.store.close()
    assert answer.status_code == 400
    assert answer.json()["code"] == "unknown_field"
    assert answer.json()["param"] == "fields.$name"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTFIELD_API_KEY", "sk_lf_secret_value")
    monkeypatch.setenv("LIGHTFIELD_BASE_URL", "http://127.0.0.1:9/")
    settings = LightfieldSettings()
    assert settings.present_credentials() == ["api_key"]
    assert settings.api_base_url() == "http://127.0.0.1:9"
    assert "sk_lf_secret_value" not in repr(settings)
    headers = LightfieldAdapter.client_headers(settings)
    assert headers == {"Authorization": "Bearer sk_lf_secret_value", "Lightfield-Version": "2026-03-01"}


# -- the vendor's idempotency key, below any local ledger -----------------------------------


async def send(adapter: Any, plan: WritePlan[Any], key: str) -> Any:
    """Send a planned write straight to the vendor with `key`, below tasklink's own ledger."""

    return await adapter.http.execute(replace(plan, request=replace(plan.request, idempotency_key=key)))


async def test_vendor_replays_a_repeated_key_so_one_task_is_created(tmp_path: Path) -> None:
    async with TaskLink(TaskLinkSettings(data_dir=tmp_path, sandbox=True, vendors=["lightfield"])) as tl:
        adapter = await tl.vendors.adapter("lightfield")
        app = tl.vendors.runtime("lightfield").sandbox_app
        req = CreateTaskRequest(vendor="lightfield", title="Once", assignees=[AssigneeRef(user_id=SAM)])
        first = await send(adapter, await adapter.plan_create_task(req), "only-once")
        second = await send(adapter, await adapter.plan_create_task(req), "only-once")
        assert second.id == first.id
        assert app.state.lightfield.task_count() == 1
        posts = app.state.sandbox.requests_matching("POST", "/v1/tasks")
        assert [r.headers["idempotency-key"] for r in posts] == ["only-once", "only-once"]

        other = await send(adapter, await adapter.plan_create_task(req.model_copy(update={"title": "Other"})), "o1")
        update = UpdateTaskRequest(vendor="lightfield", task_id=first.id, status="done")
        await send(adapter, await adapter.plan_update_task(update), "u1")
        with pytest.raises(InvalidInput, match="already used for Lightfield task") as caught:
            await send(adapter, await adapter.plan_update_task(update.model_copy(update={"task_id": other.id})), "u1")
        assert caught.value.field == "idempotency_key"
        assert (await adapter.get_task(other.id)).status == "todo"


# -- over real loopback HTTP ----------------------------------------------------------------


async def test_adapter_over_loopback(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("LIGHTFIELD_"):
            monkeypatch.setenv(key, value)
    async with TaskLink(TaskLinkSettings(data_dir=tmp_path / "client", vendors=["lightfield"])) as tl:
        assert tl.vendors.runtime("lightfield").mode == "live"
        task = await tl.create_task(
            CreateTaskRequest(
                vendor="lightfield",
                title="Send the renewal quote",
                due=tl.parse_due("2030-03-04"),
                assignees=[AssigneeRef(user_id=SAM)],
                vendor_fields={"$account": "acc_globex02", "$opportunity": "opp_acme_renewal"},
            ),
            WriteOptions(idempotency_key="loopback-1"),
        )
        assert task.links == {"account": "acc_globex02", "opportunity": "opp_acme_renewal", "createdBy": SAM}
        assert task.due == "2030-03-04T17:00:00.000Z"
        again = await tl.get_task("lightfield", task.id)
        assert again.title == "Send the renewal quote"
        moved = await tl.update_task(
            UpdateTaskRequest(vendor="lightfield", task_id=task.id, assignees=[AssigneeRef(user_id=DANA)])
        )
        assert moved.assignees == [DANA] and moved.status == "todo"
        people = await tl.find_people("lightfield", "dana")
        assert [p.id for p in people.people] == [DANA]

    async with httpx2.AsyncClient(base_url=f"{server.base}/lightfield") as raw:
        log = (await raw.get("/_sandbox/requests")).json()
    # list reads (e.g. a duplicate check) may come and go; the writes and by-id reads are the contract, and the
    # task definitions (the duplicate check's operator and assignee slug) are read once, before the first list.
    # Create and update answer the record itself, so neither is read back: the one by-id read is get_task's.
    sent = [r for r in log if r["path"].startswith("/v1/") and (r["method"], r["path"]) != ("GET", "/v1/tasks")]
    assert [f"{r['method']} {r['path'].replace(task.id, '{id}')}" for r in sent] == [
        "GET /v1/tasks/definitions",
        "POST /v1/tasks",
        "GET /v1/tasks/{id}",
        "POST /v1/tasks/{id}",
        "GET /v1/members",
    ]
    assert all(r["headers"]["lightfield-version"] == "2026-03-01" for r in sent)
    assert all(r["status"] == 200 for r in sent)
    assert sent[1]["headers"]["idempotency-key"] == "loopback-1"
    assert sent[3]["headers"]["idempotency-key"]
