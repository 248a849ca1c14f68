"""Retention: audit rows and idempotency keys leave by age, a small batch at a time, on the write path.

The long run (20,000 creates, `python -m tests.benchmarks --only retention`) is a benchmark; here a
shorter one through the same code checks that the state file and memory stop growing once the
retention window has passed, and unit checks pin how and when rows are pruned.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tasklink.policy.ledger import PRUNE_BATCH, PRUNE_EVERY, AuditLog, IdempotencyLedger, Previews
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.state import StateStore
from tasklink.state.sqlite import SQLiteStore

from .benchmarks import retention

DAY = 86_400.0
BOTH_STORES = True  # the tests that take `store` run on SQLite and on PostgreSQL


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def audit_row(audit: AuditLog, n: int = 0) -> int:
    return await audit.record(
        transport="stdio",
        client=None,
        tool="create_task",
        vendor="workiva",
        target=str(n),
        args_digest=None,
        idempotency_key=None,
        outcome="ok",
    )


async def count(db: StateStore, table: str) -> int:
    return int((await db.query(f"SELECT count(*) FROM {table}"))[0][0])


@pytest.mark.anyio
async def test_audit_rows_older_than_the_retention_leave_a_batch_per_write(store: StateStore) -> None:
    clock = Clock()
    db = store
    audit = AuditLog(db, clock=clock, retention_days=7)
    for n in range(PRUNE_BATCH * 2 + 100):
        await audit_row(audit, n)
    clock.now += 8 * DAY
    kept = await audit_row(audit, -1)  # the first write after the window: one batch goes, oldest first
    assert await count(db, "audit") == PRUNE_BATCH + 100 + 1
    await audit_row(audit)  # a full batch came back, so the next write prunes again
    await audit_row(audit)
    assert await count(db, "audit") == 3
    assert (await audit.entries())[0]["target"] == "-1" and kept > 0


@pytest.mark.anyio
async def test_an_idle_prune_runs_at_most_every_few_minutes(tmp_path: Path) -> None:
    clock = Clock()
    db = SQLiteStore(tmp_path / "state.sqlite3")
    audit = AuditLog(db, clock=clock, retention_days=1)
    statements: list[str] = []
    await audit_row(audit)
    db.db.set_trace_callback(statements.append)
    for _ in range(20):
        clock.now += PRUNE_EVERY / 10
        await audit_row(audit)
    deletes = [s for s in statements if s.startswith("DELETE")]
    assert len(deletes) == 2  # 20 writes over two prune periods: one prune each


@pytest.mark.anyio
async def test_expired_keys_and_previews_leave_but_a_key_in_flight_stays(store: StateStore) -> None:
    clock = Clock()
    db = store
    ledger = IdempotencyLedger(db, ttl_seconds=3600, stale_after=120, clock=clock)
    for n in range(10):
        assert (await ledger.claim(f"done-{n}", "create_task", "workiva", "d")).kind == "new"
        await ledger.settle(f"done-{n}", '{"id": "1"}')
    await Previews(db).remember("delete_task", "workiva", "7", "digest", expires=clock.now + 60)
    clock.now += 3000
    assert (await ledger.claim("recent", "create_task", "workiva", "d")).kind == "new"  # in flight from now on
    clock.now += 3599
    ledger.pruner.due = clock.now  # due now (the last prune found nothing)
    await ledger.claim("later", "create_task", "workiva", "d")
    assert await count(db, "idempotency") == 2 and await ledger.state("recent") == "in_flight"
    assert await count(db, "previews") == 0


def test_retention_settings_reach_the_service(tmp_path: Path) -> None:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, audit_retention_days=3)
    tl = TaskLink(settings)
    assert tl.audit.pruner.retention == {"audit": 3 * DAY}
    assert tl.ledger.pruner.retention["idempotency"] == settings.idempotency_ttl_hours * 3600


@pytest.mark.anyio
async def test_an_old_state_file_gains_the_indexes_pruning_uses(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    SQLiteStore(path).close()
    raw = sqlite3.connect(path)  # a file from before the schema was versioned: no version rows, fewer indexes
    raw.execute("DROP TABLE schema_migrations")
    raw.execute("DROP INDEX idempotency_created")
    raw.execute("DROP INDEX previews_expires")
    raw.commit()
    raw.close()
    db = SQLiteStore(path)
    indexes = {row[0] for row in await db.query("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idempotency_created", "previews_expires", "audit_at"} <= indexes


@pytest.mark.slow
@pytest.mark.anyio
async def test_state_file_and_memory_stay_flat_after_the_window(tmp_path: Path) -> None:
    calls = 3000
    window = retention.WINDOW_CALLS
    marks = [2 * window, calls]
    run = await retention.creates(tmp_path / "data", calls, marks)
    settled, end = run["checkpoints"]
    slack = int(PRUNE_EVERY / retention.STEP) + 1  # rows written between two prunes
    assert end["audit"] <= window + slack and end["idempotency"] <= window + slack, end
    assert end["state_bytes"] <= settled["state_bytes"] * 1.05 + 64 * 1024, (settled, end)
    assert end["rss_kib"] - settled["rss_kib"] <= 4 * 1024, (settled, end)
