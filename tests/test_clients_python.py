"""The Python `mcp` Client in both protocol modes over stdio, HTTP (with a token) and in-memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.types import ResourceTemplateReference

from .conftest import MODES, tasklink_command
from .http_support import TOKEN, ServeProcess, base_env
from .support import text_of

pytestmark = pytest.mark.anyio
TRANSPORTS = ["memory", "stdio", "http"]


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("python-clients")
    with ServeProcess(tmp, base_env(tmp / "data", TASKLINK_HTTP_TOKEN=TOKEN)) as srv:
        yield srv


@asynccontextmanager
async def connect(
    transport: str, mode: str, server: MCPServer, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Client]:
    if transport == "memory":
        async with Client(server, mode=mode) as client:
            yield client
    elif transport == "stdio":
        command, *args = tasklink_command()
        env = base_env(tmp_path / "stdio")
        params = StdioServerParameters(command=command, args=[*args, "serve"], env=env)
        async with Client(params, mode=mode) as client:
            yield client
    else:
        srv: ServeProcess = request.getfixturevalue("http_server")
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(srv.url, http_client=http), mode=mode) as client,
        ):
            yield client


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_python_client(
    transport: str, mode: str, server: MCPServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if transport != "memory":
        request.applymarker(pytest.mark.slow)
    async with connect(transport, mode, server, tmp_path, request) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"create_intake", "create_task", "get_intake", "list_vendors"} <= tools

        created = await client.call_tool("create_intake", {"title": f"Python {transport} {mode}", "priority": "LOW"})
        assert not created.is_error, text_of(created)
        intake_id = created.structured_content["id"]
        task = await client.call_tool(
            "create_task",
            {"vendor": "spotdraft", "title": "Python client task", "intake_id": intake_id, "assignees": ["102"]},
        )
        assert not task.is_error, text_of(task)

        read_back = (await client.call_tool("get_intake", {"intake_id": intake_id})).structured_content
        assert [t["title"] for t in read_back["tasks"]] == ["Python client task"]

        # the same intake as a resource, and a completion, on every transport
        resource = await client.read_resource(f"intake://{intake_id}")
        assert f"Python {transport} {mode}" in resource.contents[0].text
        completion = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="task://{vendor}/{task_id}"),
            {"name": "vendor", "value": "spot"},
        )
        assert completion.completion.values == ["spotdraft"]
