"""The simulators tell people apart, so acting as oneself can be tested offline: SpotDraft shows an intake only
to its creator, the people on it and workspace admins (`user-email` picks the acting member); Lightfield and
Trackops record the member or staff user whose own key or token made a write. Driven over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client

from tasklink.mcp.server import build_server
from tasklink.sandbox import lightfield, spotdraft, trackops
from tasklink.sandbox.demo import DEMO_SETTINGS
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn
from .support import call_ok

Loopback = tuple[ThreadedUvicorn, dict[str, str]]

INTAKES = "/spotdraft/api/v1/public/legal_intake/"
USER_TASKS = "/spotdraft/api/v2.1/public/user_tasks/"
LF_TASKS = "/lightfield/v1/tasks"
TO_TASKS = "/trackops/api/v1/tasks"


def identity(identities: list[dict[str, Any]], first_name: str, **match: Any) -> dict[str, Any]:
    (found,) = [
        i for i in identities if i["name"].split()[0] == first_name and all(i[k] == v for k, v in match.items())
    ]
    return found


SD = spotdraft.demo_identities()
ELENA = identity(SD, "Elena")  # linked to the credentials; a workspace admin
SONIA = identity(SD, "Sonia")
PRIYA_RAMAN = identity(SD, "Priya", email="priya.raman@acme-legal.example")
PRIYA_SHAH = identity(SD, "Priya", email="priya.shah@acme-legal.example")
SAMUEL = identity(SD, "Samuel")  # inactive


@pytest.fixture
def http(loopback_sandbox: Loopback) -> httpx2.Client:
    return httpx2.Client(base_url=loopback_sandbox[0].base, follow_redirects=False, timeout=10)


def sd_headers(person: dict[str, Any] | None = None) -> dict[str, str]:
    headers = {"client-id": spotdraft.CLIENT_ID, "client-secret": spotdraft.CLIENT_SECRET}
    if person is not None:
        headers["user-email"] = person["email"]
    return headers


def listed(http: httpx2.Client, person: dict[str, Any] | None) -> list[int]:
    answer = http.get(INTAKES, params={"limit": 100}, headers=sd_headers(person))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total_count"] == len(body["intakes"])
    return sorted(i["id"] for i in body["intakes"])


def new_intake(http: httpx2.Client, person: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    answer = http.post(INTAKES, json={"title": "Vendor NDA", "workflow_id": 7, **fields}, headers=sd_headers(person))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def row(person: dict[str, Any], assignee_type: str = "ASSIGNED_TO") -> dict[str, str]:
    return {"entity_id": str(person["id"]), "entity_type": "ORG_USER", "assignee_type": assignee_type}


# -- the demo identities ---------------------------------------------------------------------


def test_demo_identities_act_through_the_shipped_demo_credentials() -> None:
    assert [i["id"] for i in SD if i["default"]] == [spotdraft.CREDENTIAL_USER_ID] == [ELENA["id"]]
    assert ELENA["admin"] and not any(p["admin"] for p in (SONIA, PRIYA_RAMAN, PRIYA_SHAH))
    for person in SD:
        assert person["settings"] == {**DEMO_SETTINGS["tasklink.sandbox.spotdraft"], "user_email": person["email"]}

    lf = lightfield.demo_identities()
    assert len(lf) >= 3 and len({i["settings"]["api_key"] for i in lf}) == len(lf)
    (default,) = [i for i in lf if i["default"]]
    assert default["settings"] == DEMO_SETTINGS["tasklink.sandbox.lightfield"]
    assert default["id"] == lightfield.KEY_OWNER
    assert {identity(lf, "Dana")["id"], identity(lf, "Priya")["id"]} == {"mem_dana003", "mem_priya02"}

    to = trackops.demo_identities()
    assert len({i["settings"]["api_token"] for i in to}) == len(to)
    (default,) = [i for i in to if i["default"]]
    assert default["settings"] == DEMO_SETTINGS["tasklink.sandbox.trackops"]
    assert sum(i["can_use_api"] for i in to) >= 3


# -- SpotDraft: visibility per acting user ---------------------------------------------------


def test_spotdraft_records_the_acting_user_as_creator(http: httpx2.Client) -> None:
    mine = new_intake(http, SONIA)
    assert mine["created_by"] == {
        "id": SONIA["id"],
        "name": SONIA["name"],
        "email": SONIA["email"],
        "designation": "Lawyer",
    }
    assert new_intake(http, None)["created_by"]["id"] == ELENA["id"]  # no user-email: the credentials' user
    assert new_intake(http, ELENA)["created_by"]["id"] == ELENA["id"]
    task = http.post(
        USER_TASKS,
        json={
            "title": "Check the cap",
            "assignees": [],
            "task_category": "INTAKE_TASK",
            "task_associations": [{"entity_id": mine["id"], "entity_type": "LEGAL_INTAKE"}],
        },
        headers=sd_headers(SONIA),
    )
    assert task.status_code == 201, task.text
    assert task.json()["created_by_org_user"]["id"] == SONIA["id"]


def test_spotdraft_hides_an_intake_from_a_member_not_on_it(http: httpx2.Client) -> None:
    theirs = new_intake(http, SONIA)
    url = f"{INTAKES}{theirs['id']}/"
    outsider = sd_headers(PRIYA_SHAH)

    for method, body in (
        ("GET", None),
        ("PATCH", {"status": "IN_PROGRESS"}),
        ("PATCH", {"assignees": [row(PRIYA_SHAH)]}),  # adding oneself is a participant change too
        ("DELETE", None),
    ):
        answer = http.request(method, url, json=body, headers=outsider)
        assert answer.status_code == 403, (method, body, answer.text)
        assert answer.json() == spotdraft.FORBIDDEN  # the same answer as an unknown id: ids reveal nothing
    assert http.get(f"{INTAKES}4242/", headers=outsider).json() == spotdraft.FORBIDDEN

    assert theirs["id"] not in listed(http, PRIYA_SHAH)
    assert http.get(INTAKES, params={"query": "Vendor"}, headers=outsider).json()["total_count"] == 0
    # nothing changed: the creator and the admin default still see it as it was
    assert http.get(url, headers=sd_headers(SONIA)).json()["status"] == "PENDING"
    assert http.get(url, headers=sd_headers()).json()["assignees"] == []

    task = http.post(
        USER_TASKS,
        json={
            "title": "Sneak in",
            "assignees": [],
            "task_category": "INTAKE_TASK",
            "task_associations": [{"entity_id": theirs["id"], "entity_type": "LEGAL_INTAKE"}],
        },
        headers=outsider,
    )
    assert task.status_code == 403
    error = task.json()
    assert set(error) == {"detail", "status_code", "code", "message"} and error["status_code"] == 403
    assert str(theirs["id"]) in error["detail"]
    assert http.get(url, headers=sd_headers()).json()["tasks"] == []


def test_spotdraft_admin_default_sees_every_intake(http: httpx2.Client) -> None:
    ids = [new_intake(http, person)["id"] for person in (SONIA, PRIYA_RAMAN, PRIYA_SHAH)]
    assert listed(http, None) == ids
    assert listed(http, ELENA) == ids
    for intake_id in ids:
        assert http.get(f"{INTAKES}{intake_id}/", headers=sd_headers()).status_code == 200
    assert listed(http, SONIA) == ids[:1]
    assert listed(http, PRIYA_SHAH) == ids[2:]
    # the admin may change and delete any of them
    assert http.patch(f"{INTAKES}{ids[0]}/", json={"priority": "HIGH"}, headers=sd_headers()).status_code == 200
    assert http.delete(f"{INTAKES}{ids[1]}/", headers=sd_headers()).status_code == 204
    assert listed(http, PRIYA_RAMAN) == []


def test_spotdraft_assignees_and_collaborators_see_the_intake(http: httpx2.Client) -> None:
    shared = new_intake(
        http, SONIA, assignees=[row(PRIYA_RAMAN), row(PRIYA_SHAH, "COLLABORATOR")], title="Shared review"
    )
    url = f"{INTAKES}{shared['id']}/"
    for person in (PRIYA_RAMAN, PRIYA_SHAH):
        assert http.get(url, headers=sd_headers(person)).status_code == 200
        assert listed(http, person) == [shared["id"]]
    # a collaborator may change it (here: leave only the assignee on it) ...
    changed = http.patch(url, json={"assignees": [row(PRIYA_RAMAN)]}, headers=sd_headers(PRIYA_SHAH))
    assert changed.status_code == 200, changed.text
    # ... and then no longer sees it; the assignee and the creator still do
    assert http.get(url, headers=sd_headers(PRIYA_SHAH)).status_code == 403
    assert listed(http, PRIYA_SHAH) == []
    assert http.get(url, headers=sd_headers(PRIYA_RAMAN)).status_code == 200
    assert http.get(url, headers=sd_headers(SONIA)).status_code == 200
    # the creator stays able to see it even when no longer on it
    assert http.patch(url, json={"assignees": []}, headers=sd_headers(SONIA)).status_code == 200
    assert http.get(url, headers=sd_headers(PRIYA_RAMAN)).status_code == 403
    assert http.get(url, headers=sd_headers(SONIA)).status_code == 200


def test_spotdraft_team_rows_show_the_intake_to_team_members(http: httpx2.Client, loopback_sandbox: Loopback) -> None:
    (mounted,) = [r for r in loopback_sandbox[0].server.config.app.routes if getattr(r, "path", "") == "/spotdraft"]
    store = mounted.app.state.sandbox.store
    created = new_intake(http, SONIA, title="Team")
    spotdraft.put_role_row(store, created["id"], 456)  # the Legal team, as the SpotDraft app sets it
    url = f"{INTAKES}{created['id']}/"
    assert http.get(url, headers=sd_headers(PRIYA_RAMAN)).status_code == 200  # in the Legal team
    assert http.get(url, headers=sd_headers(PRIYA_SHAH)).status_code == 403  # in no team
    assert listed(http, PRIYA_RAMAN) == [created["id"]]


def test_spotdraft_inactive_or_unknown_user_email_is_refused(http: httpx2.Client) -> None:
    for email in (SAMUEL["email"], "nobody@acme-legal.example"):
        answer = http.get(INTAKES, headers={**sd_headers(), "user-email": email})
        assert answer.status_code == 403
        assert "detail" in answer.json()


@pytest.mark.anyio
async def test_tasklink_acting_as_a_member_through_user_email(
    loopback_sandbox: Loopback, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The identity's settings, given to tasklink, make SpotDraft see that member: what Sonia creates, Priya
    Shah cannot read."""

    srv, env = loopback_sandbox
    for key, value in env.items():
        if key.startswith("SPOTDRAFT_"):
            monkeypatch.setenv(key, value)

    async def as_person(person: dict[str, Any], name: str) -> Client:
        monkeypatch.setenv("SPOTDRAFT_USER_EMAIL", person["settings"]["user_email"])
        return Client(build_server(TaskLinkSettings(data_dir=tmp_path / name)))

    async with await as_person(SONIA, "sonia") as client:
        created = await call_ok(client, "create_intake", {"title": "Sonia's request"})
    assert created["created_by"] == {"id": str(SONIA["id"]), "name": SONIA["name"]}
    async with await as_person(PRIYA_SHAH, "priya") as client:
        refused = await client.call_tool("get_intake", {"intake_id": created["id"]})
        assert refused.is_error
        assert (await call_ok(client, "list_intakes", {}))["intakes"] == []
    log = httpx2.get(f"{srv.base}/spotdraft/_sandbox/requests", timeout=10).json()
    assert {r["headers"].get("user-email") for r in log} == {SONIA["email"], PRIYA_SHAH["email"]}


