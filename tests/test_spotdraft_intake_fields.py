"""What get_intake shows of `LegalIntakePublicDetailResponse` that users need: who created the intake, its
attachments (name and id, not the file) and each task's notes."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.sandbox.spotdraft import FILES

from .conftest import sandbox_of
from .support import text_of

pytestmark = pytest.mark.anyio


async def test_get_intake_shows_who_created_it(client: Client) -> None:
    created = (await client.call_tool("create_intake", {"title": "Vendor review"})).structured_content
    elena = {"id": "101", "name": "Elena Kagan"}
    assert created["created_by"] == elena  # the user linked to the credentials
    fetched = (await client.call_tool("get_intake", {"intake_id": created["id"]})).structured_content
    assert fetched["created_by"] == elena


async def test_get_intake_lists_attachments_compactly(client: Client, server: MCPServer) -> None:
    created = (await client.call_tool("create_intake", {"title": "NDA review"})).structured_content
    assert created["attachments"] == []
    store = (await sandbox_of(server, "spotdraft")).store
    stored = store.get("intake", created["id"])
    assert stored is not None
    stored["file_ids"] = [f["uuid"] for f in FILES]  # attached with `file_ids` when it was created
    store.put("intake", created["id"], stored)
    fetched = (await client.call_tool("get_intake", {"intake_id": created["id"]})).structured_content
    assert fetched["attachments"] == [
        {"id": "10f9a299-9e9a-4bc9-9299-5b89bc06d370", "name": "nda.pdf"},
        {"id": "9831fa6f-1d6c-4f8e-8fba-83d68765ca20", "name": "vendor-msa.docx"},
    ]


async def test_get_intake_shows_task_notes(client: Client) -> None:
    intake = (await client.call_tool("create_intake", {"title": "Host"})).structured_content
    for title, description in (("With notes", "Follow up with procurement."), ("Without notes", None)):
        args = {"vendor": "spotdraft", "title": title, "intake_id": intake["id"], "description": description}
        created = await client.call_tool("create_task", {k: v for k, v in args.items() if v is not None})
        assert not created.is_error, text_of(created)
    fetched = (await client.call_tool("get_intake", {"intake_id": intake["id"]})).structured_content
    assert [(t["title"], t["description"]) for t in fetched["tasks"]] == [
        ("With notes", "Follow up with procurement."),
        ("Without notes", None),
    ]
