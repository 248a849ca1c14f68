"""SpotDraft simulator: legal intakes, user tasks and org users, as documented.

Contract: spotdraft-openapi.yml (legal_intake v1, user_tasks v2.1, auth/users v2.1) and the
intake recipe (seed-docs/000). Behaviour worth knowing: `client-id`/`client-secret` headers;
a missing trailing slash answers 302; unknown or deleted intake ids answer 403, not 404;
DELETE is soft and answers 204; 400 bodies are either field-keyed or a SpotDraft public error
object `{detail, status_code, code, message}`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ._core import Json, SandboxStore, read_json, sandbox_app

CLIENT_ID = "sandbox-spotdraft-client"
CLIENT_SECRET = "sandbox-spotdraft-secret"  # noqa: S105 - the simulator's published test credential
DEFAULT_WORKFLOW_ID = 7

CREDENTIAL_USER_ID = 101

PRIORITIES = ("LOW", "MEDIUM", "HIGH")
INTAKE_STATUSES = ("DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED")
INTAKE_TASK_STATUSES = ("PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED")
TASK_CATEGORIES = ("USER_TASK", "OBLIGATION_TASK", "INTAKE_TASK")
SORT_FIELDS = ("created_at", "priority", "status", "title")
FORBIDDEN = {"detail": "You do not have permission to perform this action."}

USERS: list[Json] = [
    {"id": 100, "first_name": "Sonia", "last_name": "Sotomayor", "email": "sonia@acme-legal.example",
     "designation": "Lawyer", "is_active": True, "roles": [456]},
    {"id": 101, "first_name": "Elena", "last_name": "Kagan", "email": "elena@acme-legal.example",
     "designation": "Lead Lawyer", "is_active": True, "roles": [123, 456]},
    {"id": 102, "first_name": "Priya", "last_name": "Raman", "email": "priya.raman@acme-legal.example",
     "designation": "Legal Counsel", "is_active": True, "roles": [456]},
    {"id": 103, "first_name": "Priya", "last_name": "Shah", "email": "priya.shah@acme-legal.example",
     "designation": "Procurement Manager", "is_active": True, "roles": []},
    {"id": 104, "first_name": "Samuel", "last_name": "Alito", "email": "sam@acme-legal.example",
     "designation": "Paralegal", "is_active": False, "roles": [456]},
]  # fmt: skip
ROLES: list[Json] = [
    {"id": 123, "name": "Admin", "description": "Admin team"},
    {"id": 456, "name": "Legal", "description": "Legal team"},
]
WORKFLOWS: list[Json] = [
    {"workflow_id": 7, "frozen_id": 700, "title": "Legal Intake", "description": "General legal requests",
     "type": "INTAKE_WORKFLOW", "published": True},
    {"workflow_id": 8, "frozen_id": 800, "title": "Vendor NDA", "description": "Contract workflow",
     "type": "CONTRACT_WORKFLOW", "published": True},
    {"workflow_id": 9, "frozen_id": None, "title": "Procurement intake (draft)", "description": None,
     "type": "INTAKE_WORKFLOW", "published": False},
]  # fmt: skip


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "region": "us",
        "intake_workflow_id": str(DEFAULT_WORKFLOW_ID),
    }


def contract_examples() -> dict[str, dict[str, Any]]:
    """Arguments per operation (its tool's name) that are valid against the seed data; the contract suite
    every vendor runs reads them."""

    return {
        "create_task": {
            "title": "Review the indemnity clause",
            "description": "Flag anything uncapped.",
            "due": "2031-01-10",
            "assignees": [str(USERS[0]["id"])],
        },
        "find_people": {"query": USERS[2]["first_name"]},
        "create_intake": {
            "title": "Review the Acme master services agreement",
            "description": "Renewal with new data-processing terms.",
            "priority": "HIGH",
            "due": "2031-03-03",
            "assignees": [{"user_id": str(USERS[2]["id"]), "role": "assigned_to"}],
        },
        "list_intakes": {"limit": 2},
        "update_intake": {"status": "IN_PROGRESS", "priority": "LOW"},
        "update_intake_assignees": {
            "assignees": [
                {"user_id": str(USERS[0]["id"]), "role": "assigned_to"},
                {"user_id": str(USERS[1]["id"]), "role": "collaborator"},
            ]
        },
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _public_error(message: str, status: int = 400, code: str = "SD_PUBLIC_00039") -> JSONResponse:
    body = {"detail": message, "status_code": status, "code": code, "message": message}
    return JSONResponse(body, status_code=status)


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _user(user_id: Any) -> Json | None:
    return next((u for u in USERS if str(u["id"]) == str(user_id)), None)


def _user_summary(user: Json) -> Json:
    name = f"{user['first_name']} {user['last_name']}"
    return {"id": user["id"], "name": name, "email": user["email"], "designation": user["designation"]}


def _seed(store: SandboxStore) -> None:
    store.next_id("intake", start=80)
    store.next_id("task", start=500)


class _Errors:
    """Collects field-keyed validation errors in SpotDraft's 400 shape."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}

    def add(self, path: list[str], message: str) -> None:
        node = self.body
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).append(message)

    def response(self) -> JSONResponse | None:
        return JSONResponse(self.body, status_code=400) if self.body else None


