"""The Trackops simulator follows the documented contract over real loopback HTTP, and the adapter
reaches it exactly as it would reach `https://{subdomain}.viewcases.com/api/v1`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.errors import ConfigurationError, InvalidInput, VendorRejected
from tasklink.mcp.server import build_server
from tasklink.models import CreateTaskRequest, parse_due
from tasklink.sandbox.trackops import API_TOKEN, STAFF, USERNAME
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import Vendors
from tasklink.vendors.trackops import TrackopsAdapter, TrackopsSettings

from .conftest import ThreadedUvicorn, sandbox_of, service_of
from .support import FULL_TASK, call_ok, text_of

TASKS = "/trackops/api/v1/tasks"
AUTH = (f"{USERNAME}/token", API_TOKEN)
VALID = {"casefile_id": 245, "calendar_id": 1, "due_on": "2031-01-10", "title": "Serve subpoena"}


@pytest.fixture
def http(loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]) -> httpx2.Client:
    srv, _ = loopback_sandbox
    return httpx2.Client(base_url=srv.base, auth=httpx2.BasicAuth(*AUTH), follow_redirects=False, timeout=10)


def ids(response: httpx2.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)  # a bare JSON array, no envelope
    return [row["id"] for row in body]


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "status", "message"),
    [
        (None, 401, "Authentication required"),
        ((USERNAME, API_TOKEN), 401, "'{username}/token'"),
        ((f"{USERNAME}/token", "wrong-token"), 401, "Invalid username or API token"),
        (("nobody/token", API_TOKEN), 401, "Invalid username or API token"),
        (("lee.contractor/token", STAFF[3]["api_token"]), 403, "Full Access"),
        (("sam.former/token", STAFF[4]["api_token"]), 403, "Full Access"),
    ],
)
def test_basic_auth_as_username_slash_token_for_full_access_staff(
    loopback_sandbox: tuple[ThreadedUvicorn, Any], auth: tuple[str, str] | None, status: int, message: str
) -> None:
    response = httpx2.get(loopback_sandbox[0].base + TASKS, auth=httpx2.BasicAuth(*auth) if auth else None, timeout=10)
    assert response.status_code == status
    assert message in response.json()["message"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


# -- list ------------------------------------------------------------------------------------


def test_paging_is_page_and_per_page_and_a_short_page_is_the_last(http: httpx2.Client) -> None:
    assert ids(http.get(TASKS, params={"per_page": 4})) == [1001, 1002, 1003, 1004]
    assert ids(http.get(TASKS, params={"per_page": 4, "page": 2})) == [1005, 1006]
    assert ids(http.get(TASKS, params={"per_page": 4, "page": 3})) == []
    assert ids(http.get(TASKS, params={"dir": "desc", "per_page": 2})) == [1006, 1005]
    assert http.get(TASKS, params={"mode": "count", "per_page": 4}).json() == {"record_count": 6, "page_count": 2}
    bad = http.get(TASKS, params={"per_page": 0, "page": "x"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"page", "per_page"}


def test_due_aliases_match_the_canonical_names(http: httpx2.Client) -> None:
    canonical = ids(http.get(TASKS, params={"due_from": "2024-04-10", "due_to": "2024-05-02"}))
    assert canonical == [1001, 1003, 1006]
    assert ids(http.get(TASKS, params={"From": "2024-04-10", "To": "2024-05-02"})) == canonical
    # the canonical name wins when both are sent
    assert ids(http.get(TASKS, params={"due_from": "2024-04-10", "From": "2000-01-01", "due_to": "2024-05-02"})) == (
        canonical
    )
    assert http.get(TASKS, params={"To": "May 2"}).json() == {
        "message": "Invalid request parameters",
        "errors": {"To": ["must be a date (YYYY-MM-DD)"]},
    }


def test_timestamp_ranges_are_utc(http: httpx2.Client) -> None:
    # task 1003 was created 2024-03-10 08:30:00 UTC
    assert 1003 in ids(http.get(TASKS, params={"created_from": "2024-03-10 08:30:00", "created_to": "2024-03-10"}))
    assert ids(http.get(TASKS, params={"created_from": "2024-03-10T09:30:00+01:00", "created_to": "2024-03-10"})) == [
        1003
    ]
    assert ids(http.get(TASKS, params={"created_from": "2024-03-10T09:31:00+01:00", "created_to": "2024-03-10"})) == []
    # a bare date as `_to` includes that whole UTC day
    assert ids(http.get(TASKS, params={"updated_from": "2024-03-19", "updated_to": "2024-03-19"})) == [1002]
    assert ids(http.get(TASKS, params={"complete_to": "2030-01-01"})) == [1002]
    assert ids(http.get(TASKS, params={"alert_sent_from": "2024-01-01"})) == [1001]
    assert http.get(TASKS, params={"alert_from": "soon"}).status_code == 400


def test_id_and_relationship_filters(http: httpx2.Client) -> None:
    assert ids(http.get(TASKS, params={"id": 1004})) == [1004]
    assert ids(http.get(TASKS, params={"case": 246})) == [1003, 1004]
    assert ids(http.get(TASKS, params={"calendar": 2})) == [1003, 1004, 1005]
    assert ids(http.get(TASKS, params={"subject": 211})) == [1003]
    assert ids(http.get(TASKS, params={"user": 4})) == [1006]
    assert ids(http.get(TASKS, params={"status": "none"})) == [1004, 1005]
    assert ids(http.get(TASKS, params={"title": "REPORT"})) == [1004]
    assert http.get(TASKS, params={"status": "done"}).json()["errors"] == {
        "status": ["must be one of none, needs_action, in_progress, complete"]
    }


def test_records_nest_related_models_cakephp_style(http: httpx2.Client) -> None:
    record = http.get(f"{TASKS}/1001").json()
    assert record["casefile_id"] == 245 and record["Casefile"]["case_number"] == "2024-0245"
    assert record["Subject"] == {"id": 209, "casefile_id": 245, "first_name": "Marcus", "last_name": "Hale"}
    assert [u["id"] for u in record["User"]] == [1, 2]
    assert record["alert_at"] == "2024-04-09 13:00:00"
    assert http.get(f"{TASKS}/4242").status_code == 404
    assert http.get(f"{TASKS}/4242").json() == {"message": "Task not found"}


# -- create ----------------------------------------------------------------------------------


def test_create_needs_the_task_envelope(http: httpx2.Client) -> None:
    response = http.post(TASKS, json=VALID)
    assert response.status_code == 400
    assert "nested under" in response.json()["message"]
    created = http.post(TASKS, json={"task": {**VALID, "address": {"zip": 80202, "state": "CO"}}})
    assert created.status_code == 201
    assert created.json()["status"] == "none"
    assert created.json()["address"]["zip"] == "80202"


def test_create_validation_bodies(http: httpx2.Client) -> None:
    before = len(ids(http.get(TASKS, params={"per_page": 100})))
    empty = http.post(TASKS, json={"task": {}})
    assert empty.status_code == 422
    assert set(empty.json()["errors"]) == {"casefile_id", "calendar_id", "due_on", "title"}
    cases = [
        ({"subject_id": 211}, {"subject_id": ["Subject 211 is not connected to case 245"]}),
        ({"subject_id": 999}, {"subject_id": ["Subject 999 does not exist"]}),
        ({"address": {"state": "COLO"}}, {"address": {"state": ["must be a 2 or 3 character state or province code"]}}),
        ({"address": {"country": "USA"}}, {"address": {"country": ["must be a 2-character country code"]}}),
        ({"users_list": [5]}, {"users_list": ["5 is not the ID of an active staff member"]}),
        ({"due_on": "2031-01-10T10:00:00Z"}, {"due_on": ["must be a date (YYYY-MM-DD)"]}),
        ({"casefile_id": 9}, {"casefile_id": ["Case 9 does not exist"]}),
    ]
    for extra, errors in cases:
        response = http.post(TASKS, json={"task": {**VALID, **extra}})
        assert response.status_code == 422, extra
        assert response.json()["errors"] == errors
    assert len(ids(http.get(TASKS, params={"per_page": 100}))) == before


def test_trackops_casefile_required_contradiction(http: httpx2.Client) -> None:
    """The page intro says tasks need not be connected to a case; the create section marks
    `casefile_id` required. Reads keep the case optional (seeded task 1005 has none); creates
    follow the create contract: the simulator answers 422 and the adapter refuses before sending."""

    unattached = http.get(f"{TASKS}/1005").json()
    assert unattached["casefile_id"] is None and unattached["Casefile"] is None
    missing = http.post(TASKS, json={"task": {k: v for k, v in VALID.items() if k != "casefile_id"}})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"casefile_id": ["This field is required"]}


@pytest.mark.anyio
async def test_trackops_casefile_required_contradiction_through_the_tools(client: Client, server: MCPServer) -> None:
    unattached = await call_ok(client, "get_task", {"vendor": "trackops", "task_id": "1005"})
    assert "case_id" not in unattached["links"] and unattached["vendor_fields"]["casefile_id"] is None
    result = await client.call_tool(
        "create_task",
        {"vendor": "trackops", "title": "No case", "due": "2031-01-01", "vendor_fields": {"calendar_id": 1}},
    )
    assert result.is_error and "`vendor_fields.casefile_id`" in text_of(result)
    assert (await sandbox_of(server, "trackops")).requests_matching("POST") == []


# -- the adapter maps the simulator's own 4xx bodies (validation bypassed) ---------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        ({"subject_id": 211}, "vendor_fields.subject_id"),
        ({"address": {"state": "Colorado"}}, "vendor_fields.address.state"),
        ({"address": {"country": "USA"}}, "vendor_fields.address.country"),
        ({"users_list": [99]}, "assignees"),
        ({"due_on": "soon"}, "due"),
    ],
)
async def test_vendor_validation_bodies_become_field_errors(
    server: MCPServer, tamper: dict[str, Any], field: str
) -> None:
    adapter = await service_of(server).vendors.adapter("trackops")
    assert isinstance(adapter, TrackopsAdapter)
    req = CreateTaskRequest(
        vendor="trackops",
        title="Tampered",
        due=parse_due("2031-02-02", tz="UTC"),
        vendor_fields={"casefile_id": 245, "calendar_id": 1},
    )
    request = adapter.build_create_task(req)
    request.json["task"].update(tamper)
    sandbox = await sandbox_of(server, "trackops")
    before = sandbox.store.count("task")
    with pytest.raises(VendorRejected) as caught:
        await adapter.http.send_json(request, ok=(201,))
    assert caught.value.status == 422
    assert caught.value.field == field
    assert f"`{field}`" in str(caught.value)
    assert sandbox.store.count("task") == before


# -- live mode over loopback, and settings ----------------------------------------------------


@pytest.mark.anyio
async def test_adapter_over_loopback_http_in_live_mode(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    srv, env = loopback_sandbox
    trackops_env = {k: v for k, v in env.items() if k.startswith("TRACKOPS_")}
    assert trackops_env["TRACKOPS_BASE_URL"] == f"{srv.base}/trackops/api/v1"
    for key, value in trackops_env.items():
        monkeypatch.setenv(key, value)
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "client"))
    assert server.service.vendors.runtimes["trackops"].mode == "live"
    async with Client(server) as client:
        created = await call_ok(client, "create_task", FULL_TASK)
        fetched = await call_ok(client, "get_task", {"vendor": "trackops", "task_id": created["id"]})
        assert fetched["vendor_fields"]["address"]["city"] == "Denver"
        page = await call_ok(client, "list_tasks", {"vendor": "trackops", "vendor_filters": {"subject": 210}})
        assert [t["id"] for t in page["tasks"]] == [created["id"]]
    log = httpx2.get(f"{srv.base}/trackops/_sandbox/requests", timeout=10).json()
    # a create may first list by title to look for duplicates; this test's own calls are these
    assert [(r["method"], r["path"]) for r in log if "title=" not in r["query"]] == [
        ("POST", "/api/v1/tasks"),
        ("GET", f"/api/v1/tasks/{created['id']}"),
        ("GET", "/api/v1/tasks"),
    ]
    expected = "Basic " + base64.b64encode(f"{USERNAME}/token:{API_TOKEN}".encode()).decode()
    assert {r["headers"]["authorization"] for r in log} == {expected}
    assert all(r["headers"]["accept"] == "application/json" for r in log)


@pytest.mark.anyio
async def test_wrong_token_is_an_operator_error_without_the_secret(
    loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, env = loopback_sandbox
    monkeypatch.setenv("TRACKOPS_BASE_URL", env["TRACKOPS_BASE_URL"])
    monkeypatch.setenv("TRACKOPS_USERNAME", USERNAME)
    monkeypatch.setenv("TRACKOPS_API_TOKEN", "not-the-token-1234")
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "client"))
    async with Client(server) as client:
        result = await client.call_tool("list_tasks", {"vendor": "trackops"})
    assert result.is_error
    text = text_of(result)
    assert "HTTP 401" in text and "credentials" in text
    assert "not-the-token-1234" not in text and API_TOKEN not in text


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKOPS_SUBDOMAIN", "acme-pi")
    monkeypatch.setenv("TRACKOPS_USERNAME", "dana")
    monkeypatch.setenv("TRACKOPS_API_TOKEN", "tok-123456")
    settings = TrackopsSettings()
    assert settings.api_base_url() == "https://acme-pi.viewcases.com/api/v1"
    assert settings.login() == "dana/token"
    assert TrackopsSettings(username="dana/token").login() == "dana/token"
    assert settings.secret_values() == ["tok-123456"]
    assert "tok-123456" not in repr(settings)
    assert settings.validate_live() == []
    monkeypatch.setenv("TRACKOPS_BASE_URL", "https://proxy.example/trackops/api/v1/")
    assert TrackopsSettings().api_base_url() == "https://proxy.example/trackops/api/v1"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (TrackopsSettings(), "TRACKOPS_SUBDOMAIN"),
        (TrackopsSettings(subdomain="acme.pi"), "host name label"),
        (TrackopsSettings(base_url="http://acme.viewcases.com/api/v1"), "SSL-only"),
    ],
)
def test_live_settings_problems(settings: TrackopsSettings, problem: str) -> None:
    assert any(problem in p for p in settings.validate_live())


def test_partial_credentials_fail_start_up_naming_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACKOPS_USERNAME", "dana")
    monkeypatch.setenv("TRACKOPS_SUBDOMAIN", "acme")
    with pytest.raises(ConfigurationError) as caught:
        Vendors.configure(TaskLinkSettings(data_dir=tmp_path, vendors=["trackops"]))
    assert "TRACKOPS_API_TOKEN" in str(caught.value)


@pytest.mark.anyio
async def test_cursor_from_another_vendor_is_refused(server: MCPServer) -> None:
    from tasklink.models import ListTasksRequest

    adapter = await service_of(server).vendors.adapter("trackops")
    lightfield = await service_of(server).vendors.adapter("lightfield")
    foreign = lightfield.cursors.encode({"offset": 2})  # signed by this server, but for another vendor
    with pytest.raises(InvalidInput) as caught:
        await adapter.list_tasks(ListTasksRequest(vendor="trackops", cursor=foreign))
    assert caught.value.field == "cursor"
    assert "lightfield" in caught.value.message
