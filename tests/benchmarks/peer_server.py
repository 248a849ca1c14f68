"""The naive peer: tasklink's 14 tool names on a plain `MCPServer`, each one direct httpx2 call.

What a first version of such a server looks like: pydantic argument and result models, one pooled
`httpx2.AsyncClient`, one request to the vendor per tool, and nothing else: no guardrails, no
idempotency ledger or audit, no retries, no rate limits, no argument forgiveness, no redaction, no
duplicate check. It talks to the same loopback stub as tasklink (Lightfield-shaped paths), so the
difference between the two is what tasklink's guardrails and plumbing cost.

`python peer_server.py BASE_URL API_KEY` serves stdio; `... --http PORT` serves Streamable HTTP at
/mcp on 127.0.0.1 with the SDK's defaults (SSE answers, sessions), like the floor.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

import httpx2
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

Vendor = Annotated[Literal["lightfield", "spotdraft", "trackops", "workiva"], Field(description="Vendor system.")]
READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
DELETE = ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=True)

mcp = MCPServer("peer")
_client: httpx2.AsyncClient | None = None


def client() -> httpx2.AsyncClient:
    global _client
    if _client is None:
        base, key = sys.argv[1], sys.argv[2]
        _client = httpx2.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    return _client


async def call(method: str, path: str, **kw: Any) -> Any:
    response = await client().request(method, path, **kw)
    response.raise_for_status()
    return response.json() if response.content else None


class Task(BaseModel):
    vendor: str
    id: str
    title: str
    status: str | None = None
    due: str | None = None
    description: str | None = None
    assignees: list[str] = []
    url: str | None = None


class TaskPage(BaseModel):
    tasks: list[Task]
    next_cursor: str | None = None


class Intake(BaseModel):
    id: int
    title: str
    status: str | None = None
    priority: str | None = None
    assignees: list[str] = []


class IntakePage(BaseModel):
    intakes: list[Intake]
    page: int = 1


class Person(BaseModel):
    id: str
    name: str | None = None
    email: str | None = None


class People(BaseModel):
    people: list[Person]


class FoundRecord(BaseModel):
    id: str
    name: str
    kind: str


class Records(BaseModel):
    records: list[FoundRecord]


class VendorSummary(BaseModel):
    name: str
    operations: list[str]


class Vendors(BaseModel):
    vendors: list[VendorSummary]


class Deleted(BaseModel):
    id: str
    deleted: bool


def task_of(vendor: str, record: dict[str, Any]) -> Task:
    fields = {k: (v or {}).get("value") if isinstance(v, dict) else v for k, v in record.get("fields", {}).items()}
    assigned = (record.get("relationships") or {}).get("$assignedTo") or {}
    ids = assigned.get("values", []) if isinstance(assigned, dict) else assigned
    return Task(
        vendor=vendor,
        id=record["id"],
        title=str(fields.get("$title") or ""),
        status=fields.get("$status"),
        due=fields.get("$dueAt"),
        description=fields.get("$description"),
        assignees=[str(i) for i in ids],
        url=record.get("httpLink"),
    )


def due_at(due: str | None) -> str | None:
    return f"{due}T17:00:00Z" if due and len(due) == 10 else due


@mcp.tool(title="Create intake", annotations=WRITE)
async def create_intake(title: Annotated[str, Field(min_length=1, max_length=200)], priority: str = "MEDIUM") -> Intake:
    """Create a legal intake."""
    data = await call("POST", "/v1/intakes", json={"title": title, "priority": priority})
    return Intake.model_validate(data)


@mcp.tool(title="Get intake", annotations=READ)
async def get_intake(intake_id: int) -> Intake:
    """Read one intake."""
    return Intake.model_validate(await call("GET", f"/v1/intakes/{intake_id}"))


@mcp.tool(title="List intakes", annotations=READ)
async def list_intakes(query: str | None = None, page: int = 1) -> IntakePage:
    """List intakes."""
    data = await call("GET", "/v1/intakes", params={"q": query or "", "page": page})
    return IntakePage(intakes=[Intake.model_validate(i) for i in data["results"]], page=page)


@mcp.tool(title="Update intake", annotations=WRITE)
async def update_intake(intake_id: int, title: str | None = None, status: str | None = None) -> Intake:
    """Change an intake."""
    body = {k: v for k, v in {"title": title, "status": status}.items() if v is not None}
    return Intake.model_validate(await call("PATCH", f"/v1/intakes/{intake_id}", json=body))


@mcp.tool(title="Update intake assignees", annotations=WRITE)
async def update_intake_assignees(intake_id: int, assignees: list[str]) -> Intake:
    """Set an intake's assignees."""
    data = await call("PUT", f"/v1/intakes/{intake_id}/assignees", json={"assignees": assignees})
    return Intake.model_validate(data)


