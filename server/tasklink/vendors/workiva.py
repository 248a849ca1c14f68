"""Workiva adapter: platform tasks on the GA API or the deprecated prototype endpoint.

Wire facts: hosts `https://api.{app,eu,apac}.wdesk.com`; an OAuth2 client-credentials token from
`POST /oauth2/token` sent as `Authorization: Bearer`; `X-Version` selects the API version on
every request. `2026-01-01` (default) is the GA `/tasks` API: create 201, JSON Patch updates,
DELETE 204, `$filter`/`$maxpagesize`/`$next` paging answered as `{data, @nextLink}`.
`2022-01-01` selects the prototype endpoint `/prototype/platform/tasks` (create, list, patch),
deprecated 2026-02-12 and sunset 2027-01-31 — the manifest holds those dates and the guardrails
act on them; this module only speaks the wire format. Errors are `{code, message, target?,
details?}`. The spec's examples say `dueAt` where its schema says `dueDate`: we send `dueDate`
and read either.

Every answer is read through the models below (`read_as`), derived from platform.yaml's `Task`,
`TasksListResult`, `BearerToken`, `IamError`, `ErrorResponse` and `OrganizationUsersListResult`,
so nothing an answer carries beyond them can reach a result. Where the spec's examples and its
schemas disagree, both spellings are read: `dueAt`/`dueDate`, an approval response's
`created.user_id` (examples) or `created.user.id` (schema), and `completed`, which only the
examples (2026-01-01 create, and seed-docs/003) show.

`find_records` finds task locations: a location's `resource` is a file id (platform.yaml's `Task`
example and its `File` example share 124efa2a142f472ba1ceab34ed18915f). `GET /files` (2026-01-01,
scope file:read) documents no filterable property, so files are matched by name here, page by page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlsplit

import anyio
import httpx2
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from ..errors import (
    ConfigurationError,
    InvalidInput,
    RateLimited,
    TaskLinkError,
    UnsupportedOperation,
    VendorUnavailable,
)
from ..models import (
    AssigneeRef,
    CreateTaskRequest,
    ListTasksRequest,
    Person,
    Task,
    TaskPage,
    UpdateTaskRequest,
    parse_due,
    utc_iso,
)
from ..settings import TaskLinkSettings
from ._http import ErrorDetail, VendorRequest, WritePlan, error_object, parse_retry_after
from .base import (
    FoundRecord,
    RecordMatches,
    VendorAdapter,
    VendorSettings,
    name_matches,
    reject_unknown_vendor_fields,
)
from .responses import VendorRecord, read_as

GA_VERSION = "2026-01-01"
PROTOTYPE_VERSION = "2022-01-01"
API_VERSIONS = (GA_VERSION, PROTOTYPE_VERSION)
REGIONS = ("app", "eu", "apac")
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a secret
#: the version whose reference documents `/oauth2/token` and `/organizations/{id}/users`
TOKEN_AND_USERS_VERSION = GA_VERSION
CREATE_VENDOR_FIELDS = ("approvalSteps", "location", "notificationsDisabled")
UPDATE_VENDOR_FIELDS = ("approvalSteps", "location", "owner")
LIST_VENDOR_FILTERS = ("location.resource", "location.segment", "approvalSteps.participants", "orderBy")
PATCH_FIELDS = ("title", "description", "due", "assignees", "vendor_fields.approvalSteps",
                "vendor_fields.location", "vendor_fields.owner")  # fmt: skip
#: find_people reads at most this many pages of organization users
USER_PAGES = 5
FILES = "/files"
#: find_records reads at most this many pages of files (1,000 each); a location is one of these kinds
FILE_PAGES = 3
LOCATION_KINDS = ("Document", "Spreadsheet", "Presentation")

#: vendor error targets -> the tool argument the model controls
TARGET_NAMES = {
    "title": "title",
    "description": "description",
    "dueDate": "due",
    "status": "status",
    "assignees": "assignees",
    "approvalSteps": "vendor_fields.approvalSteps",
    "location": "vendor_fields.location",
    "notificationsDisabled": "vendor_fields.notificationsDisabled",
    "owner": "vendor_fields.owner",
    "$filter": "filters",
    "$orderBy": "vendor_filters.orderBy",
    "$maxpagesize": "limit",
    "$next": "cursor",
}

#: what each documented error code means for the caller, added to the vendor's message
CODE_ADVICE = {
    "400BadRequest": "the request had a missing or invalid value",
    "401Unauthorized": "the access token was not accepted even after fetching a fresh one",
    "403Forbidden": "the API client lacks the scope for this (task:read to read, task:write to change)",
    "404NotFound": "no such record, or it is not visible to this API client",
    "409Conflict": "it conflicts with another change to the same record; re-read it with get_task first",
    "429TooManyRequests": "Workiva is limiting the request rate",
    "500InternalServerError": "Workiva failed while handling it",
    "503ServiceUnavailable": "Workiva is overloaded or in maintenance",
}


# -- what a Workiva answer may carry (platform.yaml components/schemas; seed-docs/003) ----------------
# Enumerations (TaskUser.type, completionMode, an approval response's action) are read as text: a value
# Workiva adds later is shown as it is rather than making the whole task unreadable.


class WorkivaUser(VendorRecord):
    """`User` / `TaskUser`: `{id, type: USER}`."""

    id: str | None = None
    type: str | None = None


class WorkivaAction(VendorRecord):
    """`Action`: when something was done and by whom. The schema says `user: {id}`; the task examples'
    approval responses say `user_id` — both are read."""

    dateTime: str | None = None
    user: WorkivaUser | None = None
    user_id: str | None = None

    def by(self) -> str | None:
        return self.user.id if self.user is not None and self.user.id else self.user_id

    def compact(self) -> dict[str, str | None]:
        return {"at": self.dateTime, "by": self.by()}


class WorkivaApprovalResponse(VendorRecord):
    """`TaskApprovalResponse`: `{created (required), action: SKIP|APPROVE|REJECT (required), comment|null}`."""

    created: WorkivaAction
    action: str
    comment: str | None = None


class WorkivaApprovalStep(VendorRecord):
    """`TaskApprovalStep`: completionMode and participants are required; responses are read-only."""

    completionMode: str
    participants: list[WorkivaUser]
    dueDate: str | None = None
    #: the examples' spelling of dueDate
    dueAt: str | None = None
    responses: list[WorkivaApprovalResponse] = Field(default_factory=list)


class WorkivaLocation(VendorRecord):
    """`TaskLocation`: `{resource, segment|null}`."""

    resource: str | None = None
    segment: str | None = None


class WorkivaTask(VendorRecord):
    """`Task` (2026-01-01) and the prototype's `PrototypeTask` answer (seed-docs/003)."""

    id: str
    title: str | None = None
    #: a non-nullable string in the schema; null is tolerated when read
    description: str | None = None
    dueDate: str | None = None
    #: the examples' (and the prototype's) spelling of dueDate
    dueAt: str | None = None
    #: free text in 2026-01-01 (default Created)
    status: str | None = None
    assignees: list[WorkivaUser] = Field(default_factory=list)
    approvalSteps: list[WorkivaApprovalStep] = Field(default_factory=list)
    location: WorkivaLocation | None = None
    notificationsDisabled: bool | None = None
    owner: str | None = None
    sourceUrl: str | None = None
    created: WorkivaAction | None = None
    modified: WorkivaAction | None = None
    #: only in the examples (2026-01-01 create answer; seed-docs/003), not in the Task schema
    completed: WorkivaAction | None = None