def _check_intake_fields(body: Json, errors: _Errors, *, partial: bool) -> None:
    if "title" in body or not partial:
        title = body.get("title")
        if "title" not in body:
            errors.add(["title"], "Field required")
        elif not isinstance(title, str):
            errors.add(["title"], "Input should be a valid string")
        elif len(title) < 1:
            errors.add(["title"], "String should have at least 1 character")
        elif len(title) > 255:
            errors.add(["title"], "String should have at most 255 characters")
    if "description" in body and body["description"] is not None and not isinstance(body["description"], str):
        errors.add(["description"], "Input should be a valid string")
    if "priority" in body and body["priority"] not in PRIORITIES:
        errors.add(["priority"], "Input should be 'LOW', 'MEDIUM' or 'HIGH'")
    if partial and "status" in body and body["status"] not in INTAKE_STATUSES:
        errors.add(["status"], "Input should be " + ", ".join(f"'{s}'" for s in INTAKE_STATUSES))
    if "due_date" in body and body["due_date"] is not None and _parse_datetime(body["due_date"]) is None:
        errors.add(["due_date"], "Input should be a valid datetime")
    if "metadata" in body and body["metadata"] is not None and not isinstance(body["metadata"], dict):
        errors.add(["metadata"], "Input should be a valid dictionary")
    assignees = body.get("assignees")
    if assignees is not None:
        if not isinstance(assignees, list):
            errors.add(["assignees"], "Input should be a valid list")
            return
        for i, row in enumerate(assignees):
            where = ["assignees", str(i)]
            if not isinstance(row, dict):
                errors.add(where, "Input should be a valid dictionary")
                continue
            entity_id = row.get("entity_id")
            if "entity_id" not in row:
                errors.add([*where, "entity_id"], "Field required")
            elif not isinstance(entity_id, str) or not entity_id:
                errors.add([*where, "entity_id"], "Input should be a non-empty string")
            elif _user(entity_id) is None or not _user(entity_id)["is_active"]:  # type: ignore[index]
                errors.add([*where, "entity_id"], f"No active org user with id {entity_id} in this workspace")
            if "entity_type" not in row:
                errors.add([*where, "entity_type"], "Field required")
            elif row["entity_type"] != "ORG_USER":
                errors.add([*where, "entity_type"], "Input should be 'ORG_USER'")
            if "assignee_type" not in row:
                errors.add([*where, "assignee_type"], "Field required")
            elif row["assignee_type"] not in ("ASSIGNED_TO", "COLLABORATOR"):
                errors.add([*where, "assignee_type"], "Input should be 'ASSIGNED_TO' or 'COLLABORATOR'")


