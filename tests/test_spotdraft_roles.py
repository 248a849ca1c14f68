"""Role (team) rows on a SpotDraft intake: read as roles, never rewritten as people.

`LegalIntakeAssigneeEntityType` is ORG_USER or ROLE in answers; a request row is ORG_USER only. The
public API cannot set a role on an intake (the SpotDraft app can), so the simulator's
`put_role_row` stands in for the app.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.models import Intake, IntakeAssigneeInput, IntakeParticipant, IntakeRoleParticipant
from tasklink.sandbox.spotdraft import CLIENT_ID, CLIENT_SECRET, put_role_row
from tasklink.service.intakes import _merge

from .conftest import sandbox_of, service_of
from .support import text_of

pytestmark = pytest.mark.anyio

INTAKES = "/api/v1/public/legal_intake/"


async def intake_with_a_role(client: Client, server: MCPServer) -> int:
    """An intake with person 100 assigned, person 101 collaborating, role 456 assigned, role 123 collaborating."""
    created = await client.call_tool(
        "create_intake",
        {"title": "Team intake", "assignees": [{"user_id": "100"}, {"user_id": "101", "role": "collaborator"}]},
    )
    assert not created.is_error, text_of(created)
    intake_id: int = created.structured_content["id"]
    store = (await sandbox_of(server, "spotdraft")).store
    put_role_row(store, intake_id, 456)
    put_role_row(store, intake_id, 123, "COLLABORATOR")
    return intake_id


async def stored_rows(server: MCPServer, intake_id: int) -> list[dict[str, Any]]:
    intake = (await sandbox_of(server, "spotdraft")).store.get("intake", intake_id)
    assert intake is not None
    rows: list[dict[str, Any]] = intake["participants"]
    return rows


async def patches(server: MCPServer) -> list[dict[str, Any]]:
    state = await sandbox_of(server, "spotdraft")
    return [json.loads(r.body) for r in state.requests_matching("PATCH")]


ROLE_ROWS = [
    {"entity_id": "456", "entity_type": "ROLE", "assignee_type": "ASSIGNED_TO"},
    {"entity_id": "123", "entity_type": "ROLE", "assignee_type": "COLLABORATOR"},
]


async def test_get_intake_shows_a_role_as_a_role(client: Client, server: MCPServer) -> None:
    """A role row was shown as a person whose user id is the role's id."""
    intake_id = await intake_with_a_role(client, server)
    intake = (await client.call_tool("get_intake", {"intake_id": intake_id})).structured_content
    assert [(a["user_id"], a["name"]) for a in intake["assignees"]] == [("100", "Sonia Sotomayor")]
    assert [(c["user_id"], c["name"]) for c in intake["collaborators"]] == [("101", "Elena Kagan")]
    assert intake["roles"] == {"456": "assigned_to", "123": "collaborator"}


@pytest.mark.parametrize("mode", ["add", "remove"])
async def test_adding_an_assignee_keeps_a_role_row_as_role(client: Client, server: MCPServer, mode: str) -> None:
    """`add` and `remove` once rebuilt every row as ORG_USER, so role 456 became "user 456". A request row is a
    person only and the PATCH replaces the whole list, so the change is refused before anything is sent."""
    intake_id = await intake_with_a_role(client, server)
    before = await stored_rows(server, intake_id)
    for dry_run in (True, False):
        args = {"intake_id": intake_id, "mode": mode, "assignees": [{"user_id": "102"}], "dry_run": dry_run}
        result = await client.call_tool("update_intake_assignees", args)
        assert result.is_error, result.structured_content
        message = text_of(result)
        assert "role 456 (assigned_to)" in message and "role 123 (collaborator)" in message
        assert "nothing was sent" in message and "mode='replace'" in message
    assert await patches(server) == []
    assert await stored_rows(server, intake_id) == before
    assert [r for r in before if r["entity_type"] == "ROLE"] == ROLE_ROWS


async def test_replace_sends_people_only(client: Client, server: MCPServer) -> None:
    """`replace` is the full list the caller gives: people, sent as ORG_USER rows with their user ids."""
    intake_id = await intake_with_a_role(client, server)
    result = await client.call_tool(
        "update_intake_assignees", {"intake_id": intake_id, "assignees": [{"user_id": "102"}]}
    )
    assert not result.is_error, text_of(result)
    assert await patches(server) == [
        {"assignees": [{"entity_id": "102", "entity_type": "ORG_USER", "assignee_type": "ASSIGNED_TO"}]}
    ]
    assert result.structured_content["roles"] == {}


def intake_model(**fields: Any) -> Intake:
    return Intake(id=81, title="T", status="PENDING", priority="MEDIUM", **fields)


@pytest.mark.parametrize("mode", ["add", "remove"])
def test_merge_keeps_role_rows_as_roles(mode: Any) -> None:
    current = intake_model(
        assignees=[IntakeParticipant(user_id="100", role="assigned_to")],
        roles={"456": "assigned_to"},
    )
    given = [IntakeAssigneeInput(user_id="456" if mode == "remove" else "102")]
    merged, warnings = _merge(current, given, mode)
    assert IntakeRoleParticipant(role_id="456", role="assigned_to") in merged
    people = [m.user_id for m in merged if isinstance(m, IntakeAssigneeInput)]
    assert people == (["100"] if mode == "remove" else ["100", "102"])
    # a user id equal to a role's id names a person, never the role
    assert warnings == (["Not on the intake, nothing to remove: 456."] if mode == "remove" else [])


async def test_spotdraft_role_rows_readable_but_not_writable_contradiction(client: Client, server: MCPServer) -> None:
    """Answers carry `entity_type` ORG_USER or ROLE (`LegalIntakeAssigneeEntityType`); requests take only the
    constant ORG_USER ("Only ORG_USER is supported in the public API"), and the recipe says the `assignees` sent
    are the desired current list. The simulator answers role rows (with no `assignee_org_user`) and refuses them
    in a request; tasklink never sends a role, and refuses add/remove where one would be lost."""
    intake_id = await intake_with_a_role(client, server)
    app = service_of(server).vendors.runtimes["spotdraft"].sandbox_app
    headers = {"client-id": CLIENT_ID, "client-secret": CLIENT_SECRET}
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(base_url="https://api.us.spotdraft.com", transport=transport, headers=headers) as h:
        detail = (await h.get(f"{INTAKES}{intake_id}/")).json()
        role = next(r for r in detail["assignees"] if r["entity_type"] == "ROLE")
        assert role == {"entity_id": "456", "entity_type": "ROLE", "assignee_type": "ASSIGNED_TO",
                        "assignee_org_user": None}  # fmt: skip
        refused = await h.patch(f"{INTAKES}{intake_id}/", json={"assignees": ROLE_ROWS[:1]})
        assert refused.status_code == 400
        assert refused.json() == {"assignees": {"0": {"entity_type": ["Input should be 'ORG_USER'"]}}}
    assert [r for r in await stored_rows(server, intake_id) if r["entity_type"] == "ROLE"] == ROLE_ROWS
