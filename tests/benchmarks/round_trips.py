"""Sequential vendor round trips per tool and vendor, through the real tool path, with the local time.

`python -m tests.benchmarks.round_trips DATA_DIR` runs tasklink in-process on every simulator, each
wrapped in a clock that holds every request for LATENCY and times it, calls each tool a vendor
supports with arguments valid against the simulator's seed data, and prints one JSON line: per tool
and vendor, the sequential round trips, all requests, and the local time (the call's wall time minus
the time any vendor request was in flight: tasklink's own work, the in-memory MCP client included).
Round trips are counted as tests/test_round_trips.py counts them: the longest chain of a call's
requests in which each starts after the previous one ended (requests that overlap are one round).
The modelled wait of a call is round trips × 200 ms (a typical SaaS API) + local time.

It runs against an earlier checkout too (the runner's --before), so it needs nothing but the
service, the server and the registry's `sandbox_middleware` hook.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from starlette.types import ASGIApp, Receive, Scope, Send

from tasklink.manifests import VendorManifest, load_manifests
from tasklink.mcp.server import build_server
from tasklink.refs import sibling
from tasklink.sandbox._core import route_path
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import Vendors

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
#: how long each simulated vendor request is held: long enough that concurrent requests visibly overlap
LATENCY = 0.03


@dataclass
class Timed:
    vendor: str
    method: str
    path: str
    start: float
    end: float = 0.0


@dataclass
class Clock:
    """The registry's `sandbox_middleware`: each vendor request takes `latency` seconds and is timed (the
    round-trip tests use it too)."""

    latency: float = LATENCY
    seen: list[Timed] = field(default_factory=list)

    def middleware(self, vendor: str, app: ASGIApp) -> ASGIApp:
        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            path = route_path(scope) if scope["type"] == "http" else ""
            if scope["type"] != "http" or path.startswith("/_sandbox"):
                await app(scope, receive, send)
                return
            entry = Timed(vendor, scope["method"], path, time.perf_counter())
            self.seen.append(entry)
            await anyio.sleep(self.latency)
            await app(scope, receive, send)
            entry.end = time.perf_counter()

        return timed


def rounds(requests: list[Timed]) -> int:
    """The longest chain of requests each of which started after the previous one ended."""

    done = sorted(requests, key=lambda r: r.end)
    chain: list[int] = []
    for n, r in enumerate(done):
        chain.append(1 + max((chain[m] for m in range(n) if done[m].end <= r.start), default=0))
    return max(chain, default=0)


def in_flight_ms(requests: list[Timed]) -> float:
    """Milliseconds during which at least one of `requests` was in flight."""

    total, reach = 0.0, float("-inf")
    for r in sorted(requests, key=lambda r: r.start):
        start, end = max(r.start, reach), r.end
        if end > start:
            total += end - start
        reach = max(reach, end)
    return total * 1000


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


async def vendor_calls(manifest: VendorManifest, call: Call) -> None:
    """Every tool `manifest` supports, in an order that gives each the record it needs."""

    name = manifest.name
    examples: dict[str, dict[str, Any]] = sibling(manifest.sandbox, "contract_examples")()

    def supports(op: str) -> bool:
        return manifest.operation(op).supported

    await call("list_vendors", {"vendor": name})
    if supports("create_task"):
        create = {"vendor": name, **examples["create_task"]}
        await call("create_task (first call)", {**create, "title": unique(create["title"])})
        task = await call("create_task", {**create, "title": unique(create["title"])})
        task_id = task.get("id") if task else None
        if supports("get_task") and task_id:
            await call("get_task", {"vendor": name, "task_id": task_id})
        if supports("update_task") and task_id:
            await call("update_task", {"vendor": name, "task_id": task_id, **examples.get("update_task", {})})
        if supports("delete_task") and task_id:
            preview = await call("delete_task (preview)", {"vendor": name, "task_id": task_id})
            token = preview.get("confirm_token")
            await call("delete_task (confirmed)", {"vendor": name, "task_id": task_id, "confirm": True,
                                                   "confirm_token": token})  # fmt: skip
    if supports("list_tasks"):
        await call("list_tasks", {"vendor": name, "limit": 25})
    for op in ("find_people", "find_records"):
        if supports(op):
            await call(op, {"vendor": name, **examples[op]})
    if supports("create_intake"):
        await intake_calls(examples, call)


async def intake_calls(examples: dict[str, dict[str, Any]], call: Call) -> None:
    create = examples["create_intake"]
    intake = await call("create_intake", {**create, "title": unique(create["title"])})
    intake_id = intake.get("id")
    await call("get_intake", {"intake_id": intake_id})
    await call("list_intakes", {"limit": 25})
    await call("update_intake", {"intake_id": intake_id, **examples["update_intake"]})
    await call("update_intake_assignees", {"intake_id": intake_id, **examples["update_intake_assignees"]})
    preview = await call("delete_intake (preview)", {"intake_id": intake_id})
    await call("delete_intake (confirmed)", {"intake_id": intake_id, "confirm": True,
                                             "confirm_token": preview.get("confirm_token")})  # fmt: skip


async def measure(data_dir: Path) -> dict[str, Any]:
    # the warm-up below runs to its end before anything is measured (an earlier checkout has no such setting)
    cold = {"warm_up": "off"} if "warm_up" in TaskLinkSettings.model_fields else {}
    settings = TaskLinkSettings(data_dir=data_dir, sandbox=True, **cold)
    clock = Clock()
    service = TaskLink(settings, Vendors.configure(settings, sandbox_middleware=clock.middleware))
    server = build_server(settings, service=service)
    manifests = load_manifests()
    tools: dict[str, dict[str, dict[str, Any]]] = {}
    async with Client(server) as client:
        warm_up = getattr(service.vendors, "warm_up", None)  # an earlier checkout may not read ahead
        if warm_up is not None:
            await warm_up("all")  # as a server on live vendors does when it starts (TASKLINK_WARM_UP=live)
            for _ in range(1000):  # the token is fetched in the background: let it land
                if all(r.end for r in clock.seen):
                    break
                await anyio.sleep(LATENCY / 3)
            clock.seen.clear()
        for name, manifest in manifests.items():

            async def call(label: str, args: dict[str, Any], vendor: str = name) -> dict[str, Any]:
                tool = label.split(" ")[0]
                mark, t0 = len(clock.seen), time.perf_counter()
                result = await client.call_tool(tool, args)
                wall = (time.perf_counter() - t0) * 1000
                if result.is_error:
                    text = " ".join(getattr(c, "text", "") for c in result.content)
                    raise RuntimeError(f"{label} on {vendor} failed: {text[:300]}")
                sent = [r for r in clock.seen[mark:] if r.end]
                tools.setdefault(label, {})[vendor] = {
                    "round_trips": rounds(sent),
                    "requests": len(sent),
                    "local_ms": round(wall - in_flight_ms(sent), 2),
                    "wall_ms": round(wall, 2),
                }
                structured = result.structured_content
                return structured if isinstance(structured, dict) else {}

            await vendor_calls(manifest, call)
    return {"vendors": list(manifests), "tools": tools}


if __name__ == "__main__":
    print(json.dumps(anyio.run(measure, Path(sys.argv[1]))), flush=True)
