"""The service: the single checkpoint every operation passes, and tasklink's Python API.

    async with TaskLink.from_env() as tl:
        intake = await tl.create_intake(CreateIntakeRequest(title="Vendor review"))

The MCP tools and the CLI are front ends of this class. Every method runs the guardrails
(capability, confirmation) before any vendor I/O, then hands a normalized request to the
vendor's adapter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self, cast

from pydantic import BaseModel, Field

from .errors import InvalidInput
from .guardrails import ConfirmTokens, deprecation_notices, deprecation_warnings, require_supported
from .models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    DeleteResult,
    Due,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    ListIntakesRequest,
    ListTasksRequest,
    Person,
    Task,
    TaskPage,
    UpdateIntakeRequest,
    UpdateTaskRequest,
    is_past,
    parse_due,
)
from .settings import TaskLinkSettings
from .vendors.registry import Vendors


class IntakeAdapter(Protocol):
    async def create_intake(self, req: CreateIntakeRequest) -> Intake: ...
    async def get_intake(self, intake_id: int) -> Intake: ...
    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage: ...
    async def update_intake(self, req: UpdateIntakeRequest) -> Intake: ...
    async def set_intake_participants(self, intake_id: int, participants: list[IntakeAssigneeInput]) -> Intake: ...
    async def delete_intake(self, intake_id: int) -> None: ...


class OperationInfo(BaseModel):
    name: str
    supported: bool
    reason: str | None = None
    alternative: str | None = None


class VendorInfo(BaseModel):
    name: str
    title: str
    mode: Literal["live", "sandbox"] = Field(description="live = real API; sandbox = embedded simulator.")
    summary: str
    operations: list[OperationInfo]
    notices: list[str] = Field(
        default_factory=list, description="Deprecations in effect for this configuration: dates and how to migrate."
    )


class VendorsReport(BaseModel):
    vendors: list[VendorInfo]


class FoundPeople(BaseModel):
    vendor: str
    query: str
    people: list[Person]
    warnings: list[str] = Field(default_factory=list)


class TaskLink:
    def __init__(
        self,
        settings: TaskLinkSettings,
        vendors: Vendors | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.vendors = vendors or Vendors.configure(settings)
        self.clock = clock
        secret = settings.confirm_secret.get_secret_value() if settings.confirm_secret else None
        self.tokens = ConfirmTokens.from_secret_or_file(secret, settings.state_path("confirm.key"), clock=clock)

    @classmethod
    def from_env(cls) -> TaskLink:
        return cls(TaskLinkSettings())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.vendors.aclose()

    # -- shared helpers ------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def parse_due(self, value: str | None, field: str = "due") -> Due | None:
        return parse_due(value, tz=self.settings.timezone, field=field)

    def due_warnings(self, due: Due | None) -> list[str]:
        if due is not None and is_past(due.instant, self.now()):
            return [f"The due date {due.iso()} is in the past."]
        return []

    async def _checked(self, vendor: str, operation: str) -> Any:
        require_supported(self.vendors.runtime(vendor).manifest, operation)
        self.deprecation_warnings(vendor)
        return await self.vendors.adapter(vendor)

    def deprecation_warnings(self, vendor: str) -> list[str]:
        """Warnings while a deprecated setting is in use; raises (nothing sent) once it is sunset."""

        rt = self.vendors.runtime(vendor)
        return deprecation_warnings(rt.manifest, rt.settings, self.now().date())

    def intake_vendor(self) -> str:
        for name, rt in self.vendors.runtimes.items():
            if rt.manifest.operation("create_intake").supported:
                return name
        raise InvalidInput("no enabled vendor supports legal intakes", hint="enable spotdraft in TASKLINK_VENDORS")

    async def _intakes(self, operation: str) -> IntakeAdapter:
        return cast(IntakeAdapter, await self._checked(self.intake_vendor(), operation))

    # -- vendors -------------------------------------------------------------------------

    def list_vendors(self) -> VendorsReport:
        return VendorsReport(
            vendors=[
                VendorInfo(
                    name=rt.name,
                    title=rt.manifest.title,
                    mode=rt.mode,
                    summary=rt.manifest.summary,
                    operations=[
                        OperationInfo(
                            name=op.name,
                            supported=op.supported,
                            reason=op.reason or None,
                            alternative=op.alternative or None,
                        )
                        for op in rt.manifest.operations.values()
                    ],
                    notices=deprecation_notices(rt.manifest, rt.settings, self.now().date()),
                )
                for rt in self.vendors.runtimes.values()
            ]
        )

    async def find_people(self, vendor: str, query: str, limit: int = 10) -> FoundPeople:
        adapter = await self._checked(vendor, "find_people")
        people: list[Person] = await adapter.find_people(query, limit)
        return FoundPeople(vendor=vendor, query=query, people=people, warnings=self.deprecation_warnings(vendor))

    # -- intakes -------------------------------------------------------------------------

    async def create_intake(self, req: CreateIntakeRequest) -> Intake:
        _reject_duplicate_participants(req.assignees)
        intake = await (await self._intakes("create_intake")).create_intake(req)
        intake.warnings.extend(self.due_warnings(req.due))
        return intake

    async def get_intake(self, intake_id: int) -> Intake:
        return await (await self._intakes("get_intake")).get_intake(intake_id)

    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage:
        return await (await self._intakes("list_intakes")).list_intakes(req)

    async def update_intake(self, req: UpdateIntakeRequest) -> Intake:
        intake = await (await self._intakes("update_intake")).update_intake(req)
        intake.warnings.extend(self.due_warnings(req.due))
        return intake

    async def update_intake_assignees(
        self,
        intake_id: int,
        assignees: list[IntakeAssigneeInput],
        mode: Literal["replace", "add", "remove"] = "replace",
    ) -> Intake:
        """Set, add to, or remove from an intake's assignees and collaborators.

        SpotDraft's PATCH replaces the whole participant set, so `add` and `remove` read the
        current set first and send the merged list — nobody is dropped by accident.
        """

        _reject_duplicate_participants(assignees)
        adapter = await self._intakes("update_intake_assignees")
        warnings: list[str] = []
        if mode == "replace":
            desired = list(assignees)
        else:
            current = await adapter.get_intake(intake_id)
            rows = [IntakeAssigneeInput(user_id=p.user_id, role=p.role) for p in current.assignees]
            rows += [IntakeAssigneeInput(user_id=p.user_id, role=p.role) for p in current.collaborators]
            given = {a.user_id: a for a in assignees}
            if mode == "add":
                desired = [given.pop(r.user_id, r) for r in rows] + list(given.values())
            else:
                on_intake = {r.user_id for r in rows}
                missing = sorted(set(given) - on_intake)
                if missing:
                    warnings.append(f"Not on the intake, nothing to remove: {', '.join(missing)}.")
                desired = [r for r in rows if r.user_id not in given]
        intake = await adapter.set_intake_participants(intake_id, desired)
        intake.warnings.extend(warnings)
        return intake

    async def preview_delete_intake(self, intake_id: int) -> DeleteResult:
        vendor = self.intake_vendor()
        intake = await (await self._intakes("delete_intake")).get_intake(intake_id)
        token = self.tokens.issue("delete_intake", vendor, str(intake_id))
        return DeleteResult(
            vendor=vendor,
            target=f"intake {intake_id}",
            deleted=False,
            message=(
                f"Nothing was deleted. This would delete SpotDraft intake {intake_id} "
                f"'{intake.title}' ({intake.reference_id}, {len(intake.tasks)} task(s)); SpotDraft has no restore. "
                "Ask the user; if they agree, call delete_intake again with confirm=true and this confirm_token."
            ),
            confirm_token=token,
            preview=intake.model_dump(include={"id", "title", "status", "priority", "reference_id", "due_date"}),
        )

    async def delete_intake(self, intake_id: int, *, confirm_token: str | None, elicited: bool = False) -> DeleteResult:
        """Delete after confirmation: a valid token from a preview, or an accepted elicitation."""

        vendor = self.intake_vendor()
        adapter = await self._intakes("delete_intake")
        if not elicited:
            if not confirm_token:
                raise InvalidInput(
                    "deleting needs the confirm_token from a preview",
                    field="confirm_token",
                    hint="call delete_intake without confirm to get a preview and a token",
                )
            self.tokens.verify(confirm_token, "delete_intake", vendor, str(intake_id))
        intake = await adapter.get_intake(intake_id)  # re-check the target just before deleting
        await adapter.delete_intake(intake_id)
        return DeleteResult(
            vendor=vendor,
            target=f"intake {intake_id}",
            deleted=True,
            message=f"Deleted SpotDraft intake {intake_id} '{intake.title}' (soft delete; no public restore).",
        )

    # -- tasks ---------------------------------------------------------------------------

    async def create_task(self, req: CreateTaskRequest) -> Task:
        adapter = await self._checked(req.vendor, "create_task")
        task: Task = await adapter.create_task(req)
        task.warnings.extend(self.due_warnings(req.due))
        task.warnings.extend(self.deprecation_warnings(req.vendor))
        return task

    async def get_task(self, vendor: str, task_id: str) -> Task:
        adapter = await self._checked(vendor, "get_task")
        task: Task = await adapter.get_task(task_id)
        task.warnings.extend(self.deprecation_warnings(vendor))
        return task

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        adapter = await self._checked(req.vendor, "list_tasks")
        page: TaskPage = await adapter.list_tasks(req)
        page.warnings.extend(self.deprecation_warnings(req.vendor))
        return page

    async def update_task(self, req: UpdateTaskRequest) -> Task:
        manifest = self.vendors.runtime(req.vendor).manifest
        require_supported(manifest, "update_task")
        if req.assignees is not None:
            require_supported(manifest, "reassign_task")
        sunset_warnings = self.deprecation_warnings(req.vendor)
        adapter = await self.vendors.adapter(req.vendor)
        task: Task = await adapter.update_task(req)
        task.warnings.extend(self.due_warnings(req.due))
        task.warnings.extend(sunset_warnings)
        return task

    async def preview_delete_task(self, vendor: str, task_id: str) -> DeleteResult:
        adapter = await self._checked(vendor, "delete_task")
        task: Task = await adapter.get_task(task_id)
        title = self.vendors.runtime(vendor).manifest.title
        return DeleteResult(
            vendor=vendor,
            target=f"task {task_id}",
            deleted=False,
            message=(
                f"Nothing was deleted. This would delete {title} task {task_id} '{task.title}'. "
                "Ask the user; if they agree, call delete_task again with confirm=true and this confirm_token."
            ),
            confirm_token=self.tokens.issue("delete_task", vendor, task_id),
            preview=task.model_dump(include={"id", "title", "status", "due", "assignees"}),
            warnings=self.deprecation_warnings(vendor),
        )

    async def delete_task(
        self, vendor: str, task_id: str, *, confirm_token: str | None, elicited: bool = False
    ) -> DeleteResult:
        adapter = await self._checked(vendor, "delete_task")
        if not elicited:
            if not confirm_token:
                raise InvalidInput(
                    "deleting needs the confirm_token from a preview",
                    field="confirm_token",
                    hint="call delete_task without confirm to get a preview and a token",
                )
            self.tokens.verify(confirm_token, "delete_task", vendor, task_id)
        task: Task = await adapter.get_task(task_id)
        await adapter.delete_task(task_id)
        title = self.vendors.runtime(vendor).manifest.title
        return DeleteResult(
            vendor=vendor,
            target=f"task {task_id}",
            deleted=True,
            message=f"Deleted {title} task {task_id} '{task.title}'.",
            warnings=self.deprecation_warnings(vendor),
        )


def _reject_duplicate_participants(assignees: list[IntakeAssigneeInput]) -> None:
    seen: set[str] = set()
    for n, a in enumerate(assignees):
        if a.user_id in seen:
            raise InvalidInput(
                f"user {a.user_id} appears twice; each person is either assigned_to or collaborator",
                field=f"assignees[{n}].user_id",
            )
        seen.add(a.user_id)
