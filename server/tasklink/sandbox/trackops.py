"""Trackops simulator: case-management tasks, as documented in "API Reference - Tasks".

Contract (seed-docs/001, NOTES.md section 2): HTTP Basic auth with username `{username}/token`
and the company API token as password, for active Full Access staff only; `GET /api/v1/tasks`
with every documented filter (aliases `From`/`To`, UTC timestamp ranges), `page`/`per_page`
paging over a bare JSON array; `GET /api/v1/tasks/{id}`; `POST /api/v1/tasks` with the body
nested under `"task"`; and, from "API Reference - Cases" and "- Subjects" (support.trackops.com
articles 212338923 and 212338883), `GET /api/v1/cases` and `GET /api/v1/subjects` with their
documented filters (subjects by `name`, "last, first"), paged the same way.

Trackops publishes no error body format, no create status code and no record shape. This
simulator's choices, which the adapter reads and the docs state: records are flat task fields
plus CakePHP-style related models under capitalised keys (`Casefile`, `Calendar`, `Subject`,
`CaseService`, `User`); timestamps are UTC `YYYY-MM-DD HH:MM:SS`; create answers 201; invalid
fields answer 422 `{"message", "errors": {field: [messages]}}` (address errors nested under
`address`); bad query parameters answer 400 in the same shape; auth failures answer 401/403
`{"message"}`; unknown ids answer 404 `{"message"}`. Unknown query parameters are ignored, as a
typical server would — which is why the adapter checks filter names before sending. The `*_to`
filters are "on or before" (seed-docs/001 lines 26-36): a bare date there covers its whole UTC day.
The published example request carries `alert_at` (a date) although the parameter table does not
list it; it is accepted as a date or a UTC timestamp.

Identities (a simulator choice; NOTES.md reads the password as a company-wide token): each staff user
has their own API token (`STAFF[...]["api_token"]`; `demo_identities()` lists them), and only the pair
`{username}/token` + that user's token authenticates (else 401); then only active Full Access staff may
use the API (else 403). A created task records its author as `created_by` (the staff id) with the
related model `CreatedBy` (`{id, first_name, last_name}`); seeded tasks have no recorded author (null).
"""

from __future__ import annotations

import base64
import hmac
import math
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._core import Json, SandboxStore, read_json, sandbox_app

USERNAME = "dana.whitfield"
#: Dana Whitfield's API token (the demo credential); every staff user has their own (`STAFF`)
API_TOKEN = "sandbox-trackops-api-token"  # noqa: S105 - the simulator's published test credential

DEFAULT_PER_PAGE = 25
STATUSES = ("none", "needs_action", "in_progress", "complete")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
ID_FILTERS = {"id": "id", "calendar": "calendar_id", "case": "casefile_id", "subject": "subject_id"}
#: timestamp range filter prefix -> record field
TIMESTAMP_FILTERS = {
    "complete": "completed_at",
    "alert": "alert_at",
    "alert_sent": "alert_sent_at",
    "created": "created",
    "updated": "modified",
}
ADDRESS_KEYS = ("address_1", "address_2", "address_3", "city", "state", "zip", "country")
STATE_CODE = re.compile(r"^[A-Za-z0-9]{2,3}$")
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")

