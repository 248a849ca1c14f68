"""What a user waits for: sequential vendor round trips per tool call, through the real tool path.

Every simulator is wrapped in a clock that holds each request for `LATENCY` (a vendor's answer is never
instant) and records when it started and ended; requests that overlap in time went out concurrently and
count as one round. A call's rounds are the longest chain of its requests in which each starts after the
previous one ended — the number of answers the call waited for one after another. The simulators' own
request logs must agree with the clock's count, so nothing reaches a vendor unseen.

The table is printed at the end of the run (one line per tool × vendor).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.policy.verdicts import VERDICT_SECONDS
from tasklink.sandbox import lightfield as lightfield_sandbox
from tasklink.sandbox._core import SandboxState
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import Vendors
from tasklink.vendors.workiva import WorkivaAdapter

from .benchmarks.round_trips import Clock, Timed, rounds  # one clock and one rule for rounds, shared with the benchmark
from .conftest import REPORTS
from .support import text_of

pytestmark = pytest.mark.anyio

#: how long each simulated vendor request takes; long enough that concurrent requests visibly overlap
LATENCY = 0.05


BY_ID: dict[str, dict[str, Any]] = {
    "spotdraft": {"vendor": "spotdraft", "due": "2031-01-10", "assignees": ["100"]},
    "trackops": {"vendor": "trackops", "due": "2031-04-01", "vendor_fields": {"casefile_id": 246, "calendar_id": 2}},
    "lightfield": {"vendor": "lightfield", "status": "todo", "assignees": ["mem_sam0001"]},
    "workiva": {"vendor": "workiva", "due": "2031-02-01"},
}
#: the same create with the assignee given by name (Trackops cannot look people up)
BY_NAME: dict[str, dict[str, Any]] = {
    "spotdraft": {**BY_ID["spotdraft"], "assignees": ["Elena"]},
    "lightfield": {**BY_ID["lightfield"], "assignees": ["Dana"]},
    "workiva": {**BY_ID["workiva"], "assignees": ["Marcus"]},
}
VENDORS = list(BY_ID)


@dataclass
class Measured:
    rounds: int
    requests: list[str]

    def __str__(self) -> str:
        return f"{self.rounds} ({', '.join(self.requests) or 'nothing sent'})"


class Rig:
    """tasklink on the clocked simulators, one MCP client."""

    def __init__(self, server: MCPServer, client: Client, clock: Clock, now: list[float]) -> None:
        self.server, self.client, self.clock = server, client, clock
        #: tasklink's wall clock (a dry run's verdict expires by it)
        self.now = now

    @property
    def service(self) -> TaskLink:
        tl = self.server.service
        assert isinstance(tl, TaskLink)
        return tl

    def logged(self, vendor: str) -> int:
        """How many requests the vendor's simulator has logged (none before its first use)."""

        app = self.service.vendors.runtimes[vendor].sandbox_app
        if app is None:
            return 0
        state = app.state.sandbox
        assert isinstance(state, SandboxState)
        return len(state.requests_matching())

    async def measure(self, vendor: str, tool: str, args: dict[str, Any], *, ok: bool = True) -> Measured:
        await self.settle()
        mark, logged = len(self.clock.seen), self.logged(vendor)
        result = await self.client.call_tool(tool, args)
        assert result.is_error != ok, text_of(result)
        await self.settle()
        sent = [r for r in self.clock.seen[mark:] if r.vendor == vendor]
        assert self.logged(vendor) - logged == len(sent), "every request is seen and timed"
        assert all(r.vendor == vendor for r in self.clock.seen[mark:]), "no other vendor is asked"
        return Measured(rounds(sent), [f"{r.method} {short(r.path)}" for r in sorted(sent, key=lambda r: r.start)])

    async def settle(self) -> None:
        """Let anything started in the background (a token fetched ahead) finish before the next mark."""

        for _ in range(50):
            if all(r.end for r in self.clock.seen):
                return
            await anyio.sleep(LATENCY / 3)
        raise AssertionError("a request never finished")


def short(path: str) -> str:
    parts = path.rstrip("/").split("/")
    return "/".join("{id}" if any(c.isdigit() for c in p) and p not in ("v1", "v2.1") else p for p in parts)


