"""Two processes creating the same title at the same moment, without an idempotency key: one write.

Both processes share the data dir (the state file and the simulator's store), as two workers of one
deployment do. Each round starts both creates together; the create lock and the record of recent
creates make exactly one of them write and the other refuse it as a duplicate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tasklink.sandbox.workiva import create_app

from .conftest import REPORTS
from .support import ROOT

ROUNDS = 20
WORKER = r"""
import json, sys, time
from pathlib import Path
import anyio
from tasklink.errors import PossibleDuplicate
from tasklink.models import CreateTaskRequest
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings

folder, rounds, name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

async def main() -> None:
    settings = TaskLinkSettings(data_dir=folder / "data", sandbox=True, vendors=["workiva"])
    async with TaskLink(settings) as tl:
        for n in range(rounds):
            (folder / f"ready-{n}-{name}").touch()
            deadline = time.monotonic() + 30
            while not (folder / f"go-{n}").exists():
                if time.monotonic() > deadline:
                    raise SystemExit("no go signal")
                await anyio.sleep(0.001)
            try:
                task = await tl.create_task(CreateTaskRequest(vendor="workiva", title=f"Quarterly tie-out {n}"))
                print(json.dumps([n, "created", task.id]), flush=True)
            except PossibleDuplicate:
                print(json.dumps([n, "duplicate", None]), flush=True)

anyio.run(main)
"""


def test_two_processes_creating_one_title_write_it_once(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TASKLINK_DATA_DIR": str(tmp_path / "data")}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(ROUNDS), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b")
    ]
    for n in range(ROUNDS):
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}-{name}").exists() for name in ("a", "b")):
            if time.monotonic() >= deadline or any(w.poll() is not None for w in workers):
                raise AssertionError([w.communicate(timeout=10)[1][-3000:] for w in workers])
            time.sleep(0.001)
        (tmp_path / f"go-{n}").touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    results = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    for n in range(ROUNDS):
        outcomes = sorted(outcome for round_, outcome, _ in results if round_ == n)
        assert outcomes == ["created", "duplicate"], (n, outcomes)

    app = create_app(tmp_path / "data" / "sandbox" / "workiva.sqlite3")
    titles = [t["title"] for t in app.state.sandbox.store.all("task") if t["title"].startswith("Quarterly tie-out")]
    assert sorted(titles) == sorted(f"Quarterly tie-out {n}" for n in range(ROUNDS))
    REPORTS.append(
        f"Create race: {ROUNDS} rounds of two processes creating one title, {ROUNDS} single writes, 0 duplicates"
    )
