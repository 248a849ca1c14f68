"""Over Streamable HTTP (handshake era), each request is answered as one JSON body unless it may stream.

A request with a progress token, and a call of a tool that may ask the user (elicitation), get an SSE
stream, and their notifications and questions still arrive; everything else (initialize, tools/list,
reads and writes without progress) is plain JSON, which costs the server less per call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitResult

from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app, stream_policy
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn, free_port
from .support import text_of

pytestmark = pytest.mark.anyio
PROTOCOL = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True)
    options = HttpOptions(port=free_port())
    with ThreadedUvicorn(http_app(build_server(settings), options, HttpSettings()), options.port) as srv:
        yield f"{srv.base}/mcp"


class Session:
    """One handshake-era session spoken by hand, to see how each answer is framed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx2.Client(timeout=30)
        self.headers = {"content-type": "application/json", "accept": ACCEPT}
        self.next_id = 0

    def post(self, method: str, params: dict[str, Any] | None = None, **headers: str) -> httpx2.Response:
        self.next_id += 1
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        return self.http.post(self.url, json=body, headers={**self.headers, **headers})

    def open(self) -> httpx2.Response:
        opened = self.post(
            "initialize",
            {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "answers", "version": "0"}},
        )
        self.headers |= {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        sent = self.http.post(self.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                              headers=self.headers)  # fmt: skip
        assert sent.status_code == 202
        return opened


def kind(response: httpx2.Response) -> str:
    return response.headers["content-type"].split(";")[0]


def events(response: httpx2.Response) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ") and line[6:]]


def test_plain_requests_are_answered_as_json(served: str) -> None:
    session = Session(served)
    opened = session.open()
    assert opened.status_code == 200 and kind(opened) == "application/json"
    assert "serverInfo" in opened.json()["result"]
    for method, params in (
        ("tools/list", {}),
        ("tools/call", {"name": "list_vendors", "arguments": {}}),
        ("tools/call", {"name": "get_task", "arguments": {"vendor": "trackops", "task_id": "501"}}),
        ("resources/read", {"uri": "capabilities://lightfield"}),
        ("ping", {}),
    ):
        answer = session.post(method, params)
        assert answer.status_code == 200 and kind(answer) == "application/json", (method, answer.text[:200])
        assert answer.json()["id"] == session.next_id and "result" in answer.json()


def test_progress_and_questions_get_a_stream(served: str) -> None:
    session = Session(served)
    session.open()
    listed = session.post(
        "tools/call", {"name": "list_tasks", "arguments": {"vendor": "lightfield"}, "_meta": {"progressToken": "p1"}}
    )
    assert kind(listed) == "text/event-stream"
    sent = events(listed)
    assert [e["method"] for e in sent if "method" in e][:1] == ["notifications/progress"]
    assert sent[-1]["id"] == session.next_id and not sent[-1]["result"]["isError"]

    asking = session.post("tools/call", {"name": "delete_task", "arguments": {"vendor": "lightfield", "task_id": "x"}})
    assert kind(asking) == "text/event-stream"
    assert events(asking)[-1]["id"] == session.next_id


def test_a_client_that_accepts_json_only_is_refused_as_before(served: str) -> None:
    session = Session(served)
    session.open()
    answer = session.post("tools/list", accept="application/json")
    assert answer.status_code == 406


async def test_an_sdk_client_still_gets_progress_and_questions(served: str) -> None:
    asked: list[str] = []
    progress: list[float] = []

    async def answer(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(served, mode="legacy", elicitation_callback=answer) as client:
        listed = await client.call_tool("list_tasks", {"vendor": "lightfield"}, progress_callback=on_progress)
        assert not listed.is_error, text_of(listed)
        assert progress and progress == sorted(progress)
        created = await client.call_tool(
            "create_task", {"vendor": "lightfield", "title": "Answered on a stream", "assignees": ["mem_sam0001"]}
        )
        assert not created.is_error, text_of(created)
        deleted = await client.call_tool(
            "delete_task", {"vendor": "lightfield", "task_id": created.structured_content["id"]}
        )
        assert not deleted.is_error, text_of(deleted)
        assert deleted.structured_content["deleted"] is True and len(asked) == 1


def test_the_stream_policy() -> None:
    needs_stream = stream_policy(frozenset({"delete_task"}))
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_task", "arguments": {}}}
    assert not needs_stream(call)
    assert needs_stream({**call, "params": {"name": "get_task", "_meta": {"progressToken": 7}}})
    assert needs_stream({**call, "params": {"name": "delete_task"}})
    assert not needs_stream({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert needs_stream({"jsonrpc": "2.0", "id": 3, "method": "tasks/get", "params": {}})  # not known to be plain
    assert needs_stream({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert needs_stream([call])
