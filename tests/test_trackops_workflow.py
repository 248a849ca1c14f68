"""Trackops tasks end to end through real MCP clients (both protocol modes), on the embedded sandbox."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from .conftest import sandbox_of
from .support import ADDRESS, FULL_TASK, call_ok, text_of

pytestmark = pytest.mark.anyio

VENDOR = "trackops"
VALID_MINIMAL: dict[str, Any] = {
    "vendor": VENDOR,
    "title": "Check DMV records",
    "due": "2031-04-01",
    "vendor_fields": {"casefile_id": 246, "calendar_id": 2},
}


async def listed_ids(client: Client, **args: Any) -> list[str]:
    page = await call_ok(client, "list_tasks", {"vendor": VENDOR, "limit": 100, **args})
    assert page["next_cursor"] is None
    return [t["id"] for t in page["tasks"]]


async def test_trackops_create_with_every_field_then_get_and_find_by_each_filter_family(
    client: Client, server: MCPServer
) -> None:
    created = await call_ok(client, "create_task", FULL_TASK)
    task_id = created["id"]
    assert created["vendor_status"] == "none" and created["status"] is None

    task = await call_ok(client, "get_task", {"vendor": VENDOR, "task_id": task_id})
    assert task["title"] == FULL_TASK["title"]
    assert task["description"] == FULL_TASK["description"]
    assert task["due"] == "2031-03-14"
    assert task["assignees"] == ["2", "3"]
    assert task["links"] == {"case_id": "245", "calendar_id": "3", "subject_id": "210", "case_service_id": "1"}
    fields = task["vendor_fields"]
    assert {k: fields[k] for k in ("casefile_id", "calendar_id", "subject_id", "case_service_id")} == {
        "casefile_id": 245,
        "calendar_id": 3,
        "subject_id": 210,
        "case_service_id": 1,
    }
    assert fields["alert_at"] == "2031-03-13T14:30:00Z"  # sent in UTC, as Trackops stores timestamps
    assert fields["address"] == ADDRESS
    assert fields["assignee_names"] == {"2": "Omar Reyes", "3": "Priya Nair"}
    assert task["created_at"] and task["created_at"].endswith("Z")

    sandbox = await sandbox_of(server, VENDOR)
    sent = json.loads(sandbox.requests_matching("POST", "/api/v1/tasks")[-1].body)
    assert list(sent) == ["task"]  # the documented envelope
    assert sent["task"]["due_on"] == "2031-03-14" and sent["task"]["users_list"] == [2, 3]
    assert sent["task"]["body"] == FULL_TASK["description"]

    # id, title (text), case, calendar, subject, user (normalized and vendor), status
    assert await listed_ids(client, vendor_filters={"id": int(task_id)}) == [task_id]
    assert await listed_ids(client, text="canvass neighbours") == [task_id]
    on_case = await listed_ids(client, vendor_filters={"case": 245})
    assert task_id in on_case and "1003" not in on_case
    assert await listed_ids(client, vendor_filters={"calendar": 3}) == ["1002", task_id]
    assert await listed_ids(client, vendor_filters={"subject": 210}) == [task_id]
    assert await listed_ids(client, assignee="3") == ["1002", "1006", task_id]
    assert await listed_ids(client, vendor_filters={"user": 2}) == ["1001", "1003", task_id]
    assert task_id in await listed_ids(client, status="none")
    assert await listed_ids(client, status="todo") == ["1003", "1006"]
    assert await listed_ids(client, status="done") == ["1002"]

    # due range: normalized, canonical vendor names, and the documented From/To aliases
    assert await listed_ids(client, due_after="2031-03-14", due_before="2031-03-14") == [task_id]
    assert await listed_ids(client, vendor_filters={"due_from": "2031-03-14", "due_to": "2031-03-14"}) == [task_id]
    assert await listed_ids(client, vendor_filters={"From": "2031-03-14", "To": "2031-03-14"}) == [task_id]
    assert await listed_ids(client, vendor_filters={"From": "2031-03-15"}) == []
    aliased = sandbox.requests_matching("GET", "/api/v1/tasks")[-2]
    assert parse_qs(aliased.query)["From"] == ["2031-03-14"] and "due_from" not in parse_qs(aliased.query)

    # created range (UTC timestamps)
    created_at = task["created_at"]
    assert await listed_ids(client, vendor_filters={"created_from": created_at, "created_to": created_at}) == [task_id]
    seeded = await listed_ids(client, vendor_filters={"created_to": "2024-03-31"})
    assert seeded == ["1001", "1002", "1003", "1004", "1005", "1006"]


async def test_trackops_timestamp_ranges_for_alerts_completion_and_updates(client: Client) -> None:
    assert await listed_ids(client, vendor_filters={"alert_from": "2024-04-01", "alert_to": "2024-04-30"}) == [
        "1001",
        "1006",
    ]
    assert await listed_ids(client, vendor_filters={"alert_sent_from": "2024-04-09T13:00:00Z"}) == ["1001"]
    # 21:45 UTC is 23:45 in Berlin: the offset is converted, not dropped
    assert await listed_ids(client, vendor_filters={"complete_from": "2024-03-19T23:45:00+02:00"}) == ["1002"]
    assert await listed_ids(client, vendor_filters={"complete_from": "2024-03-19T23:46:00+02:00"}) == []
    assert await listed_ids(client, vendor_filters={"updated_from": "2024-04-01 00:00:00"}) == ["1001"]


async def test_trackops_limit_two_walks_every_task_exactly_once(client: Client, server: MCPServer) -> None:
    await call_ok(client, "create_task", VALID_MINIMAL)
    sandbox = await sandbox_of(server, VENDOR)
    expected = sorted(str(t["id"]) for t in sandbox.store.all("task"))
    assert len(expected) >= 5
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        args: dict[str, Any] = {"vendor": VENDOR, "limit": 2}
        if cursor:
            args["cursor"] = cursor
        page = await call_ok(client, "list_tasks", args)
        pages += 1
        assert len(page["tasks"]) <= 2
        seen.extend(t["id"] for t in page["tasks"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 20, "the cursor never ran out"
    assert sorted(seen) == expected and len(seen) == len(set(seen))
    # only this walk used limit 2 (a create may first list by title to look for duplicates)
    queries = [parse_qs(r.query) for r in sandbox.requests_matching("GET", "/api/v1/tasks")]
    walk = [q for q in queries if q["per_page"] == ["2"]]
    assert [q["page"] for q in walk] == [[str(n)] for n in range(1, pages + 1)]

    compact = (await call_ok(client, "list_tasks", {"vendor": VENDOR, "limit": 1}))["tasks"][0]
    assert compact["vendor_fields"] == {} and compact["description"] is None
    assert set(compact) >= {"id", "title", "status", "vendor_status", "due", "assignees", "links"}


async def test_trackops_cursor_is_bound_to_its_query(client: Client) -> None:
    first = await call_ok(client, "list_tasks", {"vendor": VENDOR, "limit": 2, "vendor_filters": {"case": 245}})
    assert first["next_cursor"] is not None
    other = await client.call_tool(
        "list_tasks", {"vendor": VENDOR, "limit": 2, "vendor_filters": {"case": 246}, "cursor": first["next_cursor"]}
    )
    assert other.is_error and "`cursor`" in text_of(other)


async def task_count(client: Client) -> int:
    return len(await listed_ids(client))


def without(fields: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != key}


REFUSED_BEFORE_SENDING = [
    ({**VALID_MINIMAL, "vendor_fields": without(VALID_MINIMAL["vendor_fields"], "casefile_id")},
     "vendor_fields.casefile_id"),
    ({**VALID_MINIMAL, "vendor_fields": without(VALID_MINIMAL["vendor_fields"], "calendar_id")},
     "vendor_fields.calendar_id"),
    (without(VALID_MINIMAL, "due"), "due"),
    ({**VALID_MINIMAL, "title": "   "}, "title"),
    ({**VALID_MINIMAL, "vendor_fields": {**VALID_MINIMAL["vendor_fields"], "address": {"state": "Colorado"}}},
     "vendor_fields.address.state"),
    ({**VALID_MINIMAL, "vendor_fields": {**VALID_MINIMAL["vendor_fields"], "address": {"country": "USA"}}},
     "vendor_fields.address.country"),
    ({**VALID_MINIMAL, "vendor_fields": {**VALID_MINIMAL["vendor_fields"], "address": {"county": "Denver"}}},
     "vendor_fields.address.county"),
    ({**VALID_MINIMAL, "vendor_fields": {**VALID_MINIMAL["vendor_fields"], "priority_level": 1}},
     "vendor_fields.priority_level"),
    ({**VALID_MINIMAL, "status": "in_progress"}, "status"),
    ({**VALID_MINIMAL, "assignees": ["dana"]}, "assignees[0]"),
    ({**VALID_MINIMAL, "vendor_fields": {**VALID_MINIMAL["vendor_fields"], "casefile_id": "case-245"}},
     "vendor_fields.casefile_id"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "field"), REFUSED_BEFORE_SENDING, ids=[f for _, f in REFUSED_BEFORE_SENDING])
async def test_trackops_invalid_create_is_refused_before_sending(
    client: Client, server: MCPServer, args: dict[str, Any], field: str
) -> None:
    before = await task_count(client)
    result = await client.call_tool("create_task", args)
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert "Nothing was sent" in text_of(result)
    sandbox = await sandbox_of(server, VENDOR)
    assert sandbox.requests_matching("POST") == []
    assert await task_count(client) == before


async def test_trackops_subject_from_another_case_is_a_field_error(client: Client, server: MCPServer) -> None:
    before = await task_count(client)
    args = {**VALID_MINIMAL, "vendor_fields": {"casefile_id": 245, "calendar_id": 1, "subject_id": 211}}
    result = await client.call_tool("create_task", args)
    assert result.is_error
    text = text_of(result)
    assert "`vendor_fields.subject_id`" in text and "not connected to case 245" in text
    assert "HTTP 422" in text
    sandbox = await sandbox_of(server, VENDOR)
    assert [r.status for r in sandbox.requests_matching("POST")] == [422]
    assert await task_count(client) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"status": "blocked"}, "status"),
        ({"status": "paused"}, "status"),
        ({"assignee": "dana"}, "assignee"),
        ({"vendor_filters": {"colour": "red"}}, "vendor_filters.colour"),
        ({"vendor_filters": {"title": "x"}}, "vendor_filters.title"),
        ({"vendor_filters": {"case": "two"}}, "vendor_filters.case"),
        ({"vendor_filters": {"due_from": "14/03/2031"}}, "vendor_filters.due_from"),
        ({"vendor_filters": {"due_from": "2031-03-01", "From": "2031-03-01"}}, "vendor_filters.From"),
        ({"due_after": "2031-03-01", "vendor_filters": {"From": "2031-03-01"}}, "vendor_filters.From"),
        ({"vendor_filters": {"created_from": "yesterday"}}, "vendor_filters.created_from"),
    ],
)
async def test_trackops_invalid_list_filters_name_the_field(
    client: Client, server: MCPServer, args: dict[str, Any], field: str
) -> None:
    result = await client.call_tool("list_tasks", {"vendor": VENDOR, **args})
    assert result.is_error
    assert f"`{field}`" in text_of(result)
    assert (await sandbox_of(server, VENDOR)).requests_matching() == []


async def test_trackops_unknown_status_lists_what_trackops_can_express(client: Client) -> None:
    text = text_of(await client.call_tool("list_tasks", {"vendor": VENDOR, "status": "cancelled"}))
    for allowed in ("todo (needs_action)", "in_progress (in_progress)", "done (complete)", "none (no status set)"):
        assert allowed in text
    unknown_key = text_of(await client.call_tool("list_tasks", {"vendor": VENDOR, "vendor_filters": {"page": 2}}))
    assert "alert_sent_from" in unknown_key and "`cursor`" in unknown_key


@pytest.mark.parametrize(
    ("tool", "args", "operation"),
    [
        ("update_task", {"task_id": "1001", "title": "Renamed"}, "update_task"),
        ("update_task", {"task_id": "1001", "assignees": ["2"]}, "update_task"),
        ("delete_task", {"task_id": "1001"}, "delete_task"),
        ("delete_task", {"task_id": "1001", "confirm": True, "confirm_token": "x"}, "delete_task"),
        ("find_people", {"query": "Dana"}, "find_people"),
    ],
)
async def test_trackops_unsupported_operations_are_refused_with_zero_requests(
    client: Client, server: MCPServer, tool: str, args: dict[str, Any], operation: str
) -> None:
    result = await client.call_tool(tool, {"vendor": VENDOR, **args})
    assert result.is_error
    text = text_of(result)
    assert f"Trackops does not support `{operation}`" in text
    assert "not in the public API" in text
    assert "Instead:" in text and "Nothing was sent" in text
    assert (await sandbox_of(server, VENDOR)).requests == []


async def test_trackops_unknown_task_is_not_found(client: Client) -> None:
    result = await client.call_tool("get_task", {"vendor": VENDOR, "task_id": "999999"})
    assert result.is_error and "no such record" in text_of(result)
    bad = await client.call_tool("get_task", {"vendor": VENDOR, "task_id": "T-1"})
    assert bad.is_error and "`task_id`" in text_of(bad)


async def test_trackops_datetime_due_uses_the_date_in_its_own_offset(client: Client) -> None:
    # 23:30 in Los Angeles on 2031-05-01 is already 2031-05-02 in UTC; the caller meant May 1st.
    created = await call_ok(client, "create_task", {**VALID_MINIMAL, "due": "2031-05-01T23:30:00-07:00"})
    assert created["due"] == "2031-05-01"
