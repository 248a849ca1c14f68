"""Pins every SDK internal tasklink relies on (all of them live in tasklink.mcp.sdk).

When an `mcp` upgrade moves one of these, this file fails by name, instead of a tool call failing
somewhere deep with an AttributeError.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import EmptyResult, SetLevelRequestParams
from pydantic import ValidationError

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


def test_a_tool_is_found_by_name_with_the_argument_model_the_sdk_validates_with() -> None:
    server = MCPServer("pin")

    def tag(names: list[str], times: int = 1) -> dict[str, int]:
        """Tag."""
        return {"count": len(names) * times}

    server.add_tool(tag, structured_output=True)
    tool = sdk.find_tool(server, "tag")
    assert tool is not None and sdk.find_tool(server, "missing") is None
    assert tool.parameters["properties"]["names"]["type"] == "array"
    model = sdk.argument_model(tool)
    assert set(model.model_fields) == {"names", "times"}
    assert model.model_validate({"names": ["a"], "times": 2}).model_dump() == {"names": ["a"], "times": 2}
    with pytest.raises(ValidationError):
        model.model_validate({"times": 2})
    # unknown arguments are dropped by the SDK's model: tasklink refuses them before it runs
    assert "other" not in model.model_validate({"names": [], "other": 1}).model_dump()
    # a list sent as a JSON string is parsed by the SDK before it validates
    assert sdk.pre_parsed_arguments(tool, {"names": '["a", "b"]', "times": 1}) == {"names": ["a", "b"], "times": 1}


async def test_a_middleware_sees_tools_call_first_and_its_rewrite_reaches_the_tool() -> None:
    seen: list[dict[str, Any]] = []

    async def rewrite(ctx: Any, call_next: Any) -> Any:
        if ctx.method == "tools/call":
            arguments = {**ctx.params["arguments"], "text": ctx.params["arguments"]["text"].upper()}
            return await call_next(dataclasses.replace(ctx, params={**ctx.params, "arguments": arguments}))
        return await call_next(ctx)

    server = MCPServer("pin", middleware=[rewrite])

    def echo(text: str) -> dict[str, str]:
        """Echo."""
        seen.append({"text": text})
        return {"text": text}

    server.add_tool(echo, structured_output=True)
    for mode in ("auto", "legacy"):
        async with Client(server, mode=mode) as client:
            result = await client.call_tool("echo", {"text": "hi"})
        assert result.structured_content == {"text": "HI"}
    assert seen == [{"text": "HI"}, {"text": "HI"}]
