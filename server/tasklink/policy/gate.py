"""The write gate: every vendor write passes here once — idempotency key, ledger, send or describe, audit.

    result = await gate.write(call, prepare)      # sends the plan
    preview = await gate.describe(call, prepare)  # describes it; nothing is sent

`prepare` runs the call's checks and returns the adapter's `WritePlan` (planning validates and
may read, never writes). The gate owns the idempotency key: it takes the caller's or mints one
for every write, claims it in the ledger before the plan is made, and hands it to the HTTP layer,
which attaches it for vendors that honour keys. A repeat with the same key and arguments returns
the stored result (marked `replayed`), with different arguments is refused, while the first is
still running waits for it, and after an unknown outcome is refused — unless the vendor itself
deduplicates by that key. Every write, replay, dry run and refusal is audited.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
from pydantic import BaseModel, Field

from .. import observability
from ..errors import InProgress, InvalidInput, OutcomeUnknown, StateUnavailable, TaskLinkError, VendorError
from ..models import DryRunReport, ResolvedPerson
from ..principals import acting
from ..state import Tx
from ..vendors._http import VendorHttp, WritePlan
from .ledger import AuditLog, IdempotencyLedger, digest

log = logging.getLogger("tasklink")
R = TypeVar("R", bound=BaseModel)
#: the longest vendor-supplied text (an error message, a request id) an audit row keeps
AUDIT_TEXT_LIMIT = 300


@dataclass
class CallInfo:
    """Who is calling; set by the front end (MCP tool boundary, CLI) for the audit log."""

    transport: str = "python"
    client: str | None = None
    tool: str | None = None
    #: the verified credential (HTTP token name or OAuth subject); None in-process and over stdio
    credential: str | None = None
    #: who the call acts for (principals.py); the audit keeps it apart from the client's declared name
    principal: str | None = None


call_info: ContextVar[CallInfo] = ContextVar("tasklink_call_info", default=CallInfo())  # noqa: B039 - frozen default


@dataclass(frozen=True)
class WriteOptions:
    """How one write should run: the caller's idempotency key, the duplicate override."""

    idempotency_key: str | None = None
    allow_duplicate: bool = False


NO_OPTIONS = WriteOptions()


@dataclass
class WriteCall:
    """One logical write as the audit and the ledger see it."""

    operation: str
    vendor: str
    arguments: dict[str, Any]
    target: str | None = None
    #: the caller's key; when None the gate mints one
    idempotency_key: str | None = None
    #: the vendor deduplicates by the key itself, so an unknown outcome may be retried with it
    vendor_dedupes: bool = False
    #: looks for what an earlier attempt with an unknown outcome left at the vendor (None: nothing found)
    recover: Callable[[], Awaitable[BaseModel | None]] | None = None


@dataclass
class Prepared(Generic[R]):
    """A write ready to go: the plan, where it goes, and how its answer becomes the call's result."""

    http: VendorHttp
    plan: WritePlan[Any]
    finish: Callable[[Any], Awaitable[R]]
    #: what a dry run's verdict adds to "allowed" (a read it needed, a check it skipped)
    notes: list[str] = field(default_factory=list)
    #: the call's own warnings (due date, deprecation), shown with a preview as with a result
    warnings: list[str] = field(default_factory=list)
    resolved: list[ResolvedPerson] = field(default_factory=list)
    #: the longest key the vendor takes (None: keys are not sent)
    key_max_length: int | None = None
    #: releases what the preparation holds (a create's title lock) once the write is over
    release: Callable[[], Awaitable[None]] | None = None

    async def done(self) -> None:
        if self.release is not None:
            await self.release()


Prepare = Callable[[bool], Awaitable[Prepared[R]]]


class WritePreview(BaseModel):
    """A dry run: exactly the request a real call would send, and the guardrails' verdict. Nothing was sent."""

    vendor: str
    operation: str
    target: str | None = None
    request: DryRunReport
    warnings: list[str] = Field(default_factory=list)
    resolved: list[ResolvedPerson] = Field(default_factory=list)


def mint_key() -> str:
    return str(uuid.uuid4())


#: separates a principal's scope from the key it gave, in the ledger
SCOPE_MARK = "\x1f"


def scoped_key(key: str) -> str:
    """The ledger's key: the caller's, bound to the acting principal (unchanged for the local user)."""

    scope = acting().scope()
    return f"{scope}{SCOPE_MARK}{key}" if scope else key


