"""What an adapter is: one vendor's auth, paths and wire mapping — never policy.

An adapter receives normalized request models (already through the guardrails) and returns
normalized models. It builds `VendorRequest`s and sends them through its `VendorHttp`.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import InvalidInput, NotImplementedOperation
from ..manifests import IdShape, VendorManifest
from ..models import (
    CreateIntakeRequest,
    CreateTaskRequest,
    Intake,
    IntakeAssigneeInput,
    IntakePage,
    IntakeRoleParticipant,
    ListIntakesRequest,
    ListTasksRequest,
    Person,
    Task,
    TaskPage,
    UpdateIntakeRequest,
    UpdateTaskRequest,
)
from ..principals import acting
from ..settings import TaskLinkSettings
from ..signed import sign, verify
from ._http import ErrorDetail, VendorHttp, WritePlan, generic_error_detail


class VendorSettings(BaseSettings):
    """Base for `<VENDOR>_*` settings. Subclasses set `env_prefix` and their fields."""

    model_config = SettingsConfigDict(extra="ignore")

    #: field names that together make the vendor "configured"
    credential_fields: ClassVar[tuple[str, ...]] = ()

    identity: Literal["service", "impersonate", "per-user"] = Field(
        "service",
        description="Whom requests act as on a shared server: the service credentials (`service`), the service "
        "credentials on behalf of each caller (`impersonate`, where the vendor has such a mechanism), or each "
        "caller's own credentials from the vault (`per-user`).",
    )

    def env_name(self, field: str) -> str:
        prefix = str(self.model_config.get("env_prefix", ""))
        return (prefix + field).upper()

    def present_credentials(self) -> list[str]:
        return [f for f in self.credential_fields if getattr(self, f, None) not in (None, "")]

    def secret_values(self) -> list[str]:
        out: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out.append(value.get_secret_value())
        return out

    def api_base_url(self) -> str:
        raise NotImplementedError

    def as_env(self, base_url: str) -> dict[str, str]:
        """These settings as environment variables, pointed at `base_url` (for the loopback sandbox)."""

        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or name == "base_url" or (name == "identity" and value == "service"):
                continue
            env[self.env_name(name)] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        env[self.env_name("base_url")] = base_url
        return env

    def validate_live(self) -> list[str]:
        """Problems that stop a live (credentialed) configuration from working, one sentence each."""

        return []


S = TypeVar("S", bound=VendorSettings)

#: The adapter method that carries each manifest operation. Every operation a manifest marks
#: supported must be implemented by its adapter; the registry checks this at start-up.
OPERATION_METHODS: dict[str, str] = {
    "create_task": "plan_create_task",
    "get_task": "get_task",
    "list_tasks": "list_tasks",
    "update_task": "plan_update_task",
    "reassign_task": "plan_update_task",
    "delete_task": "plan_delete_task",
    "find_people": "find_people",
    "find_records": "find_records",
    "create_intake": "plan_create_intake",
    "get_intake": "get_intake",
    "list_intakes": "list_intakes",
    "update_intake": "plan_update_intake",
    "update_intake_assignees": "plan_set_intake_participants",
    "delete_intake": "plan_delete_intake",
}


class FoundRecord(BaseModel):
    """A match of find_records."""

    id: str
    name: str
    kind: str
    detail: str | None = None


@dataclass
class RecordMatches:
    """What an adapter's `find_records` read: the matches, and what the caller should know about the search."""

    records: list[FoundRecord]
    warnings: list[str] = field(default_factory=list)


