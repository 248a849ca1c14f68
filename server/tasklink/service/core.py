"""What every resource service shares: settings, vendors, the write gate, and the one checkpoint per call.

`checkpoint(vendor, operation)` runs capability, deprecation and sunset once, before any I/O, and
returns a `Bound`: the manifest, adapter and settings the rest of the call uses, and the warnings
the call's result carries.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from ..errors import PossibleDuplicate, TaskLinkError
from ..manifests import VendorManifest, check_arguments
from ..models import Due, is_past, parse_due, zone
from ..policy.capabilities import require_supported
from ..policy.confirmation import ConfirmTokens
from ..policy.creates import CreateLocks
from ..policy.deprecations import deprecation_warnings
from ..policy.gate import Prepared, WriteCall, WriteGate, WriteOptions
from ..policy.keys import derive, server_key
from ..policy.ledger import AuditLog, IdempotencyLedger, StateDB
from ..settings import TaskLinkSettings
from ..vendors._http import VendorHttp, WritePlan
from ..vendors.base import VendorAdapter, VendorSettings, path_segment
from ..vendors.registry import Vendors

OnRead = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Bound:
    """One call's vendor, checked: everything after the checkpoint reads from here."""

    vendor: str
    manifest: VendorManifest
    adapter: VendorAdapter[Any]
    settings: VendorSettings
    #: deprecation warnings for the vendor's current settings, computed once per call
    warnings: list[str] = field(default_factory=list)

    @property
    def http(self) -> VendorHttp:
        return self.adapter.http

    @property
    def title(self) -> str:
        return self.manifest.title

    def prepared(self, plan: WritePlan[Any], finish: Callable[[Any], Any], **kw: Any) -> Prepared[Any]:
        """A write ready for the gate, sent through this vendor's HTTP client."""

        limit = self.manifest.idempotency.max_length if self.manifest.idempotency else None
        return Prepared(http=self.http, plan=plan, finish=finish, key_max_length=limit, **kw)


class Core:
    def __init__(
        self, settings: TaskLinkSettings, vendors: Vendors | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.vendors = vendors or Vendors.configure(settings)
        self.clock = clock
        secret = settings.confirm_secret.get_secret_value() if settings.confirm_secret else None
        self.key = server_key(secret, settings.state_path("confirm.key"))
        self.vendors.cursor_key = derive(self.key, "cursors")  # every worker signs and checks cursors alike
        state = StateDB(settings.state_path("state.sqlite3"))
        self.tokens = ConfirmTokens(self.key, state, clock=clock)
        self.ledger = IdempotencyLedger(
            state,
            ttl_seconds=settings.idempotency_ttl_hours * 3600,
            stale_after=settings.call_deadline + 30,
            clock=clock,
        )
        self.audit = AuditLog(state, clock=clock, full=settings.audit_full)
        self.creates = CreateLocks(state, self.ledger.owner, clock=clock)
        self.gate = WriteGate(
            self.ledger, self.audit, redact=self.vendors.redactor, wait_timeout=settings.call_deadline
        )

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def parse_due(self, value: str | None, field: str = "due") -> Due | None:
        today = self.now().astimezone(zone(self.settings.timezone)).date()
        return parse_due(value, tz=self.settings.timezone, field=field, today=today)

    def due_warnings(self, due: Due | None) -> list[str]:
        """How date words were read, and whether the due date has passed."""

        if due is None:
            return []
        notes = [reading] if (reading := due.reading()) else []
        if is_past(due.instant, self.now()):
            notes.append(f"The due date {due.iso()} is in the past.")
        return notes

    async def checkpoint(
        self,
        vendor: str,
        operation: str,
        *,
        also: tuple[str, ...] = (),
        arguments: BaseModel | None = None,
        task_id: str | None = None,
        on_read: OnRead | None = None,
    ) -> Bound:
        """Capability (of `operation` and any `also`), the manifest's required and accepted arguments,
        deprecation and sunset — once, before any adapter code; then the adapter."""

        rt = self.vendors.runtime(vendor)
        for name in (operation, *also):
            require_supported(rt.manifest, name)
        if arguments is not None:
            given = arguments.model_dump(mode="json", exclude_defaults=True)
            check_arguments(rt.manifest, operation, given, settings=rt.settings)
        if task_id is not None:  # an id that goes into a URL path must have the vendor's id shape
            path_segment(task_id, rt.manifest.ids.task, field="task_id", vendor_title=rt.manifest.title)
        warnings = deprecation_warnings(rt.manifest, rt.settings, self.now().date())
        adapter = await self.vendors.adapter(vendor)
        if on_read is not None:
            adapter = adapter.observed(on_read)
        return Bound(vendor=vendor, manifest=rt.manifest, adapter=adapter, settings=rt.settings, warnings=warnings)

    def write_call(
        self,
        operation: str,
        vendor: str,
        arguments: BaseModel | dict[str, Any],
        target: str | None,
        opts: WriteOptions,
        *,
        recover: Callable[[], Awaitable[BaseModel | None]] | None = None,
    ) -> WriteCall:
        args = (
            arguments.model_dump(mode="json", exclude_defaults=True) if isinstance(arguments, BaseModel) else arguments
        )
        runtime = self.vendors.runtimes.get(vendor)
        return WriteCall(
            operation=operation,
            vendor=vendor,
            arguments=args,
            target=target,
            idempotency_key=opts.idempotency_key,
            vendor_dedupes=runtime is not None and runtime.manifest.idempotency_keys,
            recover=recover,
        )

    async def refusing(self, call: WriteCall, step: Awaitable[Bound]) -> Bound:
        """A checkpoint outside the gate (a delete's confirmation preview), auditing a refusal."""

        try:
            return await step
        except TaskLinkError as exc:
            self.gate.refuse(call, exc)
            raise

    def recent(self, created_at: str | None) -> bool:
        """Created within TASKLINK_DUPLICATE_WINDOW_DAYS (an unreadable date counts as recent)."""

        if not created_at:
            return True
        try:
            when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        except ValueError:
            return True
        return (self.now() - when).days < self.settings.duplicate_window_days

    async def create_lock(self, vendor: str, kind: str, title: str) -> Callable[[], None]:
        """Serialize the duplicate check and the create of one title (across processes sharing the state)."""

        return await self.creates.acquire(vendor, kind, title, wait=self.settings.call_deadline)

    def refuse_recent(self, vendor: str, kind: str, title: str, vendor_title: str) -> None:
        """Refuse a title created here moments ago (the vendor's list may not show it yet)."""

        recent = self.creates.recent(vendor, kind, title)
        if recent:
            listed = "; ".join(f"{kind} {r.record_id}" for r in recent[:5])
            raise PossibleDuplicate(f"A {vendor_title} {kind} with this title was created moments ago: {listed}")


def same_title(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
