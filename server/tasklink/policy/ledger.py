"""The idempotency ledger and the audit log: tasklink's own state, in SQLite (WAL) in the data dir.

Ledger: one row per caller-supplied idempotency key. A key is *claimed* before the first vendor
request and *settled* after it, in separate committed transactions, so a crash (even kill -9)
between the two leaves evidence: an in-flight row whose owner is gone means the outcome is
unknown, never "try again and maybe duplicate".
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

State = Literal["in_flight", "done", "unknown"]
ClaimKind = Literal["new", "replay", "conflict", "in_flight", "unknown"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    vendor TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    message TEXT,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    transport TEXT NOT NULL,
    client TEXT,
    tool TEXT NOT NULL,
    vendor TEXT,
    target TEXT,
    args_digest TEXT,
    idempotency_key TEXT,
    outcome TEXT NOT NULL,
    detail TEXT,
    vendor_request_id TEXT,
    arguments TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
"""


def digest(payload: Any) -> str:
    """A stable fingerprint of arguments (canonical JSON, SHA-256)."""

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class StateDB:
    """One connection to tasklink's state file, shared by the ledger and the audit log."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self.db.close()


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    operation: str = ""
    vendor: str = ""
    result: str | None = None
    message: str | None = None


class IdempotencyLedger:
    def __init__(
        self,
        db: StateDB,
        *,
        ttl_seconds: float,
        stale_after: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self.stale_after = stale_after
        self.clock = clock
        #: identifies this process; an in-flight row owned by another, silent owner is abandoned
        self.owner = uuid.uuid4().hex

    def claim(self, key: str, operation: str, vendor: str, args_digest: str) -> Claim:
        now = self.clock()
        with self.db.transaction() as db:
            row = db.execute(
                "SELECT operation, vendor, digest, state, result, message, owner, created_at, updated_at "
                "FROM idempotency WHERE key=?",
                (key,),
            ).fetchone()
            if row is not None and now - row[7] > self.ttl:
                db.execute("DELETE FROM idempotency WHERE key=?", (key,))
                row = None
            if row is None:
                db.execute(
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
            abandoned = owner != self.owner and now - updated > self.stale_after
            if abandoned:
                message = "an earlier attempt with this key was interrupted before its outcome was recorded"
                db.execute(
                    "UPDATE idempotency SET state='unknown', message=?, updated_at=? WHERE key=?", (message, now, key)
                )
                return Claim("unknown", op, ven, message=message)
            return Claim("in_flight", op, ven)

    def retake(self, key: str) -> None:
        """Take over an unknown-outcome key (only for vendors that deduplicate by the same key)."""

        with self.db.transaction() as db:
            db.execute(
                "UPDATE idempotency SET state='in_flight', owner=?, updated_at=? WHERE key=?",
                (self.owner, self.clock(), key),
            )

    def settle(self, key: str, result_json: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE idempotency SET state='done', result=?, updated_at=? WHERE key=?",
                (result_json, self.clock(), key),
            )

    def mark_unknown(self, key: str, message: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE idempotency SET state='unknown', message=?, updated_at=? WHERE key=?",
                (message, self.clock(), key),
            )

    def release(self, key: str) -> None:
        """The attempt definitely wrote nothing: forget the key so a corrected retry can use it."""

        with self.db.transaction() as db:
            db.execute("DELETE FROM idempotency WHERE key=?", (key,))

    def state(self, key: str) -> State | None:
        rows = self.db.query("SELECT state FROM idempotency WHERE key=?", (key,))
        return rows[0][0] if rows else None


class AuditLog:
    def __init__(self, db: StateDB, *, clock: Callable[[], float] = time.time, full: bool = False) -> None:
        self.db = db
        self.clock = clock
        self.full = full

    def record(
        self,
        *,
        transport: str,
        client: str | None,
        tool: str,
        vendor: str | None,
        target: str | None,
        args_digest: str | None,
        idempotency_key: str | None,
        outcome: str,
        detail: str | None = None,
        vendor_request_id: str | None = None,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO audit(at, transport, client, tool, vendor, target, args_digest, idempotency_key, "
                "outcome, detail, vendor_request_id, arguments) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.clock(),
                    transport,
                    client,
                    tool,
                    vendor,
                    target,
                    args_digest,
                    idempotency_key,
                    outcome,
                    detail,
                    vendor_request_id,
                    json.dumps(arguments, default=str) if (self.full and arguments is not None) else None,
                ),
            )

    def entries(self, *, since: float | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        columns = [
            "at",
            "transport",
            "client",
            "tool",
            "vendor",
            "target",
            "args_digest",
            "idempotency_key",
            "outcome",
            "detail",
            "vendor_request_id",
            "arguments",
        ]
        sql = f"SELECT {', '.join(columns)} FROM audit WHERE at >= ? ORDER BY seq DESC"  # noqa: S608 - fixed columns
        args: tuple[Any, ...] = (since or 0.0,)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        rows = self.db.query(sql, args)
        out = [dict(zip(columns, row, strict=True)) for row in reversed(rows)]
        for entry in out:
            if entry["arguments"] is None:
                del entry["arguments"]
            else:
                entry["arguments"] = json.loads(entry["arguments"])
        return out