class WorkivaTaskList(VendorRecord):
    """`TasksListResult`: `{data: [Task], @nextLink?}`."""

    data: list[WorkivaTask] = Field(default_factory=list)
    next_link: str | None = Field(None, alias="@nextLink")


class WorkivaOrganizationUser(VendorRecord):
    """`OrganizationUser`."""

    id: str | None = None
    givenName: str | None = None
    familyName: str | None = None
    displayName: str | None = None
    email: str | None = None
    username: str | None = None
    status: str | None = None


class WorkivaOrganizationUsers(VendorRecord):
    """`OrganizationUsersListResult`: `{data (required), @nextLink|null}`."""

    data: list[WorkivaOrganizationUser]
    next_link: str | None = Field(None, alias="@nextLink")


class WorkivaFile(VendorRecord):
    """`File`: what a location's `resource` names."""

    id: str | None = None
    name: str | None = None
    kind: str | None = None
    type: str | None = None
    state: str | None = None


class WorkivaFiles(VendorRecord):
    """`FilesListResult`: `{data, @nextLink?}`."""

    data: list[WorkivaFile]
    next_link: str | None = Field(None, alias="@nextLink")


class WorkivaBearerToken(VendorRecord):
    """`BearerToken`: every field required."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str


class WorkivaIamError(VendorRecord):
    """`IamError`, the token endpoint's error body."""

    error: str | None = None
    error_description: str | None = None


class WorkivaErrorDetails(VendorRecord):
    code: str | None = None
    message: str | None = None
    target: str | None = None


class WorkivaErrorResponse(VendorRecord):
    """`ErrorResponse`: `{code, message, target?, details?: [{code, message, target}], documentationUrl?, version?}`."""

    code: str | None = None
    message: str
    target: str | None = None
    details: list[WorkivaErrorDetails] = Field(default_factory=list)


