"""Trackops adapter: case-management tasks — list, get and create (API v1).

Wire facts (seed-docs/001, NOTES.md section 2): one host per customer,
`https://{subdomain}.viewcases.com/api/v1`; HTTP Basic auth with username `{username}/token` and
the company API token as password; `GET /tasks` filters by query parameters and pages with
`page`/`per_page` over a bare JSON array (a short page is the last); `POST /tasks` takes the
task nested under `"task"`. Timestamps are UTC. Records may nest related models under
capitalised keys (CakePHP style), so reads accept both flat and `{"Task": {...}}` shapes.

`find_records` reads the case list (`GET /cases`, "API Reference - Cases", support.trackops.com
article 212338923: filters by ids and dates, none by name, so the newest cases are matched here) and
the subject list (`GET /subjects?name=`, "API Reference - Subjects", article 212338883). Neither
reference publishes a record shape; the fields read are the ones the simulator answers with.
No reference lists calendars.

Every answer is read through the models below (`read_as`): the fields seed-docs/001 names for a
task (its create parameters, the timestamps its list filters range over), the address object, and
the related models the official PHP client reads. Nothing else in an answer can reach a result.

The `*_to` filters mean "on or before" (seed-docs/001 lines 26-36): a bare date given to one is
sent as the last second of that UTC day (`YYYY-MM-DD 23:59:59`), so the named day is included;
a `*_from` date is its first second. Trackops timestamps have whole seconds, so an instant with a
fraction is rounded inwards (a `_from` bound up, a `_to` bound down).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import httpx2
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from ..errors import InvalidInput, VendorUnavailable, field_errors_text
from ..manifests import load_manifests
from ..models import CreateTaskRequest, ListTasksRequest, Task, TaskPage
from ._http import ErrorDetail, VendorRequest, WritePlan, error_object
from .base import (
    FoundRecord,
    RecordMatches,
    VendorAdapter,
    VendorSettings,
    name_matches,
    reject_unknown_vendor_fields,
)
from .responses import VendorRecord, read_as

VENDOR = "trackops"
API_PREFIX = "/api/v1"
TASKS = "/tasks"
CASES = "/cases"
SUBJECTS = "/subjects"
#: find_records reads at most this many pages of cases, newest first (the case list has no name filter)
CASE_PAGES_MAX = 5
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

CREATE_VENDOR_FIELDS = ("casefile_id", "calendar_id", "subject_id", "case_service_id", "alert_at", "address")
REQUIRED_VENDOR_FIELDS = ("casefile_id", "calendar_id")
ADDRESS_FIELDS = ("address_1", "address_2", "address_3", "city", "state", "zip", "country")
_LIMITS = load_manifests()[VENDOR].limits
_STATE_MIN, _STATE_MAX = _LIMITS.require_range("state_length")
STATE_CODE = re.compile(rf"^[A-Za-z0-9]{{{_STATE_MIN},{_STATE_MAX}}}$")
COUNTRY_CODE = re.compile(rf"^[A-Za-z]{{{_LIMITS.require('country_length')}}}$")
SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

ID_FILTERS = ("id", "case", "calendar", "subject", "user")
#: canonical date filter -> its documented alias
DATE_FILTER_ALIASES = {"due_from": "From", "due_to": "To"}
TIMESTAMP_FILTERS = tuple(
    f"{prefix}_{end}" for prefix in ("complete", "alert", "alert_sent", "created", "updated") for end in ("from", "to")
)
LIST_VENDOR_FILTERS = (*ID_FILTERS, "due_from", "due_to", "From", "To", *TIMESTAMP_FILTERS)
#: vendor filter names that have a normalized list_tasks argument
NORMALIZED_FILTER_HINTS = {"title": "text", "status": "status", "page": "cursor", "per_page": "limit"}

#: create body field -> the tool argument the model controls
CREATE_FIELD_NAMES = {
    "title": "title",
    "body": "description",
    "due_on": "due",
    "users_list": "assignees",
    **{name: f"vendor_fields.{name}" for name in CREATE_VENDOR_FIELDS},
}
#: list query parameter -> the tool argument the model controls
LIST_FIELD_NAMES = {
    "status": "status",
    "title": "text",
    "page": "cursor",
    "per_page": "limit",
    **{name: f"vendor_filters.{name}" for name in LIST_VENDOR_FILTERS},
}


# -- what a Trackops answer may carry (seed-docs/001; NOTES.md section 2) ---------------------------


class TrackopsAddress(VendorRecord):
    """The address object (seed-docs/001 lines 72-109); its example gives `zip` as a number."""

    address_1: str | None = None
    address_2: str | None = None
    address_3: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | int | None = None
    country: str | None = None


class TrackopsStaff(VendorRecord):
    """One assigned staff member under `User` (the PHP client reads `$record['User']['name']`)."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None

    def display_name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.name


