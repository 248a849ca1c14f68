"""SpotDraft simulator: legal intakes, user tasks, org users and roles, as documented.

Contract: spotdraft-v1-legal-intake-api-openapi.yml (legal_intake v1),
spotdraft-v2-1-tasks-and-reminders-api-openapi.yml (user_tasks v2.1), spotdraft-openapi.yml
(auth/users and auth/roles v2.1) and the intake recipe (seed-docs/000). Requests are checked
against the request schemas — what they allow is accepted, what they forbid is refused with the
documented status and body — and every answer has the documented response shape
(`LegalIntakePublicDetailResponse`, `LegalIntakePublicListResponse`, `UserTaskPublicResponse`,
`PublicUserWithRolesMinimalListResponse`, `ExternalUserActiveRolesResponseList`).

Behaviour worth knowing: `client-id`/`client-secret` headers; a missing trailing slash answers
302; unknown or deleted intake ids answer 403, not 404; DELETE is soft and answers 204; intake
400 bodies are field-keyed (or `{"detail": ...}` for a bad sort), a create-domain failure and
every user-task 400 is a SpotDraft public error object `{detail, status_code, code, message}`;
datetimes are answered in UTC with a `Z`. Role (team) rows on an intake can be read but not
written through the public API (`entity_type` is `ORG_USER` only in requests); `put_role_row`
stands in for the SpotDraft app, where they are set.

Acting users: calls run as the `user-email` header's member (who must be an active workspace member,
else 403), or without it as the user linked to the credentials (Elena Kagan, a workspace admin). The
acting user is recorded as an intake's `created_by` and a user task's `created_by_org_user`. An intake
is visible to its creator, to the people on it (assignee or collaborator rows, or a role row for a
team they are in) and to workspace admins (members of the Admin role, as the analytics guide's
`SD_PUBLIC_00044` "workspace Admin role" has it); anyone else gets the by-id routes' documented 403
`{"detail": ...}` (the same answer as for an unknown id, so ids reveal nothing), lists leave the intake
out, and a user task cannot be associated with it (403 public error object). `demo_identities()`
lists the workspace members as tasklink settings that act as each of them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ._core import Json, SandboxStore, read_json, sandbox_app

CLIENT_ID = "sandbox-spotdraft-client"
CLIENT_SECRET = "sandbox-spotdraft-secret"  # noqa: S105 - the simulator's published test credential
DEFAULT_WORKFLOW_ID = 7

#: the user linked to the demo credentials: calls without `user-email` run as them (a workspace admin)
CREDENTIAL_USER_ID = 101
#: the role (team) whose members are workspace admins: they see every intake
ADMIN_ROLE_ID = 123

PRIORITIES = ("LOW", "MEDIUM", "HIGH")
INTAKE_STATUSES = ("DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED")
INTAKE_TASK_STATUSES = ("PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED")
TASK_CATEGORIES = ("USER_TASK", "OBLIGATION_TASK", "INTAKE_TASK")
DURATION_KINDS = ("DAYS", "WEEKS", "MONTHS", "YEARS")
ASSIGNEE_TYPES = ("ASSIGNED_TO", "COLLABORATOR")
SORT_FIELDS = ("created_at", "priority", "status", "title")
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
#: the application code of a user-task 403 (SpotDraft documents the body's shape, not this code)
FORBIDDEN_CODE = "SD_PUBLIC_00403"
_IDS = uuid.UUID("5b0e3c1a-8f0d-4f4e-9a43-3c2f1d7e9a10")

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
    {"id": 123, "name": "Admin", "description": "Admin team", "created": "2024-01-15T09:00:00Z"},
    {"id": 456, "name": "Legal", "description": "Legal team", "created": "2024-01-15T09:00:00Z"},
]
WORKFLOWS: list[Json] = [
    {"workflow_id": 7, "frozen_id": 700, "title": "Legal Intake", "description": "General legal requests",
     "type": "INTAKE_WORKFLOW", "published": True},
    {"workflow_id": 8, "frozen_id": 800, "title": "Vendor NDA", "description": "Contract workflow",
     "type": "TEMPLATE_WORKFLOW", "published": True},
    {"workflow_id": 9, "frozen_id": None, "title": "Procurement intake (draft)", "description": None,
     "type": "INTAKE_WORKFLOW", "published": False},
    {"workflow_id": 11, "frozen_id": 1100, "title": "Litigation hold request",
     "description": "Preserve documents for a dispute", "type": "INTAKE_WORKFLOW", "published": True},
]  # fmt: skip
WORKSPACE: Json = {
    "id": 1,
    "name": "Acme Legal (sandbox)",
    "is_individual_org": False,
    "show_workspace_migration": False,
}
#: the workspace's files (attachable to an intake with `file_ids`), as in the spec's example
FILES: list[Json] = [
    {"uuid": "10f9a299-9e9a-4bc9-9299-5b89bc06d370", "name": "nda.pdf"},
    {"uuid": "9831fa6f-1d6c-4f8e-8fba-83d68765ca20", "name": "vendor-msa.docx"},
]
#: the workspace's contracts (a user task may name one with `contract_id`)
CONTRACTS: list[Json] = [
    {"id": 1, "public_id": "0b6c1f0e-4d1a-4c56-9a5e-2f7d8e1c3b21", "contract_name": "Acme master services agreement",
     "contract_type_id": 3, "status": "EXECUTED", "display_status": "EXECUTED",
     "display_status_without_on_hold_check": "EXECUTED", "contract_kind": "UPLOAD_EXECUTED",
     "created": "2025-01-10T12:00:00Z", "created_by_workspace_id": 1, "editor_client": "UNSET", "workflow_id": "8",
     "workflow_name": "Vendor NDA"},
]  # fmt: skip


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "region": "us",
        "intake_workflow_id": str(DEFAULT_WORKFLOW_ID),
    }


def demo_identities() -> list[dict[str, Any]]:
    """Every workspace member as a demo identity: `name`, `email`, `id` (the org user id), `admin` (sees every
    intake), `active` (an inactive member's `user-email` is refused with 403), `default` (the user the
    credentials are linked to, who acts when no `user-email` is sent) and `settings` (the tasklink settings
    that act as this member: the shared service credential plus `user_email`)."""

    return [
        {
            "name": _full_name(user),
            "email": user["email"],
            "id": user["id"],
            "admin": _is_admin(user),
            "active": user["is_active"],
            "default": user["id"] == CREDENTIAL_USER_ID,
            "settings": {**demo_settings(), "user_email": user["email"]},
        }
        for user in USERS
    ]


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
        "find_records": {"kind": "role", "query": ROLES[1]["name"][:3]},
        "update_intake": {"status": "IN_PROGRESS", "priority": "LOW"},
        "update_intake_assignees": {
            "assignees": [
                {"user_id": str(USERS[0]["id"]), "role": "assigned_to"},
                {"user_id": str(USERS[1]["id"]), "role": "collaborator"},
            ]
        },
    }


def put_role_row(store: SandboxStore, intake_id: int, role_id: int, assignee_type: str = "ASSIGNED_TO") -> None:
    """Put a role (team) on an intake, as the SpotDraft app can; the public API only reads such rows."""

    intake = store.get("intake", intake_id)
    if intake is None:
        raise KeyError(f"no intake {intake_id}")
    if not any(r["id"] == role_id for r in ROLES):
        raise KeyError(f"no role {role_id}")
    row = {"entity_id": str(role_id), "entity_type": "ROLE", "assignee_type": assignee_type}
    intake["participants"] = [*intake["participants"], row]
    store.put("intake", intake_id, intake)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _public_error(message: str, status: int = 400, code: str = "SD_PUBLIC_00039") -> JSONResponse:
    body = {"detail": message, "status_code": status, "code": code, "message": message}
    return JSONResponse(body, status_code=status)


def _date_time(value: Any) -> str | None:
    """An RFC 3339 date-time (a date, a time and an offset) in the API's answer form (UTC, `Z`); else None.

    A date alone or a time without an offset is not a `date-time`, so it is refused, never echoed."""

    if not isinstance(value, str) or len(value) < 16 or value[10] not in "Tt ":
        return None
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _user(user_id: Any) -> Json | None:
    return next((u for u in USERS if str(u["id"]) == str(user_id)), None)


def _full_name(user: Json) -> str:
    return f"{user['first_name']} {user['last_name']}"


def _is_admin(user: Json) -> bool:
    return ADMIN_ROLE_ID in user["roles"]


def can_see_intake(user: Json, intake: Json) -> bool:
    """Whether `user` may see (read, change, delete, add tasks to) `intake`: its creator, a person on it (an
    assignee or collaborator row, or a role row for a team they are in) or a workspace admin."""

    if _is_admin(user):
        return True
    creator = intake.get("created_by") or {}
    if str(creator.get("id")) == str(user["id"]):
        return True
    for row in intake["participants"]:
        if row["entity_type"] == "ORG_USER" and str(row["entity_id"]) == str(user["id"]):
            return True
        if row["entity_type"] == "ROLE" and str(row["entity_id"]) in {str(r) for r in user["roles"]}:
            return True
    return False


def _public_org_user(user: Json) -> Json:
    """`PublicOrgUserResponse` (legal intake answers)."""

    return {"id": user["id"], "name": _full_name(user), "email": user["email"], "designation": user["designation"]}


def _organization_user(user: Json) -> Json:
    """`OrganizationUserResponse` (user task answers)."""

    return {
        "id": user["id"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "name": _full_name(user),
        "designation": user["designation"],
        "email": user["email"],
        "is_active": user["is_active"],
        "is_deleted": False,
        "is_primary": user["id"] == CREDENTIAL_USER_ID,
        "organization_id": WORKSPACE["id"],
        "identity_id": str(uuid.uuid5(_IDS, f"user-{user['id']}")),
    }


def _role(role_id: Any) -> Json | None:
    return next((r for r in ROLES if r["id"] == role_id), None)


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


def _one_of(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return "Input should be " + (", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0])


def _check_intake_fields(body: Json, errors: _Errors, *, partial: bool) -> None:
    """`LegalIntakePublicCreateRequest` (partial=False) or `PatchedLegalIntakePublicUpdateRequest`.

    In a PATCH every field is nullable: null clears `description`, `due_date` and `metadata`, and
    leaves the fields an intake always has (`title`, `status`, `priority`) and `assignees` as they are."""

    if "title" not in body:
        if not partial:
            errors.add(["title"], "Field required")
    elif body["title"] is None and partial:
        pass
    elif not isinstance(body["title"], str):
        errors.add(["title"], "Input should be a valid string")
    elif len(body["title"]) < 1:
        errors.add(["title"], "String should have at least 1 character")
    elif len(body["title"]) > 255 and not partial:  # the update schema sets no maximum
        errors.add(["title"], "String should have at most 255 characters")
    if body.get("description") is not None and not isinstance(body["description"], str):
        errors.add(["description"], "Input should be a valid string")
    if "priority" in body and not (partial and body["priority"] is None) and body["priority"] not in PRIORITIES:
        errors.add(["priority"], _one_of(PRIORITIES))
    if partial and body.get("status") is not None and body["status"] not in INTAKE_STATUSES:
        errors.add(["status"], _one_of(INTAKE_STATUSES))
    if body.get("due_date") is not None and _date_time(body["due_date"]) is None:
        errors.add(["due_date"], "Input should be a valid datetime")
    if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
        errors.add(["metadata"], "Input should be a valid dictionary")
    if not partial and body.get("file_ids") is not None:
        if not isinstance(body["file_ids"], list):
            errors.add(["file_ids"], "Input should be a valid list")
        else:
            for i, file_id in enumerate(body["file_ids"]):
                if not _is_uuid(file_id):
                    errors.add(["file_ids", str(i)], "Input should be a valid UUID")
    _check_intake_rows(body.get("assignees"), errors)


def _check_intake_rows(assignees: Any, errors: _Errors) -> None:
    """`LegalIntakeAssigneePublicCreateRequest` rows: a person only (`entity_type` is the constant ORG_USER)."""

    if assignees is None:
        return
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
        elif not isinstance(entity_id, str):
            errors.add([*where, "entity_id"], "Input should be a valid string")
        elif not entity_id:
            errors.add([*where, "entity_id"], "String should have at least 1 character")
        elif row.get("entity_type") == "ORG_USER" and ((user := _user(entity_id)) is None or not user["is_active"]):
            errors.add([*where, "entity_id"], f"No active org user with id {entity_id} in this workspace")
        if "entity_type" not in row:
            errors.add([*where, "entity_type"], "Field required")
        elif row["entity_type"] != "ORG_USER":
            errors.add([*where, "entity_type"], "Input should be 'ORG_USER'")
        if "assignee_type" not in row:
            errors.add([*where, "assignee_type"], "Field required")
        elif row["assignee_type"] not in ASSIGNEE_TYPES:
            errors.add([*where, "assignee_type"], _one_of(ASSIGNEE_TYPES))


def _rows(assignees: list[Json]) -> list[Json]:
    return [
        {"entity_id": r["entity_id"], "entity_type": r["entity_type"], "assignee_type": r["assignee_type"]}
        for r in assignees
    ]


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

    def _intake_tasks(self, intake: Json) -> list[Json]:
        """`LegalIntakeTaskPublicResponse` rows: the tasks associated with the intake."""

        out: list[Json] = []
        for t in self.store.all("task"):
            if not any(
                a["entity_type"] == "LEGAL_INTAKE" and str(a["entity_id"]) == str(intake["id"])
                for a in t["task_associations"]
            ):
                continue
            out.append(
                {
                    "id": t["id"],
                    "title": t["title"],
                    "notes": t.get("notes", ""),
                    "absolute_due_date": t.get("absolute_due_date"),
                    "status": _task_due_status(t.get("absolute_due_date")),
                    "priority": t.get("priority"),
                    "intake_task_status": t.get("intake_task_status"),
                    "reference_id": f"T-{t['id']:04d}",
                }
            )
        return out

    def _intake_detail(self, intake: Json) -> Json:
        """`LegalIntakePublicDetailResponse`."""

        rows = []
        for row in intake["participants"]:
            user = _user(row["entity_id"]) if row["entity_type"] == "ORG_USER" else None
            rows.append(
                {
                    "entity_id": str(row["entity_id"]),
                    "entity_type": row["entity_type"],
                    "assignee_type": row["assignee_type"],
                    "assignee_org_user": _public_org_user(user) if user else None,
                }
            )
        detail = {k: v for k, v in intake.items() if k not in ("participants", "file_ids")}
        detail["assignees"] = [r for r in rows if r["assignee_type"] == "ASSIGNED_TO"]
        detail["collaborators"] = [r for r in rows if r["assignee_type"] == "COLLABORATOR"]
        detail["tasks"] = self._intake_tasks(intake)
        detail["attachments"] = [
            {"uuid": f["uuid"], "name": f["name"]} for f in FILES if f["uuid"] in intake.get("file_ids", [])
        ]
        return detail

    def _visible_intake(self, request: Request) -> Json | None:
        """The path's intake if it exists and the acting user may see it (else None: the caller answers 403)."""

        intake = self.store.get("intake", request.path_params["intake_id"])
        if intake is None or not can_see_intake(self.acting_user(request), intake):
            return None
        return intake

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
        elif not _is_int(workflow_id):
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
        file_ids = [str(f).lower() for f in body.get("file_ids") or []]
        if any(f not in {x["uuid"] for x in FILES} for f in file_ids):
            return _public_error("One or more file_ids not found in workspace")
        with self.store.transaction():
            intake_id = self.store.next_id("intake")
            now = _now()
            due = body.get("due_date")
            intake = {
                "id": intake_id,
                "title": body["title"],
                "description": body.get("description"),
                "status": "PENDING",
                "priority": body.get("priority", "MEDIUM"),
                "due_date": None if due is None else _date_time(due),
                "metadata": body.get("metadata") or {},
                "public_id": str(uuid.uuid4()),
                "reference_id": f"I-{intake_id:04d}",
                "created_by": _public_org_user(self.acting_user(request)),
                "frozen_workflow": {
                    "id": workflow["frozen_id"],
                    "workflow_id": workflow["workflow_id"],
                    "title": workflow["title"],
                    "description": workflow["description"],
                    "type": workflow["type"],
                },
                "participants": _rows(body.get("assignees") or []),
                "file_ids": file_ids,
                "created_at": now,
                "modified_at": now,
            }
            self.store.put("intake", intake_id, intake)
        return JSONResponse(self._intake_detail(intake), status_code=201)

    def _list_intakes(self, request: Request) -> Response:
        q = request.query_params
        errors = _Errors()
        page = _int_param(q.get("page", "1"), "page", errors, minimum=1)
        # the schema sets no maximum; the documented 400 example does ("less than or equal to 100")
        limit = _int_param(q.get("limit", "50"), "limit", errors, minimum=1, maximum=100)
        sort = q.get("sort", "-created_at")
        # '-field' descends, 'field' or '+field' ascends; an unencoded '+' arrives as a space
        key = sort[1:] if sort[:1] in ("-", "+", " ") else sort
        if key not in SORT_FIELDS:
            return JSONResponse({"detail": "Invalid sort field"}, status_code=400)
        filters = _list_filters(q.multi_items(), errors)
        if (response := errors.response()) is not None:
            return response
        actor = self.acting_user(request)
        items = [i for i in self.store.all("intake") if can_see_intake(actor, i)]
        text = (q.get("query") or "").lower()
        if text:
            items = [
                i
                for i in items
                if all(
                    word in f"{i['title']} {i.get('description') or ''} {i['reference_id']}".lower()
                    for word in text.split()
                )
            ]
        for name, op, values in filters:
            if op == "$ne":
                items = [i for i in items if i[name] not in values]
            else:
                items = [i for i in items if i[name] in values]
        rank = {"priority": {p: n for n, p in enumerate(PRIORITIES)}}.get(key)
        items.sort(key=lambda i: rank[i[key]] if rank else (i[key] or ""), reverse=sort.startswith("-"))
        total = len(items)
        start = (page - 1) * limit
        chunk = items[start : start + limit]
        internal = ("participants", "file_ids")
        total_pages = max(1, -(-total // limit))
        return JSONResponse(
            {
                "intakes": [{k: v for k, v in i.items() if k not in internal} for i in chunk],
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
        if body is None:
            body = {}  # the PATCH body is optional: nothing changes
        if not isinstance(body, dict):
            return JSONResponse({"non_field_errors": ["Invalid data. Expected a dictionary."]}, status_code=400)
        errors = _Errors()
        _check_intake_fields(body, errors, partial=True)
        if (response := errors.response()) is not None:
            return response
        for key in ("title", "status", "priority"):
            if body.get(key) is not None:
                intake[key] = body[key]
        for key in ("description", "metadata"):
            if key in body:
                intake[key] = body[key]
        if "due_date" in body:
            intake["due_date"] = None if body["due_date"] is None else _date_time(body["due_date"])
        if body.get("assignees") is not None:
            # The documented contract: the list sent is the desired current set of rows.
            intake["participants"] = _rows(body["assignees"])
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
        if (hidden := self._hidden_intake_link(request, body)) is not None:
            return _public_error(
                f"You do not have permission to add tasks to legal intake {hidden}.", 403, FORBIDDEN_CODE
            )
        category = body.get("task_category", "USER_TASK")
        due = body.get("due_date")
        with self.store.transaction():
            task_id = self.store.next_id("task")
            task: Json = {
                "id": task_id,
                "title": body["title"],
                "notes": body.get("notes", ""),
                "contract_id": body.get("contract_id"),
                "created_by": self.acting_user(request)["id"],
                "absolute_due_date": None if due is None else _date_time(due),
                "created": _now(),
                "assignees": [dict(row) for row in body["assignees"]],
                "task_category": category,
                "task_associations": [
                    {
                        "entity_id": a["entity_id"],
                        "entity_type": a["entity_type"],
                        "association_type": a.get("association_type", "PRIMARY"),
                    }
                    for a in body.get("task_associations") or []
                ],
                "due_date_key_pointer_id": body.get("due_date_key_pointer_id"),
                "reminders": [
                    {"value": r["value"], "type": r.get("type", "DAYS"), "days": r["days"]}
                    for r in body.get("reminders") or []
                ],
            }
            if category == "INTAKE_TASK":
                task["priority"] = body.get("priority", "MEDIUM")
                task["intake_task_status"] = body.get("intake_task_status", "PENDING")
            self.store.put("task", task_id, task)
        return JSONResponse(_task_response(task), status_code=201)

    def _hidden_intake_link(self, request: Request, body: Json) -> int | None:
        """The first associated legal intake the acting user may not see (tasks follow the intake's visibility)."""

        actor = self.acting_user(request)
        for assoc in body.get("task_associations") or []:
            if assoc["entity_type"] == "LEGAL_INTAKE":
                intake = self.store.get("intake", assoc["entity_id"])
                if intake is not None and not can_see_intake(actor, intake):
                    return int(assoc["entity_id"])
        return None

    def _check_task(self, body: Json) -> str | None:
        """`UserTaskCreateRequest`; the first problem, in a SpotDraft public error's words."""

        if "title" not in body:
            return "title: this field is required."
        if not isinstance(body["title"], str) or not body["title"]:
            return "title: a non-blank string is required."
        if "notes" in body and not isinstance(body["notes"], str):
            return 'notes: a string is required (send "" or leave the field out for no notes).'
        category = body.get("task_category", "USER_TASK")
        if category not in TASK_CATEGORIES:
            return f"task_category: '{category}' is not a valid choice."
        is_intake = category == "INTAKE_TASK"
        if "contract_id" in body:
            if not _is_int(body["contract_id"]):
                return "contract_id: a valid integer is required."
            if not any(c["id"] == body["contract_id"] for c in CONTRACTS):
                return f"contract_id: contract {body['contract_id']} not found in this workspace."
        if "assignees" not in body or not isinstance(body["assignees"], list):
            return "assignees: this field is required."
        if not is_intake and not body["assignees"]:
            return "assignees: for non-intake tasks, at least one assignee is required."
        if (problem := _task_assignees_problem(body["assignees"]) or _reminders_problem(body)) is not None:
            return problem
        if "due_date" in body and _date_time(body["due_date"]) is None:
            return "due_date: enter a valid date-time with a time zone (e.g. 2030-05-01T17:00:00Z)."
        if "due_date_key_pointer_id" in body and not _is_int(body["due_date_key_pointer_id"]):
            return "due_date_key_pointer_id: a valid integer is required."
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
        return self._associations_problem(body.get("task_associations", []), is_intake)

    def _associations_problem(self, associations: Any, is_intake: bool) -> str | None:
        if not isinstance(associations, list):
            return "task_associations: a list is required."
        intake_links = []
        for n, assoc in enumerate(associations):
            if not isinstance(assoc, dict):
                return f"task_associations[{n}]: an object is required."
            if "entity_id" not in assoc:
                return f"task_associations[{n}].entity_id: this field is required."
            if not _is_int(assoc["entity_id"]):
                return f"task_associations[{n}].entity_id: a valid integer is required."
            if assoc.get("entity_type") not in ("OBLIGATION", "LEGAL_INTAKE"):
                return f"task_associations[{n}].entity_type: must be OBLIGATION or LEGAL_INTAKE."
            if assoc.get("association_type", "PRIMARY") not in ("PRIMARY", "SECONDARY"):
                return f"task_associations[{n}].association_type: must be PRIMARY or SECONDARY."
            if assoc["entity_type"] == "LEGAL_INTAKE":
                if self.store.get("intake", assoc["entity_id"]) is None:
                    return f"task_associations[{n}].entity_id: legal intake {assoc['entity_id']} not found."
                intake_links.append(assoc)
        if is_intake and not intake_links:
            return "task_associations: an INTAKE_TASK needs a LEGAL_INTAKE association."
        return None

    # -- org users and roles -------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        """`PublicUserWithRolesMinimalListResponse`; `limit` has a default (10) and no documented maximum."""

        if (denied := self.authenticate(request)) is not None:
            return denied
        q = request.query_params
        errors = _Errors()
        page = _int_param(q.get("page", "1"), "page", errors, minimum=1)
        limit = _int_param(q.get("limit", "10"), "limit", errors, minimum=1)
        if (response := errors.response()) is not None:
            return response
        found = USERS
        if email := q.get("user_email"):
            found = [u for u in found if u["email"].lower() == email.lower()]
        if name := q.get("user_name"):
            found = [u for u in found if _full_name(u).lower().startswith(name.lower())]
        start = (page - 1) * limit
        results = [
            {
                "id": u["id"],
                "email": u["email"],
                "name": _full_name(u),
                "designation": u["designation"],
                "roles": [{k: r[k] for k in ("id", "name", "description")} for r in ROLES if r["id"] in u["roles"]],
                "is_active": u["is_active"],
            }
            for u in found[start : start + limit]
        ]
        return JSONResponse({"total_results": len(found), "page": page, "limit": limit, "results": results})

    async def roles(self, request: Request) -> Response:
        """`ExternalUserActiveRolesResponseList`."""

        if (denied := self.authenticate(request)) is not None:
            return denied
        return JSONResponse({"active_roles": [{k: r[k] for k in ("id", "name", "description")} for r in ROLES]})

    async def unslashed(self, request: Request) -> Response:
        path = request.url.path
        if not path.endswith("/"):
            target = path + "/" + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(target, status_code=302)
        return JSONResponse({"detail": "Not found."}, status_code=404)


def _task_assignees_problem(assignees: list[Any]) -> str | None:
    for n, row in enumerate(assignees):
        if not isinstance(row, dict) or ("org_user_id" in row) == ("role_id" in row):
            return f"assignees[{n}]: each assignee must set exactly one of org_user_id or role_id."
        if "org_user_id" in row:
            user = _user(row["org_user_id"])
            if not _is_int(row["org_user_id"]) or user is None or not user["is_active"]:
                return f"assignees[{n}].org_user_id: no active org user {row['org_user_id']} in this workspace."
        elif not _is_int(row["role_id"]) or _role(row["role_id"]) is None:
            return f"assignees[{n}].role_id: no role {row['role_id']} in this workspace."
    return None


def _reminders_problem(body: Json) -> str | None:
    """`reminders`: `ReminderRelativeTime` items, which require `value` and `days`."""

    if "reminders" not in body:
        return None
    if not isinstance(body["reminders"], list):
        return "reminders: a list is required."
    for n, reminder in enumerate(body["reminders"]):
        if not isinstance(reminder, dict):
            return f"reminders[{n}]: an object with value and days is required."
        for key in ("value", "days"):
            if key not in reminder:
                return f"reminders[{n}].{key}: this field is required."
            if not _is_int(reminder[key]):
                return f"reminders[{n}].{key}: a valid integer is required."
        if reminder.get("type", "DAYS") not in DURATION_KINDS:
            return f"reminders[{n}].type: '{reminder['type']}' is not a valid choice."
    return None


def _task_response(task: Json) -> Json:
    """`UserTaskPublicResponse`: a field with no value is left out (none of them is nullable)."""

    task_id = task["id"]
    creator = _user(task["created_by"])
    assert creator is not None
    due = task.get("absolute_due_date")
    assignees: list[Json] = []
    for n, row in enumerate(task["assignees"]):
        entry: Json = {"id": task_id * 10 + n, "user_task_id": task_id}
        if "org_user_id" in row:
            user = _user(row["org_user_id"])
            assert user is not None
            entry["assignee_org_user"] = _organization_user(user)
        else:
            role = _role(row["role_id"])
            assert role is not None
            entry["assignee_role"] = dict(role)
        assignees.append(entry)
    reminders: list[Json] = []
    for n, relative in enumerate(task.get("reminders") or []):
        reminder: Json = {"id": task_id * 10 + n, "user_task_id": task_id, "relative_time": dict(relative)}
        if due is not None:
            when = datetime.fromisoformat(due.replace("Z", "+00:00")) - timedelta(days=relative["days"])
            reminder["absolute_time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        reminders.append(reminder)
    out: Json = {
        "id": task_id,
        "title": task["title"],
        "notes": task.get("notes", ""),
        "created_by_org_user": _organization_user(creator),
        "created_by_workspace": dict(WORKSPACE),
        "created": task["created"],
        "assignees": assignees,
        "status": _task_due_status(due),
        "task_category": task["task_category"],
        "task_associations": [
            {
                "entity_id": str(a["entity_id"]),  # a string in answers, an integer in requests
                "entity_type": a["entity_type"],
                "association_type": a["association_type"],
            }
            for a in task["task_associations"]
        ],
        "reminders": reminders,
    }
    contract = next((c for c in CONTRACTS if c["id"] == task.get("contract_id")), None)
    if contract is not None:
        out["contract"] = dict(contract)
    if due is not None:
        out["absolute_due_date"] = due
    if task.get("due_date_key_pointer_id") is not None:
        out["due_date_key_pointer_id"] = task["due_date_key_pointer_id"]
    return out


def _task_due_status(due: str | None) -> str:
    if due is None:
        return "NO_DATE"
    when = datetime.fromisoformat(due.replace("Z", "+00:00"))
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


def _list_filters(items: list[tuple[str, str]], errors: _Errors) -> list[tuple[str, str, list[str]]]:
    """`filter__<field>` (= `[$eq]`), `filter__<field>[$eq|$in|$ne]` for status and priority."""

    filters: list[tuple[str, str, list[str]]] = []
    for param, value in items:
        if not param.startswith("filter__"):
            continue
        name, bracket, op = param[len("filter__") :].partition("[")
        op = op[:-1] if bracket and op.endswith("]") else ("$eq" if not bracket else "?")
        allowed = {"status": INTAKE_STATUSES, "priority": PRIORITIES}.get(name)
        if allowed is None or op not in ("$eq", "$in", "$ne"):
            errors.add([param], "Unknown filter")
            continue
        values = _split_escaped(value) if op == "$in" else [value]
        if any(v not in allowed for v in values):
            errors.add([name], "Value should be one of " + ", ".join(allowed))
        filters.append((name, op, values))
    return filters


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
        Route("/api/v2.1/public/auth/roles/", sandbox.roles, methods=["GET"]),
        Route("/api/{rest:path}", sandbox.unslashed, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
    ]
    app = sandbox_app("spotdraft", sandbox.store, routes)
    app.router.redirect_slashes = False
    return app
