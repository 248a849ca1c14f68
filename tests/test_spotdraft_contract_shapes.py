"""The SpotDraft simulator against its published contract, and the adapter against documented answers.

Every simulator answer is validated against the response schema in the SpotDraft OpenAPI files;
every request the contract allows is accepted and every one it forbids is refused with the
documented status and body. The adapter reads answers only through models of those schemas, so
it reports what a documented answer says and never reads an undocumented field.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.sandbox._core import Fault
from tasklink.sandbox.spotdraft import CLIENT_ID, CLIENT_SECRET, FILES, create_app

from .conftest import sandbox_of
from .support import VENDOR_SPECS, text_of

pytestmark = pytest.mark.anyio

SPECS = VENDOR_SPECS / "spotdraft"
INTAKE_SPEC = "spotdraft-v1-legal-intake-api-openapi.yml"
TASK_SPEC = "spotdraft-v2-1-tasks-and-reminders-api-openapi.yml"
FULL_SPEC = "spotdraft-openapi.yml"
AUTH = {"client-id": CLIENT_ID, "client-secret": CLIENT_SECRET}
INTAKES = "/api/v1/public/legal_intake/"
USER_TASKS = "/api/v2.1/public/user_tasks/"
USERS = "/api/v2.1/public/auth/users/"
ROLES = "/api/v2.1/public/auth/roles/"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
PUBLIC_ERROR_KEYS = {"detail", "status_code", "code", "message"}


@functools.cache
def spec(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPECS / name).read_text(encoding="utf-8"))
    return loaded


def schema_errors(spec_name: str, schema: str, body: Any) -> list[str]:
    """Where `body` breaks `#/components/schemas/<schema>` of the spec file (formats checked too)."""

    checker = FormatChecker()
    checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(RFC3339.match(value)))
    root = {"$ref": f"#/components/schemas/{schema}", "components": spec(spec_name)["components"]}
    validator = Draft202012Validator(root, format_checker=checker)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]


def assert_documented(spec_name: str, schema: str, body: Any) -> None:
    errors = schema_errors(spec_name, schema, body)
    assert errors == [], f"{schema}: {errors}"


def assert_public_error(response: httpx2.Response, *needles: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == PUBLIC_ERROR_KEYS and body["status_code"] == 400, body
    for needle in needles:
        assert needle in body["message"], (needle, body)


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(tmp_path / "spotdraft.sqlite3")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(base_url="https://api.us.spotdraft.com", transport=transport, headers=AUTH) as c:
        yield c
    app.state.sandbox.store.close()


async def new_intake(http: httpx2.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await http.post(INTAKES, json={"title": "Host", "workflow_id": 7} | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def intake_task(intake_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Collect business justification",
        "assignees": [{"org_user_id": 102}],
        "task_category": "INTAKE_TASK",
        "task_associations": [{"entity_id": intake_id, "entity_type": "LEGAL_INTAKE"}],
    } | fields


def plain_task(**fields: Any) -> dict[str, Any]:
    return {"title": "Review", "assignees": [{"org_user_id": 100}], "due_date": "2031-01-10T17:00:00Z"} | fields


# -- every answer has its documented shape -------------------------------------------------------


async def test_intake_answers_are_documented_shapes(http: httpx2.AsyncClient) -> None:
    created = await new_intake(
        http,
        description="Renewal",
        due_date="2031-03-03T17:00:00+05:30",
        assignees=[
            {"entity_id": "102", "entity_type": "ORG_USER", "assignee_type": "ASSIGNED_TO"},
            {"entity_id": "101", "entity_type": "ORG_USER", "assignee_type": "COLLABORATOR"},
        ],
        file_ids=[FILES[0]["uuid"]],
    )
    assert_documented(INTAKE_SPEC, "LegalIntakePublicDetailResponse", created)
    assert created["due_date"] == "2031-03-03T11:30:00Z"  # answered in UTC, as the guide says
    task = await http.post(USER_TASKS, json=intake_task(created["id"]))
    assert task.status_code == 201, task.text
    detail = (await http.get(f"{INTAKES}{created['id']}/")).json()
    assert_documented(INTAKE_SPEC, "LegalIntakePublicDetailResponse", detail)
    assert detail["tasks"][0]["intake_task_status"] == "PENDING" and detail["tasks"][0]["priority"] == "MEDIUM"
    patched = await http.patch(f"{INTAKES}{created['id']}/", json={"status": "IN_PROGRESS"})
    assert_documented(INTAKE_SPEC, "LegalIntakePublicDetailResponse", patched.json())
    listed = (await http.get(INTAKES)).json()
    assert_documented(INTAKE_SPEC, "LegalIntakePublicListResponse", listed)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(plain_task(), id="user-task"),
        pytest.param(
            plain_task(
                notes="Flag anything uncapped.",
                contract_id=1,
                assignees=[{"org_user_id": 100}, {"role_id": 456}],
                reminders=[{"value": 2, "type": "DAYS", "days": 2}, {"value": 1, "type": "WEEKS", "days": 7}],
            ),
            id="contract-role-reminders",
        ),
        pytest.param(plain_task(due_date_key_pointer_id=12, due_date=None), id="key-pointer"),
        pytest.param(None, id="intake-task-without-due"),
    ],
)
async def test_user_task_answer_is_a_documented_user_task_public_response(
    http: httpx2.AsyncClient, body: dict[str, Any] | None
) -> None:
    """The simulator's 201 once broke `UserTaskPublicResponse` in 16 places (nulls in fields that are not
    nullable, required fields missing, reminders in the request's shape)."""
    if body is None:
        body = intake_task((await new_intake(http))["id"], assignees=[])
    body = {k: v for k, v in body.items() if v is not None}
    response = await http.post(USER_TASKS, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert_documented(TASK_SPEC, "UserTaskPublicResponse", answer)
    assert "priority" not in answer and "intake_task_status" not in answer  # not in UserTaskPublicResponse
    for reminder in answer["reminders"]:
        assert set(reminder) >= {"id", "user_task_id", "relative_time"}


async def test_users_and_roles_answers_are_documented_shapes(http: httpx2.AsyncClient) -> None:
    users = (await http.get(USERS, params={"user_name": "Priya"})).json()
    assert_documented(FULL_SPEC, "PublicUserWithRolesMinimalListResponse", users)
    assert [u["name"] for u in users["results"]] == ["Priya Raman", "Priya Shah"]
    assert all("first_name" not in u for u in users["results"])  # the schema's shape, not the example's
    roles = await http.get(ROLES)
    assert roles.status_code == 200
    assert_documented(FULL_SPEC, "ExternalUserActiveRolesResponseList", roles.json())
    assert {r["name"] for r in roles.json()["active_roles"]} == {"Admin", "Legal"}


# -- what the contract allows is accepted ----------------------------------------------------------


@pytest.mark.parametrize("raw", ["sort=%2Btitle", "sort=+title"])
async def test_plus_sort_is_ascending(http: httpx2.AsyncClient, raw: str) -> None:
    """'field' or '+field' ascends (the list operation's `sort` description); an unencoded '+' arrives as a space."""
    for title in ("B", "C", "A"):
        await new_intake(http, title=title)
    response = await http.get(f"{INTAKES}?{raw}")
    assert response.status_code == 200, response.text
    assert [i["title"] for i in response.json()["intakes"]] == ["A", "B", "C"]


async def test_patch_accepts_nulls(http: httpx2.AsyncClient) -> None:
    """Every field of the update schema is nullable. Null clears what an intake may lack (description,
    due date, metadata) and leaves what it always has (title, status, priority) and its assignees."""
    row = {"entity_id": "100", "entity_type": "ORG_USER", "assignee_type": "ASSIGNED_TO"}
    created = await new_intake(
        http, description="d", due_date="2031-01-01T00:00:00Z", metadata={"a": 1}, priority="HIGH", assignees=[row]
    )
    nulls = dict.fromkeys(("title", "description", "status", "priority", "due_date", "metadata", "assignees"))
    response = await http.patch(f"{INTAKES}{created['id']}/", json=nulls)
    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["title"], after["status"], after["priority"]) == ("Host", "PENDING", "HIGH")
    assert (after["description"], after["due_date"], after["metadata"]) == (None, None, None)
    assert [a["entity_id"] for a in after["assignees"]] == ["100"]
    assert_documented(INTAKE_SPEC, "LegalIntakePublicDetailResponse", after)


