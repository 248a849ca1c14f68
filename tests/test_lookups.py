"""find_records: the ids other tools need, by name prefix, per vendor and kind, through real MCP clients.

Each kind a vendor supports is found by prefix with the documented endpoint (the request is checked in the
simulator's log); a kind a vendor lacks is refused with the manifest's reason and alternative, and nothing
reaches the vendor; and the id found works in the tool that needs it.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.sandbox import trackops as trackops_sandbox
from tasklink.service.lookups import record_kinds
from tasklink.settings import TaskLinkSettings
from tasklink.vendors import trackops as trackops_adapter

from .conftest import sandbox_of
from .support import call_ok, text_of

pytestmark = pytest.mark.anyio


async def find(client: Client, vendor: str, kind: str, query: str | None = None, **extra: Any) -> dict[str, Any]:
    args = {"vendor": vendor, "kind": kind, **({"query": query} if query is not None else {}), **extra}
    return await call_ok(client, "find_records", args)


def ids(found: dict[str, Any]) -> list[str]:
    return [r["id"] for r in found["records"]]


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:6]}"


async def last_query(server: MCPServer, vendor: str, path: str) -> dict[str, str]:
    sent = (await sandbox_of(server, vendor)).requests_matching("GET", path)
    assert sent, f"nothing was sent to {path}"
    return dict(parse_qsl(sent[-1].query))


# -- the manifests ------------------------------------------------------------------------------------


def test_every_manifest_declares_find_records_with_its_kinds() -> None:
    for vendor, manifest in load_manifests().items():
        op = manifest.operation("find_records")
        assert op.supported and op.kinds, vendor
        for kind, entry in op.kinds.items():
            assert entry.use if entry.supported else entry.reason, (vendor, kind)
    kinds = {
        v: {k for k, e in m.operation("find_records").kinds.items() if e.supported} for v, m in load_manifests().items()
    }
    assert kinds == {
        "lightfield": {"account", "opportunity", "relationship"},
        "spotdraft": {"workflow", "role"},
        "trackops": {"case", "subject"},
        "workiva": {"location"},
    }
    assert set(record_kinds()) == set().union(*kinds.values()) | {"calendar"}


def test_no_text_the_model_reads_tells_it_to_call_an_http_endpoint() -> None:
    endpoint = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) /|call GET")
    for vendor, manifest in load_manifests().items():
        for op in manifest.operations.values():
            texts = [op.reason, op.alternative, op.notes]
            texts += [f.description for f in (*op.vendor_fields.values(), *op.vendor_filters.values())]
            texts += [t for k in op.kinds.values() for t in (k.use, k.reason, k.alternative) if t]
            assert [t for t in texts if endpoint.search(t or "")] == [], (vendor, op.name)


async def test_the_tool_lists_every_kind_and_says_where_ids_go(client: Client) -> None:
    tool = next(t for t in (await client.list_tools()).tools if t.name == "find_records")
    assert tool.input_schema["properties"]["kind"]["enum"] == record_kinds()
    assert tool.input_schema["required"] == ["vendor", "kind"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is True


# -- found by prefix, with the documented endpoint --------------------------------------------------


async def test_trackops_cases_by_name_number_or_reference(client: Client, server: MCPServer) -> None:
    gomez = await find(client, "trackops", "case", "gomez")
    assert ids(gomez) == ["246"] and gomez["records"][0]["name"] == "Gomez workers' compensation claim"
    assert gomez["records"][0]["kind"] == "case" and "2024-0246" in gomez["records"][0]["detail"]
    assert "vendor_fields.casefile_id" in gomez["use"]
    assert await last_query(server, "trackops", "/api/v1/cases") == {"page": "1", "per_page": "100", "dir": "desc"}
    assert ids(await find(client, "trackops", "case", "Hart")) == ["248", "245"]  # newest first
    assert ids(await find(client, "trackops", "case", "2024-0247")) == ["247"]
    assert ids(await find(client, "trackops", "case", "NW-CLM")) == ["245"]  # a claim number (reference 1)
    assert ids(await find(client, "trackops", "case", limit=2)) == ["248", "247"]
    assert (await find(client, "trackops", "case", "Zebra"))["records"] == []


async def test_trackops_subjects_with_trackops_own_name_filter(client: Client, server: MCPServer) -> None:
    hale = await find(client, "trackops", "subject", "Hale")
    assert [(r["id"], r["name"], r["detail"]) for r in hale["records"]] == [
        ("209", "Hale, Marcus", "case 245"),
        ("210", "Hale, Joan", "case 245"),
        ("213", "Hale, Victor", "case 248"),
    ]
    assert await last_query(server, "trackops", "/api/v1/subjects") == {"page": "1", "per_page": "10", "name": "Hale"}
    everyone = await find(client, "trackops", "subject", limit=2)
    assert len(everyone["records"]) == 2
    assert "name" not in await last_query(server, "trackops", "/api/v1/subjects")


async def test_trackops_cases_past_the_pages_read_are_reported(
    server: MCPServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = [{"id": 1000 + n, "case_number": f"2025-{n:04d}", "name": f"Routine check {n}"} for n in range(150)]
    monkeypatch.setattr(trackops_sandbox, "CASES", [*trackops_sandbox.CASES, *many])
    monkeypatch.setattr(trackops_adapter, "CASE_PAGES_MAX", 1)
    found = await find(client, "trackops", "case", "Hartley")
    assert found["records"] == []  # the Hartley cases are older than the newest 100
    assert any("newest 100 cases" in w for w in found["warnings"])
    assert len((await sandbox_of(server, "trackops")).requests_matching("GET", "/api/v1/cases")) == 1


async def test_spotdraft_roles_by_name(client: Client, server: MCPServer) -> None:
    legal = await find(client, "spotdraft", "role", "leg")
    assert legal["records"] == [{"id": "456", "name": "Legal", "kind": "role", "detail": "Legal team"}]
    assert "role_id" in legal["use"]
    assert ids(await find(client, "spotdraft", "role")) == ["123", "456"]
    assert (await sandbox_of(server, "spotdraft")).requests_matching("GET", "/api/v2.1/public/auth/roles/")


async def test_spotdraft_intake_workflows_come_from_the_intakes_that_use_them(
    client: Client, server: MCPServer
) -> None:
    empty = await find(client, "spotdraft", "workflow", "Legal")
    assert empty["records"] == []
    assert any("lists no workflows" in w for w in empty["warnings"])
    assert any("uses workflow 7 (SPOTDRAFT_INTAKE_WORKFLOW_ID)" in w for w in empty["warnings"])
    await call_ok(client, "create_intake", {"title": unique("Review the Acme NDA")})
    found = await find(client, "spotdraft", "workflow", "legal")
    assert found["records"] == [
        {"id": "7", "name": "Legal Intake", "kind": "workflow", "detail": "General legal requests"}
    ]
    assert found["use"] == "create_intake workflow_id"
    query = await last_query(server, "spotdraft", "/api/v1/public/legal_intake/")
    assert query == {"page": "1", "limit": "100", "sort": "-created_at"}
    # a published intake workflow no intake uses yet is not found (SpotDraft lists no workflows)
    assert (await find(client, "spotdraft", "workflow", "Litigation"))["records"] == []


async def test_lightfield_accounts_and_opportunities_by_name_prefix(client: Client, server: MCPServer) -> None:
    acme = await find(client, "lightfield", "account", "Acme")
    assert [(r["id"], r["name"]) for r in acme["records"]] == [
        ("acc_acme001", "Acme Corp"),
        ("acc_acmelog3", "Acme Logistics"),
    ]
    assert await last_query(server, "lightfield", "/v1/accounts") == {
        "offset": "0",
        "limit": "10",
        "$name[startsWith]": "Acme",
    }
    globex = await find(client, "lightfield", "opportunity", "Glob")
    assert globex["records"] == [
        {
            "id": "opp_globex_exp05",
            "name": "Globex expansion",
            "kind": "opportunity",
            "detail": "stage Discovery; account acc_globex02",
        }
    ]
    assert "vendor_fields.$opportunity" in globex["use"]
    assert len((await find(client, "lightfield", "account"))["records"]) == 4
    assert "$name[startsWith]" not in await last_query(server, "lightfield", "/v1/accounts")


async def test_lightfield_relationships_are_the_keys_a_write_may_set(client: Client) -> None:
    every = await find(client, "lightfield", "relationship")
    assert ids(every) == ["$account", "$opportunity", "$createdBy", "champion"]  # not $assignedTo, not $note
    champion = await find(client, "lightfield", "relationship", "Champ")
    assert champion["records"] == [
        {
            "id": "champion",
            "name": "Champion",
            "kind": "relationship",
            "detail": "contact (has_one); list_tasks filter $task-champion",
        }
    ]


async def test_workiva_locations_are_documents_spreadsheets_and_presentations(
    client: Client, server: MCPServer
) -> None:
    year_end = await find(client, "workiva", "location", "Year-end")
    assert [(r["id"], r["name"], r["detail"]) for r in year_end["records"]] == [
        ("124efa2a142f472ba1ceab34ed18915f", "Year-end review", "Document (10-K)"),
        ("9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a", "Year-end board presentation", "Presentation"),
    ]
    assert (await find(client, "workiva", "location", "2026 Supporting"))["records"] == []  # a folder
    sent = (await sandbox_of(server, "workiva")).requests_matching("GET", "/files")[-1]
    assert sent.headers["x-version"] == "2026-01-01"
    assert dict(parse_qsl(sent.query)) == {"$maxpagesize": "1000"}


async def test_workiva_locations_are_found_on_the_prototype_version_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKIVA_API_VERSION", "2022-01-01")
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "proto", sandbox=True, vendors=["workiva"]))
    async with Client(server) as client:
        found = await find(client, "workiva", "location", "Q3")
    assert ids(found) == ["a8b3adb687644b27fafcb3a9875f0f0d", "3c7e1f0a9b2d4e6f8a1b2c3d4e5f6a7b"]
    assert any("deprecated" in w for w in found["warnings"])  # the prototype's deprecation still shows


# -- kinds a vendor lacks: refused with the reason and an alternative, nothing sent --------------------


@pytest.mark.parametrize(
    ("vendor", "kind", "words"),
    [
        ("trackops", "calendar", ["lists no calendars", "links.calendar_id"]),
        ("workiva", "case", ["Workiva has no `case` records", "find_records(vendor='trackops', kind='case')"]),
        ("spotdraft", "account", ["(it looks up workflow, role)", "find_records(vendor='lightfield', kind='account')"]),
        ("lightfield", "location", ["(it looks up account, opportunity, relationship)", "vendor='workiva'"]),
    ],
)
async def test_a_kind_the_vendor_lacks_is_refused_and_sends_nothing(
    client: Client, server: MCPServer, vendor: str, kind: str, words: list[str]
) -> None:
    state = await sandbox_of(server, vendor)
    before = len(state.requests)
    result = await client.call_tool("find_records", {"vendor": vendor, "kind": kind, "query": "a"})
    assert result.is_error
    text = text_of(result)
    assert f"does not support `find_records(kind='{kind}')`" in text
    assert all(w in text for w in words), text
    assert "Nothing was sent to the vendor" in text
    assert state.requests[before:] == []


async def test_a_vendor_without_find_records_refuses_it_before_anything_else(tmp_path: Path) -> None:
    tasktrail = Path(__file__).parent / "contract" / "tasktrail" / "manifests"
    server = build_server(
        TaskLinkSettings(data_dir=tmp_path / "tt", sandbox=True, manifest_dirs=[tasktrail], vendors=["tasktrail"])
    )
    async with Client(server) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("find_records", {"vendor": "tasktrail", "kind": "case"})
    assert "find_records" not in listed  # no configured vendor can serve it
    assert result.is_error and "find_records" in text_of(result)


# -- the id found works in the tool that needs it ----------------------------------------------------


async def test_a_trackops_case_and_subject_found_by_name_take_a_new_task(client: Client) -> None:
    case = (await find(client, "trackops", "case", "Gomez"))["records"][0]
    subject = (await find(client, "trackops", "subject", "Gomez"))["records"][0]
    assert subject["detail"] == f"case {case['id']}"
    on_case = await call_ok(
        client, "list_tasks", {"vendor": "trackops", "vendor_filters": {"case": int(case["id"])}, "limit": 5}
    )
    calendar = on_case["tasks"][0]["links"]["calendar_id"]  # where the calendar refusal points
    created = await call_ok(
        client,
        "create_task",
        {
            "vendor": "trackops",
            "title": unique("Interview the claimant's neighbour"),
            "due": "2031-05-02",
            "vendor_fields": {"casefile_id": case["id"], "calendar_id": calendar, "subject_id": subject["id"]},
        },
    )
    task = await call_ok(client, "get_task", {"vendor": "trackops", "task_id": created["id"]})
    assert (task["links"]["case_id"], task["links"]["subject_id"]) == (case["id"], subject["id"])


async def test_a_spotdraft_role_and_workflow_found_by_name_are_taken_by_the_writes(client: Client) -> None:
    role = (await find(client, "spotdraft", "role", "Legal"))["records"][0]
    task = await call_ok(
        client,
        "create_task",
        {"vendor": "spotdraft", "title": unique("Review the indemnity cap"), "due": "2031-01-10",
         "assignees": [{"role_id": role["id"]}]},
    )  # fmt: skip
    assert task["assignees"] == [f"role:{role['id']}"]
    await call_ok(client, "create_intake", {"title": unique("Vendor onboarding")})
    workflow = (await find(client, "spotdraft", "workflow", "Legal"))["records"][0]
    intake = await call_ok(client, "create_intake", {"title": unique("DPA review"), "workflow_id": int(workflow["id"])})
    assert intake["workflow_id"] == int(workflow["id"])


async def test_lightfield_records_found_by_name_link_a_new_task(client: Client) -> None:
    account = (await find(client, "lightfield", "account", "Acme Log"))["records"][0]
    opportunity = (await find(client, "lightfield", "opportunity", "Acme Logistics"))["records"][0]
    relationship = (await find(client, "lightfield", "relationship", "champion"))["records"][0]
    task = await call_ok(
        client,
        "create_task",
        {
            "vendor": "lightfield",
            "title": unique("Kick off the Acme Logistics pilot"),
            "assignees": ["mem_sam0001"],
            "vendor_fields": {
                "$account": account["id"],
                "$opportunity": opportunity["id"],
                relationship["id"]: "con_wile001",
            },
        },
    )
    wanted = {"account": account["id"], "opportunity": opportunity["id"], "champion": "con_wile001"}
    assert {k: task["links"].get(k) for k in wanted} == wanted


async def test_a_workiva_location_found_by_name_is_a_new_tasks_location(client: Client) -> None:
    location = (await find(client, "workiva", "location", "Q3 2026 Form"))["records"][0]
    created = await call_ok(
        client,
        "create_task",
        {
            "vendor": "workiva",
            "title": unique("Tie out the 10-Q"),
            "vendor_fields": {"location": {"resource": location["id"]}},
        },
    )
    task = await call_ok(client, "get_task", {"vendor": "workiva", "task_id": created["id"]})
    assert task["vendor_fields"]["location"] == {"resource": location["id"], "segment": None}


# -- a wrong relationship says how to find the right one, never which endpoint to call -------------------


@pytest.mark.parametrize(
    ("vendor_fields", "field", "lookup"),
    [
        ({"sponsor": "con_wile001"}, "vendor_fields.sponsor", "kind='relationship'"),
        ({"$account": "acc_nope"}, "vendor_fields.$account", "kind='account'"),
        ({"$opportunity": "opp_nope"}, "vendor_fields.$opportunity", "kind='opportunity'"),
    ],
)
async def test_a_lightfield_write_with_a_wrong_relationship_points_to_find_records(
    client: Client, vendor_fields: dict[str, str], field: str, lookup: str
) -> None:
    args = {"vendor": "lightfield", "title": unique("Follow up"), "assignees": ["mem_sam0001"]}
    result = await client.call_tool("create_task", {**args, "vendor_fields": vendor_fields})
    assert result.is_error
    text = text_of(result)
    assert f"`{field}`" in text and f"find_records(vendor='lightfield', {lookup})" in text
    assert not re.search(r"\b(GET|POST) /", text), text