class SpotDraftSandbox:
    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        store.seed_once(_seed)

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def authenticate(request: Request) -> Response | None:
        client_id = request.headers.get("client-id")
        client_secret = request.headers.get("client-secret")
        if not client_id or not client_secret:
            return JSONResponse({"detail": "Authentication credentials were not provided."}, status_code=401)
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return JSONResponse({"detail": "Invalid client credentials."}, status_code=401)
        email = request.headers.get("user-email")
        if email is not None:
            user = next((u for u in USERS if u["email"].lower() == email.lower()), None)
            if user is None or not user["is_active"]:
                return JSONResponse({"detail": "user-email is not an active member of this workspace."}, 403)
        return None

    @staticmethod
    def acting_user(request: Request) -> Json:
        email = request.headers.get("user-email")
        if email:
            found = next((u for u in USERS if u["email"].lower() == email.lower()), None)
            if found:
                return found
        user = _user(CREDENTIAL_USER_ID)
        assert user is not None
        return user

    def _intake_detail(self, intake: Json) -> Json:
        tasks = [
            {
                "id": t["id"],
                "title": t["title"],
                "notes": t["notes"],
                "absolute_due_date": t["absolute_due_date"],
                "status": _task_due_status(t["absolute_due_date"]),
                "priority": t.get("priority"),
                "intake_task_status": t.get("intake_task_status"),
                "reference_id": f"T-{t['id']:04d}",
            }
            for t in self.store.all("task")
            if any(
                a["entity_type"] == "LEGAL_INTAKE" and str(a["entity_id"]) == str(intake["id"])
                for a in t["task_associations"]
            )
        ]
        rows = [
            {
                "entity_id": row["entity_id"],
                "entity_type": row["entity_type"],
                "assignee_type": row["assignee_type"],
                "assignee_org_user": _user_summary(_user(row["entity_id"]) or {}),
            }
            for row in intake["participants"]
        ]
        detail = {k: v for k, v in intake.items() if k != "participants"}
        detail["assignees"] = [r for r in rows if r["assignee_type"] == "ASSIGNED_TO"]
        detail["collaborators"] = [r for r in rows if r["assignee_type"] == "COLLABORATOR"]
        detail["tasks"] = tasks
        detail["attachments"] = []
        return detail

    def _visible_intake(self, request: Request) -> Json | None:
        return self.store.get("intake", request.path_params["intake_id"])

    # -- legal intake --------------------------------------------------------------------

    async def intakes(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        if request.method == "GET":
            return self._list_intakes(request)
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict):
            return JSONResponse({"non_field_errors": ["Invalid data. Expected a dictionary."]}, status_code=400)
        errors = _Errors()
        _check_intake_fields(body, errors, partial=False)
        workflow_id = body.get("workflow_id")
        if "workflow_id" not in body:
            errors.add(["workflow_id"], "Field required")
        elif not isinstance(workflow_id, int) or isinstance(workflow_id, bool):
            errors.add(["workflow_id"], "Input should be a valid integer")
        if (response := errors.response()) is not None:
            return response
        workflow = next((w for w in WORKFLOWS if w["workflow_id"] == workflow_id), None)
        if workflow is None:
            return _public_error(f"Workflow {workflow_id} not found in this workspace")
        if not workflow["published"]:
            return _public_error("This workflow has no published version for the workspace")
        if workflow["type"] != "INTAKE_WORKFLOW":
            return _public_error("This workflow is not an INTAKE_WORKFLOW")
        if body.get("file_ids"):
            return _public_error("One or more file_ids not found in workspace")
        with self.store.transaction():
            intake_id = self.store.next_id("intake")
            now = _now()
            intake = {
                "id": intake_id,
                "title": body["title"],
                "description": body.get("description"),
                "status": "PENDING",
                "priority": body.get("priority", "MEDIUM"),
                "due_date": body.get("due_date"),
                "metadata": body.get("metadata") or {},
                "public_id": str(uuid.uuid4()),
                "reference_id": f"I-{intake_id:04d}",
                "created_by": _user_summary(self.acting_user(request)),
                "frozen_workflow": {
                    "id": workflow["frozen_id"],
                    "workflow_id": workflow["workflow_id"],
                    "title": workflow["title"],
                    "description": workflow["description"],
                    "type": workflow["type"],
                },
                "participants": body.get("assignees") or [],
                "created_at": now,
                "modified_at": now,
            }
            self.store.put("intake", intake_id, intake)
        return JSONResponse(self._intake_detail(intake), status_code=201)

    def _list_intakes(self, request: Request) -> Response:
        q = request.query_params
        errors = _Errors()
        page = _int_param(q.get("page", "1"), "page", errors, minimum=1)
        limit = _int_param(q.get("limit", "50"), "limit", errors, minimum=1, maximum=100)
        sort = q.get("sort", "-created_at")
        if sort.lstrip("-") not in SORT_FIELDS:
            return JSONResponse({"detail": "Invalid sort field"}, status_code=400)
        filters: list[tuple[str, str, list[str]]] = []
        for key, value in q.multi_items():
            if not key.startswith("filter__"):
                continue
            name, _, op = key[len("filter__") :].partition("[")
            op = op.rstrip("]") or "$eq"
            allowed = {"status": INTAKE_STATUSES, "priority": PRIORITIES}.get(name)
            if allowed is None or op not in ("$eq", "$in", "$ne"):
                errors.add([key], "Unknown filter")
                continue
            values = _split_escaped(value) if op == "$in" else [value]
            for v in values:
                if v not in allowed:
                    errors.add([key], "Input should be " + ", ".join(f"'{s}'" for s in allowed))
            filters.append((name, op, values))
        if (response := errors.response()) is not None:
            return response
        items = self.store.all("intake")
        text = (q.get("query") or "").lower()
        if text:
            items = [
                i
                for i in items
                if text in (i["title"] or "").lower()
                or text in (i.get("description") or "").lower()
                or text in i["reference_id"].lower()
            ]
        for name, op, values in filters:
            if op == "$ne":
                items = [i for i in items if i[name] not in values]
            else:
                items = [i for i in items if i[name] in values]
        key = sort.lstrip("-")
        rank = {"priority": {p: n for n, p in enumerate(PRIORITIES)}}.get(key)
        items.sort(key=lambda i: rank[i[key]] if rank else (i[key] or ""), reverse=sort.startswith("-"))
        total = len(items)
        start = (page - 1) * limit
        chunk = items[start : start + limit]
        list_keys = ("assignees", "collaborators", "tasks", "attachments", "participants")
        total_pages = max(1, -(-total // limit))
        return JSONResponse(
            {
                "intakes": [{k: v for k, v in i.items() if k not in list_keys} for i in chunk],
                "total_count": total,
                "page": page,
                "limit": limit,
                "total_pages": total_pages,
                "has_next": page < total_pages,
                "has_previous": page > 1,
            }
        )

    async def intake(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        intake = self._visible_intake(request)
        if intake is None:
            return JSONResponse(FORBIDDEN, status_code=403)
        if request.method == "GET":
            return JSONResponse(self._intake_detail(intake))
        if request.method == "DELETE":
            self.store.delete("intake", intake["id"])
            return Response(status_code=204)
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict):
            return JSONResponse({"non_field_errors": ["Invalid data. Expected a dictionary."]}, status_code=400)
        errors = _Errors()
        _check_intake_fields(body, errors, partial=True)
        if (response := errors.response()) is not None:
            return response
        for key in ("title", "description", "status", "priority", "due_date", "metadata"):
            if key in body:
                intake[key] = body[key]
        if "assignees" in body:
            # The documented contract: the list sent is the desired current set of rows.
            intake["participants"] = body["assignees"] or []
        intake["modified_at"] = _now()
        self.store.put("intake", intake["id"], intake)
        return JSONResponse(self._intake_detail(intake))

    # -- user tasks ----------------------------------------------------------------------

    async def user_tasks(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        body, bad = await read_json(request)
        if bad is not None:
            return bad
        if not isinstance(body, dict):
            return _public_error("Invalid data. Expected a dictionary.")
        problem = self._check_task(body)
        if problem is not None:
            return _public_error(problem)
        category = body.get("task_category", "USER_TASK")
        due = body.get("due_date")
        with self.store.transaction():
            task_id = self.store.next_id("task")
            assignees = []
            for n, row in enumerate(body.get("assignees") or []):
                entry: Json = {
                    "id": task_id * 10 + n,
                    "user_task_id": task_id,
                    "last_manual_reminder_sent_at": None,
                }
                if "org_user_id" in row:
                    entry["assignee_org_user"] = _user_summary(_user(row["org_user_id"]) or {})
                else:
                    entry["assignee_role"] = next(r for r in ROLES if r["id"] == row["role_id"])
                assignees.append(entry)
            task: Json = {
                "id": task_id,
                "title": body["title"],
                "notes": body.get("notes", ""),
                "contract": None,
                "created_by_org_user": _user_summary(self.acting_user(request)),
                "created_by_workspace": {"id": 1, "name": "Acme Legal (sandbox)"},
                "completed_by_org_user": None,
                "completed_at": None,
                "absolute_due_date": due,
                "created": _now(),
                "assignees": assignees,
                "deleted_at": None,
                "task_category": category,
                "task_associations": [
                    {
                        "entity_id": str(a["entity_id"]),
                        "entity_type": a["entity_type"],
                        "association_type": a.get("association_type", "PRIMARY"),
                    }
                    for a in body.get("task_associations") or []
                ],
                "due_date_key_pointer_id": body.get("due_date_key_pointer_id"),
                "reminders": body.get("reminders") or [],
            }
            if category == "INTAKE_TASK":
                task["priority"] = body.get("priority", "MEDIUM")
                task["intake_task_status"] = body.get("intake_task_status", "PENDING")
            self.store.put("task", task_id, task)
        response = dict(task)
        response["status"] = _task_due_status(due)
        return JSONResponse(response, status_code=201)

    def _check_task(self, body: Json) -> str | None:
        title = body.get("title")
        if not isinstance(title, str) or not title:
            return "title: this field is required and may not be blank."
        category = body.get("task_category", "USER_TASK")
        if category not in TASK_CATEGORIES:
            return f"task_category: '{category}' is not a valid choice."
        is_intake = category == "INTAKE_TASK"
        if "assignees" not in body or not isinstance(body["assignees"], list):
            return "assignees: this field is required."
        if not is_intake and not body["assignees"]:
            return "assignees: for non-intake tasks, at least one assignee is required."
        for n, row in enumerate(body["assignees"]):
            if not isinstance(row, dict) or ("org_user_id" in row) == ("role_id" in row):
                return f"assignees[{n}]: each assignee must set exactly one of org_user_id or role_id."
            if "org_user_id" in row:
                user = _user(row["org_user_id"])
                if not isinstance(row["org_user_id"], int) or user is None or not user["is_active"]:
                    return f"assignees[{n}].org_user_id: no active org user {row['org_user_id']} in this workspace."
            elif not isinstance(row["role_id"], int) or not any(r["id"] == row["role_id"] for r in ROLES):
                return f"assignees[{n}].role_id: no role {row['role_id']} in this workspace."
        if not is_intake:
            for key in ("priority", "intake_task_status"):
                if key in body:
                    return f"{key}: only valid for INTAKE_TASK."
            if ("due_date" in body) == ("due_date_key_pointer_id" in body):
                return "due_date: exactly one of due_date or due_date_key_pointer_id is required for non-intake tasks."
        if "priority" in body and body["priority"] not in PRIORITIES:
            return f"priority: '{body['priority']}' is not a valid choice."
        if "intake_task_status" in body and body["intake_task_status"] not in INTAKE_TASK_STATUSES:
            return f"intake_task_status: '{body['intake_task_status']}' is not a valid choice."
        if "due_date" in body and body["due_date"] is not None and _parse_datetime(body["due_date"]) is None:
            return "due_date: enter a valid date/time."
        intake_links = []
        for n, assoc in enumerate(body.get("task_associations") or []):
            if not isinstance(assoc, dict) or assoc.get("entity_type") not in ("OBLIGATION", "LEGAL_INTAKE"):
                return f"task_associations[{n}].entity_type: must be OBLIGATION or LEGAL_INTAKE."
            if assoc.get("association_type", "PRIMARY") not in ("PRIMARY", "SECONDARY"):
                return f"task_associations[{n}].association_type: must be PRIMARY or SECONDARY."
            if assoc["entity_type"] == "LEGAL_INTAKE":
                if self.store.get("intake", assoc.get("entity_id", "")) is None:
                    return f"task_associations[{n}].entity_id: legal intake {assoc.get('entity_id')} not found."
                intake_links.append(assoc)
        if is_intake and not intake_links:
            return "task_associations: an INTAKE_TASK needs a LEGAL_INTAKE association."
        return None

    # -- org users -----------------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        q = request.query_params
        errors = _Errors()
        page = _int_param(q.get("page", "1"), "page", errors, minimum=1)
        limit = _int_param(q.get("limit", "10"), "limit", errors, minimum=1, maximum=100)
        if (response := errors.response()) is not None:
            return response
        found = USERS
        if email := q.get("user_email"):
            found = [u for u in found if u["email"].lower() == email.lower()]
        if name := q.get("user_name"):
            found = [u for u in found if f"{u['first_name']} {u['last_name']}".lower().startswith(name.lower())]
        start = (page - 1) * limit
        results = [
            {k: v for k, v in u.items() if k != "roles"} | {"roles": [r for r in ROLES if r["id"] in u["roles"]]}
            for u in found[start : start + limit]
        ]
        return JSONResponse({"total_results": len(found), "page": page, "limit": limit, "results": results})

    async def unslashed(self, request: Request) -> Response:
        path = request.url.path
        if not path.endswith("/"):
            target = path + "/" + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(target, status_code=302)
        return JSONResponse({"detail": "Not found."}, status_code=404)


def _task_due_status(due: str | None) -> str:
    when = _parse_datetime(due)
    if when is None:
        return "NO_DATE"
    return "OVERDUE" if when < datetime.now(UTC) else "UPCOMING"


def _int_param(raw: str, name: str, errors: _Errors, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        errors.add([name], "Input should be a valid integer")
        return minimum
    if value < minimum:
        errors.add([name], f"Input should be greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        errors.add([name], f"Input should be less than or equal to {maximum}")
    return value


def _split_escaped(value: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in value:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def create_app(db_path: Path | str) -> Any:
    sandbox = SpotDraftSandbox(SandboxStore(db_path))
    routes = [
        Route("/api/v1/public/legal_intake/", sandbox.intakes, methods=["GET", "POST"]),
        Route("/api/v1/public/legal_intake/{intake_id:int}/", sandbox.intake, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/v2.1/public/user_tasks/", sandbox.user_tasks, methods=["POST"]),
        Route("/api/v2.1/public/auth/users/", sandbox.users, methods=["GET"]),
        Route("/api/{rest:path}", sandbox.unslashed, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
    ]
    app = sandbox_app("spotdraft", sandbox.store, routes)
    app.router.redirect_slashes = False
    return app
