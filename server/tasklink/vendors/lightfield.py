"""Lightfield adapter: CRM tasks and workspace members (REST API version 2026-03-01).

Wire facts: base `https://api.lightfield.app`, every path under `/v1/`; `Authorization: Bearer
<key>` and `Lightfield-Version: 2026-03-01` on every request; writes take bare `$`-prefixed field
values and relationships, reads wrap them (`{value, valueType}`, `{cardinality, objectType,
values}`); create answers 200; update is `POST /v1/tasks/{id}` with `{add|remove|replace}`
relationship operations; DELETE is a soft delete that returns the record; lists come from a search
index that lags writes, so every write is read back by id; `Idempotency-Key` is honoured on
create and update, which is what makes resending a write after a 429 or 5xx safe.
"""

from __future__ import annotations

from typing import Any, ClassVar

import anyio
import httpx2
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ..errors import InvalidInput, NotFound, TaskLinkError
from ..models import (
    AssigneeRef,
    CreateTaskRequest,
    ListTasksRequest,
    Person,
    Task,
    TaskPage,
    UpdateTaskRequest,
    utc_iso,
)
from ._http import ErrorDetail, VendorRequest, WritePlan, error_object
from .base import VendorAdapter, VendorSettings, decode_cursor, encode_cursor

API_VERSION = "2026-03-01"
DEFAULT_BASE_URL = "https://api.lightfield.app"
TASKS = "/v1/tasks"
MEMBERS = "/v1/members"
#: how many member pages find_people reads (the member list has no documented name filter)
MEMBER_PAGES_MAX = 8

#: system relationships a caller may set through vendor_fields; bare slugs are custom relationships
VENDOR_RELATIONSHIPS = ("$account", "$opportunity", "$createdBy")
#: `$`-keys that have a normalized argument instead
NORMALIZED_KEYS = {
    "$title": "title",
    "$status": "status",
    "$description": "description",
    "$dueAt": "due",
    "$assignedTo": "assignees",
}
#: filter keys list_tasks passes through in vendor_filters besides `<key>[<operator>]`
VENDOR_FILTER_PARAMS = ("status",)
#: list query parameters → the list_tasks argument that produced them
FILTER_ARGS = {
    "$status": "status",
    "$task-assignedTo": "assignee",
    "$title": "text",
    "$dueAt": "due_after/due_before",
    "offset": "cursor",
    "limit": "limit",
}


class LightfieldSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="LIGHTFIELD_", extra="ignore")
    credential_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    api_key: SecretStr | None = Field(None, description="Lightfield API key (sk_lf_…).")
    base_url: str = Field(DEFAULT_BASE_URL, description="Lightfield API base URL.")

    def api_base_url(self) -> str:
        return self.base_url.rstrip("/")

    def validate_live(self) -> list[str]:
        base = self.api_base_url()
        problems = []
        if not base.startswith(("https://", "http://")):
            problems.append(f"LIGHTFIELD_BASE_URL={base!r} must be an http(s) URL such as {DEFAULT_BASE_URL}")
        if base.endswith("/v1"):
            problems.append(f"LIGHTFIELD_BASE_URL must not end in /v1 (paths already start with /v1/); use {base[:-3]}")
        return problems


def param_to_argument(param: str | None) -> str | None:
    """A Lightfield error `param` (`fields.$title`, `relationships.$account.replace`...) → tool argument."""

    if not param:
        return None
    if param == "Idempotency-Key":
        return "idempotency_key"
    head, _, rest = param.partition(".")
    if head in ("fields", "relationships") and rest:
        key = rest.split(".")[0]
        return NORMALIZED_KEYS.get(key, f"vendor_fields.{key}")
    if head in ("fields", "relationships"):
        return "vendor_fields"
    key = param.split("[")[0]
    if key in FILTER_ARGS:
        return FILTER_ARGS[key]
    return f"vendor_filters.{param}" if "[" in param or param == "status" else param


def _value(entity: dict[str, Any], key: str) -> Any:
    cell = (entity.get("fields") or {}).get(key)
    return cell.get("value") if isinstance(cell, dict) else cell


def _ids(entity: dict[str, Any], key: str) -> list[str]:
    rel = (entity.get("relationships") or {}).get(key)
    if isinstance(rel, dict):
        return [str(v) for v in rel.get("values") or []]
    return []