class WriteGate:
    def __init__(
        self,
        ledger: IdempotencyLedger,
        audit: AuditLog,
        *,
        redact: Callable[[str], str] = str,
        wait_timeout: float = 60.0,
        poll_interval: float = 0.02,
    ) -> None:
        self.ledger = ledger
        self.audit = audit
        self.redact = redact
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval

    # -- audit ----------------------------------------------------------------------------

    def _row(self, call: WriteCall) -> dict[str, Any]:
        info = call_info.get()
        return {
            "transport": info.transport,
            "client": info.client,
            "credential": info.credential,
            "principal": info.principal or acting().id,
            "tool": info.tool or call.operation,
            "vendor": call.vendor,
            "target": call.target,
            "args_digest": digest(call.arguments),
            "idempotency_key": call.idempotency_key,
            "arguments": call.arguments,
        }

    async def record(self, call: WriteCall, outcome: str, *, target: str | None = None, detail: str | None = None,
               request_id: str | None = None) -> None:  # fmt: skip
        row = self._row(call) | {"target": target or call.target}
        await self.audit.record(
            **row, outcome=outcome, detail=self._clean(detail), vendor_request_id=self._clean(request_id)
        )

    async def refuse(self, call: WriteCall, exc: TaskLinkError) -> None:
        """Audit a refusal; a store that cannot take the row must not hide why the call was refused."""

        try:
            await self.record(call, _outcome_of(exc), detail=exc.message, request_id=_request_id(exc))
        except StateUnavailable as unavailable:
            log.warning("the audit row of a refused %s was not written: %s", call.operation, unavailable)

    def _clean(self, text: str | None) -> str | None:
        """Vendor-supplied text for the audit: credentials scrubbed, bounded."""

        return None if text is None else self.redact(text)[:AUDIT_TEXT_LIMIT]

    async def _finish(self, attempt: int, outcome: str, *, target: str | None = None, detail: str | None = None,
                request_id: str | None = None) -> None:  # fmt: skip
        await self.audit.finish(
            attempt, outcome, target=target, detail=self._clean(detail), request_id=self._clean(request_id)
        )

    # -- the two ways through -------------------------------------------------------------

    async def describe(self, call: WriteCall, prepare: Prepare[R]) -> WritePreview:
        """Plan the write and describe it; nothing is sent and the key is not claimed."""

        try:
            prepared = await prepare(True)
            key = self._key(call, prepared)
        except TaskLinkError as exc:
            await self.refuse(call, exc)
            raise
        request = dataclasses.replace(prepared.plan.request, idempotency_key=key)
        report = prepared.http.describe(request)
        report.verdict = "; ".join(["allowed", *prepared.notes])
        await self.record(call, "dry_run")
        return WritePreview(
            vendor=call.vendor,
            operation=call.operation,
            target=call.target,
            request=report,
            warnings=[*prepared.plan.warnings, *prepared.warnings],
            resolved=prepared.resolved,
        )

    async def write(self, call: WriteCall, prepare: Prepare[R], result_type: type[R]) -> R:
        if call.idempotency_key is None:
            call = dataclasses.replace(call, idempotency_key=mint_key())
        assert call.idempotency_key is not None
        key = scoped_key(call.idempotency_key)  # another principal's same key is another key
        try:
            replay = await self._claim(call, key, result_type)
        except StateUnavailable as exc:
            raise type(exc)(f"{exc.message}; nothing was sent") from None
        if replay is not None:
            return replay
        try:
            prepared = await prepare(False)
        except TaskLinkError as exc:
            await quietly(self.ledger.release(key))
            await self.refuse(call, exc)
            raise
        except BaseException:
            await quietly(self.ledger.release(key))  # nothing was sent yet
            raise
        async with _released(prepared):
            return await self._send(call, key, prepared)

    async def _send(self, call: WriteCall, key: str, prepared: Prepared[R]) -> R:
        try:
            self._key(call, prepared)
            attempt = await self.audit.begin(**self._row(call))  # committed before anything is sent
        except TaskLinkError as exc:
            await quietly(self.ledger.release(key))
            if not isinstance(exc, StateUnavailable):
                await self.refuse(call, exc)
            raise
        try:
            answer = await prepared.http.execute(dataclasses.replace(prepared.plan, request=self._keyed(prepared, key)))
        except OutcomeUnknown as exc:
            await quietly(self.ledger.mark_unknown(key, exc.message))
            await quietly(self._finish(attempt, "unknown", detail=exc.message, request_id=exc.request_id))
            raise
        except TaskLinkError as exc:
            await quietly(self.ledger.release(key))
            await quietly(self._finish(attempt, _outcome_of(exc), detail=exc.message, request_id=_request_id(exc)))
            raise
        except BaseException:
            # a cancelled call after the request may have gone out: never claim it did not happen
            with anyio.CancelScope(shield=True):
                await quietly(
                    self.ledger.mark_unknown(key, "the call was interrupted after it may have reached the vendor")
                )
                await quietly(self._finish(attempt, "unknown", detail="interrupted"))
            raise
        # the write is made: from here a failing store is logged, never reported as a failed write (its key
        # stays in flight, so a retry waits and is then told the outcome is unknown — it is never resent)
        result = await prepared.finish(answer)

        async def audited(tx: Tx) -> None:
            await self.audit.finish_in(tx, attempt, "ok", target=_target_of(result))

        await quietly(self.ledger.settle(key, result.model_dump_json(), also=audited))  # one transaction
        return result

    # -- keys -----------------------------------------------------------------------------

    @staticmethod
    def _keyed(prepared: Prepared[Any], key: str) -> Any:
        """The request with the key the vendor gets: a principal's scoped key is hashed, so two principals'
        same key never meets in a vendor that deduplicates by key (under one service credential)."""

        sent = key if SCOPE_MARK not in key else hashlib.sha256(key.encode()).hexdigest()
        return dataclasses.replace(prepared.plan.request, idempotency_key=sent)

    @staticmethod
    def _key(call: WriteCall, prepared: Prepared[Any]) -> str:
        key = call.idempotency_key or mint_key()
        limit = prepared.key_max_length
        if limit is not None and len(key) > limit:
            raise InvalidInput(
                f"{call.vendor} accepts idempotency keys of at most {limit} characters", field="idempotency_key"
            )
        return key

    async def _recovered(self, call: WriteCall, key: str, result_type: type[R]) -> R | None:
        """After an unknown outcome, look the record up instead of leaving the retry in a loop: when the
        earlier attempt's record is found, it is this key's result from now on."""

        assert call.recover is not None
        try:
            found = await call.recover()
        except TaskLinkError:
            return None
        if found is None:
            return None
        result = result_type.model_validate(found.model_dump())
        warnings = getattr(result, "warnings", None)
        if isinstance(warnings, list):
            warnings.append(
                "An earlier call with this idempotency_key had an unknown outcome; tasklink looked it up at the "
                "vendor and found this record, so nothing was sent again."
            )
        if hasattr(result, "replayed"):
            result.replayed = True
        await self.ledger.settle_recovered(key, result.model_dump_json())
        await self.record(call, "recovered", target=_target_of(result))
        return result

    async def _claim(self, call: WriteCall, key: str, result_type: type[R]) -> R | None:
        """Claim `key`; return a stored result to replay, or None to go ahead with the write."""

        deadline = time.monotonic() + self.wait_timeout
        while True:
            claim = await self.ledger.claim(key, call.operation, call.vendor, digest(call.arguments))
            observability.ledger_claim(claim.kind)
            if claim.kind == "new":
                return None
            if claim.kind == "replay":
                assert claim.result is not None
                result = result_type.model_validate_json(claim.result)
                if hasattr(result, "replayed"):
                    result.replayed = True
                await self.record(call, "replay", target=_target_of(result))
                return result
            if claim.kind == "unknown" and call.vendor_dedupes:
                await self.ledger.retake(key)
                return None
            if claim.kind == "unknown" and call.recover is not None:
                found = await self._recovered(call, key, result_type)
                if found is not None:
                    return found
            if claim.kind != "in_flight" or time.monotonic() >= deadline:
                refusal = _claim_refusal(call, key, claim.kind, claim.operation, claim.vendor, claim.message)
                await self.refuse(call, refusal)
                raise refusal
            await anyio.sleep(self.poll_interval)


