"""SpotDraft adapter: legal intakes (v1), user tasks (v2.1, create only), org users (v2.1).

Wire facts: regional hosts `https://api.{in,us,eu,me}.spotdraft.com`; `client-id` and
`client-secret` headers (optional `user-email` to act as a workspace user); every path ends in
`/`; intake by-id routes answer 403 for ids that do not exist *or* are not visible.

Every answer is read through a model of its documented response schema (below), so a field the
schema does not name is never read: legal intakes from `LegalIntakePublicDetailResponse` and
`LegalIntakePublicListResponse`, a created task from `UserTaskPublicResponse`, people from
`PublicUserWithRolesMinimalListResponse`, roles from `ExternalUserActiveRolesResponseList`.

`find_records`: roles (teams) are the workspace's active roles. SpotDraft publishes no workflow list
(only an analytics SQL endpoint that must be enabled per workspace and does not tell intake workflows
from contract ones), so intake workflows are read from the `frozen_workflow` of the newest intakes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import httpx2
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from ..errors import InvalidInput, NotFound, TaskLinkError, VendorForbidden, field_errors_text
from ..models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    IntakeParticipant,
    IntakeRoleParticipant,
    IntakeSummary,
    IntakeTask,
    ListIntakesRequest,
    NamedRef,
    Person,
    Task,
    UpdateIntakeRequest,
    utc_iso,
)
from ..settings import TaskLinkSettings
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

Region = Literal["in", "us", "eu", "me"]
E = TypeVar("E", bound=VendorRecord)
TITLE = "SpotDraft"
INTAKES = "/api/v1/public/legal_intake/"
USER_TASKS = "/api/v2.1/public/user_tasks/"
USERS = "/api/v2.1/public/auth/users/"
ROLES = "/api/v2.1/public/auth/roles/"
#: find_records reads at most this many pages of intakes, newest first, for the workflows they use
WORKFLOW_PAGES_MAX = 5
TASK_VENDOR_FIELDS = ("reminders", "contract_id", "due_date_key_pointer_id")
#: documented defaults of an INTAKE_TASK created without them (UserTaskCreateRequest)
INTAKE_TASK_DEFAULTS = {"intake_task_status": "PENDING", "priority": "MEDIUM"}

#: vendor field names in error bodies -> the tool argument the model controls
FIELD_NAMES = {
    "due_date": "due",
    "notes": "description",
    "intake_task_status": "status",
    "org_user_id": "user_id",
    "entity_id": "user_id",
    "assignee_type": "role",
    "task_associations": "intake_id",
    "reminders": "vendor_fields.reminders",
    "contract_id": "vendor_fields.contract_id",
    "due_date_key_pointer_id": "vendor_fields.due_date_key_pointer_id",
}


# -- documented response schemas (only the fields tasklink reads) ------------------------------

AssigneeType = Literal["ASSIGNED_TO", "COLLABORATOR"]


class SDOrgUser(VendorRecord):
    """`PublicOrgUserResponse`."""

    id: int
    name: str
    email: str
    designation: str | None = None


class SDIntakeAssignee(VendorRecord):
    """`LegalIntakeAssigneePublicResponse`: a person (ORG_USER) or a role (ROLE) row."""

    entity_id: str
    entity_type: Literal["ORG_USER", "ROLE"]
    assignee_type: AssigneeType
    assignee_org_user: SDOrgUser | None = None


class SDIntakeTask(VendorRecord):
    """`LegalIntakeTaskPublicResponse`."""

    id: int
    title: str
    notes: str | None = None
    absolute_due_date: str | None = None
    status: Literal["COMPLETED", "UPCOMING", "OVERDUE", "NO_DATE"]
    priority: str | None = None
    intake_task_status: str | None = None
    reference_id: str | None = None


class SDAttachment(VendorRecord):
    """`LegalIntakeAttachmentPublicResponse`."""

    uuid: str
    name: str | None = None


class SDFrozenWorkflow(VendorRecord):
    """`FrozenWorkflowPublicResponse`."""

    workflow_id: int
    title: str | None = None
    description: str | None = None
    #: `WorkflowType`: TEMPLATE_WORKFLOW, UPLOAD_WORKFLOW or INTAKE_WORKFLOW (read as text)
    type: str | None = None


class SDIntakeListItem(VendorRecord):
    """`LegalIntakePublicListItemResponse`."""

    id: int
    title: str
    status: str
    priority: str
    due_date: str | None = None
    reference_id: str | None = None
    created_at: str
    frozen_workflow: SDFrozenWorkflow | None = None


class SDIntake(SDIntakeListItem):
    """`LegalIntakePublicDetailResponse`."""

    description: str | None = None
    metadata: dict[str, Any] | None = None
    public_id: str
    modified_at: str
    created_by: SDOrgUser | None = None
    assignees: list[SDIntakeAssignee] | None = None
    collaborators: list[SDIntakeAssignee] | None = None
    tasks: list[SDIntakeTask] | None = None
    attachments: list[SDAttachment] = Field(default_factory=list)


class SDIntakeList(VendorRecord):
    """`LegalIntakePublicListResponse`."""

    intakes: list[SDIntakeListItem]
    total_count: int
    page: int
    total_pages: int
    has_next: bool


class SDTaskAssigneeRef(VendorRecord):
    id: int


class SDTaskAssignee(VendorRecord):
    """An `assignees` row of `UserTaskPublicResponse`: an org user or a role."""

    assignee_org_user: SDTaskAssigneeRef | None = None
    assignee_role: SDTaskAssigneeRef | None = None


class SDTaskAssociation(VendorRecord):
    """`TaskAssociationPublicResponse`. `entity_id` is documented as a string in answers and an integer in
    requests; either is read."""

    entity_id: str | int
    entity_type: Literal["OBLIGATION", "LEGAL_INTAKE"]


class SDUserTask(VendorRecord):
    """`UserTaskPublicResponse`. It has no `priority` and no `intake_task_status`: `status` is derived from
    the due date and completion."""

    id: int
    title: str
    notes: str | None = None
    absolute_due_date: str | None = None
    created: str | None = None
    assignees: list[SDTaskAssignee]
    status: Literal["COMPLETED", "UPCOMING", "OVERDUE", "NO_DATE"] = "NO_DATE"
    task_category: Literal["USER_TASK", "OBLIGATION_TASK", "INTAKE_TASK"] = "USER_TASK"
    task_associations: list[SDTaskAssociation] = Field(default_factory=list)


class SDUser(VendorRecord):
    """`PublicMinimalUserWithRolesResponse`. The schema requires `name`; its own example sends
    `first_name`/`last_name` instead, so those are read when `name` is missing."""

    id: int
    email: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    designation: str | None = None
    is_active: bool

    @property
    def full_name(self) -> str | None:
        if self.name:
            return self.name
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None


class SDUserList(VendorRecord):
    """`PublicUserWithRolesMinimalListResponse`."""

    results: list[SDUser]


class SDRole(VendorRecord):
    """An `active_roles` row of `ExternalUserActiveRolesResponseList`."""

    id: int
    name: str
    description: str | None = None


class SDRoles(VendorRecord):
    """`ExternalUserActiveRolesResponseList`."""

    active_roles: list[SDRole]


class SDPublicError(VendorRecord):
    """SpotDraft's public error object `{detail, status_code, code, message}` (every user-task 400 and 403,
    and the intake create-domain 400s)."""

    code: str | int
    message: str


class SDDetail(VendorRecord):
    """`{"detail": "..."}`: 401, 403 and the list's invalid-sort 400."""

    detail: str


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
    #: SpotDraft applies its permission checks and audit attribution to this workspace user (NOTES.md)
    impersonation_header = "user-email"
    #: client-id and client-secret belong to a workspace, not a person: SpotDraft acts as people by user-email
    per_user_credentials = False

    async def check_credential(self) -> str:
        """SpotDraft lists intakes, not tasks: one page of one intake is the harmless read."""

        await self.list_intakes(ListIntakesRequest(limit=1))
        return "a working SpotDraft credential"

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
        if "message" in body and "code" in body and (public := _read_error(SDPublicError, body)) is not None:
            message = public.message
            match = re.match(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?):\s", message)
            field = _vendor_field_to_arg(match.group(1).replace("[", ".").replace("]", "")) if match else None
            if field is None:
                # create-domain errors name the problem only in prose
                field = next((f for f in ("workflow", "file_ids") if f in message.lower()), None)
                field = "workflow_id" if field == "workflow" else field
            return ErrorDetail(message=message, code=str(public.code), field=field)
        if set(body) == {"detail"} and (only := _read_error(SDDetail, body)) is not None:
            return ErrorDetail(message=only.detail)
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

    def _read_intake(self, data: Any, action: str, *, write: bool) -> Intake:
        record = read_as(SDIntake, data, vendor_title=TITLE, action=action, write=write)
        return _intake(record, self.normalized_status)

    def _intake_write(self, request: VendorRequest, intake_id: int) -> WritePlan[Intake]:
        async def read(data: Any) -> Intake:
            return self._read_intake(data, request.action, write=True)

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
            return self._read_intake(data, "create intake", write=True)

        return WritePlan(self.build_create_intake(req), read, ok=(201,))

    async def get_intake(self, intake_id: int) -> Intake:
        request = VendorRequest("GET", self._intake_path(intake_id), action=f"get intake {intake_id}")
        return self._read_intake(await self._by_id(request, intake_id), request.action, write=False)

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
        page = read_as(SDIntakeList, data, vendor_title=TITLE, action="list intakes")
        return IntakePage(
            intakes=[
                IntakeSummary(
                    id=i.id,
                    title=i.title,
                    status=i.status,
                    priority=i.priority,
                    due_date=i.due_date,
                    reference_id=i.reference_id,
                    created_at=i.created_at,
                )
                for i in page.intakes
            ],
            page=page.page,
            total_count=page.total_count,
            total_pages=page.total_pages,
            has_next=page.has_next,
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
        self, intake_id: int, participants: Sequence[IntakeAssigneeInput | IntakeRoleParticipant]
    ) -> WritePlan[Intake]:
        """PATCH the full desired ASSIGNED_TO + COLLABORATOR list (the API replaces the set).

        A request row is a person only (`entity_type` is the constant ORG_USER), so a list that must
        keep a role row cannot be sent: it is refused, and the role is never sent as a person."""

        roles = [p for p in participants if isinstance(p, IntakeRoleParticipant)]
        if roles:
            listed = ", ".join(f"role {r.role_id} ({r.role})" for r in roles)
            raise InvalidInput(
                f"SpotDraft intake {intake_id} has roles (teams) among its participants: {listed}. SpotDraft's "
                "public API takes only people in an assignee update and replaces the whole list, so adding or "
                "removing people here would drop those roles; nothing was sent",
                field="mode",
                hint="change this intake's participants in the SpotDraft app, or, if the roles should go, call "
                "update_intake_assignees with mode='replace' and the full list of people",
            )
        people = [p for p in participants if isinstance(p, IntakeAssigneeInput)]
        request = VendorRequest(
            "PATCH",
            self._intake_path(intake_id),
            json={"assignees": [_assignee_row(p) for p in people]},
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
        reject_unknown_vendor_fields(req.vendor_fields, TASK_VENDOR_FIELDS, TITLE)
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
        request = self.build_create_task(req)
        sent: dict[str, Any] = request.json

        async def read(data: Any) -> Task:
            return self._created_task(
                read_as(SDUserTask, data, vendor_title=TITLE, action="create task", write=True), sent
            )

        return WritePlan(request, read, ok=(201,))

    def _created_task(self, answer: SDUserTask, sent: Mapping[str, Any]) -> Task:
        """The task as created. `UserTaskPublicResponse` has no intake task status or priority; SpotDraft
        accepted the ones sent (or applied its documented defaults), so those are what the task has.
        Other tasks have no priority, and their `status` says only whether they are completed."""

        assignees = []
        for row in answer.assignees:
            if row.assignee_org_user is not None:
                assignees.append(str(row.assignee_org_user.id))
            elif row.assignee_role is not None:
                assignees.append(f"role:{row.assignee_role.id}")
        intakes = [a for a in answer.task_associations if a.entity_type == "LEGAL_INTAKE"]
        links = {"intake_id": str(intakes[0].entity_id)} if intakes else {}
        if sent.get("task_category") == "INTAKE_TASK":
            vendor_status = str(sent.get("intake_task_status", INTAKE_TASK_DEFAULTS["intake_task_status"]))
            status = self.normalized_status(vendor_status)
            priority: str | None = str(sent.get("priority", INTAKE_TASK_DEFAULTS["priority"]))
        else:
            vendor_status = answer.status
            status = "done" if answer.status == "COMPLETED" else "todo"
            priority = None
        return Task(
            vendor="spotdraft",
            id=str(answer.id),
            title=answer.title,
            status=status,
            vendor_status=vendor_status,
            priority=priority,
            due=answer.absolute_due_date,
            description=answer.notes or None,
            assignees=assignees,
            links=links,
            created_at=answer.created,
        )

    # -- lookups -------------------------------------------------------------------------

    async def find_records(self, kind: str, query: str, limit: int) -> RecordMatches:
        if kind == "workflow":
            return await _intake_workflows(self, query, limit)
        if kind != "role":
            raise self._unimplemented(f"find_records(kind={kind!r})")
        data = await self.http.send_json(VendorRequest("GET", ROLES, action="find roles"))
        roles = read_as(SDRoles, data, vendor_title=TITLE, action="find roles").active_roles
        found = [
            FoundRecord(id=str(r.id), name=r.name, kind="role", detail=r.description or None)
            for r in roles
            if name_matches(query, r.name)
        ]
        return RecordMatches(found[:limit])

    # -- people --------------------------------------------------------------------------

    async def find_people(self, query: str, limit: int) -> list[Person]:
        key = "user_email" if "@" in query else "user_name"
        params = {key: query.strip(), "limit": str(limit), "page": "1"}
        data = await self.http.send_json(VendorRequest("GET", USERS, params=params, action="find people"))
        found = read_as(SDUserList, data, vendor_title=TITLE, action="find people")
        return [
            Person(id=str(u.id), name=u.full_name, email=u.email, title=u.designation, active=u.is_active)
            for u in found.results
        ]


async def _intake_workflows(adapter: SpotDraftAdapter, query: str, limit: int) -> RecordMatches:
    """The intake workflows the newest intakes use (distinct, by title prefix): SpotDraft lists no workflows."""

    page_size = adapter.manifest.limits.require("list_intakes_max_limit")
    found: dict[int, FoundRecord] = {}
    for page in range(1, WORKFLOW_PAGES_MAX + 1):
        params = [("page", str(page)), ("limit", str(page_size)), ("sort", "-created_at")]
        data = await adapter.http.send_json(VendorRequest("GET", INTAKES, params=params, action="find workflows"))
        listed = read_as(SDIntakeList, data, vendor_title=TITLE, action="find workflows")
        for item in listed.intakes:
            flow = item.frozen_workflow
            if flow is None or flow.type != "INTAKE_WORKFLOW" or flow.workflow_id in found:
                continue
            if name_matches(query, flow.title):
                name = flow.title or f"Workflow {flow.workflow_id}"
                found[flow.workflow_id] = FoundRecord(
                    id=str(flow.workflow_id), name=name, kind="workflow", detail=flow.description or None
                )
        if len(found) >= limit or not listed.has_next:
            break
    warnings = []
    if not found:
        warnings.append(
            "SpotDraft's API lists no workflows: only intake workflows that an intake already uses can be found"
        )
        if adapter.settings.intake_workflow_id:
            default = adapter.settings.intake_workflow_id
            warnings.append(f"create_intake without workflow_id uses workflow {default} (SPOTDRAFT_INTAKE_WORKFLOW_ID)")
    return RecordMatches(list(found.values())[:limit], warnings)


def _read_error(model: type[E], body: dict[str, Any]) -> E | None:
    try:
        return model.model_validate(body)
    except ValidationError:
        return None


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


def _role(row: SDIntakeAssignee) -> Literal["assigned_to", "collaborator"]:
    return "collaborator" if row.assignee_type == "COLLABORATOR" else "assigned_to"


def _participant(row: SDIntakeAssignee) -> IntakeParticipant:
    user = row.assignee_org_user
    return IntakeParticipant(
        user_id=row.entity_id,
        role=_role(row),
        name=user.name if user else None,
        email=user.email if user else None,
    )


def _intake(data: SDIntake, normalize: Callable[[str | None], str | None]) -> Intake:
    rows = [*(data.assignees or []), *(data.collaborators or [])]
    people = [_participant(r) for r in rows if r.entity_type == "ORG_USER"]
    creator = data.created_by
    return Intake(
        id=data.id,
        title=data.title,
        status=data.status,
        priority=data.priority,
        description=data.description,
        due_date=data.due_date,
        reference_id=data.reference_id,
        public_id=data.public_id,
        workflow_id=data.frozen_workflow.workflow_id if data.frozen_workflow else None,
        metadata=data.metadata,
        assignees=[p for p in people if p.role == "assigned_to"],
        collaborators=[p for p in people if p.role == "collaborator"],
        roles={r.entity_id: _role(r) for r in rows if r.entity_type == "ROLE"},
        tasks=[
            IntakeTask(
                id=str(t.id),
                title=t.title,
                status=normalize(t.intake_task_status),
                vendor_status=t.status,
                priority=t.priority,
                due=t.absolute_due_date,
                reference_id=t.reference_id,
                description=t.notes or None,
            )
            for t in data.tasks or []
        ],
        attachments=[NamedRef(id=a.uuid, name=a.name) for a in data.attachments],
        created_by=NamedRef(id=str(creator.id), name=creator.name) if creator else None,
        created_at=data.created_at,
        modified_at=data.modified_at,
    )
