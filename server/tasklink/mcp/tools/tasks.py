"""Task tools, one set for every vendor; the manifest decides what each vendor supports."""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Elicit, Resolve
from pydantic import Field

from ...models import (
    NORMALIZED_STATUSES,
    AssigneeRef,
    CreateTaskRequest,
    DeleteResult,
    ListTasksRequest,
    Task,
    TaskPage,
    UpdateTaskRequest,
)
from .. import previews
from ._common import (
    AllowDuplicateArg,
    Approval,
    DryRunArg,
    Due,
    Gate,
    IdempotencyKeyArg,
    NoElicitation,
    Text,
    ToolSpec,
    VendorArg,
    ask_or_fallback,
    boundary,
    confirmed_delete,
    options,
    page_reporter,
    quoted,
    service,
)

TaskId = Annotated[str, Field(min_length=1, max_length=200, description="The vendor's task id.")]
Status = Annotated[
    str | None,
    Field(max_length=100, description=f"{'|'.join(NORMALIZED_STATUSES)}, or the vendor's own value."),
]
Assignees = Annotated[
    list[str | AssigneeRef] | None,
    Field(
        max_length=25,
        description="Person ids or names/emails (see find_people); SpotDraft also takes {role_id}.",
    ),
]
VendorFields = Annotated[
    dict[str, Any] | None,
    Field(description="Vendor-only fields (see list_vendors)."),
]


Title = Annotated[str, Field(min_length=1, max_length=500, description="Task title.")]


def _assignees(values: list[str | AssigneeRef] | None) -> list[AssigneeRef] | None:
    if values is None:
        return None
    return [AssigneeRef(user_id=v) if isinstance(v, str) else v for v in values]


@boundary
async def create_task(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    title: Title,
    description: Text = None,
    due: Due = None,
    assignees: Assignees = None,
    priority: Annotated[
        str | None, Field(max_length=50, description="SpotDraft intake tasks: LOW|MEDIUM|HIGH.")
    ] = None,
    status: Status = None,
    intake_id: Annotated[int | None, Field(ge=1, description="SpotDraft: make this a task on that intake.")] = None,
    vendor_fields: VendorFields = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
    allow_duplicate: AllowDuplicateArg = False,
) -> Task:
    """Create a task in a vendor system."""
    tl = service(ctx)
    req = CreateTaskRequest(
        vendor=vendor,
        title=title,
        description=description,
        due=tl.parse_due(due),
        assignees=_assignees(assignees) or [],
        priority=priority,
        status=status,
        intake_id=intake_id,
        vendor_fields=vendor_fields or {},
    )
    opts = options(idempotency_key, allow_duplicate)
    if dry_run:
        return previews.created_task(req, await tl.tasks.dry_run_create(req, opts))
    return await tl.create_task(req, opts)


@boundary
async def get_task(ctx: Context[Any, Any], vendor: VendorArg, task_id: TaskId) -> Task:
    """Read one task in full."""
    return await service(ctx).get_task(vendor, task_id)


@boundary
async def list_tasks(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    status: Status = None,
    assignee: Annotated[str | None, Field(max_length=200, description="Person id.")] = None,
    due_after: Due = None,
    due_before: Due = None,
    text: Annotated[str | None, Field(max_length=500, description="Words in the title.")] = None,
    vendor_filters: Annotated[dict[str, Any] | None, Field(description="Vendor-only filters.")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Tasks per page.")] = 25,
    cursor: Annotated[str | None, Field(max_length=2000, description="next_cursor of the previous page.")] = None,
) -> TaskPage:
    """Find tasks; page with the returned next_cursor."""
    tl = service(ctx)
    req = ListTasksRequest(
        vendor=vendor,
        status=status,
        assignee=assignee,
        due_after=tl.parse_due(due_after, "due_after"),
        due_before=tl.parse_due(due_before, "due_before"),
        text=text,
        vendor_filters=vendor_filters or {},
        limit=limit,
        cursor=cursor,
    )
    return await tl.list_tasks(req, on_page=page_reporter(ctx, "list_tasks", vendor))


@boundary
async def update_task(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    task_id: TaskId,
    title: Annotated[str | None, Field(min_length=1, max_length=500, description="New title.")] = None,
    description: Text = None,
    due: Due = None,
    status: Status = None,
    assignees: Annotated[
        list[str | AssigneeRef] | None,
        Field(max_length=25, description="The full new list of assignees."),
    ] = None,
    vendor_fields: VendorFields = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
) -> Task:
    """Change a task; only the fields given change."""
    tl = service(ctx)
    req = UpdateTaskRequest(
        vendor=vendor,
        task_id=task_id,
        title=title,
        description=description,
        due=tl.parse_due(due),
        status=status,
        assignees=_assignees(assignees),
        vendor_fields=vendor_fields or {},
    )
    if dry_run:
        return previews.updated_task(req, await tl.tasks.dry_run_update(req, options(idempotency_key)))
    return await tl.update_task(req, options(idempotency_key))


@boundary
async def _ask_delete_task(
    ctx: Context[Any, Any], vendor: str, task_id: str, confirm: bool, confirm_token: str | None, dry_run: bool
) -> Approval | NoElicitation | Elicit[Approval]:
    async def describe() -> str | None:
        tl = service(ctx)
        preview = await tl.preview_delete_task(vendor, task_id)
        if preview.preview is None:
            return None
        title = tl.vendors.runtime(vendor).manifest.title
        return f"Delete {title} task {task_id}, titled {quoted(preview.preview.get('title'))}?"

    return await ask_or_fallback(ctx, confirm, confirm_token, dry_run, describe)


@boundary
async def delete_task(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    task_id: TaskId,
    approval: Annotated[ElicitationResult[Gate], Resolve(_ask_delete_task)],
    confirm: Annotated[bool, Field(description="True only after the user agreed to the preview.")] = False,
    confirm_token: Annotated[str | None, Field(max_length=400, description="Token from the preview.")] = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
) -> DeleteResult:
    """Delete a task; asks the user first, or returns a preview and confirm_token."""
    tl = service(ctx)
    opts = options(idempotency_key)
    if dry_run:
        return previews.deleted(await tl.tasks.dry_run_delete(vendor, task_id, opts), f"task {task_id}")

    async def delete(elicited: bool, token: str | None) -> DeleteResult:
        return await tl.delete_task(vendor, task_id, confirm_token=token, elicited=elicited, opts=opts)

    return await confirmed_delete(
        approval,
        confirm=confirm,
        confirm_token=confirm_token,
        declined=lambda: DeleteResult(
            vendor=vendor, target=f"task {task_id}", deleted=False, message="The user declined; nothing was deleted."
        ),
        delete=delete,
        preview=lambda: tl.preview_delete_task(vendor, task_id),
    )


TOOLS = [
    ToolSpec(create_task, "Create task", "write", changes="intake", operations=("create_task",)),
    ToolSpec(get_task, "Get task", "read", operations=("get_task",)),
    ToolSpec(list_tasks, "List tasks", "read", operations=("list_tasks",)),
    ToolSpec(update_task, "Update task", "write", idempotent=True, changes="task", operations=("update_task",)),
    ToolSpec(delete_task, "Delete task", "destructive", idempotent=True, changes="task", operations=("delete_task",)),
]
