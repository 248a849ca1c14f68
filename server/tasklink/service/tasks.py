"""Tasks in every vendor: create, read, list, update, delete — each through one checkpoint and the write gate."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound, StateUnavailable, TaskLinkError
from ..models import (
    CreateTaskRequest,
    DeleteResult,
    ListTasksRequest,
    ResolvedPerson,
    Task,
    TaskPage,
    UpdateTaskRequest,
)
from ..policy.gate import NO_OPTIONS, Prepared, WriteCall, WriteOptions, WritePreview
from ..policy.ledger import digest
from .core import Bound, Core, OnRead, alongside, beside, list_read_ahead, same_title
from .duplicates import lookup_precedes_list, refuse_duplicate, title_matches
from .people import People


class Tasks:
    def __init__(self, core: Core, people: People) -> None:
        self.core = core
        self.people = people

    # -- reads ----------------------------------------------------------------------------

    async def get(self, vendor: str, task_id: str) -> Task:
        bound = await self.core.checkpoint(vendor, "get_task", task_id=task_id)
        task = await bound.adapter.get_task(task_id)
        task.warnings.extend(bound.warnings)
        return task

    async def list_page(self, req: ListTasksRequest, *, on_page: OnRead | None = None) -> TaskPage:
        bound = await self.core.checkpoint(req.vendor, "list_tasks", on_read=on_page)
        resolved: list[ResolvedPerson] = []
        if req.assignee is not None:  # a name or email filters as it assigns: one active match, or an error
            people = self.people.resolver(req.vendor, active_only=False)
            lookup = people.user_id(req.assignee, "assignee")
            assignee = await alongside(lookup, list_read_ahead(bound.adapter))  # the filter's slug, meanwhile
            req, resolved = req.model_copy(update={"assignee": assignee}), people.resolved
        page = await bound.adapter.list_tasks(req)
        page.warnings.extend(bound.warnings + await self._lag_note(bound, page))
        page.resolved = resolved
        return page

    async def _lag_note(self, bound: Bound, page: TaskPage) -> list[str]:
        """Where the vendor's list lags its writes, say which tasks created here lately may be missing (reads
        do not need the state store: when it cannot be asked, the note is left out)."""

        lag = bound.manifest.limits.list_lag_seconds
        if not lag:
            return []
        try:
            recent = await self.core.creates.recent_by_vendor(bound.vendor, "task", lag)
        except StateUnavailable:
            return []
        listed = {t.id for t in page.tasks}
        missing = [w.record_id for w in recent if w.record_id not in listed]
        if not missing:
            return []
        return [
            f"{bound.title}'s list lags its writes by up to {lag:g} s: {len(missing)} task(s) created here moments ago "
            f"may be missing ({', '.join(missing[:5])}); get_task reads each at once."
        ]

    # -- create ---------------------------------------------------------------------------

    def _create(self, req: CreateTaskRequest, opts: WriteOptions) -> tuple[WriteCall, Any]:
        people = self.people.resolver(req.vendor)
        given = digest(req.model_dump(mode="json"))

        async def prepare(dry_run: bool) -> Prepared[Task]:
            bound = await self.core.checkpoint(req.vendor, "create_task", arguments=req)
            lists = not opts.allow_duplicate and self.core.lists_for_duplicates(bound, "list_tasks")
            # the list will be read: what it needs (Lightfield's definitions) is read beside the people lookups
            ahead = lists and (dry_run or not await self.core.verdict_stands(req.vendor, "task", given))
            early: TaskPage | TaskLinkError | None = None
            if ahead and lookup_precedes_list(bound, req):
                # a name to look up: the list goes out beside the lookup, by title only, and the assignee
                # is matched here — one round trip instead of two
                assignees, early = await beside(people.refs(req.assignees), lambda: title_matches(bound, req, None))
            else:
                ahead_read = list_read_ahead(bound.adapter) if ahead else None
                assignees = await alongside(people.refs(req.assignees), ahead_read)
            resolved_req = req.model_copy(update={"assignees": assignees})
            plan = await bound.adapter.plan_create_task(resolved_req)
            same = same_create(resolved_req)
            check = await self.core.check_create(
                bound, "task", same=same, given=given, resolved=digest(resolved_req.model_dump(mode="json")),
                dry_run=dry_run, allow_duplicate=opts.allow_duplicate,
                listing=(lambda: refuse_duplicate(self.core, bound, resolved_req, dry_run=dry_run, early=early))
                if lists
                else None,
            )  # fmt: skip
            warnings = self.core.due_warnings(req.due)

            async def finish(task: Task) -> Task:
                await self.core.created(req.vendor, "task", same, task.id, given)
                task.warnings.extend(warnings + check.warnings + bound.warnings)
                task.resolved = people.resolved
                return task

            notes = [n for n in (people.note(), *check.notes) if n]
            return bound.prepared(plan, finish, notes=notes, warnings=warnings + bound.warnings,
                                  resolved=people.resolved, release=check.release)  # fmt: skip

        async def recover() -> Task | None:
            return await self._created_earlier(req)

        return self.core.write_call("create_task", req.vendor, req, None, opts, recover=recover), prepare

    async def _created_earlier(self, req: CreateTaskRequest) -> Task | None:
        """The one recent task with this title, if the vendor can be searched (an earlier attempt's record)."""

        bound = await self.core.checkpoint(req.vendor, "create_task")
        if not bound.manifest.operation("list_tasks").supported:
            return None
        page = await bound.adapter.list_title_matches(ListTasksRequest(vendor=req.vendor, text=req.title, limit=25))
        same = [t for t in page.tasks if same_title(t.title, req.title) and self.core.recent(t.created_at)]
        return await bound.adapter.get_task(same[0].id) if len(same) == 1 else None

    async def create(self, req: CreateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        call, prepare = self._create(req, opts)
        return await self.people.assigning(req.vendor, self.core.gate.write(call, prepare, Task))

    async def dry_run_create(self, req: CreateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._create(req, opts)
        return await self.core.gate.describe(call, prepare)

    # -- update ---------------------------------------------------------------------------

    def _update(self, req: UpdateTaskRequest, opts: WriteOptions) -> tuple[WriteCall, Any]:
        people = self.people.resolver(req.vendor)

        async def prepare(dry_run: bool) -> Prepared[Task]:
            also = ("reassign_task",) if req.assignees is not None else ()
            bound = await self.core.checkpoint(req.vendor, "update_task", also=also, arguments=req, task_id=req.task_id)
            resolved_req = req
            if req.assignees is not None:
                resolved_req = req.model_copy(update={"assignees": await people.refs(req.assignees)})
            plan = await bound.adapter.plan_update_task(resolved_req)
            warnings = self.core.due_warnings(req.due)

            async def finish(task: Task) -> Task:
                task.warnings.extend(warnings + bound.warnings)
                task.resolved = people.resolved
                return task

            notes = [people.note()] if people.resolved else []
            return bound.prepared(plan, finish, notes=notes, warnings=warnings + bound.warnings,
                                  resolved=people.resolved)  # fmt: skip

        return self.core.write_call("update_task", req.vendor, req, req.task_id, opts), prepare

    async def update(self, req: UpdateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        call, prepare = self._update(req, opts)
        return await self.people.assigning(req.vendor, self.core.gate.write(call, prepare, Task))

    async def dry_run_update(self, req: UpdateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._update(req, opts)
        return await self.core.gate.describe(call, prepare)

    # -- delete ---------------------------------------------------------------------------

    async def preview_delete(self, vendor: str, task_id: str) -> DeleteResult:
        """What a delete would remove, and the confirm_token that allows it; nothing is deleted."""

        call = self.core.write_call("delete_task", vendor, {"task_id": task_id}, task_id, NO_OPTIONS)
        bound = await self.core.refusing(call, self.core.checkpoint(vendor, "delete_task", task_id=task_id))
        try:
            task = await bound.adapter.get_task(task_id)
        except NotFound as gone:
            return already_gone(vendor, f"task {task_id}", gone)
        return DeleteResult(
            vendor=vendor,
            target=f"task {task_id}",
            deleted=False,
            message=(
                f"Nothing was deleted. This would delete the {bound.title} task shown in `preview` (id {task_id}). "
                "Show the user its title and ask; if they agree, call delete_task again with confirm=true and this "
                "confirm_token."
            ),
            confirm_token=await self.core.tokens.issue("delete_task", vendor, task_id, shown_task(task)),
            preview=shown_task(task),
            warnings=bound.warnings,
        )

    def _delete(
        self, vendor: str, task_id: str, confirm_token: str | None, elicited: bool, opts: WriteOptions
    ) -> tuple[WriteCall, Any]:
        async def prepare(dry_run: bool) -> Prepared[DeleteResult]:
            bound = await self.core.checkpoint(vendor, "delete_task", task_id=task_id)
            shown: dict[str, Any] | None = None
            if not dry_run:
                tokens = self.core.tokens
                expected = await tokens.expected("delete_task", vendor, task_id, token=confirm_token, elicited=elicited)
                current = await bound.adapter.get_task(task_id)  # re-check the target just before deleting
                shown = shown_task(current)
                tokens.require_unchanged(expected, "delete_task", f"task {task_id}", shown, elicited=elicited)
            plan = await bound.adapter.plan_delete_task(task_id)

            async def finish(_: None) -> DeleteResult:
                await self.core.deleted(vendor, "task", task_id)
                return DeleteResult(
                    vendor=vendor,
                    target=f"task {task_id}",
                    deleted=True,
                    message=f"Deleted the {bound.title} task shown in `preview` (id {task_id}).",
                    preview=shown,
                    warnings=bound.warnings,
                )

            return bound.prepared(plan, finish, warnings=bound.warnings)

        return self.core.write_call("delete_task", vendor, {"task_id": task_id}, task_id, opts), prepare

    async def delete(
        self,
        vendor: str,
        task_id: str,
        *,
        confirm_token: str | None,
        elicited: bool = False,
        opts: WriteOptions = NO_OPTIONS,
    ) -> DeleteResult:
        """Delete after confirmation: a valid token from a preview, or an accepted elicitation."""

        call, prepare = self._delete(vendor, task_id, confirm_token, elicited, opts)
        try:
            return await self.core.gate.write(call, prepare, DeleteResult)
        except NotFound as gone:
            return already_gone(vendor, f"task {task_id}", gone)

    async def dry_run_delete(self, vendor: str, task_id: str, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._delete(vendor, task_id, None, False, opts)
        return await self.core.gate.describe(call, prepare)


def already_gone(vendor: str, target: str, found: NotFound) -> DeleteResult:
    """A delete of something no longer there: done already (deletes are idempotent), nothing sent."""

    return DeleteResult(
        vendor=vendor,
        target=target,
        deleted=False,
        already_deleted=True,
        message=f"Nothing left to delete: {found.message.rstrip('.')}. Nothing was sent.",
    )


def same_create(req: CreateTaskRequest) -> str:
    """What makes two task creates the same: the title, the intake and the first assignee."""

    first = next((a.user_id or a.role_id for a in req.assignees), None)
    return f"{req.title}|intake={req.intake_id or ''}|assignee={first or ''}"


#: what a delete preview shows of a task; a confirmation is bound to exactly these fields
TASK_SHOWN = {"id", "title", "status", "due", "assignees"}


def shown_task(task: Task) -> dict[str, Any]:
    return task.model_dump(include=TASK_SHOWN)
