"""tasklink's own state over many creates: the state file and memory stay flat once retention applies.

`python -m tests.benchmarks.retention DATA_DIR N` makes N `create_task` calls through the MCP tool
path, in-process, against the Workiva simulator, with tasklink's clock advanced STEP seconds per
call and retention set short (audit rows kept AUDIT_DAYS, idempotency keys KEY_HOURS), so the
retention window passes after WINDOW_CALLS calls. It prints one JSON line: at each checkpoint, the
calls made, tasklink's state file size (database and WAL), the process's resident memory, and the
audit and idempotency row counts. The simulator's own request log (a test aid) is emptied as it
goes; its database is the vendor's data, not tasklink's, and is not counted.
"""

from __future__ import annotations

import gc
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from mcp import Client

from tasklink.mcp.server import build_server
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings

#: seconds tasklink's clock moves per call; the retention windows, in days and hours
STEP = 30.0
AUDIT_DAYS = 1 / 24
KEY_HOURS = 0.5
#: calls after which every row from before the window has expired
WINDOW_CALLS = int(max(AUDIT_DAYS * 86_400, KEY_HOURS * 3_600) / STEP)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def state_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("state.sqlite3*"))


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def creates(data_dir: Path, n: int, checkpoints: list[int]) -> dict[str, Any]:
    import time

    settings = TaskLinkSettings(
        data_dir=data_dir,
        sandbox=True,
        audit_retention_days=AUDIT_DAYS,
        idempotency_ttl_hours=KEY_HOURS,
        rate_limits={"workiva": 1_000_000},  # the manifest's pace would only make the run longer
    )
    clock = Clock(time.time())
    service = TaskLink(settings, clock=clock)
    server = build_server(settings, service=service)
    seen: list[dict[str, Any]] = []
    async with Client(server) as client:
        for i in range(1, n + 1):
            clock.now += STEP
            args = {"vendor": "workiva", "title": f"Retention {i} {uuid.uuid4().hex[:6]}", "allow_duplicate": True}
            result = await client.call_tool("create_task", args)
            assert not result.is_error, [getattr(c, "text", "") for c in result.content]
            if i % 200 == 0:  # the simulator logs every request for tests to read; not tasklink's memory
                service.vendors.runtimes["workiva"].sandbox_app.state.sandbox.requests.clear()
            if i in checkpoints:
                gc.collect()
                rows = {t: await count_rows(service, t) for t in ("audit", "idempotency")}
                seen.append({"calls": i, "state_bytes": state_bytes(data_dir), "rss_kib": rss_kib(), **rows})
    return {"window_calls": WINDOW_CALLS, "step_s": STEP, "checkpoints": seen}


async def count_rows(service: TaskLink, table: str) -> int:
    """Rows in one table of the state store (an earlier checkout kept a synchronous `db` instead)."""

    sql = f"SELECT count(*) FROM {table}"  # fixed table names
    store = getattr(service.audit, "store", None)
    rows = await store.query(sql) if store is not None else service.audit.db.query(sql)
    return int(rows[0][0])


def checkpoints_for(n: int) -> list[int]:
    """Every tenth of the run, and the moment the first window has passed."""

    marks = {n * k // 10 for k in range(1, 11)} | {min(n, WINDOW_CALLS), min(n, 2 * WINDOW_CALLS)}
    return sorted(m for m in marks if m > 0)


if __name__ == "__main__":
    import anyio

    count = int(sys.argv[2])
    print(json.dumps(anyio.run(creates, Path(sys.argv[1]), count, checkpoints_for(count))), flush=True)
