"""Legal intake tools (SpotDraft)."""

from typing import Annotated, Any, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Elicit, Resolve
from pydantic import Field

from ...models import (
    CreateIntakeRequest,
    DeleteResult,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    ListIntakesRequest,
    UpdateIntakeRequest,
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
    ask_or_fallback,
    boundary,
    confirmed_delete,
    options,
    page_reporter,
    quoted,
    service,
)

Priority = Literal["LOW", "MEDIUM", "HIGH"]
IntakeStatus = Literal["DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED"]
PriorityArg = Annotated[Priority | None, Field(description="Default MEDIUM.")]
IntakeId = Annotated[int, Field(ge=1, description="SpotDraft intake id.")]
Participants = Annotated[
    list[IntakeAssigneeInput],
    Field(max_length=50, description="People on the intake, each assigned_to or collaborator."),
]


@boundary
async def create_intake(
    ctx: Context[Any, Any],
    title: Annotated[str, Field(min_length=1, max_length=255, description="Intake title.")],
    description: Text = None,
    priority: PriorityArg = None,
    due: Due = None,
    workflow_id: Annotated[int | None, Field(ge=1, description="INTAKE_WORKFLOW id; default from config.")] = None,
    assignees: Annotated[
        list[IntakeAssigneeInput] | None, Field(max_length=50, description="People to assign or add as collaborators.")
    ] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="Free key-value metadata.")] = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
    allow_duplicate: AllowDuplicateArg = False,
) -> Intake:
    """Open a SpotDraft legal intake (a request for legal work)."""
    tl = service(ctx)
    req = CreateIntakeRequest(
        title=title,
        description=description,
        priority=priority,
        due=tl.parse_due(due),
        workflow_id=workflow_id,
        assignees=assignees or [],
        metadata=metadata,
    )
    opts = options(idempotency_key, allow_duplicate)
    if dry_run:
        return previews.created_intake(req, await tl.intakes.dry_run_create(req, opts))
    return await tl.create_intake(req, opts)


@boundary
async def get_intake(ctx: Context[Any, Any], intake_id: IntakeId) -> Intake:
    """Read one SpotDraft intake with its assignees, collaborators and tasks."""
    return await service(ctx).get_intake(intake_id)


@boundary
async def list_intakes(
    ctx: Context[Any, Any],
    query: Annotated[str | None, Field(max_length=500, description="Search title, description, reference.")] = None,
    status: Annotated[list[IntakeStatus] | None, Field(description="Any of these statuses.")] = None,
    priority: Annotated[list[Priority] | None, Field(description="Any of these priorities.")] = None,
    sort: Annotated[
        Literal["created_at", "-created_at", "priority", "-priority", "status", "-status", "title", "-title"] | None,
        Field(description="Field to sort by; '-' = descending."),
    ] = None,
    page: Annotated[int, Field(ge=1, le=100000, description="1-based page.")] = 1,
    limit: Annotated[int, Field(ge=1, le=100, description="Intakes per page.")] = 20,
) -> IntakePage:
    """List SpotDraft intakes (newest first), filtered and paged."""
    req = ListIntakesRequest(
        page=page,
        limit=limit,
        query=query,
        status=list(status or []),
        priority=list(priority or []),
        sort=sort,
    )
    tl = service(ctx)
    return await tl.list_intakes(req, on_page=page_reporter(ctx, "list_intakes", tl.intake_vendor()))


@boundary
async def update_intake(
    ctx: Context[Any, Any],
    intake_id: IntakeId,
    title: Annotated[str | None, Field(min_length=1, max_length=255, description="New title.")] = None,
    description: Text = None,
    status: Annotated[IntakeStatus | None, Field(description="New status.")] = None,
    priority: Annotated[Priority | None, Field(description="New priority.")] = None,
    due: Due = None,
    clear_due: Annotated[bool, Field(description="Remove the due date.")] = False,
    metadata: Annotated[dict[str, Any] | None, Field(description="Replaces the metadata.")] = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
) -> Intake:
    """Change an intake's fields; only the fields given change."""
    tl = service(ctx)
    req = UpdateIntakeRequest(
        intake_id=intake_id,
        title=title,
        description=description,
        status=status,
        priority=priority,
        due=tl.parse_due(due),
        clear_due=clear_due,
        metadata=metadata,
    )
    if dry_run:
        return previews.updated_intake(intake_id, await tl.intakes.dry_run_update(req, options(idempotency_key)))
    return await tl.update_intake(req, options(idempotency_key))