STAFF: list[Json] = [
    {"id": 1, "username": "dana.whitfield", "first_name": "Dana", "last_name": "Whitfield",
     "email": "dana.whitfield@sandbox.example", "access": "full", "active": True, "api_token": API_TOKEN},
    {"id": 2, "username": "omar.reyes", "first_name": "Omar", "last_name": "Reyes",
     "email": "omar.reyes@sandbox.example", "access": "full", "active": True,
     "api_token": "sandbox-trackops-api-token-omar"},
    {"id": 3, "username": "priya.nair", "first_name": "Priya", "last_name": "Nair",
     "email": "priya.nair@sandbox.example", "access": "full", "active": True,
     "api_token": "sandbox-trackops-api-token-priya"},
    {"id": 4, "username": "lee.contractor", "first_name": "Lee", "last_name": "Park",
     "email": "lee.park@sandbox.example", "access": "limited", "active": True,
     "api_token": "sandbox-trackops-api-token-lee"},
    {"id": 5, "username": "sam.former", "first_name": "Sam", "last_name": "Ortiz",
     "email": "sam.ortiz@sandbox.example", "access": "full", "active": False,
     "api_token": "sandbox-trackops-api-token-sam"},
]  # fmt: skip
CASES: list[Json] = [
    {"id": 245, "case_number": "2024-0245", "name": "Hartley v. Northwind Insurance",
     "reference_value_1": "NW-CLM-88213", "client_id": 4, "created_on": "2024-02-27"},
    {"id": 246, "case_number": "2024-0246", "name": "Gomez workers' compensation claim",
     "reference_value_1": "WC-2024-1187", "client_id": 4, "created_on": "2024-03-04"},
    {"id": 247, "case_number": "2024-0247", "name": "Brightline pre-employment screening",
     "reference_value_1": "BL-HR-0319", "client_id": 7, "created_on": "2024-03-15"},
    {"id": 248, "case_number": "2024-0248", "name": "Hartley Logistics cargo theft",
     "reference_value_1": "HL-THEFT-0042", "client_id": 9, "created_on": "2024-03-21"},
]  # fmt: skip
CALENDARS: list[Json] = [
    {"id": 1, "name": "Field Work"},
    {"id": 2, "name": "Office"},
    {"id": 3, "name": "Court Dates"},
]
SUBJECTS: list[Json] = [
    {"id": 209, "casefile_id": 245, "first_name": "Marcus", "last_name": "Hale"},
    {"id": 210, "casefile_id": 245, "first_name": "Joan", "last_name": "Hale"},
    {"id": 211, "casefile_id": 246, "first_name": "Rita", "last_name": "Gomez"},
    {"id": 212, "casefile_id": 247, "first_name": "Owen", "last_name": "Pratt"},
    {"id": 213, "casefile_id": 248, "first_name": "Victor", "last_name": "Hale"},
]
CASE_SERVICES: list[Json] = [
    {"id": 1, "name": "Surveillance"},
    {"id": 2, "name": "Background Investigation"},
    {"id": 3, "name": "Skip Trace"},
]


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {"subdomain": "sandbox", "username": USERNAME, "api_token": API_TOKEN}


def demo_identities() -> list[dict[str, Any]]:
    """Every staff user as a demo identity: `name`, `email`, `id` (the staff id), `username`, `can_use_api`
    (active Full Access; the others get 403), `default` (the demo credential's user) and `settings` (the
    tasklink settings that act as this user)."""

    return [
        {
            "name": f"{s['first_name']} {s['last_name']}",
            "email": s["email"],
            "id": s["id"],
            "username": s["username"],
            "can_use_api": s["active"] and s["access"] == "full",
            "default": s["username"] == USERNAME,
            "settings": {"subdomain": "sandbox", "username": s["username"], "api_token": s["api_token"]},
        }
        for s in STAFF
    ]


def contract_examples() -> dict[str, dict[str, Any]]:
    """Arguments per operation (its tool's name; `reassign_task` is update_task with assignees) that are valid
    against the seed data; the contract suite every vendor runs reads them."""

    return {
        "create_task": {
            "title": "Photograph the accident site",
            "description": "Daylight photos from all four corners.",
            "due": "2031-04-01",
            "assignees": [str(STAFF[1]["id"])],
            "vendor_fields": {"casefile_id": CASES[1]["id"], "calendar_id": CALENDARS[1]["id"]},
        },
        "get_task": {"task_id": str(SEED_TASKS[0]["id"])},
        "list_tasks": {"limit": 2},
        "find_records": {"kind": "case", "query": "Gomez"},
    }


def _now() -> str:
    return datetime.now(UTC).strftime(TIMESTAMP_FORMAT)


def _by_id(rows: list[Json], value: Any) -> Json | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return next((r for r in rows if r["id"] == value), None)


def _seed_task(task_id: int, title: str, status: str, due_on: str, **extra: Any) -> Json:
    task: Json = {
        "id": task_id,
        "title": title,
        "body": extra.pop("body", ""),
        "status": status,
        "due_on": due_on,
        "alert_at": None,
        "alert_sent_at": None,
        "completed_at": None,
        "casefile_id": None,
        "calendar_id": 1,
        "subject_id": None,
        "case_service_id": None,
        "address": None,
        "users_list": [],
        "created_by": None,
        "created": "2024-03-01 14:00:00",
        "modified": "2024-03-01 14:00:00",
    }
    task.update(extra)
    return task


