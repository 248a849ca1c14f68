"""Lightfield list pages (25 rows at most) are fetched ahead: one page, then the rest of the call at once.

Over real loopback HTTP, so concurrent requests really overlap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tasklink.models import ListTasksRequest
from tasklink.sandbox._core import SandboxState
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tests.benchmarks.walk import _lightfield_task
from tests.conftest import ThreadedUvicorn

pytestmark = pytest.mark.anyio


@pytest.fixture
async def lightfield(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[tuple[TaskLink, SandboxState, dict[str, int]]]:
    uv, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("LIGHTFIELD_"):
            monkeypatch.setenv(key, value)
    (mount,) = [r for r in uv.server.config.app.routes if getattr(r, "path", "") == "/lightfield"]
    state: SandboxState = mount.app.state.sandbox
    async with TaskLink(TaskLinkSettings(data_dir=tmp_path / "client", vendors=["lightfield"])) as tl:
        assert tl.vendors.runtime("lightfield").mode == "live"
        await tl.vendors.adapter("lightfield")
        yield tl, state, track_in_flight(tl)


def track_in_flight(tl: TaskLink) -> dict[str, int]:
    """Most vendor requests open at the same moment, seen from the adapter's HTTP client."""

    seen = {"now": 0, "max": 0}

    async def on_request(request: Any) -> None:
        seen["now"] += 1
        seen["max"] = max(seen["max"], seen["now"])

    async def on_response(response: Any) -> None:
        seen["now"] -= 1

    client = tl.vendors.runtime("lightfield").client
    assert client is not None
    client.event_hooks["request"].append(on_request)
    client.event_hooks["response"].append(on_response)
    return seen


def seed(state: SandboxState, n: int) -> None:
    with state.store.transaction():
        for i in range(n):
            task = _lightfield_task(i)
            state.store.put("task", task["id"], task)
            state.store.put("index", task["id"], {"task": task, "trashed": False})
    state.requests.clear()


def list_requests(state: SandboxState) -> list[dict[str, str]]:
    return [dict(parse_qsl(r.query)) for r in state.requests if r.method == "GET" and r.path.endswith("/v1/tasks")]


async def walk(tl: TaskLink, limit: int) -> tuple[list[str], int]:
    ids: list[str] = []
    cursor: str | None = None
    for calls in range(1, 50):
        page = await tl.list_tasks(ListTasksRequest(vendor="lightfield", limit=limit, cursor=cursor))
        ids.extend(t.id for t in page.tasks)
        cursor = page.next_cursor
        if not cursor:
            return ids, calls
    raise AssertionError("the walk did not end")


async def test_a_page_of_100_is_four_vendor_pages_of_25_and_the_walk_sees_every_task_once(
    lightfield: tuple[TaskLink, SandboxState, dict[str, int]],
) -> None:
    tl, state, in_flight = lightfield
    seed(state, 210)
    ids, calls = await walk(tl, 100)
    assert calls == 3
    assert len(ids) == 210 and len(set(ids)) == 210
    assert ids[0] == "tsk_bench00000000209"  # newest first, in vendor order across the concurrent pages
    assert in_flight["max"] == 3  # after each call's first page, the other three are fetched together
    requests = list_requests(state)
    assert {r["limit"] for r in requests} == {"25"}
    # 100 + 100 + 10 rows: 4 + 4 + 1 pages, none beyond what totalCount says exists
    assert sorted(int(r["offset"]) for r in requests) == list(range(0, 225, 25))


async def test_a_short_last_page_ends_the_walk_without_an_extra_request(
    lightfield: tuple[TaskLink, SandboxState, dict[str, int]],
) -> None:
    tl, state, in_flight = lightfield
    seed(state, 60)
    ids, calls = await walk(tl, 100)
    assert (len(ids), calls) == (60, 1)
    assert in_flight["max"] == 2  # totalCount said two more pages, not three
    assert sorted(int(r["offset"]) for r in list_requests(state)) == [0, 25, 50]


async def test_limits_below_a_vendor_page_ask_for_exactly_that_many(
    lightfield: tuple[TaskLink, SandboxState, dict[str, int]],
) -> None:
    tl, state, _ = lightfield
    seed(state, 30)
    page = await tl.list_tasks(ListTasksRequest(vendor="lightfield", limit=10))
    assert len(page.tasks) == 10
    assert [(r["offset"], r["limit"]) for r in list_requests(state)] == [("0", "10")]
