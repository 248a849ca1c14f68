"""Credentials never appear in tool results, error messages, logs, audit entries, dry-run output or reprs.

Every vendor runs with distinctive credential values; the scenarios cover success, dry runs, vendor
errors (including a vendor that echoes the credential back in its error body) and rejected
credentials; then every output is scanned for the values.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer

from tasklink.mcp.server import build_server
from tasklink.sandbox import lightfield, spotdraft, trackops, workiva
from tasklink.sandbox._core import Fault
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, ThreadedUvicorn, sandbox_of, service_of, tasklink_command
from .http_support import base_env
from .support import run_recipe

pytestmark = pytest.mark.anyio

SECRETS = {
    (spotdraft, "CLIENT_ID"): "sd-id-Q7x9LmZ2pK",
    (spotdraft, "CLIENT_SECRET"): "sd-secret-W4v8NbT1qR",
    (trackops, "API_TOKEN"): "to-token-H3j6YcS0uE",
    (lightfield, "API_KEY"): "sk_lf_key-P2m5XdA9wG",
    (workiva, "CLIENT_ID"): "wk-id-F8k1ZrV3tJ",
    (workiva, "CLIENT_SECRET"): "wk-secret-B6n0QeU7yL",
}
VALUES = list(SECRETS.values())


def leaks(text: str) -> list[str]:
    return [value for value in VALUES if value in text]


def dump(result: Any) -> str:
    return json.dumps(result.model_dump(mode="json", by_alias=True), ensure_ascii=False)


async def run_scenarios(client: Client, server: MCPServer) -> list[str]:
    outputs = []

    async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(tool, args)
        outputs.append(dump(result))
        return result.structured_content or {}

    await run_recipe(client)
    tasks = {
        "trackops": {"due": "2031-04-01", "vendor_fields": {"casefile_id": 246, "calendar_id": 2}},
        "lightfield": {"status": "todo", "assignees": ["mem_sam0001"]},
        "workiva": {"due": "2031-02-01"},
        "spotdraft": {"due": "2031-02-01", "assignees": ["100"]},
    }
    for vendor, extra in tasks.items():
        args = {"vendor": vendor, "title": f"Secret scan {vendor}", **extra}
        await call("create_task", {**args, "dry_run": True})
        created = await call("create_task", args)
        await call("create_task", {**args, "title": ""})  # schema rejection
        await call("list_tasks", {"vendor": vendor, "limit": 2})
        if created.get("id"):
            await call("get_task", {"vendor": vendor, "task_id": created["id"]})
            await call("delete_task", {"vendor": vendor, "task_id": created["id"], "dry_run": True})
        state = await sandbox_of(server, vendor)
        echo = json.dumps({"detail": f"bad credentials {' '.join(VALUES)}", "message": f"echo {' '.join(VALUES)}"})
        state.inject(Fault(status=400, body=echo))
        await call("list_tasks", {"vendor": vendor})
        state.inject(Fault(status=401, body=echo))
        await call("create_task", {**args, "allow_duplicate": True})
    await call("find_people", {"vendor": "spotdraft", "query": "Priya"})
    await call("list_vendors", {})
    return outputs


async def test_no_credential_in_any_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for (module, name), value in SECRETS.items():
        monkeypatch.setattr(module, name, value)
    caplog.set_level(logging.DEBUG)
    server = build_server(TaskLinkSettings(data_dir=tmp_path, sandbox=True))
    async with Client(server, mode="legacy") as client:
        outputs = await run_scenarios(client, server)
        tl = service_of(server)
        for vendor in tl.vendors.names():
            adapter = await tl.vendors.adapter(vendor)
            outputs += [repr(adapter.settings), repr(tl.vendors.runtimes[vendor]), str(adapter.settings.model_dump())]
        wire = [json.dumps(r.headers) for v in tl.vendors.names() for r in (await sandbox_of(server, v)).requests]
        outputs += [json.dumps(await tl.audit.entries())]
    outputs.append(caplog.text)
    assert any(any(value in w for value in VALUES) for w in wire), "the scenarios must really use the credentials"
    found = {value for text in outputs for value in leaks(text)}
    REPORTS.append(
        f"Secret scan: {len(outputs)} results, log captures, audit dumps and reprs scanned; {len(found)} hits"
    )
    assert found == set()


async def test_rejected_live_credentials_never_echo(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], tmp_path: Path
) -> None:
    """Live mode with credentials the vendors reject: errors, server stderr and audit stay clean."""
    _, env = loopback_sandbox
    live = {k: v for k, v in env.items() if k.endswith("_BASE_URL") or k.endswith("_REGION")}
    live |= {
        "SPOTDRAFT_CLIENT_ID": VALUES[0],
        "SPOTDRAFT_CLIENT_SECRET": VALUES[1],
        "TRACKOPS_USERNAME": "dana.whitfield",
        "TRACKOPS_API_TOKEN": VALUES[2],
        "LIGHTFIELD_API_KEY": VALUES[3],
        "WORKIVA_CLIENT_ID": VALUES[4],
        "WORKIVA_CLIENT_SECRET": VALUES[5],
    }
    environment = {k: v for k, v in base_env(tmp_path).items() if k != "TASKLINK_SANDBOX"} | live
    errlog = (tmp_path / "stderr.log").open("w+")
    command, *args = tasklink_command()
    params = StdioServerParameters(command=command, args=[*args, "serve"], env=environment)
    outputs: list[str] = []
    async with Client(params, mode="legacy") as client:
        modes = (await client.call_tool("list_vendors", {})).structured_content
        assert {v["mode"] for v in modes["vendors"]} == {"live"}
        for vendor in ("spotdraft", "trackops", "lightfield", "workiva"):
            for tool, arguments in [
                ("list_tasks", {"vendor": vendor}),
                ("create_task", {"vendor": vendor, "title": "x", "dry_run": True}),
                ("create_task", {"vendor": vendor, "title": "x", "due": "2031-01-01", "assignees": ["1"]}),
            ]:
                result = await client.call_tool(tool, arguments)
                outputs.append(dump(result))
        rejected = [o for o in outputs if "credentials" in o or "401" in o]
        assert rejected, outputs
    errlog.close()
    audit = subprocess.run(
        [sys.executable, "-m", "tasklink", "audit", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outputs += [audit.stdout, audit.stderr, (tmp_path / "stderr.log").read_text()]
    assert {value for text in outputs for value in leaks(text)} == set()
