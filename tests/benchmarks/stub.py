"""A minimal Lightfield-shaped vendor on loopback: what `get_task` and `create_task` need.

- `GET /v1/tasks/{id}` answers one task record;
- `POST /v1/tasks` answers a created task record (the same one every time: nothing is stored), which
  `GET /v1/tasks/{its id}` also answers;
- `GET /v1/tasks/definitions` answers the task definitions (the duplicate check's title filter needs them);
- `GET /v1/tasks?...` answers an empty page (no same-titled task exists).

The bodies are the Lightfield simulator's own renderings, so the adapter does its real mapping work.
The stub counts TCP connections and requests per client (by User-Agent), so the benchmark can check
connection reuse: `GET /_stub/stats`, `POST /_stub/reset`.

Run: `python -m tests.benchmarks.stub PORT` (prints `ready` when listening).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

API_KEY = "sk_lf_benchmark_stub_key_0000"
TASK_ID = "tsk_benchmark000000000001"
CREATED_ID = "tsk_benchmark000000000002"


def task_record(task_id: str = TASK_ID) -> dict[str, Any]:
    from tasklink.sandbox.lightfield import FIELD_DEFINITIONS, LightfieldSandbox

    task = {
        "id": task_id,
        "seq": 1,
        "createdAt": "2026-03-02T09:00:00Z",
        "updatedAt": "2026-03-03T10:30:00Z",
        "fields": {k: None for k in FIELD_DEFINITIONS}
        | {
            "$title": "Send the renewal quote to Northwind",
            "$status": "TODO",
            "$description": "Quote for 40 seats, net 30; copy the account owner.",
            "$dueAt": "2026-03-20T17:00:00Z",
        },
        "relationships": {"$assignedTo": ["mem_sam0001"], "$account": ["acc_northwind01"]},
    }
    rendered: dict[str, Any] = LightfieldSandbox.render(task)
    return rendered


def definitions() -> dict[str, Any]:
    from tasklink.sandbox.lightfield import FIELD_DEFINITIONS, RELATIONSHIP_DEFINITIONS, RELATIONSHIP_SLUGS

    return {
        "objectType": "task",
        "fieldDefinitions": FIELD_DEFINITIONS,
        "relationshipDefinitions": {
            key: {**definition, "slug": RELATIONSHIP_SLUGS[key]} for key, definition in RELATIONSHIP_DEFINITIONS.items()
        },
    }


class Stats:
    def __init__(self) -> None:
        self.connections: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def as_json(self) -> dict[str, Any]:
        return {"connections": dict(self.connections), "requests": dict(self.requests)}


def response(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def serve(port: int) -> None:
    body = json.dumps(task_record()).encode()
    created = json.dumps(task_record(CREATED_ID)).encode()
    defined = json.dumps(definitions()).encode()
    empty = json.dumps({"object": "list", "data": [], "totalCount": 0}).encode()
    not_found = json.dumps({"error": {"type": "not_found", "message": "No such task."}}).encode()
    unauthorized = json.dumps({"error": {"type": "authentication_error", "message": "Bad key."}}).encode()
    stats = Stats()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        agent = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                if agent is None:
                    agent = headers.get("user-agent", "?").split("/")[0]
                    stats.connections[agent] += 1
                if target.startswith("/_stub/"):
                    if method == "POST":
                        stats.__init__()
                        agent = None
                    writer.write(response("200 OK", json.dumps(stats.as_json()).encode()))
                else:
                    stats.requests[agent] += 1
                    if headers.get("authorization") != f"Bearer {API_KEY}":
                        writer.write(response("401 Unauthorized", unauthorized))
                    elif method == "GET" and target == f"/v1/tasks/{TASK_ID}":
                        writer.write(response("200 OK", body))
                    elif (method == "POST" and target == "/v1/tasks") or target == f"/v1/tasks/{CREATED_ID}":
                        writer.write(response("200 OK", created))
                    elif method == "GET" and target == "/v1/tasks/definitions":
                        writer.write(response("200 OK", defined))
                    elif method == "GET" and target.startswith("/v1/tasks?"):
                        writer.write(response("200 OK", empty))
                    else:
                        writer.write(response("404 Not Found", not_found))
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
