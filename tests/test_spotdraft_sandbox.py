"""The SpotDraft simulator follows the documented contract, over real loopback HTTP; the adapter
reaches it exactly as it would reach the real host."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from mcp import Client

from tasklink.mcp.server import build_server
from tasklink.sandbox.spotdraft import CLIENT_ID, CLIENT_SECRET
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn
from .support import run_recipe

AUTH = {"client-id": CLIENT_ID, "client-secret": CLIENT_SECRET}
INTAKES = "/spotdraft/api/v1/public/legal_intake/"


@pytest.fixture
def http(loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]) -> httpx2.Client:
    srv, _ = loopback_sandbox
    return httpx2.Client(base_url=srv.base, headers=AUTH, follow_redirects=False, timeout=10)


def test_missing_trailing_slash_answers_302(http: httpx2.Client) -> None:
    response = http.post(INTAKES.rstrip("/"), json={"title": "x", "workflow_id": 7})
    assert response.status_code == 302
    assert response.headers["location"].endswith("/api/v1/public/legal_intake/")
    assert http.get(f"{INTAKES}?limit=100").json()["total_count"] == 0


def test_credentials_are_required(http: httpx2.Client, loopback_sandbox: tuple[ThreadedUvicorn, Any]) -> None:
    response = httpx2.get(loopback_sandbox[0].base + INTAKES, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    wrong = http.get(INTAKES, headers={"client-secret": "nope"})
    assert wrong.status_code == 401


def test_spotdraft_missing_intake_is_403_not_404_contradiction(http: httpx2.Client) -> None:
    """The guide's table says 404 for 'not found'; the intake routes say they answer 403. We follow the routes."""
    assert http.get(f"{INTAKES}4242/").status_code == 403
    created = http.post(INTAKES, json={"title": "Soft", "workflow_id": 7}).json()
    assert http.delete(f"{INTAKES}{created['id']}/").status_code == 204
    assert http.get(f"{INTAKES}{created['id']}/").status_code == 403


def test_both_400_shapes(http: httpx2.Client) -> None:
    field_keyed = http.post(INTAKES, json={"title": "x", "workflow_id": 7, "priority": "URGENT"})
    assert field_keyed.status_code == 400
    assert field_keyed.json() == {"priority": ["Input should be 'LOW', 'MEDIUM' or 'HIGH'"]}
    row = http.post(INTAKES, json={"title": "x", "workflow_id": 7, "assignees": [{"entity_type": "ORG_USER"}]})
    assert row.json()["assignees"]["0"]["entity_id"] == ["Field required"]
    public = http.post(INTAKES, json={"title": "x", "workflow_id": 8})
    assert public.status_code == 400
    assert set(public.json()) == {"detail", "status_code", "code", "message"}
    assert public.json()["code"] == "SD_PUBLIC_00039"


def test_list_limits_and_sorting(http: httpx2.Client) -> None:
    assert http.get(INTAKES, params={"limit": 101}).json() == {"limit": ["Input should be less than or equal to 100"]}
    assert http.get(INTAKES, params={"sort": "colour"}).json() == {"detail": "Invalid sort field"}
    for title, priority in [("A", "LOW"), ("B", "HIGH"), ("C", "MEDIUM")]:
        http.post(INTAKES, json={"title": title, "workflow_id": 7, "priority": priority})
    page = http.get(INTAKES, params={"sort": "-priority", "filter__priority[$in]": "HIGH,MEDIUM"}).json()
    assert [i["title"] for i in page["intakes"]] == ["B", "C"]
    assert "assignees" not in page["intakes"][0]
    assert page["total_count"] == 2


def test_spotdraft_task_assignees_required_contradiction(http: httpx2.Client) -> None:
    """The schema marks `assignees` required; the prose says only non-intake tasks need one.
    The simulator requires the key and accepts [] for intake tasks; the adapter always sends the key."""
    intake = http.post(INTAKES, json={"title": "Host", "workflow_id": 7}).json()
    body: dict[str, Any] = {
        "title": "T",
        "task_category": "INTAKE_TASK",
        "task_associations": [{"entity_id": intake["id"], "entity_type": "LEGAL_INTAKE"}],
    }
    assert http.post("/spotdraft/api/v2.1/public/user_tasks/", json=body).status_code == 400
    created = http.post("/spotdraft/api/v2.1/public/user_tasks/", json=body | {"assignees": []})
    assert created.status_code == 201
    assert created.json()["task_associations"][0]["entity_id"] == str(intake["id"])  # a string, as documented


@pytest.mark.anyio
async def test_adapter_runs_the_recipe_over_real_http(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    srv, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("SPOTDRAFT_"):
            monkeypatch.setenv(key, value)
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "client"))
    assert server.service.vendors.runtimes["spotdraft"].mode == "live"
    async with Client(server) as client:
        await run_recipe(client)
    log = json.loads(httpx2.get(f"{srv.base}/spotdraft/_sandbox/requests", timeout=10).text)
    assert {r["method"] for r in log} == {"POST", "GET", "PATCH", "DELETE"}
    assert all(r["path"].endswith("/") for r in log)
    assert all(r["status"] < 300 or r["status"] == 403 for r in log)
    assert all(r["headers"].get("client-id") == CLIENT_ID for r in log)