SEED_TASKS: list[Json] = [
    _seed_task(1001, "Surveil claimant at residence", "in_progress", "2024-04-10", casefile_id=245,
               subject_id=209, case_service_id=1, users_list=[1, 2], alert_at="2024-04-09 13:00:00",
               alert_sent_at="2024-04-09 13:00:04", created="2024-03-02 09:15:00",
               modified="2024-04-01 16:20:00",
               address={"address_1": "2000 Blake Street", "address_2": "", "address_3": "",
                        "city": "Denver", "state": "CO", "zip": "80202", "country": "US"}),
    _seed_task(1002, "Pull court records", "complete", "2024-03-20", casefile_id=245, calendar_id=3,
               users_list=[3], completed_at="2024-03-19 21:45:00", created="2024-03-05 11:00:00",
               modified="2024-03-19 21:45:00"),
    _seed_task(1003, "Interview employer", "needs_action", "2024-05-02", casefile_id=246, subject_id=211,
               calendar_id=2, users_list=[2], created="2024-03-10 08:30:00",
               modified="2024-03-10 08:30:00"),
    _seed_task(1004, "Draft final report", "none", "2024-06-30", casefile_id=246, calendar_id=2,
               case_service_id=2, users_list=[1], created="2024-03-12 17:05:00",
               modified="2024-03-12 17:05:00"),
    _seed_task(1005, "Renew investigator licence", "none", "2024-07-15", calendar_id=2,
               users_list=[1], body="Not tied to any case.", created="2024-03-15 10:00:00",
               modified="2024-03-15 10:00:00"),
    _seed_task(1006, "Verify education history", "needs_action", "2024-04-25", casefile_id=247,
               case_service_id=2, users_list=[3, 4], alert_at="2024-04-20 15:00:00",
               created="2024-03-18 12:40:00", modified="2024-03-18 12:40:00"),
]  # fmt: skip


def _seed(store: SandboxStore) -> None:
    for task in SEED_TASKS:
        store.put("task", task["id"], task)
    store.next_id("task", start=max(t["id"] for t in SEED_TASKS))


def _message(message: str, status: int, errors: Json | None = None) -> JSONResponse:
    body: Json = {"message": message}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _parse_timestamp(value: Any, *, end_of_day: bool = False) -> datetime | None:
    """A UTC timestamp; a bare date is the start (or, for `_to`, the end) of that UTC day."""

    if not isinstance(value, str):
        return None
    day = _parse_date(value)
    if day is not None:
        return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _stored_timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


class _Errors:
    def __init__(self) -> None:
        self.fields: Json = {}

    def add(self, field: str, message: str, *, under: str | None = None) -> None:
        node = self.fields.setdefault(under, {}) if under else self.fields
        node.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields)


