"""TaskTrail adapter: create, get and list tasks over TaskTrail's REST API (v1).

Wire facts (see the simulator's docstring for the whole contract): base
`https://api.tasktrail.example`, every path under `/v1/`; `Authorization: Bearer <token>` on every
request; create answers 201 with the record; lists page with `page`/`per_page` and answer
`{"items", "next_page"}`; `q` searches titles and is the only filter; errors are
`{"error": {"code", "message", "field"?}}`. TaskTrail has no idempotency keys, so tasklink's own
ledger is what keeps a repeated create from writing twice.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar
from urllib.parse import urlparse

import httpx2
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from tasklink.errors import InvalidInput, VendorUnavailable
from tasklink.models import CreateTaskRequest, ListTasksRequest, Task, TaskPage
from tasklink.vendors._http import ErrorDetail, VendorRequest, WritePlan, error_object
from tasklink.vendors.base import VendorAdapter, VendorSettings

VENDOR = "tasktrail"
DEFAULT_BASE_URL = "https://api.tasktrail.example"
TASKS = "/v1/tasks"

#: TaskTrail body key or query parameter -> the tool argument the caller controls
ARGUMENTS = {
    "title": "title",
    "description": "description",
    "due": "due",
    "assignee": "assignees",
    "q": "text",
    "per_page": "limit",
    "page": "cursor",
}


class TaskTrailSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="TASKTRAIL_", extra="ignore")
    credential_fields: ClassVar[tuple[str, ...]] = ("token",)

    token: SecretStr | None = Field(None, description="TaskTrail API token (sent as a bearer token).")
    base_url: str = Field(DEFAULT_BASE_URL, description="TaskTrail API base URL (paths start with /v1/).")

    def api_base_url(self) -> str:
        return self.base_url.rstrip("/")

    def validate_live(self) -> list[str]:
        parsed = urlparse(self.api_base_url())
        local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
            return [f"TASKTRAIL_BASE_URL must be an https:// URL such as {DEFAULT_BASE_URL}"]
        if parsed.path.rstrip("/").endswith("/v1"):
            return ["TASKTRAIL_BASE_URL must not end in /v1 (paths already start with /v1/)"]
        return []


class TaskTrailAdapter(VendorAdapter[TaskTrailSettings]):
    settings_class = TaskTrailSettings
    settings: TaskTrailSettings

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        assert isinstance(settings, TaskTrailSettings)
        assert settings.token is not None
        return {"Authorization": f"Bearer {settings.token.get_secret_value()}"}

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        body = error_object(response)
        if isinstance(body, ErrorDetail):
            return body
        error = body.get("error")
        if not isinstance(error, dict):
            return ErrorDetail(message=f"HTTP {response.status_code}")
        field = error.get("field")
        return ErrorDetail(
            message=str(error.get("message") or f"HTTP {response.status_code}"),
            code=str(error["code"]) if error.get("code") else None,
            field=ARGUMENTS.get(field, field) if isinstance(field, str) else None,
        )

    # -- create --------------------------------------------------------------------------

    def build_create_task(self, req: CreateTaskRequest) -> VendorRequest:
        for name, value in (("status", req.status), ("priority", req.priority), ("intake_id", req.intake_id)):
            if value is not None:
                raise InvalidInput(f"TaskTrail's create takes no {name}", field=name, hint=f"leave {name} out")
        if req.vendor_fields:
            raise InvalidInput(
                "TaskTrail takes no vendor_fields", field=f"vendor_fields.{next(iter(req.vendor_fields))}"
            )
        title = req.title.strip()
        if not title:
            raise InvalidInput("TaskTrail needs a title", field="title")
        longest = self.manifest.limits.require("title_max_length")
        if len(title) > longest:
            raise InvalidInput(f"TaskTrail titles are at most {longest} characters", field="title")
        most = self.manifest.limits.require("assignees_max")
        if len(req.assignees) > most:
            raise InvalidInput(f"a TaskTrail task has at most {most} assignee", field="assignees")
        body: dict[str, Any] = {"title": title}
        if req.description is not None:
            body["description"] = req.description
        if req.due is not None:
            body["due"] = req.due.local_date.isoformat()
        if req.assignees:
            person = req.assignees[0]
            if person.user_id is None or person.role_id is not None:
                raise InvalidInput("TaskTrail assigns tasks to users, not roles", field="assignees[0]")
            body["assignee"] = person.user_id
        return VendorRequest("POST", TASKS, json=body, action="create task")

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        async def read(data: Any) -> Task:
            return self._task(_record(data, "create task"))

        return WritePlan(self.build_create_task(req), read, ok=(201,))

    # -- read ----------------------------------------------------------------------------

    async def get_task(self, task_id: str) -> Task:
        request = VendorRequest("GET", f"{TASKS}/{self.task_segment(task_id)}", action=f"get task {task_id}")
        return self._task(_record(await self.http.send_json(request), "get task"))

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        _refuse_filters(req)
        most = self.manifest.limits.require("list_tasks_max_limit")
        if req.limit > most:
            raise InvalidInput(f"TaskTrail lists at most {most} tasks per page", field="limit", allowed=[f"1-{most}"])
        params = [("q", req.text.strip())] if req.text and req.text.strip() else []
        query = hashlib.sha256(json.dumps([params, req.limit]).encode()).hexdigest()[:16]
        page = 1
        if req.cursor:
            state = self.cursors.decode(req.cursor)
            if state.get("q") != query or not isinstance(state.get("page"), int):
                raise InvalidInput(
                    "this cursor came from a list_tasks call with a different text or limit",
                    field="cursor",
                    hint="repeat the same text and limit with the cursor, or drop the cursor to start over",
                )
            page = state["page"]
        request = VendorRequest(
            "GET", TASKS, params=[*params, ("page", str(page)), ("per_page", str(req.limit))], action="list tasks"
        )
        data = await self.http.send_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise VendorUnavailable("TaskTrail answered list tasks with something other than {items, next_page}")
        next_page = data.get("next_page")
        more = isinstance(next_page, int) and not isinstance(next_page, bool)
        return TaskPage(
            vendor=VENDOR,
            tasks=[self._task(_record(row, "list tasks")) for row in data["items"]],
            next_cursor=self.cursors.encode({"page": next_page, "q": query}) if more else None,
        )

    # -- mapping -------------------------------------------------------------------------

    def _task(self, record: dict[str, Any]) -> Task:
        status = record.get("status")
        assignee = record.get("assignee")
        return Task(
            vendor=VENDOR,
            id=str(record["id"]),
            title=str(record.get("title") or ""),
            status=self.normalized_status(status),
            vendor_status=status,
            due=record.get("due"),
            description=record.get("description"),
            assignees=[str(assignee)] if assignee else [],
            created_at=record.get("created_at"),
        )


def _refuse_filters(req: ListTasksRequest) -> None:
    given = {
        "status": req.status,
        "assignee": req.assignee,
        "due_after": req.due_after,
        "due_before": req.due_before,
    }
    given.update({f"vendor_filters.{key}": value for key, value in req.vendor_filters.items()})
    for field, value in given.items():
        if value is not None:
            raise InvalidInput(
                f"TaskTrail lists cannot filter by {field}",
                field=field,
                hint="TaskTrail searches titles only: use text, and page with limit and cursor",
            )


def _record(data: Any, what: str) -> dict[str, Any]:
    if isinstance(data, dict) and "id" in data:
        return data
    raise VendorUnavailable(f"TaskTrail answered {what} with a record tasklink cannot read (no task id)")
