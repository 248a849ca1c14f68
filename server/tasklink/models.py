"""Normalized, vendor-neutral models: what tools accept and return.

Adapters translate these to one vendor's wire format and back; tools and the service never
see wire shapes.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .dates import WORDS_HELP, resolve_words, today_in_words
from .errors import ConfigurationError, InvalidInput

NormalizedStatus = Literal["todo", "in_progress", "blocked", "done", "cancelled"]
NORMALIZED_STATUSES: tuple[str, ...] = ("todo", "in_progress", "blocked", "done", "cancelled")

#: Date-only due dates mean the end of that working day in TASKLINK_TIMEZONE.
DATE_ONLY_DUE_TIME = time(17, 0)
#: due dates outside these days are refused, in every form
DUE_RANGE = (date(1900, 1, 1), date(2200, 1, 1))
#: the largest free-form object (vendor_fields, vendor_filters, metadata), as compact JSON
FREE_FORM_MAX_BYTES = 16 * 1024


def bounded(value: dict[str, Any]) -> dict[str, Any]:
    """A free-form object no larger than FREE_FORM_MAX_BYTES, so no argument can send megabytes to a vendor."""

    size = len(json.dumps(value, separators=(",", ":"), default=str).encode())
    if size > FREE_FORM_MAX_BYTES:
        raise ValueError(f"is {size:,} bytes as JSON; the most tasklink sends is {FREE_FORM_MAX_BYTES:,} bytes")
    return value


FreeForm = Annotated[dict[str, Any], AfterValidator(bounded)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# Due dates


class Due(BaseModel):
    """A due date as the caller gave it, resolved to an explicit instant."""

    instant: datetime
    date_only: bool
    #: the date words the caller used ("friday"), when the day was resolved from them
    words: str | None = None

    @property
    def local_date(self) -> date:
        return self.instant.date()

    def iso(self) -> str:
        return self.instant.isoformat()

    def reading(self) -> str | None:
        """How date words were read, for the result ("'friday' read as Friday 2026-12-04, 17:00 UTC")."""

        if self.words is None:
            return None
        day = self.local_date
        when = f"{day.strftime('%A')} {day.isoformat()}, {self.instant.strftime('%H:%M')} {self.instant.tzname()}"
        return f"Due '{self.words}' read as {when}."


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"TASKLINK_TIMEZONE={name!r} is not a known IANA time zone") from exc


def parse_due(value: str | None, *, tz: str, field: str = "due", today: date | None = None) -> Due | None:
    """`YYYY-MM-DD` (that day at 17:00 in `tz`), an ISO 8601 datetime with an offset, or a date word
    (today, tomorrow, a weekday, next week, in N days; see dates.py) resolved against `today` in `tz`."""

    if value is None or value == "":
        return None
    text = value.strip()
    today = today or datetime.now(zone(tz)).date()
    allowed = ["YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]+HH:MM", "YYYY-MM-DDTHH:MM[:SS]Z", WORDS_HELP]
    day = resolve_words(text, today)
    if day is not None:
        instant = datetime.combine(day, DATE_ONLY_DUE_TIME, tzinfo=zone(tz))
        return Due(instant=instant, date_only=True, words=text)
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _unreadable(value, today, tz, field, allowed) from None
        if not (DUE_RANGE[0] <= day <= DUE_RANGE[1]):
            raise InvalidInput(f"{value!r} is out of range", field=field, allowed=["years 1900-2200"])
        return Due(instant=datetime.combine(day, DATE_ONLY_DUE_TIME, tzinfo=zone(tz)), date_only=True)
    try:
        instant = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise _unreadable(value, today, tz, field, allowed) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInput(f"{value!r} has no UTC offset, so the instant is ambiguous", field=field, allowed=allowed)
    if not (DUE_RANGE[0] <= instant.date() <= DUE_RANGE[1]):
        raise InvalidInput(f"{value!r} is out of range", field=field, allowed=["years 1900-2200"])
    return Due(instant=instant, date_only=False)


def _unreadable(value: str, today: date, tz: str, field: str, allowed: list[str]) -> InvalidInput:
    return InvalidInput(
        f"{value!r} is not a date tasklink can read ({today_in_words(today, tz)})",
        field=field,
        allowed=allowed,
        hint=f"For example {(today + timedelta(days=3)).isoformat()}, or 'friday'",
    )


def utc_iso(instant: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form every vendor accepts."""

    return instant.astimezone(ZoneInfo("UTC")).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def is_past(instant: datetime, now: datetime) -> bool:
    return instant < now - timedelta(minutes=1)


