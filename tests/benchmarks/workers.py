"""Throughput with 1, 2 and 3 `tasklink serve --http --stateless` workers on each state store.

- SQLite: the N workers share ONE data dir (one host, one state file);
- PostgreSQL: each worker has its own data dir, all share one `TASKLINK_STATE_URL` (a fresh database
  in a throwaway cluster from `tests/pg_support.py`).

Every configuration starts from fresh state, and all workers talk to the run's one upstream stub,
configured as the `load` section configures tasklink (vendor pacing lifted). 16 closed-loop Node
clients (`load.mjs` with a list of ports) are spread round-robin over the workers; each worker takes
one `get_task` and one `create_task` before the clock starts. The scaling figure is calls/s over
the same store's and tool's one-worker figure: the stub, the clients, PostgreSQL and the workers all
share this machine's cores, so it is what N workers add here, not on N hosts; "CPU busy" is the
share of all the machine's cores in use during a run, whoever used them.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .run import CREATE_ARGS, HERE, NODE, PYTHON, ROOT, Bench, HttpPeer, free_port, proc_cpu_ms, stop, wait_for_port

CLIENTS = 16
COUNTS = (1, 2, 3)
TOOLS = ("get_task", "create_task")
STORES = ("sqlite", "postgresql")
KEYS = ("calls_per_s", "p50_ms", "p99_ms", "cpu_ms_per_call", "stub_cpu_ms_per_call", "machine_busy")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""

    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@contextlib.contextmanager
def started(b: Bench, envs: list[dict[str, str]]) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    """One stateless HTTP worker per environment, all listening (started together), stopped afterwards."""

    workers: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        for env in envs:
            port = free_port()
            argv = [PYTHON, "-m", "tasklink", "serve", "--http", "--stateless", "--port", str(port)]
            workers.append((subprocess.Popen(argv, env=env, cwd=ROOT, stderr=subprocess.DEVNULL), port))
        for proc, port in workers:
            wait_for_port(port, proc)
        yield workers
    finally:
        for proc, _ in workers:
            stop(proc)


def warm(b: Bench, port: int) -> None:
    """One call of each tool, so no worker pays its first-call costs on the clock."""

    peer = HttpPeer(port)
    try:
        peer.handshake()
        peer.call(*b.read_call("tasklink"))
        peer.call("create_task", {**CREATE_ARGS, "title": f"Warm-up task {port}"})
    finally:
        peer.conn.close()


def drive(b: Bench, workers: list[tuple[subprocess.Popen[bytes], int]], tool: str, seconds: float) -> dict[str, Any]:
    """The 16 clients against all workers for `seconds`; load.mjs's figures plus CPU per call."""

    assert b.stub is not None
    ports = ",".join(str(port) for _, port in workers)
    args = CREATE_ARGS if tool == "create_task" else b.read_call("tasklink")[1]
    cpu0, stub0, (busy0, total0) = sum(proc_cpu_ms(p.pid) for p, _ in workers), proc_cpu_ms(b.stub.pid), machine_ticks()
    out = subprocess.run(
        [str(NODE), str(HERE / "load.mjs"), ports, tool, json.dumps(args), str(CLIENTS), str(seconds)],
        capture_output=True,
        timeout=seconds + 60,
        check=True,
    )
    cpu1, stub1, (busy1, total1) = sum(proc_cpu_ms(p.pid) for p, _ in workers), proc_cpu_ms(b.stub.pid), machine_ticks()
    result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    calls = max(result["calls"], 1)
    result["cpu_ms_per_call"] = (cpu1 - cpu0) / calls  # all the workers together
    result["stub_cpu_ms_per_call"] = (stub1 - stub0) / calls
    result["machine_busy"] = (busy1 - busy0) / max(total1 - total0, 1)  # of all cores, whoever used them
    return result


def envs_for(b: Bench, store: str, n: int, run: int, url: str | None) -> list[dict[str, str]]:
    if store == "sqlite":  # one host: the same data dir, so the same state file
        return [b.tasklink_env(f"workers-sqlite-{n}-{run}")] * n
    assert url is not None
    return [b.tasklink_env(f"workers-pg-{n}-{run}-{k}", TASKLINK_STATE_URL=url) for k in range(n)]


def workers(b: Bench) -> None:
    if not NODE.exists():
        b.results["workers"] = {"skipped": f"{NODE} not found (run scripts/test once to install the Node clients)"}
        return
    # one run per configuration: 2 stores × 3 counts × 2 tools × 10 s is already two minutes
    runs, seconds = (1, 3.0) if b.quick else (1, 10.0)
    out: dict[str, Any] = {"runs": runs, "seconds": seconds, "clients": CLIENTS, "counts": list(COUNTS)}
    with contextlib.ExitStack() as stack:
        cluster: Any = None
        try:
            from tests.pg_support import running_cluster

            cluster = stack.enter_context(running_cluster())
        except Exception as exc:  # no PostgreSQL here: SQLite is still worth measuring
            out["postgresql"] = {"skipped": f"{type(exc).__name__}: {exc}"[:500]}
        per: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
        for run in range(runs):
            for store in STORES:
                if store == "postgresql" and cluster is None:
                    continue
                for n in COUNTS if run % 2 == 0 else reversed(COUNTS):
                    url = cluster.new_database() if store == "postgresql" else None
                    with started(b, envs_for(b, store, n, run, url)) as ws:
                        for _, port in ws:
                            warm(b, port)
                        for tool in TOOLS:
                            per.setdefault((store, n, tool), []).append(drive(b, ws, tool, seconds))
    for (store, n, tool), rs in per.items():
        row: dict[str, Any] = {key: statistics.median(r[key] for r in rs) for key in KEYS}
        row["errors"] = sum(r["errors"] for r in rs)
        row["calls"] = sum(r["calls"] for r in rs)
        row["sse_answers"] = sum(r["sse_answers"] for r in rs)
        row["all_calls_per_s"] = [round(r["calls_per_s"]) for r in rs]
        if n > 1:
            row["calls_per_worker"] = [sum(x) for x in zip(*(r["calls_per_port"] for r in rs), strict=True)]
        out.setdefault(store, {}).setdefault(tool, {})[str(n)] = row
    for store in STORES:
        for tool, by_n in out.get(store, {}).items():
            if tool == "skipped":
                continue
            one = by_n["1"]["calls_per_s"]
            for row in by_n.values():
                row["vs_one"] = row["calls_per_s"] / one if one else float("nan")
    b.results["workers"] = out
