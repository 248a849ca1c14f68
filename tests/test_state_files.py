"""tasklink's state file: created complete and private, refused (never silently replaced) when it is
empty, foreign, damaged or unwritable, and shared safely by processes that start together."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tasklink.errors import StateUnavailable
from tasklink.mcp.server import build_server
from tasklink.policy.ledger import IdempotencyLedger
from tasklink.settings import TaskLinkSettings
from tasklink.state.sqlite import SQLiteStore

from .conftest import REPORTS


def state_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "state.sqlite3"


def test_a_fresh_state_file_is_private(tmp_path: Path) -> None:
    SQLiteStore(state_file(tmp_path)).close()
    assert state_file(tmp_path).stat().st_mode & 0o077 == 0
    assert state_file(tmp_path).parent.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in state_file(tmp_path).parent.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty (0 bytes)"),
        (b"PK\x03\x04 a zip archive, not a database", "is not an SQLite database"),
    ],
    ids=["empty", "not-sqlite"],
)
def test_an_empty_or_foreign_file_is_refused_not_reinitialised(tmp_path: Path, content: bytes, says: str) -> None:
    path = state_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(StateUnavailable, match=re.escape(says)) as caught:
        SQLiteStore(path)
    assert str(path) in str(caught.value) and "move it away" in str(caught.value)
    assert path.read_bytes() == content


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StateUnavailable, match="another program's database"):
        SQLiteStore(path)


@pytest.mark.anyio
async def test_a_damaged_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    db = SQLiteStore(path)
    ledger = IdempotencyLedger(db, ttl_seconds=3600, stale_after=60)
    for n in range(300):
        await ledger.claim(f"key-{n}", "create_task", "trackops", "x" * 64)
    db.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    raw = bytearray(path.read_bytes())
    raw[4096 : 3 * 4096] = b"\xff" * (2 * 4096)  # overwrite the second and third pages
    path.write_bytes(bytes(raw))
    with pytest.raises(StateUnavailable) as caught:
        SQLiteStore(path)
    assert str(path) in str(caught.value) and "restore it from a backup" in str(caught.value)


def test_an_unwritable_data_dir_stops_start_up_with_one_message(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(StateUnavailable, match="TASKLINK_DATA_DIR"):
        build_server(TaskLinkSettings(data_dir=blocker / "data", sandbox=True))


def test_start_up_on_a_damaged_file_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "state.sqlite3").write_bytes(b"")
    env = {"TASKLINK_DATA_DIR": str(data), "TASKLINK_SANDBOX": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "tasklink", "call", "list_vendors", "--args", "{}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "is empty (0 bytes)" in done.stderr, done.stderr


def test_processes_opening_a_fresh_data_dir_together_all_start(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    script = (
        "import sys, anyio; from pathlib import Path; from tasklink.policy.ledger import IdempotencyLedger; "
        "from tasklink.state.sqlite import SQLiteStore; db = SQLiteStore(Path(sys.argv[1])); "
        "claim = IdempotencyLedger(db, ttl_seconds=60, stale_after=60).claim(sys.argv[2], 'op', 'v', 'd'); "
        "print(anyio.run(lambda: claim).kind)"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", script, str(path), f"k{n}"], stdout=subprocess.PIPE, text=True)
        for n in range(20)
    ]
    outputs = [p.communicate(timeout=60)[0].strip() for p in starts]
    assert [p.returncode for p in starts] == [0] * 20 and outputs == ["new"] * 20


def test_every_bad_state_file_gets_one_clear_message(tmp_path: Path) -> None:
    """The summary row: each kind of bad state stops start-up with one message naming the file, no traceback."""

    cases = {"empty": b"", "not sqlite": b"GIF89a not a database", "truncated": b"SQLite format 3\x00" + b"\x00" * 10}
    refused = []
    for name, content in cases.items():
        path = tmp_path / name.replace(" ", "-") / "state.sqlite3"
        path.parent.mkdir()
        path.write_bytes(content)
        with pytest.raises(StateUnavailable) as caught:
            SQLiteStore(path)
        assert str(path) in str(caught.value) and path.read_bytes() == content
        refused.append(name)
    REPORTS.append(
        f"State files: {len(refused) + 3} bad states (empty, not SQLite, truncated, another program's, damaged, "
        "unwritable dir) each refused with one message naming the file; none replaced by a fresh ledger"
    )


@pytest.mark.anyio
async def test_a_same_key_retry_after_a_crash_is_unknown_at_once(tmp_path: Path) -> None:
    path = state_file(tmp_path)
    script = (
        "import os, sys, anyio; from pathlib import Path; from tasklink.policy.ledger import IdempotencyLedger; "
        "from tasklink.state.sqlite import SQLiteStore; "
        "l = IdempotencyLedger(SQLiteStore(Path(sys.argv[1])), ttl_seconds=3600, stale_after=3600); "
        "anyio.run(lambda: l.claim('k', 'create_task', 'trackops', 'd')); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    ledger = IdempotencyLedger(SQLiteStore(path), ttl_seconds=3600, stale_after=3600)
    claim = await ledger.claim("k", "create_task", "trackops", "d")
    assert claim.kind == "unknown" and "interrupted" in (claim.message or "")
