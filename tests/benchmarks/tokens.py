"""What the tool catalogue and task rows cost a model, in bytes (≈ tokens × 4).

Budgets (enforced by tests/test_token_budget.py):

- TOOL_BUDGETS: what a client hands the model for each tool on every turn: name, description and
  input schema (the Anthropic and OpenAI tool formats carry exactly these), without the `vendor`
  argument's list of vendor names. Each is the size measured with four vendors (11,958 bytes in
  all ≈ 3,000 tokens, about 1.5 % of a 200k context, roughly one page of list results) plus about
  2 %: a new argument or a longer description has to be paid for by a shorter one.
- VENDOR_BYTES: what one more vendor may add to each tool that takes a `vendor` (its name in the
  enum), so adding a vendor can never break a tool's budget by itself.
- MODEL_BUDGET: the ceiling on the whole catalogue: every tool budget plus VENDOR_BYTES per
  vendor-taking tool for up to MAX_VENDORS vendors.
- WIRE_BUDGET: the whole `tools/list` result, which adds titles, annotations and each tool's
  outputSchema (clients use that to validate structured results; the common clients do not put
  it in the prompt). It is mostly the output models (Task, Intake, ...). Measured 49,486 bytes
  once list_vendors answered a summary with optional details and intakes gained their creator,
  attachments and roles; the ceiling was 52,000 (+5 %), so a new description on every output model
  is caught. create_tasks (its BatchResult) and my_work (its WorkPage of Task rows) added 7,823 bytes
  (59,211 measured); the ceiling is now 60,000.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

TOOL_BUDGETS = {
    "create_intake": 1_590,
    "get_intake": 270,
    "list_intakes": 920,
    "update_intake": 1_110,
    "update_intake_assignees": 1_260,
    "delete_intake": 700,
    "create_task": 1_810,
    "get_task": 310,
    "list_tasks": 965,
    "update_task": 1_545,
    "delete_task": 790,
    "list_vendors": 350,
    "find_people": 480,
    "find_records": 640,
    "create_tasks": 2_080,
    "my_work": 960,
}
VENDOR_BYTES = 32
MAX_VENDORS = 8
VENDOR_TOOLS = 7
MODEL_BUDGET = sum(TOOL_BUDGETS.values()) + VENDOR_BYTES * VENDOR_TOOLS * MAX_VENDORS
WIRE_BUDGET = 60_000
MODEL_KEYS = ("name", "description", "inputSchema")


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def list_tools_payload(data_dir: Path, manifest_dirs: list[Path] | None = None) -> dict[str, Any]:
    """The `tools/list` result as it goes on the wire, from a server with every vendor and tool enabled."""

    from mcp import Client

    from tasklink.mcp.server import build_server
    from tasklink.settings import TaskLinkSettings

    settings = TaskLinkSettings(
        data_dir=data_dir,
        sandbox=True,
        read_only=False,
        tools=[],
        exclude_tools=[],
        vendors=[],
        manifest_dirs=manifest_dirs or [],
    )
    async with Client(build_server(settings), mode="legacy") as client:
        result = await client.list_tools()
    payload: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return payload


def sizes(payload: dict[str, Any]) -> dict[str, Any]:
    per_tool = {}
    for tool in payload["tools"]:
        seen = {k: tool[k] for k in MODEL_KEYS if k in tool}
        vendor = seen.get("inputSchema", {}).get("properties", {}).get("vendor", {})
        names = vendor.get("enum") or []
        per_tool[tool["name"]] = {
            "model": len(compact(seen).encode()),
            "vendor_names": len(compact(names).encode()) - 2 if names else 0,
            "vendors": len(names),
            "wire": len(compact(tool).encode()),
        }
    return {
        "model_bytes": sum(t["model"] for t in per_tool.values()),
        "wire_bytes": len(compact(payload).encode()),
        "model_budget": MODEL_BUDGET,
        "wire_budget": WIRE_BUDGET,
        "per_tool": per_tool,
    }


def catalogue_sizes() -> dict[str, Any]:
    import anyio

    with tempfile.TemporaryDirectory() as data:
        return sizes(anyio.run(list_tools_payload, Path(data)))


async def row_sizes(data_dir: Path) -> dict[str, float]:
    """Bytes per task row in a `list_tasks` result's text content (what the model reads), per vendor."""

    from mcp import Client

    from tasklink.mcp.server import build_server
    from tasklink.settings import TaskLinkSettings

    out: dict[str, float] = {}
    server = build_server(TaskLinkSettings(data_dir=data_dir, sandbox=True))
    async with Client(server, mode="legacy") as client:
        for vendor in ("lightfield", "trackops", "workiva"):
            if vendor == "lightfield":  # the simulator starts empty; give it a few realistic tasks
                for n in range(3):
                    await client.call_tool(
                        "create_task",
                        {"vendor": vendor, "title": f"Follow up with Northwind {n}", "due": "2026-06-01",
                         "assignees": ["mem_sam0001"], "allow_duplicate": True},
                    )  # fmt: skip
                runtime = server.service.vendors.runtimes[vendor]
                runtime.sandbox_app.state.lightfield.catch_up()  # its list index lags writes by design
            result = await client.call_tool("list_tasks", {"vendor": vendor, "limit": 25})
            assert not result.is_error, result.content
            rows = len((result.structured_content or {}).get("tasks", []))
            empty = compact({"vendor": vendor, "tasks": [], "next_cursor": None, "warnings": []})
            text = sum(len(getattr(c, "text", "").encode()) for c in result.content)
            out[vendor] = (text - len(empty)) / max(rows, 1)
    return out


if __name__ == "__main__":
    result = catalogue_sizes()
    for name, size in sorted(result["per_tool"].items(), key=lambda kv: -kv[1]["wire"]):
        print(f"{name:<26} model {size['model']:>6} B   wire {size['wire']:>6} B")
    print(f"{'total':<26} model {result['model_bytes']:>6} B   wire {result['wire_bytes']:>6} B")
