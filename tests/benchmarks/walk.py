"""A `list_tasks` walk over N simulator tasks per vendor, measured in a process of its own.

`python -m tests.benchmarks.walk seed DATA_DIR N` fills each simulator's SQLite file with N tasks;
`python -m tests.benchmarks.walk walk N` (with the env that points tasklink at `tasklink sandbox`
on loopback) pages through every task with `list_tasks(limit=100)` through the MCP client and
prints one JSON line: rows seen, vendor requests and their page sizes, most requests in flight at
once, wall time, and peak RSS before and after the walk. The simulators run in another process,
so the RSS is tasklink's alone. The manifests' client-side rate limits apply, as in production.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

WALKED = ("lightfield", "trackops", "workiva")
PAGE_PARAM = {"lightfield": "limit", "trackops": "per_page", "workiva": "$maxpagesize"}
LIMIT = 100


def seed(data_dir: Path, n: int) -> None:
    from tasklink.manifests import load_manifests
    from tasklink.refs import load_object

    manifests = load_manifests()
    for vendor in WALKED:
        app = load_object(manifests[vendor].sandbox)(data_dir / "sandbox" / f"{vendor}.sqlite3")
        store = app.state.sandbox.store
        with store.transaction():
            if vendor == "lightfield":
                for i in range(n):
                    task = _lightfield_task(i)
                    store.put("task", task["id"], task)
                    store.put("index", task["id"], {"task": task, "trashed": False})
            elif vendor == "trackops":
                from tasklink.sandbox.trackops import _seed_task

                for kind in ("task",):
                    for old in store.all(kind):
                        store.delete(kind, old["id"])
                for i in range(n):
                    task = _seed_task(100_000 + i, f"Benchmark task {i}", "pending", "2026-05-01", calendar_id=1)
                    store.put("task", task["id"], task)
            else:
                template = store.all("task")[0]
                for old in store.all("task"):
                    store.delete("task", old["id"])
                for i in range(n):
                    task = dict(template, id=f"{i:032x}", title=f"Benchmark task {i}")
                    store.put("task", task["id"], task)
        store.close()


def _lightfield_task(i: int) -> dict[str, Any]:
    from tasklink.sandbox.lightfield import FIELD_DEFINITIONS

    return {
        "id": f"tsk_bench{i:011d}",
        "seq": i + 1,
        "createdAt": f"2026-01-01T00:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i % 60:03d}Z",
        "updatedAt": None,
        "fields": {k: None for k in FIELD_DEFINITIONS}
        | {"$title": f"Benchmark task {i}", "$status": "TODO", "$dueAt": "2026-05-01T17:00:00Z"},
        "relationships": {"$assignedTo": ["mem_sam0001"]},
    }


def peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def walk(n: int) -> dict[str, Any]:
    from mcp import Client

    from tasklink.mcp.server import build_server
    from tasklink.settings import TaskLinkSettings

    server = build_server(TaskLinkSettings())
    tl = server.service
    out: dict[str, Any] = {"n": n}
    async with Client(server, mode="legacy") as client:
        sizes: dict[str, list[int]] = {v: [] for v in WALKED}
        in_flight = {"now": 0, "max": 0}
        for vendor in WALKED:
            await client.call_tool("list_tasks", {"vendor": vendor, "limit": 1})  # builds the adapter; warms up
            rt = tl.vendors.runtimes[vendor]
            assert rt.mode == "live", f"{vendor} is not pointed at the loopback simulator"

            async def on_request(request: Any, vendor: str = vendor) -> None:
                query = dict(
                    parse_qsl(
                        request.url.query.decode() if isinstance(request.url.query, bytes) else str(request.url.query)
                    )
                )
                if PAGE_PARAM[vendor] in query:
                    sizes[vendor].append(int(query[PAGE_PARAM[vendor]]))
                in_flight["now"] += 1
                in_flight["max"] = max(in_flight["max"], in_flight["now"])

            async def on_response(response: Any) -> None:
                in_flight["now"] -= 1

            rt.client.event_hooks["request"].append(on_request)
            rt.client.event_hooks["response"].append(on_response)
        out["rss_before_kib"] = peak_rss_kib()
        for vendor in WALKED:
            in_flight["max"] = 0
            rows, calls, cursor, bytes_text, t0 = 0, 0, None, 0, time.perf_counter()
            while True:
                args: dict[str, Any] = {"vendor": vendor, "limit": LIMIT}
                if cursor:
                    args["cursor"] = cursor
                result = await client.call_tool("list_tasks", args)
                assert not result.is_error, result.content
                page = result.structured_content or {}
                rows += len(page["tasks"])
                bytes_text += sum(len(getattr(c, "text", "")) for c in result.content)
                calls += 1
                cursor = page.get("next_cursor")
                if not cursor or calls > n:  # bounded: never more calls than tasks
                    break
            out[vendor] = {
                "rows": rows,
                "tool_calls": calls,
                "vendor_requests": len(sizes[vendor]),
                "page_sizes": sorted(set(sizes[vendor])),
                "max_in_flight": in_flight["max"],
                "seconds": round(time.perf_counter() - t0, 2),
                "text_bytes_per_row": round(bytes_text / max(rows, 1), 1),
            }
    out["peak_rss_kib"] = peak_rss_kib()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        import anyio

        sys.setrecursionlimit(10_000)
        print(json.dumps(anyio.run(walk, int(sys.argv[2]))), flush=True)
