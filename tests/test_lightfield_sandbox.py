"""The Lightfield simulator honours the documented contract, asserted over raw HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from tasklink.sandbox.lightfield import API_KEY, API_VERSION, LightfieldSandbox, create_app

pytestmark = pytest.mark.anyio

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Lightfield-Version": API_VERSION}
SAM, DANA = "mem_sam0001", "mem_dana003"
TASK = {
    "fields": {"$title": "Call Acme", "$status": "TODO", "$dueAt": "2030-01-02T10:00:00+01:00"},
    "relationships": {"$assignedTo": SAM, "$account": "acc_acme001"},
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Any:
    app = create_app(tmp_path / "lightfield.sqlite3", clock=clock)
    yield app
    app.state.sandbox.store.close()


@pytest.fixture
def sandbox(app: Any) -> LightfieldSandbox:
    sandbox = app.state.lightfield
    assert isinstance(sandbox, LightfieldSandbox)
    return sandbox


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=transport, headers=HEADERS) as c:
        yield c


def error_of(response: httpx2.Response) -> dict[str, Any]:
    """The error body, bare as the OpenAPI error schemas have it (test_lightfield_error_envelope_contradiction)."""

    error: dict[str, Any] = response.json()
    assert "error" not in error and {"type", "message"} <= set(error) <= {"type", "message", "code", "param"}, error
    return error


async def test_missing_or_wrong_key_is_401(http: httpx2.AsyncClient) -> None:
    missing = await http.get("/v1/tasks", headers={"Authorization": ""})
    assert missing.status_code == 401 and error_of(missing)["type"] == "unauthorized"
    wrong = await http.get("/v1/tasks", headers={"Authorization": "Bearer sk_lf_wrong"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("version", [None, "2025-01-01"])
async def test_version_header_is_required(app: Any, version: str | None) -> None:
    headers = {"Authorization": HEADERS["Authorization"]}
    if version:
        headers["Lightfield-Version"] = version
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=transport) as bare:
        response = await bare.get("/v1/tasks", headers=headers)
    assert response.status_code == 400
    assert error_of(response) | {"message": ""} == {
        "type": "bad_request",
        "code": "version_header",
        "param": "Lightfield-Version",
        "message": "",
    }


async def test_body_without_json_content_type_is_415(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    response = await http.post("/v1/tasks", content=b'{"fields": {}}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and error_of(response)["type"] == "unsupported_media_type"
    assert sandbox.task_count() == 0


async def test_create_answers_200_with_wrapped_values(http: httpx2.AsyncClient) -> None:
    response = await http.post("/v1/tasks", json=TASK)
    assert response.status_code == 200
    task = response.json()
    assert set(task) == {"id", "createdAt", "updatedAt", "httpLink", "externalId", "fields", "relationships"}
    assert task["fields"]["$title"] == {"value": "Call Acme", "valueType": "TEXT"}
    assert task["fields"]["$status"] == {"value": "TODO", "valueType": "SINGLE_SELECT"}
    assert task["fields"]["$dueAt"] == {"value": "2030-01-02T09:00:00.000Z", "valueType": "DATETIME"}
    assert task["fields"]["$description"] == {"value": None, "valueType": "MARKDOWN"}
    assert task["relationships"]["$account"] == {
        "cardinality": "has_one",
        "objectType": "account",
        "values": ["acc_acme001"],
    }
    assert task["relationships"]["$createdBy"]["values"] == [SAM]
    assert task["httpLink"].endswith(task["id"]) and task["updatedAt"] is None
    assert response.headers["X-RateLimit-Limit"] == "25"


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({**TASK, "priority": "HIGH"}, 400, "unknown_field", "priority"),
        ({**TASK, "fields": {**TASK["fields"], "$priority": "HIGH"}}, 400, "unknown_field", "fields.$priority"),
        ({"fields": TASK["fields"]}, 400, "parameter_missing", "relationships"),
        ({**TASK, "relationships": {"$account": "acc_acme001"}}, 400, "parameter_missing", "relationships.$assignedTo"),
        ({**TASK, "fields": {"$status": "TODO"}}, 400, "parameter_missing", "fields.$title"),
        ({**TASK, "fields": {"$title": "x", "$status": "DONE"}}, 400, "invalid_type", "fields.$status"),
        ({**TASK, "fields": {**TASK["fields"], "$dueAt": "next week"}}, 400, "invalid_type", "fields.$dueAt"),
        ({**TASK, "relationships": {"$assignedTo": "mem_ghost"}}, 400, "relationship_entity_missing",
         "relationships.$assignedTo"),
        ({**TASK, "relationships": {"$assignedTo": [SAM, DANA]}}, 400, "invalid_type", "relationships.$assignedTo"),
        ({**TASK, "relationships": {"$assignedTo": SAM, "sponsor": "x"}}, 400, "unknown_relationship",
         "relationships.sponsor"),
        ({**TASK, "relationships": {"$assignedTo": SAM, "$note": "n"}}, 400, "invalid_configuration",
         "relationships.$note"),
        ({**TASK, "relationships": {"$assignedTo": SAM, "champion": [f"con_{n}" for n in range(26)]}}, 422,
         "relationship_write_limit_exceeded", "relationships.champion"),
    ],
)  # fmt: skip
async def test_create_validation(
    http: httpx2.AsyncClient, sandbox: LightfieldSandbox, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    response = await http.post("/v1/tasks", json=body)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert (error["code"], error["param"]) == (code, param)
    assert error["message"]
    assert sandbox.task_count(include_trashed=True) == 0


async def test_custom_relationship_by_bare_slug(http: httpx2.AsyncClient) -> None:
    body = {**TASK, "relationships": {"$assignedTo": SAM, "champion": "con_wile001"}}
    response = await http.post("/v1/tasks", json=body)
    assert response.status_code == 200
    assert response.json()["relationships"]["champion"]["objectType"] == "contact"


async def test_idempotency_key_replays_the_first_response(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    first = await http.post("/v1/tasks", json=TASK, headers={"Idempotency-Key": "k1"})
    changed = {**TASK, "fields": {**TASK["fields"], "$title": "Something else"}}
    second = await http.post("/v1/tasks", json=changed, headers={"Idempotency-Key": "k1"})
    assert second.status_code == 200 and second.json() == first.json()
    assert sandbox.task_count() == 1
    # keys are namespaced per operation: the same key on an update is a different slot
    task_id = first.json()["id"]
    update = await http.post(
        f"/v1/tasks/{task_id}", json={"fields": {"$status": "COMPLETE"}}, headers={"Idempotency-Key": "k1"}
    )
    assert update.json()["fields"]["$status"]["value"] == "COMPLETE"


async def test_a_failed_original_is_not_replayed(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    bad = await http.post("/v1/tasks", json={"fields": TASK["fields"]}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 400
    good = await http.post("/v1/tasks", json=TASK, headers={"Idempotency-Key": "k2"})
    assert good.status_code == 200 and sandbox.task_count() == 1


async def test_idempotency_key_over_255_chars(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    response = await http.post("/v1/tasks", json=TASK, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["param"]) == ("idempotency_key_too_long", "Idempotency-Key")
    assert sandbox.task_count() == 0


async def test_concurrent_duplicate_is_409(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    sandbox.hold, sandbox.held = anyio.Event(), anyio.Event()
    answers: list[httpx2.Response] = []

    async def first() -> None:
        answers.append(await http.post("/v1/tasks", json=TASK, headers={"Idempotency-Key": "k3"}))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        with anyio.fail_after(5):
            await sandbox.held.wait()
        duplicate = await http.post("/v1/tasks", json=TASK, headers={"Idempotency-Key": "k3"})
        assert duplicate.status_code == 409
        assert error_of(duplicate)["type"] == "idempotency_conflict"
        sandbox.hold.set()
    assert answers[0].status_code == 200
    assert sandbox.task_count() == 1


async def test_rate_limit_per_category(http: httpx2.AsyncClient, sandbox: LightfieldSandbox, clock: FakeClock) -> None:
    sandbox.rate_limit = 2
    assert [(await http.get("/v1/tasks/definitions")).status_code for _ in range(2)] == [200, 200]
    limited = await http.get("/v1/tasks/definitions")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["X-RateLimit-Limit"] == "2" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(clock.now)
    assert error_of(limited)["type"] == "too_many_requests"
    # Search and Write have their own buckets
    assert (await http.get("/v1/tasks")).status_code == 200
    assert (await http.post("/v1/tasks", json=TASK)).status_code == 200
    clock.now += 1
    assert (await http.get("/v1/tasks/definitions")).status_code == 200


async def test_list_index_lags_writes(http: httpx2.AsyncClient, sandbox: LightfieldSandbox, clock: FakeClock) -> None:
    task = (await http.post("/v1/tasks", json=TASK)).json()
    assert (await http.get(f"/v1/tasks/{task['id']}")).status_code == 200
    assert (await http.get("/v1/tasks")).json() == {"object": "list", "data": [], "totalCount": 0}
    clock.now += sandbox.index_lag / 2
    assert (await http.get("/v1/tasks")).json()["totalCount"] == 0
    clock.now += sandbox.index_lag / 2
    listed = (await http.get("/v1/tasks")).json()
    assert [t["id"] for t in listed["data"]] == [task["id"]]
    await http.post(f"/v1/tasks/{task['id']}", json={"fields": {"$title": "Renamed"}})
    stale = (await http.get("/v1/tasks")).json()["data"][0]
    assert stale["fields"]["$title"]["value"] == "Call Acme"
    assert sandbox.catch_up() == 1
    assert (await http.get("/v1/tasks")).json()["data"][0]["fields"]["$title"]["value"] == "Renamed"


async def test_list_paging_and_filters(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    sandbox.rate_limit = 1000
    for n in range(27):
        status = "COMPLETE" if n % 3 == 0 else "TODO"
        who = DANA if n == 5 else SAM
        body = {"fields": {"$title": f"Task {n}", "$status": status}, "relationships": {"$assignedTo": who}}
        assert (await http.post("/v1/tasks", json=body)).status_code == 200
    sandbox.catch_up()
    first = (await http.get("/v1/tasks")).json()
    assert len(first["data"]) == 25 and first["totalCount"] == 27
    assert first["data"][0]["fields"]["$title"]["value"] == "Task 26"  # newest first
    rest = (await http.get("/v1/tasks", params={"offset": 25})).json()
    assert [t["fields"]["$title"]["value"] for t in rest["data"]] == ["Task 1", "Task 0"]
    too_big = await http.get("/v1/tasks", params={"limit": 26})
    assert too_big.status_code == 400 and error_of(too_big)["param"] == "limit"
    done = (await http.get("/v1/tasks", params={"$status[equal]": "COMPLETE", "limit": 25})).json()
    assert done["totalCount"] == 9
    not_done = (await http.get("/v1/tasks", params={"$status[-equal]": "COMPLETE"})).json()
    assert not_done["totalCount"] == 18
    # relationships filter by this organisation's definition slug: the assignee's is owner_member
    dana = (await http.get("/v1/tasks", params={"$task-owner_member[contains]": DANA})).json()
    assert [t["fields"]["$title"]["value"] for t in dana["data"]] == ["Task 5"]
    assert (await http.get("/v1/tasks", params={"$task-owner_member[equal]": DANA})).json() == dana
    guessed = await http.get("/v1/tasks", params={"$task-assignedTo[contains]": DANA})
    assert guessed.status_code == 400
    assert error_of(guessed)["code"] == "unknown_relationship"
    assert error_of(guessed)["param"] == "$task-assignedTo[contains]"
    # TEXT takes equal and startsWith only
    text = (await http.get("/v1/tasks", params={"$title[startsWith]": "task 2"})).json()
    assert text["totalCount"] == 8  # Task 2, Task 20..26
    exact = (await http.get("/v1/tasks", params={"$title[equal]": "task 2"})).json()
    assert [t["fields"]["$title"]["value"] for t in exact["data"]] == ["Task 2"]
    assert (await http.get("/v1/tasks", params={"$title": "Task 2"})).json() == exact  # no operator: equal
    unknown = await http.get("/v1/tasks", params={"$priority[equal]": "HIGH"})
    assert unknown.status_code == 400 and error_of(unknown)["code"] == "unknown_field"
    for param in ("$status[contains]", "$title[contains]", "$dueAt[startsWith]", "$description[equal]"):
        bad_op = await http.get("/v1/tasks", params={param: "2030-01-01T00:00:00Z"})
        assert bad_op.status_code == 400, param
        assert (error_of(bad_op)["code"], error_of(bad_op)["param"]) == ("invalid_configuration", param)


async def test_update_is_partial_with_relationship_operations(http: httpx2.AsyncClient) -> None:
    task = (await http.post("/v1/tasks", json=TASK)).json()
    path = f"/v1/tasks/{task['id']}"
    body = {"fields": {"$status": "IN_PROGRESS"}, "relationships": {"$assignedTo": {"replace": DANA}}}
    updated = (await http.post(path, json=body)).json()
    assert updated["fields"]["$status"]["value"] == "IN_PROGRESS"
    assert updated["fields"]["$title"]["value"] == "Call Acme"
    assert updated["relationships"]["$assignedTo"]["values"] == [DANA]
    assert updated["updatedAt"] is not None
    cleared = (await http.post(path, json={"relationships": {"$account": {"replace": None}}})).json()
    assert "$account" not in cleared["relationships"]
    unassign = await http.post(path, json={"relationships": {"$assignedTo": {"replace": None}}})
    assert unassign.status_code == 400 and error_of(unassign)["param"] == "relationships.$assignedTo.replace"
    bad_op = await http.post(path, json={"relationships": {"$account": {"set": "acc_acme001"}}})
    assert bad_op.status_code == 400 and error_of(bad_op)["param"] == "relationships.$account.set"
    missing = await http.post("/v1/tasks/tsk_nope", json={"fields": {"$title": "x"}})
    assert missing.status_code == 404 and error_of(missing)["type"] == "not_found"


async def test_update_accepts_null_title_and_status_as_the_schema_allows(
    http: httpx2.AsyncClient, sandbox: LightfieldSandbox
) -> None:
    """TaskUpdate types $title and $status as string-or-null ("only provided fields are modified"), so null
    is accepted and clears the value; TaskCreate types both as strings and requires them."""

    task = (await http.post("/v1/tasks", json=TASK)).json()
    path = f"/v1/tasks/{task['id']}"
    cleared = await http.post(path, json={"fields": {"$title": None, "$status": None}})
    assert cleared.status_code == 200, cleared.text
    fields = cleared.json()["fields"]
    assert fields["$title"] == {"value": None, "valueType": "TEXT"}
    assert fields["$status"] == {"value": None, "valueType": "SINGLE_SELECT"}
    assert fields["$dueAt"]["value"] == "2030-01-02T09:00:00.000Z"  # untouched
    assert (await http.get(path)).json()["fields"]["$title"]["value"] is None
    restored = await http.post(path, json={"fields": {"$title": "Call Acme again", "$status": "TODO"}})
    assert restored.json()["fields"]["$title"]["value"] == "Call Acme again"
    for key in ("$title", "$status"):
        refused = await http.post("/v1/tasks", json={**TASK, "fields": {**TASK["fields"], key: None}})
        assert refused.status_code == 400
        assert (error_of(refused)["code"], error_of(refused)["param"]) == ("invalid_type", f"fields.{key}")
    assert sandbox.task_count() == 1


async def test_delete_is_soft_and_returns_the_record(http: httpx2.AsyncClient, sandbox: LightfieldSandbox) -> None:
    task = (await http.post("/v1/tasks", json=TASK)).json()
    path = f"/v1/tasks/{task['id']}"
    deleted = await http.delete(path)
    assert deleted.status_code == 200 and deleted.json()["id"] == task["id"]
    assert (await http.get(path)).status_code == 404
    assert (await http.post(path, json={"fields": {"$title": "x"}})).status_code == 404
    again = await http.delete(path)
    assert again.status_code == 200 and again.json()["id"] == task["id"]
    assert sandbox.task_count() == 0 and sandbox.task_count(include_trashed=True) == 1
    sandbox.catch_up()
    assert (await http.get("/v1/tasks")).json()["totalCount"] == 0
    trashed = (await http.get("/v1/tasks", params={"status": "trashed"})).json()
    assert [t["id"] for t in trashed["data"]] == [task["id"]]
    assert (await http.delete("/v1/tasks/tsk_nope")).status_code == 404


async def test_definitions_and_members(http: httpx2.AsyncClient) -> None:
    definitions = (await http.get("/v1/tasks/definitions")).json()
    assert definitions["objectType"] == "task"
    assert set(definitions["fieldDefinitions"]) == {"$title", "$status", "$description", "$dueAt"}
    assert definitions["fieldDefinitions"]["$title"]["valueType"] == "TEXT"
    assert definitions["relationshipDefinitions"]["$assignedTo"]["objectType"] == "member"
    # the slug list filters use is this organisation's own, not the relationship key
    assert definitions["relationshipDefinitions"]["$assignedTo"]["slug"] == "owner_member"
    assert definitions["relationshipDefinitions"]["$account"]["slug"] == "account"
    members = (await http.get("/v1/members")).json()
    assert members["object"] == "list" and members["totalCount"] == 3
    names = [m["fields"]["$name"]["value"]["firstName"] for m in members["data"]]
    assert names == ["Sam", "Priya", "Dana"]
    assert all(m["id"].startswith("mem_") for m in members["data"])
    one = (await http.get(f"/v1/members/{SAM}")).json()
    assert one["fields"]["$email"]["value"] == "sam@northwind.example"
