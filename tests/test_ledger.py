"""The idempotency ledger's rules on its own: crashes, expiry, conflicts."""

from __future__ import annotations

import pytest

from tasklink.policy.ledger import IdempotencyLedger
from tasklink.state import StateStore

pytestmark = pytest.mark.anyio
BOTH_STORES = True


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ledger(store: StateStore, clock: Clock) -> IdempotencyLedger:
    """A ledger as one process holds it (two on one store are two processes)."""

    return IdempotencyLedger(store, ttl_seconds=3600, stale_after=120, clock=clock)


async def test_an_attempt_abandoned_by_a_killed_process_becomes_unknown(store: StateStore) -> None:
    clock = Clock()
    crashed = ledger(store, clock)
    assert (await crashed.claim("k", "create_task", "workiva", "d1")).kind == "new"  # then the process dies (kill -9)
    restarted = ledger(store, clock)
    assert (await restarted.claim("k", "create_task", "workiva", "d1")).kind == "in_flight"  # it may still be running
    clock.now += 121
    claim = await restarted.claim("k", "create_task", "workiva", "d1")
    assert claim.kind == "unknown"
    assert claim.message and "interrupted" in claim.message
    assert await restarted.state("k") == "unknown"


async def test_keys_expire_after_the_window(store: StateStore) -> None:
    clock = Clock()
    book = ledger(store, clock)
    await book.claim("k", "create_task", "workiva", "d1")
    await book.settle("k", '{"id": "1"}')
    assert (await book.claim("k", "create_task", "workiva", "d1")).kind == "replay"
    clock.now += 3601
    assert (await book.claim("k", "create_task", "workiva", "d1")).kind == "new"


async def test_same_key_other_call_is_a_conflict_and_a_released_key_is_free(store: StateStore) -> None:
    book = ledger(store, Clock())
    await book.claim("k", "create_task", "workiva", "d1")
    assert (await book.claim("k", "create_task", "workiva", "d2")).kind == "conflict"
    assert (await book.claim("k", "create_intake", "spotdraft", "d1")).kind == "conflict"
    await book.release("k")
    assert (await book.claim("k", "create_task", "workiva", "d2")).kind == "new"
