"""The service: the single checkpoint every operation passes, and tasklink's Python API.

    async with TaskLink.from_env() as tl:
        intake = await tl.create_intake(CreateIntakeRequest(title="Vendor review"))

The MCP tools and the CLI are front ends of this class. Every method runs the guardrails
(capability, confirmation) before any vendor I/O, then hands a normalized request to the
vendor's adapter.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar, cast

from pydantic import BaseModel, Field

from .capabilities import VendorInfo, VendorsReport, vendor_info
from .dryrun import DryRunReport, DryRunStop, dry_run
from .errors import InvalidInput, PossibleDuplicate, TaskLinkError
from .guardrails import ConfirmTokens, deprecation_warnings, require_supported
from .ledger import AuditLog, IdempotencyLedger, StateDB
from .models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    DeleteResult,
    Due,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    IntakeParticipant,
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
from .people import LOOKUP_LIMIT, PeopleResolver
from .settings import TaskLinkSettings
from .vendors.registry import Vendors
from .writes import WriteCall, WriteGate, WriteOptions


class IntakeAdapter(Protocol):
    async def create_intake(self, req: CreateIntakeRequest) -> Intake: ...
    async def get_intake(self, intake_id: int) -> Intake: ...
    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage: ...
    async def update_intake(self, req: UpdateIntakeRequest) -> Intake: ...
    async def set_intake_participants(self, intake_id: int, participants: list[IntakeAssigneeInput]) -> Intake: ...
    async def delete_intake(self, intake_id: int) -> None: ...


HOW_TO_ASSIGN = (
    "Pass a person's `id` as the assignee: create_task/update_task assignees=[id]; create_intake/"
    'update_intake_assignees assignees=[{"user_id": id}]. A name or email works too when it matches exactly one '
    "active person; inactive people cannot be assigned."
)


class FoundPeople(BaseModel):
    vendor: str
    query: str
    people: list[Person] = Field(description="Candidates: id (the value to assign), name, email, title, active.")
    how_to_assign: str = Field(HOW_TO_ASSIGN, description="Where each person's id goes in the write tools.")
    warnings: list[str] = Field(default_factory=list)


OPEN_INTAKE_STATUSES = ("DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED")
UNCHANGED = "(unchanged)"
DRY_RUN_NOTE = "Dry run: nothing was sent; `dry_run` shows the exact request a real call sends."
NO_OPTIONS = WriteOptions()
T = TypeVar("T")


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
        state = StateDB(settings.state_path("state.sqlite3"))
        self.ledger = IdempotencyLedger(
            state,
            ttl_seconds=settings.idempotency_ttl_hours * 3600,
            stale_after=settings.call_deadline + 30,
            clock=clock,
        )
        self.audit = AuditLog(state, clock=clock, full=settings.audit_full)
        self.gate = WriteGate(self.ledger, self.audit, wait_timeout=settings.call_deadline)
        #: how this process is reached, for the audit log ("stdio" or "http" when serving)
        self.transport = "in-process"

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
        return VendorsReport(vendors=[self.vendor_info(name) for name in self.vendors.runtimes])

    def vendor_info(self, vendor: str) -> VendorInfo:
        """One vendor's capabilities: what `list_vendors` lists and `capabilities://{vendor}` serves."""

        rt = self.vendors.runtime(vendor)
        return vendor_info(rt.manifest, mode=rt.mode, settings=rt.settings, today=self.now().date())

    async def find_people(self, vendor: str, query: str, limit: int = 10) -> FoundPeople:
        adapter = await self._checked(vendor, "find_people")
        people: list[Person] = await adapter.find_people(query, limit)
        return FoundPeople(vendor=vendor, query=query, people=people, warnings=self.deprecation_warnings(vendor))

    def people(self, vendor: str, *, active_only: bool = True) -> PeopleResolver:
        """Turns the assignees of one write given by name or email into ids (see people.py)."""

        async def lookup(query: str) -> list[Person]:
            return (await self.find_people(vendor, query, LOOKUP_LIMIT)).people

        return PeopleResolver(self.vendors.runtime(vendor).manifest, lookup, active_only=active_only)

    # -- intakes -------------------------------------------------------------------------

    def _write(self, operation: str, vendor: str, arguments: BaseModel | dict[str, Any], target: str | None,
               opts: WriteOptions) -> WriteCall:  # fmt: skip
        args = (
            arguments.model_dump(mode="json", exclude={"idempotency_key"}, exclude_defaults=True)
            if isinstance(arguments, BaseModel)
            else arguments
        )
        return WriteCall(
            operation=operation,
            vendor=vendor,
            arguments=args,
            target=target,
            idempotency_key=opts.idempotency_key,
            dry_run=opts.dry_run,
            vendor_dedupes=self.vendors.runtime(vendor).manifest.idempotency_keys,
        )

    async def create_intake(self, req: CreateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        vendor = self.intake_vendor()
        people = self.people(vendor)

        async def execute() -> Intake:
            nonlocal req
            adapter = await self._intakes("create_intake")
            req = req.model_copy(update={"assignees": await people.participants(req.assignees)})
            _reject_duplicate_participants(req.assignees)
            warnings = []
            if not opts.allow_duplicate and not opts.dry_run:
                await _validate_without_sending(lambda: adapter.create_intake(req))
                warnings = await self._refuse_duplicate_intake(adapter, req)
            intake = await adapter.create_intake(req)
            intake.warnings.extend(self.due_warnings(req.due) + warnings)
            intake.resolved = people.resolved
            return intake

        async def preview(report: DryRunReport) -> Intake:
            report.verdict = _verdict(people, "the duplicate check needs a vendor read and is skipped in a dry run")
            return Intake(
                id=0,
                title=req.title,
                status="PENDING",
                priority=req.priority or "MEDIUM",
                description=req.description,
                due_date=req.due.iso() if req.due else None,
                metadata=req.metadata,
                assignees=[_participant(a) for a in req.assignees if a.role == "assigned_to"],
                collaborators=[_participant(a) for a in req.assignees if a.role == "collaborator"],
                warnings=[*self.due_warnings(req.due), DRY_RUN_NOTE],
                resolved=people.resolved,
                dry_run=report,
            )

        call = self._write("create_intake", vendor, req, None, opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=Intake)

    async def get_intake(self, intake_id: int) -> Intake:
        return await (await self._intakes("get_intake")).get_intake(intake_id)

    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage:
        return await (await self._intakes("list_intakes")).list_intakes(req)

    async def update_intake(self, req: UpdateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        async def execute() -> Intake:
            intake = await (await self._intakes("update_intake")).update_intake(req)
            intake.warnings.extend(self.due_warnings(req.due))
            return intake

        async def preview(report: DryRunReport) -> Intake:
            return _unchanged_intake(req.intake_id, report)

        call = self._write("update_intake", self.intake_vendor(), req, str(req.intake_id), opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=Intake)

    async def update_intake_assignees(
        self,
        intake_id: int,
        assignees: list[IntakeAssigneeInput],
        mode: Literal["replace", "add", "remove"] = "replace",
        opts: WriteOptions = NO_OPTIONS,
    ) -> Intake:
        """Set, add to, or remove from an intake's assignees and collaborators.

        SpotDraft's PATCH replaces the whole participant set, so `add` and `remove` read the
        current set first and send the merged list — nobody is dropped by accident. (That read
        also happens in a dry run: the exact body depends on it.)
        """

        # removing someone who has since been deactivated is allowed
        people = self.people(self.intake_vendor(), active_only=mode != "remove")

        async def execute() -> Intake:
            nonlocal assignees
            adapter = await self._intakes("update_intake_assignees")
            assignees = await people.participants(assignees)
            _reject_duplicate_participants(assignees)
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
            intake.resolved = people.resolved
            return intake

        async def preview(report: DryRunReport) -> Intake:
            intake = _unchanged_intake(intake_id, report)
            intake.resolved = people.resolved
            if people.resolved:
                report.verdict = _verdict(people)
            rows = report.body.get("assignees", []) if isinstance(report.body, dict) else []
            for row in rows:
                person = IntakeParticipant(
                    user_id=str(row.get("entity_id")),
                    role="collaborator" if row.get("assignee_type") == "COLLABORATOR" else "assigned_to",
                )
                (intake.collaborators if person.role == "collaborator" else intake.assignees).append(person)
            return intake

        arguments = {"intake_id": intake_id, "mode": mode, "assignees": [a.model_dump() for a in assignees]}
        call = self._write("update_intake_assignees", self.intake_vendor(), arguments, str(intake_id), opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=Intake)

    async def _refusing(self, call: WriteCall, step: Awaitable[T]) -> T:
        """Run a step of a write that happens outside the gate (a preview), auditing a refusal."""

        try:
            return await step
        except TaskLinkError as exc:
            self.gate.refuse(call, exc)
            raise

    async def preview_delete_intake(self, intake_id: int) -> DeleteResult:
        vendor = self.intake_vendor()
        call = self._write("delete_intake", vendor, {"intake_id": intake_id}, str(intake_id), NO_OPTIONS)
        adapter = await self._refusing(call, self._intakes("delete_intake"))
        intake = await adapter.get_intake(intake_id)
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

    async def delete_intake(
        self, intake_id: int, *, confirm_token: str | None, elicited: bool = False, opts: WriteOptions = NO_OPTIONS
    ) -> DeleteResult:
        """Delete after confirmation: a valid token from a preview, or an accepted elicitation."""

        vendor = self.intake_vendor()

        async def execute() -> DeleteResult:
            adapter = await self._intakes("delete_intake")
            if opts.dry_run:
                await adapter.delete_intake(intake_id)  # captured by the dry run; nothing is sent
            self._verify_confirmation("delete_intake", vendor, str(intake_id), confirm_token, elicited)
            intake = await adapter.get_intake(intake_id)  # re-check the target just before deleting
            await adapter.delete_intake(intake_id)
            return DeleteResult(
                vendor=vendor,
                target=f"intake {intake_id}",
                deleted=True,
                message=f"Deleted SpotDraft intake {intake_id} '{intake.title}' (soft delete; no public restore).",
            )

        async def preview(report: DryRunReport) -> DeleteResult:
            return _dry_run_delete(vendor, f"intake {intake_id}", report)

        call = self._write("delete_intake", vendor, {"intake_id": intake_id}, str(intake_id), opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=DeleteResult)

    def _verify_confirmation(
        self, operation: str, vendor: str, target: str, confirm_token: str | None, elicited: bool
    ) -> None:
        if elicited:
            return
        if not confirm_token:
            raise InvalidInput(
                "deleting needs the confirm_token from a preview",
                field="confirm_token",
                hint=f"call {operation} without confirm to get a preview and a token",
            )
        self.tokens.verify(confirm_token, operation, vendor, target)

    async def _refuse_duplicate_intake(self, adapter: IntakeAdapter, req: CreateIntakeRequest) -> list[str]:
        """Refuse when a recent open intake has the same title; returns warnings when the check could not run."""

        if not self.settings.duplicate_check:
            return []
        query = ListIntakesRequest(query=req.title, status=list(OPEN_INTAKE_STATUSES), limit=50, sort="-created_at")
        try:
            page = await adapter.list_intakes(query)
        except TaskLinkError as exc:
            return [f"The duplicate check could not run ({exc.message}); created anyway."]
        same = [i for i in page.intakes if _same_title(i.title, req.title) and self._recent(i.created_at)]
        if same:
            listed = "; ".join(f"intake {i.id} '{i.title}' ({i.reference_id}, {i.status})" for i in same[:5])
            raise PossibleDuplicate(f"An open SpotDraft intake with this title already exists: {listed}")
        return []

    def _recent(self, created_at: str | None) -> bool:
        if not created_at:
            return True
        try:
            when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        except ValueError:
            return True
        return (self.now() - when).days < self.settings.duplicate_window_days

    # -- tasks ---------------------------------------------------------------------------

    async def create_task(self, req: CreateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        if opts.idempotency_key:
            req = req.model_copy(update={"idempotency_key": opts.idempotency_key})
        people = self.people(req.vendor)

        async def execute() -> Task:
            nonlocal req
            adapter = await self._checked(req.vendor, "create_task")
            req = req.model_copy(update={"assignees": await people.refs(req.assignees)})
            warnings = []
            if not opts.allow_duplicate and not opts.dry_run:
                await _validate_without_sending(lambda: adapter.create_task(req))
                warnings = await self._refuse_duplicate_task(adapter, req)
            task: Task = await adapter.create_task(req)
            task.warnings.extend(self.due_warnings(req.due) + warnings)
            task.warnings.extend(self.deprecation_warnings(req.vendor))
            task.resolved = people.resolved
            return task

        async def preview(report: DryRunReport) -> Task:
            report.verdict = _verdict(people, "the duplicate check needs a vendor read and is skipped in a dry run")
            return Task(
                vendor=req.vendor,
                id="",
                title=req.title,
                status=req.status,
                priority=req.priority,
                due=req.due.iso() if req.due else None,
                description=req.description,
                assignees=[a.user_id or f"role:{a.role_id}" for a in req.assignees],
                links={"intake_id": str(req.intake_id)} if req.intake_id else {},
                warnings=[*self.due_warnings(req.due), *self.deprecation_warnings(req.vendor), DRY_RUN_NOTE],
                resolved=people.resolved,
                dry_run=report,
            )

        call = self._write("create_task", req.vendor, req, None, opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=Task)

    async def _refuse_duplicate_task(self, adapter: Any, req: CreateTaskRequest) -> list[str]:
        """Refuse when the vendor already has a recent open task with this title (and assignee)."""

        manifest = self.vendors.runtime(req.vendor).manifest
        if not self.settings.duplicate_check or not manifest.operation("list_tasks").supported:
            return []
        assignee = next((a.user_id for a in req.assignees if a.user_id), None)
        query = ListTasksRequest(vendor=req.vendor, text=req.title, assignee=assignee, limit=25)
        try:
            page: TaskPage = await adapter.list_tasks(query)
        except TaskLinkError as exc:
            return [f"The duplicate check could not run ({exc.message}); created anyway."]
        same = [
            t
            for t in page.tasks
            if _same_title(t.title, req.title) and t.status not in ("done", "cancelled") and self._recent(t.created_at)
        ]
        if same:
            listed = "; ".join(f"task {t.id} '{t.title}'" + (f" <{t.url}>" if t.url else "") for t in same[:5])
            raise PossibleDuplicate(f"An open {manifest.title} task with this title already exists: {listed}")
        return []

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

    async def update_task(self, req: UpdateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        if opts.idempotency_key:
            req = req.model_copy(update={"idempotency_key": opts.idempotency_key})
        people = self.people(req.vendor)

        async def execute() -> Task:
            nonlocal req
            manifest = self.vendors.runtime(req.vendor).manifest
            require_supported(manifest, "update_task")
            if req.assignees is not None:
                require_supported(manifest, "reassign_task")
            sunset_warnings = self.deprecation_warnings(req.vendor)
            adapter = await self.vendors.adapter(req.vendor)
            if req.assignees is not None:
                req = req.model_copy(update={"assignees": await people.refs(req.assignees)})
            task: Task = await adapter.update_task(req)
            task.warnings.extend(self.due_warnings(req.due))
            task.warnings.extend(sunset_warnings)
            task.resolved = people.resolved
            return task

        async def preview(report: DryRunReport) -> Task:
            if people.resolved:
                report.verdict = _verdict(people)
            return Task(
                vendor=req.vendor,
                id=req.task_id,
                title=req.title or UNCHANGED,
                status=req.status,
                due=req.due.iso() if req.due else None,
                description=req.description,
                assignees=[a.user_id or f"role:{a.role_id}" for a in req.assignees or []],
                warnings=[*self.due_warnings(req.due), *self.deprecation_warnings(req.vendor), DRY_RUN_NOTE],
                resolved=people.resolved,
                dry_run=report,
            )

        call = self._write("update_task", req.vendor, req, req.task_id, opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=Task)

    async def preview_delete_task(self, vendor: str, task_id: str) -> DeleteResult:
        call = self._write("delete_task", vendor, {"task_id": task_id}, task_id, NO_OPTIONS)
        adapter = await self._refusing(call, self._checked(vendor, "delete_task"))
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
        self,
        vendor: str,
        task_id: str,
        *,
        confirm_token: str | None,
        elicited: bool = False,
        opts: WriteOptions = NO_OPTIONS,
    ) -> DeleteResult:
        async def execute() -> DeleteResult:
            adapter = await self._checked(vendor, "delete_task")
            if opts.dry_run:
                await adapter.delete_task(task_id)  # captured by the dry run; nothing is sent
            self._verify_confirmation("delete_task", vendor, task_id, confirm_token, elicited)
            task: Task = await adapter.get_task(task_id)  # re-check the target just before deleting
            await adapter.delete_task(task_id)
            title = self.vendors.runtime(vendor).manifest.title
            return DeleteResult(
                vendor=vendor,
                target=f"task {task_id}",
                deleted=True,
                message=f"Deleted {title} task {task_id} '{task.title}'.",
                warnings=self.deprecation_warnings(vendor),
            )

        async def preview(report: DryRunReport) -> DeleteResult:
            return _dry_run_delete(vendor, f"task {task_id}", report)

        call = self._write("delete_task", vendor, {"task_id": task_id}, task_id, opts)
        return await self.gate.run(call, execute=execute, preview=preview, result_type=DeleteResult)


async def _validate_without_sending(build: Callable[[], Awaitable[Any]]) -> None:
    """Run an adapter write as a dry run: its own validation errors surface, nothing is sent.

    Used before the duplicate check so invalid arguments are refused before even a read goes out.
    """

    try:
        with dry_run():
            await build()
    except DryRunStop:
        return


def _verdict(people: PeopleResolver, *notes: str) -> str:
    """A dry run's verdict: allowed, plus any read it needed and any check it skipped."""

    return "; ".join(part for part in ("allowed", people.note(), *notes) if part)


def _same_title(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _participant(a: IntakeAssigneeInput) -> IntakeParticipant:
    return IntakeParticipant(user_id=a.user_id, role=a.role)


def _unchanged_intake(intake_id: int, report: DryRunReport) -> Intake:
    return Intake(
        id=intake_id,
        title=UNCHANGED,
        status=UNCHANGED,
        priority=UNCHANGED,
        warnings=[DRY_RUN_NOTE, "Fields not in the request body stay as they are; a dry run does not read them."],
        dry_run=report,
    )


def _dry_run_delete(vendor: str, target: str, report: DryRunReport) -> DeleteResult:
    return DeleteResult(
        vendor=vendor,
        target=target,
        deleted=False,
        message=f"Dry run: nothing was deleted. A real call sends the request in `dry_run` after the user confirms "
        f"and after re-reading {target}.",
        dry_run=report,
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
