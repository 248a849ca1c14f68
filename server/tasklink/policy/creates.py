"""Creates that cannot race: the duplicate check and the create of one title run one at a time.

Two callers creating the same title at the same moment (no idempotency key, any process sharing
the state file) would both pass a duplicate check that reads the vendor, and both write. So the
check and the create of one (vendor, kind, normalized title) hold a lock row in the state store (taken
under the store's own lock of that name, so workers on other hosts agree), and
every successful create is remembered for a while: the second caller then finds the first's record
even where the vendor's list lags its writes (Lightfield). The record is each principal's own: it never
shows one caller the records another created.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from ..errors import InProgress
from ..principals import acting
from ..state import StateStore
from .ledger import owner_is_gone

#: how long a create is remembered locally (covers a vendor's list lag and simultaneous callers)
REMEMBER_SECONDS = 600.0


def title_key(title: str) -> str:
    """The normalized title, plus what else makes two creates the same (e.g. `|intake=7|assignee=3`)."""

    return " ".join(title.casefold().split())


#: gives a create lock back
Release = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class RecentWrite:
    record_id: str
    at: float


class CreateLocks:
    def __init__(
        self,
        state: StateStore,
        owner: str,
        *,
        clock: Callable[[], float] = time.time,
        hold_seconds: float = 120.0,
        poll_interval: float = 0.02,
    ) -> None:
        self.state = state
        self.owner = owner
        self.clock = clock
        self.hold_seconds = hold_seconds
        self.poll_interval = poll_interval

    async def acquire(self, vendor: str, kind: str, title: str, *, wait: float) -> Release:
        """Hold the lock of this title until the returned release is awaited; waits at most `wait` seconds."""

        name = f"create:{vendor}:{kind}:{title_key(title)}"
        deadline = time.monotonic() + wait
        while not await self._take(name):
            if time.monotonic() >= deadline:
                raise InProgress(f"Another call is creating a {kind} titled like this in {vendor} right now")
            await anyio.sleep(self.poll_interval)
        return lambda: self._release(name)

    async def _take(self, name: str) -> bool:
        now = self.clock()
        async with self.state.transaction() as tx:
            await tx.lock(name)
            row = (await tx.execute("SELECT owner, expires FROM locks WHERE name=?", (name,))).fetchone()
            if row is not None and row[0] != self.owner and row[1] > now and not owner_is_gone(row[0]):
                return False
            await tx.execute(
                "INSERT INTO locks(name, owner, expires) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, expires=excluded.expires",
                (name, self.owner, now + self.hold_seconds),
            )
            return True

    async def _release(self, name: str) -> None:
        async with self.state.transaction() as tx:
            await tx.execute("DELETE FROM locks WHERE name=? AND owner=?", (name, self.owner))

    # -- what was created here lately ------------------------------------------------------

    async def remember(self, vendor: str, kind: str, title: str, record_id: str) -> None:
        now = self.clock()
        async with self.state.transaction() as tx:
            await tx.execute("DELETE FROM recent_writes WHERE at < ?", (now - REMEMBER_SECONDS,))
            await tx.execute(
                "INSERT INTO recent_writes(vendor, kind, title, record_id, at, principal) VALUES (?,?,?,?,?,?)",
                (vendor, kind, title_key(title), record_id, now, acting().scope()),
            )

    async def forget(self, vendor: str, kind: str, record_id: str) -> None:
        """A deleted record no longer counts as a duplicate."""

        async with self.state.transaction() as tx:
            await tx.execute(
                "DELETE FROM recent_writes WHERE vendor=? AND kind=? AND record_id=?", (vendor, kind, record_id)
            )

    async def recent_by_vendor(self, vendor: str, kind: str, within: float) -> list[RecentWrite]:
        """Every create of this kind made here in the last `within` seconds."""

        rows = await self.state.query(
            "SELECT record_id, at FROM recent_writes WHERE vendor=? AND kind=? AND at >= ? "
            "AND coalesce(principal, '') = ? ORDER BY at",
            (vendor, kind, self.clock() - within, acting().scope()),
        )
        return [RecentWrite(str(r[0]), float(r[1])) for r in rows]

    async def recent(self, vendor: str, kind: str, title: str) -> list[RecentWrite]:
        rows = await self.state.query(
            "SELECT record_id, at FROM recent_writes WHERE vendor=? AND kind=? AND title=? AND at >= ? "
            "AND coalesce(principal, '') = ? ORDER BY at",
            (vendor, kind, title_key(title), self.clock() - REMEMBER_SECONDS, acting().scope()),
        )
        return [RecentWrite(str(r[0]), float(r[1])) for r in rows]