async def test_patch_title_follows_the_update_schema(http: httpx2.AsyncClient) -> None:
    """The update schema sets only minLength on `title` (the create schema also sets maxLength 255)."""
    created = await new_intake(http)
    assert (await http.patch(f"{INTAKES}{created['id']}/", json={"title": "x" * 300})).status_code == 200
    assert (await http.patch(f"{INTAKES}{created['id']}/", json={"title": ""})).json() == {
        "title": ["String should have at least 1 character"]
    }


@pytest.mark.parametrize("limit", [100, 150, 1000])
async def test_users_limit_has_no_maximum(http: httpx2.AsyncClient, limit: int) -> None:
    response = await http.get(USERS, params={"limit": limit})
    assert response.status_code == 200, response.text
    assert response.json()["limit"] == limit


async def test_spotdraft_intake_limit_max_from_example_not_schema_contradiction(http: httpx2.AsyncClient) -> None:
    """The list schema gives `limit` no maximum; its documented 400 example says 'less than or equal to 100'.
    The intake list follows the example (a page tasklink never asks beyond: list_intakes caps limit at 100);
    the users list, which documents no maximum, has none."""
    assert (await http.get(INTAKES, params={"limit": 101})).json() == {
        "limit": ["Input should be less than or equal to 100"]
    }
    assert (await http.get(USERS, params={"limit": 101})).status_code == 200


