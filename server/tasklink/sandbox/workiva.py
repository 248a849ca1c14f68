"""Workiva simulator: OAuth2 client credentials and platform tasks on both API versions.

Contract: workiva/platform.yaml (2026-01-01: `/oauth2/token`, `/tasks`, `/tasks/{taskId}`,
`/organizations/{organizationId}/users`, `ErrorResponse`) and seed-docs/003 plus NOTES.md for the
2022-01-01 prototype endpoint (`/prototype/platform/tasks`, deprecated 2026-02-12, sunset
2027-01-31). Behaviour worth knowing:

- `X-Version` picks the version; a request without it is routed to 2022-01-01, as documented.
  `/tasks` exists only in 2026-01-01 and `/prototype/platform/tasks` only in 2022-01-01 (until
  its sunset, after which it answers 404).
- Bearer tokens expire (`token_lifetime` seconds, 599 by default as in Workiva's example) and
  are checked on every call; `expire_tokens()` makes every issued token stale at once.
- Errors are `{code, message, target?, details?}` with the documented codes (`400BadRequest`...).
- Lists page with `$maxpagesize` (1-1000) and an opaque `$next`, answered as `@nextLink`.
- PATCH takes JSON Patch with `replace` only, on the documented paths; a set location never
  changes; changing assignees (or location) restarts the task.
- Responses of the 2026-01-01 API carry `dueDate` (its schema); the prototype's carry `dueAt`
  (its only documented response example). Requests are read by the schema: `dueDate`.
- `description` is a string and never null (the Task schema does not make it nullable): a null
  is refused with a 400, and a task without one answers without the field.
- `status` is free text in 2026-01-01 (a string, default `Created`, no enum); the prototype keeps
  the nine statuses the 2022-01-01 reference enumerates for tasks. Null is refused in both.
- A task created as `Completed` answers with `completed: {dateTime, user}`, as the 2026-01-01
  create example and seed-docs/003 show (the Task schema itself has no `completed`).
- Approval responses answer in the schema's shape, `created: {dateTime, user: {id}}`.
- The token endpoint takes a form-urlencoded body only, as its request body is documented.
- `GET /files` (2026-01-01, scope file:read) lists the workspace's files, paged like tasks; the
  documents among them are what task locations name (`Year-end review` is the `File` example, whose
  id the `Task` example's location uses). platform.yaml documents no filterable file property, so
  `$filter` is not applied.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._core import Json, SandboxStore, read_json, sandbox_app

CLIENT_ID = "sandbox-workiva-client"
CLIENT_SECRET = "sandbox-workiva-secret"  # noqa: S105 - the simulator's published test credential
ORGANIZATION_ID = "d6e178fd-4dd5-47e5-9457-68dd64b03655"

GA_VERSION = "2026-01-01"
PROTOTYPE_VERSION = "2022-01-01"
VERSIONS = (PROTOTYPE_VERSION, GA_VERSION)
#: requests without X-Version are routed to this version (Workiva's versioning page)
UNVERSIONED = PROTOTYPE_VERSION
PROTOTYPE_SUNSET = date(2027, 1, 31)
DEFAULT_TOKEN_LIFETIME = 599
ALL_SCOPES = ("task:read", "task:write", "organization:read", "file:read")

#: the task statuses the 2022-01-01 reference enumerates; 2026-01-01 makes `status` free text
PROTOTYPE_STATUSES = (
    "Approved",
    "Awaiting Approval",
    "Cancelled",
    "Completed",
    "Created",
    "Returned",
    "Reworking",
    "Staged",
    "Started",
)
PATCHABLE = ("/approvalSteps", "/assignees", "/description", "/dueDate", "/location", "/owner", "/title")
FILTERS: dict[str, tuple[str, ...]] = {
    "approvalSteps.participants": ("eq", "in"),
    "assignees": ("eq", "in"),
    "created.dateTime": ("eq", "lt", "gt", "le", "ge"),
    "dueDate": ("eq", "lt", "gt", "le", "ge"),
    "modified.dateTime": ("eq", "lt", "gt", "le", "ge"),
    "location.resource": ("eq",),
    "location.segment": ("eq",),
    "status": ("eq",),
    "title": ("contains",),
}
ORDERABLE = ("approvalSteps.participants", "created.dateTime", "dueDate", "modified.dateTime", "status", "title")

MESSAGES = {
    400: ("400BadRequest", "The request was unacceptable, often due to a missing or invalid parameter"),
    401: ("401Unauthorized", "No valid API token provided"),
    403: ("403Forbidden", "The API token does not have permissions to perform the request"),
    404: ("404NotFound", "The requested resource could not be found"),
    409: ("409Conflict", "The request conflicts with another request"),
    429: ("429TooManyRequests", "Too many requests have been made against the API in too short a time"),
    500: (
        "500InternalServerError",
        "The server encountered an unexpected condition that prevented it from fulfilling the request",
    ),
    503: (
        "503ServiceUnavailable",
        "The server cannot handle the request due to a temporary overload or scheduled maintenance",
    ),
}

USERS: list[Json] = [
    {"id": "V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD", "givenName": "Jane", "familyName": "Smith",
     "email": "jane.smith@example.com", "status": "active"},
    {"id": "V3ZVc2VyFzV3NiQ5NDA2NjIzNxk2njH", "givenName": "John", "familyName": "Doe",
     "email": "john.doe@example.com", "status": "active"},
    {"id": "V0ZVc2VyHzU1MDg3OTc0MDE4MDg4OTY", "givenName": "Priya", "familyName": "Raman",
     "email": "priya.raman@example.com", "status": "active"},
    {"id": "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI", "givenName": "Marcus", "familyName": "Lee",
     "email": "marcus.lee@example.com", "status": "active"},
    {"id": "V0ZVc2VyHzU3MjI2NDY2Mzc0NDUxMjA", "givenName": "Ana", "familyName": "Costa",
     "email": "ana.costa@example.com", "status": "active"},
    {"id": "V0ZVc2VyHzU0MDg3OTc0MDE4MDg4OTY", "givenName": "Tom", "familyName": "Baker",
     "email": "tom.baker@example.com", "status": "suspended"},
]  # fmt: skip
#: the user the sandbox API client acts as; owner of the tasks it creates
CLIENT_USER_ID = "V3ZVc2VyFzV3NiQ5NDA2NjIzNxk2njH"
#: the workspace's files (platform.yaml `File`); a document's id is a task location's `resource`
FILES: list[Json] = [
    {"id": "V0ZEYXRhRW50aXR5IkZvbGRlcjoxSkFGOTZGRjiENDk1Qzk4RjQ4OTgzN0M6ODdDNjZENi",
     "name": "2026 Supporting Documents", "kind": "Folder", "type": "Folder", "container": ""},
    {"id": "124efa2a142f472ba1ceab34ed18915f", "name": "Year-end review", "kind": "Document", "type": "10-K",
     "container": ""},
    {"id": "a8b3adb687644b27fafcb3a9875f0f0d", "name": "Q3 2026 Form 10-Q", "kind": "Document", "type": "10-Q",
     "container": ""},
    {"id": "3c7e1f0a9b2d4e6f8a1b2c3d4e5f6a7b", "name": "Q3 2026 balance sheet tie-out", "kind": "Spreadsheet",
     "type": None, "container": ""},
    {"id": "9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a", "name": "Year-end board presentation", "kind": "Presentation",
     "type": None, "container": ""},
]  # fmt: skip


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "region": "app",
        "organization_id": ORGANIZATION_ID,
    }


def contract_examples() -> dict[str, dict[str, Any]]:
    """Arguments per operation (its tool's name; `reassign_task` is update_task with assignees) that are valid
    against the seed data; the contract suite every vendor runs reads them."""

    return {
        "create_task": {
            "title": "Tie out the Q4 cash flow statement",
            "description": "Compare every line with the general ledger.",
            "due": "2031-02-01",
            "assignees": [USERS[0]["id"]],
        },
        "list_tasks": {"limit": 2},
        "update_task": {"title": "Tie out the restated Q4 cash flow statement", "description": "Restated figures."},
        "reassign_task": {"assignees": [USERS[2]["id"]]},
        "find_people": {"query": USERS[2]["givenName"]},
        "find_records": {"kind": "location", "query": "Year-end"},
    }


def _now(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def error(
    status: int, message: str | None = None, *, target: str | None = None, code: str | None = None
) -> JSONResponse:
    """Workiva's ErrorResponse; a field problem is also listed in `details`, as its schema shows."""

    default_code, default_message = MESSAGES.get(status, (f"{status}Error", "Request failed"))
    body: Json = {"code": default_code, "message": message or default_message}
    if target is not None:
        body["target"] = target
        body["details"] = [{"code": code or "BadArgument", "message": body["message"], "target": target}]
    return JSONResponse(body, status_code=status)


def _user(user_id: Any) -> Json | None:
    return next((u for u in USERS if u["id"] == user_id), None)


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Invalid(Exception):
    """A 400 with a target, raised while validating a body."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target
        self.message = message


# -- body validation ----------------------------------------------------------------------------


def _task_users(value: Any, where: str) -> list[Json]:
    if not isinstance(value, list):
        raise Invalid(where, f"{where} must be an array of {{id, type: USER}}")
    out: list[Json] = []
    for n, row in enumerate(value):
        at = f"{where}[{n}]"
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise Invalid(f"{at}.id", f"{at}.id is required and must be a string")
        if row.get("type", "USER") != "USER":
            raise Invalid(f"{at}.type", f"{at}.type must be USER")
        user = _user(row["id"])
        if user is None or user["status"] != "active":
            raise Invalid(f"{at}.id", f"No active user {row['id']} in this organization")
        out.append({"id": row["id"], "type": "USER"})
    return out


def _due(value: Any, where: str) -> str | None:
    if value is None:
        return None
    parsed = _parse_datetime(value)
    if parsed is None:
        raise Invalid(where, f"{where} must be an ISO 8601 datetime with a time zone, or null")
    return _utc(parsed)


def _approval_steps(value: Any, where: str = "approvalSteps") -> list[Json]:
    if not isinstance(value, list):
        raise Invalid(where, "approvalSteps must be an array")
    steps: list[Json] = []
    for n, step in enumerate(value):
        at = f"{where}[{n}]"
        if not isinstance(step, dict):
            raise Invalid(at, f"{at} must be an object")
        if step.get("completionMode") not in ("ONE", "ALL"):
            raise Invalid(f"{at}.completionMode", f"{at}.completionMode is required: ONE or ALL")
        if "participants" not in step:
            raise Invalid(f"{at}.participants", f"{at}.participants is required")
        participants = _task_users(step["participants"], f"{at}.participants")
        if not participants:
            raise Invalid(f"{at}.participants", f"{at}.participants needs at least one user")
        steps.append(
            {
                "completionMode": step["completionMode"],
                "participants": participants,
                "dueDate": _due(step.get("dueDate"), f"{at}.dueDate"),
                "responses": [],
            }
        )
    return steps


def _location(value: Any, where: str = "location") -> Json | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("resource"), str) or not value["resource"]:
        raise Invalid(f"{where}.resource", "location.resource is required and must be a string")
    segment = value.get("segment")
    if segment is not None and not isinstance(segment, str):
        raise Invalid(f"{where}.segment", "location.segment must be a string or null")
    return {"resource": value["resource"], "segment": segment}


def _title(value: Any, where: str = "title") -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(where, "title is required and must be a non-empty string")
    return value


def _description(value: Any, where: str = "description") -> str:
    if not isinstance(value, str):
        raise Invalid(where, "description must be a string (it cannot be null)")
    return value


def _status(value: Any, version: str) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("status", "status must be a string")
    if version == PROTOTYPE_VERSION and value not in PROTOTYPE_STATUSES:
        raise Invalid("status", "status must be one of " + ", ".join(PROTOTYPE_STATUSES))
    return value


def _new_task(body: Json, now: str, version: str = GA_VERSION) -> Json:
    """Validate a create body (Task / PrototypeTask) and build the stored record."""

    if "title" not in body:
        raise Invalid("title", "title is required")
    task: Json = {
        "title": _title(body["title"]),
        "status": "Created",
        # `dueAt` (the examples' name) is not a Task property; like any unknown property it is ignored.
        "dueDate": _due(body.get("dueDate"), "dueDate"),
        "assignees": _task_users(body.get("assignees", []), "assignees"),
        "approvalSteps": _approval_steps(body.get("approvalSteps", [])),
        "location": _location(body.get("location"), "location"),
        "notificationsDisabled": False,
    }
    if "description" in body:
        task["description"] = _description(body["description"])
    if "notificationsDisabled" in body:
        if not isinstance(body["notificationsDisabled"], bool):
            raise Invalid("notificationsDisabled", "notificationsDisabled must be a boolean")
        task["notificationsDisabled"] = body["notificationsDisabled"]
    if "status" in body:
        status = _status(body["status"], version)
        if len(task["approvalSteps"]) > 1:
            raise Invalid("status", "status can only be set on tasks with a single approval step")
        task["status"] = status
    task_id = uuid.uuid4().hex
    task.update(
        id=task_id,
        owner=CLIENT_USER_ID,
        created={"dateTime": now, "user": {"id": CLIENT_USER_ID}},
        modified={"dateTime": now, "user": {"id": CLIENT_USER_ID}},
        sourceUrl=f"https://app.wdesk.com/tasks/d/{task_id}",
    )
    if task["status"] == "Completed":
        task["completed"] = {"dateTime": now, "user": {"id": CLIENT_USER_ID}}
    return task


def _restart(task: Json) -> None:
    """Workiva restarts a task whose assignees or location change: approvals start over."""

    task["status"] = "Created"
    task.pop("completed", None)
    for step in task["approvalSteps"]:
        step["responses"] = []


def _apply_patch(task: Json, ops: Any) -> Json:
    """Validate every operation first, then apply them all (nothing half-written)."""

    if not isinstance(ops, list) or not ops:
        raise Invalid("body", "The body must be a non-empty JSON Patch array")
    changes: list[tuple[str, Any]] = []
    for n, op in enumerate(ops):
        if not isinstance(op, dict):
            raise Invalid(f"/{n}", "Each patch operation must be an object")
        if op.get("op") != "replace":
            raise Invalid(f"/{n}/op", f"Operation {op.get('op')!r} is not supported; only replace is allowed")
        path = op.get("path")
        if path not in PATCHABLE:
            raise Invalid(f"/{n}/path", f"Path {path!r} cannot be patched; allowed: {', '.join(PATCHABLE)}")
        value = op.get("value")
        name = path[1:]
        if name == "title":
            value = _title(value, path)
        elif name == "description":
            value = _description(value, path)
        elif name == "dueDate":
            value = _due(value, path)
        elif name == "assignees":
            value = _task_users(value, path)
        elif name == "approvalSteps":
            value = _approval_steps(value, path)
        elif name == "location":
            value = _location(value, path)
            if task.get("location") is not None and value != task["location"]:
                raise Invalid(path, "The location of a task cannot be changed once it is set")
        elif name == "owner":
            user = _user(value)
            if user is None or user["status"] != "active":
                raise Invalid(path, f"No active user {value!r} in this organization")
        changes.append((name, value))
    restart = False
    for name, value in changes:
        if name in ("assignees", "location") and value != task.get(name):
            restart = True
        task[name] = value
    if restart:
        _restart(task)
    return task


# -- $filter / $orderBy ------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z.]+)\s+(?P<op>eq|ne|lt|gt|le|ge|in|contains)\s+(?P<value>.+?)\s*$", re.IGNORECASE
)


def _split_and(text: str) -> list[str]:
    """Split on ` and ` outside quotes."""

    parts, buf, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        if not quoted and text[i : i + 5].lower() == " and ":
            parts.append(buf)
            buf, i = "", i + 5
            continue
        buf += ch
        i += 1
    parts.append(buf)
    return parts


def _literal(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def _parse_filter(text: str) -> list[tuple[str, str, list[str]]]:
    clauses: list[tuple[str, str, list[str]]] = []
    for part in _split_and(text):
        match = _CLAUSE.match(part)
        if not match:
            raise Invalid("$filter", f"Cannot parse filter expression {part.strip()!r}")
        name, op, value = match["field"], match["op"].lower(), match["value"]
        if name not in FILTERS or op not in FILTERS[name]:
            allowed = "; ".join(f"{k} ({', '.join(v)})" for k, v in FILTERS.items())
            raise Invalid("$filter", f"Filtering by {name} {op} is not supported. Supported: {allowed}")
        if op == "in":
            inner = value.strip()
            if not (inner.startswith("(") and inner.endswith(")")):
                raise Invalid("$filter", "in takes a parenthesised list: assignees in ('a', 'b')")
            values = [_literal(v) for v in inner[1:-1].split(",") if v.strip()]
        else:
            values = [_literal(value)]
        if name.endswith("ate") or name.endswith("dateTime"):
            for v in values:
                if _parse_datetime(v) is None:
                    raise Invalid("$filter", f"{name} needs an ISO 8601 datetime with a time zone, got {v!r}")
        clauses.append((name, op, values))
    return clauses


def _field_values(task: Json, name: str) -> list[Any]:
    if name == "assignees":
        return [a["id"] for a in task.get("assignees") or []]
    if name == "approvalSteps.participants":
        return [p["id"] for s in task.get("approvalSteps") or [] for p in s["participants"]]
    node: Any = task
    for key in name.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return [node]


def _matches(task: Json, clause: tuple[str, str, list[str]]) -> bool:
    name, op, values = clause
    actual = _field_values(task, name)
    if op in ("eq", "in"):
        if name.endswith("ate") or name.endswith("dateTime"):
            wanted = {_parse_datetime(v) for v in values}
            return any(_parse_datetime(a) in wanted for a in actual)
        return any(a in values for a in actual)
    if op == "contains":
        return any(isinstance(a, str) and values[0].lower() in a.lower() for a in actual)
    bound = _parse_datetime(values[0])
    assert bound is not None
    for a in actual:
        when = _parse_datetime(a)
        if when is None:
            continue
        if (
            (op == "lt" and when < bound)
            or (op == "gt" and when > bound)
            or (op == "le" and when <= bound)
            or (op == "ge" and when >= bound)
        ):
            return True
    return False


def _order(items: list[Json], text: str) -> list[Json]:
    for expr in reversed([e.strip() for e in text.split(",") if e.strip()]):
        name, _, direction = expr.partition(" ")
        direction = direction.strip().lower() or "asc"
        if name not in ORDERABLE or direction not in ("asc", "desc"):
            raise Invalid("$orderBy", f"Ordering by {expr!r} is not supported")

        def sort_key(task: Json, field: str = name) -> str:
            return str(_field_values(task, field)[0] or "")

        items.sort(key=sort_key, reverse=direction == "desc")
    return items


def _encode_next(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def _decode_next(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["offset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid("$next", "The $next cursor is not valid") from exc
    if offset < 0:
        raise Invalid("$next", "The $next cursor is not valid")
    return offset


def _page(request: Request, items: list[Json]) -> Json:
    """One page of `items` by `$maxpagesize`/`$next`, with `@nextLink` while more remain."""

    q = request.query_params
    raw_size = q.get("$maxpagesize", "1000")
    try:
        size = int(raw_size)
    except ValueError:
        size = 0
    if not 1 <= size <= 1000:
        raise Invalid("$maxpagesize", "$maxpagesize must be an integer from 1 to 1000")
    offset = _decode_next(q["$next"]) if "$next" in q else 0
    chunk = items[offset : offset + size]
    page: Json = {"data": chunk}
    if offset + size < len(items):
        params = [(k, v) for k, v in q.multi_items() if k != "$next"]
        params.append(("$next", _encode_next(offset + size)))
        page["@nextLink"] = str(request.url.replace(query=urlencode(params)))
    return page


# -- the simulator ----------------------------------------------------------------------------


@dataclass
class IssuedToken:
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class WorkivaSandbox:
    store: SandboxStore
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    clock: Callable[[], float] = time.time
    tokens: dict[str, IssuedToken] = field(default_factory=dict)

    def expire_tokens(self) -> None:
        """Make every issued token stale, as if its lifetime had run out on the vendor's side."""

        for token in self.tokens.values():
            token.expires_at = self.clock() - 1

    # -- auth and versions -----------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            description = "The body must be form-urlencoded (Content-Type: application/x-www-form-urlencoded)"
            return JSONResponse({"error": "invalid_request", "error_description": description}, 400)
        form, bad = await read_json(request)
        if bad is not None or not isinstance(form, dict):
            return JSONResponse({"error": "invalid_request", "error_description": "Malformed body"}, 400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "invalid_request", "error_description": "grant_type must be client_credentials"}, 400
            )
        if not form.get("client_id") or not form.get("client_secret"):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "client_id and client_secret are required"}, 400
            )
        if form["client_id"] != CLIENT_ID or form["client_secret"] != CLIENT_SECRET:
            return JSONResponse(
                {"error": "unauthorized_client", "error_description": "Client authentication failed"}, 401
            )
        requested = tuple(str(form.get("scope") or "").split()) or ALL_SCOPES
        unknown = [s for s in requested if s not in ALL_SCOPES]
        if unknown:
            return JSONResponse({"error": "invalid_scope", "error_description": f"Unknown scope {unknown[0]}"}, 400)
        access_token = secrets.token_urlsafe(24)
        self.tokens[access_token] = IssuedToken(requested, self.clock() + self.token_lifetime)
        return JSONResponse(
            {
                "access_token": access_token,
                "expires_in": self.token_lifetime,
                "scope": " ".join(requested),
                "token_type": "Bearer",
            }
        )

    def authorize(self, request: Request, scope: str) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        issued = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if issued is None or issued.expires_at <= self.clock():
            return error(401)
        if scope not in issued.scopes:
            return error(403)
        return None

    @staticmethod
    def version(request: Request) -> str | Response:
        value = request.headers.get("x-version")
        if value is None:
            return UNVERSIONED
        if value not in VERSIONS:
            return error(
                400, f"Unsupported API version {value!r}; use one of {', '.join(VERSIONS)}", target="X-Version"
            )
        return value

    def _guard(self, request: Request, version: str, scope: str) -> Response | None:
        """Auth, then version routing: a route that does not exist in this version is a 404."""

        if (denied := self.authorize(request, scope)) is not None:
            return denied
        current = self.version(request)
        if isinstance(current, Response):
            return current
        if current != version:
            return error(404)
        if version == PROTOTYPE_VERSION and datetime.fromtimestamp(self.clock(), UTC).date() >= PROTOTYPE_SUNSET:
            return error(404, "This endpoint was sunset on 2027-01-31; use /tasks with X-Version 2026-01-01")
        return None

    # -- rendering -------------------------------------------------------------------------

    @staticmethod
    def render(task: Json, version: str) -> Json:
        out = dict(task)
        if out.get("description") is None:
            out.pop("description", None)  # a string or absent, never null
        if version == PROTOTYPE_VERSION:
            out["dueAt"] = out.pop("dueDate")
        return out

    def _tasks(self) -> list[Json]:
        return self.store.all("task")

    # -- routes ----------------------------------------------------------------------------

    async def _collection(self, request: Request, version: str) -> Response:
        scope = "task:read" if request.method == "GET" else "task:write"
        if (denied := self._guard(request, version, scope)) is not None:
            return denied
        try:
            if request.method == "GET":
                items = self._tasks()
                if (text := request.query_params.get("$filter")) is not None:
                    clauses = _parse_filter(text)
                    items = [t for t in items if all(_matches(t, c) for c in clauses)]
                if (order := request.query_params.get("$orderBy")) is not None:
                    items = _order(items, order)
                page = _page(request, items)
                page["data"] = [self.render(t, version) for t in page["data"]]
                return JSONResponse(page)
            body, bad = await read_json(request)
            if bad is not None or not isinstance(body, dict):
                return error(400, "The body must be a JSON object (a Task)")
            task = _new_task(body, _now(self.clock), version)
        except Invalid as exc:
            return error(400, exc.message, target=exc.target)
        self.store.put("task", task["id"], task)
        return JSONResponse(self.render(task, version), status_code=201)

    async def _item(self, request: Request, version: str) -> Response:
        scope = "task:read" if request.method == "GET" else "task:write"
        if (denied := self._guard(request, version, scope)) is not None:
            return denied
        task = self.store.get("task", request.path_params["task_id"])
        if task is None:
            return error(404)
        if request.method == "GET":
            return JSONResponse(self.render(task, version))
        if request.method == "DELETE":
            self.store.delete("task", task["id"])
            return Response(status_code=204)
        body, bad = await read_json(request)
        if bad is not None:
            return error(400, "The body must be a JSON Patch array")
        try:
            _apply_patch(task, body)
        except Invalid as exc:
            return error(400, exc.message, target=exc.target)
        task["modified"] = {"dateTime": _now(self.clock), "user": {"id": CLIENT_USER_ID}}
        self.store.put("task", task["id"], task)
        return JSONResponse(self.render(task, version))

    async def tasks(self, request: Request) -> Response:
        return await self._collection(request, GA_VERSION)

    async def task(self, request: Request) -> Response:
        return await self._item(request, GA_VERSION)

    async def prototype_tasks(self, request: Request) -> Response:
        return await self._collection(request, PROTOTYPE_VERSION)

    async def prototype_task(self, request: Request) -> Response:
        return await self._item(request, PROTOTYPE_VERSION)

    async def users(self, request: Request) -> Response:
        if (denied := self.authorize(request, "organization:read")) is not None:
            return denied
        current = self.version(request)
        if isinstance(current, Response):
            return current
        if current != GA_VERSION:
            return error(404)
        if request.path_params["organization_id"] != ORGANIZATION_ID:
            return error(404, "The organization could not be found")
        rows = [
            u
            | {
                "displayName": f"{u['givenName']} {u['familyName']}",
                "username": u["email"],
                "created": {"dateTime": "2024-03-01T09:00:00Z"},
                "modified": {"dateTime": "2026-06-01T09:00:00Z"},
            }
            for u in USERS
        ]
        try:
            return JSONResponse(_page(request, rows))
        except Invalid as exc:
            return error(400, exc.message, target=exc.target)


