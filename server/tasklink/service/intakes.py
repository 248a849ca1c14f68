"""Legal intakes (SpotDraft): create, read, list, update, assign, delete — through the checkpoint and the gate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from ..errors import InvalidInput, NotFound, PossibleDuplicate, TaskLinkError
from ..models import (
    CreateIntakeRequest,
    DeleteResult,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    IntakeRoleParticipant,
    ListIntakesRequest,
    UpdateIntakeRequest,
)
from ..policy.gate import NO_OPTIONS, Prepare, Prepared, WriteCall, WriteOptions, WritePreview
from ..policy.ledger import digest
from ..principals import acting
from .core import Bound, Core, OnRead, same_title
from .duplicates import could_not_check
from .people import People
from .tasks import already_gone
from .vendors import VendorCatalogue

OPEN_INTAKE_STATUSES = ("DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED")
AssigneeMode = Literal["replace", "add", "remove"]


class Intakes:
    def __init__(self, core: Core, people: People, vendors: VendorCatalogue) -> None:
        self.core = core
        self.people = people
        self.vendors = vendors

    async def _checkpoint(
        self, operation: str, *, arguments: BaseModel | None = None, on_read: OnRead | None = None
    ) -> Bound:
        vendor = self.vendors.intake_vendor()
        return await self.core.checkpoint(vendor, operation, arguments=arguments, on_read=on_read)

    # -- reads ----------------------------------------------------------------------------

    async def get(self, intake_id: int) -> Intake:
        return await (await self._checkpoint("get_intake")).adapter.get_intake(intake_id)

    async def list_page(self, req: ListIntakesRequest, *, on_page: OnRead | None = None) -> IntakePage:
        return await (await self._checkpoint("list_intakes", on_read=on_page)).adapter.list_intakes(req)

    # -- create ---------------------------------------------------------------------------

    def _create(self, req: CreateIntakeRequest, opts: WriteOptions) -> tuple[WriteCall, Prepare[Intake]]:
        vendor = self.vendors.intake_vendor()
        people = self.people.resolver(vendor)
        given = digest(req.model_dump(mode="json"))

        async def prepare(dry_run: bool) -> Prepared[Intake]:
            bound = await self._checkpoint("create_intake", arguments=req)
            resolved_req = req.model_copy(update={"assignees": await people.participants(req.assignees)})
            _reject_duplicate_participants(resolved_req.assignees)
            plan = await bound.adapter.plan_create_intake(resolved_req)
            lists = not opts.allow_duplicate and self.core.lists_for_duplicates(bound, "list_intakes")
            check = await self.core.check_create(
                bound, "intake", same=req.title, given=given, resolved=digest(resolved_req.model_dump(mode="json")),
                dry_run=dry_run, allow_duplicate=opts.allow_duplicate,
                listing=(lambda: self._refuse_duplicate(bound, resolved_req, dry_run=dry_run)) if lists else None,
            )  # fmt: skip
            warnings = self.core.due_warnings(req.due)

            async def finish(intake: Intake) -> Intake:
                await self.core.created(vendor, "intake", req.title, str(intake.id), given)
                intake.warnings.extend(warnings + check.warnings)
                intake.resolved = people.resolved
                return intake

            notes = [n for n in (people.note(), *check.notes) if n]
            return bound.prepared(
                plan, finish, notes=notes, warnings=warnings, resolved=people.resolved, release=check.release
            )

        return self.core.write_call("create_intake", vendor, req, None, opts), prepare

    async def create(self, req: CreateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        call, prepare = self._create(req, opts)
        return await self.people.assigning(self.vendors.intake_vendor(), self.core.gate.write(call, prepare, Intake))

    async def dry_run_create(self, req: CreateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._create(req, opts)
        return await self.core.gate.describe(call, prepare)

    async def _refuse_duplicate(self, bound: Bound, req: CreateIntakeRequest, *, dry_run: bool) -> list[str]:
        """Refuse when a recent open intake has the same title; returns warnings when the check could not run."""

        query = ListIntakesRequest(query=req.title, status=list(OPEN_INTAKE_STATUSES), limit=50, sort="-created_at")
        try:
            page = await bound.adapter.list_intakes(query)
        except TaskLinkError as exc:
            return [could_not_check(exc, dry_run)]
        same = [i for i in page.intakes if same_title(i.title, req.title) and self.core.recent(i.created_at)]
        if same:
            listed = "; ".join(f"intake {i.id} '{i.title}' ({i.reference_id}, {i.status})" for i in same[:5])
            raise PossibleDuplicate(f"An open SpotDraft intake with this title already exists: {listed}")
        return []

    # -- update ---------------------------------------------------------------------------

    def _update(self, req: UpdateIntakeRequest, opts: WriteOptions) -> tuple[WriteCall, Prepare[Intake]]:
        async def prepare(dry_run: bool) -> Prepared[Intake]:
            bound = await self._checkpoint("update_intake", arguments=req)
            plan = await bound.adapter.plan_update_intake(req)
            warnings = self.core.due_warnings(req.due)

            async def finish(intake: Intake) -> Intake:
                intake.warnings.extend(warnings)
                return intake

            return bound.prepared(plan, finish, warnings=warnings)

        call = self.core.write_call("update_intake", self.vendors.intake_vendor(), req, str(req.intake_id), opts)
        return call, prepare

    async def update(self, req: UpdateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        call, prepare = self._update(req, opts)
        return await self.core.gate.write(call, prepare, Intake)

    async def dry_run_update(self, req: UpdateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._update(req, opts)
        return await self.core.gate.describe(call, prepare)

    # -- assignees ------------------------------------------------------------------------

    def _assign(
        self, intake_id: int, assignees: list[IntakeAssigneeInput], mode: AssigneeMode, opts: WriteOptions
    ) -> tuple[WriteCall, Prepare[Intake]]:
        """SpotDraft's PATCH replaces the whole participant set, so `add` and `remove` read the current
        set first and send the merged list — nobody is dropped by accident. (That read also happens in
        a dry run: the exact body depends on it.)"""

        vendor = self.vendors.intake_vendor()
        # removing someone who has since been deactivated is allowed
        people = self.people.resolver(vendor, active_only=mode != "remove")

        async def prepare(dry_run: bool) -> Prepared[Intake]:
            bound = await self._checkpoint("update_intake_assignees")
            given = await people.participants(assignees)
            _reject_duplicate_participants(given)
            desired: Sequence[IntakeAssigneeInput | IntakeRoleParticipant] = given
            warnings: list[str] = []
            if mode != "replace":
                current = await bound.adapter.get_intake(intake_id)
                desired, warnings = _merge(current, given, mode)
            plan = await bound.adapter.plan_set_intake_participants(intake_id, desired)
            plan.warnings.extend(warnings)

            async def finish(intake: Intake) -> Intake:
                intake.resolved = people.resolved
                return intake

            notes = [people.note()] if people.resolved else []
            return bound.prepared(plan, finish, notes=notes, resolved=people.resolved)

        arguments = {"intake_id": intake_id, "mode": mode, "assignees": [a.model_dump() for a in assignees]}
        return self.core.write_call("update_intake_assignees", vendor, arguments, str(intake_id), opts), prepare

    async def update_assignees(
        self,
        intake_id: int,
        assignees: list[IntakeAssigneeInput],
        mode: AssigneeMode = "replace",
        opts: WriteOptions = NO_OPTIONS,
    ) -> Intake:
        """Set, add to, or remove from an intake's assignees and collaborators."""

        call, prepare = self._assign(intake_id, assignees, mode, opts)
        return await self.people.assigning(self.vendors.intake_vendor(), self.core.gate.write(call, prepare, Intake))

    async def dry_run_update_assignees(
        self,
        intake_id: int,
        assignees: list[IntakeAssigneeInput],
        mode: AssigneeMode = "replace",
        opts: WriteOptions = NO_OPTIONS,
    ) -> WritePreview:
        call, prepare = self._assign(intake_id, assignees, mode, opts)
        return await self.core.gate.describe(call, prepare)

    # -- delete ---------------------------------------------------------------------------

    async def preview_delete(self, intake_id: int) -> DeleteResult:
        """What a delete would remove, and the confirm_token that allows it; nothing is deleted."""

        vendor = self.vendors.intake_vendor()
        call = self.core.write_call("delete_intake", vendor, {"intake_id": intake_id}, str(intake_id), NO_OPTIONS)
        bound = await self.core.refusing(call, self._checkpoint("delete_intake"))
        try:
            intake = await bound.adapter.get_intake(intake_id)
        except NotFound as gone:
            if bound.acts_as_caller:  # SpotDraft answers 403 alike for "gone" and "not yours": say both
                raise NotFound(
                    f"intake {intake_id} does not exist or is not visible to you ({acting().id}); nothing was deleted"
                ) from None
            return already_gone(vendor, f"intake {intake_id}", gone)
        return DeleteResult(
            vendor=vendor,
            target=f"intake {intake_id}",
            deleted=False,
            message=(
                f"Nothing was deleted. This would delete the SpotDraft intake shown in `preview` (id {intake_id}, "
                f"{len(intake.tasks)} task(s)); SpotDraft has no restore. Show the user its title and reference and "
                "ask; if they agree, call delete_intake again with confirm=true and this confirm_token."
            ),
            confirm_token=await self.core.tokens.issue("delete_intake", vendor, str(intake_id), shown_intake(intake)),
            preview=shown_intake(intake),
        )

    def _delete(
        self, intake_id: int, confirm_token: str | None, elicited: bool, opts: WriteOptions
    ) -> tuple[WriteCall, Prepare[DeleteResult]]:
        vendor = self.vendors.intake_vendor()

        async def prepare(dry_run: bool) -> Prepared[DeleteResult]:
            bound = await self._checkpoint("delete_intake")
            shown: dict[str, Any] | None = None
            if not dry_run:
                tokens = self.core.tokens
                target = str(intake_id)
                expected = await tokens.expected(
                    "delete_intake", vendor, target, token=confirm_token, elicited=elicited
                )
                current = await bound.adapter.get_intake(intake_id)  # re-check the target just before deleting
                shown = shown_intake(current)
                tokens.require_unchanged(expected, "delete_intake", f"intake {intake_id}", shown, elicited=elicited)
            plan = await bound.adapter.plan_delete_intake(intake_id)

            async def finish(_: None) -> DeleteResult:
                await self.core.deleted(vendor, "intake", str(intake_id))
                return DeleteResult(
                    vendor=vendor,
                    target=f"intake {intake_id}",
                    deleted=True,
                    message=f"Deleted the SpotDraft intake shown in `preview` (id {intake_id}; a soft delete with no "
                    "public restore).",
                    preview=shown,
                )

            return bound.prepared(plan, finish)

        call = self.core.write_call("delete_intake", vendor, {"intake_id": intake_id}, str(intake_id), opts)
        return call, prepare

    async def delete(
        self, intake_id: int, *, confirm_token: str | None, elicited: bool = False, opts: WriteOptions = NO_OPTIONS
    ) -> DeleteResult:
        """Delete after confirmation: a valid token from a preview, or an accepted elicitation."""

        call, prepare = self._delete(intake_id, confirm_token, elicited, opts)
        try:
            return await self.core.gate.write(call, prepare, DeleteResult)
        except NotFound as gone:
            return already_gone(self.vendors.intake_vendor(), f"intake {intake_id}", gone)

    async def dry_run_delete(self, intake_id: int, opts: WriteOptions = NO_OPTIONS) -> WritePreview:
        call, prepare = self._delete(intake_id, None, False, opts)
        return await self.core.gate.describe(call, prepare)