async def test_documented_filter_forms_are_accepted(http: httpx2.AsyncClient) -> None:
    await new_intake(http, title="Low", priority="LOW")
    await new_intake(http, title="High", priority="HIGH")
    for params in ({"filter__priority": "HIGH"}, {"filter__priority[$eq]": "HIGH"}, {"filter__priority[$ne]": "LOW"}):
        assert [i["title"] for i in (await http.get(INTAKES, params=params)).json()["intakes"]] == ["High"], params
    bad = await http.get(INTAKES, params={"filter__status[$eq]": "OPEN"})
    assert bad.status_code == 400 and list(bad.json()) == ["status"]  # keyed by field, as documented


async def test_well_formed_reminders_are_accepted_and_answered_as_reminders(http: httpx2.AsyncClient) -> None:
    response = await http.post(USER_TASKS, json=plain_task(reminders=[{"value": 1, "days": 7, "type": "WEEKS"}]))
    assert response.status_code == 201, response.text
    reminder = response.json()["reminders"][0]
    assert reminder["relative_time"] == {"value": 1, "type": "WEEKS", "days": 7}
    assert reminder["absolute_time"] == "2031-01-03T17:00:00Z"


# -- what the contract forbids is refused, with the documented status and body -------------------------


@pytest.mark.parametrize(
    ("reminders", "needle"),
    [
        ("2 days", "reminders: a list"),
        ([3], "reminders[0]: an object"),
        ([{"value": 10, "type": "DAYS"}], "reminders[0].days"),
        ([{"days": 10}], "reminders[0].value"),
        ([{"value": "10", "days": 10}], "reminders[0].value: a valid integer"),
        ([{"value": 1, "days": 1, "type": "HOURS"}], "reminders[0].type"),
    ],
)
async def test_malformed_reminders_are_refused(http: httpx2.AsyncClient, reminders: Any, needle: str) -> None:
    assert_public_error(await http.post(USER_TASKS, json=plain_task(reminders=reminders)), needle)


async def test_string_association_entity_id_is_refused(http: httpx2.AsyncClient) -> None:
    intake = await new_intake(http)
    body = intake_task(
        intake["id"], task_associations=[{"entity_id": str(intake["id"]), "entity_type": "LEGAL_INTAKE"}]
    )
    assert_public_error(await http.post(USER_TASKS, json=body), "task_associations[0].entity_id", "integer")


@pytest.mark.parametrize("notes", [None, 5, ["a"]])
async def test_notes_must_be_a_string(http: httpx2.AsyncClient, notes: Any) -> None:
    assert_public_error(await http.post(USER_TASKS, json=plain_task(notes=notes)), "notes")


@pytest.mark.parametrize("due", ["2031-01-10", "2031-01-10T17:00:00", "tomorrow", None])
async def test_task_due_date_must_be_a_date_time(http: httpx2.AsyncClient, due: Any) -> None:
    assert_public_error(await http.post(USER_TASKS, json=plain_task(due_date=due)), "due_date")


