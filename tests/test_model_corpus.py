"""Tool calls as language models really fill them, across the four vendors and both protocol eras.

Each call is what an assistant sends for a person's sentence: misnamed arguments (top level and inside
`assignees`), numbers for ids, single values for lists, case and synonym variants of enums, several
mistakes at once, repeated deletes, operations a vendor does not offer, and a few relative dates and
names as filters. Every call must either take effect — checked by reading the record back (the due date
is really set; the listed tasks really match the filter) — or be refused in tasklink's words, naming
each offending argument. A call that succeeds without its intended effect is a silent drop; a text with
the SDK's or pydantic's own validation words is a raw validation text. Both fail the test.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.mcp.server import build_server
from tasklink.sandbox.lightfield import LightfieldSandbox
from tasklink.settings import TaskLinkSettings

from .conftest import MODES, REPORTS, service_of
from .support import JANE, text_of

pytestmark = pytest.mark.anyio

Expect = Literal["applied", "coerced", "refused", "either"]

#: the SDK's and pydantic's own validation words, which no answer may contain
RAW = ("pydantic", "errors.pydantic.dev", "Arguments", "Input should be", "Field required", "Traceback")
#: how every tasklink refusal ends (arguments, guardrails, people lookups, a missing record)
HOUSE = ("Nothing was sent to the vendor", "Nothing was written", "Retrying the same call will not help")

PRIYA_W, MARCUS = "V0ZVc2VyHzU1MDg3OTc0MDE4MDg4OTY", "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"
SAM, PRIYA_L, DANA, ACME = "mem_sam0001", "mem_priya02", "mem_dana003", "acc_acme001"
CASE = {"casefile_id": 246, "calendar_id": 2}
OPEN_INTAKE = {"DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED"}


class Corpus:
    """Sends the corpus through one client, classifies each answer and records what went wrong."""

    def __init__(self, client: Client, server: MCPServer, era: str) -> None:
        self.client, self.server, self.era = client, server, era
        self.outcomes: Counter[str] = Counter()
        self.silent_drops: list[str] = []
        self.raw_texts: list[str] = []
        self.mismatches: list[str] = []
        self.unreadable = False

    async def call(self, tool: str, arguments: dict[str, Any], expect: Expect, *names: str) -> dict[str, Any]:
        """One model-style call; `names` are the arguments a refusal must name. Returns the structured result."""

        result = await self.client.call_tool(tool, arguments)
        text = text_of(result)
        where = f"[{self.era}] {tool} {json.dumps(arguments)[:160]}"
        if any(word in text for word in RAW):
            self.raw_texts.append(f"{where}: {text[:400]}")
        self.unreadable = bool(result.is_error)  # a refused call has no effect to read back
        if result.is_error:
            outcome = "refused"
            unnamed = [n for n in names if f"`{n}`" not in text]
            if not any(h in text for h in HOUSE) or unnamed:
                self.mismatches.append(f"{where}: not a house refusal naming {unnamed or names}: {text[:400]}")
        else:
            outcome = "coerced" if changed(result) else "applied"
        self.outcomes[outcome] += 1
        if expect not in ("either", outcome):
            self.mismatches.append(f"{where}: expected {expect}, got {outcome}: {text[:400]}")
        return result.structured_content or {} if not result.is_error else {}

    def verify(self, ok: bool, what: str) -> None:
        """The effect a successful call was meant to have, read back; without it the call was a silent drop."""

        if not ok and not self.unreadable:
            self.silent_drops.append(f"[{self.era}] {what}")

    async def read(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A read that checks a call's effect (not part of the corpus). When the record cannot be read (the
        call failed, which is already a mismatch), the checks that follow are skipped."""

        result = await self.client.call_tool(tool, arguments)
        self.unreadable = result.is_error or result.structured_content is None
        if self.unreadable:
            self.mismatches.append(f"[{self.era}] cannot read back with {tool} {arguments}: {text_of(result)[:300]}")
            return defaultdict(str)
        content: dict[str, Any] = result.structured_content or {}
        return content

    async def gone(self, tool: str, arguments: dict[str, Any]) -> bool:
        return bool((await self.client.call_tool(tool, arguments)).is_error)


