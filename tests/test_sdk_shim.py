"""Pins every SDK internal tasklink relies on (all of them live in tasklink.mcp.sdk).

When an `mcp` upgrade moves one of these, this file fails by name, instead of a tool call failing
somewhere deep with an AttributeError.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import EmptyResult, SetLevelRequestParams

from tasklink.mcp import sdk

pytestmark = pytest.mark.anyio


def test_the_low_level_server_takes_request_handlers() -> None:
    server = MCPServer("pin")

    async def handler(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        return EmptyResult()

    sdk.add_request_handler(server, "logging/setLevel", SetLevelRequestParams, handler)


def test_registered_tools_expose_their_schemas() -> None:
    server = MCPServer("pin")

    def echo(text: str) -> dict[str, str]:
        """Echo."""
        return {"text": text}

    server.add_tool(echo, structured_output=True)
    (tool,) = sdk.registered_tools(server)
    assert tool.name == "echo"
    assert tool.parameters["properties"]["text"]["type"] == "string"
    assert tool.fn_metadata.output_schema is not None


def test_the_token_verifier_can_be_set_after_construction() -> None:
    server = MCPServer("pin")
    assert hasattr(server, "_token_verifier")
    sentinel: Any = object()
    sdk.set_token_verifier(server, sentinel)
    assert server._token_verifier is sentinel


async def test_a_handshake_session_keeps_per_connection_state() -> None:
    server = MCPServer("pin")
    seen: list[dict[str, Any] | None] = []

    async def probe(ctx: Context[Any, Any]) -> str:
        """Report whether this connection has a state dict."""
        state = sdk.connection_state(ctx.session)
        seen.append(state)
        if state is not None:
            state["pinned"] = state.get("pinned", 0) + 1
        return "ok"

    server.add_tool(probe)
    async with Client(server, mode="legacy") as client:
        await client.call_tool("probe", {})
        await client.call_tool("probe", {})
    assert isinstance(seen[0], dict) and seen[0] is seen[1] and seen[1]["pinned"] == 2
