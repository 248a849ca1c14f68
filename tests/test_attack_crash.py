"""kill -9 during vendor calls: every write that may have reached the vendor has an audit row.

The audit row of a write is committed (as an `attempt`) before the first vendor request and completed
with the outcome afterwards; a process killed in between leaves the attempt, which `tasklink audit`
shows as "outcome unknown", and a retry with the same key after the crash is answered at once with
"unknown outcome, check with …" instead of waiting out the call deadline.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tasklink.errors import OutcomeUnknown
from tasklink.models import CreateTaskRequest
from tasklink.policy.gate import WriteOptions
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS
from .support import ROOT

CALLS = 20
WORKER = r"""
import sys
from pathlib import Path
import anyio
from tasklink.models import CreateTaskRequest
from tasklink.policy.gate import WriteOptions
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings

async def main() -> None:
    settings = TaskLinkSettings(data_dir=Path(sys.argv[1]), sandbox=True, vendors=["workiva"], duplicate_check=False)
    async with TaskLink(settings) as tl, anyio.create_task_group() as group:
        for n in range(int(sys.argv[2])):
            request = CreateTaskRequest(vendor="workiva", title=f"In flight {n}")
            group.start_soon(tl.create_task, request, WriteOptions(idempotency_key=f"crash-{n}"))

anyio.run(main)
"""


def attempts(state: Path) -> int:
    if not state.exists():
        return 0
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM audit WHERE outcome='attempt'").fetchone()[0])


def test_kill_9_during_vendor_calls_leaves_an_attempt_row_for_every_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    faults = [{"vendor": "workiva", "kind": "slow", "delay": 120, "method": "POST", "times": 1000}]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TASKLINK_SANDBOX_FAULTS": json.dumps(faults)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(data), str(CALLS)], env=env)
    state = data / "state.sqlite3"
    deadline = time.monotonic() + 60
    while attempts(state) < CALLS:
        assert worker.poll() is None and time.monotonic() < deadline, "the writes never reached the vendor"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert attempts(state) == CALLS

    async def retry() -> float:
        settings = TaskLinkSettings(data_dir=data, sandbox=True, vendors=["workiva"], duplicate_check=False)
        async with TaskLink(settings) as tl:
            started = time.monotonic()
            with pytest.raises(OutcomeUnknown, match="unknown outcome"):
                await tl.create_task(
                    CreateTaskRequest(vendor="workiva", title="In flight 0"), WriteOptions(idempotency_key="crash-0")
                )
            return time.monotonic() - started

    waited = anyio.run(retry)
    assert waited < 5
    listing = subprocess.run(
        [sys.executable, "-m", "tasklink", "audit"],
        env={**env, "TASKLINK_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.stdout.count("outcome unknown") == CALLS, listing.stdout + listing.stderr
    REPORTS.append(
        f"kill -9: {CALLS} writes in flight, {CALLS} attempt rows after the crash, "
        f"same-key retry answered unknown in {waited:.2f} s"
    )