class TrackopsRelated(VendorRecord):
    """A related model nested under a capitalised key (`Casefile`, `Calendar`, `Subject`, `CaseService`)."""

    id: int
    name: str | None = None
    case_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    casefile_id: int | None = None


class TrackopsTaskRecord(VendorRecord):
    """A task record: the create parameters (seed-docs/001 lines 61-87, plus `alert_at` from its example
    request, line 124), the status (lines 22, 40-45) and the timestamps its list filters range over
    (lines 27-36). Records may be flat or wrapped CakePHP-style as `{"Task": {...}, "User": [...]}`.
    """

    id: int
    title: str | None = None
    body: str | None = None
    #: one of none, needs_action, in_progress, complete (seed-docs/001 line 22); read as text so a
    #: status Trackops adds later is shown as vendor_status rather than refused
    status: str | None = None
    due_on: str | None = None
    casefile_id: int | None = None
    calendar_id: int | None = None
    subject_id: int | None = None
    case_service_id: int | None = None
    alert_at: str | None = None
    alert_sent_at: str | None = None
    completed_at: str | None = None
    created: str | None = Field(None, validation_alias=AliasChoices("created", "created_at"))
    modified: str | None = Field(None, validation_alias=AliasChoices("modified", "updated"))
    address: TrackopsAddress | None = None
    users_list: list[int] = Field(default_factory=list)
    # related models, under their capitalised CakePHP names
    User: list[TrackopsStaff] | None = None
    Casefile: TrackopsRelated | None = None
    Calendar: TrackopsRelated | None = None
    Subject: TrackopsRelated | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        """`{"Task": {...}, "User": [...]}` -> one flat record (the task's own fields win)."""

        if isinstance(data, dict) and isinstance(data.get("Task"), dict):
            return {**{k: v for k, v in data.items() if k != "Task"}, **data["Task"]}
        return data

    @field_validator("address", "Casefile", "Calendar", "Subject", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        # PHP encodes an empty related model (or address) as [] rather than {} or null.
        return None if value == [] or value == {} else value

    @field_validator("User", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("users_list", mode="before")
    @classmethod
    def _no_users(cls, value: Any) -> Any:
        return [] if value is None else value

    def assignee_ids(self) -> list[str]:
        if self.User is not None:
            return [str(s.id) for s in self.User]
        return [str(u) for u in self.users_list]


def _flatten(data: Any, name: str) -> Any:
    """`{"<Name>": {...}, ...}` (CakePHP style) -> one flat record (the record's own fields win)."""

    if isinstance(data, dict) and isinstance(data.get(name), dict):
        return {**{k: v for k, v in data.items() if k != name}, **data[name]}
    return data


class TrackopsCase(VendorRecord):
    """A case from the case list: its id and what a person knows it by (number, name, first reference)."""

    id: int
    case_number: str | None = None
    name: str | None = None
    #: "Value of the 1st reference on the case (e.g. a claim number)" (API Reference - Cases)
    reference_value_1: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        return _flatten(data, "Casefile")

    def record(self) -> FoundRecord:
        details = [f"case number {self.case_number}" if self.case_number and self.name else None]
        details.append(f"reference {self.reference_value_1}" if self.reference_value_1 else None)
        name = self.name or self.case_number or f"Case {self.id}"
        return FoundRecord(id=str(self.id), name=name, kind="case", detail="; ".join(d for d in details if d) or None)


class TrackopsSubject(VendorRecord):
    """A subject from the subject list; `name` is "last, first" for a person (API Reference - Subjects)."""

    id: int
    casefile_id: int | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        return _flatten(data, "Subject")

    def record(self) -> FoundRecord:
        name = self.name or ", ".join(p for p in (self.last_name, self.first_name) if p) or f"Subject {self.id}"
        detail = f"case {self.casefile_id}" if self.casefile_id is not None else None
        return FoundRecord(id=str(self.id), name=name, kind="subject", detail=detail)


class TrackopsErrorBody(VendorRecord):
    """An error answer (no format is published): `{"message", "errors": {field: [messages] | {sub: [...]}}}`."""

    message: str | None = None
    errors: dict[str, Any] | None = None


class TrackopsSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKOPS_", extra="ignore")
    credential_fields: ClassVar[tuple[str, ...]] = ("username", "api_token")

    subdomain: str | None = Field(None, description="Trackops account subdomain ({subdomain}.viewcases.com).")
    username: str | None = Field(None, description="Trackops API username (sent as {username}/token).")
    api_token: SecretStr | None = Field(None, description="Trackops API token.")
    base_url: str | None = Field(None, description="Trackops API base URL (instead of TRACKOPS_SUBDOMAIN).")

    def api_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://{self.subdomain}.viewcases.com{API_PREFIX}"

    def login(self) -> str:
        """The Basic-auth username: `{username}/token` (a `/token` already given is not doubled)."""

        return f"{(self.username or '').removesuffix('/token')}/token"

    def as_env(self, base_url: str) -> dict[str, str]:
        # TRACKOPS_BASE_URL replaces the whole `https://{subdomain}.viewcases.com/api/v1`.
        return super().as_env(base_url.rstrip("/") + API_PREFIX)

    def validate_live(self) -> list[str]:
        if self.base_url:
            parsed = urlparse(self.base_url)
            local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
            if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
                return ["TRACKOPS_BASE_URL must be an https:// URL (the Trackops API is SSL-only)"]
            return []
        if not self.subdomain:
            return ["set TRACKOPS_SUBDOMAIN (the part before .viewcases.com) or TRACKOPS_BASE_URL"]
        if not SUBDOMAIN.match(self.subdomain):
            return [f"TRACKOPS_SUBDOMAIN={self.subdomain!r} is not a host name label (letters, digits, hyphens)"]
        return []


class TrackopsAdapter(VendorAdapter[TrackopsSettings]):
    settings_class = TrackopsSettings
    settings: TrackopsSettings

    @classmethod
    def client_auth(cls, settings: VendorSettings) -> httpx2.Auth | None:
        assert isinstance(settings, TrackopsSettings)
        assert settings.api_token is not None
        return httpx2.BasicAuth(settings.login(), settings.api_token.get_secret_value())

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        """`{"message", "errors": {field: [messages] | {sub: [messages]}}}`; field names become tool arguments."""

        raw = error_object(response)
        if isinstance(raw, ErrorDetail):
            return raw
        try:
            body = TrackopsErrorBody.model_validate(raw)
        except ValidationError:
            return ErrorDetail(message=f"HTTP {response.status_code}")
        message = body.message or f"HTTP {response.status_code}"
        errors = body.errors
        if not errors:
            return ErrorDetail(message=message)
        is_list = response.request.method == "GET"
        renamed = {_argument_name(key, is_list=is_list): value for key, value in errors.items()}
        first = next(iter(errors))
        field = _argument_name(first, is_list=is_list)
        if isinstance(errors[first], dict) and errors[first]:
            field += "." + str(next(iter(errors[first])))
        return ErrorDetail(message=f"{message} — {field_errors_text(renamed)}", field=field)

    # -- create --------------------------------------------------------------------------

    def build_create_task(self, req: CreateTaskRequest) -> VendorRequest:
        reject_unknown_vendor_fields(req.vendor_fields, CREATE_VENDOR_FIELDS, "Trackops")
        _reject_unsupported_create_arguments(req)
        fields = req.vendor_fields
        missing = [f"vendor_fields.{name}" for name in REQUIRED_VENDOR_FIELDS if fields.get(name) in (None, "")]
        if req.due is None:
            missing.insert(0, "due")
        if not req.title.strip():
            missing.insert(0, "title")
        if missing:
            raise InvalidInput(
                "Trackops requires " + ", ".join(f"`{m}`" for m in missing) + " to create a task",
                field=missing[0],
                hint="required: title, due (sent as due_on), vendor_fields.casefile_id (the case: "
                "find_records(vendor='trackops', kind='case')) and vendor_fields.calendar_id (the calendar: "
                "list_tasks(vendor='trackops', vendor_filters={'case': <case id>}) shows links.calendar_id)",
            )
        assert req.due is not None
        task: dict[str, Any] = {
            "casefile_id": _id(fields["casefile_id"], "vendor_fields.casefile_id"),
            "calendar_id": _id(fields["calendar_id"], "vendor_fields.calendar_id"),
            "due_on": req.due.local_date.isoformat(),
            "title": req.title.strip(),
        }
        for name in ("subject_id", "case_service_id"):
            if fields.get(name) is not None:
                task[name] = _id(fields[name], f"vendor_fields.{name}")
        if req.description is not None:
            task["body"] = req.description
        if fields.get("alert_at") not in (None, ""):
            task["alert_at"] = _timestamp(fields["alert_at"], "vendor_fields.alert_at", keep_date=True)
        if fields.get("address") is not None:
            task["address"] = _address(fields["address"])
        if req.assignees:
            task["users_list"] = [_staff_id(a.user_id, a.role_id, n) for n, a in enumerate(req.assignees)]
        return VendorRequest("POST", TASKS, json={"task": task}, action="create task")

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        async def read(data: Any) -> Task:
            record = read_as(TrackopsTaskRecord, data, vendor_title="Trackops", action="create task", write=True)
            return self._task(record, full=True)

        return WritePlan(self.build_create_task(req), read, ok=(200, 201))

    # -- read ----------------------------------------------------------------------------

    async def get_task(self, task_id: str) -> Task:
        number = _id(task_id, "task_id")
        request = VendorRequest("GET", f"{TASKS}/{self.task_segment(str(number))}", action=f"get task {number}")
        data = await self.http.send_json(request)
        return self._task(read_as(TrackopsTaskRecord, data, vendor_title="Trackops", action="get task"), full=True)

    def list_params(self, req: ListTasksRequest) -> list[tuple[str, str]]:
        """The filter query parameters, validated; paging is added by list_tasks."""

        params: list[tuple[str, str]] = []
        if req.status is not None:
            params.append(("status", self.trackops_status(req.status)))
        if req.assignee is not None:
            params.append(("user", str(_id(req.assignee, "assignee"))))
        if req.due_after is not None:
            params.append(("due_from", req.due_after.local_date.isoformat()))
        if req.due_before is not None:
            params.append(("due_to", req.due_before.local_date.isoformat()))
        if req.text is not None and req.text.strip():
            params.append(("title", req.text.strip()))
        params.extend(_vendor_filter_params(req.vendor_filters, params))
        return params

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        params = self.list_params(req)
        query = hashlib.sha256(json.dumps([params, req.limit]).encode()).hexdigest()[:16]
        page = 1
        if req.cursor:
            state = self.cursors.decode(req.cursor)
            if state.get("q") != query or not isinstance(state.get("page"), int):
                raise InvalidInput(
                    "this cursor came from a list_tasks call with different filters or limit",
                    field="cursor",
                    hint="repeat the same filters and limit with the cursor, or drop the cursor to start over",
                )
            page = state["page"]
        request = VendorRequest(
            "GET",
            TASKS,
            params=[*params, ("page", str(page)), ("per_page", str(req.limit))],
            action="list tasks",
        )
        rows = await self.http.send_json(request)
        if not isinstance(rows, list):
            raise VendorUnavailable("Trackops answered list tasks with something other than a JSON array")
        # The documented end of data: fewer records than per_page.
        more = len(rows) >= req.limit
        return TaskPage(
            vendor=VENDOR,
            tasks=[
                self._task(read_as(TrackopsTaskRecord, row, vendor_title="Trackops", action="list tasks"), full=False)
                for row in rows
            ],
            next_cursor=self.cursors.encode({"page": page + 1, "q": query}) if more else None,
        )

    # -- lookups -------------------------------------------------------------------------

    async def find_records(self, kind: str, query: str, limit: int) -> RecordMatches:
        if kind == "subject":
            return await self._find_subjects(query, limit)
        if kind != "case":
            raise self._unimplemented(f"find_records(kind={kind!r})")
        page_size = self.manifest.limits.require("list_tasks_max_limit")  # the largest page tasklink asks for
        found: list[FoundRecord] = []
        for page in range(1, CASE_PAGES_MAX + 1):
            params = [("page", str(page)), ("per_page", str(page_size)), ("dir", "desc")]
            rows = await self.http.send_json(VendorRequest("GET", CASES, params=params, action="find cases"))
            if not isinstance(rows, list):
                raise VendorUnavailable("Trackops answered the case list with something other than a JSON array")
            for row in rows:
                case = read_as(TrackopsCase, row, vendor_title="Trackops", action="find cases")
                if name_matches(query, case.name, case.case_number, case.reference_value_1):
                    found.append(case.record())
            if len(found) >= limit or len(rows) < page_size:
                return RecordMatches(found[:limit])
        searched = CASE_PAGES_MAX * page_size
        return RecordMatches(
            found,
            [f"Only the newest {searched} cases were searched (Trackops has no case name filter); an older case is "
             "found by its id in Trackops"],
        )  # fmt: skip

    async def _find_subjects(self, query: str, limit: int) -> RecordMatches:
        params = [("page", "1"), ("per_page", str(limit))]
        if query:
            params.append(("name", query))  # Trackops' own filter: "Name of the subject (last, first ...)"
        rows = await self.http.send_json(VendorRequest("GET", SUBJECTS, params=params, action="find subjects"))
        if not isinstance(rows, list):
            raise VendorUnavailable("Trackops answered the subject list with something other than a JSON array")
        subjects = [read_as(TrackopsSubject, r, vendor_title="Trackops", action="find subjects") for r in rows]
        return RecordMatches([s.record() for s in subjects])

    def trackops_status(self, value: str) -> str:
        """A normalized status or a Trackops value, as Trackops spells it."""

        unmapped = list(self.manifest.vendor_statuses.unmapped)
        if value in unmapped:
            return value
        try:
            return self.vendor_status(value)
        except InvalidInput:
            allowed = [f"{k} ({v})" for k, v in self.manifest.statuses.items()] + [
                f"{v} (no status set)" for v in unmapped
            ]
            raise InvalidInput(f"Trackops cannot express status {value!r}", field="status", allowed=allowed) from None

    # -- mapping -------------------------------------------------------------------------

    def _task(self, record: TrackopsTaskRecord, *, full: bool) -> Task:
        links = {
            name: str(value)
            for name, value in (
                ("case_id", record.casefile_id),
                ("calendar_id", record.calendar_id),
                ("subject_id", record.subject_id),
                ("case_service_id", record.case_service_id),
            )
            if value is not None
        }
        task = Task(
            vendor=VENDOR,
            id=str(record.id),
            title=record.title or "",
            status=self.normalized_status(record.status),
            vendor_status=record.status,
            due=record.due_on,
            assignees=record.assignee_ids(),
            links=links,
            created_at=_iso_utc(record.created),
        )
        if full:
            task.description = record.body or None
            task.vendor_fields = _full_vendor_fields(record)
        return task


# -- helpers ---------------------------------------------------------------------------------


def _argument_name(wire: str, *, is_list: bool) -> str:
    names = LIST_FIELD_NAMES if is_list else CREATE_FIELD_NAMES
    return names.get(wire, wire)


def _reject_unsupported_create_arguments(req: CreateTaskRequest) -> None:
    if req.status is not None:
        raise InvalidInput(
            "Trackops creates every task with no status ('none'); its create API has no status field",
            field="status",
            hint="leave status out",
        )
    if req.priority is not None:
        raise InvalidInput("Trackops tasks have no priority", field="priority", hint="leave priority out")
    if req.intake_id is not None:
        raise InvalidInput(
            "Trackops tasks belong to cases, not intakes",
            field="intake_id",
            hint="pass the case as vendor_fields.casefile_id",
        )


def _id(value: Any, field: str) -> int:
    """A positive integer id, given as an int or a string of digits."""

    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and int(value) > 0:
        return int(value)
    raise InvalidInput(f"{value!r} is not a Trackops id", field=field, allowed=["a positive integer"])


def _staff_id(user_id: str | None, role_id: str | None, n: int) -> int:
    if role_id is not None or user_id is None:
        raise InvalidInput(
            "Trackops assigns tasks to staff members, not roles",
            field=f"assignees[{n}]",
            allowed=['a staff id such as "12"'],
        )
    return _id(user_id, f"assignees[{n}]")


def _timestamp(value: Any, field: str, *, bound: Literal["from", "to"] | None = None, keep_date: bool = False) -> str:
    """A Trackops UTC timestamp from a date, an ISO datetime with offset, or a UTC datetime without one.

    As a range `bound`, a bare date is its day's first second (`from`) or last second (`to`), and a
    fraction of a second is rounded inwards: the filters mean "on or after" and "on or before".
    """

    allowed = ["YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS (UTC)", "ISO 8601 with offset, e.g. 2030-02-01T09:00:00-05:00"]
    if not isinstance(value, str):
        raise InvalidInput(f"{value!r} is not a date or timestamp", field=field, allowed=allowed)
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{value!r} is not a valid date", field=field, allowed=allowed) from None
        if keep_date:
            return text
        return text + (" 23:59:59" if bound == "to" else " 00:00:00")
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date or timestamp", field=field, allowed=allowed) from None
    # Trackops timestamps are UTC; a value without an offset is taken as UTC, as Trackops reads it.
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC)
    if bound == "from" and instant.microsecond:
        instant += timedelta(seconds=1)
    return instant.strftime(TIMESTAMP_FORMAT)


def _date(value: Any, field: str) -> str:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"{value!r} is not a date", field=field, allowed=["YYYY-MM-DD"])


