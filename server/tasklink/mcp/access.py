"""Who may call what: the configuration's tool gating and each principal's roles, in one place.

Every request first learns its principal (principals.py). `tools/list` shows a principal only the
tools it may call; `tools/call` of anything else is refused — a tool the configuration hides
(TASKLINK_TOOLS, TASKLINK_READ_ONLY, …) as before, and a tool, vendor, write or delete the caller's
roles do not grant (TASKLINK_POLICY_FILE) — with the reason, nothing changed, and an audit row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.types import CallToolResult, TextContent

from .. import principals
from ..policy.gate import quietly
from ..policy.grants import Grants
from ..service import TaskLink
from .tools import ALL_TOOLS
from .tools._common import credential_name, request_principal

KINDS = {spec.name: spec.kind for spec in ALL_TOOLS}
#: tools whose vendor is the intake vendor rather than a `vendor` argument
INTAKE_TOOLS = {spec.name for spec in ALL_TOOLS if spec.operations and all("intake" in o for o in spec.operations)}


def grants_now(tl: TaskLink) -> Grants:
    return tl.core.policy.grants(principals.acting())


def visible(tl: TaskLink, names: Iterable[str]) -> list[str]:
    """The tools of `names` the acting principal may call (with at least one vendor it may use)."""

    grants = grants_now(tl)
    intake_vendor = _intake_vendor(tl)
    shown = []
    for name in names:
        if not grants.tool(name, KINDS.get(name, "read")):
            continue
        if name in INTAKE_TOOLS and intake_vendor is not None and not grants.vendor(intake_vendor):
            continue
        if grants.vendors is not None and not any(grants.vendor(v) for v in tl.vendors.names()):
            continue
        shown.append(name)
    return shown


def _intake_vendor(tl: TaskLink) -> str | None:
    try:
        return tl.intakes.vendors.intake_vendor()
    except Exception:  # no vendor serves intakes in this configuration
        return None


def _refused(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def act_as_caller() -> Any:
    """Middleware: the request's principal, for everything the request does."""

    async def acting(ctx: Any, call_next: Any) -> Any:
        token = principals.current.set(request_principal())
        try:
            return await call_next(ctx)
        finally:
            principals.current.reset(token)

    return acting


def enforce(tl: TaskLink, disabled: set[str], disabled_message: Any) -> Any:
    """Middleware: a `tools/call` the configuration or the caller's roles do not allow is refused."""

    async def refuse(ctx: Any, call_next: Any) -> Any:
        if ctx.method != "tools/call" or not isinstance(ctx.params, dict):
            return await call_next(ctx)
        name = ctx.params.get("name")
        if not isinstance(name, str):
            return await call_next(ctx)
        if name in disabled:
            await _audit(tl, ctx, name, None, "refused:disabled")
            return _refused(disabled_message(name, tl.settings))
        grants = grants_now(tl)
        kind = KINDS.get(name, "read")
        arguments = ctx.params.get("arguments") or {}
        vendor = _intake_vendor(tl) if name in INTAKE_TOOLS else arguments.get("vendor")
        why = None
        if not grants.tool(name, kind):
            why = grants.why_not(name, kind)
        elif isinstance(vendor, str) and not grants.vendor(vendor):
            why = f"your roles ({', '.join(grants.roles)}) do not include the vendor {vendor!r}"
        if why is None:
            return await call_next(ctx)
        await _audit(tl, ctx, name, vendor if isinstance(vendor, str) else None, "refused:policy")
        return _refused(
            f"`{name}` is not allowed for {principals.acting().id}: {why}. Nothing was sent or changed. "
            "Ask whoever runs tasklink for a role that allows it."
        )

    return refuse


async def _audit(tl: TaskLink, ctx: Any, tool: str, vendor: str | None, outcome: str) -> None:
    request = getattr(getattr(ctx, "request_context", ctx), "request", None)
    await quietly(
        tl.audit.record(
            transport="http" if getattr(request, "headers", None) is not None else "stdio-or-memory",
            client=None,
            credential=credential_name(),
            principal=principals.acting().id,
            tool=tool,
            vendor=vendor,
            target=None,
            args_digest=None,
            idempotency_key=None,
            outcome=outcome,
        )
    )
