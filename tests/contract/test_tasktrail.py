"""TaskTrail, the vendor that exists only in the tests: added from outside tasklink, and run through the contract.

The contract suite itself is in test_contract.py; here: that it really runs on TaskTrail, that nothing in
tasklink had to change for it, and TaskTrail's own wire contract (bearer auth, the list shape), over its
simulator directly and over a real loopback port in live mode.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from ..conftest import ThreadedUvicorn, free_port
from .harness import MANIFEST_DIRS, TASKTRAIL_MANIFESTS, contract_manifests, text_of
from .tasktrail.simulator import TOKEN, create_app

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
CONTRACT = Path(__file__).with_name("test_contract.py")


def test_every_contract_test_is_collected_for_every_vendor_tasktrail_included() -> None:
    """Collected by pytest itself (a fresh process, as CI runs it), not read back from the parametrization."""

    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(CONTRACT)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    vendors = set(contract_manifests())
    seen: dict[str, set[str]] = {}
    for test, params in re.findall(r"::(\w+)\[([^\]]+)\]", out.stdout):
        seen.setdefault(test, set()).update(part for part in params.split("-") if part in vendors)
    defined = set(re.findall(r"^(?:async )?def (test_\w+)", CONTRACT.read_text(encoding="utf-8"), re.MULTILINE))
    assert set(seen) == defined, "every contract test is parametrized over the vendors"
    assert {test: names for test, names in seen.items() if names != vendors} == {}
    assert "tasktrail" in vendors


def test_tasktrail_needs_no_change_in_tasklink() -> None:
    assert "tasktrail" not in load_manifests()
    manifest = contract_manifests()["tasktrail"]
    assert manifest.path is not None and manifest.path.parent == TASKTRAIL_MANIFESTS
    assert manifest.adapter.startswith("tests.contract.tasktrail.")
    assert manifest.sandbox.startswith("tests.contract.tasktrail.")
    mentions = [
        str(path.relative_to(REPO))
        for folder in ("server", "tool_manifests")
        for path in (REPO / folder).rglob("*")
        if path.suffix in (".py", ".toml", ".md", ".json") and "tasktrail" in path.read_text(errors="replace").lower()
    ]
    assert mentions == []


async def test_tasktrail_comes_in_through_tasklink_manifest_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKLINK_MANIFEST_DIRS", os.pathsep.join(str(d) for d in MANIFEST_DIRS))
    settings = TaskLinkSettings(data_dir=tmp_path, sandbox=True)
    assert settings.manifest_dirs == MANIFEST_DIRS
    async with Client(build_server(settings)) as client:
        listed = (await client.call_tool("list_vendors", {})).structured_content
        assert listed is not None
        info = next(v for v in listed["vendors"] if v["name"] == "tasktrail")
        assert (info["title"], info["mode"]) == ("TaskTrail", "sandbox")
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "tasktrail" in tools["create_task"].input_schema["properties"]["vendor"]["enum"]


# -- TaskTrail's own contract ----------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    """The simulator straight over ASGI, with the demo token."""

    app = create_app(tmp_path / "tasktrail.sqlite3")
    transport = httpx2.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(transport=transport, base_url="https://api.tasktrail.example", headers=headers) as c:
        yield c
    app.state.sandbox.store.close()


async def test_every_request_needs_the_bearer_token(api: httpx2.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = await api.get("/v1/tasks", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["error"]["code"] == "unauthorized"
    assert (await api.get("/v1/tasks")).status_code == 200


async def test_create_get_and_list_as_documented(api: httpx2.AsyncClient) -> None:
    created = await api.post("/v1/tasks", json={"title": "Hang the banners", "due": "2031-02-02", "assignee": "u_ben"})
    assert created.status_code == 201
    record = created.json()
    assert {k: record[k] for k in ("title", "due", "assignee", "status")} == {
        "title": "Hang the banners",
        "due": "2031-02-02",
        "assignee": "u_ben",
        "status": "open",
    }
    assert (await api.get(f"/v1/tasks/{record['id']}")).json() == record
    assert (await api.get("/v1/tasks/tt_9999")).status_code == 404

    first = (await api.get("/v1/tasks", params={"per_page": 4})).json()
    assert first["items"][0] == record and first["next_page"] == 2  # newest first
    last = (await api.get("/v1/tasks", params={"per_page": 4, "page": 2})).json()
    assert len(last["items"]) == 2 and last["next_page"] is None
    found = (await api.get("/v1/tasks", params={"q": "BANNERS"})).json()
    assert [t["id"] for t in found["items"]] == [record["id"]]


async def test_what_tasktrail_refuses(api: httpx2.AsyncClient) -> None:
    refusals = {
        "unknown key": ({"title": "x", "priority": "high"}, 422, "priority"),
        "no title": ({"description": "x"}, 422, "title"),
        "bad due": ({"title": "x", "due": "2031-02-30"}, 422, "due"),
        "inactive assignee": ({"title": "x", "assignee": "u_cy"}, 422, "assignee"),
    }
    for body, status, field in refusals.values():
        answer = await api.post("/v1/tasks", json=body)
        assert (answer.status_code, answer.json()["error"].get("field")) == (status, field)
    assert (await api.post("/v1/tasks", content=b"{", headers={"content-type": "application/json"})).status_code == 400
    assert (await api.get("/v1/tasks", params={"per_page": 51})).json()["error"]["field"] == "per_page"
    for method in ("PATCH", "PUT", "DELETE"):
        assert (await api.request(method, "/v1/tasks/tt_1001")).status_code == 405


# -- TaskTrail live, through its settings --------------------------------------------------------------


async def test_tasktrail_live_over_loopback_through_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TASKTRAIL_TOKEN and TASKTRAIL_BASE_URL make it a live vendor; tasklink cannot tell it is a simulator."""

    app = create_app(tmp_path / "served.sqlite3")
    with ThreadedUvicorn(app, free_port()) as served:
        monkeypatch.setenv("TASKTRAIL_TOKEN", TOKEN)
        monkeypatch.setenv("TASKTRAIL_BASE_URL", served.base)
        settings = TaskLinkSettings(data_dir=tmp_path / "data", manifest_dirs=MANIFEST_DIRS, vendors=["tasktrail"])
        async with Client(build_server(settings)) as client:
            listed = (await client.call_tool("list_vendors", {})).structured_content
            assert listed is not None and [(v["name"], v["mode"]) for v in listed["vendors"]] == [("tasktrail", "live")]
            created = await client.call_tool(
                "create_task", {"vendor": "tasktrail", "title": "Collect the name tags", "assignees": ["u_ana"]}
            )
            assert not created.is_error, text_of(created)
            assert created.structured_content is not None
            task_id = created.structured_content["id"]
            fetched = await client.call_tool("get_task", {"vendor": "tasktrail", "task_id": task_id})
            assert fetched.structured_content is not None
            assert (fetched.structured_content["title"], fetched.structured_content["assignees"]) == (
                "Collect the name tags",
                ["u_ana"],
            )
        assert [(r.method, r.path, r.status) for r in app.state.sandbox.requests if r.method == "POST"] == [
            ("POST", "/v1/tasks", 201)
        ]

        monkeypatch.setenv("TASKTRAIL_TOKEN", "not-the-token")
        async with Client(build_server(settings)) as client:
            refused = await client.call_tool("get_task", {"vendor": "tasktrail", "task_id": task_id})
            assert refused.is_error
            assert "rejected the credentials (HTTP 401)" in text_of(refused)
            assert "not-the-token" not in text_of(refused)
    app.state.sandbox.store.close()
