"""What clients expect beyond tools: log level, completions, resources, subscriptions, progress."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import PromptReference, ResourceTemplateReference

from tasklink.manifests import load_manifests

from .conftest import MODES, sandbox_of, service_of
from .support import text_of

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]

CAPS = ResourceTemplateReference(type="ref/resource", uri="capabilities://{vendor}")
REVIEW = PromptReference(type="ref/prompt", name="review_tasks")


async def test_capabilities_resources_come_from_the_manifests(client: Client) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert {"capabilities://{vendor}", "intake://{intake_id}", "task://{vendor}/{task_id}"} <= templates
    manifest = load_manifests()["spotdraft"]
    doc = json.loads((await client.read_resource("capabilities://spotdraft")).contents[0].text)
    assert doc["vendor"] == "spotdraft" and doc["mode"] == "sandbox"
    assert set(doc["operations"]) == set(manifest.operations)
    get_task = doc["operations"]["get_task"]
    assert get_task["supported"] is False
    assert get_task["reason"] == manifest.operation("get_task").reason
    assert get_task["alternative"] == manifest.operation("get_task").alternative
    assert doc["operations"]["create_intake"] == {"supported": True} | (
        {"required": manifest.requirement_text("create_intake")} if manifest.operation("create_intake").required else {}
    )


async def test_unknown_vendor_resource_is_not_found(client: Client) -> None:
    with pytest.raises(MCPError) as err:
        await client.read_resource("capabilities://nope")
    assert "unknown or disabled vendor 'nope'" in err.value.error.message


async def test_intake_and_task_resources_read_through_the_service(client: Client) -> None:
    intake = (await client.call_tool("create_intake", {"title": "As a resource"})).structured_content
    body = json.loads((await client.read_resource(f"intake://{intake['id']}")).contents[0].text)
    assert body["id"] == intake["id"] and body["title"] == "As a resource"
    with pytest.raises(MCPError) as missing:
        await client.read_resource("intake://999999")
    assert "999999 does not exist" in missing.value.error.message
    # the guardrail applies to resources too: SpotDraft has no public read for user tasks
    with pytest.raises(MCPError) as refused:
        await client.read_resource("task://spotdraft/1")
    assert "does not support `get_task`" in refused.value.error.message


async def test_task_resource_for_a_vendor_that_reads_tasks(client: Client) -> None:
    vendors = {v["name"]: v for v in (await client.call_tool("list_vendors", {})).structured_content["vendors"]}
    readable = [name for name, v in vendors.items() if set(v["supports"]) >= {"get_task", "list_tasks"}]
    assert readable, "no vendor reads tasks by id"
    listed = await client.call_tool("list_tasks", {"vendor": readable[0], "limit": 1})
    assert not listed.is_error, text_of(listed)
    if listed.structured_content["tasks"]:
        task = listed.structured_content["tasks"][0]
        body = json.loads((await client.read_resource(f"task://{readable[0]}/{task['id']}")).contents[0].text)
        assert body["id"] == task["id"] and body["vendor"] == readable[0]


@pytest.mark.parametrize(
    ("ref", "argument", "typed", "context", "expected"),
    [
        (CAPS, "vendor", "", {}, sorted(load_manifests())),
        (CAPS, "vendor", "LI", {}, ["lightfield"]),
        (REVIEW, "status", "in", {}, ["in_progress"]),
        (REVIEW, "status", "", {"vendor": "spotdraft"}, None),
        (PromptReference(type="ref/prompt", name="open_intake"), "priority", "h", {}, ["HIGH"]),
        (REVIEW, "title", "x", {}, []),
    ],
)
async def test_completions_for_enum_like_arguments(
    client: Client, ref: Any, argument: str, typed: str, context: dict[str, str], expected: list[str] | None
) -> None:
    result = await client.complete(ref, {"name": argument, "value": typed}, context_arguments=context or None)
    values = result.completion.values
    if expected is None:  # normalized statuses first, then the vendor's own values
        manifest = load_manifests()["spotdraft"]
        assert values[:5] == ["todo", "in_progress", "blocked", "done", "cancelled"]
        assert set(values[5:]) == set(manifest.statuses.values()) - set(values[:5])
    else:
        assert sorted(values) == sorted(expected)


async def test_prompts_are_listed_and_render(client: Client) -> None:
    names = {p.name for p in (await client.list_prompts()).prompts}
    assert {"review_tasks", "open_intake"} <= names
    prompt = await client.get_prompt("review_tasks", {"vendor": "lightfield", "status": "todo"})
    assert "list_tasks(vendor='lightfield', status='todo')" in prompt.messages[0].content.text


async def test_set_level_then_tool_errors_are_logged_to_the_client(server: MCPServer) -> None:
    received: list[tuple[str, Any]] = []

    async def on_log(params: Any) -> None:
        received.append((params.level, params.data))

    async with Client(server, mode="legacy", logging_callback=on_log) as client:
        bad = await client.call_tool("get_intake", {"intake_id": 999999})
        assert bad.is_error and received == []  # nothing until the client asks
        await client.set_logging_level("warning")
        bad = await client.call_tool("get_intake", {"intake_id": 999999})
        assert bad.is_error
        assert received == [("warning", "get_intake returned an error")]
        await client.set_logging_level("error")
        await client.call_tool("get_intake", {"intake_id": 999999})
        assert len(received) == 1  # below the level now


async def test_subscribed_intake_is_reported_updated(server: MCPServer) -> None:
    updated: list[str] = []

    async def on_message(message: Any) -> None:
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated":
            updated.append(str(root.params.uri))

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        intake = (await client.call_tool("create_intake", {"title": "Watched"})).structured_content
        other = (await client.call_tool("create_intake", {"title": "Not watched"})).structured_content
        await client.subscribe_resource(f"intake://{intake['id']}")
        for target in (intake, other):
            result = await client.call_tool("update_intake", {"intake_id": target["id"], "priority": "HIGH"})
            assert not result.is_error, text_of(result)
        await client.list_tools()  # a round trip, so the notification has arrived
        assert updated == [f"intake://{intake['id']}"]
        await client.unsubscribe_resource(f"intake://{intake['id']}")
        await client.call_tool("update_intake", {"intake_id": intake["id"], "priority": "LOW"})
        await client.list_tools()
        assert len(updated) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_multi_page_list_reports_progress_per_vendor_page(server: MCPServer, mode: str) -> None:
    """Lightfield pages by 25: asking for 60 tasks reads three pages and reports each."""
    await sandbox_of(server, "lightfield")  # builds the simulator
    simulator = service_of(server).vendors.runtimes["lightfield"].sandbox_app.state.lightfield
    simulator.rate_limit = 10_000  # this test is about paging, not about 429s
    async with Client(server, mode=mode) as client:
        people = await client.call_tool("find_people", {"vendor": "lightfield", "query": "Sam"})
        assignee = people.structured_content["people"][0]["id"]
        for n in range(55):
            created = await client.call_tool(
                "create_task",
                {"vendor": "lightfield", "title": f"Paged task {n}", "assignees": [assignee], "allow_duplicate": True},
            )
            assert not created.is_error, text_of(created)
        simulator.catch_up()  # the list index lags writes; index them now
        seen: list[tuple[float, str | None]] = []

        async def progress(value: float, total: float | None, message: str | None) -> None:
            seen.append((value, message))

        page = await client.call_tool("list_tasks", {"vendor": "lightfield", "limit": 60}, progress_callback=progress)
        assert not page.is_error, text_of(page)
        assert len(page.structured_content["tasks"]) >= 55
        assert seen == [(n, f"read page {n} from Lightfield") for n in (1, 2, 3)]
