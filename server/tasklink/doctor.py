"""`tasklink doctor`: what works in this configuration, and the next step for what does not.

Checks, in order: the settings (every `TASKLINK_*` and vendor variable tasklink reads), the HTTP serving
settings, logs, metrics and traces, the state store (reachable, its schema version), the vendors'
configuration, and for each vendor with credentials (live) one harmless read with them. Nothing is written
to a vendor; no secret is printed (every line passes through the vendors' redactor, and vendor-supplied
text is not shown).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .settings import TaskLinkSettings
    from .vendors.registry import VendorRuntime, Vendors

Status = Literal["ok", "sandbox", "FAIL", "skipped"]
#: the longest a vendor's check may take (retries of a failing vendor included)
VENDOR_CHECK_SECONDS = 20.0


@dataclass
class Check:
    what: str
    status: Status
    detail: str = ""
    next_step: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _problems(exc: Exception) -> str | None:
    """A configuration exception as one line (its mistakes joined), or None for any other exception."""

    from .config_check import problem_lines

    lines = problem_lines(exc)
    return None if lines is None else "; ".join(lines)


def check_settings() -> tuple[Check, TaskLinkSettings | None]:
    """Every TASKLINK_* and vendor variable, as each command's start-up check reads them (typos included)."""

    from .config_check import check_environment

    what = "settings (TASKLINK_*, vendor variables)"
    try:
        settings = check_environment()
    except Exception as exc:
        problems = _problems(exc)
        if problems is None:
            raise
        return Check(what, "FAIL", problems, "fix the variables named (see Configuration in the README)"), None
    return Check(what, "ok", f"data in {settings.data_dir}"), settings


def check_http() -> Check:
    from .mcp.deployment import HttpOptions, HttpSettings, build_auth

    what = "HTTP serving (TASKLINK_HTTP_*, TASKLINK_OAUTH_*)"
    try:
        http = HttpSettings()
        auth = build_auth(http, HttpOptions())
    except Exception as exc:
        problems = _problems(exc)
        if problems is None:
            raise
        return Check(what, "FAIL", problems, "fix the variable named (only `serve --http` reads these)")
    return Check(what, "ok", "authentication configured" if auth else "no authentication: loopback binds only")


def check_observability() -> Check:
    """TASKLINK_LOG_FORMAT, whether OTEL_* asks for traces (and the SDK is there), whether /metrics can answer."""

    from importlib.util import find_spec

    from . import observability
    from .errors import ConfigurationError

    what = "logs, metrics, traces (TASKLINK_LOG_FORMAT, OTEL_*)"
    try:
        parts = [f"{observability.log_format()} logs"]
    except ConfigurationError as exc:
        return Check(what, "FAIL", exc.message, "set TASKLINK_LOG_FORMAT to text or json")
    extra = find_spec("prometheus_client") is not None
    parts.append("/metrics with serve --http" if extra else "no /metrics")
    if observability.tracing_requested():
        if find_spec("opentelemetry.sdk") is None or find_spec("opentelemetry.exporter") is None:
            return Check(what, "FAIL", "OTEL_* asks for traces; the SDK is missing", observability.EXTRA_HINT)
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"
        )
        parts.append(f"traces over OTLP to {urlsplit(endpoint).hostname or endpoint}")
    else:
        parts.append("no traces")
    return Check(what, "ok", ", ".join(parts), "" if extra else f"for metrics and traces: {observability.EXTRA_HINT}")


def check_vendors(settings: TaskLinkSettings) -> tuple[Check, Vendors | None]:
    from .errors import TaskLinkError
    from .vendors.registry import Vendors

    try:
        vendors = Vendors.configure(settings)
    except TaskLinkError as exc:
        return Check("vendor configuration", "FAIL", exc.message, "set or unset the variables named"), None
    modes = ", ".join(f"{rt.manifest.title} {rt.mode}" for rt in vendors.runtimes.values())
    return Check("vendor configuration", "ok", modes), vendors


async def check_store(settings: TaskLinkSettings) -> Check:
    from .errors import TaskLinkError
    from .state import open_store

    what = "state store (TASKLINK_STATE_URL)"
    try:
        store = open_store(settings, migrate=False)
    except TaskLinkError as exc:
        return Check(what, "FAIL", exc.message, "fix TASKLINK_STATE_URL, or unset it for SQLite in the data dir")
    try:
        status = await store.status()
    except TaskLinkError as exc:
        return Check(what, "FAIL", exc.message, "start the database or fix TASKLINK_STATE_URL; then run doctor again")
    finally:
        await store.aclose()
    detail = f"{status.kind} {status.where}, schema {status.schema_version} of {status.code_version}"
    if status.schema_version < status.code_version:
        return Check(what, "ok", detail, "workers migrate it as they start (or run `tasklink state migrate`)")
    return Check(what, "ok", detail)


