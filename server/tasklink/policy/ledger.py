"""The idempotency ledger and the audit log, in the state store (state/: SQLite or PostgreSQL).

Ledger: one row per caller-supplied idempotency key. A key is *claimed* before the first vendor
request and *settled* after it, in separate committed transactions, so a crash (even kill -9)
between the two leaves evidence: an in-flight row whose owner is gone means the outcome is
unknown, never "try again and maybe duplicate".

Retention: nothing here grows without bound. An idempotency row (which holds the whole result) is
deleted once its key has expired (TASKLINK_IDEMPOTENCY_TTL_HOURS), an audit row once it is older
than TASKLINK_AUDIT_RETENTION_DAYS, an elicited delete's preview once it has expired. The write
path prunes: at most every PRUNE_EVERY seconds (on the first write after start-up, then as writes
come), each table loses at most PRUNE_BATCH rows in one short transaction of its own, so a backlog
drains a batch per write and no write ever waits long; the databases reuse the freed pages, so the
store stops growing once the oldest rows leave as fast as new ones come.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import StateUnavailable
from ..state import StateStore, Tx

log = logging.getLogger("tasklink")

#: rows one table loses per pruning transaction, and seconds between prunes once nothing is left to prune
PRUNE_BATCH = 500
PRUNE_EVERY = 300.0
DAY = 86_400.0

State = Literal["in_flight", "done", "unknown"]
#: the outcome of a write's audit row until the write finishes; left by a crash, it means "outcome unknown"
ATTEMPT = "attempt"
ClaimKind = Literal["new", "replay", "conflict", "in_flight", "unknown"]


def digest(payload: Any) -> str:
    """A stable fingerprint of arguments (canonical JSON, SHA-256)."""

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class Previews:
    """The last preview of each delete target (what an elicited confirmation is bound to)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def remember(self, operation: str, vendor: str, target: str, digest: str, expires: float) -> None:
        async with self.store.transaction() as tx:
            await tx.execute(
                "INSERT INTO previews(operation, vendor, target, digest, expires) VALUES (?,?,?,?,?) "
                "ON CONFLICT(operation, vendor, target) DO UPDATE SET digest=excluded.digest, expires=excluded.expires",
                (operation, vendor, target, digest, expires),
            )

    async def find(self, operation: str, vendor: str, target: str, now: float) -> str | None:
        rows = await self.store.query(
            "SELECT digest FROM previews WHERE operation=? AND vendor=? AND target=? AND expires >= ?",
            (operation, vendor, target, now),
        )
        return str(rows[0][0]) if rows else None


#: table -> the time column a row expires by (indexed; rows go oldest first)
PRUNABLE: dict[str, str] = {"audit": "at", "idempotency": "created_at", "previews": "expires"}


class Pruner:
    """When a write path prunes its tables: at most every PRUNE_EVERY seconds, and again on the next write
    while a batch came back full (a backlog drains one batch per write)."""

    def __init__(self, store: StateStore, retention: dict[str, float]) -> None:
        self.store = store
        #: table -> seconds a row is kept past its time column (0 for previews: their column is the expiry)
        self.retention = retention
        self.due = float("-inf")

    async def tend(self, now: float) -> None:
        if now < self.due:
            return
        self.due = now + PRUNE_EVERY  # one prune at a time, even when writes come together
        full = False
        for table, keep in self.retention.items():
            full |= await self.prune(table, now - keep) >= PRUNE_BATCH
        self.due = now if full else now + PRUNE_EVERY

    async def prune(self, table: str, before: float, *, batch: int = PRUNE_BATCH) -> int:
        """Delete at most `batch` of `table`'s rows that expired before `before`, oldest first; how many went.

        One short transaction; a failure is logged and left for the next prune (it never fails a write)."""

        try:
            return await self.store.prune(table, PRUNABLE[table], before, batch)
        except StateUnavailable as exc:
            log.warning("pruning %s failed, to be tried again: %s", table, exc)
            return 0


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    operation: str = ""
    vendor: str = ""
    result: str | None = None
    message: str | None = None


