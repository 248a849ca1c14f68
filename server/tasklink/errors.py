"""Every error tasklink reports, drawn once.

Each error carries a message written for whoever must act on it — the model (fix the
arguments), the operator (fix configuration or credentials) or nobody (wait and retry) — and
says whether retrying can help. Lower-layer exceptions (httpx2, sqlite, pydantic) are
translated into these in exactly one place each; the MCP boundary turns them into tool errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Literal

Actor = Literal["model", "operator", "user", "nobody"]
#: what the model is told when only whoever runs the server can fix the problem
OPERATOR_ADVICE = "This is this server's configuration, not the arguments: tell whoever runs tasklink."


class TaskLinkError(Exception):
    """Base class. `str(err)` is safe to show to a client: no secrets, no tracebacks."""

    actor: ClassVar[Actor] = "model"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        allowed: Iterable[str] | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message
        self.field = field
        self.allowed = list(allowed) if allowed is not None else None
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.message.rstrip(".") + "."]
        if self.field and f"`{self.field}`" not in self.message:
            parts.insert(0, f"Field `{self.field}`:")
        if self.allowed:
            parts.append("Allowed: " + ", ".join(self.allowed) + ".")
        if self.hint:
            parts.append(self.hint.rstrip(".") + ".")
        parts.append(self.retry_advice())
        if self.actor == "operator":
            parts.append(OPERATOR_ADVICE)
        return " ".join(parts)

    def retry_advice(self) -> str:
        return "Retrying may help." if self.retryable else "Retrying the same call will not help."


class ConfigurationError(TaskLinkError):
    """The operator must fix settings or credentials; raised at start-up or on first use."""

    actor: ClassVar[Actor] = "operator"


class NotImplementedOperation(ConfigurationError):
    """A manifest marks an operation supported that its adapter does not implement (a build fault)."""

    def __init__(self, vendor_title: str, operation: str, module: str) -> None:
        self.vendor_title = vendor_title
        self.operation = operation
        super().__init__(
            f"{vendor_title}'s manifest marks `{operation}` supported, but its adapter ({module}) does not implement it"
        )


class StateUnavailable(ConfigurationError):
    """tasklink's own state (ledger, audit) cannot be read or written; nothing was sent."""


class StoreUnreachable(StateUnavailable):
    """The shared state store (PostgreSQL) does not answer right now: a passing condition, not a setting."""

    actor: ClassVar[Actor] = "nobody"
    retryable = True

    def retry_advice(self) -> str:
        return "State store unavailable: nothing was sent. Retry later (writes resume by themselves when it is back)."


class AccountNotConnected(TaskLinkError):
    """A per-user vendor has no credential of the caller's: they connect their account at `url`."""

    actor: ClassVar[Actor] = "user"
    retryable = True

    def __init__(self, message: str, *, url: str | None, vendor: str) -> None:
        self.url = url
        self.vendor = vendor
        hint = (
            f"open {url} (a one-time link, valid 10 minutes) to connect it, then call again"
            if url
            else "ask whoever runs tasklink to connect it: tasklink credentials set --principal … --vendor " + vendor
        )
        super().__init__(message, hint=hint)

    def retry_advice(self) -> str:
        return "Nothing was sent; once the account is connected, the same call works."


class InvalidInput(TaskLinkError):
    """The arguments are wrong; the model can fix them. Nothing was sent."""

    def retry_advice(self) -> str:
        return "Nothing was sent to the vendor; fix the arguments and call again."


class UnresolvedPerson(InvalidInput):
    """An assignee name or email that does not pick out exactly one active person."""

    def retry_advice(self) -> str:
        return "Nothing was written (only the people lookup was read); fix the assignee and call again."


class UnsupportedOperation(TaskLinkError):
    """The vendor's public API cannot do this. Refused before any request."""

    def __init__(self, vendor_title: str, operation: str, reason: str, alternative: str | None) -> None:
        self.vendor_title = vendor_title
        self.operation = operation
        self.reason = reason
        self.alternative = alternative
        message = f"{vendor_title} does not support `{operation}`: {reason}"
        hint = f"Instead: {alternative}" if alternative else None
        super().__init__(message, hint=hint)

    def retry_advice(self) -> str:
        return "Nothing was sent to the vendor and nothing was changed."


class NotFound(TaskLinkError):
    """The target does not exist (or is not visible to these credentials)."""


class PossibleDuplicate(TaskLinkError):
    """A recent open item with the same title exists; creating another is probably a mistake."""

    def retry_advice(self) -> str:
        return "Nothing was created. If this really is a new item, call again with allow_duplicate=true."


class InProgress(TaskLinkError):
    """A call with the same idempotency key is still running."""

    actor = "nobody"
    retryable = True

    def retry_advice(self) -> str:
        return "Retry shortly with the same idempotency_key; it will return the first call's result."


class VendorError(TaskLinkError):
    """The vendor answered with an error. `status` is its HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        allowed: Iterable[str] | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(message, field=field, allowed=allowed, hint=hint, retryable=retryable)


class VendorRejected(VendorError):
    """4xx the model can act on (validation, business rule, conflict)."""


class VendorAuthError(VendorError):
    """401: credentials are missing or wrong. The operator must act."""

    actor = "operator"


class VendorForbidden(VendorError):
    """403: not visible to, or not allowed for, these credentials."""


class RateLimited(VendorError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]

    def retry_advice(self) -> str:
        if self.retry_after is not None:
            return f"Retry after {self.retry_after:g} s."
        return "Retry in a little while."


class VendorUnavailable(VendorError):
    """5xx, timeouts before sending, connection failures: the request did not take effect."""

    actor = "nobody"
    retryable = True


class OutcomeUnknown(VendorError):
    """A write was sent but no answer came back: it may or may not have happened."""

    actor = "user"

    def __init__(self, message: str, *, how_to_check: str, **kw: object) -> None:
        self.how_to_check = how_to_check
        super().__init__(message, hint=how_to_check, **kw)  # type: ignore[arg-type]

    def retry_advice(self) -> str:
        return (
            "Do not blindly retry: check first, or retry with the same idempotency_key so a landed write "
            "is not repeated."
        )


def field_errors_text(errors: Mapping[str, object]) -> str:
    """Flatten a field-keyed vendor validation body ({"a": ["msg"], "b": {"0": {...}}})."""

    out: list[str] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            out.append(f"`{prefix}`: " + "; ".join(str(v) for v in value))
        else:
            out.append(f"`{prefix}`: {value}")

    walk("", errors)
    return "; ".join(out)