class TrackopsSandbox:
    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        store.seed_once(_seed)

    # -- auth ----------------------------------------------------------------------------

    @staticmethod
    def authenticate(request: Request) -> Response | None:
        staff = TrackopsSandbox.staff_of(request)
        return staff if isinstance(staff, Response) else None

    @staticmethod
    def staff_of(request: Request) -> Json | Response:
        """The staff user whose credentials the request carries, or the 401/403 answer to send instead."""

        header = request.headers.get("authorization", "")
        challenge = {"WWW-Authenticate": 'Basic realm="Trackops API"'}
        if not header.lower().startswith("basic "):
            return JSONResponse({"message": "Authentication required"}, status_code=401, headers=challenge)
        try:
            username, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except ValueError:
            return JSONResponse({"message": "Malformed Authorization header"}, status_code=401, headers=challenge)
        login, suffix = username.rsplit("/", 1) if "/" in username else (username, "")
        if suffix != "token":
            return JSONResponse(
                {"message": "API requests authenticate as '{username}/token' with the API token as password"},
                status_code=401,
                headers=challenge,
            )
        staff = next((s for s in STAFF if s["username"] == login), None)
        if staff is None or not hmac.compare_digest(password.encode(), str(staff["api_token"]).encode()):
            return JSONResponse({"message": "Invalid username or API token"}, status_code=401, headers=challenge)
        if not staff["active"] or staff["access"] != "full":
            return _message("Only active Full Access employees may use the API", 403)
        return staff

    # -- rendering -----------------------------------------------------------------------

    @staticmethod
    def render(task: Json) -> Json:
        """The task's own fields plus its related models under capitalised keys."""

        record = {k: v for k, v in task.items() if k != "users_list"}
        record["created_by"] = task.get("created_by")  # absent from tasks stored before authors were kept
        case = _by_id(CASES, task["casefile_id"])
        subject = _by_id(SUBJECTS, task["subject_id"])
        service = _by_id(CASE_SERVICES, task["case_service_id"])
        record["Casefile"] = dict(case) if case else None
        record["Calendar"] = dict(_by_id(CALENDARS, task["calendar_id"]) or {}) or None
        record["Subject"] = dict(subject) if subject else None
        record["CaseService"] = dict(service) if service else None
        record["User"] = [
            {"id": s["id"], "first_name": s["first_name"], "last_name": s["last_name"]}
            for s in STAFF
            if s["id"] in task["users_list"]
        ]
        author = _by_id(STAFF, record["created_by"])
        record["CreatedBy"] = (
            {"id": author["id"], "first_name": author["first_name"], "last_name": author["last_name"]}
            if author
            else None
        )
        return record

    # -- list ----------------------------------------------------------------------------

    def _filters(self, request: Request, errors: _Errors) -> list[Any]:
        """Predicates over stored tasks, one per given filter."""

        q = request.query_params
        predicates: list[Any] = []
        for name, field in ID_FILTERS.items():
            if name in q:
                value = _positive_int(q[name])
                if value is None:
                    errors.add(name, "must be a positive integer")
                else:
                    predicates.append(lambda t, f=field, v=value: t[f] == v)
        if "user" in q:
            user = _positive_int(q["user"])
            if user is None:
                errors.add("user", "must be a positive integer")
            else:
                predicates.append(lambda t, v=user: v in t["users_list"])
        if "title" in q:
            needle = q["title"].lower()
            predicates.append(lambda t, v=needle: v in t["title"].lower())
        if "status" in q:
            if q["status"] not in STATUSES:
                errors.add("status", "must be one of " + ", ".join(STATUSES))
            else:
                predicates.append(lambda t, v=q["status"]: t["status"] == v)
        for name, alias, after in (("due_from", "From", True), ("due_to", "To", False)):
            given = name if name in q else alias if alias in q else None
            if given is None:
                continue
            day = _parse_date(q[given])
            if day is None:
                errors.add(given, "must be a date (YYYY-MM-DD)")
            elif after:
                predicates.append(lambda t, d=day: date.fromisoformat(t["due_on"]) >= d)
            else:
                predicates.append(lambda t, d=day: date.fromisoformat(t["due_on"]) <= d)
        for prefix, field in TIMESTAMP_FILTERS.items():
            for suffix in ("from", "to"):
                name = f"{prefix}_{suffix}"
                if name not in q:
                    continue
                bound = _parse_timestamp(q[name], end_of_day=suffix == "to")
                if bound is None:
                    errors.add(name, "must be a UTC timestamp (YYYY-MM-DD HH:MM:SS) or a date")
                    continue
                predicates.append(_range_predicate(field, bound, after=suffix == "from"))
        return predicates

    async def tasks(self, request: Request) -> Response:
        staff = self.staff_of(request)
        if isinstance(staff, Response):
            return staff
        if request.method == "POST":
            return await self._create(request, staff)
        errors = _Errors()
        q = request.query_params
        page = _positive_int(q.get("page", "1"))
        per_page = _positive_int(q.get("per_page", str(DEFAULT_PER_PAGE)))
        if page is None:
            errors.add("page", "must be a positive integer")
        if per_page is None:
            errors.add("per_page", "must be a positive integer")
        direction = q.get("dir", "asc").lower()
        if direction not in ("asc", "desc"):
            errors.add("dir", "must be asc or desc")
        predicates = self._filters(request, errors)
        if errors or page is None or per_page is None:
            return _message("Invalid request parameters", 400, errors.fields)
        found = [t for t in self.store.all("task") if all(p(t) for p in predicates)]
        found.sort(key=lambda t: int(t["id"]), reverse=direction == "desc")
        if q.get("mode") == "count":
            return JSONResponse({"record_count": len(found), "page_count": math.ceil(len(found) / per_page)})
        start = (page - 1) * per_page
        return JSONResponse([self.render(t) for t in found[start : start + per_page]])

    async def task(self, request: Request) -> Response:
        if (denied := self.authenticate(request)) is not None:
            return denied
        task = self.store.get("task", request.path_params["task_id"])
        if task is None:
            return _message("Task not found", 404)
        return JSONResponse(self.render(task))

    # -- create --------------------------------------------------------------------------

    async def _create(self, request: Request, author: Json) -> Response:
        body, bad = await read_json(request)
        if bad is not None:
            return _message("Malformed JSON in request body", 400)
        if not isinstance(body, dict) or not isinstance(body.get("task"), dict):
            return _message('The request body must be a JSON object nested under "task"', 400)
        fields: Json = body["task"]
        errors = _Errors()
        _check_task(fields, errors)
        if errors:
            return _message("The task could not be saved. Please correct the errors and try again.", 422, errors.fields)
        with self.store.transaction():
            task_id = self.store.next_id("task")
            now = _now()
            alert = _parse_timestamp(fields.get("alert_at")) if fields.get("alert_at") else None
            address = fields.get("address")
            task = _seed_task(
                task_id,
                fields["title"].strip(),
                "none",
                fields["due_on"],
                body=fields.get("body") or "",
                casefile_id=fields["casefile_id"],
                calendar_id=fields["calendar_id"],
                subject_id=fields.get("subject_id"),
                case_service_id=fields.get("case_service_id"),
                alert_at=alert.strftime(TIMESTAMP_FORMAT) if alert else None,
                address={k: str(address.get(k) or "") for k in ADDRESS_KEYS} if address else None,
                users_list=list(fields.get("users_list") or []),
                created_by=author["id"],
                created=now,
                modified=now,
            )
            self.store.put("task", task_id, task)
        return JSONResponse(self.render(task), status_code=201)


