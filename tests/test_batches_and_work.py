"""create_tasks (many creates, each reported) and my_work (one view across vendors), through the real tool
path on the simulators."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.mcp.server import build_server
from tasklink.sandbox._core import Fault
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, sandbox_of, service_of
from .support import text_of

pytestmark = pytest.mark.anyio

ITEM = {
    "lightfield": {"vendor": "lightfield", "status": "todo", "assignees": ["mem_sam0001"]},
    "trackops": {"vendor": "trackops", "due": "2031-04-01", "vendor_fields": {"casefile_id": 246, "calendar_id": 2}},
    "workiva": {"vendor": "workiva", "due": "2031-02-01"},
}
WRITE_PATHS = {"lightfield": "/v1/tasks", "trackops": "/api/v1/tasks", "workiva": "/tasks"}


def twelve(tag: str) -> list[dict[str, Any]]:
    """Four items per vendor; item 1 (Lightfield without its required assignee) and item 10 (a due date that is not
    one) are invalid."""

    items = [{**ITEM[v], "title": f"{tag} {v} {n}"} for n in range(4) for v in ("lightfield", "trackops", "workiva")]
    items[0] = {k: v for k, v in items[0].items() if k != "assignees"}
    items[11] = {**items[11], "due": "when pigs fly"}
    return items


async def writes(server: MCPServer) -> int:
    total = 0
    for vendor, path in WRITE_PATHS.items():
        state = await sandbox_of(server, vendor)
        total += len([r for r in state.requests_matching("POST", path) if r.path.rstrip("/") == path])
    return total


async def test_a_batch_is_checked_whole_then_sent_and_replayed(server: MCPServer) -> None:
    async with Client(server) as client:
        key = f"batch-{uuid.uuid4()}"
        items = twelve(key)
        before = await writes(server)
        held = (await client.call_tool("create_tasks", {"items": items, "batch_key": key})).structured_content
        assert held["sent"] is False and held["counts"] == {"refused": 2, "not_started": 10}, held
        refused = {i["index"]: i["reason"] for i in held["items"] if i["status"] == "refused"}
        assert set(refused) == {0, 11} and "assignees" in refused[0] and "due" in refused[11], refused
        assert await writes(server) == before  # nothing was sent

        done = await client.call_tool("create_tasks", {"items": items, "batch_key": key, "partial": True})
        result = done.structured_content
        assert result["counts"] == {"refused": 2, "created": 10}, result
        assert [i["index"] for i in result["items"]] == list(range(12))  # input order
        assert await writes(server) == before + 10

        again = await client.call_tool("create_tasks", {"items": items, "batch_key": key, "partial": True})
        assert again.structured_content["counts"] == {"refused": 2, "replayed": 10}, again.structured_content
        assert await writes(server) == before + 10  # a retried batch writes nothing twice
        ids = {i["id"] for i in result["items"] if i["id"]}
        assert ids == {i["id"] for i in again.structured_content["items"] if i["id"]}
        audit = await service_of(server).audit.entries()
        per_item = [e for e in audit if e["tool"] == "create_tasks" and e["vendor"] and e["outcome"] == "ok"]
        batch_rows = [e for e in audit if e["tool"] == "create_tasks" and e["vendor"] is None and e["target"] == key]
        assert len(per_item) == 10 and len(batch_rows) == 3, (per_item, batch_rows)  # one per item, one per batch
    REPORTS.append(
        "create_tasks: 12 items over 3 vendors, 2 invalid → without partial 0 sent and both reasons; with partial "
        "10 created, 2 refused; the same batch key again → 10 replayed, 0 new writes"
    )


async def test_a_vendor_fault_touches_only_its_item(server: MCPServer) -> None:
    async with Client(server) as client:
        items = [
            {**ITEM[v], "title": f"Fault {uuid.uuid4().hex[:6]} {v}"} for v in ("lightfield", "trackops", "workiva")
        ]
        (await sandbox_of(server, "workiva")).inject(Fault(status=503, method="POST", path_prefix="/tasks", times=10))
        result = (await client.call_tool("create_tasks", {"items": items})).structured_content
    statuses = {i["vendor"]: i["status"] for i in result["items"]}
    assert statuses == {"lightfield": "created", "trackops": "created", "workiva": "failed"}, result
    (workiva,) = [i for i in result["items"] if i["vendor"] == "workiva"]
    assert "Workiva" in workiva["reason"], workiva


async def test_a_batch_past_its_deadline_leaves_items_not_started_and_resumes(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, call_deadline=8.0))
    items = [{**ITEM["workiva"], "title": f"Slow {uuid.uuid4().hex[:6]} {n}"} for n in range(20)]
    async with Client(server) as client:
        state = await sandbox_of(server, "workiva")
        state.inject(Fault(kind="slow", delay=2.0, method="POST", path_prefix="/tasks", times=20))
        first = (await client.call_tool("create_tasks", {"items": items})).structured_content
        assert first["counts"].get("not_started", 0) > 0 and first["continuation"], first["counts"]
        made = first["counts"]["created"]
        state.faults.clear()
        rest = await client.call_tool("create_tasks", {"items": items, "continuation": first["continuation"]})
        assert not rest.is_error, text_of(rest)
        counts = rest.structured_content["counts"]
        assert counts == {"replayed": made, "created": 20 - made}, counts
        posts = [r for r in state.requests_matching("POST", "/tasks") if r.path.rstrip("/") == "/tasks"]
        assert len(posts) == 20  # every item written once
        foreign = await client.call_tool("create_tasks", {"items": items[:5], "continuation": first["continuation"]})
        assert foreign.is_error and "continuation" in text_of(foreign)
        other_key = {"items": items, "continuation": first["continuation"], "batch_key": "another-batch"}
        mixed = await client.call_tool("create_tasks", other_key)
        assert mixed.is_error and "batch_key" in text_of(mixed)  # never silently one of the two
    REPORTS.append(f"create_tasks past its deadline: {made} of 20 created, the rest not_started; the continuation "
                   "finished them with 0 duplicates")  # fmt: skip


# -- my_work ---------------------------------------------------------------------------------------------


async def test_my_work_merges_every_vendor_and_pages_each_task_once(server: MCPServer) -> None:
    monday = date.today() - timedelta(days=date.today().weekday())
    tag = f"Week {uuid.uuid4().hex[:6]}"
    async with Client(server) as client:
        made: set[tuple[str, str]] = set()
        for n in range(3):
            for vendor in ("lightfield", "trackops", "workiva"):
                due = (monday + timedelta(days=n + 1)).isoformat()
                args = {**ITEM[vendor], "title": f"{tag} {vendor} {n}", "due": due, "allow_duplicate": True}
                created = await client.call_tool("create_task", args)
                assert not created.is_error, text_of(created)
                made.add((vendor, created.structured_content["id"]))
        service_of(server).vendors.runtimes["lightfield"].sandbox_app.state.lightfield.catch_up()  # its list lags
        query = {
            "assignee": None,
            "due_after": monday.isoformat(),
            "due_before": (monday + timedelta(days=6)).isoformat(),
        }
        seen: list[tuple[str, str]] = []
        dues: list[str] = []
        cursor = None
        for _ in range(20):
            page = await client.call_tool("my_work", {**query, "limit": 2, **({"cursor": cursor} if cursor else {})})
            assert not page.is_error, text_of(page)
            content = page.structured_content
            assert {n["vendor"] for n in content["notes"]} == {"spotdraft"}  # it cannot list tasks
            rows = [t for t in content["tasks"] if t["title"].startswith(tag)]
            seen += [(t["vendor"], t["id"]) for t in rows]
            dues += [t["due"] for t in content["tasks"]]
            cursor = content["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)), seen  # every task exactly once

        first = await client.call_tool("my_work", {**query, "limit": 50})
        merged = first.structured_content["tasks"]
        assert [t["due"] for t in merged] == sorted(t["due"] for t in merged)  # merged by due date

        (await sandbox_of(server, "workiva")).inject(Fault(status=500, method="GET", path_prefix="/tasks", times=20))
        degraded = (await client.call_tool("my_work", {**query, "limit": 50})).structured_content
        assert {t["vendor"] for t in degraded["tasks"] if t["title"].startswith(tag)} == {"lightfield", "trackops"}
        notes = {n["vendor"]: n["note"] for n in degraded["notes"]}
        assert "workiva" in notes and "not included" in notes["workiva"], notes
    REPORTS.append(f"my_work: 9 tasks due this week on 3 vendors, pages of 2 → each once ({len(seen)} rows); "
                   "a failing vendor → its rows missing and a note, the rest returned")  # fmt: skip


async def test_my_work_cursor_is_the_caller_s_and_the_filters(server: MCPServer) -> None:
    async with Client(server) as client:
        page = await client.call_tool("my_work", {"assignee": None, "limit": 1})
        cursor = page.structured_content["next_cursor"]
        assert cursor
        other = await client.call_tool("my_work", {"assignee": None, "limit": 1, "status": "any", "cursor": cursor})
        assert other.is_error and "cursor" in text_of(other)
