"""The state store interface: everything tasklink keeps between calls, behind one async API.

What lives here: the idempotency ledger, the two-phase audit log, the duplicate-check locks and the
recent-writes index, delete previews and dry-run verdicts (tables, written with portable SQL); the
server key every worker derives its purpose keys from; the vendors' rate-limit budgets; and
resource-change notifications. Two stores implement it: SQLite (one host, the default) and
PostgreSQL (any number of workers on any number of hosts). The SQL the callers write uses `?`
placeholders and the subset both dialects share; a store translates what differs.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import anyio
from anyio.streams.memory import MemoryObjectSendStream

Kind = Literal["sqlite", "postgresql"]
OnChange = Callable[[str], Awaitable[None]]


class Rows(Protocol):
    """What a statement returns: its rows (if any) and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Sequence[Any] | None: ...

    def fetchall(self) -> Sequence[Sequence[Any]]: ...


class Tx(Protocol):
    """One transaction: committed when its block ends, rolled back when the block raises."""

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows: ...

    async def lock(self, name: str) -> None:
        """Serialize this transaction with every other that locks `name` (until it ends)."""


class Budget(Protocol):
    """One vendor request category's pace, shared by everything that uses this store."""

    async def take(self, budget: float) -> float:
        """Reserve one request; the seconds to wait before sending it (0: send now). Raises nothing: a store
        that cannot be asked answers from a local bucket (see the stores)."""


@dataclass(frozen=True)
class Change:
    """A resource changed through the worker `origin`."""

    origin: str
    uri: str


@dataclass(frozen=True)
class Status:
    """What `tasklink state status` prints."""

    kind: Kind
    where: str
    schema_version: int
    code_version: int
    tables: dict[str, int]


class Listeners:
    """This process's listeners for changes: each gets a bounded queue; a full one drops (notifications are a
    courtesy, never a reason to block a write)."""

    def __init__(self) -> None:
        self._queues: set[MemoryObjectSendStream[Change]] = set()

    def deliver(self, change: Change) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(anyio.WouldBlock):
                queue.send_nowait(change)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[AsyncIterator[Change]]:
        send, receive = anyio.create_memory_object_stream[Change](256)
        self._queues.add(send)
        try:
            yield receive
        finally:
            self._queues.discard(send)
            send.close()
            receive.close()


class StateStore(ABC):
    """A store; `open_store` picks one from TASKLINK_STATE_URL."""

    kind: Kind
    #: where the store is, credentials redacted (for messages and `tasklink state status`)
    where: str

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A transaction; a store that cannot be reached raises StateUnavailable."""

    async def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.transaction() as tx:
            return [tuple(row) for row in (await tx.execute(sql, args)).fetchall()]

    #: the column that names a row in any table ("rowid" in SQLite, "ctid" in PostgreSQL)
    row_id: str

    async def prune(self, table: str, column: str, before: float, batch: int) -> int:
        """Delete at most `batch` rows of `table` whose `column` is below `before`, oldest first."""

        sql = (
            f"DELETE FROM {table} WHERE {self.row_id} IN "  # noqa: S608 - fixed names from the callers
            f"(SELECT {self.row_id} FROM {table} WHERE {column} < ? ORDER BY {column} LIMIT ?)"
        )
        async with self.transaction() as tx:
            return (await tx.execute(sql, (before, batch))).rowcount

    @abstractmethod
    def shared_key(self) -> bytes | None:
        """The server key kept in the store for every worker (None: the store keeps none; use the key file)."""

    @abstractmethod
    def budget(self, vendor: str, category: str, per_second: float, burst: float) -> Budget | None:
        """The shared pace of one vendor category (None: pace each process on its own)."""

    @abstractmethod
    async def publish(self, origin: str, uri: str) -> None:
        """Tell every worker listening to this store that `uri` changed through worker `origin`."""

    @abstractmethod
    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[Change]]:
        """The changes published through this store (by any worker, `origin` included), while the block runs."""

    @abstractmethod
    async def status(self) -> Status: ...

    @abstractmethod
    async def aclose(self) -> None: ...
