"""SpotDraft adapter: legal intakes (v1), user tasks (v2.1, create only), org users (v2.1).

Wire facts: regional hosts `https://api.{in,us,eu,me}.spotdraft.com`; `client-id` and
`client-secret` headers (optional `user-email` to act as a workspace user); every path ends in
`/`; intake by-id routes answer 403 for ids that do not exist *or* are not visible.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import httpx2
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ..errors import InvalidInput, NotFound, TaskLinkError, VendorForbidden, field_errors_text
from ..models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    IntakeParticipant,
    IntakeSummary,
    IntakeTask,
    ListIntakesRequest,
    Person,
    Task,
    UpdateIntakeRequest,
    utc_iso,
)
from ..settings import TaskLinkSettings
from ._http import ErrorDetail, VendorRequest, WritePlan, error_object
from .base import VendorAdapter, VendorSettings, reject_unknown_vendor_fields

Region = Literal["in", "us", "eu", "me"]
INTAKES = "/api/v1/public/legal_intake/"
USER_TASKS = "/api/v2.1/public/user_tasks/"
USERS = "/api/v2.1/public/auth/users/"
TASK_VENDOR_FIELDS = ("reminders", "contract_id", "due_date_key_pointer_id")

#: vendor field names in error bodies -> the tool argument the model controls
FIELD_NAMES = {
    "due_date": "due",
    "notes": "description",
    "intake_task_status": "status",
    "org_user_id": "user_id",
    "entity_id": "user_id",
    "assignee_type": "role",
    "task_associations": "intake_id",
}


class SpotDraftSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTDRAFT_", extra="ignore")
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    client_id: SecretStr | None = Field(None, description="SpotDraft API client id (Settings → Developer settings).")
    client_secret: SecretStr | None = Field(None, description="SpotDraft API client secret.")
    base_url: str | None = Field(None, description="SpotDraft API base URL (instead of SPOTDRAFT_REGION).")
    region: Region | None = Field(None, description="SpotDraft cluster of the workspace: in, us, eu or me.")
    user_email: str | None = Field(None, description="Act as this SpotDraft workspace user (user-email header).")
    intake_workflow_id: int | None = Field(None, description="Default published INTAKE_WORKFLOW id for create_intake.")

    def api_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://api.{self.region or 'us'}.spotdraft.com"

    def validate_live(self) -> list[str]:
        if not self.base_url and not self.region:
            return ["set SPOTDRAFT_REGION (in, us, eu or me) or SPOTDRAFT_BASE_URL to your workspace's cluster"]
        return []


def _vendor_field_to_arg(path: str) -> str:
    parts = path.split(".")
    out: list[str] = []
    for part in parts:
        if part.isdigit() and out:
            out[-1] += f"[{part}]"
        else:
            out.append(FIELD_NAMES.get(part, part))
    return ".".join(out)


class SpotDraftAdapter(VendorAdapter[SpotDraftSettings]):
    settings_class = SpotDraftSettings
    settings: SpotDraftSettings

    @classmethod
    def sandbox_settings(cls, app: TaskLinkSettings, demo: Mapping[str, str]) -> SpotDraftSettings:
        settings = SpotDraftSettings.model_validate(dict(demo))
        # a workflow id set in the environment wins over the simulator's demo workflow
        configured = SpotDraftSettings().intake_workflow_id
        return settings.model_copy(update={"intake_workflow_id": configured or settings.intake_workflow_id})

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        assert isinstance(settings, SpotDraftSettings)
        assert settings.client_id is not None and settings.client_secret is not None
        headers = {
            "client-id": settings.client_id.get_secret_value(),
            "client-secret": settings.client_secret.get_secret_value(),
        }
        if settings.user_email:
            headers["user-email"] = settings.user_email
        return headers

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        """Three documented 400 shapes: field-keyed, `{detail}`, `{detail, status_code, code, message}`."""

        body = error_object(response)
        if isinstance(body, ErrorDetail):
            return body
        if isinstance(body.get("message"), str) and "code" in body:
            message = body["message"]
            match = re.match(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?):\s", message)
            field = _vendor_field_to_arg(match.group(1).replace("[", ".").replace("]", "")) if match else None
            if field is None:
                # create-domain errors name the problem only in prose
                field = next((f for f in ("workflow", "file_ids") if f in message.lower()), None)
                field = "workflow_id" if field == "workflow" else field
            return ErrorDetail(message=message, code=str(body["code"]), field=field)
        if set(body) == {"detail"}:
            return ErrorDetail(message=str(body["detail"]))
        first = next(iter(body))
        node: Any = body[first]
        path = [first]
        while isinstance(node, dict) and node:
            key = next(iter(node))
            path.append(str(key))
            node = node[key]
        renamed = {_vendor_field_to_arg(k): v for k, v in body.items()}
        return ErrorDetail(
            message="invalid fields — " + field_errors_text(renamed),
            field=_vendor_field_to_arg(".".join(path)),
        )

    # -- intakes -------------------------------------------------------------------------

    def _intake_path(self, intake_id: int) -> str:
        return f"{INTAKES}{int(intake_id)}/"

    async def _by_id(self, request: VendorRequest, intake_id: int) -> Any:
        try:
            return await self.http.send_json(request)
        except VendorForbidden as exc:
            raise _unknown_intake(intake_id, exc) from None

    def _intake_write(self, request: VendorRequest, intake_id: int) -> WritePlan[Intake]:
        async def read(data: Any) -> Intake:
            return _intake(data, self.normalized_status)

        return WritePlan(request, read, explain=lambda exc: _unknown_intake(intake_id, exc))

    def build_create_intake(self, req: CreateIntakeRequest) -> VendorRequest:
        workflow_id = req.workflow_id or self.settings.intake_workflow_id
        if workflow_id is None:
            raise InvalidInput(
                "no intake workflow given",
                field="workflow_id",
                hint="pass workflow_id (a published INTAKE_WORKFLOW) or set SPOTDRAFT_INTAKE_WORKFLOW_ID",
            )
        body: dict[str, Any] = {"title": req.title, "workflow_id": workflow_id}
        if req.description is not None:
            body["description"] = req.description
        if req.priority is not None:
            body["priority"] = req.priority
        if req.due is not None:
            body["due_date"] = utc_iso(req.due.instant)
        if req.assignees:
            body["assignees"] = [_assignee_row(a) for a in req.assignees]
        if req.metadata is not None:
            body["metadata"] = req.metadata
        return VendorRequest("POST", INTAKES, json=body, action="create intake")

    async def plan_create_intake(self, req: CreateIntakeRequest) -> WritePlan[Intake]:
        async def read(data: Any) -> Intake:
            return _intake(data, self.normalized_status)

        return WritePlan(self.build_create_intake(req), read, ok=(201,))

    async def get_intake(self, intake_id: int) -> Intake:
        request = VendorRequest("GET", self._intake_path(intake_id), action=f"get intake {intake_id}")
        return _intake(await self._by_id(request, intake_id), self.normalized_status)

    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage:
        params: list[tuple[str, str]] = [("page", str(req.page)), ("limit", str(req.limit))]
        if req.query:
            params.append(("query", req.query))
        if req.sort:
            params.append(("sort", req.sort))
        for name, values in (("status", req.status), ("priority", req.priority)):
            if len(values) == 1:
                params.append((f"filter__{name}[$eq]", values[0]))
            elif values:
                params.append((f"filter__{name}[$in]", ",".join(v.replace(",", "\\,") for v in values)))
        data = await self.http.send_json(VendorRequest("GET", INTAKES, params=params, action="list intakes"))
        return IntakePage(
            intakes=[
                IntakeSummary(
                    id=i["id"],
                    title=i["title"],
                    status=i["status"],
                    priority=i["priority"],
                    due_date=i.get("due_date"),
                    reference_id=i.get("reference_id"),
                    created_at=i.get("created_at"),
                )
                for i in data["intakes"]
            ],
            page=data["page"],
            total_count=data["total_count"],
            total_pages=data["total_pages"],
            has_next=data["has_next"],
        )

    def build_update_intake(self, req: UpdateIntakeRequest) -> VendorRequest:
        body: dict[str, Any] = {}
        for key in ("title", "description", "status", "priority", "metadata"):
            value = getattr(req, key)
            if value is not None:
                body[key] = value
        if req.due is not None:
            body["due_date"] = utc_iso(req.due.instant)
        elif req.clear_due:
            body["due_date"] = None
        if not body:
            raise InvalidInput(
                "nothing to update",
                field="intake_id",
                allowed=["title", "description", "status", "priority", "due", "clear_due", "metadata"],
            )
        return VendorRequest(
            "PATCH", self._intake_path(req.intake_id), json=body, action=f"update intake {req.intake_id}"
        )

    async def plan_update_intake(self, req: UpdateIntakeRequest) -> WritePlan[Intake]:
        return self._intake_write(self.build_update_intake(req), req.intake_id)

    async def plan_set_intake_participants(
        self, intake_id: int, participants: list[IntakeAssigneeInput]
    ) -> WritePlan[Intake]:
        """PATCH the full desired ASSIGNED_TO + COLLABORATOR list (the API replaces the set)."""

        request = VendorRequest(
            "PATCH",
            self._intake_path(intake_id),
            json={"assignees": [_assignee_row(p) for p in participants]},
            action=f"update assignees of intake {intake_id}",
        )
        return self._intake_write(request, intake_id)

    async def plan_delete_intake(self, intake_id: int) -> WritePlan[None]:
        request = VendorRequest("DELETE", self._intake_path(intake_id), action=f"delete intake {intake_id}")

        async def read(_: Any) -> None:
            return None

        return WritePlan(request, read, ok=(204,), explain=lambda exc: _unknown_intake(intake_id, exc))

    # -- user tasks ----------------------------------------------------------------------

    def build_create_task(self, req: CreateTaskRequest) -> VendorRequest:
        reject_unknown_vendor_fields(req.vendor_fields, TASK_VENDOR_FIELDS, "SpotDraft")
        is_intake_task = req.intake_id is not None
        body: dict[str, Any] = {"title": req.title, "assignees": []}
        for n, who in enumerate(req.assignees):
            if (who.user_id is None) == (who.role_id is None):
                raise InvalidInput(
                    "each SpotDraft task assignee needs exactly one of user_id or role_id",
                    field=f"assignees[{n}]",
                    allowed=['{"user_id": "<org user id>"}', '{"role_id": "<role id>"}'],
                )
            key, value = ("org_user_id", who.user_id) if who.user_id is not None else ("role_id", who.role_id)
            if value is None or not value.isdigit():
                raise InvalidInput(
                    f"SpotDraft ids are integers, got {value!r}",
                    field=f"assignees[{n}].{'user_id' if key == 'org_user_id' else 'role_id'}",
                    hint="look people up with find_people",
                )
            body["assignees"].append({key: int(value)})
        if req.description is not None:
            body["notes"] = req.description
        if req.due is not None:
            body["due_date"] = utc_iso(req.due.instant)
        body.update(req.vendor_fields)
        if is_intake_task:
            body["task_category"] = "INTAKE_TASK"
            body["task_associations"] = [
                {"entity_id": req.intake_id, "entity_type": "LEGAL_INTAKE", "association_type": "PRIMARY"}
            ]
            if req.priority is not None:
                body["priority"] = req.priority
            if req.status is not None:
                body["intake_task_status"] = self.vendor_status(req.status)
        else:
            for name in ("priority", "status"):
                if getattr(req, name) is not None:
                    raise InvalidInput(
                        f"`{name}` is only valid for SpotDraft intake tasks",
                        field=name,
                        hint="pass intake_id to make this an intake task, or leave the field out",
                    )
            if not body["assignees"]:
                raise InvalidInput(
                    "a SpotDraft task that is not on an intake needs at least one assignee",
                    field="assignees",
                    hint="find people with find_people(vendor='spotdraft', query=...)",
                )
            if req.due is None and "due_date_key_pointer_id" not in req.vendor_fields:
                raise InvalidInput(
                    "a SpotDraft task that is not on an intake needs a due date",
                    field="due",
                    hint="pass due (YYYY-MM-DD or an ISO datetime with offset), "
                    "or vendor_fields.due_date_key_pointer_id",
                )
        return VendorRequest("POST", USER_TASKS, json=body, action="create task")

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        async def read(data: Any) -> Task:
            return self._task(data)

        return WritePlan(self.build_create_task(req), read, ok=(201,))

    def _task(self, data: dict[str, Any]) -> Task:
        assignees = []
        for row in data.get("assignees") or []:
            if row.get("assignee_org_user"):
                assignees.append(str(row["assignee_org_user"]["id"]))
            elif row.get("assignee_role"):
                assignees.append(f"role:{row['assignee_role']['id']}")
        intakes = [a for a in data.get("task_associations") or [] if a.get("entity_type") == "LEGAL_INTAKE"]
        links = {"intake_id": str(intakes[0]["entity_id"])} if intakes else {}
        return Task(
            vendor="spotdraft",
            id=str(data["id"]),
            title=data["title"],
            status=self.normalized_status(data.get("intake_task_status")),
            vendor_status=data.get("intake_task_status") or data.get("status"),
            priority=data.get("priority"),
            due=data.get("absolute_due_date"),
            description=data.get("notes") or None,
            assignees=assignees,
            links=links,
            created_at=data.get("created"),
        )

    # -- people --------------------------------------------------------------------------

    async def find_people(self, query: str, limit: int) -> list[Person]:
        key = "user_email" if "@" in query else "user_name"
        params = {key: query.strip(), "limit": str(limit), "page": "1"}
        data = await self.http.send_json(VendorRequest("GET", USERS, params=params, action="find people"))
        return [
            Person(
                id=str(u["id"]),
                name=f"{u.get('first_name', '')} {u.get('last_name', '')}".strip() or None,
                email=u.get("email"),
                title=u.get("designation"),
                active=bool(u.get("is_active", True)),
            )
            for u in data.get("results", [])
        ]


def _unknown_intake(intake_id: int, exc: TaskLinkError) -> TaskLinkError:
    if not isinstance(exc, VendorForbidden):
        return exc
    return NotFound(
        f"SpotDraft intake {intake_id} does not exist or is not visible to these credentials "
        "(SpotDraft answers 403 for both)",
        field="intake_id",
        hint="check the id with list_intakes",
    )


def _assignee_row(a: IntakeAssigneeInput) -> dict[str, str]:
    return {
        "entity_id": a.user_id,
        "entity_type": "ORG_USER",
        "assignee_type": "ASSIGNED_TO" if a.role == "assigned_to" else "COLLABORATOR",
    }


def _participant(row: dict[str, Any]) -> IntakeParticipant:
    user = row.get("assignee_org_user") or {}
    return IntakeParticipant(
        user_id=str(row.get("entity_id") or user.get("id")),
        role="collaborator" if row.get("assignee_type") == "COLLABORATOR" else "assigned_to",
        name=user.get("name"),
        email=user.get("email"),
    )


def _intake(data: dict[str, Any], normalize: Callable[[str | None], str | None]) -> Intake:
    workflow = data.get("frozen_workflow") or {}
    return Intake(
        id=data["id"],
        title=data["title"],
        status=data["status"],
        priority=data["priority"],
        description=data.get("description"),
        due_date=data.get("due_date"),
        reference_id=data.get("reference_id"),
        public_id=data.get("public_id"),
        workflow_id=workflow.get("workflow_id"),
        metadata=data.get("metadata"),
        assignees=[_participant(r) for r in data.get("assignees") or []],
        collaborators=[_participant(r) for r in data.get("collaborators") or []],
        tasks=[
            IntakeTask(
                id=str(t["id"]),
                title=t["title"],
                status=normalize(t.get("intake_task_status")),
                vendor_status=t.get("status"),
                priority=t.get("priority"),
                due=t.get("absolute_due_date"),
                reference_id=t.get("reference_id"),
            )
            for t in data.get("tasks") or []
        ],
        created_at=data.get("created_at"),
        modified_at=data.get("modified_at"),
    )