def _range_predicate(field: str, bound: datetime, *, after: bool) -> Any:
    def matches(task: Json) -> bool:
        value = _stored_timestamp(task.get(field))
        if value is None:
            return False
        return value >= bound if after else value <= bound

    return matches


def _positive_int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_task(fields: Json, errors: _Errors) -> None:
    title = fields.get("title")
    if title is not None and not isinstance(title, str):
        errors.add("title", "must be a string")
    elif title is None or not title.strip():
        errors.add("title", "This field is required")
    if "body" in fields and fields["body"] is not None and not isinstance(fields["body"], str):
        errors.add("body", "must be a string")
    if "due_on" not in fields or fields["due_on"] in (None, ""):
        errors.add("due_on", "This field is required")
    elif _parse_date(fields["due_on"]) is None:
        errors.add("due_on", "must be a date (YYYY-MM-DD)")
    # The id parameters are integers (seed-docs/001 lines 64-67).
    for name in ("casefile_id", "calendar_id", "subject_id", "case_service_id"):
        if fields.get(name) is not None and not _is_int(fields[name]):
            errors.add(name, "must be an integer")
    case = fields.get("casefile_id")
    if case is None:
        errors.add("casefile_id", "This field is required")
    elif _is_int(case) and _by_id(CASES, case) is None:
        errors.add("casefile_id", f"Case {case} does not exist")
    calendar = fields.get("calendar_id")
    if calendar is None:
        errors.add("calendar_id", "This field is required")
    elif _is_int(calendar) and _by_id(CALENDARS, calendar) is None:
        errors.add("calendar_id", f"Calendar {calendar} does not exist")
    subject_id = fields.get("subject_id")
    if _is_int(subject_id):
        subject = _by_id(SUBJECTS, subject_id)
        if subject is None:
            errors.add("subject_id", f"Subject {subject_id} does not exist")
        elif subject["casefile_id"] != case:
            errors.add("subject_id", f"Subject {subject_id} is not connected to case {case}")
    service = fields.get("case_service_id")
    if _is_int(service) and _by_id(CASE_SERVICES, service) is None:
        errors.add("case_service_id", f"Case service {service} does not exist")
    alert = fields.get("alert_at")
    if alert not in (None, "") and _parse_timestamp(alert) is None:
        errors.add("alert_at", "must be a date or a UTC timestamp (YYYY-MM-DD HH:MM:SS)")
    _check_address(fields.get("address"), errors)
    _check_users(fields.get("users_list"), errors)


