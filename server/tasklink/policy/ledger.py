"""The idempotency ledger and the audit log: tasklink's own state, in SQLite (WAL) in the data dir.

Ledger: one row per caller-supplied idempotency key. A key is *claimed* before the first vendor
request and *settled* after it, in separate committed transactions, so a crash (even kill -9)
between the two leaves evidence: an in-flight row whose owner is gone means the outcome is
unknown, never "try again and maybe duplicate".

Retention: nothing here grows without bound. An idempotency row (which holds the whole result) is
deleted once its key has expired (TASKLINK_IDEMPOTENCY_TTL_HOURS), an audit row once it is older
than TASKLINK_AUDIT_RETENTION_DAYS, an elicited delete's preview once it has expired. The write
path prunes: at most every PRUNE_EVERY seconds (on the first write after start-up, then as writes
come), each table loses at most PRUNE_BATCH rows in one short transaction of its own, so a backlog
drains a batch per write and no write ever waits long; SQLite reuses the freed pages, so the file
stops growing once the oldest rows leave as fast as new ones come.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import StateUnavailable

log = logging.getLogger("tasklink")

#: rows one table loses per pruning transaction, and seconds between prunes once nothing is left to prune
PRUNE_BATCH = 500
PRUNE_EVERY = 300.0
DAY = 86_400.0

State = Literal["in_flight", "done", "unknown"]
#: the outcome of a write's audit row until the write finishes; left by a crash, it means "outcome unknown"
ATTEMPT = "attempt"
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
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    transport TEXT NOT NULL,
    client TEXT,
    credential TEXT,
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
CREATE TABLE IF NOT EXISTS previews (
    operation TEXT NOT NULL,
    vendor TEXT NOT NULL,
    target TEXT NOT NULL,
    digest TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (operation, vendor, target)
);
CREATE INDEX IF NOT EXISTS previews_expires ON previews(expires);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS recent_writes (
    vendor TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    record_id TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS recent_writes_title ON recent_writes(vendor, kind, title);
"""


SQLITE_HEADER = b"SQLite format 3\x00"
MOVE_AWAY = (
    "if it is damaged, restore it from a backup or move it away to start afresh (the idempotency keys and "
    "the audit log in it are then forgotten); if it is read-only, make it writable"
)


