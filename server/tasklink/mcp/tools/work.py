"""Tools over several tasks or vendors at once: create_tasks (a batch) and my_work (one person's tasks)."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import BaseModel, ConfigDict, Field

from ...errors import InvalidInput, TaskLinkError
from ...models import AssigneeRef, CreateTaskRequest
from ...service.batches import MAX_ITEMS, BatchResult, Item, Unreadable
from ...service.work import WorkPage
from ._common import AllowDuplicateArg, DryRunArg, Due, ToolSpec, boundary, service
from .tasks import _assignees


class BatchTask(BaseModel):
    """One item: create_task's arguments (its own vendor; not idempotency_key, dry_run or allow_duplicate)."""

    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(max_length=100)
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=20_000)
    due: str | None = Field(None, max_length=100)
    assignees: list[str | AssigneeRef] | None = Field(None, max_length=25)
    priority: str | None = Field(None, max_length=50)
    status: str | None = Field(None, max_length=100)
    intake_id: int | None = Field(None, ge=1)
    vendor_fields: dict[str, Any] | None = None


def _request(ctx: Context[Any, Any], n: int, item: BatchTask) -> Item:
    tl = service(ctx)
    try:
        return CreateTaskRequest(
            vendor=item.vendor,
            title=item.title,
            description=item.description,
            due=tl.parse_due(item.due, field=f"items[{n}].due"),
            assignees=_assignees(item.assignees) or [],
            priority=item.priority,
            status=item.status,
            intake_id=item.intake_id,
            vendor_fields=item.vendor_fields or {},
        )
    except TaskLinkError as exc:
        return Unreadable(item.vendor, item.title, str(exc))


@boundary
async def create_tasks(
    ctx: Context[Any, Any],
    items: Annotated[list[BatchTask], Field(min_length=1, max_length=MAX_ITEMS, description="create_task items.")],
    batch_key: Annotated[
        str | None, Field(max_length=100, description="Idempotency for the whole batch: retry with the same key.")
    ] = None,
    partial: Annotated[bool, Field(description="Create the valid items even if some are invalid.")] = False,
    continuation: Annotated[
        str | None, Field(max_length=1000, description="From a batch that ran out of time: finish it.")
    ] = None,
    dry_run: DryRunArg = False,
    allow_duplicate: AllowDuplicateArg = False,
) -> BatchResult:
    """Create up to 50 tasks, each with its own vendor; every item is checked before anything is sent, and
    reported on its own (created, replayed, duplicate, refused, failed, unknown, not_started)."""
    tl = service(ctx)
    requests = [_request(ctx, n, item) for n, item in enumerate(items)]
    key = tl.batches.resume(continuation, requests) if continuation else batch_key
    if continuation and batch_key and batch_key != key:
        raise InvalidInput(
            "batch_key differs from the batch the continuation resumes",
            field="batch_key",
            hint="pass only the continuation (it carries the batch key), or the same batch_key",
        )

    async def progress(done: int, total: int, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return await tl.batches.create(
        requests, batch_key=key, partial=partial, dry_run=dry_run, allow_duplicate=allow_duplicate, progress=progress
    )


@boundary
async def my_work(
    ctx: Context[Any, Any],
    status: Annotated[
        str, Field(max_length=100, description="open (default: not done or cancelled), any, or a status.")
    ] = "open",
    assignee: Annotated[str | None, Field(max_length=200, description="me (default), a name, email or id.")] = "me",
    due_after: Due = None,
    due_before: Due = None,
    vendors: Annotated[list[str] | None, Field(max_length=20, description="Only these vendors.")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Tasks per page.")] = 25,
    cursor: Annotated[str | None, Field(max_length=4000, description="next_cursor of the previous page.")] = None,
) -> WorkPage:
    """A person's tasks across every vendor that can list them, merged by due date; one cursor pages them all."""
    tl = service(ctx)
    return await tl.work.page(
        status=status,
        assignee=assignee,
        due_after=tl.parse_due(due_after, field="due_after"),
        due_before=tl.parse_due(due_before, field="due_before"),
        vendors=vendors,
        limit=limit,
        cursor=cursor,
    )


TOOLS = [
    ToolSpec(create_tasks, "Create tasks (batch)", "write", operations=("create_task",)),
    ToolSpec(my_work, "My work across vendors", "read", operations=("list_tasks",)),
]