#: what a delete preview shows of an intake; a confirmation is bound to exactly these fields
INTAKE_SHOWN = {"id", "title", "status", "priority", "reference_id", "due_date"}


def shown_intake(intake: Intake) -> dict[str, Any]:
    return intake.model_dump(include=INTAKE_SHOWN)


def _merge(
    current: Intake, given: list[IntakeAssigneeInput], mode: AssigneeMode
) -> tuple[list[IntakeAssigneeInput | IntakeRoleParticipant], list[str]]:
    """The participant list after adding or removing `given`, and what could not be removed.

    People are added or removed by user id; role rows stay role rows, with their role id."""

    rows = [IntakeAssigneeInput(user_id=p.user_id, role=p.role) for p in [*current.assignees, *current.collaborators]]
    roles = [IntakeRoleParticipant(role_id=role_id, role=role) for role_id, role in current.roles.items()]
    by_id = {a.user_id: a for a in given}
    if mode == "add":
        return [*(by_id.pop(r.user_id, r) for r in rows), *by_id.values(), *roles], []
    on_intake = {r.user_id for r in rows}
    missing = sorted(set(by_id) - on_intake)
    warnings = [f"Not on the intake, nothing to remove: {', '.join(missing)}."] if missing else []
    return [*(r for r in rows if r.user_id not in by_id), *roles], warnings


def _reject_duplicate_participants(assignees: list[IntakeAssigneeInput]) -> None:
    seen: set[str] = set()
    for n, a in enumerate(assignees):
        if a.user_id in seen:
            raise InvalidInput(
                f"user {a.user_id} appears twice; each person is either assigned_to or collaborator",
                field=f"assignees[{n}].user_id",
            )
        seen.add(a.user_id)
