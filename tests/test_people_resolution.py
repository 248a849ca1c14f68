"""People and dates in natural terms: find_people, assignees by name or email, date-only due dates.

Everything goes through a real MCP client (both protocol modes) against the embedded sandboxes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.errors import UnresolvedPerson
from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.models import Person
from tasklink.people import PeopleResolver
from tasklink.settings import TaskLinkSettings

from .conftest import MODES, sandbox_of
from .support import text_of

pytestmark = pytest.mark.anyio

SAM = "mem_sam0001"
DANA = "mem_dana003"
MARCUS = "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"


async def ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def count(server: MCPServer, vendor: str, kind: str = "task") -> int:
    return (await sandbox_of(server, vendor)).store.count(kind, include_deleted=True)


async def writes_sent(server: MCPServer, vendor: str) -> list[str]:
    state = await sandbox_of(server, vendor)
    return [f"{r.method} {r.path}" for r in state.requests if r.method != "GET" and not r.path.startswith("/_")]


# -- find_people ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "query", "expected"),
    [
        ("spotdraft", "Priya", [("102", "Priya Raman", "priya.raman@acme-legal.example", "Legal Counsel", True),
                                ("103", "Priya Shah", "priya.shah@acme-legal.example", "Procurement Manager", True)]),
        ("spotdraft", "sam@acme-legal.example",
         [("104", "Samuel Alito", "sam@acme-legal.example", "Paralegal", False)]),
        ("lightfield", "dana", [(DANA, "Dana Whitfield", "dana@northwind.example", "Member", True)]),
        ("workiva", "marcus.lee@example.com", [(MARCUS, "Marcus Lee", "marcus.lee@example.com", None, True)]),
    ],
)  # fmt: skip
async def test_find_people_gives_everything_needed_to_assign(
    client: Client, vendor: str, query: str, expected: list[tuple[Any, ...]]
) -> None:
    found = await ok(client, "find_people", {"vendor": vendor, "query": query})
    got = [(p["id"], p["name"], p["email"], p["title"], p["active"]) for p in found["people"]]
    assert got == expected
    assert "assignees=[id]" in found["how_to_assign"] and '{"user_id": id}' in found["how_to_assign"]


async def test_find_people_on_trackops_is_refused_with_the_reason(client: Client, server: MCPServer) -> None:
    result = await client.call_tool("find_people", {"vendor": "trackops", "query": "Dana"})
    assert result.is_error
    op = load_manifests()["trackops"].operation("find_people")
    assert op.reason in text_of(result) and op.alternative in text_of(result)
    assert (await sandbox_of(server, "trackops")).requests_matching() == []


# -- assignees by name or email ----------------------------------------------------------


async def test_assign_sonia_by_name_resolves_and_shows_who(client: Client, server: MCPServer) -> None:
    task = await ok(
        client,
        "create_task",
        {"vendor": "spotdraft", "title": "Review the MSA", "assignees": ["Sonia"], "due": "2030-01-10"},
    )
    assert task["assignees"] == ["100"]
    assert task["resolved"] == [
        {"given": "Sonia", "id": "100", "name": "Sonia Sotomayor", "email": "sonia@acme-legal.example"}
    ]
    state = await sandbox_of(server, "spotdraft")
    (sent,) = state.requests_matching("POST", "/api/v2.1/public/user_tasks/")
    assert '"org_user_id":100' in sent.body.replace(" ", "")


async def test_a_prefix_matching_two_people_is_refused_listing_both(client: Client, server: MCPServer) -> None:
    before = await count(server, "spotdraft")
    result = await client.call_tool(
        "create_task", {"vendor": "spotdraft", "title": "Review the NDA", "assignees": ["Priya"], "due": "2030-01-10"}
    )
    assert result.is_error
    text = text_of(result)
    assert "Field `assignees[0]`" in text and "'Priya' matches 2 SpotDraft people" in text
    assert "102 (Priya Raman, priya.raman@acme-legal.example, Legal Counsel)" in text
    assert "103 (Priya Shah, priya.shah@acme-legal.example, Procurement Manager)" in text
    assert "Nothing was written" in text
    assert await count(server, "spotdraft") == before
    assert await writes_sent(server, "spotdraft") == []


async def test_an_unknown_email_is_a_clear_error(client: Client, server: MCPServer) -> None:
    result = await client.call_tool(
        "create_task",
        {"vendor": "spotdraft", "title": "Review", "assignees": ["nobody@acme-legal.example"], "due": "2030-01-10"},
    )
    assert result.is_error
    assert "Field `assignees[0]`: no SpotDraft person has the email 'nobody@acme-legal.example'" in text_of(result)
    assert "find_people" in text_of(result)
    assert await writes_sent(server, "spotdraft") == []


async def test_an_inactive_only_match_is_refused(client: Client, server: MCPServer) -> None:
    result = await client.call_tool(
        "create_task", {"vendor": "spotdraft", "title": "Review", "assignees": ["Samuel"], "due": "2030-01-10"}
    )
    assert result.is_error
    assert "matches only inactive SpotDraft people" in text_of(result)
    assert "104 (Samuel Alito, sam@acme-legal.example, Paralegal, inactive)" in text_of(result)
    assert await writes_sent(server, "spotdraft") == []


async def test_intake_assignees_by_name_and_email(client: Client, server: MCPServer) -> None:
    intake = await ok(
        client,
        "create_intake",
        {
            "title": "Acme vendor review",
            "assignees": [
                {"user_id": "Priya Raman"},
                {"user_id": "elena@acme-legal.example", "role": "collaborator"},
            ],
        },
    )
    assert [a["user_id"] for a in intake["assignees"]] == ["102"]
    assert [c["user_id"] for c in intake["collaborators"]] == ["101"]
    assert [(r["given"], r["id"]) for r in intake["resolved"]] == [
        ("Priya Raman", "102"),
        ("elena@acme-legal.example", "101"),
    ]
    # the same person by id and by name is one person twice: refused, nothing written
    twice = await client.call_tool(
        "update_intake_assignees",
        {"intake_id": intake["id"], "assignees": [{"user_id": "100"}, {"user_id": "Sonia"}]},
    )
    assert twice.is_error and "user 100 appears twice" in text_of(twice)
    added = await ok(
        client,
        "update_intake_assignees",
        {"intake_id": intake["id"], "mode": "add", "assignees": [{"user_id": "sonia@acme-legal.example"}]},
    )
    assert sorted(a["user_id"] for a in added["assignees"]) == ["100", "102"]
    assert added["resolved"][0]["id"] == "100"


async def test_ambiguous_intake_assignee_creates_nothing(client: Client, server: MCPServer) -> None:
    before = await count(server, "spotdraft", "intake")
    result = await client.call_tool("create_intake", {"title": "Ambiguous", "assignees": [{"user_id": "Priya"}]})
    assert result.is_error and "Field `assignees[0].user_id`" in text_of(result)
    assert await count(server, "spotdraft", "intake") == before


async def test_dry_run_resolves_with_a_read_and_shows_the_ids(client: Client, server: MCPServer) -> None:
    preview = await ok(
        client,
        "create_task",
        {"vendor": "spotdraft", "title": "Dry", "assignees": ["Elena"], "due": "2030-01-10", "dry_run": True},
    )
    assert preview["dry_run"]["body"]["assignees"] == [{"org_user_id": 101}]
    assert preview["assignees"] == ["101"] and preview["resolved"][0]["name"] == "Elena Kagan"
    assert "resolved with a find_people read" in preview["dry_run"]["verdict"]
    state = await sandbox_of(server, "spotdraft")
    assert [r.method for r in state.requests_matching()] == ["GET"]  # the lookup, nothing else


async def test_lightfield_create_and_reassign_by_name(client: Client, server: MCPServer) -> None:
    task = await ok(client, "create_task", {"vendor": "lightfield", "title": "Call Acme", "assignees": ["Sam"]})
    assert task["assignees"] == [SAM] and task["resolved"][0]["given"] == "Sam"
    moved = await ok(
        client,
        "update_task",
        {"vendor": "lightfield", "task_id": task["id"], "assignees": ["dana@northwind.example"]},
    )
    assert moved["assignees"] == [DANA] and moved["resolved"][0]["id"] == DANA


async def test_workiva_assignee_by_name(client: Client) -> None:
    task = await ok(client, "create_task", {"vendor": "workiva", "title": "Tie out Q3", "assignees": ["Marcus"]})
    assert task["assignees"] == [MARCUS] and task["resolved"][0]["name"] == "Marcus Lee"


async def test_trackops_names_are_refused_before_any_request(client: Client, server: MCPServer) -> None:
    result = await client.call_tool(
        "create_task",
        {
            "vendor": "trackops",
            "title": "Serve papers",
            "assignees": ["dana"],
            "due": "2030-01-10",
            "vendor_fields": {"casefile_id": 245, "calendar_id": 1},
        },
    )
    assert result.is_error
    assert "'dana' is not a Trackops person id" in text_of(result)
    assert load_manifests()["trackops"].operation("find_people").reason in text_of(result)
    assert (await sandbox_of(server, "trackops")).requests_matching() == []


async def test_an_exact_full_name_or_email_beats_a_wider_prefix() -> None:
    manifest = load_manifests()["spotdraft"]
    people = [
        Person(id="1", name="Ann Lee", email="ann@x.example"),
        Person(id="2", name="Ann Leeds", email="ann.leeds@x.example"),
    ]

    async def lookup(query: str) -> list[Person]:
        return people

    resolver = PeopleResolver(manifest, lookup)
    assert await resolver.user_id("ann lee", "assignees[0]") == "1"
    assert await resolver.user_id("102", "assignees[1]") == "102"  # an id is passed through untouched
    with pytest.raises(UnresolvedPerson, match="matches 2 SpotDraft people"):
        await resolver.user_id("Ann", "assignees[2]")
    assert [r.id for r in resolver.resolved] == ["1"]


# -- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_date_only_due_is_17_00_in_the_configured_zone(tmp_path: Path, mode: str) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, timezone="Asia/Kolkata"))
    async with Client(server, mode=mode) as client:
        args = {"vendor": "spotdraft", "title": "Kolkata deadline", "assignees": ["100"], "due": "2026-12-04"}
        preview = await ok(client, "create_task", {**args, "dry_run": True})
        assert preview["due"] == "2026-12-04T17:00:00+05:30"
        task = await ok(client, "create_task", args)
        state = await sandbox_of(server, "spotdraft")
        (sent,) = state.requests_matching("POST", "/api/v2.1/public/user_tasks/")
    # the documented instant: 17:00 on that day in TASKLINK_TIMEZONE, sent to the vendor in UTC
    assert '"due_date":"2026-12-04T11:30:00Z"' in sent.body.replace(" ", "")
    assert datetime.fromisoformat(task["due"]) == datetime.fromisoformat("2026-12-04T17:00:00+05:30")
    assert task["due"] == "2026-12-04T11:30:00Z"


async def test_assignee_dry_run_and_replay_by_name(client: Client, server: MCPServer) -> None:
    intake = await ok(client, "create_intake", {"title": "Replay by name", "assignees": [{"user_id": "102"}]})
    preview = await ok(
        client,
        "update_intake_assignees",
        {"intake_id": intake["id"], "mode": "add", "assignees": [{"user_id": "Sonia"}], "dry_run": True},
    )
    assert [r["entity_id"] for r in preview["dry_run"]["body"]["assignees"]] == ["102", "100"]
    assert "'Sonia' → 100" in preview["dry_run"]["verdict"] and preview["resolved"][0]["id"] == "100"
    assert not any(r.method == "PATCH" for r in (await sandbox_of(server, "spotdraft")).requests)

    args = {"vendor": "lightfield", "title": "Once by name", "assignees": ["Dana"], "idempotency_key": "by-name-1"}
    first = await ok(client, "create_task", args)
    again = await ok(client, "create_task", args)
    assert again["replayed"] is True and again["id"] == first["id"] and again["resolved"] == first["resolved"]
    assert len((await sandbox_of(server, "lightfield")).requests_matching("POST", "/v1/tasks")) == 1
