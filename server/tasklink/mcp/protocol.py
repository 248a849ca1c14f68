"""The parts of MCP clients expect beyond tools: log level, completions, resources, prompts, progress.

- `logging/setLevel` (handshake era): the level is kept per connection; tasklink then reports
  each vendor page it reads and each failed tool call as `notifications/message` at or above it.
  On 2026-07-28 the client opts in per request (`_meta` log level) and the SDK filters.
- Completions for enum-like arguments of the resource templates and prompts: vendor names,
  normalized (and vendor) statuses, priorities.
- Resources: `capabilities://{vendor}` from the manifests, `intake://{intake_id}` and
  `task://{vendor}/{task_id}` read through the service (guardrails included).
- Progress: list tools that walk several vendor pages report each page read, when the caller
  asked for progress.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    EmptyResult,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
)

from ..capabilities import capabilities_document
from ..dates import WORDS_HELP
from ..errors import NotFound, TaskLinkError
from ..models import NORMALIZED_STATUSES, zone
from ..service import TaskLink
from .changes import Subscribers
from .sdk import LOG_LEVEL_KEY, add_request_handler, client_log, connection_state

INTAKE_STATUSES = ("DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED", "DISCARDED")
MAX_COMPLETIONS = 100


def register_protocol(server: MCPServer, tl: TaskLink, subscribers: Subscribers) -> None:
    """Install every handler below on a server built by `build_server`."""

    _register_logging(server)
    subscribers.register(server)
    _register_resources(server, tl)
    _register_now(server, tl)
    _register_prompts(server)
    _register_completions(server, tl)
    server.middleware.append(_after_tool_calls(tl, subscribers))


# -- logging ------------------------------------------------------------------------------


def _register_logging(server: MCPServer) -> None:
    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        state = connection_state(ctx.session)
        if state is not None:
            state[LOG_LEVEL_KEY] = params.level
        return EmptyResult()

    add_request_handler(server, "logging/setLevel", SetLevelRequestParams, set_level)


# -- resources ----------------------------------------------------------------------------


def _resource_error(exc: TaskLinkError) -> ResourceError:
    if isinstance(exc, NotFound):
        return ResourceNotFoundError(str(exc))
    return ResourceError(str(exc))


def _register_now(server: MCPServer, tl: TaskLink) -> None:
    def now() -> str:
        zone_name = tl.settings.timezone
        local = tl.core.now().astimezone(zone(zone_name))
        return json.dumps(
            {
                "date": local.date().isoformat(),
                "weekday": local.strftime("%A"),
                "time": local.strftime("%H:%M"),
                "timezone": zone_name,
                "date_only_due_means": f"17:00 {zone_name} that day",
                "date_words": WORDS_HELP,
            }
        )

    server.resource(
        "tasklink://now",
        name="now",
        title="Today in the server's time zone",
        description="Today's date, weekday and time in TASKLINK_TIMEZONE, and how date words are resolved.",
        mime_type="application/json",
    )(now)


def _register_resources(server: MCPServer, tl: TaskLink) -> None:
    def capabilities(vendor: str) -> str:
        rt = tl.vendors.runtimes.get(vendor)
        if rt is None:
            known = ", ".join(tl.vendors.names())
            raise ResourceNotFoundError(f"unknown or disabled vendor {vendor!r}; known: {known}")
        return json.dumps(capabilities_document(tl.vendor_info(vendor)), indent=2)

    server.resource(
        "capabilities://{vendor}",
        name="vendor-capabilities",
        title="Vendor capabilities",
        description="What list_vendors says about one vendor: per operation supported or not, why, the "
        "alternative and required fields; statuses, priorities, limits, deprecation dates.",
        mime_type="application/json",
    )(capabilities)

    async def intake(intake_id: str) -> str:
        if not intake_id.isdigit() or int(intake_id) < 1:
            raise ResourceNotFoundError(f"intake id must be a positive integer, got {intake_id!r}")
        try:
            found = await tl.get_intake(int(intake_id))
        except TaskLinkError as exc:
            raise _resource_error(exc) from None
        return found.model_dump_json(indent=2, exclude_none=True)

    server.resource(
        "intake://{intake_id}",
        name="intake",
        title="Legal intake",
        description="One SpotDraft intake with its assignees, collaborators and tasks.",
        mime_type="application/json",
    )(intake)

    async def task(vendor: str, task_id: str) -> str:
        try:
            found = await tl.get_task(vendor, task_id)
        except TaskLinkError as exc:
            raise _resource_error(exc) from None
        return found.model_dump_json(indent=2, exclude_none=True)

    server.resource(
        "task://{vendor}/{task_id}",
        name="task",
        title="Task",
        description="One task in a vendor system, normalized.",
        mime_type="application/json",
    )(task)


# -- prompts (their arguments are what completions complete) -------------------------------


def _register_prompts(server: MCPServer) -> None:
    def review_tasks(vendor: str, status: str = "todo") -> str:
        """Review the open tasks in one vendor system."""
        return (
            f"List the {vendor} tasks with status {status} using list_tasks(vendor={vendor!r}, status={status!r}), "
            "paging with next_cursor. Group them by assignee, flag the overdue ones, and suggest next steps. "
            "Change nothing."
        )

    def open_intake(title: str, priority: str = "MEDIUM") -> str:
        """Open a legal intake after checking it is not a duplicate."""
        return (
            f"Search existing intakes with list_intakes(query={title!r}). If none matches, create one with "
            f"create_intake(title={title!r}, priority={priority!r}), then show the user its reference id."
        )

    server.prompt(name="review_tasks", title="Review open tasks")(review_tasks)
    server.prompt(name="open_intake", title="Open a legal intake")(open_intake)
    server.prompt(name="create_task_from_request", title="Create a task from a request")(create_task_from_request)


def create_task_from_request(request: str, vendor: str | None = None) -> str:
    """Turn a request in plain words ("assign Priya, due Friday") into a task or intake, step by step."""

    pick = (
        f"1. Vendor: use {vendor!r}. Read capabilities://{vendor} (or list_vendors) and check that the operation "
        "you need is supported; if it is not, tell the user the reason and the alternative it gives."
        if vendor
        else "1. Vendor: call list_vendors and pick the vendor that fits the request (legal intakes are SpotDraft's "
        "create_intake). Check that the operation is supported; if not, tell the user the reason and the "
        "alternative. If more than one vendor fits, ask the user."
    )
    return "\n".join(
        [
            f"The user asked: {request!r}",
            "",
            "Create it with tasklink in these steps; do not skip the confirmation.",
            pick,
            "2. Fields: take the title, description, priority and status from the request, using only the values "
            "the vendor accepts (its capabilities list statuses, priorities and required fields). Ask for anything "
            "required that the request does not say.",
            "3. People: for each person named, call find_people(vendor, query=<name or email>). Exactly one active "
            "match: use its id. Several: ask the user which one (show name, email and title). None, or only "
            "inactive people: tell the user and ask whom to assign. Never guess an id.",
            '4. Due date: pass "today", "tomorrow", a weekday ("friday": the next one), "next week" (the coming '
            'Monday) or "in N days" as given: tasklink resolves them in the server\'s time zone (see '
            "tasklink://now) and the result says which day it read; otherwise YYYY-MM-DD (17:00 that day) or an "
            "ISO datetime with an offset. Tell the user the resolved day, and mention if it is in the past.",
            "5. Dry run: call create_task (or create_intake) with dry_run=true and the resolved ids. Show the user "
            "the title, vendor, assignees by name, the due instant with its offset, and any warnings.",
            "6. Confirm: ask the user to confirm. Change nothing without a yes.",
            "7. Create: repeat the call without dry_run and with an idempotency_key, so a retry cannot create a "
            "second one. Report the id (and link or reference) from the result, and its `resolved` list.",
        ]
    )


# -- completions --------------------------------------------------------------------------


def complete_value(tl: TaskLink, argument: str, prefix: str, context: dict[str, str]) -> list[str]:
    """Candidates for an enum-like argument, filtered by the typed prefix (case-insensitive)."""

    vendor = context.get("vendor")
    manifests = {name: rt.manifest for name, rt in tl.vendors.runtimes.items()}
    if argument == "vendor":
        options = list(manifests)
    elif argument == "status":
        options = list(NORMALIZED_STATUSES)
        if vendor in manifests:
            options += [v for v in manifests[vendor].statuses.values() if v not in options]
    elif argument == "priority":
        chosen = [manifests[vendor]] if vendor in manifests else list(manifests.values())
        options = list(dict.fromkeys(p for m in chosen for p in m.priorities))
    elif argument == "intake_status":
        options = list(INTAKE_STATUSES)
    else:
        return []
    needle = prefix.lower()
    return [o for o in options if o.lower().startswith(needle)][:MAX_COMPLETIONS]


def _register_completions(server: MCPServer, tl: TaskLink) -> None:
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        known = dict(context.arguments or {}) if context is not None else {}
        values = complete_value(tl, argument.name, argument.value, known)
        return Completion(values=values, total=len(values), has_more=False)

    server.completion()(complete)  # type: ignore[no-untyped-call]


# -- after each tool call -----------------------------------------------------------------


def _is_error(result: Any) -> bool:
    if isinstance(result, dict):
        return bool(result.get("isError"))
    return bool(getattr(result, "is_error", False))


def _after_tool_calls(tl: TaskLink, subscribers: Subscribers) -> ServerMiddleware[Any]:
    """A failed call is logged to the client; a successful write notifies subscribers of what it changed."""

    async def after(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        tool = params.get("name")
        if ctx.method != "tools/call" or not isinstance(tool, str):
            return await call_next(ctx)
        result = await call_next(ctx)
        if _is_error(result):
            await client_log(ctx.session, "warning", f"{tool} returned an error")
        else:
            await subscribers.changed(tl.core.store, tool, params.get("arguments") or {})
        return result

    return after
