"""A dry run as each write tool answers it.

The service returns a `WritePreview` (the exact request and the verdict). An MCP tool has one
output schema, so a tool's dry run answers in that tool's result type: the request's own fields
echoed, `dry_run` set to the request, and a note that nothing was sent. Fields the request does
not change read "(unchanged)" — a dry run does not read them.
"""

from __future__ import annotations

from ..models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    DeleteResult,
    Intake,
    IntakeAssigneeInput,
    IntakeParticipant,
    Task,
    UpdateTaskRequest,
)
from ..policy.gate import WritePreview

UNCHANGED = "(unchanged)"
DRY_RUN_NOTE = "Dry run: nothing was sent; `dry_run` shows the exact request a real call sends."
UNREAD_FIELDS = "Fields not in the request body stay as they are; a dry run does not read them."


def created_task(req: CreateTaskRequest, preview: WritePreview) -> Task:
    return Task(
        vendor=req.vendor,
        id="",
        title=req.title,
        status=req.status,
        priority=req.priority,
        due=req.due.iso() if req.due else None,
        description=req.description,
        assignees=[_sent(a.user_id, preview) or f"role:{a.role_id}" for a in req.assignees],
        links={"intake_id": str(req.intake_id)} if req.intake_id else {},
        warnings=[*preview.warnings, DRY_RUN_NOTE],
        resolved=preview.resolved,
        dry_run=preview.request,
    )


def updated_task(req: UpdateTaskRequest, preview: WritePreview) -> Task:
    return Task(
        vendor=req.vendor,
        id=req.task_id,
        title=req.title or UNCHANGED,
        status=req.status,
        due=req.due.iso() if req.due else None,
        description=req.description,
        assignees=[_sent(a.user_id, preview) or f"role:{a.role_id}" for a in req.assignees or []],
        warnings=[*preview.warnings, DRY_RUN_NOTE],
        resolved=preview.resolved,
        dry_run=preview.request,
    )


def created_intake(req: CreateIntakeRequest, preview: WritePreview) -> Intake:
    return Intake(
        id=0,
        title=req.title,
        status="PENDING",
        priority=req.priority or "MEDIUM",
        description=req.description,
        due_date=req.due.iso() if req.due else None,
        metadata=req.metadata,
        assignees=[_participant(a, preview) for a in req.assignees if a.role == "assigned_to"],
        collaborators=[_participant(a, preview) for a in req.assignees if a.role == "collaborator"],
        warnings=[*preview.warnings, DRY_RUN_NOTE],
        resolved=preview.resolved,
        dry_run=preview.request,
    )


def updated_intake(intake_id: int, preview: WritePreview) -> Intake:
    """An intake update or assignee change; the participants are read from the request body."""

    intake = Intake(
        id=intake_id,
        title=UNCHANGED,
        status=UNCHANGED,
        priority=UNCHANGED,
        warnings=[DRY_RUN_NOTE, UNREAD_FIELDS, *preview.warnings],
        resolved=preview.resolved,
        dry_run=preview.request,
    )
    body = preview.request.body
    for row in body.get("assignees", []) if isinstance(body, dict) else []:
        person = IntakeParticipant(
            user_id=str(row.get("entity_id")),
            role="collaborator" if row.get("assignee_type") == "COLLABORATOR" else "assigned_to",
        )
        (intake.collaborators if person.role == "collaborator" else intake.assignees).append(person)
    return intake


def _sent(given: str | None, preview: WritePreview) -> str | None:
    """The id a name or email was resolved to (what the request carries), else the value as given."""

    return next((p.id for p in preview.resolved if p.given == given), given)


def _participant(a: IntakeAssigneeInput, preview: WritePreview) -> IntakeParticipant:
    return IntakeParticipant(user_id=_sent(a.user_id, preview) or a.user_id, role=a.role)


def deleted(preview: WritePreview, target: str) -> DeleteResult:
    return DeleteResult(
        vendor=preview.vendor,
        target=target,
        deleted=False,
        message=f"Dry run: nothing was deleted. A real call sends the request in `dry_run` after the user confirms "
        f"and after re-reading {target}.",
        dry_run=preview.request,
    )
