"""What every resource service shares: settings, vendors, the write gate, and the one checkpoint per call.

`checkpoint(vendor, operation)` runs capability, deprecation and sunset once, before any I/O, and
returns a `Bound`: the manifest, adapter and settings the rest of the call uses, and the warnings
the call's result carries.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

import anyio
from pydantic import BaseModel

from ..errors import InvalidInput, PossibleDuplicate, StateUnavailable, TaskLinkError
from ..manifests import VendorManifest, check_arguments
from ..models import Due, is_past, parse_due, zone
from ..policy.capabilities import require_supported
from ..policy.confirmation import ConfirmTokens
from ..policy.creates import CreateLocks, Release
from ..policy.deprecations import deprecation_warnings
from ..policy.gate import Prepared, WriteCall, WriteGate, WriteOptions
from ..policy.grants import load_policy
from ..policy.keys import derive, server_key
from ..policy.ledger import AuditLog, IdempotencyLedger, Previews
from ..policy.verdicts import VERDICT_SECONDS, DuplicateVerdicts
from ..principals import acting
from ..settings import TaskLinkSettings
from ..state import StateStore, open_store
from ..vendors._http import VendorHttp, WritePlan
from ..vendors.base import VendorAdapter, VendorSettings, path_segment
from ..vendors.registry import Vendors
from .accounts import Accounts

OnRead = Callable[[], Awaitable[None]]
log = logging.getLogger("tasklink")
T = TypeVar("T")
U = TypeVar("U")
#: a create's duplicate check against the vendor: the warnings it leaves (it could not run), or PossibleDuplicate
Listing = Callable[[], Awaitable[list[str]]]


@runtime_checkable
class ReadsAhead(Protocol):
    """An adapter whose filtered lists (a duplicate check's, an assignee's) need a read of their own first
    (Lightfield: the task definitions); the service sends it beside the call's people lookups."""

    async def prepare_list_filters(self) -> None: ...


def list_read_ahead(adapter: object) -> Callable[[], Awaitable[None]] | None:
    return adapter.prepare_list_filters if isinstance(adapter, ReadsAhead) else None


async def alongside(main: Awaitable[T], ahead: Callable[[], Awaitable[object]] | None) -> T:
    """`main`, with the independent read `ahead` sent at the same time. `ahead` only warms a cache: its failure
    is left to the read that needs it to report (and it is cancelled when `main` fails)."""

    if ahead is None:
        return await main
    results: list[T] = []
    failed: list[BaseException] = []

    async def read_ahead() -> None:
        with contextlib.suppress(TaskLinkError):
            await ahead()

    async with anyio.create_task_group() as group:
        group.start_soon(read_ahead)
        try:
            results.append(await main)
        except Exception as exc:
            failed.append(exc)
            group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return results[0]


async def beside(main: Awaitable[T], other: Callable[[], Awaitable[U]]) -> tuple[T, U]:
    """`main` and the independent `other`, sent at the same time; `other` is cancelled when `main` fails."""

    results: list[Any] = []
    failed: list[BaseException] = []

    async def run_other() -> None:
        results.append(await other())

    async with anyio.create_task_group() as group:
        group.start_soon(run_other)
        try:
            first = await main
        except Exception as exc:
            failed.append(exc)
            group.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return first, results[0]