@asynccontextmanager
async def started(tmp_path: Path, *, warm_up: Literal["all", "off"]) -> AsyncIterator[Rig]:
    # client-side pacing is lifted: it is a local wait, not a round trip, and it is not what is measured here
    settings = TaskLinkSettings(
        data_dir=tmp_path / "data", sandbox=True, rate_limits=dict.fromkeys(load_manifests(), 1000.0), warm_up="off"
    )
    clock, now = Clock(latency=LATENCY), [time.time()]
    tl = TaskLink(settings, Vendors.configure(settings, sandbox_middleware=clock.middleware), clock=lambda: now[0])
    server = build_server(settings, service=tl)
    async with Client(server) as client:
        rig = Rig(server, client, clock, now)
        if warm_up == "all":
            # what a server with live vendors does as it starts (TASKLINK_WARM_UP=live), finished before measuring
            await tl.vendors.warm_up("all")
            await rig.settle()
        yield rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A server started as on live vendors: Workiva's token and Lightfield's definitions were read ahead."""

    async with started(tmp_path, warm_up="all") as rig:
        yield rig


@pytest.fixture
async def cold_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A server that read nothing ahead: the first call of each vendor pays what a process needs once."""

    async with started(tmp_path, warm_up="off") as rig:
        yield rig


#: (tool, vendor) -> [(what was measured, rounds and requests)], printed at the end of the run
TABLE: dict[tuple[str, str], list[tuple[str, Measured]]] = {}


@pytest.fixture(scope="module", autouse=True)
def report_table() -> Iterator[None]:
    yield
    if not TABLE:
        return
    lines = [
        "Sequential vendor round trips per tool call (requests that overlap count as one round; "
        f"each simulated request takes {LATENCY * 1000:.0f} ms; tests/test_round_trips.py)"
    ]
    for (tool, vendor), rows in sorted(TABLE.items()):
        lines.append(f"  {tool:<13} {vendor:<10} " + "; ".join(f"{what}: {m.rounds}" for what, m in rows))
    REPORTS.append("\n".join(lines))


def record(tool: str, vendor: str, what: str, measured: Measured) -> Measured:
    TABLE.setdefault((tool, vendor), []).append((what, measured))
    return measured


def unique(args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**args, "title": f"Round trip {uuid.uuid4().hex[:8]}", **extra}


def writes(measured: Measured) -> list[str]:
    return [r for r in measured.requests if not r.startswith("GET ") and "/oauth2/token" not in r]


# -- create_task ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
async def test_create_task(rig: Rig, vendor: str) -> None:
    first = record("create_task", vendor, "first call in the process",
                   await rig.measure(vendor, "create_task", unique(BY_ID[vendor])))  # fmt: skip
    plain = record("create_task", vendor, "no preview", await rig.measure(vendor, "create_task", unique(BY_ID[vendor])))
    args = unique(BY_ID[vendor], idempotency_key=f"rt-{uuid.uuid4()}")
    preview = record("create_task", vendor, "preview (dry run)",
                     await rig.measure(vendor, "create_task", {**args, "dry_run": True}))  # fmt: skip
    confirmed = record("create_task", vendor, "after the preview", await rig.measure(vendor, "create_task", args))
    again = {k: v for k, v in args.items() if k != "idempotency_key"}
    local = record("create_task", vendor, "a duplicate known locally",
                   await rig.measure(vendor, "create_task", again, ok=False))  # fmt: skip

    assert confirmed.rounds == 1 and len(confirmed.requests) == 1, confirmed  # the create, and nothing else
    assert plain.rounds <= 2, plain  # the duplicate check's list, then the create
    assert local.rounds == 0, local  # refused from the local record of recent creates, nothing asked
    assert preview.rounds <= 1 and writes(preview) == [], preview
    assert first.rounds <= 2, first  # the token and the definitions were read as the server started


