"""Three workers on three data dirs, one PostgreSQL: the guarantees of one process, across processes.

Each worker is a real `tasklink serve --http` process with its own TASKLINK_DATA_DIR (no shared
files) and one TASKLINK_STATE_URL; the vendors are the simulators on one loopback port (every worker
talks to the same vendor, as in production). A balancer in the client sends each HTTP request to the
next worker in turn.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from .conftest import REPORTS, ThreadedUvicorn
from .http_support import TOKEN, ServeProcess, base_env, run_tasklink
from .pg_support import Cluster, running_cluster
from .support import text_of
from .test_http_workers import RoundRobin

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WORKERS = 3


class Fleet:
    """The loopback vendors and the workers in front of them."""

    def __init__(self, vendors: ThreadedUvicorn, workers: list[ServeProcess]) -> None:
        self.vendors, self.workers = vendors, workers

    def client(self, mode: str = "auto", **kwargs: Any) -> tuple[Client, RoundRobin]:
        balancer = RoundRobin([w.port for w in self.workers])
        http = httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        return Client(streamable_http_client(self.workers[0].url, http_client=http), mode=mode, **kwargs), balancer

    def direct(self, worker: ServeProcess, **kwargs: Any) -> Client:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
        return Client(streamable_http_client(worker.url, http_client=http), mode="legacy", **kwargs)

    def requests(self, vendor: str) -> list[dict[str, Any]]:
        answer = httpx2.get(f"{self.vendors.base}/{vendor}/_sandbox/requests", timeout=10)
        return list(answer.json())

    def writes(self, vendor: str, path: str) -> int:
        return sum(1 for r in self.requests(vendor) if r["method"] == "POST" and r["path"] == path)

    def fault(self, vendor: str, **fault: Any) -> None:
        httpx2.post(f"{self.vendors.base}/{vendor}/_sandbox/faults", json=fault, timeout=10).raise_for_status()

    def simulator(self, vendor: str) -> Any:
        app = self.vendors.server.config.app
        (mount,) = [r for r in app.routes if getattr(r, "path", "") == f"/{vendor}"]
        return mount.app.state


def worker_env(tmp_path: Path, n: int, state_url: str, vendor_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = base_env(tmp_path / f"data-{n}", TASKLINK_STATE_URL=state_url, TASKLINK_HTTP_TOKEN=TOKEN, **extra)
    del env["TASKLINK_SANDBOX"]  # live mode: every worker reaches the one loopback vendor
    env.pop("TASKLINK_CONFIRM_SECRET", None)  # workers agree on a key through the store
    return {**env, **vendor_env}


@contextmanager
def start_fleet(tmp_path: Path, state_url: str, vendors: tuple[ThreadedUvicorn, dict[str, str]], *args: str,
                **extra: str) -> Iterator[Fleet]:  # fmt: skip
    server, vendor_env = vendors
    with ExitStack() as stack:
        workers = [
            stack.enter_context(ServeProcess(tmp_path, worker_env(tmp_path, n, state_url, vendor_env, **extra), *args))
            for n in range(WORKERS)
        ]
        yield Fleet(server, workers)


@pytest.fixture
def fleet(tmp_path: Path, pg_url: str, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]) -> Iterator[Fleet]:
    with start_fleet(tmp_path, pg_url, loopback_sandbox, "--stateless") as fleet:
        yield fleet


def lightfield_create(title: str, **extra: Any) -> dict[str, Any]:
    return {"vendor": "lightfield", "title": title, "status": "todo", "assignees": ["mem_sam0001"], **extra}


# -- idempotency ---------------------------------------------------------------------------------


async def test_one_key_sixty_calls_over_three_workers_write_once(fleet: Fleet) -> None:
    key = f"shared-{uuid.uuid4()}"
    args = lightfield_create(f"One write {uuid.uuid4().hex[:6]}", idempotency_key=key)
    client, balancer = fleet.client()
    results: list[Any] = []
    async with client:

        async def one() -> None:
            results.append(await client.call_tool("create_task", args))

        async with anyio.create_task_group() as group:
            for _ in range(60):
                group.start_soon(one)
    assert [r for r in results if r.is_error] == [], text_of(next(r for r in results if r.is_error))
    records = {json.dumps({k: v for k, v in r.structured_content.items() if k != "replayed"}, sort_keys=True)
               for r in results}  # fmt: skip
    assert len(records) == 1, records
    assert Counter(r.structured_content["replayed"] for r in results) == {True: 59, False: 1}
    assert fleet.writes("lightfield", "/v1/tasks") == 1
    served = Counter(port for port, method, _ in balancer.log if method == "tools/call")
    assert len(served) == WORKERS, served
    REPORTS.append(
        f"Shared state (PostgreSQL, {WORKERS} workers, own data dirs): 60 concurrent create_task with one key → "
        f"1 vendor write, 60 identical results (calls per worker {sorted(served.values())})"
    )


async def test_a_worker_killed_mid_write_leaves_the_key_unknown_and_nothing_is_resent(fleet: Fleet) -> None:
    """Workiva: a vendor that does not deduplicate by key, so only tasklink's ledger stands between a retry and
    a second record (Lightfield honours Idempotency-Key; there the retry is sent with the same key, by design)."""

    key = f"killed-{uuid.uuid4()}"
    args = {"vendor": "workiva", "title": f"Killed mid-write {uuid.uuid4().hex[:6]}", "idempotency_key": key,
            "allow_duplicate": True}  # fmt: skip
    fleet.fault("workiva", kind="slow", delay=4.0, method="POST", path_prefix="/tasks")
    victim, survivor = fleet.workers[0], fleet.workers[1]

    async def doomed() -> None:
        async with fleet.direct(victim) as client:
            await client.call_tool("create_task", args)

    async with anyio.create_task_group() as group:
        group.start_soon(doomed)
        for _ in range(400):  # bounded: the write reaches the simulator within seconds
            if fleet.writes("workiva", "/tasks"):
                break
            await anyio.sleep(0.01)
        assert victim.proc is not None
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=10)
        group.cancel_scope.cancel()
    async with fleet.direct(survivor) as client:
        retried = await client.call_tool("create_task", args)
    assert retried.is_error and "unknown outcome" in text_of(retried), text_of(retried)
    assert "will not send it again" in text_of(retried)
    await anyio.sleep(4.5)  # the slow answer lands: still exactly one write
    assert fleet.writes("workiva", "/tasks") == 1


# -- confirmations across workers, no TASKLINK_CONFIRM_SECRET ---------------------------------------


async def test_a_delete_previewed_on_one_worker_is_confirmed_on_another(fleet: Fleet) -> None:
    client, balancer = fleet.client()
    async with client:
        intake = await client.call_tool("create_intake", {"title": f"Shared key {uuid.uuid4().hex[:6]}"})
        assert not intake.is_error, text_of(intake)
        intake_id = intake.structured_content["id"]
        preview = await client.call_tool("delete_intake", {"intake_id": intake_id})
        token = preview.structured_content["confirm_token"]
        done = await client.call_tool(
            "delete_intake", {"intake_id": intake_id, "confirm": True, "confirm_token": token}
        )
        assert not done.is_error and done.structured_content["deleted"] is True, text_of(done)
    rounds = balancer.workers_for("delete_intake")
    assert len(rounds) == 2 and rounds[0] != rounds[1], balancer.log


async def test_an_elicited_confirmation_spans_two_workers(fleet: Fleet) -> None:
    asked: list[str] = []

    async def accept(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    client, balancer = fleet.client("auto", elicitation_callback=accept)
    async with client:
        created = await client.call_tool("create_intake", {"title": "Elicited across workers"})
        deleted = await client.call_tool("delete_intake", {"intake_id": created.structured_content["id"]})
        assert not deleted.is_error and deleted.structured_content["deleted"] is True, text_of(deleted)
    rounds = balancer.workers_for("delete_intake")
    assert len(asked) == 1 and len(rounds) == 2 and rounds[0] != rounds[1], balancer.log


# -- rate limits ---------------------------------------------------------------------------------------


@pytest.fixture
def paced_fleet(
    tmp_path: Path, pg_url: str, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]
) -> Iterator[Fleet]:
    with start_fleet(
        tmp_path, pg_url, loopback_sandbox, "--stateless", TASKLINK_RATE_LIMITS=json.dumps({"lightfield": 5})
    ) as fleet:
        yield fleet


async def test_three_workers_together_keep_the_vendor_s_rate(paced_fleet: Fleet) -> None:
    fleet = paced_fleet
    simulator = fleet.simulator("lightfield").lightfield
    simulator.rate_limit = 5  # its bucket: 5 requests, 5 more each second
    before = len(fleet.requests("lightfield"))
    client, _ = fleet.client()
    results: list[Any] = []
    async with client:

        async def one() -> None:
            results.append(await client.call_tool("list_tasks", {"vendor": "lightfield", "limit": 5}))

        async with anyio.create_task_group() as group:
            for _ in range(60):
                group.start_soon(one)
    assert [text_of(r) for r in results if r.is_error] == []
    state = fleet.simulator("lightfield").sandbox
    seen = [r for r in state.requests[before:] if not r.path.startswith("/_sandbox")]
    assert [r.status for r in seen if r.status == 429] == []
    times = sorted(r.at for r in seen)
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5 + 5, busiest  # its rate plus its bucket, in any second
    REPORTS.append(
        f"Shared rate limit: 3 workers, 60 concurrent list_tasks on a vendor limited to 5/s → {len(seen)} requests "
        f"over {times[-1] - times[0]:.1f} s, busiest second {busiest}, 0 × 429"
    )


# -- notifications -------------------------------------------------------------------------------------


async def test_a_subscriber_on_one_worker_hears_of_an_update_made_through_another(
    tmp_path: Path, pg_url: str, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]
) -> None:
    with start_fleet(tmp_path, pg_url, loopback_sandbox) as fleet:  # stateful workers: sessions keep a GET stream
        updated: list[str] = []
        arrived = anyio.Event()

        async def on_message(message: Any) -> None:
            root = getattr(message, "root", message)
            if getattr(root, "method", None) == "notifications/resources/updated":
                updated.append(str(root.params.uri))
                arrived.set()

        watcher, writer = fleet.workers[0], fleet.workers[1]
        async with fleet.direct(watcher, message_handler=on_message) as a, fleet.direct(writer) as b:
            created = await b.call_tool("create_task", lightfield_create(f"Watched {uuid.uuid4().hex[:6]}"))
            uri = f"task://lightfield/{created.structured_content['id']}"
            await a.subscribe_resource(uri)
            changed = await b.call_tool(
                "update_task", {"vendor": "lightfield", "task_id": created.structured_content["id"], "title": "Renamed"}
            )
            assert not changed.is_error, text_of(changed)
            with anyio.fail_after(10):
                await arrived.wait()
        assert updated == [uri]


# -- the store goes away and comes back ------------------------------------------------------------------


async def test_writes_pause_while_postgresql_is_down_and_resume_without_a_restart(
    tmp_path: Path, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]
) -> None:
    with running_cluster() as cluster:
        url = cluster.new_database()
        with start_fleet(tmp_path, url, loopback_sandbox, "--stateless") as fleet:
            outcomes = await workload_across_an_outage(fleet, cluster)
            env = fleet.workers[2].env
            ok = [o for o in outcomes if o["kind"] == "write" and o["ok"]]
            during = [o for o in outcomes if o["phase"] == "down"]
            after = [o for o in outcomes if o["phase"] == "after"]
            # each worker tries the store again a second after it last failed: by then every call succeeds
            back = max((o["at"] for o in after if not o["ok"]), default=0.0)  # seconds after the restart
            assert back <= 1.5, [(o["at"], o["text"][:200]) for o in after if not o["ok"]]
            after = [o for o in after if o["at"] > back]
            refused = [o for o in during if o["kind"] == "write" and not o["ok"]]
            assert refused, during[:3]
            assert all("nothing was sent" in o["text"] and "Retry later" in o["text"] for o in refused), refused[:3]
            assert all(o["ok"] for o in during if o["kind"] == "read"), [o for o in during if not o["ok"]][:3]
            assert len(after) > 10 and all(o["ok"] for o in after)
            # the vendor has exactly the writes reported made, and the audit (read by any worker) has every one
            writes = fleet.writes("lightfield", "/v1/tasks")
            assert writes == len(ok), (writes, len(ok))
            listed = run_tasklink(env, "audit", "--json")
            assert listed.returncode == 0, listed.stderr
            audited = [e for e in json.loads(listed.stdout) if e["tool"] == "create_task"]
            made = [e for e in audited if e["outcome"] in ("ok", "attempt")]  # attempt: its finish missed the store
            assert len(made) == len(ok) and {e["target"] for e in made if e["outcome"] == "ok"} <= {o["id"] for o in ok}
            REPORTS.append(
                f"PostgreSQL down for 10 s under a write workload over {WORKERS} workers: {len(ok)} writes made, "
                f"{len(refused)} refused while it was down (nothing sent), "
                f"{sum(1 for o in during if o['kind'] == 'read')} reads served meanwhile; every call succeeded from "
                f"{back:.1f} s after it came back; vendor writes {writes} = audit {len(made)}"
            )


async def workload_across_an_outage(fleet: Fleet, cluster: Cluster) -> list[dict[str, Any]]:
    """Writes and reads through the balancer: 3 s with the store up, 10 s with it stopped, 4 s after."""

    outcomes: list[dict[str, Any]] = []
    phase, restarted = "before", 0.0
    client, _ = fleet.client()

    async def calls(until: float) -> None:
        while time.monotonic() < until:
            title = f"Outage {uuid.uuid4().hex[:8]}"
            for kind, tool, args in (("write", "create_task", lightfield_create(title)),
                                     ("read", "list_tasks", {"vendor": "lightfield", "limit": 5})):  # fmt: skip
                result = await client.call_tool(tool, args)
                structured = result.structured_content or {}
                outcomes.append({"phase": phase, "kind": kind, "ok": not result.is_error, "text": text_of(result),
                                 "id": structured.get("id"), "at": time.monotonic() - restarted})  # fmt: skip

    async with client:
        await calls(time.monotonic() + 3)
        cluster.stop()
        phase = "down"
        await calls(time.monotonic() + 10)
        cluster.start()
        phase, restarted = "after", time.monotonic()
        await calls(time.monotonic() + 4)
    return outcomes
