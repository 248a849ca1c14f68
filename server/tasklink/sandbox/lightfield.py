"""Lightfield simulator: CRM tasks, task definitions and workspace members, as documented.

Contract: lightfield-tasks-api-openapi.yml (task create/list/retrieve/update/definitions), the
member list of the full OpenAPI file, the API conventions (idempotency, rate limits, list
index, error envelope) and the SDK's soft delete. Behaviour worth knowing:

- `Authorization: Bearer <key>` (401) and `Lightfield-Version: 2026-03-01` (400 `version_header`)
  on every request; a body without `Content-Type: application/json` answers 415.
- Create answers 200; writes take bare values, reads wrap them (`{value, valueType}`, relationships
  `{cardinality, objectType, values}`); `additionalProperties: false` → 400 `unknown_field` + `param`.
- Error bodies are bare `{type, message, code?, param?}`, as the OpenAPI error schemas and the docs'
  own 429 and 409 examples show them (the errors page wraps them in `{"error": …}`; the adapter reads
  both; tests/test_lightfield_adapter.py::test_lightfield_error_envelope_contradiction).
- List filters `key[operator]=value` (a leading `-` negates; no operator means `equal` where the value
  type allows it, else `contains`): each value type allows only some operators (docs: list endpoints,
  "Operators by value type"); another is 400 `invalid_configuration`. Relationships filter by their
  definition slug, which is organisation-specific (`$task-owner_member` for the assignee here, never a
  guessed `$task-assignedTo`); an unknown slug is 400 `unknown_relationship`. The slugs are in
  `GET /v1/tasks/definitions` (each relationship definition's `slug`) and can be changed on
  `relationship_slugs` to act as another organisation.
- Update takes null for any field (the TaskUpdate schema allows it): null clears the value, even
  `$title` and `$status`; create needs both as strings.
- `Idempotency-Key` (≤ 255 chars, 24 h, per operation type): a replay returns the original
  response, a duplicate while the first is in flight answers 409 `idempotency_conflict`, and a
  failed original is not cached.
- 25 requests/s per category (Write, Read, Search) with `X-RateLimit-*` headers; 429 + `Retry-After`.
- Lists are served from a search index that lags writes by `index_lag` seconds; `catch_up()`
  indexes everything now. The clock is injectable so tests never sleep.
- DELETE is a soft delete that returns the record; trashed tasks are hidden from retrieve and
  update (404) and from the default list (`status=trashed` shows them). Deleting a trashed task
  again is a no-op that returns the record.
- API keys belong to one member each (`MEMBER_KEYS`; `demo_identities()` lists them): a create without
  `relationships.$createdBy` records the member whose key made it (the SDK: "$createdBy defaults to the
  authenticated user"); an unknown key is 401.
- `GET /v1/accounts` and `GET /v1/opportunities` (account.list, opportunity.list; Search) list the
  seeded accounts and opportunities a task can point at, filtered like tasks by `$name` (TEXT:
  `equal`, `startsWith`); any other filter is 400 `unknown_field`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._core import Json, SandboxStore, sandbox_app

API_KEY = "sk_lf_sandbox_tasklink_0001"

API_VERSION = "2026-03-01"
STATUSES = ("TODO", "IN_PROGRESS", "COMPLETE", "CANCELLED")
APP_URL = "https://crm.lightfield.app/crm"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_KEY_MAX = 255
PAGE_MAX = 25
RELATIONSHIP_WRITE_MAX = 25
DEFAULT_RATE_LIMIT = 25
DEFAULT_INDEX_LAG = 0.5
#: the member the demo key (`API_KEY`) belongs to: a create with it and no $createdBy records them
KEY_OWNER = "mem_sam0001"

MEMBERS: list[Json] = [
    {"id": "mem_sam0001", "first": "Sam", "last": "Okafor", "email": "sam@northwind.example", "role": "Admin"},
    {"id": "mem_priya02", "first": "Priya", "last": "Natarajan", "email": "priya@northwind.example", "role": "Member"},
    {"id": "mem_dana003", "first": "Dana", "last": "Whitfield", "email": "dana@northwind.example", "role": "Member"},
]
#: each API key -> the member it belongs to (a key is created by, and acts as, one member)
MEMBER_KEYS: dict[str, str] = {
    API_KEY: KEY_OWNER,
    "sk_lf_sandbox_tasklink_0002": "mem_priya02",
    "sk_lf_sandbox_tasklink_0003": "mem_dana003",
}
#: related records a task may point at, by object type
ACCOUNTS: list[Json] = [
    {"id": "acc_acme001", "name": "Acme Corp", "website": "https://acme.example"},
    {"id": "acc_globex02", "name": "Globex", "website": "https://globex.example"},
    {"id": "acc_acmelog3", "name": "Acme Logistics", "website": "https://acme-logistics.example"},
    {"id": "acc_initech4", "name": "Initech", "website": "https://initech.example"},
]
OPPORTUNITIES: list[Json] = [
    {"id": "opp_acme_renewal", "name": "Acme renewal 2027", "stage": "Negotiation", "account": "acc_acme001"},
    {"id": "opp_globex_exp05", "name": "Globex expansion", "stage": "Discovery", "account": "acc_globex02"},
    {"id": "opp_acmelog_pil6", "name": "Acme Logistics pilot", "stage": "Proposal", "account": "acc_acmelog3"},
]
RECORDS: dict[str, dict[str, str]] = {
    "member": {m["id"]: f"{m['first']} {m['last']}" for m in MEMBERS},
    "account": {a["id"]: a["name"] for a in ACCOUNTS},
    "opportunity": {o["id"]: o["name"] for o in OPPORTUNITIES},
    "contact": {"con_wile001": "Wile E. Coyote"},
    "note": {},
}

FIELD_DEFINITIONS: dict[str, Json] = {
    "$title": {"id": "fd_task_title", "label": "Title", "description": "Title of the task.", "valueType": "TEXT",
               "readOnly": False, "typeConfiguration": {}},
    "$status": {"id": "fd_task_status", "label": "Status", "description": "Task status.",
                "valueType": "SINGLE_SELECT", "readOnly": False,
                "typeConfiguration": {"options": [{"id": f"opt_task_{s.lower()}", "label": s} for s in STATUSES]}},
    "$description": {"id": "fd_task_description", "label": "Description",
                     "description": "Description of the task in markdown format.", "valueType": "MARKDOWN",
                     "readOnly": False, "typeConfiguration": {}},
    "$dueAt": {"id": "fd_task_due_at", "label": "Due", "description": "Due date as an ISO 8601 datetime string.",
               "valueType": "DATETIME", "readOnly": False, "typeConfiguration": {}},
}  # fmt: skip
#: this organisation's relationship definition slugs (what list filters name as `$task-<slug>`)
RELATIONSHIP_SLUGS: dict[str, str] = {
    "$assignedTo": "owner_member",
    "$account": "account",
    "$opportunity": "opportunity",
    "$createdBy": "creator_member",
    "$note": "note",
    "champion": "champion",
}
RELATIONSHIP_DEFINITIONS: dict[str, Json] = {
    "$assignedTo": {"id": "rd_task_assigned_to", "label": "Assigned to", "cardinality": "HAS_ONE",
                    "objectType": "member", "description": "The member this task is assigned to."},
    "$account": {"id": "rd_task_account", "label": "Account", "cardinality": "HAS_ONE",
                 "objectType": "account", "description": "The account this task belongs to."},
    "$opportunity": {"id": "rd_task_opportunity", "label": "Opportunity", "cardinality": "HAS_ONE",
                     "objectType": "opportunity", "description": "The opportunity this task is associated with."},
    "$createdBy": {"id": "rd_task_created_by", "label": "Created by", "cardinality": "HAS_ONE",
                   "objectType": "member", "description": "The member who created this task."},
    "$note": {"id": "rd_task_note", "label": "Notes", "cardinality": "HAS_MANY", "objectType": "note",
              "description": "Notes on this task (read-only; manage notes via their own relationships)."},
    "champion": {"id": "rd_task_champion", "label": "Champion", "cardinality": "HAS_ONE",
                 "objectType": "contact", "description": "Custom: the customer contact driving this task."},
}  # fmt: skip
READ_ONLY_RELATIONSHIPS = ("$note",)
FIELD_VALUE_TYPES = {k: v["valueType"] for k, v in FIELD_DEFINITIONS.items()}
_COMPARE = ("equal", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual")
#: list filter operators by value type (docs: using-the-api/list-endpoints, "Operators by value type");
#: MULTI_SELECT and MARKDOWN are not filterable; relationships take `equal`/`contains` alike on their slug
OPERATORS: dict[str, tuple[str, ...]] = {
    "NUMBER": _COMPARE,
    "CURRENCY": _COMPARE,
    "DATETIME": _COMPARE,
    "TEXT": ("equal", "startsWith"),
    "FULL_NAME": ("equal", "startsWith"),
    "SOCIAL_HANDLE": ("equal", "startsWith"),
    "ADDRESS": ("equal", "startsWith"),
    "CHECKBOX": ("equal",),
    "SINGLE_SELECT": ("equal",),
    "EMAIL": ("contains",),
    "TELEPHONE": ("contains",),
    "URL": ("contains",),
    "MULTI_SELECT": (),
    "MARKDOWN": (),
    "RELATIONSHIP": ("equal", "contains"),
}
FILTER_PARAM = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<neg>-?)(?P<op>[A-Za-z]+)\])?$")


def demo_settings() -> dict[str, str]:
    """The settings that reach this simulator with its demo credentials (the registry reads them)."""

    return {"api_key": API_KEY}


def demo_identities() -> list[dict[str, Any]]:
    """Every member with an API key as a demo identity: `name`, `email`, `id` (the member id), `role`,
    `default` (the demo key's member) and `settings` (the tasklink settings that act as this member)."""

    members = {m["id"]: m for m in MEMBERS}
    return [
        {
            "name": f"{members[member_id]['first']} {members[member_id]['last']}",
            "email": members[member_id]["email"],
            "id": member_id,
            "role": members[member_id]["role"],
            "default": key == API_KEY,
            "settings": {"api_key": key},
        }
        for key, member_id in MEMBER_KEYS.items()
    ]


def contract_examples() -> dict[str, dict[str, Any]]:
    """Arguments per operation (its tool's name; `reassign_task` is update_task with assignees) that are valid
    against the seed data; the contract suite every vendor runs reads them."""

    return {
        "create_task": {
            "title": "Send the renewal quote",
            "description": "Include the multi-year discount.",
            "due": "2031-05-15",
            "assignees": [MEMBERS[0]["id"]],
            "vendor_fields": {"$account": "acc_acme001"},
        },
        "list_tasks": {"limit": 2},
        "update_task": {"title": "Send the revised renewal quote", "status": "in_progress"},
        "reassign_task": {"assignees": [MEMBERS[1]["id"]]},
        "find_people": {"query": MEMBERS[1]["first"]},
        "find_records": {"kind": "account", "query": "Acme"},
    }


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(instant, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ApiError(Exception):
    """One Lightfield error answer, rendered bare as the OpenAPI error schemas have it."""

    TYPES: ClassVar[dict[int, str]] = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
        415: "unsupported_media_type",
        422: "unprocessable_content",
        429: "too_many_requests",
    }

    def __init__(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None, type: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"type": type or self.TYPES.get(status, "internal_server_error"), "message": message}
        if code is not None:
            self.body["code"] = code
        if param is not None:
            self.body["param"] = param

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=headers)


