"""A shared server for a team: each call acts for a principal, whose roles decide what it may do, and
whose keys, tokens and cursors are its own.

Over real HTTP (an in-process app on loopback) against the sandbox, with two OAuth principals whose
tokens a test issuer signs, two more for the role checks, and one named bearer token.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn, free_port
from .support import text_of
from .test_http_security import Issuer

pytestmark = pytest.mark.anyio

CI_TOKEN = "ci-bot-token-0123456789abcdefghij"
#: SpotDraft workspace members (sandbox/spotdraft.py): Elena is the credentials' own user and an admin;
#: Priya Raman is a plain member
ALICE = {"sub": "alice", "email": "priya.raman@acme-legal.example", "name": "Alice"}
BOB = {"sub": "bob", "email": "priya.shah@acme-legal.example", "name": "Bob"}
DAVE = {"sub": "dave", "email": "dave@northwind.example"}
POLICY = """
default = ["reader"]

[principals]
"oauth:alice" = ["admin"]
"oauth:bob" = ["admin"]
"oauth:dave" = ["editor"]
"""


class Team:
    def __init__(self, issuer: Issuer, url: str, server: Any) -> None:
        self.issuer, self.url, self.server = issuer, url, server

    async def spotdraft_record(self, intake_id: int) -> dict[str, Any]:
        """The intake as SpotDraft stores it, read with the service credentials (the workspace's admin)."""

        tl = self.server.service
        adapter = await tl.vendors.adapter("spotdraft")
        answer = await adapter.http.client.get(f"/api/v1/public/legal_intake/{intake_id}/")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    @asynccontextmanager
    async def client(self, who: dict[str, Any] | None = None, *, token: str | None = None) -> AsyncIterator[Client]:
        bearer = token or self.issuer.token(self.url, **(who or {}))
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=60) as http,
            Client(streamable_http_client(self.url, http_client=http), mode="legacy") as client,
        ):
            yield client


@pytest.fixture
def team(tmp_path: Path, issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Team]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(
        f'[tokens.ci-bot]\nsha256 = "{hashlib.sha256(CI_TOKEN.encode()).hexdigest()}"\nroles = ["reader"]\n'
    )
    monkeypatch.setenv("SPOTDRAFT_IDENTITY", "impersonate")
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, policy_file=policy)
    http = HttpSettings(oauth_issuer=issuer.url, oauth_jwks_url=f"{issuer.url}/jwks.json", http_tokens_file=tokens)
    server = build_server(settings)
    with ThreadedUvicorn(http_app(server, HttpOptions(port=port), http), port):
        yield Team(issuer, url, server)


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    with ThreadedUvicorn(found.app, found.port):
        yield found


def workiva_task(title: str, **extra: Any) -> dict[str, Any]:
    return {"vendor": "workiva", "title": title, "due": "2031-02-01", "allow_duplicate": True, **extra}


async def test_an_intake_made_as_alice_is_hers_and_not_visible_to_bob(team: Team) -> None:
    async with team.client(ALICE) as alice, team.client(BOB) as bob:
        made = await alice.call_tool("create_intake", {"title": f"Acme vendor review {uuid.uuid4().hex[:6]}"})
        assert not made.is_error, text_of(made)
        intake_id = made.structured_content["id"]
        mine = await alice.call_tool("get_intake", {"intake_id": intake_id})
        assert not mine.is_error, text_of(mine)
        for tool, args in [("get_intake", {}), ("update_intake", {"priority": "LOW"}), ("delete_intake", {})]:
            refused = await bob.call_tool(tool, {"intake_id": intake_id, **args})
            assert refused.is_error, (tool, text_of(refused))
            assert "not visible" in text_of(refused), (tool, text_of(refused))
        listed = await bob.call_tool("list_intakes", {"limit": 50})
        assert intake_id not in {i["id"] for i in listed.structured_content["intakes"]}
        audit = await alice.read_resource("audit://recent")
    assert (await team.spotdraft_record(intake_id))["created_by"]["email"] == ALICE["email"]  # SpotDraft's record
    entries = [e for e in json_of(audit) if e["tool"] == "create_intake" and e["outcome"] == "ok"]
    assert entries and entries[-1]["principal"] == "oauth:alice" and entries[-1]["client"]


def json_of(resource: Any) -> list[dict[str, Any]]:
    import json

    return list(json.loads(resource.contents[0].text))


async def test_another_principal_s_key_token_and_cursor_are_not_theirs(team: Team) -> None:
    key = f"shared-key-{uuid.uuid4()}"
    async with team.client(ALICE) as alice, team.client(BOB) as bob:
        hers = await alice.call_tool("create_task", workiva_task(f"Alice's {key}", idempotency_key=key))
        his = await bob.call_tool("create_task", workiva_task(f"Bob's {key}", idempotency_key=key))
        assert not hers.is_error and not his.is_error, (text_of(hers), text_of(his))
        assert his.structured_content["id"] != hers.structured_content["id"]  # his own write, not her result
        assert his.structured_content["replayed"] is False

        preview = await alice.call_tool("delete_task", {"vendor": "workiva", "task_id": hers.structured_content["id"]})
        token = preview.structured_content["confirm_token"]
        stolen = await bob.call_tool(
            "delete_task",
            {"vendor": "workiva", "task_id": hers.structured_content["id"], "confirm": True, "confirm_token": token},
        )
        assert stolen.is_error and "another caller" in text_of(stolen), text_of(stolen)

        page = await alice.call_tool("list_tasks", {"vendor": "workiva", "limit": 1})
        cursor = page.structured_content["next_cursor"]
        assert cursor
        foreign = await bob.call_tool("list_tasks", {"vendor": "workiva", "limit": 1, "cursor": cursor})
        assert foreign.is_error and "cursor" in text_of(foreign)
        own = await alice.call_tool("list_tasks", {"vendor": "workiva", "limit": 1, "cursor": cursor})
        assert not own.is_error, text_of(own)


async def test_roles_decide_what_is_listed_and_what_may_be_called(team: Team) -> None:
    async with team.client(token=CI_TOKEN) as reader, team.client(DAVE) as editor, team.client(ALICE) as admin:
        read_only = {t.name for t in (await reader.list_tools()).tools}
        assert read_only and all(not n.startswith(("create_", "update_", "delete_")) for n in read_only)
        refused = await reader.call_tool("create_task", workiva_task("Not for a reader"))
        assert refused.is_error and "token:ci-bot" in text_of(refused) and "read-only" in text_of(refused)

        editing = {t.name for t in (await editor.list_tools()).tools}
        assert "create_task" in editing and "delete_task" not in editing
        made = await editor.call_tool("create_task", workiva_task(f"Dave's {uuid.uuid4().hex[:6]}"))
        assert not made.is_error, text_of(made)
        no_delete = await editor.call_tool(
            "delete_task", {"vendor": "workiva", "task_id": made.structured_content["id"]}
        )
        assert no_delete.is_error and "deletes" in text_of(no_delete)

        assert "delete_task" in {t.name for t in (await admin.list_tools()).tools}


async def test_me_is_each_principal(team: Team) -> None:
    async with team.client(ALICE) as alice, team.client(BOB) as bob:
        for client, who in ((alice, ALICE), (bob, BOB)):
            made = await client.call_tool(
                "create_intake", {"title": f"Mine {uuid.uuid4().hex[:6]}", "assignees": [{"user_id": "me"}]}
            )
            assert not made.is_error, text_of(made)
            (resolved,) = made.structured_content["resolved"]
            assert resolved["email"] == who["email"]