def _create(path: Path) -> None:
    """A complete, private state file, linked into place (a concurrent creator's file wins)."""

    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        db = sqlite3.connect(str(temporary), isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            leftover.unlink(missing_ok=True)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """State files written by an earlier version gain the columns added since."""

    columns = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    if "credential" not in columns:
        db.execute("ALTER TABLE audit ADD COLUMN credential TEXT")


def _refuse_foreign(path: Path) -> None:
    """An empty or non-SQLite file is refused, never re-initialised (that would forget every key)."""

    with path.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    if not head:
        raise StateUnavailable(f"{path} is empty (0 bytes), so tasklink's state was lost or truncated; {MOVE_AWAY}")
    if head != SQLITE_HEADER:
        raise StateUnavailable(f"{path} is not an SQLite database, so it is not tasklink's state; {MOVE_AWAY}")


def digest(payload: Any) -> str:
    """A stable fingerprint of arguments (canonical JSON, SHA-256)."""

    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class StateDB:
    """One connection to tasklink's state file, shared by the ledger and the audit log.

    The file is created complete (schema and WAL mode written to a private temporary file, mode
    0600, then linked into place), so two processes opening a fresh data dir at once both start. A
    file that is empty, not SQLite, someone else's database, damaged or read-only stops start-up with
    one message naming the file and what to do — never a silently fresh ledger.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                _create(path)
        except OSError as exc:
            raise StateUnavailable(
                f"tasklink cannot create its state file {path} ({exc.strerror}); "
                "set TASKLINK_DATA_DIR to a folder it can write"
            ) from None
        _refuse_foreign(path)
        try:
            self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
            self.db.execute("PRAGMA synchronous=NORMAL")
            tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and not {"idempotency", "audit"} <= tables:
                raise StateUnavailable(f"{path} is another program's database, not tasklink's state; {MOVE_AWAY}")
            self.db.executescript(SCHEMA)
            _add_missing_columns(self.db)
            if self.db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the integrity check failed")
        except sqlite3.Error as exc:
            raise StateUnavailable(f"tasklink cannot use its state file {path} ({exc}); {MOVE_AWAY}") from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StateUnavailable(f"tasklink could not read or write its state file {self.path} ({exc})") from None

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._translated():
            return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def prune(self, table: str, before: float, *, batch: int = PRUNE_BATCH) -> int:
        """Delete at most `batch` of `table`'s rows that expired before `before`, oldest first; how many went.

        One short transaction; a failure is logged and left for the next prune (it never fails a write)."""

        column, order = PRUNABLE[table]
        sql = (
            f"DELETE FROM {table} WHERE rowid IN "  # noqa: S608 - fixed names from PRUNABLE
            f"(SELECT rowid FROM {table} WHERE {column} < ? ORDER BY {order} LIMIT ?)"
        )
        try:
            with self.transaction() as db:
                return int(db.execute(sql, (before, batch)).rowcount)
        except StateUnavailable as exc:
            log.warning("pruning %s failed, to be tried again: %s", table, exc)
            return 0

    # -- the last preview of a delete target (what an elicited confirmation is bound to) ------

    def remember_preview(self, operation: str, vendor: str, target: str, digest: str, expires: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO previews(operation, vendor, target, digest, expires) VALUES (?,?,?,?,?) "
                "ON CONFLICT(operation, vendor, target) DO UPDATE SET digest=excluded.digest, expires=excluded.expires",
                (operation, vendor, target, digest, expires),
            )

    def previewed(self, operation: str, vendor: str, target: str, now: float) -> str | None:
        rows = self.query(
            "SELECT digest FROM previews WHERE operation=? AND vendor=? AND target=? AND expires >= ?",
            (operation, vendor, target, now),
        )
        return str(rows[0][0]) if rows else None


#: table -> (the time column a row expires by, the order rows go in); each time column is indexed
PRUNABLE: dict[str, tuple[str, str]] = {
    "audit": ("at", "seq"),
    "idempotency": ("created_at", "created_at"),
    "previews": ("expires", "expires"),
}


class Pruner:
    """When a write path prunes its tables: at most every PRUNE_EVERY seconds, and again on the next write
    while a batch came back full (a backlog drains one batch per write)."""

    def __init__(self, db: StateDB, retention: dict[str, float]) -> None:
        self.db = db
        #: table -> seconds a row is kept past its time column (0 for previews: their column is the expiry)
        self.retention = retention
        self.due = float("-inf")

    def tend(self, now: float) -> None:
        if now < self.due:
            return
        full = False
        for table, keep in self.retention.items():
            full |= self.db.prune(table, now - keep) >= PRUNE_BATCH
        self.due = now if full else now + PRUNE_EVERY


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
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        #: expired keys (and expired delete previews) leave as writes come; a key still in flight is never
        #: pruned (it is older than `stale_after` only when its owner is gone)
        self.pruner = Pruner(db, {"idempotency": max(ttl_seconds, stale_after), "previews": 0.0})

    def claim(self, key: str, operation: str, vendor: str, args_digest: str) -> Claim:
        now = self.clock()
        self.pruner.tend(now)
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
            abandoned = owner != self.owner and (now - updated > self.stale_after or owner_is_gone(owner))
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

    def settle_recovered(self, key: str, result_json: str) -> None:
        """An unknown outcome resolved by looking the record up: the key's result from now on."""

        now = self.clock()
        with self.db.transaction() as db:
            db.execute(
                "UPDATE idempotency SET state='done', result=?, message=NULL, updated_at=? WHERE key=?",
                (result_json, now, key),
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
    def __init__(
        self,
        db: StateDB,
        *,
        clock: Callable[[], float] = time.time,
        full: bool = False,
        retention_days: float = 90.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.full = full
        #: rows older than this leave as writes come (TASKLINK_AUDIT_RETENTION_DAYS)
        self.pruner = Pruner(db, {"audit": retention_days * DAY})

    def record(
        self,
        *,
        transport: str,
        client: str | None,
        tool: str,
        credential: str | None = None,
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
        self.pruner.tend(now)
        with self.db.transaction() as db:
            cursor = db.execute(
                "INSERT INTO audit(at, transport, client, credential, tool, vendor, target, args_digest, "
                "idempotency_key, outcome, detail, vendor_request_id, arguments) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    now,
                    transport,
                    client,
                    credential,
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
            return int(cursor.lastrowid or 0)

    def begin(self, **fields: Any) -> int:
        """The first phase of a write's audit: an `attempt` row, committed before the first vendor request.

        A crash before `finish` leaves the attempt, which readers show as "outcome unknown". Raises
        StateUnavailable when the row cannot be written (disk full, read-only), so nothing is sent.
        """

        try:
            return self.record(outcome=ATTEMPT, **fields)
        except sqlite3.Error as exc:
            raise StateUnavailable(
                f"tasklink could not write the audit row for this write ({exc}), so nothing was sent; "
                f"check that {self.db.path} is writable and the disk has room"
            ) from None

    def finish(
        self, seq: int, outcome: str, *, target: str | None, detail: str | None = None, request_id: str | None = None
    ) -> None:
        """The second phase: the attempt row gets the outcome."""

        with self.db.transaction() as db:
            db.execute(
                "UPDATE audit SET outcome=?, target=coalesce(?, target), detail=?, vendor_request_id=? WHERE seq=?",
                (outcome, target, detail, request_id, seq),
            )

    def entries(
        self, *, since: float | None = None, limit: int | None = None, credential: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries oldest first; with `credential`, only that credential's."""

        columns = [
            "at",
            "transport",
            "client",
            "credential",
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
        mine = " AND credential = ?" if credential is not None else ""
        sql = f"SELECT {', '.join(columns)} FROM audit WHERE at >= ?{mine} ORDER BY seq DESC"  # noqa: S608 - fixed
        args: tuple[Any, ...] = (since or 0.0,) + ((credential,) if credential is not None else ())
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