class WorkivaSettings(VendorSettings):
    model_config = SettingsConfigDict(env_prefix="WORKIVA_", extra="ignore")
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    client_id: SecretStr | None = Field(None, description="Workiva OAuth2 client id (client-credentials grant).")
    client_secret: SecretStr | None = Field(None, description="Workiva OAuth2 client secret.")
    base_url: str | None = Field(None, description="Workiva API base URL (instead of WORKIVA_REGION).")
    region: str | None = Field(None, description="Workiva environment: app, eu or apac.")
    api_version: str = Field(
        GA_VERSION, description="Workiva X-Version: 2026-01-01 (GA tasks) or the deprecated 2022-01-01 prototype."
    )
    organization_id: str | None = Field(None, description="Workiva organization id whose users find_people searches.")
    scope: str | None = Field(None, description="OAuth2 scope to request for the Workiva token.")

    def api_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"https://api.{self.region or 'app'}.wdesk.com"

    def version_problem(self) -> str | None:
        if self.api_version in API_VERSIONS:
            return None
        return (
            f"WORKIVA_API_VERSION={self.api_version!r} is not supported; use {GA_VERSION} (the GA /tasks API, "
            f"default) or {PROTOTYPE_VERSION} (the deprecated prototype endpoint /prototype/platform/tasks)"
        )

    def validate_live(self) -> list[str]:
        problems = []
        if self.region is not None and self.region not in REGIONS:
            problems.append(f"WORKIVA_REGION={self.region!r} is not a Workiva region; use app (US), eu or apac")
        elif not self.base_url and not self.region:
            problems.append("set WORKIVA_REGION (app for the US, eu or apac) or WORKIVA_BASE_URL")
        if (version := self.version_problem()) is not None:
            problems.append(version)
        return problems


# -- OAuth2 client credentials ----------------------------------------------------------------


#: a token is renewed in the background once this share of its lifetime has passed, so no call waits for one
TOKEN_RENEW_FRACTION = 0.75


class WorkivaTokenAuth(httpx2.Auth):
    """Bearer tokens from `POST /oauth2/token`, renewed in the background before they expire.

    The first request that needs a token fetches it (concurrent first requests share that one fetch;
    `fetch_ahead` starts it earlier, for a caller that knows the adapter will be used). From then on each
    token is renewed in the background once TOKEN_RENEW_FRACTION of its lifetime has passed, while the
    client is open — so after the first, no call waits for a token fetch. A request that finds no usable
    token (after a failed renewal) fetches one itself; every fetch holds one lock, so there is never a
    second fetch at the same time, and a request that waited for a fetch that failed gets that failure
    rather than sending another. A 401 on a call means the token died early (revoked, or expired on
    Workiva's clock): fetch a new one and resend once; a second 401 is returned as is.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self.clock = clock
        self._lock = anyio.Lock()
        self._token: str | None = None
        #: a token is not used after this (a little before it expires, so it never expires in flight)
        self._refresh_at = 0.0
        #: renewed in the background from here
        self._renew_at = 0.0
        #: how many tokens this auth has fetched (diagnostics and tests)
        self.fetches = 0
        #: answered fetches, and the last one's failure (None when it succeeded)
        self._attempts = 0
        self._failure: TaskLinkError | None = None
        #: the client background fetches go through (see `bind`), and the task that keeps the token fresh
        self._client: httpx2.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keeper: asyncio.Task[Any] | None = None

    def _fresh(self) -> bool:
        return self._token is not None and self.clock() < self._refresh_at

    def _token_request(self) -> httpx2.Request:
        form = {"client_id": self._client_id, "client_secret": self._client_secret, "grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        headers = {"Accept": "application/json", "X-Version": TOKEN_AND_USERS_VERSION}
        return httpx2.Request("POST", self.token_url, data=form, headers=headers)

    async def _accept(self, response: httpx2.Response) -> None:
        try:
            await response.aread()
            if response.status_code != 200:
                raise token_error(response)
            try:
                answer = WorkivaBearerToken.model_validate_json(response.content)
            except ValidationError:
                raise VendorUnavailable("Workiva's token endpoint answered without a usable access token") from None
        except TaskLinkError as exc:
            self._failure = exc  # what a request that waited for this fetch is told
            raise
        finally:
            self._attempts += 1
        now = self.clock()
        self._token = answer.access_token
        lifetime = float(answer.expires_in)
        self._refresh_at = now + lifetime - min(60.0, lifetime / 10)
        self._renew_at = min(now + lifetime * TOKEN_RENEW_FRACTION, self._refresh_at)
        self._failure = None
        self.fetches += 1
        self._keep_fresh()

    # -- in the background ---------------------------------------------------------------------

    def bind(self, client: httpx2.AsyncClient) -> None:
        """The client (its transport, timeouts) that background fetches are sent through."""

        self._client = client

    def fetch_ahead(self) -> None:
        """Fetch a token now, in the background, unless one is held or being fetched (a warm-up)."""

        if not self._fresh():
            self._spawn(self._fetch_in_background(self._attempts))

    def _keep_fresh(self) -> None:
        if self._keeper is None or self._keeper.done():
            self._keeper = self._spawn(self._renewals())

    def _spawn(self, work: Coroutine[Any, Any, object]) -> asyncio.Task[Any] | None:
        """Run `work` in the background of the running event loop (none: it is dropped; requests fetch)."""

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return None
        task = loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _renewals(self) -> None:
        """Renew each token at its `_renew_at`, for as long as the client is open and renewals succeed."""

        while self._client is not None and not self._client.is_closed:
            wait = self._renew_at - self.clock()  # moves on when a 401 or a request renewed the token meanwhile
            if wait > 0:
                await anyio.sleep(min(wait, 30.0))  # a closed client is noticed within 30 s
            elif not await self._fetch_in_background(self._attempts, renewal=True):
                return  # a request fetches the next token itself; its success starts renewing again

    async def _fetch_in_background(self, seen: int, *, renewal: bool = False) -> bool:
        client = self._client
        if client is None or client.is_closed:
            return False
        async with self._lock:
            if self._attempts != seen or (self._fresh() and not (renewal and self.clock() >= self._renew_at)):
                return True  # fetched meanwhile
            try:
                await self._accept(await client.send(self._token_request(), auth=None))
            except (TaskLinkError, httpx2.HTTPError):
                return False  # the next request that needs a token fetches it (and reports a failure) itself
        return True

    # -- on each request ---------------------------------------------------------------------

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        if not self._fresh():
            seen = self._attempts
            async with self._lock:
                if not self._fresh():
                    if self._attempts != seen and self._failure is not None:
                        raise self._failure  # the fetch this request waited for failed just now
                    await self._accept((yield self._token_request()))
        used = self._token
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody refreshed it meanwhile
                await self._accept((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def token_error(response: httpx2.Response) -> TaskLinkError:
    """The token endpoint's IamError, as something the operator can act on. Never echoes a secret."""

    try:
        code = WorkivaIamError.model_validate_json(response.content).error or ""
    except ValidationError:
        code = ""
    code = code if code.replace("_", "").isalpha() else ""
    status = response.status_code
    if status == 429:
        return RateLimited(
            "Workiva is rate limiting token requests (HTTP 429); nothing was sent",
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            status=status,
        )
    if status >= 500:
        return VendorUnavailable(f"Workiva's token endpoint failed (HTTP {status}); nothing was sent", status=status)
    if code == "invalid_scope":
        return ConfigurationError(
            "Workiva refused the requested token scope (invalid_scope); nothing else was sent",
            hint="fix or unset WORKIVA_SCOPE (task scopes are task:read and task:write), then restart tasklink",
        )
    return ConfigurationError(
        f"Workiva rejected tasklink's API client credentials when asked for an access token "
        f"(HTTP {status}{', ' + code if code else ''}); nothing else was sent",
        hint="check WORKIVA_CLIENT_ID and WORKIVA_CLIENT_SECRET (an OAuth2 API client of your Workiva "
        "organization, granted task:read and task:write), then restart tasklink",
    )


