"""Lightfield list filters as its contract has them: operators by value type, relationship slugs from the
task definitions, the duplicate check's exact title, and answers read through their documented schemas."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest

from tasklink.errors import PossibleDuplicate, VendorError, VendorRejected, VendorUnavailable
from tasklink.models import AssigneeRef, CreateTaskRequest, ListTasksRequest
from tasklink.policy.gate import WriteOptions
from tasklink.sandbox._core import Fault, SandboxState
from tasklink.sandbox.lightfield import API_KEY, API_VERSION, LightfieldSandbox
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.lightfield import LightfieldAdapter, ListQuery, TaskDefinitions, TaskRecord

pytestmark = pytest.mark.anyio

SAM, DANA = "mem_sam0001", "mem_dana003"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "Lightfield-Version": API_VERSION}


class Lightfield:
    """tasklink on the Lightfield simulator, with what the tests look at."""

    def __init__(
        self, tl: TaskLink, adapter: LightfieldAdapter, sandbox: LightfieldSandbox, state: SandboxState
    ) -> None:
        self.tl, self.adapter, self.sandbox, self.state = tl, adapter, sandbox, state

    async def create(self, title: str, assignee: str = SAM, **opts: Any) -> Any:
        req = CreateTaskRequest(vendor="lightfield", title=title, assignees=[AssigneeRef(user_id=assignee)])
        return await self.tl.create_task(req, WriteOptions(**opts))

    async def listed(self, **filters: Any) -> list[str]:
        page = await self.tl.list_tasks(ListTasksRequest(vendor="lightfield", **filters))
        return [t.id for t in page.tasks]

    def sent(self, path: str = "/v1/tasks") -> list[tuple[int, dict[str, str]]]:
        """(status, query) of each GET the simulator saw on exactly `path`."""

        return [
            (r.status, dict(parse_qsl(r.query))) for r in self.state.requests if (r.method, r.path) == ("GET", path)
        ]

    def definitions_reads(self) -> int:
        return len(self.sent("/v1/tasks/definitions"))

    async def raw(self, params: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> httpx2.Response:
        """Straight to the simulator, not through tasklink: a list with `params`, or a create with `body`."""

        transport = httpx2.ASGITransport(app=self.tl.vendors.runtime("lightfield").sandbox_app)
        async with httpx2.AsyncClient(base_url="https://api.lightfield.app", transport=transport) as c:
            if body is not None:
                return await c.post("/v1/tasks", json=body, headers=HEADERS)
            return await c.get("/v1/tasks", params=params, headers=HEADERS)


@pytest.fixture
async def lf(tmp_path: Path) -> AsyncIterator[Lightfield]:
    async with TaskLink(TaskLinkSettings(data_dir=tmp_path, sandbox=True, vendors=["lightfield"])) as tl:
        adapter = await tl.vendors.adapter("lightfield")
        assert isinstance(adapter, LightfieldAdapter)
        app = tl.vendors.runtime("lightfield").sandbox_app
        yield Lightfield(tl, adapter, app.state.lightfield, app.state.sandbox)


# -- defect: text search sent `$title[contains]`, which TEXT fields do not allow -------------------------


async def test_text_search_uses_an_operator_text_fields_allow(lf: Lightfield) -> None:
    refused = await lf.raw({"$title[contains]": "renewal"})  # what text= used to send
    assert refused.status_code == 400
    assert (refused.json()["code"], refused.json()["param"]) == ("invalid_configuration", "$title[contains]")

    mark = len(lf.sent())
    quote = await lf.create("Renewal quote for Acme")
    await lf.create("Call Globex about their renewal")
    lf.sandbox.catch_up()
    assert await lf.listed(text="renewal") == [quote.id]  # text= is a title prefix
    status, query = lf.sent()[-1]
    assert status == 200 and query["$title[startsWith]"] == "renewal"
    assert all(status == 200 and "$title[contains]" not in q for status, q in lf.sent()[mark:])


# -- defect: the assignee filter guessed the slug `$task-assignedTo` -----------------------------------


async def test_assignee_filter_uses_the_organisations_relationship_slug(lf: Lightfield) -> None:
    guessed = await lf.raw({"$task-assignedTo[contains]": DANA})  # what assignee= used to send
    assert guessed.status_code == 400
    assert (guessed.json()["code"], guessed.json()["param"]) == ("unknown_relationship", "$task-assignedTo[contains]")

    mine = await lf.create("Send the contract", assignee=DANA)
    await lf.create("Book the venue", assignee=SAM)
    lf.sandbox.catch_up()
    assert await lf.listed(assignee=DANA) == [mine.id]
    assert lf.sent()[-1] == (200, {"offset": "0", "limit": "25", "$task-owner_member[contains]": DANA})
    # another organisation, another slug: read from its definitions, nothing hard-wired
    lf.sandbox.relationship_slugs["$assignedTo"] = "task_owner"
    lf.adapter.definitions.current = None  # a new process
    assert await lf.listed(assignee=DANA, status="todo") == [mine.id]
    assert lf.sent()[-1][1]["$task-task_owner[contains]"] == DANA
    # writes keep `$assignedTo`: TaskCreate and TaskUpdate name that key, the same in every organisation
    await lf.create("Countersign the contract", assignee=DANA)
    (post,) = [r for r in lf.state.requests if (r.method, r.path) == ("POST", "/v1/tasks")][-1:]
    assert json.loads(post.body)["relationships"] == {"$assignedTo": DANA}


# -- defect: the duplicate check's list failed on the real API, so the check was silently skipped ---------


async def test_duplicate_check_runs_on_lightfield(lf: Lightfield) -> None:
    # made in Lightfield itself, so only Lightfield's list can know it
    fields = {"$title": "Renew the Acme contract", "$status": "TODO"}
    first = (await lf.raw(body={"fields": fields, "relationships": {"$assignedTo": SAM}})).json()
    lf.sandbox.catch_up()
    mark = len(lf.sent())
    with pytest.raises(PossibleDuplicate, match=first["id"]):
        await lf.create("Renew the Acme contract")
    assert lf.sandbox.task_count() == 1
    (status, query), *_ = lf.sent()[mark:]
    assert status == 200
    assert query["$title[equal]"] == "Renew the Acme contract"  # the exact title, not text='s prefix
    assert query["$task-owner_member[contains]"] == SAM
    # a longer title that merely starts the same way is not a duplicate; the check ran and said nothing
    longer = await lf.create("Renew the Acme contract for 2031")
    assert longer.warnings == [] and lf.sandbox.task_count() == 2
    assert lf.sent()[-1][1]["$title[equal]"] == "Renew the Acme contract for 2031"


async def test_a_duplicate_check_that_cannot_run_says_so(lf: Lightfield) -> None:
    await lf.listed(assignee=SAM)  # the definitions are known
    body = '{"type": "bad_request", "message": "Search is unavailable.", "code": "invalid_configuration"}'
    lf.state.inject(Fault(status=400, body=body, method="GET", path_prefix="/v1/tasks"))
    task = await lf.create("Renew the Globex contract")
    assert len(task.warnings) == 1
    assert task.warnings[0].startswith("The duplicate check could not run (Lightfield refused list tasks (HTTP 400)")
    assert task.warnings[0].endswith("; created anyway.")
    assert [status for status, _ in lf.sent()][-1] == 400

    # an organisation whose definitions name no slug for the assignee: said, not guessed
    lf.sandbox.relationship_slugs["$assignedTo"] = ""
    lf.adapter.definitions.current = None
    other = await lf.create("Renew the Initech contract")
    assert len(other.warnings) == 1 and "no filter slug for the $assignedTo relationship" in other.warnings[0]
    assert lf.sandbox.task_count() == 2


# -- the definitions: once per process, again once after unknown_relationship ---------------------------


async def test_definitions_are_read_once_per_process_and_again_after_unknown_relationship(lf: Lightfield) -> None:
    await lf.create("Call Acme", assignee=DANA, allow_duplicate=True)  # no duplicate check, so no list yet
    lf.sandbox.catch_up()
    assert lf.definitions_reads() == 0
    assert await lf.listed() != []  # no filter needs the definitions
    assert (lf.definitions_reads(), len(lf.sent())) == (0, 1)

    # a list with an assignee: two requests the first time, one after that
    for calls in range(1, 4):
        assert len(await lf.listed(assignee=DANA, text="call")) == 1
        assert (lf.definitions_reads(), len(lf.sent())) == (1, 1 + calls)

    # an administrator renames the relationship: Lightfield answers unknown_relationship; read again, once
    lf.sandbox.relationship_slugs["$assignedTo"] = "assignee_member"
    before = len(lf.sent())
    assert len(await lf.listed(assignee=DANA)) == 1
    assert lf.definitions_reads() == 2
    assert [status for status, _ in lf.sent()[before:]] == [400, 200]
    assert lf.sent()[-1][1]["$task-assignee_member[contains]"] == DANA
    assert len(await lf.listed(assignee=DANA)) == 1
    assert lf.definitions_reads() == 2


async def test_a_refreshed_slug_that_is_still_refused_names_the_assignee(lf: Lightfield) -> None:
    definitions = await lf.adapter.task_definitions()
    assert await lf.adapter.task_definitions() is definitions  # cached
    refused = VendorRejected("Unknown relationship", status=400, code="unknown_relationship", field="x")
    req = ListTasksRequest(vendor="lightfield", assignee=DANA)
    with pytest.raises(VendorRejected) as caught:
        await lf.adapter._requery(req, ListQuery([], definitions, refreshed=True), refused, exact_title=False)
    assert caught.value.field == "assignee" and caught.value.code == "unknown_relationship"
    other = VendorRejected("Bad filter", status=400, code="invalid_configuration")
    with pytest.raises(VendorRejected) as same:
        await lf.adapter._requery(req, ListQuery([], definitions), other, exact_title=False)
    assert same.value is other
    assert lf.definitions_reads() == 1


def test_operators_come_from_the_value_type() -> None:
    def definitions(title_type: str) -> TaskDefinitions:
        field = {"label": "Title", "description": None, "valueType": title_type, "typeConfiguration": {}}
        return TaskDefinitions.model_validate(
            {"objectType": "task", "fieldDefinitions": {"$title": field}, "relationshipDefinitions": {}}
        )

    assert definitions("TEXT").operator("text") == ("$title", "startsWith")
    assert definitions("TEXT").operator("title") == ("$title", "equal")
    assert definitions("EMAIL").operator("text") == ("$title", "contains")
    for unfilterable in ("MARKDOWN", "MULTI_SELECT", "A_NEW_TYPE"):
        with pytest.raises(VendorError, match=f"a {unfilterable} field") as caught:
            definitions(unfilterable).operator("text")
        assert caught.value.field == "text"
    with pytest.raises(VendorError, match="no filter slug"):
        definitions("TEXT").relationship_filter("$assignedTo", "assignee")


# -- typed reading: documented fields only, tolerant of the wrapping -----------------------------------


TASK = {
    "id": "tsk_1",
    "createdAt": "2030-01-01T00:00:00.000Z",
    "updatedAt": None,
    "httpLink": None,
    "fields": {"$title": {"value": "Call Acme", "valueType": "TEXT"}, "$status": "TODO"},
    "relationships": {"$assignedTo": {"cardinality": "has_one", "objectType": "member", "values": [SAM]}},
}


async def test_answers_are_read_through_their_documented_schema(lf: Lightfield) -> None:
    record = TaskRecord.model_validate({**TASK, "title": "Undocumented", "internalScore": 7})
    assert record.text("$title") == "Call Acme" and record.text("$status") == "TODO"  # wrapped or bare
    assert "internalScore" not in record.model_dump(by_alias=True) and not hasattr(record, "title")
    task = lf.adapter._task(TaskRecord.model_validate({**TASK, "fields": {}, "title": "Undocumented"}))
    assert task.title == "" and task.assignees == [SAM]

    created = await lf.create("Call Acme")
    undocumented = json.dumps({"id": created.id, "fields": {}, "title": "Call Acme"})
    lf.state.inject(Fault(status=200, body=undocumented, method="GET", path_prefix=f"/v1/tasks/{created.id}"))
    with pytest.raises(VendorUnavailable, match=r"cannot read \(`createdAt`: Field required\)"):
        await lf.tl.get_task("lightfield", created.id)
    lf.state.inject(Fault(status=200, body='{"object": "list", "data": [{}]}', method="GET", path_prefix="/v1/members"))
    with pytest.raises(VendorUnavailable, match="answered find people with a body tasklink cannot read"):
        await lf.adapter.find_people("Sam", 5)
    assert [p.id for p in await lf.adapter.find_people("Sam", 5)] == [SAM]