@pytest.mark.parametrize("vendor", ["lightfield", "workiva"])
async def test_the_first_create_without_a_warm_up_pays_what_a_process_needs_once(cold_rig: Rig, vendor: str) -> None:
    first = record("create_task", vendor, "first call, nothing read ahead",
                   await cold_rig.measure(vendor, "create_task", unique(BY_ID[vendor])))  # fmt: skip
    assert first.rounds == 3, first  # Workiva's token or Lightfield's definitions, the list, the create


async def test_the_server_reads_ahead_as_it_starts(tmp_path: Path) -> None:
    """TASKLINK_WARM_UP=all: with no call made, the token and the definitions are read once the server runs."""

    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, warm_up="all")
    clock = Clock(latency=LATENCY)
    tl = TaskLink(settings, Vendors.configure(settings, sandbox_middleware=clock.middleware))
    async with Client(build_server(settings, service=tl)):
        for _ in range(1000):  # bounded: 10 s
            if {r.path for r in clock.seen if r.end} >= {"/oauth2/token", "/v1/tasks/definitions"}:
                break
            await anyio.sleep(0.01)
    assert sorted(r.path for r in clock.seen) == ["/oauth2/token", "/v1/tasks/definitions"]


@pytest.mark.parametrize("vendor", list(BY_NAME))
async def test_create_task_with_an_assignee_by_name(rig: Rig, vendor: str) -> None:
    await rig.measure(vendor, "create_task", unique(BY_ID[vendor]))  # the process has met this vendor
    plain = record("create_task", vendor, "by name, no preview",
                   await rig.measure(vendor, "create_task", unique(BY_NAME[vendor])))  # fmt: skip
    rig.service.people_service.directory.forget(vendor)  # the preview looks the name up afresh
    args = unique(BY_NAME[vendor])
    preview = record("create_task", vendor, "by name, preview",
                     await rig.measure(vendor, "create_task", {**args, "dry_run": True}))  # fmt: skip
    confirmed = record("create_task", vendor, "by name, after the preview",
                       await rig.measure(vendor, "create_task", args))  # fmt: skip
    assert confirmed.rounds == 1 and len(confirmed.requests) == 1, confirmed  # the lookup is still fresh
    assert preview.rounds == 1, preview  # the lookup beside the list by title
    assert plain.rounds <= 2, plain  # the lookup beside the list by title (the assignee matched here), the create


async def test_several_names_are_looked_up_at_once(rig: Rig) -> None:
    await rig.measure("workiva", "list_tasks", {"vendor": "workiva", "limit": 1})  # the token is held
    args = unique(BY_ID["workiva"], assignees=["Marcus", "Ana", "Jane", "John"])
    preview = record("create_task", "workiva", "4 names, preview",
                     await rig.measure("workiva", "create_task", {**args, "dry_run": True}))  # fmt: skip
    assert preview.requests.count("GET /organizations/{id}/users") == 4, preview
    assert preview.requests.count("GET /tasks") == 1, preview
    assert preview.rounds == 1, preview  # the four lookups and the duplicate check's list by title, all at once


async def test_the_preview_s_verdict_is_bound_to_the_exact_arguments_and_expires(rig: Rig) -> None:
    vendor = "workiva"
    args = unique(BY_ID[vendor])
    await rig.measure(vendor, "create_task", {**args, "dry_run": True})
    other = await rig.measure(vendor, "create_task", {**args, "description": "Changed after the preview"})
    assert other.rounds == 2 and other.requests[0].startswith("GET "), other  # other arguments: listed again

    args = unique(BY_ID[vendor])
    preview = await rig.client.call_tool("create_task", {**args, "dry_run": True})
    assert "duplicate check ran" in preview.structured_content["dry_run"]["verdict"]
    rig.now[0] += VERDICT_SECONDS + 1
    late = await rig.measure(vendor, "create_task", args)
    assert late.rounds == 2 and late.requests[0].startswith("GET "), late  # the verdict expired: listed again


