"""What the tool catalogue and task rows cost a model, in bytes (≈ tokens × 4).

Budgets (enforced by tests/test_token_budget.py):

- MODEL_BUDGET: what a client hands the model for every tool on every turn: name, description and
  input schema (the Anthropic and OpenAI tool formats carry exactly these). 12,000 bytes ≈ 3,000
  tokens for 13 tools, about 1.5 % of a 200k context, and roughly what one page of list results
  costs; the catalogue is paid on every turn, so it should cost no more than one answer. Measured
  11,958 bytes: a new argument or a longer description has to be paid for by a shorter one.
- WIRE_BUDGET: the whole `tools/list` result, which adds titles, annotations and each tool's
  outputSchema (clients use that to validate structured results; the common clients do not put
  it in the prompt). It is mostly the output models (Task, Intake, ...). Measured 46,066 bytes;
  the ceiling is 48,500 (+5 %), so a new description on every output model is caught.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

MODEL_BUDGET = 12_000
WIRE_BUDGET = 48_500
MODEL_KEYS = ("name", "description", "inputSchema")


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


async def list_tools_payload(data_dir: Path) -> dict[str, Any]:
    """The `tools/list` result as it goes on the wire, from a server with every vendor and tool enabled."""

    from mcp import Client

    from tasklink.mcp.server import build_server
    from tasklink.settings import TaskLinkSettings

    settings = TaskLinkSettings(
        data_dir=data_dir, sandbox=True, read_only=False, tools=[], exclude_tools=[], vendors=[]
    )
    async with Client(build_server(settings), mode="legacy") as client:
        result = await client.list_tools()
    payload: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return payload


def sizes(payload: dict[str, Any]) -> dict[str, Any]:
    per_tool = {}
    for tool in payload["tools"]:
        per_tool[tool["name"]] = {
            "model": len(compact({k: tool[k] for k in MODEL_KEYS if k in tool}).encode()),
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
