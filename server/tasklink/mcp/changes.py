"""Resource subscriptions, told of changes made through any worker.

A client subscribes to `task://{vendor}/{task_id}` or `intake://{intake_id}` (handshake era;
2026-07-28 clients use `subscriptions/listen`). A successful write tells this worker's subscribed
sessions at once (before its own answer goes out) and publishes the change to the state store; every
other worker listening to the store (PostgreSQL LISTEN/NOTIFY) tells its own subscribed sessions.
With SQLite there is one worker, so the first step is all there is.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from ..state import StateStore
from .sdk import add_request_handler, connection_of, connection_state
from .tools import ALL_TOOLS

log = logging.getLogger("tasklink")

SUBSCRIPTIONS_KEY = "tasklink.subscriptions"
#: tools that change the resource named by their arguments (from each tool's spec)
CHANGES = {spec.name: spec.changes for spec in ALL_TOOLS if spec.changes}


def subscriptions(session: Any) -> set[str]:
    state = connection_state(session)
    if state is None:
        return set()
    found = state.setdefault(SUBSCRIPTIONS_KEY, set())
    assert isinstance(found, set)
    return found


def changed_resource(tool: str, arguments: Mapping[str, Any]) -> str | None:
    kind = CHANGES.get(tool)
    if kind == "intake" and arguments.get("intake_id") is not None:
        return f"intake://{arguments['intake_id']}"
    if kind == "task" and arguments.get("vendor") and arguments.get("task_id"):
        return f"task://{arguments['vendor']}/{arguments['task_id']}"
    return None


class Subscribers:
    """This worker's client connections that subscribed to something (held weakly: a closed one just goes)."""

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        #: names this worker in the changes it publishes, so it does not tell its sessions twice
        self.worker = uuid.uuid4().hex

    def register(self, server: MCPServer) -> None:
        async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
            subscriptions(ctx.session).add(str(params.uri))
            connection = connection_of(ctx.session)
            if connection is not None:
                self._connections.add(connection)
            return EmptyResult()

        async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
            subscriptions(ctx.session).discard(str(params.uri))
            return EmptyResult()

        add_request_handler(server, "resources/subscribe", SubscribeRequestParams, subscribe)
        add_request_handler(server, "resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)

    async def deliver(self, uri: str) -> None:
        for connection in list(self._connections):
            state = getattr(connection, "state", None)
            if isinstance(state, dict) and uri in state.get(SUBSCRIPTIONS_KEY, ()):
                with contextlib.suppress(Exception):  # a client that went away meanwhile
                    await connection.send_resource_updated(uri)

    async def listen(self, store: StateStore) -> None:
        """Deliver the changes other workers publish, for as long as the server runs."""

        async with store.changes() as changes:
            async for change in changes:
                if change.origin != self.worker:
                    await self.deliver(change.uri)

    async def changed(self, store: StateStore, tool: str, arguments: Mapping[str, Any]) -> None:
        """After a successful write: tell this worker's subscribers, then every other worker."""

        uri = changed_resource(tool, arguments)
        if uri is None:
            return
        await self.deliver(uri)
        try:
            await store.publish(self.worker, uri)
        except Exception as exc:  # a notification is a courtesy: it never fails the write that made it
            log.warning("could not publish the change of %s: %s", uri, exc)
