"""The idempotency ledger's rules on its own: crashes, expiry, conflicts."""

from __future__ import annotations

from pathlib import Path

from tasklink.policy.ledger import IdempotencyLedger, StateDB


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def ledger(path: Path, clock: Clock) -> IdempotencyLedger:
    return IdempotencyLedger(StateDB(path / "state.sqlite3"), ttl_seconds=3600, stale_after=120, clock=clock)


def test_an_attempt_abandoned_by_a_killed_process_becomes_unknown(tmp_path: Path) -> None:
    clock = Clock()
    crashed = ledger(tmp_path, clock)
    assert crashed.claim("k", "create_task", "workiva", "d1").kind == "new"  # then the process dies (kill -9)
    restarted = ledger(tmp_path, clock)
    assert restarted.claim("k", "create_task", "workiva", "d1").kind == "in_flight"  # it may still be running
    clock.now += 121
    claim = restarted.claim("k", "create_task", "workiva", "d1")
    assert claim.kind == "unknown"
    assert claim.message and "interrupted" in claim.message
    assert restarted.state("k") == "unknown"


def test_keys_expire_after_the_window(tmp_path: Path) -> None:
    clock = Clock()
    book = ledger(tmp_path, clock)
    book.claim("k", "create_task", "workiva", "d1")
    book.settle("k", '{"id": "1"}')
    assert book.claim("k", "create_task", "workiva", "d1").kind == "replay"
    clock.now += 3601
    assert book.claim("k", "create_task", "workiva", "d1").kind == "new"


def test_same_key_other_call_is_a_conflict_and_a_released_key_is_free(tmp_path: Path) -> None:
    book = ledger(tmp_path, Clock())
    book.claim("k", "create_task", "workiva", "d1")
    assert book.claim("k", "create_task", "workiva", "d2").kind == "conflict"
    assert book.claim("k", "create_intake", "spotdraft", "d1").kind == "conflict"
    book.release("k")
    assert book.claim("k", "create_task", "workiva", "d2").kind == "new"