async def test_a_create_made_meanwhile_is_still_refused_after_the_preview(rig: Rig) -> None:
    """Two callers preview the same create; the first confirms; the second's confirmation is refused from the
    local record of recent creates, without asking the vendor."""

    vendor = "lightfield"
    args = unique(BY_ID[vendor])
    for _ in range(2):
        await rig.measure(vendor, "create_task", {**args, "dry_run": True})
    await rig.measure(vendor, "create_task", {**args, "idempotency_key": f"a-{uuid.uuid4()}"})
    refused = await rig.client.call_tool("create_task", {**args, "idempotency_key": f"b-{uuid.uuid4()}"})
    assert refused.is_error and "created moments ago" in text_of(refused)
    # and a preview of a create that would be refused says so
    again = await rig.client.call_tool("create_task", {**args, "dry_run": True})
    assert again.is_error and "created moments ago" in text_of(again)


async def test_list_tasks_filtered_by_an_assignee_s_name(cold_rig: Rig) -> None:
    rig = cold_rig
    by_name = {"vendor": "lightfield", "assignee": "Dana"}
    listed = record("list_tasks", "lightfield", "assignee by name, first call in the process",
                    await rig.measure("lightfield", "list_tasks", by_name))  # fmt: skip
    assert listed.rounds == 2 and len(listed.requests) == 3, listed  # the lookup beside the definitions; the list


# -- update_task ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["lightfield", "workiva"])
async def test_update_task(rig: Rig, vendor: str) -> None:
    created = await rig.client.call_tool("create_task", unique(BY_ID[vendor], allow_duplicate=True))
    assert not created.is_error, text_of(created)
    task_id = created.structured_content["id"]
    update = {"vendor": vendor, "task_id": task_id, "title": "Renamed"}
    measured = record("update_task", vendor, "update", await rig.measure(vendor, "update_task", update))
    assert measured.rounds == 1 and len(measured.requests) == 1, measured  # the answer is the record: no read-back
    by_name = {"vendor": vendor, "task_id": task_id, "assignees": [BY_NAME[vendor]["assignees"][0]]}
    reassigned = record("update_task", vendor, "reassign by name", await rig.measure(vendor, "update_task", by_name))
    assert reassigned.rounds <= 2, reassigned


# -- create_intake -------------------------------------------------------------------------------------


async def test_create_intake(rig: Rig) -> None:
    base = {"priority": "HIGH", "assignees": [{"user_id": "100"}]}
    record("create_intake", "spotdraft", "first call in the process",
           await rig.measure("spotdraft", "create_intake", unique(base)))  # fmt: skip
    plain = record("create_intake", "spotdraft", "no preview",
                   await rig.measure("spotdraft", "create_intake", unique(base)))  # fmt: skip
    args = unique(base)
    preview = record("create_intake", "spotdraft", "preview (dry run)",
                     await rig.measure("spotdraft", "create_intake", {**args, "dry_run": True}))  # fmt: skip
    confirmed = record("create_intake", "spotdraft", "after the preview",
                       await rig.measure("spotdraft", "create_intake", args))  # fmt: skip
    assert plain.rounds <= 2 and preview.rounds <= 1 and writes(preview) == [], (plain, preview)
    assert confirmed.rounds == 1 and len(confirmed.requests) == 1, confirmed


# -- find_people: pages at once, answers reused, dropped when the vendor refuses an assignee ------------