@dataclass
class CreateCheck:
    """What a create's duplicate check leaves: the title lock a real create holds until the write is over,
    warnings for the result, and what a dry run's verdict says about the check."""

    release: Release | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Bound:
    """One call's vendor, checked: everything after the checkpoint reads from here."""

    vendor: str
    manifest: VendorManifest
    adapter: VendorAdapter[Any]
    settings: VendorSettings
    #: deprecation warnings for the vendor's current settings, computed once per call
    warnings: list[str] = field(default_factory=list)
    #: the vendor acts as the caller here (impersonation): what it cannot see may simply not be theirs
    acts_as_caller: bool = False

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
        self,
        settings: TaskLinkSettings,
        vendors: Vendors | None = None,
        *,
        clock: Callable[[], float] = time.time,
        store: StateStore | None = None,
    ) -> None:
        self.settings = settings
        self.vendors = vendors or Vendors.configure(settings)
        self.clock = clock
        #: everything kept between calls (state/: SQLite in the data dir, or PostgreSQL shared by workers)
        self.store = state = store or open_store(settings)
        secret = settings.confirm_secret.get_secret_value() if settings.confirm_secret else None
        self.key = server_key(secret, settings.state_path("confirm.key"), shared=state.shared_key())
        self.vendors.cursor_key = derive(self.key, "cursors")  # every worker signs and checks cursors alike
        self.vendors.store = state  # rate-limit budgets shared through the store
        self.tokens = ConfirmTokens(self.key, Previews(state), clock=clock)
        #: who may do what (TASKLINK_POLICY_FILE); without one, everybody may do everything configured
        self.policy = load_policy(settings.policy_file)
        #: people's own vendor accounts (per-user identity): the vault, connect links
        self.accounts = Accounts(settings, state, self.key, self.vendors, clock=clock)

        self.ledger = IdempotencyLedger(
            state,
            ttl_seconds=settings.idempotency_ttl_hours * 3600,
            stale_after=settings.call_deadline + 30,
            clock=clock,
        )
        self.audit = AuditLog(
            state, clock=clock, full=settings.audit_full, retention_days=settings.audit_retention_days
        )
        self.creates = CreateLocks(state, self.ledger.owner, clock=clock)
        self.verdicts = DuplicateVerdicts(state, clock=clock)
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
        principal = acting()
        if rt.settings.identity == "impersonate" and not principal.local and not principal.email:
            raise InvalidInput(
                f"{rt.manifest.title} acts as each caller here, and your credential carries no email to act as "
                f"({principal.id}); nothing was sent",
                hint="ask whoever runs tasklink to give your token an email (tokens file) or your identity provider "
                "to include the email claim",
            )
        warnings = deprecation_warnings(rt.manifest, rt.settings, self.now().date())
        if rt.settings.identity == "per-user" and not principal.local:
            adapter = await self.accounts.adapter(vendor, rt.manifest.title, principal.id)
        else:
            adapter = await self.vendors.adapter(vendor)
        if on_read is not None:
            adapter = adapter.observed(on_read)
        return Bound(
            vendor=vendor,
            manifest=rt.manifest,
            adapter=adapter,
            settings=rt.settings,
            warnings=warnings,
            acts_as_caller=rt.settings.identity == "impersonate" and not principal.local,
        )

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
            await self.gate.refuse(call, exc)
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

    async def create_lock(self, vendor: str, kind: str, title: str) -> Release:
        """Serialize the duplicate check and the create of one title (across processes sharing the state)."""

        return await self.creates.acquire(vendor, kind, title, wait=self.settings.call_deadline)

    def lists_for_duplicates(self, bound: Bound, listing_operation: str) -> bool:
        """Whether creates on this vendor are checked against its list (not only the local record)."""

        return self.settings.duplicate_check and bound.manifest.operation(listing_operation).supported

    async def verdict_stands(self, vendor: str, kind: str, given: str) -> bool:
        return await self.verdicts.find(vendor, kind, given) is not None

    async def created(self, vendor: str, kind: str, same: str, record_id: str, given: str) -> None:
        """A create went out: remember it (the next same create is refused without asking the vendor) and spend
        its dry run's verdict. Logged, not raised, when the store fails: the record exists either way."""

        try:
            await self.creates.remember(vendor, kind, same, record_id)
            await self.verdicts.forget(vendor, kind, given)
        except StateUnavailable as exc:
            log.warning("the %s %s created on %s was not remembered: %s", kind, record_id, vendor, exc)

    async def deleted(self, vendor: str, kind: str, record_id: str) -> None:
        try:
            await self.creates.forget(vendor, kind, record_id)
        except StateUnavailable as exc:
            log.warning("the deleted %s %s on %s was not forgotten: %s", kind, record_id, vendor, exc)

    async def check_create(
        self,
        bound: Bound,
        kind: str,
        *,
        same: str,
        given: str,
        resolved: str,
        dry_run: bool,
        allow_duplicate: bool,
        listing: Listing | None,
    ) -> CreateCheck:
        """The duplicate check of one create, in a dry run as in the real call (see policy/verdicts.py).

        Unless allow_duplicate: the local record of recent creates (free), then the vendor's list (`listing`,
        None where the vendor cannot be listed or the check is off) — except in a real create whose exact
        arguments (`given`, and `resolved`: with assignees as ids) a dry run checked moments ago and found
        nothing. A real create holds the title's lock from here until its write is over."""

        if allow_duplicate:
            return CreateCheck(notes=["the duplicate check is skipped (allow_duplicate=true)"])
        release = None if dry_run else await self.create_lock(bound.vendor, kind, same)
        try:
            await self.refuse_recent(bound.vendor, kind, same, bound.title)
            if listing is None:
                return CreateCheck(release, notes=[f"duplicates checked against the {kind}s created here lately only"])
            if not dry_run:
                verdict = await self.verdicts.find(bound.vendor, kind, given)
                if verdict is not None and verdict.resolved == resolved:
                    return CreateCheck(release)  # the dry run of these arguments listed moments ago
            warnings = await listing()
        except BaseException:
            if release is not None:
                with anyio.CancelScope(shield=True):
                    await release()
            raise
        if not dry_run:
            return CreateCheck(release, warnings=warnings)
        if warnings:
            return CreateCheck(notes=warnings)
        await self.verdicts.record(bound.vendor, kind, given, resolved)
        minutes = f"{VERDICT_SECONDS / 60:g} min"
        return CreateCheck(
            notes=[
                f"duplicate check ran (a list read): no open {kind} with this title; the real call with these exact "
                f"arguments within {minutes} relies on it"
            ]
        )

    async def refuse_recent(self, vendor: str, kind: str, title: str, vendor_title: str) -> None:
        """Refuse a title created here moments ago (the vendor's list may not show it yet)."""

        recent = await self.creates.recent(vendor, kind, title)
        if recent:
            listed = "; ".join(f"{kind} {r.record_id}" for r in recent[:5])
            raise PossibleDuplicate(f"A {vendor_title} {kind} with this title was created moments ago: {listed}")


def same_title(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())