class VendorAdapter(Generic[S]):
    """One contract for every vendor, intakes included; an operation a vendor lacks stays unimplemented.

    Reads return normalized models. Writes are planned, never sent here: `plan_*` validates the
    request (and may read, e.g. to re-check a target) and returns a `WritePlan` that the write
    gate sends or describes.
    """

    settings_class: ClassVar[type[VendorSettings]]
    #: the header that makes a request act on behalf of a user (its email), where the vendor documents one
    impersonation_header: ClassVar[str | None] = None
    #: whether a person can hold their own credential (the settings' credential fields) for this vendor
    per_user_credentials: ClassVar[bool] = True

    async def check_credential(self) -> str:
        """One harmless read with this adapter's credentials; what the vendor account is (for the person who
        connects it). Raises the vendor's error when the credential does not work."""

        page = await self.list_tasks(ListTasksRequest(vendor=self.manifest.name, limit=1))
        del page
        return f"a working {self.manifest.title} credential"

    def __init__(
        self,
        *,
        manifest: VendorManifest,
        http: VendorHttp,
        settings: S,
        app: TaskLinkSettings,
        cursors: Cursors | None = None,
    ) -> None:
        self.manifest = manifest
        self.http = http
        self.settings = settings
        self.app = app
        #: list cursors signed with the server's key (a throwaway key when built without one, e.g. in a unit test)
        self.cursors = cursors or Cursors(secrets.token_bytes(32), manifest.name)

    async def warm_up(self) -> None:
        """Read now what a process's first call would otherwise wait for (a token, definitions); the server
        runs it in the background when it starts. Failures are left to the call that needs the read."""

    def task_segment(self, task_id: str) -> str:
        """A task id as one URL path segment, checked against the manifest's `[ids] task` shape."""

        return path_segment(task_id, self.manifest.ids.task, field="task_id", vendor_title=self.manifest.title)

    @classmethod
    def unimplemented(cls, manifest: VendorManifest) -> list[str]:
        """The operations `manifest` marks supported that this adapter does not implement."""

        return [
            name
            for name, method in OPERATION_METHODS.items()
            if manifest.operation(name).supported and getattr(cls, method) is getattr(VendorAdapter, method)
        ]

    def observed(self, on_read: Callable[[], Awaitable[None]]) -> Self:
        """This adapter for one call whose every successful read is reported to `on_read`."""

        view = copy.copy(self)
        view.http = self.http.observed(on_read)
        return view

    # -- construction hooks --------------------------------------------------------------

    @classmethod
    def sandbox_settings(cls, app: TaskLinkSettings, demo: Mapping[str, str]) -> VendorSettings:
        """Settings that reach the embedded simulator with the demo credentials it exports."""

        return cls.settings_class.model_validate(dict(demo))

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        """Headers sent on every request (auth, version)."""

        return {}

    @classmethod
    def client_auth(cls, settings: VendorSettings) -> httpx2.Auth | None:
        return None

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        return generic_error_detail(response)

    # -- the operations (see OPERATION_METHODS) -------------------------------------------

    def _unimplemented(self, operation: str) -> NotImplementedOperation:
        return NotImplementedOperation(self.manifest.title, operation, type(self).__module__)

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        raise self._unimplemented("create_task")

    async def get_task(self, task_id: str) -> Task:
        raise self._unimplemented("get_task")

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        raise self._unimplemented("list_tasks")

    async def list_title_matches(self, req: ListTasksRequest) -> TaskPage:
        """The duplicate check's read: tasks titled `req.text`. By default list_tasks, whose text search
        may be wider (the service compares the titles); a vendor with an exact-title filter uses it."""

        return await self.list_tasks(req)

    async def plan_update_task(self, req: UpdateTaskRequest) -> WritePlan[Task]:
        raise self._unimplemented("update_task")

    async def plan_delete_task(self, task_id: str) -> WritePlan[None]:
        raise self._unimplemented("delete_task")

    async def find_people(self, query: str, limit: int) -> list[Person]:
        raise self._unimplemented("find_people")

    async def find_records(self, kind: str, query: str, limit: int) -> RecordMatches:
        """Records of `kind` (one the manifest's `find_records` kinds support) whose name starts with `query`
        (any record when it is empty), at most `limit`."""

        raise self._unimplemented("find_records")

    async def plan_create_intake(self, req: CreateIntakeRequest) -> WritePlan[Intake]:
        raise self._unimplemented("create_intake")

    async def get_intake(self, intake_id: int) -> Intake:
        raise self._unimplemented("get_intake")

    async def list_intakes(self, req: ListIntakesRequest) -> IntakePage:
        raise self._unimplemented("list_intakes")

    async def plan_update_intake(self, req: UpdateIntakeRequest) -> WritePlan[Intake]:
        raise self._unimplemented("update_intake")

    async def plan_set_intake_participants(
        self, intake_id: int, participants: Sequence[IntakeAssigneeInput | IntakeRoleParticipant]
    ) -> WritePlan[Intake]:
        raise self._unimplemented("update_intake_assignees")

    async def plan_delete_intake(self, intake_id: int) -> WritePlan[None]:
        raise self._unimplemented("delete_intake")

    # -- helpers shared by adapters ------------------------------------------------------

    def vendor_status(self, normalized: str, *, field: str = "status") -> str:
        """Map a normalized status (or the vendor's own value) to the vendor's value."""

        statuses = self.manifest.statuses
        if normalized in statuses:
            return statuses[normalized]
        if normalized in statuses.values():
            return normalized
        allowed = [f"{k} ({v})" for k, v in statuses.items()]
        raise InvalidInput(f"{self.manifest.title} cannot express status {normalized!r}", field=field, allowed=allowed)

    def normalized_status(self, vendor_value: str | None) -> str | None:
        if vendor_value is None:
            return None
        for normalized, value in self.manifest.statuses.items():
            if value == vendor_value:
                return normalized
        return None