def _address(value: Any) -> dict[str, Any]:
    field = "vendor_fields.address"
    if not isinstance(value, dict):
        raise InvalidInput("the address must be an object", field=field, allowed=list(ADDRESS_FIELDS))
    unknown = sorted(set(value) - set(ADDRESS_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown address fields {unknown}", field=f"{field}.{unknown[0]}", allowed=list(ADDRESS_FIELDS)
        )
    for key, item in value.items():
        if item is not None and (isinstance(item, bool) or not isinstance(item, str | int)):
            raise InvalidInput(f"{item!r} is not text", field=f"{field}.{key}")
    state = value.get("state")
    if state not in (None, "") and not STATE_CODE.match(str(state)):
        raise InvalidInput(
            f"{state!r} is not a state or province code",
            field=f"{field}.state",
            allowed=["a 2 or 3 character code, e.g. CO or NSW"],
        )
    country = value.get("country")
    if country not in (None, "") and not COUNTRY_CODE.match(str(country)):
        raise InvalidInput(
            f"{country!r} is not a 2-character country code",
            field=f"{field}.country",
            allowed=["a 2-letter code, e.g. US or CA"],
        )
    return dict(value)


def _vendor_filter_params(filters: dict[str, Any], normalized: list[tuple[str, str]]) -> list[tuple[str, str]]:
    unknown = sorted(set(filters) - set(LIST_VENDOR_FILTERS))
    if unknown:
        key = unknown[0]
        instead = NORMALIZED_FILTER_HINTS.get(key)
        raise InvalidInput(
            f"Trackops has no list filter {key!r}",
            field=f"vendor_filters.{key}",
            allowed=list(LIST_VENDOR_FILTERS),
            hint=f"use the list_tasks argument `{instead}` instead" if instead else None,
        )
    given = {name for name, _ in normalized}
    clashes = {"user": "assignee", "due_from": "due_after", "due_to": "due_before"}
    for canonical, alias in DATE_FILTER_ALIASES.items():
        if canonical in filters and alias in filters:
            raise InvalidInput(
                f"`{canonical}` and its alias `{alias}` are the same filter; give one",
                field=f"vendor_filters.{alias}",
            )
    params: list[tuple[str, str]] = []
    for key, value in filters.items():
        field = f"vendor_filters.{key}"
        canonical = next((c for c, a in DATE_FILTER_ALIASES.items() if a == key), key)
        if canonical in given:
            raise InvalidInput(
                f"`{field}` repeats the list_tasks argument `{clashes[canonical]}`; give one",
                field=field,
            )
        if key in ID_FILTERS:
            params.append((key, str(_id(value, field))))
        elif canonical in DATE_FILTER_ALIASES:
            # Sent under the name the caller used: Trackops documents both spellings.
            params.append((key, _date(value, field)))
        else:
            params.append((key, _timestamp(value, field, bound="to" if key.endswith("_to") else "from")))
    return params


def _iso_utc(value: Any) -> str | None:
    """`YYYY-MM-DD HH:MM:SS` (UTC) as RFC 3339 with a Z; anything else unchanged."""

    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        return value
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _full_vendor_fields(record: TrackopsTaskRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "casefile_id": record.casefile_id,
        "calendar_id": record.calendar_id,
        "subject_id": record.subject_id,
        "case_service_id": record.case_service_id,
        "alert_at": _iso_utc(record.alert_at),
        "address": record.address.model_dump(exclude_unset=True) if record.address is not None else None,
        "alert_sent_at": _iso_utc(record.alert_sent_at),
        "completed_at": _iso_utc(record.completed_at),
        "updated_at": _iso_utc(record.modified),
    }
    for key, related in (("case", record.Casefile), ("calendar", record.Calendar), ("subject", record.Subject)):
        if related is not None:
            out[key] = related.model_dump(exclude_none=True)
    names = {str(s.id): s.display_name() for s in record.User or []}
    if names:
        out["assignee_names"] = names
    return out
