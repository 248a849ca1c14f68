"""The write gate: every vendor write passes here once — dry run, idempotency ledger, audit.

    result = await gate.run(WriteCall(...), execute=..., preview=..., result_type=Task)

- dry run: `execute` runs with the dry-run flag set; the HTTP layer captures the first write and
  stops; `preview` turns the captured request into the tool's normal result type;
- idempotency: a caller's key is claimed in the ledger before the first request; a repeat with
  the same arguments returns the stored result (marked `replayed`), a repeat with different
  arguments is refused, a concurrent repeat waits for the first, and an unknown outcome is
  reported, not retried — unless the vendor itself deduplicates by that key;
- audit: every write, replay, dry run and refusal is recorded with who asked and what happened.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import anyio
from pydantic import BaseModel

from .dryrun import DryRunReport, DryRunStop, dry_run
from .errors import InvalidInput, OutcomeUnknown, TaskLinkError, VendorError
from .ledger import AuditLog, IdempotencyLedger, digest


class WriteResult(Protocol):
    replayed: bool


M = TypeVar("M", bound=BaseModel)


@dataclass
class CallInfo:
    """Who is calling; set by the front end (MCP tool boundary, CLI) for the audit log."""

    transport: str = "python"
    client: str | None = None
    tool: str | None = None


call_info: ContextVar[CallInfo] = ContextVar("tasklink_call_info", default=CallInfo())  # noqa: B039 - frozen default


@dataclass(frozen=True)
class WriteOptions:
    """How one write should run: its idempotency key, dry run, duplicate override."""

    idempotency_key: str | None = None
    dry_run: bool = False
    allow_duplicate: bool = False


class InProgress(TaskLinkError):
    retryable = True

    def retry_advice(self) -> str:
        return "Retry shortly with the same idempotency_key; it will return the first call's result."


@dataclass
class WriteCall:
    operation: str
    vendor: str
    arguments: dict[str, Any]
    target: str | None = None
    idempotency_key: str | None = None
    dry_run: bool = False
    #: the vendor deduplicates by the key itself, so an unknown outcome may be retried with it
    vendor_dedupes: bool = False
    extra_audit: dict[str, Any] = field(default_factory=dict)


class WriteGate:
    def __init__(
        self,
        ledger: IdempotencyLedger,
        audit: AuditLog,
        *,
        wait_timeout: float = 60.0,
        poll_interval: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.clock = clock

    def record(self, call: WriteCall, outcome: str, *, target: str | None = None, detail: str | None = None,
               request_id: str | None = None) -> None:  # fmt: skip
        info = call_info.get()
        self.audit.record(
            transport=info.transport,
            client=info.client,
            tool=info.tool or call.operation,
            vendor=call.vendor,
            target=target or call.target,
            args_digest=digest(call.arguments),
            idempotency_key=call.idempotency_key,
            outcome=outcome,
            detail=detail,
            vendor_request_id=request_id,
            arguments=call.arguments,
        )

    def refuse(self, call: WriteCall, exc: TaskLinkError) -> None:
        request_id = exc.request_id if isinstance(exc, VendorError) else None
        outcome = "unknown" if isinstance(exc, OutcomeUnknown) else f"refused:{type(exc).__name__}"
        self.record(call, outcome, detail=exc.message[:300], request_id=request_id)

    async def run(
        self,
        call: WriteCall,
        *,
        execute: Callable[[], Awaitable[M]],
        preview: Callable[[DryRunReport], Awaitable[M]],
        result_type: type[M],
    ) -> M:
        if call.dry_run:
            return await self._dry_run(call, execute, preview)
        key = call.idempotency_key
        if key is None:
            return await self._execute(call, execute)
        replay = await self._claim(call, key, result_type)
        if replay is not None:
            return replay
        try:
            result = await execute()
        except OutcomeUnknown as exc:
            self.ledger.mark_unknown(key, exc.message)
            self.refuse(call, exc)
            raise
        except TaskLinkError as exc:
            self.ledger.release(key)
            self.refuse(call, exc)
            raise
        except BaseException:
            # a bug or a cancelled call after the request may have gone out: never claim it did not happen
            self.ledger.mark_unknown(key, "the call was interrupted after it may have reached the vendor")
            self.record(call, "unknown", detail="interrupted")
            raise
        self.ledger.settle(key, result.model_dump_json())
        self.record(call, "ok", target=_target_of(result))
        return result

    async def _execute(self, call: WriteCall, execute: Callable[[], Awaitable[M]]) -> M:
        try:
            result = await execute()
        except TaskLinkError as exc:
            self.refuse(call, exc)
            raise
        self.record(call, "ok", target=_target_of(result))
        return result

    async def _dry_run(
        self, call: WriteCall, execute: Callable[[], Awaitable[M]], preview: Callable[[DryRunReport], Awaitable[M]]
    ) -> M:
        try:
            with dry_run():
                await execute()
        except DryRunStop as stop:
            self.record(call, "dry_run")
            return await preview(stop.report)
        except TaskLinkError as exc:
            self.refuse(call, exc)
            raise
        raise AssertionError(f"{call.operation} finished a dry run without reaching a write")  # pragma: no cover

    async def _claim(self, call: WriteCall, key: str, result_type: type[M]) -> M | None:
        """Claim `key`; return a stored result to replay, or None to go ahead with the write."""

        deadline = time.monotonic() + self.wait_timeout
        while True:
            claim = self.ledger.claim(key, call.operation, call.vendor, digest(call.arguments))
            if claim.kind == "new":
                return None
            if claim.kind == "replay":
                assert claim.result is not None
                result = result_type.model_validate_json(claim.result)
                if hasattr(result, "replayed"):
                    result.replayed = True
                self.record(call, "replay", target=_target_of(result))
                return result
            if claim.kind == "conflict":
                exc = InvalidInput(
                    f"idempotency_key {key!r} was already used for {claim.operation} on {claim.vendor} with "
                    "different arguments",
                    field="idempotency_key",
                    hint="use a new key for a different call, or repeat the original arguments exactly",
                )
                self.refuse(call, exc)
                raise exc
            if claim.kind == "unknown":
                if call.vendor_dedupes:
                    self.ledger.retake(key)
                    return None
                unknown = OutcomeUnknown(
                    f"An earlier {call.operation} with idempotency_key {key!r} has an unknown outcome "
                    f"({claim.message}); tasklink will not send it again",
                    how_to_check=f"look for the record in {call.vendor} (list or get) and continue from what you find",
                )
                self.refuse(call, unknown)
                raise unknown
            if time.monotonic() >= deadline:
                busy = InProgress(f"A call with idempotency_key {key!r} is still in progress")
                self.refuse(call, busy)
                raise busy
            await anyio.sleep(self.poll_interval)


def _target_of(result: BaseModel) -> str | None:
    for name in ("id", "target"):
        value = getattr(result, name, None)
        if value not in (None, "", 0):
            return str(value)
    return None