class Cursors:
    """Opaque list cursors, authenticated with the server's cursor key and bound to the acting principal.

    A cursor carries only the paging state an adapter put in it, tagged with its vendor and signed,
    so a forged or edited cursor (arbitrary query parameters, another vendor's state) is refused as
    a field error before any request.
    """

    def __init__(self, key: bytes, vendor: str) -> None:
        self._key = key
        self.vendor = vendor

    def encode(self, state: dict[str, Any]) -> str:
        return sign(self._key, {"v": self.vendor, "s": state}, context=acting().scope())

    def decode(self, cursor: str) -> dict[str, Any]:
        data = verify(self._key, cursor, context=acting().scope())
        if not isinstance(data, dict):
            raise InvalidInput(
                "cursor is not one tasklink returned for this list (it was changed, or made elsewhere)",
                field="cursor",
                hint="pass next_cursor exactly as returned, or drop the cursor to start over",
            )
        if data.get("v") != self.vendor or not isinstance(data.get("s"), dict):
            raise InvalidInput(f"cursor belongs to {data.get('v')!r}, not {self.vendor!r}", field="cursor")
        state: dict[str, Any] = data["s"]
        return state


def path_segment(value: str, shape: IdShape | None, *, field: str, vendor_title: str) -> str:
    """An id as one URL path segment: it must match the vendor's id shape, and it is percent-encoded,
    so no value reaches another path (`..`, `x?y=1`, `x#y`, `a/b`)."""

    text = str(value)
    allowed = [f"an id like {shape.example}"] if shape is not None else None
    if text in ("", ".", "..") or (shape is not None and not shape.matches(text)):
        raise InvalidInput(f"{value!r} is not a {vendor_title} id", field=field, allowed=allowed)
    return quote(text, safe="")


def name_matches(query: str, *names: str | None) -> bool:
    """Whether any of `names`, or any word in one, starts with `query` (ignoring case); an empty query matches."""

    wanted = query.strip().casefold()
    if not wanted:
        return True
    for name in names:
        text = (name or "").casefold()
        if text.startswith(wanted) or any(word.startswith(wanted) for word in text.replace(",", " ").split()):
            return True
    return False


def reject_unknown_vendor_fields(vendor_fields: dict[str, Any], allowed: tuple[str, ...], title: str) -> None:
    unknown = sorted(set(vendor_fields) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{title} does not take vendor_fields {unknown}",
            field=f"vendor_fields.{unknown[0]}",
            allowed=list(allowed) or ["(none)"],
        )