def owner_is_gone(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer runs (a crash: its write is unknown now).

    Owners on other hosts are judged by silence alone (`stale_after`)."""

    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class IdempotencyLedger:
    def __init__(
        self,
        store: StateStore,
        *,
        ttl_seconds: float,
        stale_after: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl = ttl_seconds
        self.stale_after = stale_after
        self.clock = clock
        #: identifies this process; an in-flight row owned by another, silent owner is abandoned
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        #: expired keys (and expired delete previews) leave as writes come; a key still in flight is never
        #: pruned (it is older than `stale_after` only when its owner is gone)
        self.pruner = Pruner(store, {"idempotency": max(ttl_seconds, stale_after), "previews": 0.0})

    async def claim(self, key: str, operation: str, vendor: str, args_digest: str) -> Claim:
        now = self.clock()
        await self.pruner.tend(now)
        async with self.store.transaction() as tx:
            await tx.lock(f"idempotency:{key}")  # one claim of a key at a time, on every worker
            row = (
                await tx.execute(
                    "SELECT operation, vendor, digest, state, result, message, owner, created_at, updated_at "
                    "FROM idempotency WHERE key=?",
                    (key,),
                )
            ).fetchone()
            if row is not None and now - row[7] > self.ttl:
                await tx.execute("DELETE FROM idempotency WHERE key=?", (key,))
                row = None
            if row is None:
                await tx.execute(
                    "INSERT INTO idempotency(key, operation, vendor, digest, state, owner, created_at, updated_at) "
                    "VALUES (?,?,?,?, 'in_flight', ?, ?, ?)",
                    (key, operation, vendor, args_digest, self.owner, now, now),
                )
                return Claim("new")
            op, ven, dig, state, result, message, owner, _, updated = row
            if (op, ven, dig) != (operation, vendor, args_digest):
                return Claim("conflict", op, ven)
            if state == "done":
                return Claim("replay", op, ven, result=result)
            if state == "unknown":
                return Claim("unknown", op, ven, message=message)
            abandoned = owner != self.owner and (now - updated > self.stale_after or owner_is_gone(owner))
            if abandoned:
                message = "an earlier attempt with this key was interrupted before its outcome was recorded"
                await tx.execute(
                    "UPDATE idempotency SET state='unknown', message=?, updated_at=? WHERE key=?", (message, now, key)
                )
                return Claim("unknown", op, ven, message=message)
            return Claim("in_flight", op, ven)

    async def _update(self, sql: str, args: tuple[Any, ...]) -> None:
        async with self.store.transaction() as tx:
            await tx.execute(sql, args)

    async def retake(self, key: str) -> None:
        """Take over an unknown-outcome key (only for vendors that deduplicate by the same key)."""

        await self._update(
            "UPDATE idempotency SET state='in_flight', owner=?, updated_at=? WHERE key=?",
            (self.owner, self.clock(), key),
        )

    async def settle(self, key: str, result_json: str, *, also: Callable[[Tx], Awaitable[None]] | None = None) -> None:
        """The key's result, from now on; `also` runs in the same transaction (the audit row's outcome)."""

        async with self.store.transaction() as tx:
            await tx.execute(
                "UPDATE idempotency SET state='done', result=?, updated_at=? WHERE key=?",
                (result_json, self.clock(), key),
            )
            if also is not None:
                await also(tx)

    async def settle_recovered(self, key: str, result_json: str) -> None:
        """An unknown outcome resolved by looking the record up: the key's result from now on."""

        await self._update(
            "UPDATE idempotency SET state='done', result=?, message=NULL, updated_at=? WHERE key=?",
            (result_json, self.clock(), key),
        )

    async def mark_unknown(self, key: str, message: str) -> None:
        await self._update(
            "UPDATE idempotency SET state='unknown', message=?, updated_at=? WHERE key=?", (message, self.clock(), key)
        )

    async def release(self, key: str) -> None:
        """The attempt definitely wrote nothing: forget the key so a corrected retry can use it."""

        await self._update("DELETE FROM idempotency WHERE key=?", (key,))

    async def state(self, key: str) -> State | None:
        rows = await self.store.query("SELECT state FROM idempotency WHERE key=?", (key,))
        return rows[0][0] if rows else None