def _check_address(address: Any, errors: _Errors) -> None:
    if address is None:
        return
    if not isinstance(address, dict):
        errors.add("address", "must be an object")
        return
    for key, value in address.items():
        if key not in ADDRESS_KEYS:
            errors.add(key, "is not an address field", under="address")
        elif value is not None and not isinstance(value, str | int):
            errors.add(key, "must be a string", under="address")
    state = address.get("state")
    if state not in (None, "") and not STATE_CODE.match(str(state)):
        errors.add("state", "must be a 2 or 3 character state or province code", under="address")
    country = address.get("country")
    if country not in (None, "") and not COUNTRY_CODE.match(str(country)):
        errors.add("country", "must be a 2-character country code", under="address")


def _check_users(users: Any, errors: _Errors) -> None:
    if users is None:
        return
    if not isinstance(users, list):
        errors.add("users_list", "must be an array of staff IDs")
        return
    for user in users:
        staff = _by_id(STAFF, user)
        if staff is None or not staff["active"]:
            errors.add("users_list", f"{user!r} is not the ID of an active staff member")


def _subject_record(subject: Json) -> Json:
    """A subject as the subject list answers it: a person's `name` is "last, first" (API Reference - Subjects)."""

    name = f"{subject['last_name']}, {subject['first_name']}"
    return {**subject, "name": name, "subject_type_id": 1, "is_primary": subject["id"] in (209, 211)}


def _listing(request: Request, rows: list[Json], filters: dict[str, str]) -> Response:
    """A case or subject list: the id filters given (`filters`: parameter -> field), `page`/`per_page`/`dir`
    and `mode=count`, as the task list pages. Other documented filters are accepted and not applied."""

    q = request.query_params
    errors = _Errors()
    page = _positive_int(q.get("page", "1"))
    per_page = _positive_int(q.get("per_page", str(DEFAULT_PER_PAGE)))
    for name, value in (("page", page), ("per_page", per_page)):
        if value is None:
            errors.add(name, "must be a positive integer")
    for name, field in filters.items():
        if name in q:
            wanted = _positive_int(q[name])
            if wanted is None:
                errors.add(name, "must be a positive integer")
            rows = [r for r in rows if r.get(field) == wanted]
    if errors or page is None or per_page is None:
        return _message("Invalid request parameters", 400, errors.fields)
    rows = sorted(rows, key=lambda r: int(r["id"]), reverse=q.get("dir", "asc").lower() == "desc")
    if q.get("mode") == "count":
        return JSONResponse({"record_count": len(rows), "page_count": math.ceil(len(rows) / per_page)})
    return JSONResponse(rows[(page - 1) * per_page : page * per_page])


async def cases(request: Request) -> Response:
    if (denied := TrackopsSandbox.authenticate(request)) is not None:
        return denied
    return _listing(request, [dict(c) for c in CASES], {"id": "id", "client": "client_id"})


async def subjects(request: Request) -> Response:
    if (denied := TrackopsSandbox.authenticate(request)) is not None:
        return denied
    rows = [_subject_record(s) for s in SUBJECTS]
    wanted = request.query_params.get("name", "").strip().lower()
    if wanted:  # the whole name ("last, first") or one of its parts starts with it
        rows = [r for r in rows if any(p.startswith(wanted) for p in (r["name"].lower(), *r["name"].lower().split()))]
    return _listing(request, rows, {"id": "id", "case": "casefile_id", "subject_type": "subject_type_id"})


def create_app(db_path: Path | str) -> Any:
    sandbox = TrackopsSandbox(SandboxStore(db_path))
    routes = [
        Route("/api/v1/tasks", sandbox.tasks, methods=["GET", "POST"]),
        Route("/api/v1/tasks/{task_id:int}", sandbox.task, methods=["GET"]),
        Route("/api/v1/cases", cases, methods=["GET"]),
        Route("/api/v1/subjects", subjects, methods=["GET"]),
    ]
    return sandbox_app("trackops", sandbox.store, routes)