def _variables(rt: VendorRuntime, fields: Sequence[str]) -> str:
    settings = rt.settings
    names = [settings.env_name(f) for f in fields if f in type(settings).model_fields]
    return ", ".join(names) if names else f"{rt.name.upper()}_* settings"


async def _probe(vendors: Vendors, rt: VendorRuntime) -> None:
    """One harmless read with the vendor's own credentials: a task list of one, else an intake list of one."""

    from .errors import NotImplementedOperation
    from .models import ListIntakesRequest

    adapter = await vendors.adapter(rt.name)
    try:
        await adapter.check_credential()
    except NotImplementedOperation:
        await adapter.list_intakes(ListIntakesRequest(limit=1))


async def check_vendor(vendors: Vendors, rt: VendorRuntime, redact: Callable[[str], str]) -> Check:
    import anyio

    from .errors import (
        NotFound,
        RateLimited,
        TaskLinkError,
        VendorAuthError,
        VendorError,
        VendorForbidden,
        VendorUnavailable,
    )

    title = rt.manifest.title
    if rt.mode == "sandbox":
        why = "TASKLINK_SANDBOX is set" if rt.app.sandbox else "no credentials set"
        step = "" if rt.app.sandbox else f"set {_variables(rt, rt.settings.credential_fields)} to use your account"
        return Check(f"{title} (sandbox)", "sandbox", why, step)
    host = urlsplit(rt.settings.api_base_url()).hostname or "?"
    what = redact(f"{title} credentials (live, {host})")
    credentials = _variables(rt, rt.settings.credential_fields)
    location = _variables(rt, ("base_url", "region", "subdomain"))
    try:
        with anyio.fail_after(VENDOR_CHECK_SECONDS):
            await _probe(vendors, rt)
    except TimeoutError:
        return Check(what, "FAIL", f"no answer within {VENDOR_CHECK_SECONDS:g} s", f"check {location} and the network")
    except VendorAuthError as exc:
        return Check(what, "FAIL", f"rejected (HTTP {exc.status or 401})", f"check {credentials}: {title} refused them")
    except VendorForbidden as exc:
        return Check(
            what, "FAIL", f"forbidden (HTTP {exc.status or 403})", f"give the account of {credentials} read access"
        )
    except RateLimited:
        return Check(what, "FAIL", "rate limited (HTTP 429)", "the credentials reached the vendor; try again later")
    except VendorUnavailable as exc:
        answer = f"HTTP {exc.status}" if exc.status else "no connection"
        return Check(what, "FAIL", f"unreachable ({answer})", f"check {location} and the network")
    except NotFound:
        return Check(what, "FAIL", "not found (HTTP 404)", f"check {location}: it does not look like the vendor's API")
    except VendorError as exc:
        answer = f"HTTP {exc.status}" if exc.status else type(exc).__name__
        return Check(what, "FAIL", f"refused ({answer})", f"check {credentials} and {location}")
    except TaskLinkError as exc:
        return Check(what, "FAIL", redact(exc.message)[:160], redact(exc.hint or f"check {credentials}"))
    return Check(what, "ok", "a harmless read worked")


async def run_checks() -> list[Check]:
    settings_check, settings = check_settings()
    checks = [settings_check, check_http(), check_observability()]
    if settings is None:
        return [*checks, Check("state store, vendors", "skipped", "the settings must load first")]
    checks.append(await check_store(settings))
    vendors_check, vendors = check_vendors(settings)
    checks.append(vendors_check)
    if vendors is None:
        return [*checks, Check("vendor credentials", "skipped", "the vendor configuration must load first")]
    # every vendor's own error text may quote a credential; the redactor knows each one in use
    logging.getLogger("stamina").setLevel(logging.ERROR)  # a retry is part of the check, not news
    settings = settings.model_copy(update={"call_deadline": min(settings.call_deadline, VENDOR_CHECK_SECONDS)})
    vendors.app = settings
    redact = vendors.redactor
    try:
        for rt in vendors.runtimes.values():
            rt.app = settings
            checks.append(await check_vendor(vendors, rt, redact))
    finally:
        await vendors.aclose()
    return [Check(redact(c.what), c.status, redact(c.detail), redact(c.next_step)) for c in checks]


def table(checks: Sequence[Check]) -> list[str]:
    """The checks as aligned lines: what, status (with its detail), next step."""

    rows = [("CHECK", "STATUS", "NEXT STEP")]
    for c in checks:
        rows.append((c.what, f"{c.status}: {c.detail}" if c.detail else c.status, c.next_step or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]


def summary(checks: Sequence[Check]) -> str:
    failed = [c for c in checks if c.failed]
    if failed:
        return f"doctor: {len(failed)} of {len(checks)} checks failed"
    return f"doctor: all {len(checks)} checks passed" + (
        " (vendors without credentials run on the sandbox)" if any(c.status == "sandbox" for c in checks) else ""
    )


def as_json(checks: Sequence[Check]) -> list[dict[str, Any]]:
    return [{"what": c.what, "status": c.status, "detail": c.detail, "next_step": c.next_step} for c in checks]