@pytest.mark.parametrize("due", ["2031-01-10", "2031-01-10T17:00:00", "10/01/2031"])
async def test_intake_due_date_must_be_a_date_time(http: httpx2.AsyncClient, due: str) -> None:
    """A date alone was once accepted and then echoed, breaking the answer's own `date-time` format."""
    refused = {"due_date": ["Input should be a valid datetime"]}
    create = await http.post(INTAKES, json={"title": "T", "workflow_id": 7, "due_date": due})
    assert (create.status_code, create.json()) == (400, refused)
    intake = await new_intake(http)
    patch = await http.patch(f"{INTAKES}{intake['id']}/", json={"due_date": due})
    assert (patch.status_code, patch.json()) == (400, refused)


async def test_intake_request_rows_are_people_only(http: httpx2.AsyncClient) -> None:
    row = {"entity_id": "456", "entity_type": "ROLE", "assignee_type": "ASSIGNED_TO"}
    response = await http.post(INTAKES, json={"title": "T", "workflow_id": 7, "assignees": [row]})
    assert response.status_code == 400
    assert response.json()["assignees"]["0"]["entity_type"] == ["Input should be 'ORG_USER'"]


async def test_file_ids_are_checked(http: httpx2.AsyncClient) -> None:
    not_uuid = await http.post(INTAKES, json={"title": "T", "workflow_id": 7, "file_ids": ["nda.pdf"]})
    assert not_uuid.json() == {"file_ids": {"0": ["Input should be a valid UUID"]}}
    unknown = await http.post(
        INTAKES, json={"title": "T", "workflow_id": 7, "file_ids": ["00000000-0000-4000-8000-000000000000"]}
    )
    assert_public_error(unknown, "file_ids not found")


async def test_unknown_contract_is_refused(http: httpx2.AsyncClient) -> None:
    assert_public_error(await http.post(USER_TASKS, json=plain_task(contract_id=999)), "contract_id")
    assert_public_error(await http.post(USER_TASKS, json=plain_task(contract_id="1")), "contract_id")


# -- contradictions between the vendor's sources -------------------------------------------------------


async def test_spotdraft_reminder_days_required_vs_example_contradiction(
    http: httpx2.AsyncClient, client: Client, server: MCPServer
) -> None:
    """`ReminderRelativeTime` requires `value` and `days`; the operation's own example sends
    `{"value": 10, "type": "DAYS"}`. The simulator follows the documented request schema and refuses the
    example; tasklink passes reminders through as given, so the refusal names the field to fix."""
    example = spec(TASK_SPEC)["paths"][USER_TASKS]["post"]["requestBody"]["content"]["application/json"]
    reminder = example["examples"]["Example1"]["value"]["reminders"][0]
    assert reminder == {"value": 10, "type": "DAYS"}
    assert_public_error(await http.post(USER_TASKS, json=plain_task(reminders=[reminder])), "reminders[0].days")
    args = {
        "vendor": "spotdraft",
        "title": "Renewal reminder",
        "due": "2031-01-10",
        "assignees": ["100"],
        "vendor_fields": {"reminders": [reminder]},
    }
    result = await client.call_tool("create_task", args)
    assert result.is_error
    assert "vendor_fields.reminders[0].days" in text_of(result)
    assert (await sandbox_of(server, "spotdraft")).store.count("task") == 0
    fixed = args | {"vendor_fields": {"reminders": [reminder | {"days": 10}]}}
    assert not (await client.call_tool("create_task", fixed)).is_error


