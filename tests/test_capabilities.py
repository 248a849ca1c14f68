"""What the model can learn before it tries: list_vendors, capabilities://{vendor}, the task prompt."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import PromptReference

from tasklink.manifests import load_manifests

from .conftest import sandbox_of
from .support import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]


async def capabilities(client: Client, vendor: str) -> dict[str, Any]:
    doc = json.loads((await client.read_resource(f"capabilities://{vendor}")).contents[0].text)
    assert isinstance(doc, dict)
    return doc


async def test_spotdraft_delete_task_capability_matches_the_refusal(client: Client, server: MCPServer) -> None:
    doc = await capabilities(client, "spotdraft")
    delete_task = doc["operations"]["delete_task"]
    assert delete_task["supported"] is False
    assert "no DELETE route for user tasks" in delete_task["reason"]
    assert "delete_intake" in delete_task["alternative"]

    refused = await client.call_tool("delete_task", {"vendor": "spotdraft", "task_id": "501"})
    assert refused.is_error
    text = text_of(refused)
    assert f"SpotDraft does not support `delete_task`: {delete_task['reason']}" in text
    assert f"Instead: {delete_task['alternative']}" in text
    assert (await sandbox_of(server, "spotdraft")).requests_matching() == []


async def test_list_vendors_and_the_resource_say_the_same(client: Client) -> None:
    listed = (await client.call_tool("list_vendors", {"detail": True})).structured_content
    assert listed is not None
    summaries = {v["name"]: v for v in listed["vendors"]}
    for vendor in listed["details"]:
        summary = summaries[vendor["name"]]
        assert summary["supports"] == [op["name"] for op in vendor["operations"] if op["supported"]]
        assert summary["lacks"] == [op["name"] for op in vendor["operations"] if not op["supported"]]
        doc = await capabilities(client, vendor["name"])
        ops = {op.pop("name"): {k: v for k, v in op.items() if v is not None} for op in vendor.pop("operations")}
        assert doc.pop("operations") == ops
        assert doc.pop("vendor") == vendor["name"]
        assert doc == {k: v for k, v in vendor.items() if v is not None}


async def test_capabilities_carry_what_a_write_needs(client: Client) -> None:
    manifests = load_manifests()
    spotdraft = await capabilities(client, "spotdraft")
    assert spotdraft["operations"]["create_task"]["required"] == manifests["spotdraft"].requirement_text("create_task")
    assert spotdraft["operations"]["create_intake"]["required"] == [
        "title",
        "workflow_id (or SPOTDRAFT_INTAKE_WORKFLOW_ID)",
    ]
    assert spotdraft["statuses"] == manifests["spotdraft"].statuses
    assert spotdraft["priorities"] == ["LOW", "MEDIUM", "HIGH"]
    assert spotdraft["limits"]["title_max_length"] == 255
    assert spotdraft["assignee_id_example"] == "102"

    trackops = await capabilities(client, "trackops")
    assert set(trackops["statuses"]) == {"todo", "in_progress", "done"}  # no blocked or cancelled
    assert trackops["operations"]["find_people"]["supported"] is False

    workiva = await capabilities(client, "workiva")
    (dep,) = workiva["deprecations"]
    assert (dep["setting"], dep["value"]) == ("WORKIVA_API_VERSION", "2022-01-01")
    assert (dep["deprecated"], dep["sunset"]) == ("2026-02-12", "2027-01-31")
    assert dep["in_use"] is False and workiva["notices"] == []

    lightfield = await capabilities(client, "lightfield")
    assert "$account" in lightfield["vendor_fields"]["vendor_fields.create_task"]


async def test_create_task_from_request_prompt_walks_the_steps(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    prompt = prompts["create_task_from_request"]
    assert {(a.name, bool(a.required)) for a in prompt.arguments or []} == {("request", True), ("vendor", False)}

    request = "Open an intake for the Acme vendor review, assign Priya, due Friday"
    got = await client.get_prompt("create_task_from_request", {"request": request, "vendor": "spotdraft"})
    text = got.messages[0].content.text  # type: ignore[union-attr]
    assert request in text and "capabilities://spotdraft" in text
    assert all(word in text for word in ("find_people(", "dry_run=true", "idempotency_key", "Never guess an id"))
    steps = ["1. Vendor", "3. People", "5. Dry run", "6. Confirm", "7. Create"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions), "the steps come in order: vendor, people, dry run, confirm, create"

    without_vendor = await client.get_prompt("create_task_from_request", {"request": request})
    assert "call list_vendors" in without_vendor.messages[0].content.text  # type: ignore[union-attr]

    ref = PromptReference(type="ref/prompt", name="create_task_from_request")
    completed = await client.complete(ref, {"name": "vendor", "value": "sp"})
    assert completed.completion.values == ["spotdraft"]
