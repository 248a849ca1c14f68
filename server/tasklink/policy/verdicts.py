"""Duplicate-check verdicts a dry run leaves for the real call that follows it.

A create's duplicate check is a vendor list read. The dry run the confirmation flow requires runs
it, and when it finds nothing, records that verdict here, bound to the exact arguments (a digest
of the normalized request as given, and of the request with its assignees resolved) and valid for
VERDICT_SECONDS. The real create with the same arguments within that window takes the verdict
instead of listing again. It still holds the create lock and consults the local record of recent
creates (policy/creates.py), so a create made through tasklink meanwhile is still refused; what the
window gives up is only a record made in the vendor's own app during those minutes.

The table lives in the state store, so every worker sharing it sees a verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..state import StateStore

#: how long a dry run's "no duplicate" verdict stands in for the real call's duplicate check
VERDICT_SECONDS = 600.0


@dataclass(frozen=True)
class Verdict:
    """A dry run found no duplicate of a create with these arguments."""

    #: the digest of the request with its assignees resolved to ids
    resolved: str
    expires: float


class DuplicateVerdicts:
    def __init__(
        self, state: StateStore, *, clock: Callable[[], float] = time.time, ttl: float = VERDICT_SECONDS
    ) -> None:
        self.state = state
        self.clock = clock
        self.ttl = ttl

    async def record(self, vendor: str, kind: str, digest: str, resolved: str) -> None:
        """A dry run's duplicate check of this create found nothing."""

        now = self.clock()
        async with self.state.transaction() as tx:
            await tx.execute("DELETE FROM duplicate_verdicts WHERE expires < ?", (now,))
            await tx.execute(
                "INSERT INTO duplicate_verdicts(vendor, kind, digest, resolved, expires) VALUES (?,?,?,?,?) "
                "ON CONFLICT(vendor, kind, digest) DO UPDATE SET resolved=excluded.resolved, expires=excluded.expires",
                (vendor, kind, digest, resolved, now + self.ttl),
            )

    async def find(self, vendor: str, kind: str, digest: str) -> Verdict | None:
        """The standing verdict for a create with these arguments, if a dry run left one."""

        rows = await self.state.query(
            "SELECT resolved, expires FROM duplicate_verdicts WHERE vendor=? AND kind=? AND digest=? AND expires >= ?",
            (vendor, kind, digest, self.clock()),
        )
        return Verdict(str(rows[0][0]), float(rows[0][1])) if rows else None

    async def forget(self, vendor: str, kind: str, digest: str) -> None:
        """The create went out: the verdict described the vendor before it, so it is spent."""

        async with self.state.transaction() as tx:
            await tx.execute(
                "DELETE FROM duplicate_verdicts WHERE vendor=? AND kind=? AND digest=?", (vendor, kind, digest)
            )
