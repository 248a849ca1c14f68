"""What a model reads is compact and bounded: compact JSON text without nulls or empty values, a
20-row task list within 6 KB for every vendor, the vendor summary within 4 KB, one vendor's full
capabilities within 6 KB; and a server configured for some vendors lists only what they can do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.refs import sibling
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, sandbox_of, tasklink_command
from .http_support import ServeProcess, base_env
from .support import call_ok

pytestmark = pytest.mark.anyio

LIST_BUDGET = 6 * 1024
SUMMARY_BUDGET = 4 * 1024
DETAIL_BUDGET = 6 * 1024
ROWS = 20


def text(result: Any) -> str:
    assert not result.is_error, result.content
    return str(result.content[0].text)


async def test_answers_stay_within_their_budgets(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    sizes: dict[str, int] = {}
    async with Client(server) as client:
        summary = text(await client.call_tool("list_vendors", {}))
        sizes["list_vendors"] = len(summary.encode())
        assert sizes["list_vendors"] <= SUMMARY_BUDGET
        assert "\n" not in summary and "null" not in summary and "[]" not in summary
        for vendor in load_manifests():
            detail = text(await client.call_tool("list_vendors", {"vendor": vendor, "detail": True}))
            sizes[f"{vendor} capabilities"] = len(detail.encode())
            assert sizes[f"{vendor} capabilities"] <= DETAIL_BUDGET, vendor
        for vendor, manifest in load_manifests().items():
            if not manifest.operation("list_tasks").supported:
                continue
            example = sibling(manifest.sandbox, "contract_examples")()["create_task"]
            for n in range(ROWS):
                await call_ok(
                    client,
                    "create_task",
                    {**example, "vendor": vendor, "title": f"Budget row {n} for {vendor}", "allow_duplicate": True},
                )
            app = (await sandbox_of(server, vendor)) and server.service.vendors.runtimes[vendor].sandbox_app
            if hasattr(app.state, "lightfield"):
                app.state.lightfield.catch_up()  # its list index lags writes by design
            listed = await client.call_tool("list_tasks", {"vendor": vendor, "limit": ROWS})
            page = json.loads(text(listed))
            assert len(page["tasks"]) == ROWS
            size = sizes[f"{vendor} list_tasks x{ROWS}"] = len(text(listed).encode())
            assert size <= LIST_BUDGET, (vendor, size, text(listed)[:600])
    REPORTS.append("Answer sizes (bytes of text a model reads): " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))


async def test_one_vendor_configured_lists_only_its_tools_and_name(tmp_path: Path) -> None:
    env = base_env(tmp_path / "data", TASKLINK_VENDORS="trackops")
    command, *args = tasklink_command()
    async with Client(StdioServerParameters(command=command, args=[*args, "serve"], env=env)) as client:
        over_stdio = (await client.list_tools()).tools
    with ServeProcess(tmp_path, env) as srv:
        from mcp.client.streamable_http import streamable_http_client

        async with Client(streamable_http_client(srv.url)) as client:
            over_http = (await client.list_tools()).tools
    for tools in (over_stdio, over_http):
        names = {t.name for t in tools}
        assert names == {"create_task", "create_tasks", "get_task", "list_tasks", "my_work", "list_vendors",
                         "find_records"}, names  # fmt: skip
        for tool in tools:
            enum = tool.input_schema.get("properties", {}).get("vendor", {}).get("enum")
            assert enum in (None, ["trackops"]), (tool.name, enum)
