"""`create_tasks`: many creates in one call, each item reported on its own.

1. Every item is checked first, as its dry run (arguments, guardrails, names and dates resolved, the
   duplicate check), a few at a time per vendor. A batch with an invalid item sends nothing unless
   `partial` is set; then the valid items go and the invalid ones are reported `refused`.
2. Items go out concurrently, at most ITEMS_AT_ONCE per vendor (the vendor's rate limit paces the
   requests as for any call), each through the write gate with its own idempotency key derived from the
   batch key: `<batch key>#<index>`. A retried batch therefore replays what was done and does only what
   was not, and each item's real create reuses its dry run's duplicate verdict (one round trip).
3. Items not started before the call's deadline come back `not_started`, with a continuation token that
   resumes the batch (the same items, the same keys): nothing is ever written twice.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import anyio
from pydantic import BaseModel, Field

from ..errors import InvalidInput, OutcomeUnknown, PossibleDuplicate, TaskLinkError
from ..models import CreateTaskRequest
from ..policy.gate import WriteOptions, call_info, quietly, scoped_key
from ..policy.keys import derive
from ..principals import acting
from ..signed import sign, verify
from .core import Core
from .tasks import Tasks

MAX_ITEMS = 50
#: items of one vendor in flight at once (each is paced by the vendor's rate limit as well)
ITEMS_AT_ONCE = 4
#: no new item starts when less than this share of the call's deadline is left (items in flight finish)
RESERVE = 0.25

ItemStatus = Literal["created", "replayed", "duplicate", "refused", "failed", "unknown", "not_started", "valid"]
Progress = Callable[[int, int, str], Awaitable[None]]


class BatchItem(BaseModel):
    index: int
    vendor: str
    title: str
    status: ItemStatus
    id: str | None = None
    url: str | None = None
    reason: str | None = Field(None, description="Why it is not created (or what to check), when it is not.")


class BatchResult(BaseModel):
    batch_key: str = Field(description="Retrying the same items with this batch_key never writes an item twice.")
    dry_run: bool = False
    sent: bool = Field(description="Whether anything was sent to a vendor.")
    counts: dict[str, int]
    items: list[BatchItem]
    continuation: str | None = Field(
        None, description="Items were not started in time: call again with the same items and this continuation."
    )
    message: str


@dataclass(frozen=True)
class Unreadable:
    """An item whose arguments could not even be read (a date that is not one): refused before any check."""

    vendor: str
    title: str
    reason: str


Item = CreateTaskRequest | Unreadable


def _digest(items: list[Item]) -> str:
    dumped = [i.model_dump(mode="json") if isinstance(i, CreateTaskRequest) else [i.vendor, i.title] for i in items]
    return hashlib.sha256(json.dumps(dumped).encode()).hexdigest()[:24]


class Batches:
    def __init__(self, core: Core, tasks: Tasks) -> None:
        self.core = core
        self.tasks = tasks
        self._key = derive(core.key, "batch-continuations")

    # -- continuation tokens: the batch key and the items they belong to, for this principal ------------

    def continuation(self, batch_key: str, items: list[Item]) -> str:
        return sign(self._key, [batch_key, _digest(items)], context=acting().scope())

    def resume(self, token: str, items: list[Item]) -> str:
        """The batch key a continuation token carries, if it was issued for exactly these items and caller."""

        found = verify(self._key, token, context=acting().scope())
        if not isinstance(found, list) or len(found) != 2:
            raise InvalidInput(
                "continuation is not one this server returned for this batch",
                field="continuation",
                hint="pass the continuation exactly as returned, with the same items in the same order",
            )
        batch_key, digest = found
        if digest != _digest(items):
            raise InvalidInput("continuation belongs to a batch with other items", field="continuation",
                               hint="send the same items, in the same order, as the call that returned it")  # fmt: skip
        return str(batch_key)

    # -- the batch ------------------------------------------------------------------------------------

    async def create(
        self,
        items: list[Item],
        *,
        batch_key: str | None = None,
        partial: bool = False,
        dry_run: bool = False,
        allow_duplicate: bool = False,
        progress: Progress | None = None,
    ) -> BatchResult:
        if not items or len(items) > MAX_ITEMS:
            raise InvalidInput(f"a batch holds 1 to {MAX_ITEMS} items, not {len(items)}", field="items")
        key = batch_key or str(uuid.uuid4())
        started = time.monotonic()
        checked = await self._check(items, key, allow_duplicate)
        invalid = [c for c in checked if c.status == "refused"]
        if dry_run or (invalid and not partial):
            unsent = self._unsent(key, checked, dry_run=dry_run)
            await self._audit(key, unsent)
            return unsent
        go = [n for n, c in enumerate(checked) if c.status == "valid"]
        results = {c.index: c for c in checked if c.status != "valid"}
        await self._send(items, go, key, allow_duplicate, results, started, progress)
        done = [results[n] for n in range(len(items))]
        finished = self._finished(key, items, done)
        await self._audit(key, finished)
        return finished

    async def _audit(self, key: str, result: BatchResult) -> None:
        """The batch's own audit row (each item has its own, from the write gate)."""

        summary = ", ".join(f"{v} {k}" for k, v in result.counts.items())
        info = call_info.get()
        await quietly(
            self.core.audit.record(
                transport=info.transport, client=info.client, credential=info.credential,
                principal=info.principal or acting().id, tool="create_tasks", vendor=None, target=key,
                args_digest=None, idempotency_key=key, outcome=_outcome(result),
                detail=summary,
            )
        )  # fmt: skip

    async def _check(self, items: list[Item], key: str, allow_duplicate: bool) -> list[BatchItem]:
        """Each item's dry run, a few at a time per vendor: `valid`, `duplicate` or `refused` with the reason. An
        item this batch key already sent is `valid` without one: its create replays (or reports) the first."""

        limits = {v: anyio.CapacityLimiter(ITEMS_AT_ONCE) for v in {i.vendor for i in items}}
        found: dict[int, BatchItem] = {}
        grants = self.core.policy.grants(acting())

        async def one(n: int, item: Item) -> None:
            if isinstance(item, Unreadable):
                found[n] = BatchItem(
                    index=n, vendor=item.vendor, title=item.title, status="refused", reason=item.reason
                )
                return
            if not grants.vendor(item.vendor):  # the middleware checks a call's vendor; a batch has one per item
                why = f"your roles ({', '.join(grants.roles)}) do not include the vendor {item.vendor!r}"
                found[n] = BatchItem(index=n, vendor=item.vendor, title=item.title, status="refused", reason=why)
                return
            async with limits[item.vendor]:
                status: ItemStatus = "valid"
                reason = None
                try:
                    if await self.core.ledger.state(scoped_key(f"{key}#{n}")) is None:
                        await self.tasks.dry_run_create(item, WriteOptions(allow_duplicate=allow_duplicate))
                except PossibleDuplicate as exc:
                    status, reason = "duplicate", exc.message
                except TaskLinkError as exc:
                    status, reason = "refused", str(exc)
                found[n] = BatchItem(index=n, vendor=item.vendor, title=item.title, status=status, reason=reason)

        async with anyio.create_task_group() as group:
            for n, item in enumerate(items):
                group.start_soon(one, n, item)
        return [found[n] for n in range(len(items))]

    async def _send(
        self,
        items: list[Item],
        go: list[int],
        key: str,
        allow_duplicate: bool,
        results: dict[int, BatchItem],
        started: float,
        progress: Progress | None,
    ) -> None:
        limits = {v: anyio.CapacityLimiter(ITEMS_AT_ONCE) for v in {items[n].vendor for n in go}}
        cutoff = started + self.core.settings.call_deadline * (1 - RESERVE)
        total, finished = len(go), [0]

        async def one(n: int) -> None:
            item = items[n]
            assert isinstance(item, CreateTaskRequest)  # only checked items go
            async with limits[item.vendor]:
                if time.monotonic() > cutoff:
                    late = "not reached before the call's deadline; nothing was sent"
                    results[n] = BatchItem(index=n, vendor=item.vendor, title=item.title, status="not_started",
                                           reason=late)  # fmt: skip
                    return
                results[n] = await self._create_one(n, item, f"{key}#{n}", allow_duplicate)
            finished[0] += 1
            if progress is not None:
                await progress(finished[0], total, f"item {n}: {results[n].status}")

        async with anyio.create_task_group() as group:
            for n in go:
                group.start_soon(one, n)

    async def _create_one(self, n: int, item: CreateTaskRequest, key: str, allow_duplicate: bool) -> BatchItem:
        def report(status: ItemStatus, **found: str | None) -> BatchItem:
            return BatchItem(index=n, vendor=item.vendor, title=item.title, status=status, **found)

        try:
            task = await self.tasks.create(item, WriteOptions(idempotency_key=key, allow_duplicate=allow_duplicate))
        except PossibleDuplicate as exc:
            return report("duplicate", reason=exc.message)
        except OutcomeUnknown as exc:
            return report("unknown", reason=str(exc))
        except TaskLinkError as exc:
            return report("refused" if exc.actor == "model" else "failed", reason=str(exc))
        return report("replayed" if task.replayed else "created", id=task.id, url=task.url)

    # -- answers --------------------------------------------------------------------------------------

    @staticmethod
    def _counts(items: list[BatchItem]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    def _unsent(self, key: str, checked: list[BatchItem], *, dry_run: bool) -> BatchResult:
        invalid = [c for c in checked if c.status == "refused"]
        if dry_run:
            message = "Dry run: nothing was sent. Items marked valid would be created."
        else:
            message = (f"Nothing was sent: {len(invalid)} item(s) are invalid (see each reason). Fix them and send the "
                       "batch again, or pass partial=true to create the valid items only.")  # fmt: skip
            checked = [c if c.status != "valid" else c.model_copy(update={"status": "not_started"}) for c in checked]
        return BatchResult(batch_key=key, dry_run=dry_run, sent=False, counts=self._counts(checked), items=checked,
                           message=message)  # fmt: skip

    def _finished(self, key: str, items: list[Item], done: list[BatchItem]) -> BatchResult:
        counts = self._counts(done)
        continuation = self.continuation(key, items) if counts.get("not_started") else None
        parts = ", ".join(f"{v} {k}" for k, v in counts.items())
        message = f"Batch done: {parts}."
        if continuation:
            message += " Some items were not started in time: call again with the same items and the continuation."
        return BatchResult(batch_key=key, sent=True, counts=counts, items=done, continuation=continuation,
                           message=message)  # fmt: skip


def _outcome(result: BatchResult) -> str:
    if result.dry_run:
        return "dry_run"
    if not result.sent:
        return "refused:invalid_items"
    return "ok" if result.counts.get("created") else "nothing_new"