# --------------------------------------------------------------------------------------------
# Inputs


class AssigneeRef(Model):
    """One assignee: a user id, or (SpotDraft only) a role id."""

    user_id: str | None = Field(None, description="Person id, or a name/email matching one active person.")
    role_id: str | None = Field(None, description="SpotDraft role id; assigns everyone in the role.")


class CreateTaskRequest(Model):
    vendor: str
    title: str
    description: str | None = None
    due: Due | None = None
    assignees: list[AssigneeRef] = Field(default_factory=list)
    priority: str | None = None
    status: str | None = None
    intake_id: int | None = None
    vendor_fields: FreeForm = Field(default_factory=dict)


class ListTasksRequest(Model):
    vendor: str
    status: str | None = None
    assignee: str | None = None
    due_after: Due | None = None
    due_before: Due | None = None
    text: str | None = None
    vendor_filters: FreeForm = Field(default_factory=dict)
    limit: int = 25
    cursor: str | None = None


class UpdateTaskRequest(Model):
    vendor: str
    task_id: str
    title: str | None = None
    description: str | None = None
    due: Due | None = None
    status: str | None = None
    assignees: list[AssigneeRef] | None = None
    vendor_fields: FreeForm = Field(default_factory=dict)


class IntakeAssigneeInput(Model):
    user_id: str = Field(min_length=1, description="SpotDraft user id, or a name/email matching one active user.")
    role: Literal["assigned_to", "collaborator"] = Field(
        "assigned_to", description="assigned_to works the intake; collaborator follows along."
    )


class CreateIntakeRequest(Model):
    title: str
    description: str | None = None
    priority: str | None = None
    due: Due | None = None
    workflow_id: int | None = None
    assignees: list[IntakeAssigneeInput] = Field(default_factory=list)
    metadata: FreeForm | None = None


class UpdateIntakeRequest(Model):
    intake_id: int
    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    due: Due | None = None
    clear_due: bool = False
    metadata: FreeForm | None = None


class ListIntakesRequest(Model):
    page: int = 1
    limit: int = 20
    query: str | None = None
    status: list[str] = Field(default_factory=list)
    priority: list[str] = Field(default_factory=list)
    sort: str | None = None


# --------------------------------------------------------------------------------------------
# Outputs


class DryRunReport(BaseModel):
    """The request a real call would send, and the guardrails' verdict."""

    method: str
    url: str = Field(description="Full URL with query string.")
    body: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="JSON (or form) body.")
    headers: dict[str, str] = Field(default_factory=dict, description="Credentials redacted.")
    verdict: str = Field("allowed", description="Guardrails' verdict; nothing was sent.")


REPLAYED = "True when this is the stored result of an earlier call with the same idempotency_key."
DRY_RUN = "Set on a dry run: the request a real call would send. Nothing was sent."


class Person(BaseModel):
    id: str = Field(description="The exact value to pass as an assignee.")
    name: str | None = None
    email: str | None = None
    title: str | None = Field(None, description="Role, designation or job title.")
    active: bool = True


class ResolvedPerson(BaseModel):
    """An assignee given by name or email, and the person it was resolved to."""

    given: str = Field(description="The name or email as the caller wrote it.")
    id: str = Field(description="The id that was sent.")
    name: str | None = None
    email: str | None = None


RESOLVED = "Assignees given by name or email, and the person each was resolved to (one active match)."


class IntakeParticipant(BaseModel):
    user_id: str = Field(description="Org user id.")
    role: Literal["assigned_to", "collaborator"]
    name: str | None = None
    email: str | None = None


