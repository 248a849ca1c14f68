"""Every place tasklink relies on an `mcp` SDK internal, in one module.

The SDK's public API does not (yet) offer these; each is pinned by tests/mcp/test_sdk_shim.py so
an SDK upgrade that moves one fails there, by name, instead of somewhere deep in a tool call.

- the low-level server, to add request handlers the high-level server has no decorator for
  (`logging/setLevel`, `resources/subscribe`, `resources/unsubscribe`);
- the per-connection state dict a handshake-era session keeps (a client's log level and
  subscriptions live there);
- the registered tools, to compact their schemas after registration, and one tool by name with the
  argument model the SDK validates its arguments with and the SDK's JSON-in-a-string pre-parsing
  (`tools/call` arguments are read, normalized and checked against that model before the SDK sees them);
- the token verifier, set after construction when the HTTP deployment adds authentication.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import LoggingLevel
from pydantic import BaseModel

LOG_LEVELS: tuple[LoggingLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
LOG_LEVEL_KEY = "tasklink.log_level"


def add_request_handler(
    server: MCPServer, method: str, params_type: type[Any], handler: Callable[..., Awaitable[Any]]
) -> None:
    server._lowlevel_server.add_request_handler(method, params_type, handler)


def connection_state(session: Any) -> dict[str, Any] | None:
    """Per-connection scratch space the SDK keeps for each client (one per handshake session)."""

    state = getattr(getattr(session, "_connection", None), "state", None)
    return state if isinstance(state, dict) else None


def registered_tools(server: MCPServer) -> list[Any]:
    return list(server._tool_manager.list_tools())


def find_tool(server: MCPServer, name: str) -> Any | None:
    """The registered tool called `name` (with its `parameters` schema and `fn_metadata`), or None."""

    return server._tool_manager.get_tool(name)


def argument_model(tool: Any) -> type[BaseModel]:
    """The pydantic model the SDK validates a tool's arguments with (built from the function's signature)."""

    model = tool.fn_metadata.arg_model
    assert isinstance(model, type) and issubclass(model, BaseModel)
    return model


def pre_parsed_arguments(tool: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments after the SDK's own pre-parsing (a list or object sent as a JSON string is parsed)."""

    parsed = tool.fn_metadata.pre_parse_json(arguments)
    assert isinstance(parsed, dict)
    return parsed


def set_token_verifier(server: MCPServer, verifier: TokenVerifier) -> None:
    server._token_verifier = verifier


async def client_log(session: Any, level: LoggingLevel, message: str) -> None:
    """Send one log line to the client if it asked for this level (handshake) or opted in (2026-07-28)."""

    state = connection_state(session)
    wanted = state.get(LOG_LEVEL_KEY) if state is not None else None
    modern = getattr(session, "protocol_version", "") >= "2026"
    if not modern and (wanted is None or LOG_LEVELS.index(level) < LOG_LEVELS.index(wanted)):
        return
    with contextlib.suppress(Exception), warnings.catch_warnings():  # logging must never fail the call
        # deprecated in 2026-07-28 (SEP-2577) but still what handshake-era clients read
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await session.send_log_message(level, message, logger="tasklink")
