"""A burst of agents against a vendor that allows 5 requests/s: everything queues, nothing fails."""

from __future__ import annotations

import math
import time
from collections import Counter

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from .conftest import REPORTS, sandbox_of, service_of
from .test_spotdraft_workflow import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIMIT = 5
CALLS = 50
BURST = 3


async def test_429_storm_every_call_succeeds_within_its_deadline(server: MCPServer) -> None:
    state = await sandbox_of(server, "lightfield")
    service_of(server).vendors.runtimes["lightfield"].sandbox_app.state.lightfield.rate_limit = LIMIT
    deadline = service_of(server).settings.call_deadline
    errors: list[str] = []
    durations: list[float] = []

    async def one(client: Client) -> None:
        start = time.monotonic()
        result = await client.call_tool("list_tasks", {"vendor": "lightfield", "limit": 5})
        durations.append(time.monotonic() - start)
        if result.is_error:
            errors.append(text_of(result))

    started = time.monotonic()
    async with Client(server) as client:
        with anyio.fail_after(deadline):
            async with anyio.create_task_group() as tg:
                for _ in range(CALLS):
                    tg.start_soon(one, client)
    elapsed = time.monotonic() - started
    assert errors == []
    assert max(durations) < deadline
    seen = [r for r in state.requests if r.method == "GET" and r.path == "/v1/tasks"]
    per_second = Counter(math.floor(r.at - seen[0].at) for r in seen)
    statuses = Counter(r.status for r in seen)
    REPORTS.append(
        f"429 storm: {CALLS} concurrent list_tasks against a {LIMIT} req/s vendor finished in {elapsed:.1f} s; "
        f"vendor saw {len(seen)} requests ({dict(statuses)}), busiest second {max(per_second.values())}, "
        f"slowest call {max(durations):.1f} s"
    )
    assert max(per_second.values()) <= LIMIT + BURST, per_second
    assert statuses[200] == CALLS
