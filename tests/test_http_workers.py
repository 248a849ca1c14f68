"""Two `--stateless` workers behind a round-robin balancer finish workflows that span both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from .conftest import MODES
from .http_support import TOKEN, ServeProcess, base_env
from .support import run_recipe, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SECRET = "shared-confirm-secret-for-both-workers"


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer in the client: each HTTP request goes to the next worker in turn.

    One twist makes the test deterministic: a tool call never goes to the worker that served the
    previous call of the same tool, so both steps of a confirmation always land on different workers.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.inner = httpx2.AsyncHTTPTransport()
        self.sent = 0
        #: (worker port, JSON-RPC method, tool name) for every POST
        self.log: list[tuple[int, str, str | None]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[self.sent % len(self.ports)]
        self.sent += 1
        if request.method == "POST":
            body = json.loads(request.content or b"{}")
            method, tool = str(body.get("method")), (body.get("params") or {}).get("name")
            if method == "tools/call" and self.workers_for(tool)[-1:] == [port]:
                port = self.ports[self.sent % len(self.ports)]
                self.sent += 1
            self.log.append((port, method, tool))
        request.url = request.url.copy_with(port=port)
        request.headers["Host"] = f"127.0.0.1:{port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def workers_for(self, tool: str | None) -> list[int]:
        return [port for port, method, name in self.log if method == "tools/call" and name == tool]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[ServeProcess]]:
    env = base_env(tmp_path / "shared-data", TASKLINK_CONFIRM_SECRET=SECRET, TASKLINK_HTTP_TOKEN=TOKEN)
    with ExitStack() as stack:
        yield [stack.enter_context(ServeProcess(tmp_path, env, "--stateless")) for _ in range(2)]


def balanced_client(workers: list[ServeProcess], mode: str, **kwargs: Any) -> tuple[Client, RoundRobin]:
    balancer = RoundRobin([w.port for w in workers])
    http = httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {TOKEN}"})
    return Client(streamable_http_client(workers[0].url, http_client=http), mode=mode, **kwargs), balancer


@pytest.mark.parametrize("mode", MODES)
async def test_spotdraft_workflow_across_two_stateless_workers(workers: list[ServeProcess], mode: str) -> None:
    client, balancer = balanced_client(workers, mode)
    async with client:
        await run_recipe(client)
    # the preview (confirm_token minted) and the confirmed delete ran on different workers
    delete_calls = balancer.workers_for("delete_intake")
    assert len(delete_calls) == 2 and delete_calls[0] != delete_calls[1], balancer.log
    assert {port for port, _, _ in balancer.log} == {w.port for w in workers}


async def test_elicited_delete_starts_on_one_worker_and_finishes_on_the_other(workers: list[ServeProcess]) -> None:
    asked: list[str] = []

    async def accept(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    # 2026-07-28: the question comes back as input_required with sealed requestState; the
    # client answers in a second request, which the balancer sends to the other worker
    client, balancer = balanced_client(workers, "auto", elicitation_callback=accept)
    async with client:
        created = await client.call_tool("create_intake", {"title": "Cross-worker delete"})
        assert not created.is_error, text_of(created)
        intake_id = created.structured_content["id"]
        deleted = await client.call_tool("delete_intake", {"intake_id": intake_id})
        assert not deleted.is_error, text_of(deleted)
        assert deleted.structured_content["deleted"] is True
        assert len(asked) == 1 and "Cross-worker delete" in asked[0]
        gone = await client.call_tool("get_intake", {"intake_id": intake_id})
        assert gone.is_error
    rounds = balancer.workers_for("delete_intake")
    assert len(rounds) == 2 and rounds[0] != rounds[1], balancer.log


async def test_workers_without_a_shared_secret_reject_each_others_confirmations(tmp_path: Path) -> None:
    """The control: what the shared TASKLINK_CONFIRM_SECRET buys."""
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                ServeProcess(
                    tmp_path,
                    base_env(
                        tmp_path / "shared-data", TASKLINK_CONFIRM_SECRET=f"{SECRET}-{n}", TASKLINK_HTTP_TOKEN=TOKEN
                    ),
                    "--stateless",
                )
            )
            for n in range(2)
        ]
        client, _ = balanced_client(workers, "auto")
        async with client:
            intake = (await client.call_tool("create_intake", {"title": "Not shared"})).structured_content
            preview = (await client.call_tool("delete_intake", {"intake_id": intake["id"]})).structured_content
            refused = await client.call_tool(
                "delete_intake", {"intake_id": intake["id"], "confirm": True, "confirm_token": preview["confirm_token"]}
            )
            assert refused.is_error and "confirm_token" in text_of(refused)
            assert not (await client.call_tool("get_intake", {"intake_id": intake["id"]})).is_error