def bad_request(message: str, code: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, code=code, param=param)


@dataclass
class Bucket:
    """A token bucket: `limit` requests, refilled at `limit` per second."""

    limit: float
    tokens: float
    updated: float

    def take(self, now: float) -> tuple[bool, dict[str, str], float]:
        self.tokens = min(self.limit, self.tokens + (now - self.updated) * self.limit)
        self.updated = now
        allowed = self.tokens >= 1
        if allowed:
            self.tokens -= 1
        full_at = now + (self.limit - self.tokens) / self.limit
        headers = {
            "X-RateLimit-Limit": str(int(self.limit)),
            "X-RateLimit-Remaining": str(int(self.tokens)),
            "X-RateLimit-Reset": str(math.ceil(full_at)),
        }
        wait = 0.0 if allowed else (1 - self.tokens) / self.limit
        return allowed, headers, wait


class LightfieldSandbox:
    """State and behaviour of the simulator; reachable as `app.state.lightfield`."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        index_lag: float = DEFAULT_INDEX_LAG,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.index_lag = index_lag
        self.rate_limit = rate_limit
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        #: this organisation's relationship slugs; tests change them to act as another organisation
        self.relationship_slugs = dict(RELATIONSHIP_SLUGS)
        #: tests: when set, writes pause after claiming their idempotency key until `hold` is set
        self.hold: anyio.Event | None = None
        self.held: anyio.Event | None = None

    # -- test controls -------------------------------------------------------------------

    def catch_up(self) -> int:
        """Index every pending write now, whatever the lag; returns how many were applied."""

        return self._apply_index(until=math.inf)

    def task_count(self, *, include_trashed: bool = False) -> int:
        return self.store.count("task", include_deleted=include_trashed)

    # -- request plumbing ----------------------------------------------------------------

    def _check_common(self, request: Request, category: str) -> dict[str, str]:
        """Auth, version header and rate limit; returns the rate-limit headers for the answer."""

        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Missing API key. Send Authorization: Bearer <key>.")
        if token not in MEMBER_KEYS:
            raise ApiError(401, "Invalid API key.")
        if request.headers.get("lightfield-version") != API_VERSION:
            raise bad_request(
                f"The Lightfield-Version header is missing or invalid. Send Lightfield-Version: {API_VERSION}.",
                "version_header",
                "Lightfield-Version",
            )
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(category)
            if bucket is None or bucket.limit != self.rate_limit:
                bucket = self._buckets[category] = Bucket(self.rate_limit, self.rate_limit, now)
            allowed, headers, wait = bucket.take(now)
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            raise _RateLimited(headers)
        return headers

    @staticmethod
    def key_member(request: Request) -> str:
        """The member whose API key made this (authenticated) request."""

        return MEMBER_KEYS[request.headers.get("authorization", "").partition(" ")[2]]

    async def _json_body(self, request: Request) -> Any:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, "Request bodies must be JSON: send Content-Type: application/json.")
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            raise bad_request("The request body is not valid JSON.", "invalid_type") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.", "invalid_type")
        return body

    async def _handle(self, request: Request, category: str, run: Callable[[], Any]) -> Response:
        headers: dict[str, str] = {}
        try:
            headers = self._check_common(request, category)
            status, body = await run()
        except _RateLimited as limited:
            return JSONResponse(
                {"type": "too_many_requests", "message": "Rate limit exceeded. Please try again later."},
                status_code=429,
                headers=limited.headers,
            )
        except ApiError as err:
            return err.response(headers)
        return JSONResponse(body, status_code=status, headers=headers)

    async def _idempotent(self, request: Request, operation: str, write: Callable[[], Any]) -> tuple[int, Json]:
        """Run `write` at most once per Idempotency-Key; replay the first success."""

        key = request.headers.get("idempotency-key")
        if key is None:
            return await write()  # type: ignore[no-any-return]
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise bad_request(
                f"The Idempotency-Key header exceeds the maximum length ({IDEMPOTENCY_KEY_MAX} characters).",
                "idempotency_key_too_long",
                "Idempotency-Key",
            )
        slot = f"{operation}:{key}"
        cached = self.store.get("idempotency", slot)
        if cached is not None and self.clock() - cached["at"] < IDEMPOTENCY_TTL_SECONDS:
            return int(cached["status"]), cached["body"]
        with self._lock:
            if slot in self._in_flight:
                raise ApiError(
                    409,
                    "An operation with this idempotency key is already in progress. Please wait and retry.",
                    type="idempotency_conflict",
                )
            self._in_flight.add(slot)
        try:
            if self.hold is not None:
                if self.held is not None:
                    self.held.set()
                await self.hold.wait()
            status, body = await write()
            self.store.put("idempotency", slot, {"status": status, "body": body, "at": self.clock()})
            return status, body
        finally:
            with self._lock:
                self._in_flight.discard(slot)

    # -- rendering -----------------------------------------------------------------------

    @staticmethod
    def render(task: Json) -> Json:
        fields = {
            key: {"value": task["fields"].get(key), "valueType": value_type}
            for key, value_type in FIELD_VALUE_TYPES.items()
        }
        relationships = {}
        for key, ids in task["relationships"].items():
            definition = RELATIONSHIP_DEFINITIONS[key]
            relationships[key] = {
                "cardinality": definition["cardinality"].lower(),
                "objectType": definition["objectType"],
                "values": list(ids),
            }
        return {
            "id": task["id"],
            "createdAt": task["createdAt"],
            "updatedAt": task["updatedAt"],
            "httpLink": f"{APP_URL}/tasks/{task['id']}",
            "externalId": None,
            "fields": fields,
            "relationships": relationships,
        }

    # -- search index --------------------------------------------------------------------

    def _queue_index(self, task: Json, *, trashed: bool) -> None:
        seq = self.store.next_id("index_seq")
        entry = {"seq": seq, "task": task, "trashed": trashed, "visible_at": self.clock() + self.index_lag}
        self.store.put("index_pending", seq, entry)

    def _apply_index(self, until: float) -> int:
        """Move pending writes whose time has come into the index, oldest first."""

        applied = 0
        with self.store.transaction():
            for entry in self.store.all("index_pending"):
                if entry["visible_at"] > until:
                    continue
                task = entry["task"]
                self.store.put("index", task["id"], {"task": task, "trashed": entry["trashed"]})
                self.store.delete("index_pending", entry["seq"])
                applied += 1
        return applied

    # -- validation ----------------------------------------------------------------------

    @staticmethod
    def _check_top_level(body: Json, *, create: bool) -> None:
        for key in body:
            if key not in ("fields", "relationships"):
                raise bad_request(f"Unknown field '{key}'.", "unknown_field", key)
        if create:
            for key in ("fields", "relationships"):
                if key not in body:
                    raise bad_request(f"'{key}' is required.", "parameter_missing", key)
        for key in ("fields", "relationships"):
            if key in body and not isinstance(body[key], dict):
                raise bad_request(f"'{key}' must be an object.", "invalid_type", key)

    @staticmethod
    def _check_fields(fields: Json, *, create: bool) -> Json:
        for key in fields:
            if key not in FIELD_DEFINITIONS:
                raise bad_request(
                    f"Unknown field '{key}' for tasks. Tasks only support the documented system fields: "
                    + ", ".join(FIELD_DEFINITIONS)
                    + ".",
                    "unknown_field",
                    f"fields.{key}",
                )
        if create:
            for key in ("$title", "$status"):
                if key not in fields:
                    raise bad_request(f"fields.{key} is required.", "parameter_missing", f"fields.{key}")
        out: Json = {}
        for key, value in fields.items():
            param = f"fields.{key}"
            if value is None:  # TaskUpdate allows null for every field (it clears the value); TaskCreate does not
                if create and key in ("$title", "$status"):
                    raise bad_request(f"{param} must be a string.", "invalid_type", param)
                out[key] = None
                continue
            if not isinstance(value, str):
                raise bad_request(f"{param} must be a string.", "invalid_type", param)
            if key == "$title" and not value.strip():
                raise bad_request(f"{param} must not be empty.", "invalid_type", param)
            if key == "$status" and value not in STATUSES:
                raise bad_request(
                    f"{param} must be one of {', '.join(STATUSES)}; got '{value}'.", "invalid_type", param
                )
            if key == "$dueAt":
                parsed = _parse_datetime(value)
                if parsed is None:
                    raise bad_request(f"{param} must be an ISO 8601 datetime string.", "invalid_type", param)
                value = parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out[key] = value
        return out

    @staticmethod
    def _check_ids(key: str, value: Any, param: str) -> list[str]:
        if key not in RELATIONSHIP_DEFINITIONS:
            raise bad_request(
                f"Unknown relationship '{key}' for tasks; the task definitions list the available keys.",
                "unknown_relationship",
                param,
            )
        if key in READ_ONLY_RELATIONSHIPS:
            raise bad_request(
                f"The {key} relationship is read-only; manage notes via their own relationships.",
                "invalid_configuration",
                param,
            )
        ids = [value] if isinstance(value, str) else value
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request(f"{param} must be an entity ID or an array of entity IDs.", "invalid_type", param)
        if len(ids) > RELATIONSHIP_WRITE_MAX:
            raise ApiError(
                422,
                f"At most {RELATIONSHIP_WRITE_MAX} IDs may be written to a relationship per request.",
                code="relationship_write_limit_exceeded",
                param=param,
            )
        object_type = RELATIONSHIP_DEFINITIONS[key]["objectType"]
        missing = [i for i in ids if i not in RECORDS[object_type]]
        if missing:
            raise bad_request(
                f"No {object_type} found with ID(s) {', '.join(missing)}.", "relationship_entity_missing", param
            )
        return list(dict.fromkeys(ids))

    @staticmethod
    def _check_cardinality(key: str, ids: list[str], param: str) -> None:
        if RELATIONSHIP_DEFINITIONS[key]["cardinality"] == "HAS_ONE" and len(ids) > 1:
            raise bad_request(f"{key} is a has_one relationship; give one ID.", "invalid_type", param)

    def _check_create_relationships(self, relationships: Json, author: str) -> dict[str, list[str]]:
        if "$assignedTo" not in relationships:
            raise bad_request(
                "relationships.$assignedTo is required.", "parameter_missing", "relationships.$assignedTo"
            )
        out: dict[str, list[str]] = {}
        for key, value in relationships.items():
            param = f"relationships.{key}"
            ids = self._check_ids(key, value, param)
            self._check_cardinality(key, ids, param)
            if ids:
                out[key] = ids
        if not out.get("$assignedTo"):
            raise bad_request(
                "relationships.$assignedTo needs a member ID.", "parameter_missing", "relationships.$assignedTo"
            )
        out.setdefault("$createdBy", [author])  # "defaults to the authenticated user" (the key's member)
        return out

    def _apply_relationship_ops(self, current: dict[str, list[str]], relationships: Json) -> dict[str, list[str]]:
        out = {k: list(v) for k, v in current.items()}
        for key, op in relationships.items():
            param = f"relationships.{key}"
            self._check_ids(key, [], param)
            if not isinstance(op, dict) or not op:
                raise bad_request(f"{param} must be an object with add, remove or replace.", "invalid_type", param)
            for name in op:
                if name not in ("add", "remove", "replace"):
                    raise bad_request(f"Unknown operation '{name}' on {param}.", "unknown_field", f"{param}.{name}")
            ids = list(out.get(key, []))
            if "replace" in op:
                if op["replace"] is None:
                    if key in ("$assignedTo", "$createdBy"):
                        raise bad_request(f"{key} cannot be cleared.", "invalid_configuration", f"{param}.replace")
                    ids = []
                else:
                    ids = self._check_ids(key, op["replace"], f"{param}.replace")
            if "add" in op:
                ids += [i for i in self._check_ids(key, op["add"], f"{param}.add") if i not in ids]
            if "remove" in op:
                removed = self._check_ids(key, op["remove"], f"{param}.remove")
                ids = [i for i in ids if i not in removed]
            self._check_cardinality(key, ids, param)
            if key == "$assignedTo" and not ids:
                raise bad_request("A task must stay assigned to a member.", "invalid_configuration", param)
            if ids:
                out[key] = ids
            else:
                out.pop(key, None)
        return out

    # -- tasks ---------------------------------------------------------------------------

    async def tasks(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._handle(request, "Search", lambda: self._list_tasks(request))
        return await self._handle(request, "Write", lambda: self._create_task(request))

    async def _create_task(self, request: Request) -> tuple[int, Json]:
        body = await self._json_body(request)

        async def write() -> tuple[int, Json]:
            self._check_top_level(body, create=True)
            fields = self._check_fields(body["fields"], create=True)
            relationships = self._check_create_relationships(body["relationships"], self.key_member(request))
            now = _iso(self.clock())
            task_id = f"tsk_{uuid.uuid4().hex[:20]}"
            task: Json = {
                "id": task_id,
                "seq": self.store.next_id("task_seq"),
                "createdAt": now,
                "updatedAt": None,
                "fields": {k: fields.get(k) for k in FIELD_DEFINITIONS},
                "relationships": relationships,
            }
            with self.store.transaction():
                self.store.put("task", task_id, task)
                self._queue_index(task, trashed=False)
            return 200, self.render(task)

        return await self._idempotent(request, "create:task", write)

    def _task_or_404(self, task_id: str) -> Json:
        task = self.store.get("task", task_id)
        if task is None:
            raise ApiError(404, "No resource found in 'tasks' with the given ID.")
        return task

    async def task(self, request: Request) -> Response:
        task_id = request.path_params["task_id"]
        if request.method == "GET":
            return await self._handle(request, "Read", lambda: self._retrieve(task_id))
        if request.method == "DELETE":
            return await self._handle(request, "Write", lambda: self._delete(task_id))
        return await self._handle(request, "Write", lambda: self._update(request, task_id))

    async def _retrieve(self, task_id: str) -> tuple[int, Json]:
        return 200, self.render(self._task_or_404(task_id))

    async def _update(self, request: Request, task_id: str) -> tuple[int, Json]:
        body = await self._json_body(request)

        async def write() -> tuple[int, Json]:
            task = self._task_or_404(task_id)
            self._check_top_level(body, create=False)
            fields = self._check_fields(body.get("fields") or {}, create=False)
            relationships = self._apply_relationship_ops(task["relationships"], body.get("relationships") or {})
            task["fields"].update(fields)
            task["relationships"] = relationships
            task["updatedAt"] = _iso(self.clock())
            with self.store.transaction():
                self.store.put("task", task_id, task)
                self._queue_index(task, trashed=False)
            return 200, self.render(task)

        return await self._idempotent(request, "update:task", write)

    async def _delete(self, task_id: str) -> tuple[int, Json]:
        task = self.store.get("task", task_id, include_deleted=True)
        if task is None:
            raise ApiError(404, "No resource found in 'tasks' with the given ID.")
        if not self.store.is_deleted("task", task_id):
            task["updatedAt"] = _iso(self.clock())
            with self.store.transaction():
                self.store.put("task", task_id, task, deleted=True)
                self._queue_index(task, trashed=True)
        return 200, self.render(task)

    async def _list_tasks(self, request: Request) -> tuple[int, Json]:
        offset, limit = _paging(request)
        status = "active"
        filters: list[tuple[str, bool, str, str]] = []
        for name, value in request.query_params.multi_items():
            if name in ("offset", "limit"):
                continue
            if name == "status":
                if value not in ("active", "trashed"):
                    raise bad_request("status must be 'active' or 'trashed'.", "invalid_type", "status")
                status = value
                continue
            filters.append(_parse_filter(name, value, self.relationship_slugs))
        self._apply_index(until=self.clock())
        rows = [r for r in self.store.all("index") if r["trashed"] == (status == "trashed")]
        rows = [r for r in rows if all(_matches(r["task"], f) for f in filters)]
        rows.sort(key=lambda r: (r["task"]["createdAt"], r["task"]["seq"]), reverse=True)
        page = rows[offset : offset + limit]
        return 200, {"object": "list", "data": [self.render(r["task"]) for r in page], "totalCount": len(rows)}

    async def definitions(self, request: Request) -> Response:
        async def run() -> tuple[int, Json]:
            return 200, {
                "objectType": "task",
                "fieldDefinitions": FIELD_DEFINITIONS,
                "relationshipDefinitions": {
                    key: {**definition, "slug": self.relationship_slugs[key]}
                    for key, definition in RELATIONSHIP_DEFINITIONS.items()
                },
            }

        return await self._handle(request, "Read", run)

    # -- members -------------------------------------------------------------------------

    @staticmethod
    def render_member(member: Json) -> Json:
        return {
            "id": member["id"],
            "createdAt": "2026-01-05T09:00:00.000Z",
            "updatedAt": None,
            "httpLink": f"{APP_URL}/settings/members/{member['id']}",
            "fields": {
                "$email": {"value": member["email"], "valueType": "EMAIL"},
                "$name": {
                    "value": {"firstName": member["first"], "lastName": member["last"]},
                    "valueType": "FULL_NAME",
                },
                "$profileImage": {"value": None, "valueType": "URL"},
                "$role": {"value": member["role"], "valueType": "TEXT"},
            },
            "relationships": {},
        }

    async def members(self, request: Request) -> Response:
        async def run() -> tuple[int, Json]:
            offset, limit = _paging(request)
            for name in request.query_params:
                if name not in ("offset", "limit"):
                    raise bad_request(f"Unknown parameter '{name}'.", "unknown_field", name)
            page = MEMBERS[offset : offset + limit]
            return 200, {"object": "list", "data": [self.render_member(m) for m in page], "totalCount": len(MEMBERS)}

        return await self._handle(request, "Search", run)

    async def member(self, request: Request) -> Response:
        async def run() -> tuple[int, Json]:
            found = next((m for m in MEMBERS if m["id"] == request.path_params["member_id"]), None)
            if found is None:
                raise ApiError(404, "No resource found in 'members' with the given ID.")
            return 200, self.render_member(found)

        return await self._handle(request, "Read", run)

    async def not_found(self, request: Request) -> Response:
        async def run() -> tuple[int, Json]:
            raise ApiError(404, f"No route for {request.method} {request.url.path}.")

        return await self._handle(request, "Read", run)


class _RateLimited(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("rate limited")
        self.headers = headers


def _paging(request: Request) -> tuple[int, int]:
    values = {}
    for name, default, low, high in (("offset", 0, 0, 2**53 - 1), ("limit", PAGE_MAX, 1, PAGE_MAX)):
        raw = request.query_params.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except ValueError:
            raise bad_request(f"{name} must be an integer.", "invalid_type", name) from None
        if not low <= value <= high:
            raise bad_request(f"{name} must be between {low} and {high}.", "invalid_type", name)
        values[name] = value
    return values["offset"], values["limit"]


def _filter_type(key: str, slugs: dict[str, str], param: str) -> tuple[str, str]:
    """(value type, record path) for a filter key; an unknown field or relationship slug is a 400."""

    if key in FIELD_VALUE_TYPES:
        return FIELD_VALUE_TYPES[key], key
    if key.startswith("$task-"):
        slug = key.removeprefix("$task-")
        for rel, known in slugs.items():
            if known == slug:
                return "RELATIONSHIP", rel
        raise bad_request(
            f"Unknown relationship '{key}' for tasks. Relationship filters use the definition slug "
            "($task-<slug>) that the task definitions give.",
            "unknown_relationship",
            param,
        )
    raise bad_request(
        f"Unknown filter '{key}'. Filter fields by key ($title, $status, $description, $dueAt) and "
        "relationships by definition slug ($task-<slug>, as the task definitions give it).",
        "unknown_field",
        param,
    )


def _parse_filter(name: str, value: str, slugs: dict[str, str]) -> tuple[str, bool, str, str]:
    match = FILTER_PARAM.match(name)
    if match is None:
        raise bad_request(f"Unknown parameter '{name}'. Filters look like $status[equal]=TODO.", "unknown_field", name)
    value_type, path = _filter_type(match["key"], slugs, name)
    allowed = OPERATORS.get(value_type, ())
    if not allowed:
        raise bad_request(f"{match['key']} is a {value_type} field, which lists cannot filter.",
                          "invalid_configuration", name)  # fmt: skip
    op = match["op"] or ("equal" if "equal" in allowed else "contains")
    if op not in allowed:
        raise bad_request(
            f"Operator '{op}' is not available for {match['key']} ({value_type}); use one of {', '.join(allowed)}.",
            "invalid_configuration",
            name,
        )
    if value_type == "DATETIME" and _parse_datetime(value) is None:
        raise bad_request(f"{name} must be an ISO 8601 datetime.", "invalid_type", name)
    return path, bool(match["neg"]), op, value


def _matches(task: Json, flt: tuple[str, bool, str, str]) -> bool:
    path, negate, op, wanted = flt
    if path in FIELD_VALUE_TYPES:
        actual = task["fields"].get(path)
        if actual is None:
            hit = False
        elif FIELD_VALUE_TYPES[path] == "DATETIME":
            a, w = _parse_datetime(actual), _parse_datetime(wanted)
            assert a is not None and w is not None
            hit = {
                "equal": a == w,
                "greaterThan": a > w,
                "greaterThanOrEqual": a >= w,
                "lessThan": a < w,
                "lessThanOrEqual": a <= w,
            }[op]
        else:  # `startsWith` with an empty value matches every record where the field is set and non-empty
            text, needle = str(actual).lower(), wanted.lower()
            hit = {
                "equal": text == needle,
                "startsWith": bool(text) and text.startswith(needle),
                "contains": needle in text,
            }[op]
    else:  # relationships: `equal` and `contains` behave the same
        hit = wanted in task["relationships"].get(path, [])
    return hit != negate


def _entity(row: Json, object_type: str) -> Json:
    """An account or opportunity as account.list and opportunity.list answer it."""

    fields: Json = {"$name": {"value": row["name"], "valueType": "TEXT"}}
    relationships: Json = {}
    if object_type == "account":
        fields["$website"] = {"value": row["website"], "valueType": "URL"}
    else:
        fields["$stage"] = {"value": row["stage"], "valueType": "SINGLE_SELECT"}
        relationships["$account"] = {"cardinality": "has_one", "objectType": "account", "values": [row["account"]]}
    return {
        "id": row["id"],
        "createdAt": "2026-01-12T10:00:00.000Z",
        "updatedAt": None,
        "httpLink": f"{APP_URL}/{object_type}s/{row['id']}",
        "fields": fields,
        "relationships": relationships,
    }


def _name_hit(name: str, op: str, wanted: str) -> bool:
    # `startsWith` with an empty value matches every record whose name is set (docs: list endpoints)
    return name == wanted if op == "equal" else bool(name) and name.startswith(wanted)


def entity_list(sandbox: LightfieldSandbox, object_type: str, rows: list[Json]) -> Callable[[Request], Any]:
    """The list route of accounts or opportunities: paging and the `$name` filters (TEXT: equal, startsWith)."""

    async def route(request: Request) -> Response:
        async def run() -> tuple[int, Json]:
            offset, limit = _paging(request)
            found = rows
            for name, value in request.query_params.multi_items():
                if name in ("offset", "limit"):
                    continue
                match = FILTER_PARAM.match(name)
                if match is None or match["key"] != "$name":
                    raise bad_request(f"Unknown filter '{name}' for {object_type}s.", "unknown_field", name)
                op = match["op"] or "equal"
                if op not in OPERATORS["TEXT"]:
                    raise bad_request(
                        f"Operator '{op}' is not available for $name (TEXT).", "invalid_configuration", name
                    )
                wanted, negate = value.lower(), bool(match["neg"])
                found = [r for r in found if _name_hit(r["name"].lower(), op, wanted) != negate]
            page = found[offset : offset + limit]
            return 200, {"object": "list", "data": [_entity(r, object_type) for r in page], "totalCount": len(found)}

        return await sandbox._handle(request, "Search", run)

    return route


def create_app(
    db_path: Path | str,
    *,
    index_lag: float = DEFAULT_INDEX_LAG,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    clock: Callable[[], float] = time.time,
) -> Any:
    sandbox = LightfieldSandbox(SandboxStore(db_path), index_lag=index_lag, rate_limit=rate_limit, clock=clock)
    routes = [
        Route("/v1/tasks", sandbox.tasks, methods=["GET", "POST"]),
        Route("/v1/tasks/definitions", sandbox.definitions, methods=["GET"]),
        Route("/v1/tasks/{task_id}", sandbox.task, methods=["GET", "POST", "DELETE"]),
        Route("/v1/members", sandbox.members, methods=["GET"]),
        Route("/v1/members/{member_id}", sandbox.member, methods=["GET"]),
        Route("/v1/accounts", entity_list(sandbox, "account", ACCOUNTS), methods=["GET"]),
        Route("/v1/opportunities", entity_list(sandbox, "opportunity", OPPORTUNITIES), methods=["GET"]),
        Route("/{rest:path}", sandbox.not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app = sandbox_app("lightfield", sandbox.store, routes)
    app.state.lightfield = sandbox
    return app