def _claim_refusal(
    call: WriteCall, key: str, kind: str, operation: str, vendor: str, message: str | None
) -> TaskLinkError:
    if kind == "conflict":
        return InvalidInput(
            f"idempotency_key {key!r} was already used for {operation} on {vendor} with different arguments",
            field="idempotency_key",
            hint="use a new key for a different call, or repeat the original arguments exactly",
        )
    if kind == "unknown":
        return OutcomeUnknown(
            f"An earlier {call.operation} with idempotency_key {key!r} has an unknown outcome "
            f"({message}); tasklink will not send it again",
            how_to_check=f"look for the record in {call.vendor} (list or get) and continue from what you find",
        )
    return InProgress(f"A call with idempotency_key {key!r} is still in progress")


@asynccontextmanager
async def _released(prepared: Prepared[Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled call still gives its lock back
            await prepared.done()


async def quietly(step: Awaitable[Any]) -> None:
    """Bookkeeping after the decision is made: a store that fails here is logged, not raised."""

    try:
        await step
    except StateUnavailable as exc:
        log.warning("tasklink's state store missed an update: %s", exc)


def _outcome_of(exc: TaskLinkError) -> str:
    return "unknown" if isinstance(exc, OutcomeUnknown) else f"refused:{type(exc).__name__}"


def _request_id(exc: TaskLinkError) -> str | None:
    return exc.request_id if isinstance(exc, VendorError) else None


def _target_of(result: BaseModel) -> str | None:
    for name in ("id", "target"):
        value = getattr(result, name, None)
        if value not in (None, "", 0):
            return str(value)
    return None