class IntakeRoleParticipant(BaseModel):
    """A role (a team, not a person) among an intake's rows, as an assignee update must keep it."""

    role_id: str
    role: Literal["assigned_to", "collaborator"]


class NamedRef(BaseModel):
    id: str
    name: str | None = None


class IntakeTask(BaseModel):
    id: str
    title: str
    status: str | None = Field(None, description="Normalized intake task status.")
    vendor_status: str | None = Field(None, description="SpotDraft due-date status (UPCOMING, OVERDUE, ...).")
    priority: str | None = None
    due: str | None = None
    reference_id: str | None = None
    description: str | None = None


class Intake(BaseModel):
    vendor: Literal["spotdraft"] = "spotdraft"
    id: int
    title: str
    status: str
    priority: str
    description: str | None = None
    due_date: str | None = None
    reference_id: str | None = None
    public_id: str | None = None
    workflow_id: int | None = None
    metadata: dict[str, Any] | None = None
    assignees: list[IntakeParticipant] = Field(default_factory=list, description="ASSIGNED_TO rows.")
    collaborators: list[IntakeParticipant] = Field(default_factory=list, description="COLLABORATOR rows.")
    roles: dict[str, Literal["assigned_to", "collaborator"]] = Field(
        default_factory=dict, description="Teams, not people: role id -> assigned_to|collaborator."
    )
    tasks: list[IntakeTask] = Field(default_factory=list, description="The intake's tasks.")
    attachments: list[NamedRef] = Field(default_factory=list)
    created_by: NamedRef | None = None
    created_at: str | None = None
    modified_at: str | None = None
    warnings: list[str] = Field(default_factory=list)
    resolved: list[ResolvedPerson] = Field(default_factory=list, description=RESOLVED)
    replayed: bool = Field(False, description=REPLAYED)
    dry_run: DryRunReport | None = Field(None, description=DRY_RUN)


class IntakeSummary(BaseModel):
    id: int
    title: str
    status: str
    priority: str
    due_date: str | None = None
    reference_id: str | None = None
    created_at: str | None = None


class IntakePage(BaseModel):
    intakes: list[IntakeSummary]
    page: int
    total_count: int
    total_pages: int
    has_next: bool


class Task(BaseModel):
    vendor: str
    id: str
    title: str
    status: str | None = Field(None, description="Normalized status: " + "|".join(NORMALIZED_STATUSES) + ".")
    vendor_status: str | None = Field(None, description="The vendor's own status value.")
    priority: str | None = None
    due: str | None = Field(None, description="ISO 8601 due date or instant.")
    description: str | None = None
    assignees: list[str] = Field(default_factory=list, description="Assignee ids.")
    links: dict[str, str] = Field(default_factory=dict, description="Related ids (intake, case, account...).")
    url: str | None = None
    created_at: str | None = None
    vendor_fields: dict[str, Any] = Field(
        default_factory=dict, description="Vendor-only fields, in create_task's vendor_fields names (get_task only)."
    )
    warnings: list[str] = Field(default_factory=list)
    resolved: list[ResolvedPerson] = Field(default_factory=list, description=RESOLVED)
    replayed: bool = Field(False, description=REPLAYED)
    dry_run: DryRunReport | None = Field(None, description=DRY_RUN)


class TaskPage(BaseModel):
    vendor: str
    tasks: list[Task]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")
    warnings: list[str] = Field(default_factory=list)
    resolved: list[ResolvedPerson] = Field(default_factory=list, description="The assignee filter, if a name.")


class DeleteResult(BaseModel):
    vendor: str
    target: str = Field(description="What was (or would be) deleted.")
    deleted: bool = Field(description="True only if the vendor confirmed the deletion.")
    already_deleted: bool = Field(False, description="True when it was gone already: nothing left to do.")
    message: str
    confirm_token: str | None = Field(None, description="Pass back with confirm=true to delete.")
    preview: dict[str, Any] | None = Field(None, description="The record that would be deleted.")
    replayed: bool = Field(False, description=REPLAYED)
    dry_run: DryRunReport | None = Field(None, description=DRY_RUN)
    warnings: list[str] = Field(default_factory=list)