async def test_spotdraft_task_association_entity_id_string_vs_int_contradiction(
    http: httpx2.AsyncClient, client: Client, server: MCPServer
) -> None:
    """`TaskAssociationCreateRequest.entity_id` is an integer; `TaskAssociationPublicResponse.entity_id` is a
    string. The simulator takes only the integer and answers the string; the adapter sends the integer and
    reads either."""
    intake = await new_intake(http)
    answer = (await http.post(USER_TASKS, json=intake_task(intake["id"]))).json()
    assert answer["task_associations"][0]["entity_id"] == str(intake["id"])
    created = await client.call_tool("create_intake", {"title": "Host"})
    intake_id = created.structured_content["id"]
    sent = await client.call_tool("create_task", {"vendor": "spotdraft", "title": "T", "intake_id": intake_id})
    assert sent.structured_content["links"] == {"intake_id": str(intake_id)}
    state = await sandbox_of(server, "spotdraft")
    body = json.loads(state.requests_matching("POST", USER_TASKS)[-1].body)
    assert body["task_associations"][0]["entity_id"] == intake_id  # an integer on the wire
    as_int = documented_task_answer(task_associations=[{"entity_id": 81, "entity_type": "LEGAL_INTAKE",
                                                        "association_type": "PRIMARY"}])  # fmt: skip
    state.inject(Fault(status=201, body=json.dumps(as_int), method="POST", path_prefix=USER_TASKS))
    tolerant = await client.call_tool("create_task", {"vendor": "spotdraft", "title": "T2", "intake_id": intake_id})
    assert not tolerant.is_error, text_of(tolerant)
    assert tolerant.structured_content["links"] == {"intake_id": "81"}


async def test_spotdraft_user_name_required_vs_first_last_example_contradiction(
    client: Client, server: MCPServer
) -> None:
    """`PublicMinimalUserWithRolesResponse` requires `name` and has no `first_name`/`last_name`; the operation's
    example has `first_name`/`last_name` and no `name`. The simulator answers the schema; the adapter reads
    `name`, and builds the name from the example's fields only when `name` is missing."""
    example = spec(FULL_SPEC)["components"]["schemas"]["PublicUserWithRolesMinimalListResponse"]["examples"][0]
    assert "name" not in example["results"][0] and "first_name" in example["results"][0]
    assert schema_errors(FULL_SPEC, "PublicUserWithRolesMinimalListResponse", example)  # the example breaks it
    state = await sandbox_of(server, "spotdraft")
    state.inject(Fault(status=200, body=json.dumps(example), method="GET", path_prefix=USERS))
    found = await client.call_tool("find_people", {"vendor": "spotdraft", "query": "So"})
    assert [p["name"] for p in found.structured_content["people"]] == ["Sonia Sotomayor", "Elena Kagan"]


# -- the adapter reads documented answers ------------------------------------------------------------


def documented_task_answer(**fields: Any) -> dict[str, Any]:
    """A `UserTaskPublicResponse` with only documented fields: the seed recipe's example excerpt, completed
    with the fields the schema requires."""

    user = {"id": 102, "name": "Priya Raman", "email": "priya.raman@acme-legal.example", "is_primary": False,
            "identity_id": "2f1d0c8e-6a7b-4c3d-9e8f-1a2b3c4d5e6f"}  # fmt: skip
    answer = {
        "id": 501,
        "title": "Collect business justification",
        "notes": "Follow up with procurement.",
        "created_by_org_user": user,
        "created_by_workspace": {
            "id": 1,
            "name": "Acme",
            "is_individual_org": False,
            "show_workspace_migration": False,
        },
        "absolute_due_date": "2030-05-01T17:00:00Z",
        "created": "2030-04-01T09:00:00Z",
        "assignees": [{"id": 1, "user_task_id": 501, "assignee_org_user": user}],
        "status": "UPCOMING",
        "task_category": "INTAKE_TASK",
        "task_associations": [{"entity_id": "81", "entity_type": "LEGAL_INTAKE", "association_type": "PRIMARY"}],
        "reminders": [],
    } | fields
    return answer


async def test_user_task_create_reports_the_status_it_has(client: Client, server: MCPServer) -> None:
    """`UserTaskPublicResponse` has no `intake_task_status` and no `priority`. Reading them from the answer
    reported `status: null, priority: null` for a task that was created — an invitation to create it again.
    The task has what SpotDraft accepted: the status and priority sent."""
    intake = (await client.call_tool("create_intake", {"title": "Host"})).structured_content
    args = {
        "vendor": "spotdraft",
        "title": "Collect business justification",
        "assignees": ["102"],
        "intake_id": intake["id"],
        "status": "in_progress",
        "priority": "HIGH",
        "due": "2030-05-01T17:00:00Z",
    }
    result = await client.call_tool("create_task", args)
    assert not result.is_error, text_of(result)
    task = result.structured_content
    assert (task["status"], task["vendor_status"], task["priority"]) == ("in_progress", "IN_PROGRESS", "HIGH")
    # the same from a documented answer that also carries undocumented fields, which are not read
    answer = documented_task_answer(intake_task_status="COMPLETED", priority="LOW")
    assert_documented(TASK_SPEC, "UserTaskPublicResponse", answer)
    (await sandbox_of(server, "spotdraft")).inject(
        Fault(status=201, body=json.dumps(answer), method="POST", path_prefix=USER_TASKS)
    )
    again = (await client.call_tool("create_task", args | {"allow_duplicate": True})).structured_content
    assert (again["id"], again["status"], again["priority"]) == ("501", "in_progress", "HIGH")
    assert again["assignees"] == ["102"] and again["links"] == {"intake_id": "81"}
    assert again["description"] == "Follow up with procurement."


