"""Helpers every test module may use (test modules never import from each other)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client

from tasklink.manifests import manifests_dir

ROOT = Path(__file__).resolve().parents[1]
#: the vendors' published contracts (OpenAPI files, seed documents, NOTES.md), beside the repository
VENDOR_SPECS = ROOT.parent / "shared" / "vendor-specs"

#: the whole catalogue; other client tests compare what they list against it
EXPECTED_TOOLS = {
    "create_intake",
    "get_intake",
    "list_intakes",
    "update_intake",
    "update_intake_assignees",
    "delete_intake",
    "create_task",
    "get_task",
    "list_tasks",
    "update_task",
    "delete_task",
    "create_tasks",
    "my_work",
    "list_vendors",
    "find_people",
    "find_records",
}

#: a Trackops task with every documented field
ADDRESS = {
    "address_1": "2000 Blake Street",
    "address_2": "Suite 400",
    "address_3": "Attn: Records",
    "city": "Denver",
    "state": "CO",
    "zip": "80202",
    "country": "US",
}
FULL_TASK: dict[str, Any] = {
    "vendor": "trackops",
    "title": "Canvass neighbours on Blake Street",
    "description": "Ask about the claimant's daily routine.",
    "due": "2031-03-14",
    "assignees": ["2", "3"],
    "vendor_fields": {
        "casefile_id": 245,
        "calendar_id": 3,
        "subject_id": 210,
        "case_service_id": 1,
        "alert_at": "2031-03-13T09:30:00-05:00",
        "address": ADDRESS,
    },
}
#: Workiva's seed user (seed-docs/003)
JANE = "V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD"

#: seed-docs/003: the body parameter example of POST /prototype/platform/tasks
SEED_EXAMPLE: dict[str, Any] = {
    "approvalSteps": [
        {
            "completionMode": "ONE",
            "dueDate": "2023-06-11T13:00:00+00:00",
            "participants": [{"id": JANE, "type": "USER"}],
        }
    ],
    "assignees": [{"id": JANE, "type": "USER"}],
    "description": "Be sure to double-check the balance sheet",
    "dueDate": None,
    "location": {"resource": "124efa2a142f472ba1ceab34ed18915f", "segment": "465ttdh2a142y75ehsft5ab34edf5675"},
    "notificationsDisabled": True,
    "status": "Completed",
    "title": "Please complete the quarterly report",
}


def text_of(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def call_ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


def renamed_manifest(folder: Path, name: str, title: str) -> Path:
    """Trackops' manifest as another vendor's (same adapter and simulator), in `folder`."""

    text = (manifests_dir() / "trackops.toml").read_text(encoding="utf-8")
    text = text.replace('name = "trackops"', f'name = "{name}"').replace('title = "Trackops"', f'title = "{title}"')
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def run_recipe(client: Client) -> None:
    created = await client.call_tool(
        "create_intake",
        {
            "title": "Acme vendor review",
            "description": "Initial request for legal review.",
            "priority": "MEDIUM",
            "due": "2030-05-05T17:00:00Z",
            "assignees": [{"user_id": "102", "role": "assigned_to"}],
            "metadata": {"source": "api"},
        },
    )
    assert not created.is_error, text_of(created)
    intake = created.structured_content
    assert intake["status"] == "PENDING" and intake["workflow_id"] == 7
    assert [a["user_id"] for a in intake["assignees"]] == ["102"]
    intake_id = intake["id"]

    task = await client.call_tool(
        "create_task",
        {
            "vendor": "spotdraft",
            "title": "Collect business justification",
            "description": "Follow up with procurement.",
            "assignees": ["102"],
            "priority": "HIGH",
            "status": "todo",
            "due": "2030-05-01T17:00:00Z",
            "intake_id": intake_id,
        },
    )
    assert not task.is_error, text_of(task)
    assert task.structured_content["links"] == {"intake_id": str(intake_id)}
    assert task.structured_content["status"] == "todo"
    task_id = task.structured_content["id"]

    fetched = (await client.call_tool("get_intake", {"intake_id": intake_id})).structured_content
    assert [(t["id"], t["title"], t["priority"]) for t in fetched["tasks"]] == [
        (task_id, "Collect business justification", "HIGH")
    ]

    updated = await client.call_tool(
        "update_intake_assignees",
        {
            "intake_id": intake_id,
            "assignees": [
                {"user_id": "100", "role": "assigned_to"},
                {"user_id": "101", "role": "collaborator"},
            ],
        },
    )
    assert not updated.is_error, text_of(updated)
    assert [a["user_id"] for a in updated.structured_content["assignees"]] == ["100"]
    assert [c["user_id"] for c in updated.structured_content["collaborators"]] == ["101"]
    assert updated.structured_content["collaborators"][0]["name"] == "Elena Kagan"

    preview = await client.call_tool("delete_intake", {"intake_id": intake_id})
    assert not preview.is_error, text_of(preview)
    assert preview.structured_content["deleted"] is False
    assert "Nothing was deleted" in preview.structured_content["message"]
    # vendor text is data (the previewed record), never part of tasklink's own sentence
    assert preview.structured_content["preview"]["title"] == "Acme vendor review"
    assert "Acme vendor review" not in preview.structured_content["message"]
    still_there = await client.call_tool("get_intake", {"intake_id": intake_id})
    assert not still_there.is_error

    token = preview.structured_content["confirm_token"]
    deleted = await client.call_tool("delete_intake", {"intake_id": intake_id, "confirm": True, "confirm_token": token})
    assert not deleted.is_error, text_of(deleted)
    assert deleted.structured_content["deleted"] is True

    gone = await client.call_tool("get_intake", {"intake_id": intake_id})
    assert gone.is_error
    assert "does not exist or is not visible" in text_of(gone)