async def test_lightfield_member_pages_are_read_at_once(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    crowd = [
        {"id": f"mem_crowd{n:03d}", "first": f"Member{n:03d}", "last": "Crowd", "email": f"m{n}@northwind.example",
         "role": "Member"}
        for n in range(70)
    ]  # fmt: skip
    monkeypatch.setattr(lightfield_sandbox, "MEMBERS", [*lightfield_sandbox.MEMBERS, *crowd])
    found = await rig.measure("lightfield", "find_people", {"vendor": "lightfield", "query": "Member069"})
    record("find_people", "lightfield", "73 members (3 pages)", found)
    assert found.requests == ["GET /v1/members"] * 3 and found.rounds == 2, found  # the first page, then the rest


async def test_people_answers_are_reused_and_dropped_when_an_assignee_is_refused(rig: Rig) -> None:
    query = {"vendor": "lightfield", "query": "Dana"}
    assert (await rig.measure("lightfield", "find_people", query)).rounds == 1
    assert (await rig.measure("lightfield", "find_people", query)).rounds == 0  # reused
    refused = await rig.measure("lightfield", "create_task", unique(BY_ID["lightfield"], assignees=["mem_gone999"],
                                                                    allow_duplicate=True), ok=False)  # fmt: skip
    assert writes(refused) == ["POST /v1/tasks"]
    assert (await rig.measure("lightfield", "find_people", query)).rounds == 1  # asked again


# -- Workiva's token: fetched ahead, renewed in the background, one fetch at a time ---------------------


def token_fetches(rig: Rig) -> list[Timed]:
    return [r for r in rig.clock.seen if r.path == "/oauth2/token"]


async def test_workiva_token_is_fetched_once_for_concurrent_first_calls(cold_rig: Rig) -> None:
    rig = cold_rig
    results = []

    async def one() -> None:
        results.append(await rig.client.call_tool("list_tasks", {"vendor": "workiva", "limit": 1}))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(one)
    assert not any(r.is_error for r in results)
    await rig.settle()
    assert len(token_fetches(rig)) == 1
    second = record("list_tasks", "workiva", "second call (token held)",
                    await rig.measure("workiva", "list_tasks", {"vendor": "workiva", "limit": 1}))  # fmt: skip
    assert second.requests == ["GET /tasks"]


async def test_workiva_token_is_renewed_before_it_expires_without_a_call_waiting(cold_rig: Rig) -> None:
    rig = cold_rig
    adapter = await rig.service.vendors.adapter("workiva")
    assert isinstance(adapter, WorkivaAdapter)
    rig.service.vendors.runtimes["workiva"].sandbox_app.state.workiva.token_lifetime = 2
    adapter.token_auth.fetch_ahead()  # a warm-up: the first call then finds its token
    for _ in range(100):  # the fetch ahead starts once this test yields
        if token_fetches(rig):
            break
        await anyio.sleep(0.01)
    await rig.settle()
    assert len(token_fetches(rig)) == 1 and adapter.token_auth.fetches == 1
    first = await rig.measure("workiva", "list_tasks", {"vendor": "workiva", "limit": 1})
    assert first.requests == ["GET /tasks"]  # fetched ahead: the call did not wait for it
    await anyio.sleep(1.7)  # past three quarters of the 2 s lifetime, before its last tenth
    await rig.settle()
    assert adapter.token_auth.fetches == 2
    later = await rig.measure("workiva", "list_tasks", {"vendor": "workiva", "limit": 1})
    assert later.requests == ["GET /tasks"]  # renewed in the background: nothing to wait for
    fetches = token_fetches(rig)
    assert all(a.end <= b.start for a, b in itertools.pairwise(fetches)), "one fetch at a time"


#: somebody other than BY_NAME's assignee, by name (SpotDraft cannot list tasks: its check is the local record)
SOMEONE_ELSE = {"lightfield": "Priya", "workiva": "Priya Raman"}


@pytest.mark.parametrize("vendor", list(SOMEONE_ELSE))
async def test_a_create_by_name_is_checked_against_that_person_s_tasks(rig: Rig, vendor: str) -> None:
    """The duplicate check's list is read by title beside the name's lookup and the person matched here: a
    same-titled open task of that person refuses the create; one of somebody else's does not."""

    by_name = unique(BY_NAME[vendor])
    first = await rig.client.call_tool("create_task", by_name)
    assert not first.is_error, text_of(first)
    await rig.service.core.creates.forget(vendor, "task", first.structured_content["id"])  # the vendor's list must tell
    if vendor == "lightfield":
        rig.service.vendors.runtimes[vendor].sandbox_app.state.lightfield.catch_up()  # its list lags by design

    refused = await rig.measure(vendor, "create_task", by_name, ok=False)
    assert refused.rounds == 1 and writes(refused) == [], refused  # the list by title (the name is known)
    assert "already exists" in text_of(await rig.client.call_tool("create_task", {**by_name, "dry_run": True}))

    rig.service.people_service.directory.forget(vendor)
    someone_else = {**by_name, "assignees": [SOMEONE_ELSE[vendor]]}
    created = await rig.measure(vendor, "create_task", someone_else)
    assert writes(created) and created.rounds == 2, created  # the lookup beside the list, then the create
