"""The service: tasklink's Python API, and what the MCP tools and the CLI call.

    async with TaskLink.from_env() as tl:
        intake = await tl.create_intake(CreateIntakeRequest(title="Vendor review"))
        preview = await tl.tasks.dry_run_create(CreateTaskRequest(vendor="workiva", title="Tie out"))

One service per resource (`tasks`, `intakes`, `people`, `vendors`) over one `Core`. Every call
passes `Core.checkpoint` once before any vendor I/O; every write passes the write gate. The
methods below are the short names of the resource services' operations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self

from ..capabilities import VendorInfo, VendorsReport
from ..models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    DeleteResult,
    Due,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    ListIntakesRequest,
    ListTasksRequest,
    Task,
    TaskPage,
    UpdateIntakeRequest,
    UpdateTaskRequest,
)
from ..people import PeopleResolver
from ..policy.confirmation import ConfirmTokens
from ..policy.gate import NO_OPTIONS, WriteGate, WriteOptions
from ..policy.ledger import AuditLog, IdempotencyLedger
from ..settings import TaskLinkSettings
from ..state import StateStore
from ..vendors.registry import Vendors
from .batches import Batches
from .core import Core, OnRead
from .intakes import Intakes
from .lookups import FoundRecords, Lookups
from .people import FoundPeople, People
from .tasks import Tasks
from .vendors import VendorCatalogue
from .work import Work

__all__ = ["FoundPeople", "FoundRecords", "TaskLink"]


class TaskLink:
    def __init__(
        self,
        settings: TaskLinkSettings,
        vendors: Vendors | None = None,
        *,
        clock: Callable[[], float] = time.time,
        store: StateStore | None = None,
    ) -> None:
        self.core = Core(settings, vendors, clock=clock, store=store)
        self.people_service = People(self.core)
        self.vendor_catalogue = VendorCatalogue(self.core)
        self.lookups = Lookups(self.core)
        self.tasks = Tasks(self.core, self.people_service)
        self.batches = Batches(self.core, self.tasks)
        self.work = Work(self.core, self.tasks)
        self.intakes = Intakes(self.core, self.people_service, self.vendor_catalogue)
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
        await self.core.vendors.aclose()
        await self.core.store.aclose()

    # -- what the front ends read ---------------------------------------------------------

    @property
    def settings(self) -> TaskLinkSettings:
        return self.core.settings

    @property
    def vendors(self) -> Vendors:
        return self.core.vendors

    @property
    def audit(self) -> AuditLog:
        return self.core.audit

    @property
    def ledger(self) -> IdempotencyLedger:
        return self.core.ledger

    @property
    def gate(self) -> WriteGate:
        return self.core.gate

    @property
    def tokens(self) -> ConfirmTokens:
        return self.core.tokens

    def parse_due(self, value: str | None, field: str = "due") -> Due | None:
        return self.core.parse_due(value, field)

    def intake_vendor(self) -> str:
        return self.vendor_catalogue.intake_vendor()

    # -- vendors and people ---------------------------------------------------------------

    def list_vendors(self, vendor: str | None = None, *, detail: bool = False) -> VendorsReport:
        return self.vendor_catalogue.report(vendor, detail=detail)

    def vendor_info(self, vendor: str) -> VendorInfo:
        """One vendor's capabilities: what `list_vendors` lists and `capabilities://{vendor}` serves."""

        return self.vendor_catalogue.info(vendor)

    async def find_people(
        self, vendor: str, query: str, limit: int = 10, *, on_page: OnRead | None = None
    ) -> FoundPeople:
        return await self.people_service.find(vendor, query, limit, on_page=on_page)

    async def find_records(
        self, vendor: str, kind: str, query: str | None = None, limit: int = 10, *, on_page: OnRead | None = None
    ) -> FoundRecords:
        return await self.lookups.find(vendor, kind, query, limit, on_page=on_page)

    def people(self, vendor: str, *, active_only: bool = True) -> PeopleResolver:
        return self.people_service.resolver(vendor, active_only=active_only)

    # -- intakes --------------------------------------------------------------------------

    async def create_intake(self, req: CreateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        return await self.intakes.create(req, opts)

    async def get_intake(self, intake_id: int) -> Intake:
        return await self.intakes.get(intake_id)

    async def list_intakes(self, req: ListIntakesRequest, *, on_page: OnRead | None = None) -> IntakePage:
        return await self.intakes.list_page(req, on_page=on_page)

    async def update_intake(self, req: UpdateIntakeRequest, opts: WriteOptions = NO_OPTIONS) -> Intake:
        return await self.intakes.update(req, opts)

    async def update_intake_assignees(
        self,
        intake_id: int,
        assignees: list[IntakeAssigneeInput],
        mode: Literal["replace", "add", "remove"] = "replace",
        opts: WriteOptions = NO_OPTIONS,
    ) -> Intake:
        return await self.intakes.update_assignees(intake_id, assignees, mode, opts)

    async def preview_delete_intake(self, intake_id: int) -> DeleteResult:
        return await self.intakes.preview_delete(intake_id)

    async def delete_intake(
        self, intake_id: int, *, confirm_token: str | None, elicited: bool = False, opts: WriteOptions = NO_OPTIONS
    ) -> DeleteResult:
        return await self.intakes.delete(intake_id, confirm_token=confirm_token, elicited=elicited, opts=opts)

    # -- tasks ----------------------------------------------------------------------------

    async def create_task(self, req: CreateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        return await self.tasks.create(req, opts)

    async def get_task(self, vendor: str, task_id: str) -> Task:
        return await self.tasks.get(vendor, task_id)

    async def list_tasks(self, req: ListTasksRequest, *, on_page: OnRead | None = None) -> TaskPage:
        return await self.tasks.list_page(req, on_page=on_page)

    async def update_task(self, req: UpdateTaskRequest, opts: WriteOptions = NO_OPTIONS) -> Task:
        return await self.tasks.update(req, opts)

    async def preview_delete_task(self, vendor: str, task_id: str) -> DeleteResult:
        return await self.tasks.preview_delete(vendor, task_id)

    async def delete_task(
        self,
        vendor: str,
        task_id: str,
        *,
        confirm_token: str | None,
        elicited: bool = False,
        opts: WriteOptions = NO_OPTIONS,
    ) -> DeleteResult:
        return await self.tasks.delete(vendor, task_id, confirm_token=confirm_token, elicited=elicited, opts=opts)