# -- the adapter ------------------------------------------------------------------------------


def _target_to_arg(target: str) -> str | None:
    """`assignees[0].id` -> `assignees[0]`; `/location` -> `vendor_fields.location`; `/0/op` -> None."""

    name = target.lstrip("/")
    if not name or name[0].isdigit():
        return None
    head = name.split(".")[0].split("[")[0].split("/")[0]
    if head not in TARGET_NAMES:
        return None
    rest = name[len(head) :].replace("/", ".")
    if head == "assignees":
        rest = rest.removesuffix(".id")
    return TARGET_NAMES[head] + rest


def _quote(value: str) -> str:
    """An OData string literal: single quotes, a quote inside doubled."""

    return "'" + value.replace("'", "''") + "'"


def _next_query(next_link: str) -> list[tuple[str, str]]:
    """The query of an `@nextLink`. Only the query is kept: the bearer token never follows a host
    named in a response body."""

    return parse_qsl(urlsplit(next_link).query, keep_blank_values=True)


class WorkivaAdapter(VendorAdapter[WorkivaSettings]):
    settings_class = WorkivaSettings
    settings: WorkivaSettings

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        auth = self.http.client.auth
        if isinstance(auth, WorkivaTokenAuth):
            auth.bind(self.http.client)  # renewals are sent through this adapter's client

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def sandbox_settings(cls, app: TaskLinkSettings, demo: Mapping[str, str]) -> WorkivaSettings:
        env = WorkivaSettings()
        settings = WorkivaSettings.model_validate(dict(demo)).model_copy(
            update={"api_version": env.api_version, "organization_id": env.organization_id or demo["organization_id"]}
        )
        if (problem := settings.version_problem()) is not None:
            raise ConfigurationError(problem)
        return settings

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        assert isinstance(settings, WorkivaSettings)
        return {"X-Version": settings.api_version}

    @classmethod
    def client_auth(cls, settings: VendorSettings) -> httpx2.Auth | None:
        assert isinstance(settings, WorkivaSettings)
        assert settings.client_id is not None and settings.client_secret is not None
        return WorkivaTokenAuth(
            token_url=settings.api_base_url() + TOKEN_PATH,
            client_id=settings.client_id.get_secret_value(),
            client_secret=settings.client_secret.get_secret_value(),
            scope=settings.scope,
        )

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        """`{code, message, target?, details?}`, with what the code means and the field it names."""

        raw = error_object(response)
        if isinstance(raw, ErrorDetail):
            return raw
        try:
            body = WorkivaErrorResponse.model_validate(raw)
        except ValidationError:
            return ErrorDetail(message=f"HTTP {response.status_code}")
        code = body.code or None
        target = body.target
        if not target and body.details:
            target = body.details[0].target
        message = body.message.rstrip(".")
        if target and target not in message:
            message += f" (target `{target}`)"
        if code in CODE_ADVICE:
            message += f" [{code}: {CODE_ADVICE[code]}]"
        return ErrorDetail(
            message=message,
            code=code,
            field=_target_to_arg(target) if target else None,
        )

    # -- version-dependent wire facts ------------------------------------------------------

    @property
    def prototype(self) -> bool:
        return self.settings.api_version == PROTOTYPE_VERSION

    @property
    def collection(self) -> str:
        return "/prototype/platform/tasks" if self.prototype else "/tasks"

    def item(self, task_id: str) -> str:
        return f"{self.collection}/{self.task_segment(task_id)}"

    def _no_prototype_route(self, operation: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            "Workiva",
            operation,
            f"tasklink is set to API version {PROTOTYPE_VERSION}, whose prototype endpoint documents only create, "
            "list and patch (/prototype/platform/tasks); there is no documented route for this",
            "set WORKIVA_API_VERSION=2026-01-01 to use the GA /tasks API, or find the task with list_tasks",
        )

    async def warm_up(self) -> None:
        self.token_auth.fetch_ahead()

    @property
    def token_auth(self) -> WorkivaTokenAuth:
        auth = self.http.client.auth
        assert isinstance(auth, WorkivaTokenAuth)
        return auth

    # -- request building ------------------------------------------------------------------

    def _users(self, refs: list[AssigneeRef] | list[Any], field: str) -> list[dict[str, str]]:
        """Task users from assignee refs, plain ids or `{id, type}` objects."""

        out: list[dict[str, str]] = []
        for n, ref in enumerate(refs):
            at = f"{field}[{n}]"
            if isinstance(ref, AssigneeRef):
                if ref.role_id is not None or not ref.user_id:
                    raise InvalidInput(
                        "Workiva assigns tasks to users only; there are no role assignees",
                        field=at,
                        hint="look people up with find_people(vendor='workiva', query=...)",
                    )
                user_id: Any = ref.user_id
            elif isinstance(ref, dict):
                if ref.get("type", "USER") != "USER":
                    raise InvalidInput("only USER participants exist in Workiva", field=f"{at}.type", allowed=["USER"])
                user_id = ref.get("id")
            else:
                user_id = ref
            if not isinstance(user_id, str) or not user_id.strip():
                raise InvalidInput("a Workiva user id (a string) is required", field=at, hint="use find_people")
            out.append({"id": user_id.strip(), "type": "USER"})
        return out

    def _due(self, value: Any, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidInput(
                "a due date is a string", field=field, allowed=["YYYY-MM-DD", "ISO 8601 datetime", "null"]
            )
        due = parse_due(value, tz=self.app.timezone, field=field)
        return utc_iso(due.instant) if due else None

    def _approval_steps(self, value: Any) -> list[dict[str, Any]]:
        field = "vendor_fields.approvalSteps"
        shape = '[{"completionMode": "ONE"|"ALL", "participants": ["<user id>", ...], "dueDate": "..."|null}]'
        if not isinstance(value, list):
            raise InvalidInput("approvalSteps is a list of steps", field=field, allowed=[shape])
        steps = []
        for n, step in enumerate(value):
            at = f"{field}[{n}]"
            if not isinstance(step, dict):
                raise InvalidInput("each approval step is an object", field=at, allowed=[shape])
            unknown = sorted(set(step) - {"completionMode", "participants", "dueDate"})
            if unknown:
                raise InvalidInput(
                    f"unknown approval step keys {unknown}", field=f"{at}.{unknown[0]}",
                    allowed=["completionMode", "participants", "dueDate"],
                )  # fmt: skip
            if step.get("completionMode") not in ("ONE", "ALL"):
                raise InvalidInput(
                    "completionMode says whether one or all participants must approve",
                    field=f"{at}.completionMode",
                    allowed=["ONE", "ALL"],
                )
            participants = step.get("participants")
            if not isinstance(participants, list) or not participants:
                raise InvalidInput("an approval step needs at least one participant", field=f"{at}.participants")
            steps.append(
                {
                    "completionMode": step["completionMode"],
                    "participants": self._users(participants, f"{at}.participants"),
                    "dueDate": self._due(step.get("dueDate"), f"{at}.dueDate"),
                }
            )
        return steps

    @staticmethod
    def _location(value: Any) -> dict[str, Any] | None:
        field = "vendor_fields.location"
        if value is None:
            return None
        shape = '{"resource": "<document/spreadsheet/presentation id>", "segment": "<section/sheet/slide id>"|null}'
        if not isinstance(value, dict) or not isinstance(value.get("resource"), str) or not value["resource"]:
            raise InvalidInput("location needs a resource id", field=f"{field}.resource", allowed=[shape])
        unknown = sorted(set(value) - {"resource", "segment"})
        if unknown:
            raise InvalidInput(f"unknown location keys {unknown}", field=f"{field}.{unknown[0]}", allowed=[shape])
        segment = value.get("segment")
        if segment is not None and not isinstance(segment, str):
            raise InvalidInput("segment is a string id or null", field=f"{field}.segment", allowed=[shape])
        return {"resource": value["resource"], "segment": segment}

    def build_create_task(self, req: CreateTaskRequest) -> VendorRequest:
        reject_unknown_vendor_fields(req.vendor_fields, CREATE_VENDOR_FIELDS, "Workiva")
        if req.intake_id is not None:
            raise InvalidInput("Workiva tasks are not attached to intakes", field="intake_id",
                               hint="use vendor_fields.location to attach the task to a document")  # fmt: skip
        if req.priority is not None:
            raise InvalidInput("Workiva tasks have no priority", field="priority", hint="leave priority out")
        body: dict[str, Any] = {"title": req.title}
        if req.description is not None:
            body["description"] = req.description
        if req.due is not None:
            body["dueDate"] = utc_iso(req.due.instant)
        if req.assignees:
            body["assignees"] = self._users(req.assignees, "assignees")
        fields = req.vendor_fields
        if "approvalSteps" in fields:
            body["approvalSteps"] = self._approval_steps(fields["approvalSteps"])
        if "location" in fields:
            body["location"] = self._location(fields["location"])
        if "notificationsDisabled" in fields:
            if not isinstance(fields["notificationsDisabled"], bool):
                raise InvalidInput(
                    "notificationsDisabled is true or false", field="vendor_fields.notificationsDisabled",
                    allowed=["true", "false"],
                )  # fmt: skip
            body["notificationsDisabled"] = fields["notificationsDisabled"]
        if req.status is not None:
            if len(body.get("approvalSteps", [])) > 1:
                raise InvalidInput(
                    "Workiva sets the status of a task with several approval steps itself",
                    field="status",
                    hint="leave status out, or use at most one approval step",
                )
            body["status"] = self.vendor_status(req.status)
        return VendorRequest("POST", self.collection, json=body, action="create task")

    def build_list_params(self, req: ListTasksRequest) -> list[tuple[str, str]]:
        clauses: list[str] = []
        if req.status is not None:
            clauses.append(f"status eq {_quote(self.vendor_status(req.status))}")
        if req.assignee is not None:
            clauses.append(f"assignees eq {_quote(req.assignee)}")
        if req.due_after is not None:
            clauses.append(f"dueDate ge {utc_iso(req.due_after.instant)}")
        if req.due_before is not None:
            clauses.append(f"dueDate le {utc_iso(req.due_before.instant)}")
        if req.text:
            clauses.append(f"title contains {_quote(req.text)}")
        unknown = sorted(set(req.vendor_filters) - set(LIST_VENDOR_FILTERS))
        if unknown:
            raise InvalidInput(
                f"Workiva cannot filter tasks by {unknown}", field=f"vendor_filters.{unknown[0]}",
                allowed=list(LIST_VENDOR_FILTERS),
            )  # fmt: skip
        for name in ("location.resource", "location.segment", "approvalSteps.participants"):
            value = req.vendor_filters.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise InvalidInput("a filter value is one id (a string)", field=f"vendor_filters.{name}")
                clauses.append(f"{name} eq {_quote(value)}")
        params = [("$maxpagesize", str(min(req.limit, self.manifest.limits.require("list_max_page_size"))))]
        if clauses:
            params.append(("$filter", " and ".join(clauses)))
        if (order := req.vendor_filters.get("orderBy")) is not None:
            if not isinstance(order, str):
                raise InvalidInput("orderBy is text such as 'dueDate asc'", field="vendor_filters.orderBy")
            params.append(("$orderBy", order))
        return params

    def build_update_task(self, req: UpdateTaskRequest) -> tuple[VendorRequest, list[str]]:
        """The JSON Patch document, and what the change does to the task beyond the fields."""

        fields = req.vendor_fields
        if "notificationsDisabled" in fields:
            raise InvalidInput(
                "notificationsDisabled can only be set when a Workiva task is created; it is not a PATCH path",
                field="vendor_fields.notificationsDisabled",
                allowed=list(UPDATE_VENDOR_FIELDS),
            )
        reject_unknown_vendor_fields(fields, UPDATE_VENDOR_FIELDS, "Workiva updates")
        if req.status is not None:
            raise InvalidInput(
                "Workiva's PATCH cannot change a task's status (its paths are /title, /description, /dueDate, "
                "/assignees, /approvalSteps, /location, /owner); the status follows the approval process in Workiva",
                field="status",
                hint="leave status out; a task's status is set when it is created",
            )
        ops: list[dict[str, Any]] = []
        warnings: list[str] = []

        def replace(path: str, value: Any) -> None:
            ops.append({"op": "replace", "path": path, "value": value})

        if req.title is not None:
            replace("/title", req.title)
        if req.description is not None:
            replace("/description", req.description)
        if req.due is not None:
            replace("/dueDate", utc_iso(req.due.instant))
        if req.assignees is not None:
            replace("/assignees", self._users(req.assignees, "assignees"))
            warnings.append(
                "Changing the assignees restarts the task in Workiva: its approval progress starts over "
                "and the new assignees are notified."
            )
        if "approvalSteps" in fields:
            replace("/approvalSteps", self._approval_steps(fields["approvalSteps"]))
            warnings.append(
                "If a participant who had already approved was replaced, Workiva restarts the task's approvals."
            )
        if "location" in fields:
            replace("/location", self._location(fields["location"]))
            warnings.append(
                "Attaching a location restarts the task in Workiva, and the location cannot be changed afterwards."
            )
        if "owner" in fields:
            if not isinstance(fields["owner"], str) or not fields["owner"]:
                raise InvalidInput("owner is a Workiva user id", field="vendor_fields.owner", hint="use find_people")
            replace("/owner", fields["owner"])
        if not ops:
            raise InvalidInput("nothing to update", field="task_id", allowed=list(PATCH_FIELDS))
        request = VendorRequest("PATCH", self.item(req.task_id), json=ops, action=f"update task {req.task_id}")
        request.headers["Content-Type"] = "application/json"
        return request, warnings

    # -- operations ------------------------------------------------------------------------

    async def plan_create_task(self, req: CreateTaskRequest) -> WritePlan[Task]:
        return WritePlan(self.build_create_task(req), self._written("create task"), ok=(201,))

    def _written(self, action: str) -> Callable[[Any], Awaitable[Task]]:
        """How to read a task as Workiva answers a write (create 201, PATCH 200)."""

        async def read(data: Any) -> Task:
            return self._task(read_as(WorkivaTask, data, vendor_title="Workiva", action=action, write=True))

        return read

    async def get_task(self, task_id: str) -> Task:
        if self.prototype:
            raise self._no_prototype_route("get_task")
        request = VendorRequest("GET", self.item(task_id), action=f"get task {task_id}")
        data = await self.http.send_json(request)
        return self._task(read_as(WorkivaTask, data, vendor_title="Workiva", action="get task"))

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        if req.cursor:
            state = self.cursors.decode(req.cursor)
            if state.get("version") != self.settings.api_version or not isinstance(state.get("query"), list):
                raise InvalidInput(
                    f"cursor was made for Workiva API version {state.get('version')}, "
                    f"but tasklink now uses {self.settings.api_version}",
                    field="cursor",
                    hint="start again without a cursor",
                )
            params = [(str(k), str(v)) for k, v in state["query"]]
        else:
            params = self.build_list_params(req)
        data = await self.http.send_json(VendorRequest("GET", self.collection, params=params, action="list tasks"))
        page = read_as(WorkivaTaskList, data, vendor_title="Workiva", action="list tasks")
        cursor = None
        if page.next_link:
            query = _next_query(page.next_link)
            cursor = self.cursors.encode({"version": self.settings.api_version, "query": query})
        return TaskPage(vendor="workiva", tasks=[self._task(t, full=False) for t in page.data], next_cursor=cursor)

    async def plan_update_task(self, req: UpdateTaskRequest) -> WritePlan[Task]:
        request, warnings = self.build_update_task(req)
        return WritePlan(request, self._written(f"update task {req.task_id}"), warnings=warnings)

    async def plan_delete_task(self, task_id: str) -> WritePlan[None]:
        if self.prototype:
            raise self._no_prototype_route("delete_task")

        async def read(_: Any) -> None:
            return None

        return WritePlan(VendorRequest("DELETE", self.item(task_id), action=f"delete task {task_id}"), read, ok=(204,))

    async def find_people(self, query: str, limit: int) -> list[Person]:
        org = self.settings.organization_id
        if not org:
            raise ConfigurationError(
                "find_people on Workiva needs the organization whose users to search",
                hint="set WORKIVA_ORGANIZATION_ID to your Workiva organization id (a UUID) and restart tasklink",
            )
        wanted = query.strip().lower()
        path = f"/organizations/{quote(org, safe='')}/users"
        params: list[tuple[str, str]] = [("$maxpagesize", str(self.manifest.limits.require("list_max_page_size")))]
        found: list[Person] = []
        for _ in range(USER_PAGES):
            request = VendorRequest(
                "GET", path, params=params, headers={"X-Version": TOKEN_AND_USERS_VERSION}, action="find people"
            )
            data = await self.http.send_json(request)
            page = read_as(WorkivaOrganizationUsers, data, vendor_title="Workiva", action="find people")
            found.extend(_person(u) for u in page.data if u.id and _user_matches(u, wanted))
            if len(found) >= limit or not page.next_link:
                break
            params = _next_query(page.next_link)
        return found[:limit]

    async def find_records(self, kind: str, query: str, limit: int) -> RecordMatches:
        """Task locations: documents, spreadsheets and presentations whose name starts with `query`."""

        if kind != "location":
            raise self._unimplemented(f"find_records(kind={kind!r})")
        params: list[tuple[str, str]] = [("$maxpagesize", str(self.manifest.limits.require("list_max_page_size")))]
        found: list[FoundRecord] = []
        for _ in range(FILE_PAGES):
            request = VendorRequest(
                "GET", FILES, params=params, headers={"X-Version": TOKEN_AND_USERS_VERSION}, action="find locations"
            )
            page = read_as(
                WorkivaFiles, await self.http.send_json(request), vendor_title="Workiva", action=request.action
            )
            found.extend(_location_record(f) for f in page.data if _is_location(f) and name_matches(query, f.name))
            if len(found) >= limit or not page.next_link:
                return RecordMatches(found[:limit])
            params = _next_query(page.next_link)
        return RecordMatches(found, [f"Only the first {FILE_PAGES} pages of files were searched; narrow the query"])

    # -- reading ---------------------------------------------------------------------------

    def _task(self, data: WorkivaTask, *, full: bool = True) -> Task:
        """A normalized task; `full` adds approval steps with their responses, location,
        notificationsDisabled, and when the task was last modified and completed."""

        vendor_fields: dict[str, Any] = {}
        if full:
            vendor_fields = {
                "approvalSteps": [
                    {
                        "completionMode": step.completionMode,
                        "participants": [p.id for p in step.participants if p.id],
                        # Approval steps carry the same dueDate/dueAt split as tasks.
                        "dueDate": step.dueDate or step.dueAt,
                        # who has responded so far, and how (APPROVE, REJECT or SKIP)
                        "responses": [
                            {"by": r.created.by(), "action": r.action, "at": r.created.dateTime, "comment": r.comment}
                            for r in step.responses
                        ],
                    }
                    for step in data.approvalSteps
                ],
                "location": data.location.model_dump() if data.location is not None else None,
                "notificationsDisabled": bool(data.notificationsDisabled),
                "modified": data.modified.compact() if data.modified is not None else None,
                "completed": data.completed.compact() if data.completed is not None else None,
            }
        return Task(
            vendor="workiva",
            id=data.id,
            title=data.title or "",
            status=self.normalized_status(data.status),
            vendor_status=data.status,
            # The schema names it dueDate; the reference examples (and prototype responses) say dueAt.
            due=data.dueDate or data.dueAt,
            description=data.description or None,
            assignees=[a.id for a in data.assignees if a.id],
            links={"owner": data.owner} if data.owner else {},
            url=data.sourceUrl,
            created_at=data.created.dateTime if data.created is not None else None,
            vendor_fields=vendor_fields,
        )


def _is_location(file: WorkivaFile) -> bool:
    return bool(file.id) and file.kind in LOCATION_KINDS and file.state in (None, "Active")


def _location_record(file: WorkivaFile) -> FoundRecord:
    detail = " ".join(p for p in (file.kind, f"({file.type})" if file.type else None) if p) or None
    return FoundRecord(id=str(file.id), name=file.name or str(file.id), kind="location", detail=detail)


def _user_matches(user: WorkivaOrganizationUser, wanted: str) -> bool:
    if "@" in wanted:
        return any(wanted in (value or "").lower() for value in (user.email, user.username))
    names = [(value or "").lower() for value in (user.displayName, user.givenName, user.familyName)]
    return any(n.startswith(wanted) for n in names) or wanted in names[0]


def _person(user: WorkivaOrganizationUser) -> Person:
    name = user.displayName or " ".join(p for p in (user.givenName, user.familyName) if p)
    return Person(
        id=str(user.id),
        name=name or None,
        email=user.email,
        active=user.status in (None, "active"),
    )