async def test_intake_task_created_without_status_has_spotdraft_defaults(client: Client) -> None:
    intake = (await client.call_tool("create_intake", {"title": "Host"})).structured_content
    result = await client.call_tool("create_task", {"vendor": "spotdraft", "title": "T", "intake_id": intake["id"]})
    task = result.structured_content
    assert (task["status"], task["vendor_status"], task["priority"]) == ("todo", "PENDING", "MEDIUM")


@pytest.mark.parametrize(("vendor_status", "status"), [("UPCOMING", "todo"), ("COMPLETED", "done")])
async def test_plain_user_task_status_comes_from_the_documented_status(
    client: Client, server: MCPServer, vendor_status: str, status: str
) -> None:
    answer = documented_task_answer(status=vendor_status, task_category="USER_TASK", task_associations=[])
    (await sandbox_of(server, "spotdraft")).inject(
        Fault(status=201, body=json.dumps(answer), method="POST", path_prefix=USER_TASKS)
    )
    args = {"vendor": "spotdraft", "title": "T", "assignees": ["102"], "due": "2030-05-01"}
    task = (await client.call_tool("create_task", args)).structured_content
    assert (task["status"], task["vendor_status"], task["priority"]) == (status, vendor_status, None)


async def test_undocumented_create_answer_is_an_unknown_outcome(client: Client, server: MCPServer) -> None:
    answer = documented_task_answer()
    del answer["assignees"]  # required by UserTaskPublicResponse
    (await sandbox_of(server, "spotdraft")).inject(
        Fault(status=201, body=json.dumps(answer), method="POST", path_prefix=USER_TASKS)
    )
    args = {"vendor": "spotdraft", "title": "T", "assignees": ["102"], "due": "2030-05-01"}
    result = await client.call_tool("create_task", args)
    assert result.is_error
    assert "`assignees`" in text_of(result) and "cannot be confirmed" in text_of(result)


async def test_find_people_shows_full_names_from_name(client: Client, server: MCPServer) -> None:
    """The schema requires `name`; `first_name`/`last_name` appear only in the example. With a schema-shaped
    answer, names built from first/last were all null and the two Priyas could not be told apart."""
    found = await client.call_tool("find_people", {"vendor": "spotdraft", "query": "Priya"})
    assert not found.is_error, text_of(found)
    people = found.structured_content["people"]
    assert [(p["id"], p["name"]) for p in people] == [("102", "Priya Raman"), ("103", "Priya Shah")]
    only_name = {"page": 1, "limit": 10, "total_results": 1,
                 "results": [{"id": 7, "email": "a@x.example", "name": "Ana Ruiz", "is_active": True}]}  # fmt: skip
    assert_documented(FULL_SPEC, "PublicUserWithRolesMinimalListResponse", only_name)
    (await sandbox_of(server, "spotdraft")).inject(
        Fault(status=200, body=json.dumps(only_name), method="GET", path_prefix=USERS)
    )
    ana = (await client.call_tool("find_people", {"vendor": "spotdraft", "query": "Ana"})).structured_content
    assert [(p["id"], p["name"], p["title"], p["active"]) for p in ana["people"]] == [("7", "Ana Ruiz", None, True)]


async def test_undocumented_list_answer_is_the_vendors_failure(client: Client, server: MCPServer) -> None:
    (await sandbox_of(server, "spotdraft")).inject(
        Fault(status=200, body=json.dumps({"results": [], "count": 0}), method="GET", path_prefix=INTAKES)
    )
    result = await client.call_tool("list_intakes", {})
    assert result.is_error
    assert "SpotDraft answered list intakes with a body tasklink cannot read (`intakes`" in text_of(result)