# -- Lightfield: the key's member writes -----------------------------------------------------


def lf_headers(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['settings']['api_key']}", "Lightfield-Version": lightfield.API_VERSION}


def test_lightfield_records_the_member_whose_key_wrote(http: httpx2.Client) -> None:
    people = lightfield.demo_identities()
    assert len(people) >= 3
    created: dict[str, str] = {}
    for person in people:
        body = {
            "fields": {"$title": f"Call for {person['name']}", "$status": "TODO"},
            "relationships": {"$assignedTo": lightfield.MEMBERS[0]["id"]},
        }
        answer = http.post(LF_TASKS, json=body, headers=lf_headers(person))
        assert answer.status_code == 200, answer.text
        assert answer.json()["relationships"]["$createdBy"]["values"] == [person["id"]]
        created[person["id"]] = answer.json()["id"]
    # read back with another member's key; an update by someone else keeps the creator
    reader, updater = people[0], people[-1]
    for member_id, task_id in created.items():
        fetched = http.get(f"{LF_TASKS}/{task_id}", headers=lf_headers(reader)).json()
        assert fetched["relationships"]["$createdBy"]["values"] == [member_id]
    first = next(iter(created.items()))
    updated = http.post(f"{LF_TASKS}/{first[1]}", json={"fields": {"$status": "COMPLETE"}}, headers=lf_headers(updater))
    assert updated.status_code == 200
    assert updated.json()["relationships"]["$createdBy"]["values"] == [first[0]]


