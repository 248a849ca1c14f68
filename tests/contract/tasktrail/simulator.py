"""TaskTrail simulator: a small REST task API with bearer-token auth.

Contract (the whole API):

- Every request carries `Authorization: Bearer <token>`; anything else answers 401 with
  `WWW-Authenticate: Bearer`.
- `POST /v1/tasks` takes a JSON object `{title, description?, due?, assignee?}` (`due` is
  `YYYY-MM-DD`, `assignee` an active user id such as `u_ana`) and answers 201 with the record.
  Unknown keys and invalid values answer 422; a body that is not JSON answers 400.
- `GET /v1/tasks/{id}` answers the record, or 404 for an unknown id.
- `GET /v1/tasks?page=&per_page=&q=` lists tasks newest first. `page` starts at 1, `per_page`
  is 1-50 (default 20), `q` keeps the tasks whose title contains it (case-insensitive). The
  answer is an object `{"items": [record, ...], "next_page": <int> | null}`; `next_page` is null
  on the last page. Bad parameters answer 400.
- There is no update, delete, people or intake route, and no idempotency key.

A record is `{id, title, description, due, assignee, status, created_at}`: ids look like
`tt_1001`, `status` is `open` or `done`, `created_at` is RFC 3339 UTC. Every error body is
`{"error": {"code", "message", "field"?}}`, where `field` names the offending body key or query
parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tasklink.sandbox._core import Json, SandboxStore, read_json, sandbox_app

TOKEN = "tt_sandbox_token_0001"  # the simulator's published test credential
PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 50
TITLE_MAX = 200
CREATE_KEYS = ("title", "description", "due", "assignee")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

USERS: list[Json] = [
    {"id": "u_ana", "name": "Ana Lima", "active": True},
    {"id": "u_ben", "name": "Ben Okoro", "active": True},
    {"id": "u_cy", "name": "Cy Laurent", "active": False},
]


def _seed_task(n: int, title: str, *, status: str = "open", due: str | None = None,
               assignee: str | None = None, description: str | None = None) -> Json:  # fmt: skip
    return {
        "id": f"tt_{n}",
        "title": title,
        "description": description,
        "due": due,
        "assignee": assignee,
        "status": status,
        "created_at": f"2026-01-{n - 1000:02d}T09:00:00Z",
    }


SEED_TASKS: list[Json] = [
    _seed_task(1001, "Book the venue", due="2031-02-01", assignee="u_ana"),
    _seed_task(1002, "Send the invitations", due="2031-02-10", assignee="u_ben"),
    _seed_task(1003, "Order the catering", status="done"),
    _seed_task(1004, "Print the badges", description="Two hundred, with lanyards."),
    _seed_task(1005, "Arrange the speakers' travel", assignee="u_ana"),
]


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {"token": TOKEN}


def contract_examples() -> dict[str, dict[str, Any]]:
    """Arguments per operation (its tool's name) that are valid against the seed data; the contract suite
    every vendor runs reads them."""

    return {
        "create_task": {
            "title": "Confirm the room layout",
            "description": "Theatre style, 120 seats.",
            "due": "2031-03-01",
        },
        "get_task": {"task_id": "tt_1001"},
        "list_tasks": {"limit": 2},
    }


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    error: Json = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    headers = {"WWW-Authenticate": 'Bearer realm="TaskTrail"'} if status == 401 else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _seed(store: SandboxStore) -> None:
    for task in SEED_TASKS:
        store.put("task", task["id"], task)
    store.next_id("task", start=1000 + len(SEED_TASKS))


class TaskTrailSandbox:
    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        store.seed_once(_seed)

    @staticmethod
    def authenticate(request: Request) -> Response | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "unauthorized", "Send the API token as `Authorization: Bearer <token>`.")
        if token.strip() != TOKEN:
            return _error(401, "unauthorized", "The API token is not valid.")
        return None

    async def tasks(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        if request.method == "POST":
            return await self._create(request)
        return self._list(request)

    async def task(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        task = self.store.get("task", request.path_params["task_id"])
        if task is None:
            return _error(404, "not_found", "No task has this id.")
        return JSONResponse(task)

    def _list(self, request: Request) -> Response:
        query = request.query_params
        numbers: dict[str, int] = {}
        for name, default, high in (("page", 1, 10**6), ("per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)):
            raw = query.get(name, str(default))
            if not raw.isdigit() or not 1 <= int(raw) <= high:
                return _error(400, "invalid_parameter", f"{name} must be a whole number from 1 to {high}.", name)
            numbers[name] = int(raw)
        needle = query.get("q", "").strip().lower()
        found = [t for t in reversed(self.store.all("task")) if needle in t["title"].lower()]
        page, per_page = numbers["page"], numbers["per_page"]
        start = (page - 1) * per_page
        more = len(found) > start + per_page
        return JSONResponse({"items": found[start : start + per_page], "next_page": page + 1 if more else None})

    async def _create(self, request: Request) -> Response:
        body, bad = await read_json(request)
        if bad is not None or not isinstance(body, dict):
            return _error(400, "bad_request", "The body must be a JSON object.")
        problem = _check(body)
        if problem is not None:
            return problem
        with self.store.transaction():
            n = self.store.next_id("task")
            task: Json = {
                "id": f"tt_{n}",
                "title": body["title"].strip(),
                "description": body.get("description"),
                "due": body.get("due"),
                "assignee": body.get("assignee"),
                "status": "open",
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.store.put("task", task["id"], task)
        return JSONResponse(task, status_code=201)


def _check(body: Json) -> Response | None:
    unknown = sorted(set(body) - set(CREATE_KEYS))
    if unknown:
        return _error(422, "unknown_field", f"Unknown field {unknown[0]!r}.", unknown[0])
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        return _error(422, "invalid", "title is required.", "title")
    if len(title) > TITLE_MAX:
        return _error(422, "invalid", f"title is longer than {TITLE_MAX} characters.", "title")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        return _error(422, "invalid", "description must be text.", "description")
    due = body.get("due")
    if due is not None and not (isinstance(due, str) and DAY.match(due) and _is_date(due)):
        return _error(422, "invalid", "due must be a date (YYYY-MM-DD).", "due")
    assignee = body.get("assignee")
    if assignee is not None and not any(u["id"] == assignee and u["active"] for u in USERS):
        return _error(422, "invalid", f"{assignee!r} is not an active user.", "assignee")
    return None


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def create_app(db_path: Path | str) -> Any:
    sandbox = TaskTrailSandbox(SandboxStore(db_path))
    routes = [
        Route("/v1/tasks", sandbox.tasks, methods=["GET", "POST"]),
        Route("/v1/tasks/{task_id}", sandbox.task, methods=["GET"]),
    ]
    return sandbox_app("tasktrail", sandbox.store, routes)
