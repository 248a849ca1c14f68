"""The embedded store: one SQLite file (WAL) in the data dir, for one host.

The file is created complete (schema and WAL mode written to a private temporary file, mode 0600,
then linked into place), so two processes opening a fresh data dir at once both start. A file that
is empty, not SQLite, someone else's database, damaged, read-only or written by a newer tasklink
stops start-up with one message naming the file and what to do — never a silently fresh ledger.

Statements run on the event loop's thread: each is a local file operation of tens of microseconds,
cheaper than handing it to a worker thread. Transactions are `BEGIN IMMEDIATE` (one writer at a
time across every process sharing the file), and an async lock keeps two calls of this process from
interleaving statements inside one.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio

from ..errors import StateUnavailable
from .base import Budget, Change, Listeners, Rows, StateStore, Status
from .schema import CODE_VERSION, MIGRATIONS, TABLES, VERSIONS_TABLE, newer_schema

SQLITE_HEADER = b"SQLite format 3\x00"
MOVE_AWAY = (
    "if it is damaged, restore it from a backup or move it away to start afresh (the idempotency keys and "
    "the audit log in it are then forgotten); if it is read-only, make it writable"
)


def _migrate(db: sqlite3.Connection, where: str) -> None:
    """Apply what this file lacks, each migration in one transaction with its version row."""

    db.execute(VERSIONS_TABLE["sqlite"])
    found = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
    if found > CODE_VERSION:
        raise StateUnavailable(newer_schema(where, found))
    for migration in MIGRATIONS:
        if migration.version <= found:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            again = db.execute("SELECT 1 FROM schema_migrations WHERE version=?", (migration.version,)).fetchone()
            if again is None:  # another process may have applied it meanwhile
                for statement in migration.sqlite.split(";"):
                    if statement.strip() and not _column_exists(db, statement):
                        db.execute(statement)
                if migration.version == 1:
                    _add_missing_columns(db)
                db.execute(
                    "INSERT INTO schema_migrations(version, description, applied_at) VALUES (?,?,?)",
                    (migration.version, migration.description, time.time()),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _column_exists(db: sqlite3.Connection, statement: str) -> bool:
    """For `ALTER TABLE t ADD COLUMN c …`: whether `c` is there already (SQLite has no IF NOT EXISTS for it;
    a file from before the schema was versioned may have it)."""

    found = re.match(r"\s*ALTER TABLE (\w+) ADD COLUMN (\w+)", statement, re.IGNORECASE)
    if found is None:
        return False
    table, column = found.groups()
    return column in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """State files written before the audit's credential column gain it."""

    columns = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    if "credential" not in columns:
        db.execute("ALTER TABLE audit ADD COLUMN credential TEXT")


def _create(path: Path) -> None:
    """A complete, private state file, linked into place (a concurrent creator's file wins)."""

    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        db = sqlite3.connect(str(temporary), isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            _migrate(db, str(temporary))
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            leftover.unlink(missing_ok=True)


def _refuse_foreign(path: Path) -> None:
    """An empty or non-SQLite file is refused, never re-initialised (that would forget every key)."""

    with path.open("rb") as file:
        head = file.read(len(SQLITE_HEADER))
    if not head:
        raise StateUnavailable(f"{path} is empty (0 bytes), so tasklink's state was lost or truncated; {MOVE_AWAY}")
    if head != SQLITE_HEADER:
        raise StateUnavailable(f"{path} is not an SQLite database, so it is not tasklink's state; {MOVE_AWAY}")


class _SQLiteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        return self.db.execute(sql, tuple(args))

    async def lock(self, name: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already made this the only writer."""


class SQLiteStore(StateStore):
    kind = "sqlite"
    row_id = "rowid"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._thread_lock = threading.RLock()  # the CLI and tests may use the store from another thread
        self._lock: anyio.Lock | None = None
        self._closed = False
        #: this process's change listeners (one host, one process: nothing to hear from elsewhere)
        self._listeners = Listeners()
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
            _migrate(self.db, str(path))
            if self.db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the integrity check failed")
        except sqlite3.Error as exc:
            raise StateUnavailable(f"tasklink cannot use its state file {path} ({exc}); {MOVE_AWAY}") from None

    def _calls(self) -> anyio.Lock:
        if self._lock is None:  # made on first use: it belongs to the event loop that uses it
            self._lock = anyio.Lock()
        return self._lock

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SQLiteTx]:
        async with self._calls():
            with self._thread_lock, self._translated():
                db = self._open()
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield _SQLiteTx(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StateUnavailable(f"tasklink could not read or write its state file {self.path} ({exc})") from None

    async def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._calls():
            with self._thread_lock, self._translated():
                return self._open().execute(sql, tuple(args)).fetchall()

    def shared_key(self) -> bytes | None:
        return None  # one host: the key file in the data dir (policy/keys.py)

    def budget(self, vendor: str, category: str, per_second: float, burst: float) -> Budget | None:
        return None  # one host, one process: each process paces itself

    async def publish(self, origin: str, uri: str) -> None:
        self._listeners.deliver(Change(origin, uri))

    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[Change]]:
        return self._listeners.listening()

    async def status(self) -> Status:
        version = (await self.query("SELECT coalesce(max(version), 0) FROM schema_migrations"))[0][0]
        counts = {t: (await self.query(f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608 - fixed
        return Status("sqlite", self.where, int(version), CODE_VERSION, counts)

    async def aclose(self) -> None:
        self.close()

    def _open(self) -> sqlite3.Connection:
        """The connection; opened again after `close` (a server whose lifespan ended can be started again)."""

        if self._closed:
            self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._closed = False
        return self.db

    def close(self) -> None:
        with self._thread_lock:
            self.db.close()
            self._closed = True