class LightfieldAdapter(VendorAdapter[LightfieldSettings]):
    settings_class = LightfieldSettings
    settings: LightfieldSettings

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        assert isinstance(settings, LightfieldSettings)
        assert settings.api_key is not None
        return {
            "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
            "Lightfield-Version": API_VERSION,
        }

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        """The errors page wraps the body in `{"error": {...}}`; the OpenAPI schemas do not. Take both."""

        body = error_object(response)
        if isinstance(body, ErrorDetail):
            return body
        wrapped = body.get("error")
        error: dict[str, Any] = wrapped if isinstance(wrapped, dict) else body
        message = error.get("message")
        if not isinstance(message, str) or not message:
            detail = error.get("detail")
            message = detail if isinstance(detail, str) and detail else f"HTTP {response.status_code}"
        code = error.get("code") or error.get("type")
        param = error.get("param") if isinstance(error.get("param"), str) else None
        if param:
            message = f"{message} (param `{param}`)"
        return ErrorDetail(message=message, code=str(code) if code else None, field=param_to_argument(param))

    # -- building requests ---------------------------------------------------------------

    @property
    def page_max(self) -> int:
        return self.manifest.limits.require("list_page_max")

    @staticmethod
    def _member_ids(assignees: list[AssigneeRef], field: str = "assignees") -> list[str]:
        ids: list[str] = []
        for n, who in enumerate(assignees):
            if who.role_id is not None or not who.user_id:
                raise InvalidInput(
                    "Lightfield tasks are assigned to members, not roles",
                    field=f"{field}[{n}]",
                    hint="pass member ids (mem_…) from find_people(vendor='lightfield', query=...)",
                )
            ids.append(who.user_id)
        return ids

    def _assignee(self, assignees: list[AssigneeRef]) -> str:
        ids = self._member_ids(assignees)
        if not ids:
            raise InvalidInput(
                "Lightfield requires the $assignedTo relationship: every task is assigned to one member",
                field="assignees",
                hint="find the member id with find_people(vendor='lightfield', query=...)",
            )
        if len(set(ids)) > 1:
            raise InvalidInput(
                "a Lightfield task has exactly one assignee ($assignedTo is has_one)",
                field="assignees",
                allowed=["one member id"],
            )
        return ids[0]

    @staticmethod
    def _relationship_fields(vendor_fields: dict[str, Any]) -> dict[str, Any]:
        """vendor_fields → relationships: $account, $opportunity, $createdBy and custom slugs."""

        out: dict[str, Any] = {}
        for key, value in vendor_fields.items():
            field = f"vendor_fields.{key}"
            if key in NORMALIZED_KEYS:
                raise InvalidInput(
                    f"set {key} with the `{NORMALIZED_KEYS[key]}` argument, not vendor_fields",
                    field=field,
                )
            if key.startswith("$") and key not in VENDOR_RELATIONSHIPS:
                raise InvalidInput(
                    f"Lightfield tasks have no {key}; tasks take only the documented system fields",
                    field=field,
                    allowed=[*VENDOR_RELATIONSHIPS, "<custom relationship slug>"],
                )
            if not key or not key.replace("-", "").replace("_", "").lstrip("$").isalnum():
                raise InvalidInput(f"{key!r} is not a relationship key", field=field)
            ids = [value] if isinstance(value, str) else value
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
                raise InvalidInput(
                    "relationship values are one entity id or a list of entity ids",
                    field=field,
                    allowed=['"acc_…"', '["acc_…"]'],
                )
            out[key] = value
        return out

    def build_create_task(self, req: CreateTaskRequest) -> VendorRequest:
        if req.priority is not None:
            raise InvalidInput("Lightfield tasks have no priority", field="priority", hint="leave it out")
        if req.intake_id is not None:
            raise InvalidInput("intake_id is SpotDraft only", field="intake_id", hint="leave it out")
        fields: dict[str, Any] = {
            "$title": req.title,
            "$status": self.vendor_status(req.status or "todo"),
        }
        if req.description is not None:
            fields["$description"] = req.description
        if req.due is not None:
            fields["$dueAt"] = utc_iso(req.due.instant)
        relationships = {"$assignedTo": self._assignee(req.assignees)} | self._relationship_fields(req.vendor_fields)
        return VendorRequest(
            "POST",
            TASKS,
            json={"fields": fields, "relationships": relationships},
            action="create task",
        )

    def build_update_task(self, req: UpdateTaskRequest) -> VendorRequest:
        fields: dict[str, Any] = {}
        if req.title is not None:
            fields["$title"] = req.title
        if req.status is not None:
            fields["$status"] = self.vendor_status(req.status)
        if req.description is not None:
            fields["$description"] = req.description
        if req.due is not None:
            fields["$dueAt"] = utc_iso(req.due.instant)
        relationships: dict[str, Any] = {
            key: {"replace": value} for key, value in self._relationship_fields(req.vendor_fields).items()
        }
        if req.assignees is not None:
            relationships["$assignedTo"] = {"replace": self._assignee(req.assignees)}
        if not fields and not relationships:
            raise InvalidInput(
                "nothing to update",
                field="task_id",
                allowed=["title", "description", "due", "status", "assignees", "vendor_fields"],
            )
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = fields
        if relationships:
            body["relationships"] = relationships
        return VendorRequest(
            "POST",
            self._task_path(req.task_id),
            json=body,
            action=f"update task {req.task_id}",
        )

    @staticmethod
    def _task_path(task_id: str) -> str:
        if not task_id or "/" in task_id or task_id in (".", "..", "definitions"):
            raise InvalidInput(f"{task_id!r} is not a Lightfield task id", field="task_id")
        return f"{TASKS}/{task_id}"

    def list_params(self, req: ListTasksRequest, offset: int, limit: int) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [("offset", str(offset)), ("limit", str(limit))]
        if req.status is not None:
            params.append(("$status[equal]", self.vendor_status(req.status)))
        if req.assignee is not None:
            params.append(("$task-assignedTo[contains]", req.assignee))
        if req.text:
            params.append(("$title[contains]", req.text))
        if req.due_after is not None:
            params.append(("$dueAt[greaterThanOrEqual]", utc_iso(req.due_after.instant)))
        if req.due_before is not None:
            params.append(("$dueAt[lessThanOrEqual]", utc_iso(req.due_before.instant)))
        for key, value in req.vendor_filters.items():
            field = f"vendor_filters.{key}"
            shaped = key in VENDOR_FILTER_PARAMS or (key.endswith("]") and "[" in key and not key.startswith("["))
            if not shaped or key.startswith(("offset", "limit")):
                raise InvalidInput(
                    f"{key!r} is not a Lightfield list filter",
                    field=field,
                    allowed=["<key>[<operator>] such as $task-account[contains]", "status (active|trashed)"],
                )
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise InvalidInput("filter values are strings or numbers", field=field)
            params.append((key, str(value)))
        return params

    # -- operations ----------------------------------------------------------------------

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        async def read(created: Any) -> Task:
            # The list index lags writes: read the record back by id, never from a list.
            return await self.get_task(str(created["id"]))

        return WritePlan(self.build_create_task(req), read)

    async def get_task(self, task_id: str) -> Task:
        request = VendorRequest("GET", self._task_path(task_id), action=f"get task {task_id}")
        try:
            data = await self.http.send_json(request)
        except NotFound:
            raise NotFound(
                f"Lightfield task {task_id} does not exist or is in the trash (deleted tasks are not readable by id)",
                field="task_id",
                hint="find tasks with list_tasks(vendor='lightfield'); trashed ones with "
                "vendor_filters={'status': 'trashed'}",
            ) from None
        return self._task(data)

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        offset = 0
        if req.cursor:
            state = decode_cursor(req.cursor, "lightfield")
            offset = int(state.get("offset", 0))
        tasks: list[Task] = []
        exhausted = False
        left: int | None = None  # rows the vendor says remain (totalCount is a hint: it can move between pages)
        while len(tasks) < req.limit and not exhausted:
            # One page first; then every page this call still needs, fetched at once (offset paging allows it),
            # but no more pages than totalCount says exist.
            wanted = req.limit - len(tasks)
            pages = [(offset + n, min(self.page_max, wanted - n)) for n in range(0, wanted, self.page_max)]
            pages = pages[: 1 if left is None else max(1, -(-left // self.page_max))]
            results = await self._list_pages(req, pages)
            for (_, size), data in zip(pages, results, strict=True):
                rows = data.get("data") or []
                tasks.extend(self._task(row) for row in rows)
                offset += len(rows)
                if len(rows) < size:  # the documented end of the list
                    exhausted = True
                    break
            total = results[0].get("totalCount")
            left = total - offset if isinstance(total, int) and not isinstance(total, bool) else req.limit
        next_cursor = None if exhausted else encode_cursor("lightfield", {"offset": offset})
        return TaskPage(vendor="lightfield", tasks=tasks, next_cursor=next_cursor)

    async def _list_pages(self, req: ListTasksRequest, pages: list[tuple[int, int]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = [{} for _ in pages]

        async def fetch(n: int, offset: int, size: int) -> None:
            params = self.list_params(req, offset, size)
            request = VendorRequest("GET", TASKS, params=params, action="list tasks", category="search")
            results[n] = await self.http.send_json(request)

        if len(pages) == 1:
            await fetch(0, *pages[0])
            return results
        try:
            async with anyio.create_task_group() as group:
                for n, (offset, size) in enumerate(pages):
                    group.start_soon(fetch, n, offset, size)
        except ExceptionGroup as failed:  # the call fails with the first page's own error, as when sequential
            first: BaseException = failed
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        return results

    async def plan_update_task(self, req: UpdateTaskRequest) -> WritePlan[Task]:
        async def read(updated: Any) -> Task:
            if str(updated.get("id")) != req.task_id:
                # Lightfield replays the first response for a reused key, even for another task.
                raise InvalidInput(
                    f"idempotency_key was already used for Lightfield task {updated.get('id')}; nothing was changed "
                    f"on task {req.task_id}",
                    field="idempotency_key",
                    hint="use a new key for each distinct update",
                )
            return await self.get_task(req.task_id)

        def explain(exc: TaskLinkError) -> TaskLinkError:
            if isinstance(exc, NotFound):
                return NotFound(f"Lightfield task {req.task_id} does not exist or is in the trash", field="task_id")
            return exc

        return WritePlan(self.build_update_task(req), read, explain=explain)

    async def plan_delete_task(self, task_id: str) -> WritePlan[None]:
        # A soft delete, and deleting a trashed task is a no-op: resending cannot do harm.
        request = VendorRequest("DELETE", self._task_path(task_id), action=f"delete task {task_id}", retry_safe=True)

        async def read(_: Any) -> None:
            return None

        def explain(exc: TaskLinkError) -> TaskLinkError:
            if isinstance(exc, NotFound):
                return NotFound(f"Lightfield task {task_id} does not exist", field="task_id")
            return exc

        return WritePlan(request, read, explain=explain)

    async def find_people(self, query: str, limit: int) -> list[Person]:
        """Members whose email equals, or whose first/last/full name starts with, `query`."""

        needle = query.strip().lower()
        found: list[Person] = []
        for page in range(MEMBER_PAGES_MAX):
            params = {"offset": str(page * self.page_max), "limit": str(self.page_max)}
            members = VendorRequest("GET", MEMBERS, params=params, action="find people", category="search")
            data = await self.http.send_json(members)
            rows = data.get("data") or []
            for row in rows:
                person = _person(row)
                if _person_matches(person, needle):
                    found.append(person)
            if len(rows) < self.page_max or len(found) >= limit:
                break
        return found[:limit]

    # -- mapping -------------------------------------------------------------------------

    def _task(self, data: dict[str, Any]) -> Task:
        vendor_status = _value(data, "$status")
        links: dict[str, str] = {}
        for key in data.get("relationships") or {}:
            if key in ("$assignedTo", "$note"):
                continue
            ids = _ids(data, key)
            if ids:
                links[key.lstrip("$")] = ",".join(ids)
        return Task(
            vendor="lightfield",
            id=str(data["id"]),
            title=str(_value(data, "$title") or ""),
            status=self.normalized_status(vendor_status),
            vendor_status=vendor_status,
            due=_value(data, "$dueAt"),
            description=_value(data, "$description"),
            assignees=_ids(data, "$assignedTo"),
            links=links,
            url=data.get("httpLink"),
            created_at=data.get("createdAt"),
        )


def _person(row: dict[str, Any]) -> Person:
    name = _value(row, "$name")
    if isinstance(name, dict):
        full = " ".join(p for p in (name.get("firstName"), name.get("lastName")) if p) or None
    else:
        full = str(name) if name else None
    return Person(id=str(row["id"]), name=full, email=_value(row, "$email"), title=_value(row, "$role"))


def _person_matches(person: Person, needle: str) -> bool:
    if "@" in needle:
        return (person.email or "").lower() == needle
    name = (person.name or "").lower()
    return name.startswith(needle) or any(part.startswith(needle) for part in name.split())