@mcp.tool(title="Delete intake", annotations=DELETE)
async def delete_intake(intake_id: int, confirm: bool = False) -> Deleted:
    """Delete an intake."""
    await call("DELETE", f"/v1/intakes/{intake_id}")
    return Deleted(id=str(intake_id), deleted=True)


@mcp.tool(title="Create task", annotations=WRITE)
async def create_task(
    vendor: Vendor,
    title: Annotated[str, Field(min_length=1, max_length=500)],
    description: str | None = None,
    due: str | None = None,
    assignees: list[str] | None = None,
    status: str | None = None,
    idempotency_key: str | None = None,
    allow_duplicate: bool = False,
) -> Task:
    """Create a task."""
    fields = {
        "$title": title,
        "$status": (status or "TODO").upper(),
        "$description": description,
        "$dueAt": due_at(due),
    }
    body = {
        "fields": {k: v for k, v in fields.items() if v is not None},
        "relationships": {"$assignedTo": (assignees or [None])[0]},
    }
    return task_of(vendor, await call("POST", "/v1/tasks", json=body))


@mcp.tool(title="Get task", annotations=READ)
async def get_task(vendor: Vendor, task_id: Annotated[str, Field(min_length=1, max_length=200)]) -> Task:
    """Read one task in full."""
    return task_of(vendor, await call("GET", f"/v1/tasks/{task_id}"))


@mcp.tool(title="List tasks", annotations=READ)
async def list_tasks(
    vendor: Vendor, limit: Annotated[int, Field(ge=1, le=100)] = 25, cursor: str | None = None
) -> TaskPage:
    """List tasks."""
    data = await call("GET", "/v1/tasks", params={"offset": int(cursor or 0), "limit": limit})
    return TaskPage(tasks=[task_of(vendor, r) for r in data["data"]])


@mcp.tool(title="Update task", annotations=WRITE)
async def update_task(vendor: Vendor, task_id: str, title: str | None = None, status: str | None = None) -> Task:
    """Change a task."""
    fields = {k: v for k, v in {"$title": title, "$status": status}.items() if v is not None}
    return task_of(vendor, await call("POST", f"/v1/tasks/{task_id}", json={"fields": fields}))


@mcp.tool(title="Delete task", annotations=DELETE)
async def delete_task(vendor: Vendor, task_id: str, confirm: bool = False) -> Deleted:
    """Delete a task."""
    await call("DELETE", f"/v1/tasks/{task_id}")
    return Deleted(id=task_id, deleted=True)


@mcp.tool(title="List vendors", annotations=READ)
async def list_vendors(vendor: str | None = None) -> Vendors:
    """What each vendor supports."""
    data = await call("GET", "/v1/tasks/definitions")
    return Vendors(vendors=[VendorSummary(name="lightfield", operations=sorted(data.get("fields", {}))[:5])])


@mcp.tool(title="Find people", annotations=READ)
async def find_people(vendor: Vendor, query: str, limit: int = 10) -> People:
    """Find people by name or email."""
    data = await call("GET", "/v1/members", params={"limit": limit})
    return People(people=[Person(id=m["id"], email=m.get("email")) for m in data["data"]])


@mcp.tool(title="Find records", annotations=READ)
async def find_records(vendor: Vendor, kind: str, query: str) -> Records:
    """Find accounts or other records by name."""
    data = await call("GET", f"/v1/{kind}s", params={"limit": 25})
    return Records(records=[FoundRecord(id=r["id"], name=str(r.get("id")), kind=kind) for r in data["data"]])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[3] == "--http":
        import uvicorn

        uvicorn.run(mcp.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[4]), log_level="warning")
    else:
        mcp.run("stdio")