def test_lightfield_unknown_key_is_401(http: httpx2.Client) -> None:
    headers = {"Authorization": "Bearer sk_lf_sandbox_tasklink_9999", "Lightfield-Version": lightfield.API_VERSION}
    answer = http.get(LF_TASKS, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"type": "unauthorized", "message": "Invalid API key."}


# -- Trackops: the staff user whose credentials wrote ----------------------------------------


def to_auth(person: dict[str, Any], *, token_of: dict[str, Any] | None = None) -> httpx2.BasicAuth:
    token = (token_of or person)["settings"]["api_token"]
    return httpx2.BasicAuth(f"{person['username']}/token", token)


def test_trackops_records_the_staff_user_whose_credentials_wrote(http: httpx2.Client) -> None:
    people = [p for p in trackops.demo_identities() if p["can_use_api"]]
    assert len(people) >= 3
    for person in people:
        body = {"task": {"title": f"Serve for {person['name']}", "due_on": "2031-01-10", "casefile_id": 245,
                         "calendar_id": 1}}  # fmt: skip
        answer = http.post(TO_TASKS, json=body, auth=to_auth(person))
        assert answer.status_code == 201, answer.text
        task = answer.json()
        first, last = person["name"].split()
        assert task["created_by"] == person["id"]
        assert task["CreatedBy"] == {"id": person["id"], "first_name": first, "last_name": last}
        fetched = http.get(f"{TO_TASKS}/{task['id']}", auth=to_auth(people[0])).json()
        assert fetched["created_by"] == person["id"]
    seeded = http.get(f"{TO_TASKS}/1001", auth=to_auth(people[0])).json()
    assert seeded["created_by"] is None and seeded["CreatedBy"] is None


def test_trackops_a_token_works_only_with_its_own_user(http: httpx2.Client) -> None:
    people = trackops.demo_identities()
    dana, omar = identity(people, "Dana"), identity(people, "Omar")
    for who, whose_token in ((omar, dana), (dana, omar)):
        answer = http.get(TO_TASKS, auth=to_auth(who, token_of=whose_token))
        assert answer.status_code == 401
        assert answer.json() == {"message": "Invalid username or API token"}
    for person in people:
        expected = 200 if person["can_use_api"] else 403
        assert http.get(TO_TASKS, auth=to_auth(person)).status_code == expected