def files_route(sim: WorkivaSandbox) -> Callable[[Request], Any]:
    """`GET /files` (2026-01-01): every file, in `FilesListResult` pages."""

    async def files(request: Request) -> Response:
        return await _files(sim, request)

    return files


async def _files(sim: WorkivaSandbox, request: Request) -> Response:
    if (denied := sim.authorize(request, "file:read")) is not None:
        return denied
    current = sim.version(request)
    if isinstance(current, Response):
        return current
    if current != GA_VERSION:
        return error(404)
    rows = [
        f | {"created": {"dateTime": "2026-07-01T09:00:00Z"}, "modified": {"dateTime": "2026-10-01T09:00:00Z"},
             "state": "Active", "template": False}
        for f in FILES
    ]  # fmt: skip
    try:
        return JSONResponse(_page(request, rows))
    except Invalid as exc:
        return error(400, exc.message, target=exc.target)


def _seed(store: SandboxStore) -> None:
    now = "2026-10-01T09:00:00Z"
    examples: list[Json] = [
        {"title": "Review Document", "description": "Review document for spelling and grammar",
         "dueDate": "2026-12-15T17:00:00Z", "assignees": [{"id": "V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD", "type": "USER"}],
         "location": {"resource": "124efa2a142f472ba1ceab34ed18915f", "segment": "465ttdh2a142y75ehsft5ab34edf5675"}},
        {"title": "Tie out Q3 balance sheet", "status": "Awaiting Approval",
         "assignees": [{"id": "V0ZVc2VyHzU1MDg3OTc0MDE4MDg4OTY", "type": "USER"}],
         "approvalSteps": [{"completionMode": "ALL",
                            "participants": [{"id": "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI", "type": "USER"},
                                             {"id": "V0ZVc2VyHzU3MjI2NDY2Mzc0NDUxMjA", "type": "USER"}]}]},
        {"title": "Add example", "description": "Add an example of an object", "status": "Completed"},
    ]  # fmt: skip
    tasks = [_new_task(body, now) for body in examples]
    # The second task's approval is half done: Marcus has approved, Ana has not answered yet.
    tasks[1]["approvalSteps"][0]["responses"] = [
        {"created": {"dateTime": "2026-10-02T15:30:00Z", "user": {"id": "V0ZVc2VyHzY0MTI5NzM0MzkxODg5OTI"}},
         "action": "APPROVE", "comment": "Balances agree with the trial balance."},
    ]  # fmt: skip
    for task in tasks:
        store.put("task", task["id"], task)


def create_app(db_path: Path | str, *, token_lifetime: int = DEFAULT_TOKEN_LIFETIME) -> Any:
    store = SandboxStore(db_path)
    store.seed_once(_seed)
    sim = WorkivaSandbox(store, token_lifetime=token_lifetime)
    routes = [
        Route("/oauth2/token", sim.token, methods=["POST"]),
        Route("/tasks", sim.tasks, methods=["GET", "POST"]),
        Route("/tasks/{task_id}", sim.task, methods=["GET", "PATCH", "DELETE"]),
        Route("/prototype/platform/tasks", sim.prototype_tasks, methods=["GET", "POST"]),
        Route("/prototype/platform/tasks/{task_id}", sim.prototype_task, methods=["PATCH"]),
        Route("/organizations/{organization_id}/users", sim.users, methods=["GET"]),
        Route("/files", files_route(sim), methods=["GET"]),
    ]
    app = sandbox_app("workiva", store, routes)
    app.state.workiva = sim
    return app