def changed(result: Any) -> bool:
    """Whether tasklink reports reading the arguments with a change (warnings, or a note after the result)."""

    warnings = (result.structured_content or {}).get("warnings") or []
    if any(w.startswith(("read `", "dropped `")) for w in warnings):
        return True
    return any(getattr(c, "text", "").startswith("Note on the arguments:") for c in result.content)


def due_on(record: dict[str, Any], day: str, key: str = "due") -> bool:
    return isinstance(record.get(key), str) and record[key].startswith(day)


# -- Trackops: create, get and list; no update or delete --------------------------------------


async def trackops(c: Corpus) -> None:
    v = "trackops"
    made = await c.call(
        "create_task",
        {"vendor": v, "title": "Canvass Blake Street", "due_date": "2031-04-01", "notes": "Knock on every door.",
         "assignees": [2, 3], "vendor_fields": CASE},
        "coerced",
    )  # fmt: skip
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "0")})
    c.verify(due_on(task, "2031-04-01"), "trackops due_date → due")
    c.verify(task["description"] == "Knock on every door.", "trackops notes → description")
    c.verify(task["assignees"] == ["2", "3"], "trackops assignees as numbers")

    made = await c.call(
        "create_task",
        {"vendor": "Trackops", "name": "Photograph the site", "deadline": "2031-04-02", "assigned_to": 2,
         "vendor_fields": CASE},
        "coerced",
    )  # fmt: skip
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "0")})
    c.verify(task["title"] == "Photograph the site" and due_on(task, "2031-04-02"), "trackops name/deadline")
    c.verify(task["assignees"] == ["2"], "trackops assigned_to: 2")

    made = await c.call(
        "create_task",
        {"vendor": v, "title": "Pull DMV records", "due": "2031-04-03", "assignees": ["3"], "vendor_fields": CASE},
        "applied",
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "0")})
    c.verify(due_on(task, "2031-04-03") and task["assignees"] == ["3"], "trackops plain create")

    await c.call(
        "create_task", {"vendor": v, "title": "Serve papers", "due": "2031-04-04", "priority": "High",
                        "vendor_fields": CASE}, "refused", "priority")  # fmt: skip
    await c.call("create_task", {"vendor": v, "title": "Serve papers"}, "refused", "due", "vendor_fields.casefile_id")
    await c.call(
        "create_task",
        {"vendor": v, "titel": "Serve papers", "due_date": "2031-04-04", "due": "2031-04-05", "limit": 5},
        "refused",
        "titel",
        "due",
        "limit",
        "title",
    )
    await c.call("create_task", {"vendor": v, "title": "Check alibi", "due": "Friday", "vendor_fields": CASE}, "either")

    for args in ({"task_id": 1001}, {"id": "1002"}, {"taskId": 1003}):
        got = await c.call("get_task", {"vendor": v, **args}, "coerced")
        c.verify(got.get("id") == str(next(iter(args.values()))), f"trackops get_task {args}")
    got = await c.call("get_task", {"vendor": v, "task_id": "1001"}, "applied")
    c.verify(got.get("title") == "Surveil claimant at residence", "trackops get_task")
    await c.call("get_task", {"vendor": v, "task_id": 1001, "id": 1002}, "refused", "task_id")

    page = await c.call("list_tasks", {"vendor": v, "assigned_to": 2, "limit": 100}, "coerced")
    c.verify(bool(page.get("tasks")) and all("2" in t["assignees"] for t in page["tasks"]), "trackops assigned_to")
    page = await c.call("list_tasks", {"vendor": v, "assignee": "3", "limit": 100}, "applied")
    c.verify(bool(page.get("tasks")) and all("3" in t["assignees"] for t in page["tasks"]), "trackops assignee")
    page = await c.call("list_tasks", {"vendor": v, "status": "In Progress"}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["status"] == "in_progress" for t in page["tasks"]), "In Progress")
    page = await c.call("list_tasks", {"vendor": v, "status": ["done"]}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["status"] == "done" for t in page["tasks"]), "trackops [done]")
    page = await c.call("list_tasks", {"vendor": v, "status": "none"}, "applied")
    c.verify(bool(page.get("tasks")) and all(t["vendor_status"] == "none" for t in page["tasks"]), "status none")
    page = await c.call("list_tasks", {"vendor": v, "status": "To Do", "per_page": "50"}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["status"] == "todo" for t in page["tasks"]), "trackops To Do")
    page = await c.call("list_tasks", {"vendor": v, "query": "court"}, "coerced")
    c.verify(bool(page.get("tasks")) and all("court" in t["title"].lower() for t in page["tasks"]), "query → text")
    page = await c.call("list_tasks", {"vendor": v, "limit": "2"}, "coerced")
    c.verify(len(page.get("tasks", [])) == 2, "trackops limit '2'")
    await c.call("list_tasks", {"vendor": v, "status": "open"}, "refused", "status")
    await c.call("list_tasks", {"vendor": v, "limit": 500}, "refused", "limit")
    await c.call("list_tasks", {"vendor": v, "page": 2}, "refused", "page")
    await c.call("list_tasks", {"vendor": v, "due_date": "2024-04-10"}, "refused", "due_date")
    await c.call("list_tasks", {"vendor": v, "status": ["todo", "done"]}, "refused", "status")
    await c.call("list_tasks", {"vendor": v, "assignee": "Omar Reyes"}, "either", "assignee")
    await c.call("list_tasks", {"vendor": v, "due_after": "tomorrow"}, "either", "due_after")
    await c.call("update_task", {"vendor": v, "task_id": 1001, "title": "Surveil again"}, "refused", "update_task")
    await c.call("delete_task", {"vendor": v, "task_id": "1004"}, "refused", "delete_task")


