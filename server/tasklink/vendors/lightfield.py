"""Lightfield adapter: CRM tasks and workspace members (REST API version 2026-03-01).

Wire facts: base `https://api.lightfield.app`, every path under `/v1/`; `Authorization: Bearer
<key>` and `Lightfield-Version: 2026-03-01` on every request; writes take bare `$`-prefixed field
values and relationships, reads wrap them (`{value, valueType}`, `{cardinality, objectType,
values}`); create answers 200; update is `POST /v1/tasks/{id}` with `{add|remove|replace}`
relationship operations; create and update answer the full record (TaskCreateResponse,
TaskUpdateResponse), which is the write's result — nothing is read back; DELETE is a soft delete
that returns the record; lists come from a search index that lags writes, so a task is never
looked up in a list right after a write; `Idempotency-Key` is honoured on create and update,
which is what makes resending a write after a 429 or 5xx safe.

Lists filter with `key[operator]=value`, and each value type allows only some operators, so the
operator of every filter tasklink builds comes from the field's value type in `GET
/v1/tasks/definitions`; relationships filter by their definition slug (`$task-<slug>`), which differs
between organisations, so the assignee filter's slug comes from there too. The definitions are read
once per adapter and again once when Lightfield answers `unknown_relationship`. Every answer is read
through a model of its documented schema (`read_as`): undocumented fields are never read.

`find_records` filters account.list and opportunity.list by `$name[startsWith]` (`$name` is a text
field, and "`$field` query parameters" filter every list: lightfield-openapi-original.yml, docs
list-endpoints), and reads relationship keys from the task definitions. A write refused for an
unknown relationship or a missing related record says how to look the right one up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, TypeVar

import anyio
import httpx2
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ..errors import InvalidInput, NotFound, TaskLinkError, VendorError, VendorRejected
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
from .base import FoundRecord, RecordMatches, VendorAdapter, VendorSettings, name_matches
from .responses import VendorRecord, read_as

API_VERSION = "2026-03-01"
DEFAULT_BASE_URL = "https://api.lightfield.app"
TASKS = "/v1/tasks"
DEFINITIONS = "/v1/tasks/definitions"
MEMBERS = "/v1/members"
#: find_records: the list of each kind of record it looks up by name
RECORD_LISTS = {"account": "/v1/accounts", "opportunity": "/v1/opportunities"}
#: a relationship's key in vendor_fields -> the find_records kind whose ids it takes
RELATED_KINDS = {"$account": "account", "$opportunity": "opportunity"}
#: how many member pages find_people reads (the member list has no documented name filter); after the first,
#: the pages its totalCount says exist are read at once
MEMBER_PAGES_MAX = 8
T = TypeVar("T")

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
#: list query parameters → the list_tasks argument that produced them (the assignee's slug varies: see _requery)
FILTER_ARGS = {
    "$status": "status",
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


_COMPARE = ("equal", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual")
#: the list filter operators each value type allows (docs: using-the-api/list-endpoints, "Operators by
#: value type"); MULTI_SELECT and MARKDOWN are not filterable
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
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
}
#: each filter tasklink builds: (field key, operators in order of preference); the field's value type picks
#: the first it allows. `text=` is a title prefix ($title is TEXT: equal or startsWith); the duplicate
#: check (`title`) wants the title exactly.
FIELD_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("$status", ("equal",)),
    "text": ("$title", ("startsWith", "contains", "equal")),
    "title": ("$title", ("equal",)),
    "due_after": ("$dueAt", ("greaterThanOrEqual",)),
    "due_before": ("$dueAt", ("lessThanOrEqual",)),
}


# -- Lightfield's answers, as documented (lightfield-tasks-api-openapi.yml; members: the full file) ------


class FullName(VendorRecord):
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")


class Address(VendorRecord):
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = Field(None, alias="postalCode")
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


Scalar = str | int | float | bool | list[str] | FullName | Address | None


class Cell(VendorRecord):
    """A field as read: `{value, valueType}` (a bare value is read too, see `Fields`)."""

    value: Scalar
    value_type: str | None = Field(None, alias="valueType")


#: field key → its cell; tolerant of a bare value where the documented `{value, valueType}` is expected
Fields = dict[str, Cell | Scalar]


def cell_value(cell: Cell | Scalar) -> Scalar:
    return cell.value if isinstance(cell, Cell) else cell


def cell_text(cell: Cell | Scalar) -> str | None:
    value = cell_value(cell)
    return value if isinstance(value, str) else None


class Related(VendorRecord):
    cardinality: str
    object_type: str = Field(alias="objectType")
    values: list[str]


class TaskRecord(VendorRecord):
    """A task, as create, retrieve, update, each list item (and the SDK's delete) answer it."""

    id: str
    created_at: str = Field(alias="createdAt")
    updated_at: str | None = Field(alias="updatedAt")
    http_link: str | None = Field(alias="httpLink")
    external_id: str | None = Field(None, alias="externalId")
    fields: Fields
    relationships: dict[str, Related]

    def text(self, key: str) -> str | None:
        return cell_text(self.fields.get(key))

    def ids(self, key: str) -> list[str]:
        related = self.relationships.get(key)
        return list(related.values) if related is not None else []


class TaskList(VendorRecord):
    object: str
    data: list[TaskRecord]
    #: a hint: it can move between pages
    total_count: int = Field(alias="totalCount")


class MemberFields(VendorRecord):
    email: Cell | Scalar = Field(alias="$email")
    name: Cell | Scalar = Field(alias="$name")
    role: Cell | Scalar = Field(alias="$role")


class Member(VendorRecord):
    id: str
    created_at: str = Field(alias="createdAt")
    updated_at: str | None = Field(alias="updatedAt")
    http_link: str | None = Field(alias="httpLink")
    fields: MemberFields


class MemberList(VendorRecord):
    object: str
    data: list[Member]
    total_count: int = Field(alias="totalCount")


class EntityRecord(VendorRecord):
    """An account or an opportunity, as account.list and opportunity.list answer each row."""

    id: str
    fields: Fields
    relationships: dict[str, Related] = Field(default_factory=dict)


class EntityList(VendorRecord):
    object: str
    data: list[EntityRecord]
    total_count: int = Field(alias="totalCount")


class FieldDefinition(VendorRecord):
    id: str | None = None
    label: str
    description: str | None
    value_type: str = Field(alias="valueType")
    read_only: bool | None = Field(None, alias="readOnly")
    type_configuration: dict[str, Any] = Field(alias="typeConfiguration")


class RelationshipDefinition(VendorRecord):
    id: str | None = None
    label: str
    description: str | None
    cardinality: str
    object_type: str = Field(alias="objectType")
    #: what list filters name (`$task-<slug>`). Shown on the docs' Fields and relationships page, absent
    #: from the OpenAPI schema: tests/test_lightfield_adapter.py::test_lightfield_definition_slug_contradiction
    slug: str | None = None


class TaskDefinitions(VendorRecord):
    object_type: str = Field(alias="objectType")
    field_definitions: dict[str, FieldDefinition] = Field(alias="fieldDefinitions")
    relationship_definitions: dict[str, RelationshipDefinition] = Field(alias="relationshipDefinitions")

    def operator(self, argument: str) -> tuple[str, str]:
        """(field key, operator) for a filter argument, from the field's value type."""

        key, preferred = FIELD_FILTERS[argument]
        definition = self.field_definitions.get(key)
        value_type = definition.value_type if definition is not None else None
        allowed = OPERATORS_BY_TYPE.get(value_type or "", ())
        for operator in preferred:
            if operator in allowed:
                return key, operator
        raise VendorError(
            f"Lightfield's task definitions make {key} a {value_type or 'missing'} field, which list filters "
            f"cannot match with {' or '.join(preferred)}, so tasks cannot be filtered by `{argument}` there",
            field=argument,
        )

    def relationship_filter(self, key: str, argument: str) -> str:
        """The list filter key for relationship `key`: `$<objectType>-<definition slug>`."""

        definition = self.relationship_definitions.get(key)
        if definition is None or not definition.slug:
            raise VendorError(
                f"Lightfield's task definitions give no filter slug for the {key} relationship, so tasks cannot "
                f"be filtered by `{argument}` there",
                field=argument,
            )
        return f"${self.object_type}-{definition.slug}"


class DefinitionsCache:
    """The task definitions, read once per adapter; the adapter's per-call copies share this object.

    They are kept with no time limit: they change only when an administrator edits the task schema, and a
    list filter that no longer fits them is answered `unknown_relationship`, which reads them again (once)."""

    def __init__(self) -> None:
        self.current: TaskDefinitions | None = None
        self.lock = anyio.Lock()


@dataclass(frozen=True)
class ListQuery:
    """A list's filters (paging apart) and the definitions their operators and slugs came from."""

    params: list[tuple[str, str]]
    definitions: TaskDefinitions | None = None
    refreshed: bool = False


class LightfieldAdapter(VendorAdapter[LightfieldSettings]):
    settings_class = LightfieldSettings
    settings: LightfieldSettings

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definitions = DefinitionsCache()

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

    def _task_path(self, task_id: str) -> str:
        return f"{TASKS}/{self.task_segment(task_id)}"

    @staticmethod
    def _vendor_filter_params(vendor_filters: dict[str, Any]) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        for key, value in vendor_filters.items():
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

    async def list_query(
        self, req: ListTasksRequest, *, exact_title: bool = False, stale: TaskDefinitions | None = None
    ) -> ListQuery:
        """The list's filters. The arguments are checked first (nothing is sent for a bad one); the task
        definitions are read only when a filter needs an operator or a relationship slug."""

        wanted: list[tuple[str, str]] = []  # (argument, value)
        if req.status is not None:
            wanted.append(("status", self.vendor_status(req.status)))
        if req.text:
            wanted.append(("title" if exact_title else "text", req.text))
        if req.due_after is not None:
            wanted.append(("due_after", utc_iso(req.due_after.instant)))
        if req.due_before is not None:
            wanted.append(("due_before", utc_iso(req.due_before.instant)))
        extra = self._vendor_filter_params(req.vendor_filters)
        if not wanted and req.assignee is None:
            return ListQuery(extra)
        definitions = await self.task_definitions(stale=stale)
        params: list[tuple[str, str]] = []
        for argument, value in wanted:
            key, operator = definitions.operator(argument)
            params.append((f"{key}[{operator}]", value))
        if req.assignee is not None:
            params.append((f"{definitions.relationship_filter('$assignedTo', 'assignee')}[contains]", req.assignee))
        return ListQuery(params + extra, definitions, refreshed=stale is not None)

    async def task_definitions(self, *, stale: TaskDefinitions | None = None) -> TaskDefinitions:
        """`GET /v1/tasks/definitions`, read once per adapter, and again when `stale` is still what is held."""

        cache = self.definitions
        async with cache.lock:
            if cache.current is None or cache.current is stale:
                request = VendorRequest("GET", DEFINITIONS, action="read task definitions")
                data = await self.http.send_json(request)
                cache.current = read_as(
                    TaskDefinitions, data, vendor_title=self.manifest.title, action="read task definitions"
                )
            return cache.current

    # -- operations ----------------------------------------------------------------------

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        async def read(created: Any) -> Task:
            # task.create answers the record itself (TaskCreateResponse: id, fields, relationships, httpLink),
            # so it is read from the answer, with no second request (and never from the lagging list).
            record = read_as(TaskRecord, created, vendor_title=self.manifest.title, action="create task", write=True)
            return self._task(record)

        return WritePlan(self.build_create_task(req), read, explain=_relationship_error)

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
        return self._task(read_as(TaskRecord, data, vendor_title=self.manifest.title, action=request.action))

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        return await self._list(req, exact_title=False)

    async def list_title_matches(self, req: ListTasksRequest) -> TaskPage:
        """The duplicate check's read: `$title[equal]`, where `text=` is a title prefix."""

        return await self._list(req, exact_title=True)

    async def _list(self, req: ListTasksRequest, *, exact_title: bool) -> TaskPage:
        offset = 0
        if req.cursor:
            state = self.cursors.decode(req.cursor)
            offset = int(state.get("offset", 0))
        query = await self.list_query(req, exact_title=exact_title)
        tasks: list[Task] = []
        exhausted = False
        left: int | None = None  # rows the vendor says remain (totalCount is a hint: it can move between pages)
        while len(tasks) < req.limit and not exhausted:
            # One page first; then every page this call still needs, fetched at once (offset paging allows it),
            # but no more pages than totalCount says exist.
            wanted = req.limit - len(tasks)
            pages = [(offset + n, min(self.page_max, wanted - n)) for n in range(0, wanted, self.page_max)]
            pages = pages[: 1 if left is None else max(1, -(-left // self.page_max))]
            try:
                results = await self._list_pages(query.params, pages)
            except VendorRejected as exc:
                query = await self._requery(req, query, exc, exact_title=exact_title)
                results = await self._list_pages(query.params, pages)
            for (_, size), page in zip(pages, results, strict=True):
                tasks.extend(self._task(row) for row in page.data)
                offset += len(page.data)
                if len(page.data) < size:  # the documented end of the list
                    exhausted = True
                    break
            left = results[0].total_count - offset
        next_cursor = None if exhausted else self.cursors.encode({"offset": offset})
        return TaskPage(vendor="lightfield", tasks=tasks, next_cursor=next_cursor)

    async def _requery(
        self, req: ListTasksRequest, query: ListQuery, exc: VendorRejected, *, exact_title: bool
    ) -> ListQuery:
        """After `unknown_relationship` on the assignee filter: the slug changed; read the definitions again, once."""

        if exc.code != "unknown_relationship" or req.assignee is None or query.definitions is None:
            raise exc
        if query.refreshed:
            raise VendorRejected(
                f"Lightfield refused the assignee filter its own task definitions name: {exc.message}",
                status=exc.status,
                code=exc.code,
                field="assignee",
            ) from None
        return await self.list_query(req, exact_title=exact_title, stale=query.definitions)

    async def _list_pages(self, filters: list[tuple[str, str]], pages: list[tuple[int, int]]) -> list[TaskList]:
        async def fetch(offset: int, size: int) -> TaskList:
            params = [("offset", str(offset)), ("limit", str(size)), *filters]
            request = VendorRequest("GET", TASKS, params=params, action="list tasks", category="search")
            data = await self.http.send_json(request)
            return read_as(TaskList, data, vendor_title=self.manifest.title, action=request.action)

        return await at_once([partial(fetch, offset, size) for offset, size in pages])

    async def plan_update_task(self, req: UpdateTaskRequest) -> WritePlan[Task]:
        async def read(updated: Any) -> Task:
            action = f"update task {req.task_id}"
            record = read_as(TaskRecord, updated, vendor_title=self.manifest.title, action=action, write=True)
            if record.id != req.task_id:
                # Lightfield replays the first response for a reused key, even for another task.
                raise InvalidInput(
                    f"idempotency_key was already used for Lightfield task {record.id}; nothing was changed "
                    f"on task {req.task_id}",
                    field="idempotency_key",
                    hint="use a new key for each distinct update",
                )
            return self._task(record)  # task.update answers the updated record (TaskUpdateResponse)

        def explain(exc: TaskLinkError) -> TaskLinkError:
            if isinstance(exc, NotFound):
                return NotFound(f"Lightfield task {req.task_id} does not exist or is in the trash", field="task_id")
            return _relationship_error(exc)

        return WritePlan(self.build_update_task(req), read, explain=explain)

    async def plan_delete_task(self, task_id: str) -> WritePlan[None]:
        # A soft delete, and deleting a trashed task is a no-op: resending cannot do harm.
        request = VendorRequest("DELETE", self._task_path(task_id), action=f"delete task {task_id}", retry_safe=True)

        async def read(deleted: Any) -> None:
            # the SDK documents the trashed record as the answer
            read_as(TaskRecord, deleted, vendor_title=self.manifest.title, action=request.action, write=True)

        def explain(exc: TaskLinkError) -> TaskLinkError:
            if isinstance(exc, NotFound):
                return NotFound(f"Lightfield task {task_id} does not exist", field="task_id")
            return exc

        return WritePlan(request, read, explain=explain)

    async def find_people(self, query: str, limit: int) -> list[Person]:
        """Members whose email equals, or whose first/last/full name starts with, `query`.

        The member list has no name filter, so pages are read: the first, then — when it did not settle
        the answer — every further page its totalCount says exists (at most MEMBER_PAGES_MAX in all), at once."""

        needle = query.strip().lower()
        pages = [await self._member_page(0)]
        found = _matching(pages[0], needle)
        # a full last page means more may follow (totalCount is a hint: it can move between pages)
        while len(pages[-1].data) == self.page_max and len(pages) < MEMBER_PAGES_MAX and len(found) < limit:
            counted = min(MEMBER_PAGES_MAX, -(-pages[-1].total_count // self.page_max))
            batch = range(len(pages), max(counted, len(pages) + 1))
            for page in await at_once([partial(self._member_page, n) for n in batch]):
                if len(pages[-1].data) < self.page_max:  # the documented end of the list came earlier
                    break
                pages.append(page)
                found.extend(_matching(page, needle))
        return found[:limit]

    async def _member_page(self, page: int) -> MemberList:
        params = {"offset": str(page * self.page_max), "limit": str(self.page_max)}
        request = VendorRequest("GET", MEMBERS, params=params, action="find people", category="search")
        data = await self.http.send_json(request)
        return read_as(MemberList, data, vendor_title=self.manifest.title, action="find people")

    async def warm_up(self) -> None:
        with contextlib.suppress(TaskLinkError):
            await self.task_definitions()

    async def prepare_list_filters(self) -> None:
        """Read ahead what a filtered list needs (the task definitions: each filter's operator and the assignee's
        filter slug), so that read can run beside the call's other reads (its people lookups)."""

        await self.task_definitions()

    async def find_records(self, kind: str, query: str, limit: int) -> RecordMatches:
        """Accounts or opportunities whose `$name` starts with `query`, or the task relationship keys."""

        if kind == "relationship":
            definitions = await self.task_definitions()
            return RecordMatches(_relationship_records(definitions, query)[:limit])
        if kind not in RECORD_LISTS:
            raise self._unimplemented(f"find_records(kind={kind!r})")
        found: list[FoundRecord] = []
        while len(found) < limit:
            size = min(self.page_max, limit - len(found))
            params = [("offset", str(len(found))), ("limit", str(size))]
            if query:
                params.append(("$name[startsWith]", query))
            request = VendorRequest("GET", RECORD_LISTS[kind], params=params, action=f"find {kind}s", category="search")
            page = read_as(
                EntityList, await self.http.send_json(request), vendor_title="Lightfield", action=request.action
            )
            found.extend(_entity_record(kind, row) for row in page.data)
            if len(page.data) < size:
                break
        return RecordMatches(found)

    # -- mapping -------------------------------------------------------------------------

    def _task(self, record: TaskRecord) -> Task:
        vendor_status = record.text("$status")
        links: dict[str, str] = {}
        for key in record.relationships:
            if key in ("$assignedTo", "$note"):
                continue
            ids = record.ids(key)
            if ids:
                links[key.lstrip("$")] = ",".join(ids)
        return Task(
            vendor="lightfield",
            id=record.id,
            title=record.text("$title") or "",
            status=self.normalized_status(vendor_status),
            vendor_status=vendor_status,
            due=record.text("$dueAt"),
            description=record.text("$description"),
            assignees=record.ids("$assignedTo"),
            links=links,
            url=record.http_link,
            created_at=record.created_at,
        )


async def at_once(reads: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Independent reads sent at the same time; their results in order. A failure is raised as itself (the
    first failed read's own error, as if they had run one after another), never as an exception group."""

    if len(reads) == 1:
        return [await reads[0]()]
    results: list[T | None] = [None for _ in reads]

    async def run(n: int) -> None:
        results[n] = await reads[n]()

    try:
        async with anyio.create_task_group() as group:
            for n in range(len(reads)):
                group.start_soon(run, n)
    except ExceptionGroup as failed:
        first: BaseException = failed
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [r for r in results if r is not None]


def _matching(page: MemberList, needle: str) -> list[Person]:
    return [person for person in map(_person, page.data) if _person_matches(person, needle)]


def _entity_record(kind: str, row: EntityRecord) -> FoundRecord:
    details = []
    if kind == "opportunity":
        stage = cell_text(row.fields.get("$stage"))
        account = row.relationships.get("$account")
        details = [
            f"stage {stage}" if stage else None,
            f"account {account.values[0]}" if account and account.values else None,
        ]
    else:
        details = [cell_text(row.fields.get("$website"))]
    name = cell_text(row.fields.get("$name")) or row.id
    return FoundRecord(id=row.id, name=name, kind=kind, detail="; ".join(d for d in details if d) or None)


def _relationship_records(definitions: TaskDefinitions, query: str) -> list[FoundRecord]:
    """The relationships a write may set through vendor_fields (not $assignedTo, which `assignees` sets)."""

    return [
        FoundRecord(
            id=key,
            name=definition.label,
            kind="relationship",
            detail=f"{definition.object_type} ({definition.cardinality.lower()})"
            + (f"; list_tasks filter ${definitions.object_type}-{definition.slug}" if definition.slug else ""),
        )
        for key, definition in definitions.relationship_definitions.items()
        if (key in VENDOR_RELATIONSHIPS or not key.startswith("$"))
        and name_matches(query, definition.label, key.lstrip("$"))
    ]


def _relationship_error(exc: TaskLinkError) -> TaskLinkError:
    """A write Lightfield refused for an unknown relationship key or a related record that does not exist,
    said with the lookup that finds the right one (never the vendor's own advice to call its API)."""

    if not isinstance(exc, VendorRejected) or exc.code not in ("unknown_relationship", "relationship_entity_missing"):
        return exc
    key = (exc.field or "").removeprefix("vendor_fields.")
    if exc.code == "unknown_relationship":
        return VendorRejected(
            f"Lightfield tasks have no relationship {key or 'by that key'} (unknown_relationship)",
            status=exc.status,
            code=exc.code,
            field=exc.field,
            hint="find the relationship keys with find_records(vendor='lightfield', kind='relationship')",
        )
    kind = RELATED_KINDS.get(key)
    if kind is None:
        hint = "check the id in Lightfield" if exc.field != "assignees" else "find members with find_people"
    else:
        hint = f"find {kind} ids with find_records(vendor='lightfield', kind='{kind}')"
    return VendorRejected(exc.message, status=exc.status, code=exc.code, field=exc.field, hint=hint)


def _person(member: Member) -> Person:
    name = cell_value(member.fields.name)
    if isinstance(name, FullName):
        full = " ".join(p for p in (name.first_name, name.last_name) if p) or None
    else:
        full = str(name) if name else None
    email, role = cell_text(member.fields.email), cell_text(member.fields.role)
    return Person(id=member.id, name=full, email=email, title=role)


def _person_matches(person: Person, needle: str) -> bool:
    if "@" in needle:
        return (person.email or "").lower() == needle
    name = (person.name or "").lower()
    return name.startswith(needle) or any(part.startswith(needle) for part in name.split())