@boundary
async def update_intake_assignees(
    ctx: Context[Any, Any],
    intake_id: IntakeId,
    assignees: Participants,
    mode: Annotated[
        Literal["replace", "add", "remove"],
        Field(description="replace: this is the full list; add/remove: change only these people."),
    ] = "replace",
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
) -> Intake:
    """Set who is assigned to and collaborating on an intake; the result splits the two."""
    tl = service(ctx)
    opts = options(idempotency_key)
    if dry_run:
        preview = await tl.intakes.dry_run_update_assignees(intake_id, assignees, mode, opts)
        return previews.updated_intake(intake_id, preview)
    return await tl.update_intake_assignees(intake_id, assignees, mode, opts)


@boundary
async def _ask_delete_intake(
    ctx: Context[Any, Any], intake_id: int, confirm: bool, confirm_token: str | None, dry_run: bool
) -> Approval | NoElicitation | Elicit[Approval]:
    async def describe() -> str | None:
        preview = await service(ctx).preview_delete_intake(intake_id)
        if preview.preview is None:
            return None
        return (
            f"Delete SpotDraft intake {intake_id}, titled {quoted(preview.preview['title'])} "
            f"({quoted(preview.preview.get('reference_id'))})? SpotDraft has no restore."
        )

    return await ask_or_fallback(ctx, confirm, confirm_token, dry_run, describe)


@boundary
async def delete_intake(
    ctx: Context[Any, Any],
    intake_id: IntakeId,
    approval: Annotated[ElicitationResult[Gate], Resolve(_ask_delete_intake)],
    confirm: Annotated[bool, Field(description="True only after the user agreed to the preview.")] = False,
    confirm_token: Annotated[str | None, Field(max_length=400, description="Token from the preview.")] = None,
    idempotency_key: IdempotencyKeyArg = None,
    dry_run: DryRunArg = False,
) -> DeleteResult:
    """Delete an intake; asks the user first, or returns a preview and confirm_token."""
    tl = service(ctx)
    opts = options(idempotency_key)
    if dry_run:
        return previews.deleted(await tl.intakes.dry_run_delete(intake_id, opts), f"intake {intake_id}")

    async def delete(elicited: bool, token: str | None) -> DeleteResult:
        return await tl.delete_intake(intake_id, confirm_token=token, elicited=elicited, opts=opts)

    return await confirmed_delete(
        approval,
        confirm=confirm,
        confirm_token=confirm_token,
        declined=lambda: DeleteResult(
            vendor=tl.intake_vendor(),
            target=f"intake {intake_id}",
            deleted=False,
            message="The user declined; nothing was deleted.",
        ),
        delete=delete,
        preview=lambda: tl.preview_delete_intake(intake_id),
    )


TOOLS = [
    ToolSpec(create_intake, "Create legal intake", "write", operations=("create_intake",)),
    ToolSpec(get_intake, "Get legal intake", "read", operations=("get_intake",)),
    ToolSpec(list_intakes, "List legal intakes", "read", operations=("list_intakes",)),
    ToolSpec(
        update_intake, "Update legal intake", "write", idempotent=True, changes="intake", operations=("update_intake",)
    ),
    ToolSpec(
        update_intake_assignees,
        "Update intake assignees",
        "write",
        idempotent=True,
        changes="intake",
        operations=("update_intake_assignees",),
    ),
    ToolSpec(
        delete_intake,
        "Delete legal intake",
        "destructive",
        idempotent=True,
        changes="intake",
        operations=("delete_intake",),
    ),
]