# -- Workiva: the whole task lifecycle ----------------------------------------------------------


async def workiva(c: Corpus) -> None:
    v = "workiva"
    made = await c.call(
        "create_task",
        {"vendor": "Workiva", "title": "Tie out Q3 cash flow", "due_date": "2031-02-01",
         "notes": "Compare with the ledger.", "assignee": JANE},
        "coerced",
    )  # fmt: skip
    first = made.get("id", "none")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(due_on(task, "2031-02-01"), "workiva due_date → due (the original report)")
    c.verify(task["description"] == "Compare with the ledger." and task["assignees"] == [JANE], "workiva notes")

    made = await c.call(
        "create_task", {"vendor": v, "title": "Review the 10-K draft", "assigned_to": "Jane Smith"}, "coerced"
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(task["assignees"] == [JANE], "workiva assigned_to by name")

    made = await c.call(
        "create_task", {"vendor": v, "title": "Start the audit binder", "status": "In Progress"}, "coerced"
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(task["status"] == "in_progress", "workiva In Progress")

    made = await c.call(
        "create_task", {"vendor": v, "title": "File last year's binder", "status": "Completed"}, "applied"
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(task["status"] == "done", "workiva own status Completed")

    made = await c.call(
        "create_task", {"vendor": v, "title": "Board deck", "assignees": [JANE, MARCUS], "due": "2031-03-01"}, "applied"
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(sorted(task["assignees"]) == sorted([JANE, MARCUS]) and due_on(task, "2031-03-01"), "workiva plain")

    await c.call("create_task", {"vendor": v, "title": "Board deck v2", "priority": "urgent"}, "refused", "priority")
    await c.call("create_task", {"vendor": v, "title": "Board deck v3", "due": "tomorrow"}, "either", "due")
    await c.call(
        "create_task", {"vendor": v, "title": "", "descripton": "x", "assignees": [True]}, "refused",
        "title", "descripton", "assignees[0]",
    )  # fmt: skip

    await c.call("update_task", {"vendor": v, "task_id": first, "due_date": "2031-02-15"}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(due_on(task, "2031-02-15"), "workiva update due_date")
    await c.call("update_task", {"vendor": v, "id": first, "details": "Restated figures."}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["description"] == "Restated figures.", "workiva update details")
    await c.call("update_task", {"vendor": v, "task_id": first, "name": "Tie out restated Q3"}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["title"] == "Tie out restated Q3", "workiva update name → title")
    await c.call("update_task", {"vendor": v, "task_id": first, "assignee": "Priya Raman"}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["assignees"] == [PRIYA_W], "workiva reassign by name")
    await c.call("update_task", {"vendor": v, "task_id": first, "title": "Tie out Q3 (final)"}, "applied")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["title"] == "Tie out Q3 (final)", "workiva plain update")
    await c.call("update_task", {"vendor": v, "task_id": first, "status": "done"}, "refused", "status")
    await c.call(
        "update_task", {"vendor": v, "task_id": first, "due": "2031-01-01", "deadline": "2031-01-02"}, "refused", "due"
    )
    await c.call("update_task", {"vendor": v, "task_id": first, "mode": "add", "assignees": [JANE]}, "refused", "mode")

    got = await c.call("get_task", {"vendor": v, "id": first}, "coerced")
    c.verify(got.get("id") == first, "workiva get by id")
    page = await c.call("list_tasks", {"vendor": v, "assigned_to": JANE}, "coerced")
    c.verify(bool(page.get("tasks")) and all(JANE in t["assignees"] for t in page["tasks"]), "workiva assigned_to")
    page = await c.call("list_tasks", {"vendor": v, "status": "completed"}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["status"] == "done" for t in page["tasks"]), "workiva completed")
    page = await c.call("list_tasks", {"vendor": v, "search": "binder"}, "coerced")
    c.verify(bool(page.get("tasks")) and all("binder" in t["title"].lower() for t in page["tasks"]), "search")
    page = await c.call("list_tasks", {"vendor": v, "status": "todo", "limit": 10}, "applied")
    c.verify(all(t["status"] == "todo" for t in page.get("tasks", [])), "workiva todo")
    await c.call("list_tasks", {"vendor": v, "limit": 1000}, "refused", "limit")
    await c.call("list_tasks", {"vendor": v, "assignee": "Jane Smith"}, "either", "assignee")

    people = await c.call("find_people", {"vendor": v, "q": "Jane"}, "coerced")
    c.verify(any(p["id"] == JANE for p in people.get("people", [])), "find_people q → query")
    people = await c.call("find_people", {"vendor": v, "query": "Priya", "limit": "3"}, "coerced")
    c.verify([p["id"] for p in people.get("people", [])] == [PRIYA_W], "find_people limit '3'")
    await c.call("find_people", {"vendor": v, "query": "J", "limit": 100}, "refused", "limit")
    await c.call("find_people", {"vendor": v, "name": "Jane"}, "refused", "name", "query")

    await delete_flow(c, v, first, {"vendor": v, "id": first})


async def delete_flow(c: Corpus, vendor: str, task_id: str, preview_args: dict[str, Any]) -> None:
    """Preview (an alias in it), confirm, then the model repeats the delete twice."""

    preview = await c.call("delete_task", preview_args, "coerced")
    c.verify(preview.get("deleted") is False and bool(preview.get("confirm_token")), f"{vendor} delete preview")
    await c.call("delete_task", {"vendor": vendor, "task_id": task_id, "token": "abc"}, "refused", "token")
    done = await c.call(
        "delete_task",
        {"vendor": vendor, "task_id": task_id, "confirm": True, "confirm_token": preview.get("confirm_token", "")},
        "applied",
    )
    c.verify(done.get("deleted") is True and await c.gone("get_task", {"vendor": vendor, "task_id": task_id}), "gone")
    again = {"vendor": vendor, "task_id": task_id, "confirm": True, "confirm_token": preview.get("confirm_token", "")}
    # gone already: answered as such, or refused as a missing record (no argument is wrong)
    await c.call("delete_task", again, "either")
    await c.call("delete_task", {"vendor": vendor, "task_id": task_id}, "either")


# -- Lightfield: one assignee, no blocked status -------------------------------------------------


async def lightfield(c: Corpus) -> None:
    v = "lightfield"
    await service_of(c.server).vendors.adapter(v)
    sandbox = service_of(c.server).vendors.runtimes[v].sandbox_app.state.lightfield
    assert isinstance(sandbox, LightfieldSandbox)
    made = await c.call(
        "create_task",
        {"vendor": v, "title": "Send the renewal quote", "due_date": "2031-05-15", "body": "Multi-year discount.",
         "owner": SAM, "vendor_fields": {"$account": ACME}},
        "coerced",
    )  # fmt: skip
    first = made.get("id", "none")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(due_on(task, "2031-05-15") and task["description"] == "Multi-year discount.", "lightfield aliases")
    c.verify(task["assignees"] == [SAM], "lightfield owner → assignees")

    made = await c.call(
        "create_task",
        {"vendor": v, "title": "Call Globex", "status": "in progress", "assignees": ["Priya Natarajan"]},
        "coerced",
    )
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(task["status"] == "in_progress" and task["assignees"] == [PRIYA_L], "lightfield status and name")
    made = await c.call("create_task", {"vendor": v, "title": "Prepare QBR", "assignees": [DANA]}, "applied")
    task = await c.read("get_task", {"vendor": v, "task_id": made.get("id", "none")})
    c.verify(task["assignees"] == [DANA], "lightfield plain create")
    await c.call("create_task", {"vendor": v, "title": "Two owners", "assignees": [SAM, DANA]}, "refused", "assignees")

    await c.call("update_task", {"vendor": v, "task_id": first, "status": "Complete"}, "coerced")
    c.verify((await c.read("get_task", {"vendor": v, "task_id": first}))["status"] == "done", "lightfield Complete")
    await c.call("update_task", {"vendor": v, "task_id": first, "notes": "Sent on Tuesday."}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["description"] == "Sent on Tuesday.", "lightfield update notes")
    await c.call("update_task", {"vendor": v, "taskId": first, "title": "Send the renewal quote (sent)"}, "coerced")
    task = await c.read("get_task", {"vendor": v, "task_id": first})
    c.verify(task["title"] == "Send the renewal quote (sent)", "lightfield taskId")
    await c.call("update_task", {"vendor": v, "task_id": first, "status": "blocked"}, "refused", "status")
    await c.call("update_task", {"vendor": v, "task_id": first, "status": "cancelled"}, "applied")
    c.verify((await c.read("get_task", {"vendor": v, "task_id": first}))["status"] == "cancelled", "lightfield cancel")

    sandbox.catch_up()
    page = await c.call("list_tasks", {"vendor": v, "assignee": SAM}, "applied")
    c.verify(bool(page.get("tasks")) and all(t["assignees"] == [SAM] for t in page["tasks"]), "lightfield assignee")
    page = await c.call("list_tasks", {"vendor": v, "assigned_to": DANA}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["assignees"] == [DANA] for t in page["tasks"]), "lightfield assigned_to")
    page = await c.call("list_tasks", {"vendor": v, "status": "IN-PROGRESS"}, "coerced")
    c.verify(bool(page.get("tasks")) and all(t["status"] == "in_progress" for t in page["tasks"]), "IN-PROGRESS")
    await c.call("list_tasks", {"vendor": v, "limit": 101}, "refused", "limit")
    await c.call("list_tasks", {"vendor": v, "status": ["todo", "in_progress"]}, "refused", "status")
    await c.call("list_tasks", {"vendor": v, "assignee": "Dana"}, "either", "assignee")

    people = await c.call("find_people", {"vendor": v, "search": "dana"}, "coerced")
    c.verify([p["id"] for p in people.get("people", [])] == [DANA], "lightfield search → query")
    got = await c.call("get_task", {"vendor": v, "id": first}, "coerced")
    c.verify(got.get("id") == first, "lightfield get by id")
    await delete_flow(c, v, first, {"vendor": v, "taskId": first})


# -- SpotDraft: legal intakes, and tasks on them -----------------------------------------------


async def spotdraft(c: Corpus) -> None:
    made = await c.call(
        "create_intake",
        {"vendor": "spotdraft", "title": "Acme MSA review", "priority": "High", "due_date": "2031-03-03",
         "details": "Renewal with new DPA terms.", "assignees": [{"id": "102"}]},
        "coerced",
    )  # fmt: skip
    first = made.get("id", 0)
    intake = await c.read("get_intake", {"intake_id": first})
    c.verify(intake["priority"] == "HIGH" and due_on(intake, "2031-03-03", "due_date"), "intake priority/due_date")
    c.verify(intake["description"] == "Renewal with new DPA terms.", "intake details → description")
    c.verify([a["user_id"] for a in intake["assignees"]] == ["102"], "intake assignees[0].id")

    made = await c.call(
        "create_intake", {"title": "Globex NDA", "priority": "urgent", "assignees": "Priya Raman"}, "coerced"
    )
    intake = await c.read("get_intake", {"intake_id": made.get("id", 0)})
    c.verify(intake["priority"] == "HIGH" and [a["user_id"] for a in intake["assignees"]] == ["102"], "urgent")
    made = await c.call(
        "create_intake", {"name": "Initech SOW", "assignees": [{"user": "101", "role": "Collaborator"}]}, "coerced"
    )
    intake = await c.read("get_intake", {"intake_id": made.get("id", 0)})
    c.verify(intake["title"] == "Initech SOW", "intake name → title")
    c.verify([a["user_id"] for a in intake["collaborators"]] == ["101"], "intake nested user/role")
    made = await c.call(
        "create_intake", {"title": "Umbrella DPA", "priority": "LOW", "assignees": [{"user_id": "100"}]}, "applied"
    )
    plain = made.get("id", 0)
    intake = await c.read("get_intake", {"intake_id": plain})
    c.verify(intake["priority"] == "LOW", "intake plain create")

    await c.call("create_intake", {"title": "Hooli review", "vendor": "trackops"}, "refused", "vendor")
    await c.call("create_intake", {"title": "Hooli review", "status": "IN_PROGRESS"}, "refused", "status")
    await c.call("create_intake", {"title": "Hooli review", "collaborators": ["101"]}, "refused", "collaborators")
    await c.call(
        "create_intake", {"title": "Hooli review", "assignees": [{"user_id": "100", "type": "assignee"}]},
        "refused", "assignees[0].type",
    )  # fmt: skip
    await c.call("create_intake", {"title": "Hooli review", "due": "next week"}, "either", "due")
    await c.call(
        "create_intake", {"titel": "Hooli review", "priority": "top", "vendor_fields": {"a": 1}}, "refused",
        "titel", "priority", "vendor_fields", "title",
    )  # fmt: skip

    await c.call("update_intake", {"intake_id": first, "due_date": "2031-04-30"}, "coerced")
    intake = await c.read("get_intake", {"intake_id": first})
    c.verify(due_on(intake, "2031-04-30", "due_date"), "update_intake due_date (the name get_intake returns)")
    await c.call("update_intake", {"intake_id": str(first), "status": "In Progress"}, "coerced")
    c.verify((await c.read("get_intake", {"intake_id": first}))["status"] == "IN_PROGRESS", "In Progress intake")
    await c.call("update_intake", {"id": first, "status": "blocked", "priority": "low"}, "coerced")
    intake = await c.read("get_intake", {"intake_id": first})
    c.verify(intake["status"] == "BLOCKED" and intake["priority"] == "LOW", "intake blocked/low")
    await c.call("update_intake", {"intake_id": first, "status": "in_progress", "notes": "Back on track."}, "coerced")
    intake = await c.read("get_intake", {"intake_id": first})
    c.verify(intake["status"] == "IN_PROGRESS" and intake["description"] == "Back on track.", "intake in_progress")
    await c.call("update_intake", {"intake_id": first, "priority": "MEDIUM"}, "applied")
    c.verify((await c.read("get_intake", {"intake_id": first}))["priority"] == "MEDIUM", "intake MEDIUM")
    await c.call("update_intake", {"intake_id": first, "status": "open"}, "refused", "status")
    await c.call("update_intake", {"intake_id": first, "assignees": ["100"]}, "refused", "assignees")
    await c.call("update_intake", {"intake_id": "first", "priority": "urgentest"}, "refused", "intake_id", "priority")

    await c.call("update_intake_assignees", {"intake_id": plain, "assignees": "101"}, "coerced")
    intake = await c.read("get_intake", {"intake_id": plain})
    c.verify([a["user_id"] for a in intake["assignees"]] == ["101"], "assignees '101' → [{user_id}]")
    await c.call(
        "update_intake_assignees",
        {"intake_id": plain, "assignees": [{"email": "sonia@acme-legal.example", "role": "watcher"}], "mode": "Add"},
        "coerced",
    )
    intake = await c.read("get_intake", {"intake_id": plain})
    c.verify([a["user_id"] for a in intake["collaborators"]] == ["100"], "email/watcher/Add")
    await c.call("update_intake_assignees", {"intake_id": plain, "assignees": [{"user_id": "102"}]}, "applied")
    intake = await c.read("get_intake", {"intake_id": plain})
    c.verify([a["user_id"] for a in intake["assignees"]] == ["102"], "plain replace")
    await c.call(
        "update_intake_assignees", {"intake_id": plain, "assignees": ["100"], "role": "collaborator"}, "refused", "role"
    )

    page = await c.call("list_intakes", {"status": "open", "limit": 100}, "coerced")
    c.verify(bool(page.get("intakes")) and all(i["status"] in OPEN_INTAKE for i in page["intakes"]), "open intakes")
    page = await c.call("list_intakes", {"status": "In Progress"}, "coerced")
    c.verify(bool(page.get("intakes")) and all(i["status"] == "IN_PROGRESS" for i in page["intakes"]), "In Progress")
    page = await c.call("list_intakes", {"priority": "High"}, "coerced")
    c.verify(bool(page.get("intakes")) and all(i["priority"] == "HIGH" for i in page["intakes"]), "priority High")
    page = await c.call("list_intakes", {"search": "NDA"}, "coerced")
    c.verify(bool(page.get("intakes")) and all("NDA" in i["title"] for i in page["intakes"]), "search → query")
    page = await c.call("list_intakes", {"sort": "newest", "limit": 2}, "coerced")
    c.verify(len(page.get("intakes", [])) == 2, "sort newest")
    page = await c.call("list_intakes", {"priority": ["LOW"], "page": 1}, "applied")
    c.verify(all(i["priority"] == "LOW" for i in page.get("intakes", [])), "priority [LOW]")
    await c.call("list_intakes", {"limit": 500}, "refused", "limit")
    await c.call("list_intakes", {"cursor": "abc"}, "refused", "cursor")

    got = await c.call("get_intake", {"id": first}, "coerced")
    c.verify(got.get("id") == first, "get_intake id")
    got = await c.call("get_intake", {"intake_id": str(first)}, "coerced")
    c.verify(got.get("id") == first, "get_intake '<id>'")
    await c.call("get_intake", {"intake_id": 81, "vendor": "Trackops"}, "refused", "vendor")

    await c.call(
        "create_task",
        {"vendor": "SpotDraft", "title": "Collect business justification", "intake_id": str(first),
         "priority": "high", "status": "In Progress"},
        "coerced",
    )  # fmt: skip
    tasks = (await c.read("get_intake", {"intake_id": first}))["tasks"]
    c.verify([(t["title"], t["priority"]) for t in tasks] == [("Collect business justification", "HIGH")], "task")
    await c.call(
        "create_task", {"vendor": "spotdraft", "title": "Loose task", "priority": "high"}, "refused", "priority"
    )
    await c.call("list_tasks", {"vendor": "spotdraft"}, "refused", "list_tasks")
    await c.call("delete_task", {"vendor": "spotdraft", "task_id": 5}, "refused", "delete_task")

    preview = await c.call("delete_intake", {"id": plain}, "coerced")
    c.verify(preview.get("deleted") is False and bool(preview.get("confirm_token")), "delete_intake preview")
    token = preview.get("confirm_token", "")
    done = await c.call("delete_intake", {"intake_id": plain, "confirm": True, "confirm_token": token}, "applied")
    c.verify(done.get("deleted") is True and await c.gone("get_intake", {"intake_id": plain}), "intake deleted")
    await c.call("delete_intake", {"intake_id": plain, "confirm": True, "confirm_token": token}, "either")
    await c.call("delete_intake", {"intake_id": plain}, "either")


SCENARIOS: list[Callable[[Corpus], Awaitable[None]]] = [trackops, workiva, lightfield, spotdraft]


async def test_model_corpus_in_both_eras(tmp_path: Path) -> None:
    started = time.perf_counter()
    corpora: list[Corpus] = []
    for mode in MODES:
        fast = dict.fromkeys(("lightfield", "spotdraft", "trackops", "workiva"), 1000.0)
        settings = TaskLinkSettings(data_dir=tmp_path / mode, sandbox=True, rate_limits=fast)
        server = build_server(settings)
        async with Client(server, mode=mode) as client:
            corpus = Corpus(client, server, mode)
            for scenario in SCENARIOS:
                await scenario(corpus)
            corpora.append(corpus)
    seconds = time.perf_counter() - started

    total: Counter[str] = Counter()
    for corpus in corpora:
        total.update(corpus.outcomes)
    drops = [d for c in corpora for d in c.silent_drops]
    raw = [r for c in corpora for r in c.raw_texts]
    mismatches = [m for c in corpora for m in c.mismatches]
    calls = sum(total.values())
    REPORTS.append(
        f"model corpus: {calls} calls in {len(MODES)} protocol eras ({seconds:.1f} s), {total['applied']} applied, "
        f"{total['coerced']} applied after a documented alias/coercion, {total['refused']} refused in house format, "
        f"{len(drops)} silent drops, {len(raw)} raw validation texts"
    )
    assert calls >= 150
    assert not drops, "\n".join(drops)
    assert not raw, "\n".join(raw)
    assert not mismatches, "\n".join(mismatches)
    assert min(total["applied"], total["coerced"], total["refused"]) >= 30, total
