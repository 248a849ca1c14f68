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
- the tool registry itself, replaced by one that builds each tool (its argument model and JSON
  schemas, the costliest part of start-up) the first time it is used (`ToolsOnFirstUse`);
- the token verifier, set after construction when the HTTP deployment adds authentication;
- the Streamable HTTP session transport (handshake era), which the SDK configures for SSE or for
  JSON answers once per server: `answer_per_request` makes the choice for each POST instead
  (`PerRequestAnswers`).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.server.streamable_http import StreamableHTTPServerTransport, check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import LoggingLevel
from pydantic import BaseModel
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

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


def connection_of(session: Any) -> Any | None:
    """The connection behind a request's session: it outlives the request, keeps per-client state, and sends
    server-initiated notifications (`send_resource_updated`) on its standalone stream."""

    return getattr(session, "_connection", None)


def connection_state(session: Any) -> dict[str, Any] | None:
    """Per-connection scratch space the SDK keeps for each client (one per handshake session)."""

    state = getattr(connection_of(session), "state", None)
    return state if isinstance(state, dict) else None


def registered_tools(server: MCPServer) -> list[Any]:
    return list(server._tool_manager.list_tools())


class ToolsOnFirstUse(ToolManager):
    """The SDK's tool registry, building each deferred tool the first time it is looked up.

    `defer` records a function and its `add_tool` options; `get_tool` (a call, the argument check,
    the SDK's schema lookup) builds that one tool and hands it to `finish` (schema compaction) before
    anyone sees it. Listing every tool builds them all, in the order they were deferred.
    """

    def __init__(self, finish: Callable[[Tool], None]) -> None:
        super().__init__()
        self._finish = finish
        self._pending: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}
        self._order: list[str] = []

    def defer(self, fn: Callable[..., Any], **options: Any) -> None:
        """Register `fn` as a tool (with `add_tool`'s options), to be built on first use."""

        name = options.setdefault("name", fn.__name__)
        if name in self._pending or name in self._tools:
            raise ValueError(f"tool {name!r} is registered twice")
        self._pending[name] = (fn, options)
        self._order.append(name)

    def get_tool(self, name: str) -> Tool | None:
        tool = self._tools.get(name)
        if tool is None and name in self._pending:
            fn, options = self._pending.pop(name)
            tool = super().add_tool(fn, **options)
            self._finish(tool)
        return tool

    def list_tools(self) -> list[Tool]:
        ordered = [tool for tool in map(self.get_tool, self._order) if tool is not None]
        deferred = set(self._order)
        return ordered + [tool for name, tool in self._tools.items() if name not in deferred]

    def remove_tool(self, name: str) -> None:
        if self._pending.pop(name, None) is None:
            super().remove_tool(name)
        if name in self._order:
            self._order.remove(name)

    @property
    def built(self) -> list[str]:
        """The names of the tools built so far."""

        return list(self._tools)


def build_tools_on_first_use(server: MCPServer, finish: Callable[[Tool], None]) -> ToolsOnFirstUse:
    """Give `server` a tool registry that builds each tool on first use (before any tool is added)."""

    if server._tool_manager.list_tools():
        raise ValueError("replace the tool registry before adding tools")
    manager = ToolsOnFirstUse(finish)
    server._tool_manager = manager
    return manager


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


#: whether the POST being handled (in this task) is answered as plain JSON; unset (False) elsewhere
_plain_answer: ContextVar[bool] = ContextVar("tasklink_plain_answer", default=False)
#: a JSON-RPC message (parsed) -> whether answering it may need a stream (progress, a question to the user)
NeedsStream = Callable[[Any], bool]


class PerRequestAnswers(StreamableHTTPServerTransport):
    """A handshake-era session transport that answers each request POST as one JSON body unless the
    request may need an SSE stream (`needs_stream`), instead of the SDK's one choice per server.

    The SDK reads `is_json_response_enabled` while it handles a POST (which answer to build, and
    whether the call may send the client a request: `can_send_request`) and in the session's message
    router (whether a notification tied to a request is dropped). Here it is this POST's choice
    inside the POST's own handling and False everywhere else, so the router keeps routing: a request
    answered as JSON never produces a notification tied to it (progress needs a progress token, and a
    question to the user a tool that may ask, and both get a stream); log messages and resource
    updates of the handshake era ride the session's GET stream, not the POST.
    """

    #: set on each transport by `answer_per_request`
    needs_stream: NeedsStream

    @property
    def is_json_response_enabled(self) -> bool:
        return _plain_answer.get()

    @is_json_response_enabled.setter
    def is_json_response_enabled(self, value: bool) -> None:
        """The SDK's per-server setting is ignored: the choice is made for each request."""

    async def _handle_post_request(self, scope: Scope, request: Request, receive: Receive, send: Send) -> None:
        token = _plain_answer.set(await self._answers_plain(request))
        try:
            await super()._handle_post_request(scope, request, receive, send)
        finally:
            _plain_answer.reset(token)

    async def _answers_plain(self, request: Request) -> bool:
        has_json, has_sse = check_accept_headers(request)
        if not (has_json and has_sse):
            return False  # the SDK's own checks answer such a request (406), as they always did
        try:  # Starlette keeps the body: the SDK reads the same bytes again
            message = json.loads(await request.body())
        except (ValueError, RecursionError):
            return False
        return not self.needs_stream(message)


def may_ask_the_user(fn: Callable[..., Any]) -> bool:
    """Whether a tool function has parameters the SDK fills by asking the client (`Resolve`: elicitation)."""

    from mcp.server.mcpserver.resolve import find_resolved_parameters

    return bool(find_resolved_parameters(fn))


def answer_per_request(manager: StreamableHTTPSessionManager, needs_stream: NeedsStream) -> None:
    """Every handshake-era session `manager` opens from now on answers plain JSON where nothing streams.

    (Stateless handshake-era requests keep the SDK's per-server choice; 2026-07-28 requests are
    answered by the SDK as JSON unless something is sent before the result, on their own.)"""

    admit = manager._admit_session

    def admit_session(requestor: Any) -> StreamableHTTPServerTransport | None:
        transport = admit(requestor)
        if transport is not None:
            transport.__class__ = PerRequestAnswers  # the SDK's transport, answering per request
            assert isinstance(transport, PerRequestAnswers)
            transport.needs_stream = needs_stream
        return transport

    manager._admit_session = admit_session  # type: ignore[method-assign]


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
