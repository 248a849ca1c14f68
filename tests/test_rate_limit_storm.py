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
from .support import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LIMIT = 5
CALLS = 50
BURST = LIMIT  # a token bucket of LIMIT/s may also spend its full capacity inside one window


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
    seconds = [per_second[s] for s in sorted(per_second)]
    REPORTS.append(
        f"429 storm: {CALLS} concurrent list_tasks against a {LIMIT} req/s vendor finished in {elapsed:.1f} s; "
        f"vendor saw {len(seen)} requests ({dict(statuses)}), per second {seconds}, slowest call {max(durations):.1f} s"
    )
    # The first second may carry the opening burst: up to the concurrency cap in flight before the vendor's
    # X-RateLimit-Limit is known, plus the adopted bucket's own capacity. After that, the vendor's pace.
    cap = service_of(server).vendors.runtimes["lightfield"].manifest.rate_limits.max_concurrency
    assert seconds[0] <= cap + LIMIT, seconds
    assert max(seconds[1:]) <= LIMIT + BURST, seconds
    assert statuses[200] == CALLS
    assert statuses[429] <= 2, statuses  # the client queued instead of tripping the vendor's limit
