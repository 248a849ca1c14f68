"""What every tool shares: the error boundary, the service handle, the confirmation gate."""

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn, ParamSpec, TypeVar, cast

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import CallToolResult, ElicitRequestURLParams, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from ... import observability
from ...errors import AccountNotConnected, TaskLinkError
from ...manifests import vendor_names
from ...models import DeleteResult
from ...policy.gate import CallInfo, WriteOptions, call_info
from ...principals import Principal, local_principal
from ...service import TaskLink
from ..sdk import client_log

log = logging.getLogger("tasklink")
P = ParamSpec("P")
R = TypeVar("R")

Kind = Literal["read", "write", "destructive"]

VendorArg = Annotated[
    str,
    Field(description="Vendor system.", json_schema_extra={"enum": vendor_names()}),
]


IdempotencyKeyArg = Annotated[
    str | None,
    Field(min_length=1, max_length=255, description="Same key = same result, no second write."),
]
Due = Annotated[str | None, Field(description="YYYY-MM-DD, ISO with offset, or words: friday, in 3 days.")]
Text = Annotated[str | None, Field(max_length=20000, description="Details (plain text).")]
DryRunArg = Annotated[bool, Field(description="Show the request; send nothing.")]
AllowDuplicateArg = Annotated[bool, Field(description="Create even if a same-titled open item exists.")]


def options(idempotency_key: str | None, allow_duplicate: bool = False) -> WriteOptions:
    return WriteOptions(idempotency_key=idempotency_key, allow_duplicate=allow_duplicate)


def service(ctx: Context[Any, Any]) -> TaskLink:
    """The service the server's lifespan yields."""

    tl = ctx.request_context.lifespan_context
    assert isinstance(tl, TaskLink)
    return tl


#: the longest piece of vendor text quoted inside a sentence tasklink writes
QUOTE_LIMIT = 120


