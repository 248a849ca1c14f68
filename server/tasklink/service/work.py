"""`my_work`: one person's tasks across every vendor that can list them, in one answer.

Why a tool of its own rather than `list_tasks(vendor="all")`: its defaults are different (the caller's
own, open tasks), its filters are only the ones every vendor shares (status, assignee, due range), and
its answer has per-vendor notes — `list_tasks` keeps its exact, vendor-specific filters and one cursor.

Each vendor that can list tasks (and that the caller's roles allow) is asked at once, with the
normalized filters; `me` is the acting principal at each vendor. Rows are merged by due date, then
vendor. One composite cursor (signed and bound to the caller) holds each vendor's own cursor and how
many rows of its current page were already returned, so paging returns every task exactly once. The
order is by due date within each answer; across pages each vendor's own order is kept. A vendor that
cannot list, or fails, is a note in the answer, never a failed call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio
from pydantic import BaseModel, Field

from ..errors import InvalidInput, TaskLinkError
from ..models import Due, ListTasksRequest, ResolvedPerson, Task, TaskPage
from ..policy.keys import derive
from ..principals import acting
from ..signed import sign, verify
from .core import Core
from .tasks import Tasks

CLOSED = ("done", "cancelled")


class VendorNote(BaseModel):
    vendor: str
    note: str


class WorkPage(BaseModel):
    tasks: list[Task] = Field(description="Merged by due date (undated last), then vendor.")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for more; null when every vendor is done.")
    vendors: list[str] = Field(description="The vendors asked.")
    notes: list[VendorNote] = Field(default_factory=list, description="What a vendor could not do.")
    resolved: list[ResolvedPerson] = Field(default_factory=list, description="Who `assignee` was at each vendor.")


@dataclass
class Position:
    """Where one vendor stands: the cursor of its current page, and how many of its rows went out already."""

    cursor: str | None = None
    skip: int = 0
    done: bool = False


@dataclass
class Fetched:
    vendor: str
    page: TaskPage
    rows: list[Task]
    position: Position


class Work:
    def __init__(self, core: Core, tasks: Tasks) -> None:
        self.core = core
        self.tasks = tasks
        self._key = derive(core.key, "work-cursors")

    def _encode(self, positions: dict[str, Position], query: str) -> str:
        state = {v: [p.cursor, p.skip, p.done] for v, p in positions.items()}
        return sign(self._key, [state, query], context=acting().scope())

    def _decode(self, cursor: str, query: str) -> dict[str, Position]:
        found = verify(self._key, cursor, context=acting().scope())
        if not isinstance(found, list) or len(found) != 2 or found[1] != query:
            raise InvalidInput(
                "cursor is not one my_work returned to you for these filters",
                field="cursor",
                hint="pass next_cursor exactly as returned, with the same filters; or drop it to start over",
            )
        return {v: Position(c, int(s), bool(d)) for v, (c, s, d) in found[0].items()}

    def _vendors(self, wanted: list[str] | None) -> tuple[list[str], list[VendorNote]]:
        grants = self.core.policy.grants(acting())
        names, notes = [], []
        for name, rt in self.core.vendors.runtimes.items():
            if wanted and name not in wanted:
                continue
            op = rt.manifest.operation("list_tasks")
            if not op.supported:
                notes.append(VendorNote(vendor=name, note=f"{rt.manifest.title} cannot list tasks: {op.reason}"))
            elif not grants.vendor(name):
                notes.append(VendorNote(vendor=name, note="your roles do not include this vendor"))
            else:
                names.append(name)
        unknown = [v for v in wanted or () if v not in self.core.vendors.runtimes]
        if unknown:
            known = list(self.core.vendors.runtimes)
            raise InvalidInput(f"unknown or disabled vendors {unknown}", field="vendors", allowed=known)
        return names, notes

    async def page(
        self,
        *,
        status: str = "open",
        assignee: str | None = "me",
        due_after: Due | None = None,
        due_before: Due | None = None,
        vendors: list[str] | None = None,
        limit: int = 25,
        cursor: str | None = None,
    ) -> WorkPage:
        names, notes = self._vendors(vendors)
        query = json.dumps([status, assignee, str(due_after), str(due_before), sorted(names), limit])
        positions = self._decode(cursor, query) if cursor else {v: Position() for v in names}
        fetched: list[Fetched] = []

        async def one(vendor: str) -> None:
            position = positions.get(vendor, Position())
            if position.done:
                return
            req = ListTasksRequest(vendor=vendor, status=None if status in ("open", "any") else status,
                                   assignee=assignee, due_after=due_after, due_before=due_before, limit=limit,
                                   cursor=position.cursor)  # fmt: skip
            try:
                page = await self.tasks.list_page(req)
            except TaskLinkError as exc:
                notes.append(VendorNote(vendor=vendor, note=f"not included: {exc.message}"))
                return
            kept = [t for t in page.tasks if status != "open" or t.status not in CLOSED]
            rows = sorted(kept, key=_by_due)[position.skip :]  # the page in merge order, past what went out
            fetched.append(Fetched(vendor, page, rows, position))

        async with anyio.create_task_group() as group:
            for vendor in names:
                group.start_soon(one, vendor)
        return self._merge(fetched, positions, notes, names, query, limit)

    def _merge(self, fetched: list[Fetched], positions: dict[str, Position], notes: list[VendorNote],
               names: list[str], query: str, limit: int) -> WorkPage:  # fmt: skip
        merged = sorted(((t, f) for f in fetched for t in f.rows), key=lambda tf: (_by_due(tf[0]), tf[1].vendor))
        shown = merged[:limit]
        taken: dict[str, int] = {}
        for _, f in shown:
            taken[f.vendor] = taken.get(f.vendor, 0) + 1
        for f in fetched:
            used = taken.get(f.vendor, 0)
            if used < len(f.rows):  # rows left on this page: the same page again, past what went out
                positions[f.vendor] = Position(f.position.cursor, f.position.skip + used)
            else:
                positions[f.vendor] = Position(f.page.next_cursor, 0, f.page.next_cursor is None)
        more = any(not p.done for v, p in positions.items() if v in names and v in {f.vendor for f in fetched})
        resolved = [r for f in fetched for r in f.page.resolved]
        return WorkPage(
            tasks=[t for t, _ in shown],
            next_cursor=self._encode(positions, query) if more else None,
            vendors=names,
            notes=sorted(notes, key=lambda n: n.vendor),
            resolved=resolved,
        )


def _by_due(task: Task) -> str:
    return task.due or "9999"  # undated last