AUDIT_COLUMNS = (
    "at",
    "transport",
    "client",
    "credential",
    "principal",
    "tool",
    "vendor",
    "target",
    "args_digest",
    "idempotency_key",
    "outcome",
    "detail",
    "vendor_request_id",
    "arguments",
)


class AuditLog:
    def __init__(
        self,
        store: StateStore,
        *,
        clock: Callable[[], float] = time.time,
        full: bool = False,
        retention_days: float = 90.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.full = full
        #: rows older than this leave as writes come (TASKLINK_AUDIT_RETENTION_DAYS)
        self.pruner = Pruner(store, {"audit": retention_days * DAY})

    async def record(
        self,
        *,
        transport: str,
        client: str | None,
        tool: str,
        credential: str | None = None,
        principal: str | None = None,
        vendor: str | None,
        target: str | None,
        args_digest: str | None,
        idempotency_key: str | None,
        outcome: str,
        detail: str | None = None,
        vendor_request_id: str | None = None,
        arguments: dict[str, Any] | None = None,
    ) -> int:
        """Append one row; returns its sequence number."""

        now = self.clock()
        await self.pruner.tend(now)
        stored = json.dumps(arguments, default=str) if (self.full and arguments is not None) else None
        values = (now, transport, client, credential, principal, tool, vendor, target, args_digest, idempotency_key,
                  outcome, detail, vendor_request_id, stored)  # fmt: skip
        async with self.store.transaction() as tx:
            row = (
                await tx.execute(
                    f"INSERT INTO audit({', '.join(AUDIT_COLUMNS)}) "  # noqa: S608 - fixed column names
                    f"VALUES ({','.join('?' * len(AUDIT_COLUMNS))}) RETURNING seq",
                    values,
                )
            ).fetchone()
            return int(row[0]) if row else 0

    async def begin(self, **fields: Any) -> int:
        """The first phase of a write's audit: an `attempt` row, committed before the first vendor request.

        A crash before `finish` leaves the attempt, which readers show as "outcome unknown". Raises
        StateUnavailable when the row cannot be written (disk full, read-only, the store unreachable), so
        nothing is sent.
        """

        try:
            return await self.record(outcome=ATTEMPT, **fields)
        except StateUnavailable as exc:
            raise StateUnavailable(
                f"tasklink could not write the audit row for this write ({exc.message}), so nothing was sent; "
                f"check that the state store {self.store.where} is reachable and writable"
            ) from None

    async def finish(
        self, seq: int, outcome: str, *, target: str | None, detail: str | None = None, request_id: str | None = None
    ) -> None:
        """The second phase: the attempt row gets the outcome."""

        async with self.store.transaction() as tx:
            await self.finish_in(tx, seq, outcome, target=target, detail=detail, request_id=request_id)

    @staticmethod
    async def finish_in(
        tx: Tx, seq: int, outcome: str, *, target: str | None, detail: str | None = None, request_id: str | None = None
    ) -> None:
        await tx.execute(
            "UPDATE audit SET outcome=?, target=coalesce(?, target), detail=?, vendor_request_id=? WHERE seq=?",
            (outcome, target, detail, request_id, seq),
        )

    async def entries(
        self, *, since: float | None = None, limit: int | None = None, principal: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries oldest first; with `principal`, only that principal's."""

        mine = " AND principal = ?" if principal is not None else ""
        sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE at >= ?{mine} ORDER BY seq DESC"  # noqa: S608
        args: tuple[Any, ...] = (since or 0.0,) + ((principal,) if principal is not None else ())
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        rows = await self.store.query(sql, args)
        out = [dict(zip(AUDIT_COLUMNS, row, strict=True)) for row in reversed(rows)]
        for entry in out:
            if entry["arguments"] is None:
                del entry["arguments"]
            else:
                entry["arguments"] = json.loads(entry["arguments"])
        return out