def quoted(value: object) -> str:
    """Vendor text as a quoted, one-line, bounded value: data in tasklink's sentence, never part of it."""

    text = " ".join(str(value).split()) if value is not None else ""
    if len(text) > QUOTE_LIMIT:
        text = text[: QUOTE_LIMIT - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def page_reporter(ctx: Context[Any, Any], tool: str, vendor: str) -> Callable[[], Awaitable[None]]:
    """Reports each vendor page a list tool reads: progress (when the caller asked) and a debug log line."""

    pages = 0

    async def page_read() -> None:
        nonlocal pages
        pages += 1
        runtime = service(ctx).vendors.runtimes.get(vendor)
        title = runtime.manifest.title if runtime else vendor
        await ctx.report_progress(pages, None, f"read page {pages} from {title}")
        await client_log(ctx.session, "debug", f"{tool}: read page {pages} from {title}")

    return page_read


def validation_text(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        problems.append(f"`{where}`: {err['msg']}")
    return "Invalid arguments: " + "; ".join(problems) + ". Nothing was sent to the vendor."


def describe_caller(ctx: Context[Any, Any], tool: str) -> CallInfo:
    """Transport, the credential that was verified, and the client's declared name, for the audit log."""

    credential = credential_name()
    principal = request_principal().id
    try:
        request = ctx.request_context.request
        transport = "http" if getattr(request, "headers", None) is not None else service(ctx).transport
        params = ctx.session.client_params
        client = params.client_info.name if params is not None else None
    except (AttributeError, ValueError, AssertionError):
        return CallInfo(tool=tool, credential=credential, principal=principal)
    return CallInfo(transport=transport, client=client, tool=tool, credential=credential, principal=principal)


def request_principal() -> Principal:
    """The principal of the request being served: from its verified token, else the local user."""

    token = get_access_token()
    if token is None:
        return local_principal()
    claims = token.claims or {}
    email = claims.get("email")
    groups = tuple(str(g) for g in claims.get("groups") or ())
    roles = tuple(str(r) for r in claims.get("roles") or ())
    if token.subject and not token.client_id.startswith("token:"):
        return Principal(f"oauth:{token.subject}", "oauth", email if isinstance(email, str) else None, groups, roles)
    name = token.client_id if token.client_id.startswith("token:") else f"token:{token.client_id}"
    return Principal(name, "token", email if isinstance(email, str) else None, groups, roles)


def connect_account(ctx: Any, exc: AccountNotConnected, redact: Callable[[str], str]) -> NoReturn:
    """The caller must connect their own vendor account: a URL-mode elicitation when the client supports it
    (a JSON-RPC error the client answers by opening the link, then retrying), else a tool error with the link."""

    capabilities = getattr(getattr(ctx, "session", None), "client_capabilities", None)
    elicitation = getattr(capabilities, "elicitation", None)
    if exc.url and getattr(elicitation, "url", None) is not None:
        raise UrlElicitationRequiredError(
            [ElicitRequestURLParams(message=exc.message, url=exc.url, elicitation_id=f"connect-{exc.vendor}")],
            message=f"Connect your {exc.vendor} account to continue",
        )
    raise ToolError(redact(str(exc)))


def credential_name() -> str | None:
    """Which verified credential made this request over HTTP: the OAuth subject, else the token's name."""

    token = get_access_token()
    if token is None:
        return None
    return f"sub:{token.subject}" if token.subject else token.client_id


#: the longest text field a result carries; longer vendor text is cut with a marker
RESULT_TEXT_LIMIT = 20_000


def scrubbed(result: R, redact: Callable[[str], str]) -> R:
    """A result with every credential form removed (a vendor may echo a request into a record) and no
    text field longer than RESULT_TEXT_LIMIT (a vendor may send megabytes)."""

    if not isinstance(result, BaseModel):
        return result
    text = result.model_dump_json()
    clean = redact(text)
    if clean == text and len(text) <= RESULT_TEXT_LIMIT:
        return result
    return type(result).model_validate(_bounded(json.loads(clean)))


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > RESULT_TEXT_LIMIT:
        return value[:RESULT_TEXT_LIMIT] + f" … (truncated by tasklink: {len(value):,} characters)"
    if isinstance(value, dict):
        return {k: _bounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    return value


def compact_result(result: R) -> R:
    """The tool's result with text content a model reads cheaply: compact JSON without nulls, empty values
    or unset flags. The structured content stays whole (it is what the output schema describes)."""

    if not isinstance(result, BaseModel):
        return result
    full = result.model_dump(mode="json", by_alias=True)
    text = json.dumps(_without_empties(_lean_rows(full)), separators=(",", ":"), ensure_ascii=False)
    return cast(R, CallToolResult(content=[TextContent(type="text", text=text)], structured_content=full))


#: what a list row's text leaves to get_task
ROW_DETAIL = frozenset({"description", "vendor_fields", "created_at"})


def _lean_rows(page: dict[str, Any]) -> dict[str, Any]:
    """List rows without what the page already says (its vendor) or what another field says (the vendor's
    own status when the normalized one is there); get_task has the rest."""

    rows = page.get("tasks")
    if not isinstance(rows, list):
        return page
    lean = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in ROW_DETAIL and not (k == "vendor" and v == page.get("vendor"))}
        if row.get("status") is not None:
            row.pop("vendor_status", None)
        lean.append(row)
    return page | {"tasks": lean}


def _without_empties(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _without_empties(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {}) and not (k in UNSET_FLAGS and v is False)}
    if isinstance(value, list):
        return [_without_empties(v) for v in value]
    return value


#: flags a reader needs only when they are set
UNSET_FLAGS = frozenset({"replayed", "already_deleted"})


def boundary(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Translate every exception into a tool error the model can act on, exactly once."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = kwargs.get("ctx")
        tl = service(ctx) if isinstance(ctx, Context) else None
        redact = tl.vendors.redactor if tl else str
        deadline = tl.settings.call_deadline if tl else None
        if isinstance(ctx, Context):
            call_info.set(describe_caller(ctx, fn.__name__))
        try:
            with observability.tool_call(fn.__name__), anyio.fail_after(deadline):
                return compact_result(scrubbed(await fn(*args, **kwargs), redact))
        except TimeoutError:
            raise ToolError(
                f"{fn.__name__} did not finish within {deadline:g} s (TASKLINK_CALL_DEADLINE). If it was a write, its "
                "outcome is unknown: check the vendor before retrying, or retry with the same idempotency_key."
            ) from None
        except AccountNotConnected as exc:
            connect_account(ctx, exc, redact)
        except TaskLinkError as exc:
            if exc.actor == "operator":  # only whoever runs the server can fix it: their log has it too
                log.warning("%s refused: %s", fn.__name__, redact(str(exc)))
            raise ToolError(redact(str(exc))) from None
        except ValidationError as exc:
            raise ToolError(validation_text(exc)) from None
        except ToolError:
            raise
        except Exception as exc:
            log.error("internal error in %s: %s", fn.__name__, type(exc).__name__, exc_info=log.isEnabledFor(10))
            raise ToolError(
                f"tasklink hit an internal error ({type(exc).__name__}) in {fn.__name__}. If this was a write, "
                "its outcome is unknown: check the vendor before retrying."
            ) from None

    return wrapper


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Awaitable[Any]]
    title: str
    kind: Kind
    idempotent: bool = False
    #: the resource a successful call changes, named by its arguments (subscribers are notified)
    changes: Literal["intake", "task"] | None = None
    #: the manifest operations this tool serves; it is listed only when a configured vendor supports one
    operations: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.fn.__name__

    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.kind == "read",
            destructive_hint=self.kind == "destructive",
            idempotent_hint=self.idempotent or self.kind == "read",
            open_world_hint=True,
        )


# -- confirmation -------------------------------------------------------------------------


class Gate(BaseModel):
    """How a destructive call was cleared: by the user (Approval) or not yet (NoElicitation)."""


class Approval(Gate):
    """What the user is asked in an elicitation."""

    confirm: bool = Field(description="Yes, delete it.")


class NoElicitation(Gate):
    """The client cannot be asked (or a token was given): fall back to preview → confirm_token."""


def can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None


async def ask_or_fallback(
    ctx: Context[Any, Any],
    confirm: bool,
    confirm_token: str | None,
    dry_run: bool,
    describe: Callable[[], Awaitable[str | None]],
) -> Approval | NoElicitation | Elicit[Approval]:
    """Ask the user when the client can be asked; `describe` answers None when there is nothing to ask
    (the record is gone already), and the call then goes on to answer that."""

    if dry_run or (confirm and confirm_token) or not can_elicit(ctx):
        return NoElicitation()
    question = await describe()
    return NoElicitation() if question is None else Elicit(question, Approval)


async def confirmed_delete(
    approval: ElicitationResult[Gate],
    *,
    confirm: bool,
    confirm_token: str | None,
    declined: Callable[[], DeleteResult],
    delete: Callable[[bool, str | None], Awaitable[DeleteResult]],
    preview: Callable[[], Awaitable[DeleteResult]],
) -> DeleteResult:
    """The one confirmation flow for every destructive tool.

    Elicitation accepted → delete; declined → nothing; no elicitation → a preview with a token
    unless the call carries confirm=true and that token. (Dry runs never get here.)
    """
    if not isinstance(approval, AcceptedElicitation) or (
        isinstance(approval.data, Approval) and not approval.data.confirm
    ):
        return declined()
    if isinstance(approval.data, Approval):
        return await delete(True, None)
    if confirm and confirm_token:
        return await delete(False, confirm_token)
    return await preview()
