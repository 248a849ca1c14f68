"""The one HTTP layer every adapter talks through.

One pooled httpx2 client per vendor; redirects are never followed (SpotDraft answers a missing
trailing slash with 302, and a redirected POST can silently turn into a GET); every httpx2
exception and every error status is translated here, once, into `tasklink.errors`; secrets are
scrubbed from anything that leaves this module.
"""

from __future__ import annotations

import copy
import email.utils
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
import httpx2

from .. import observability
from ..errors import (
    NotFound,
    OutcomeUnknown,
    RateLimited,
    TaskLinkError,
    VendorAuthError,
    VendorError,
    VendorForbidden,
    VendorRejected,
    VendorUnavailable,
)
from ..models import DryRunReport
from ..principals import acting
from ._limits import CircuitBreaker, LimitSettings, RateLimits, SharedBudgets

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the errors a retry may cure (`VendorHttp._backoff` decides which of them, and when)
RETRYABLE = (RateLimited, VendorUnavailable, OutcomeUnknown)
REDACTED = "***"
T = TypeVar("T")


@dataclass
class VendorRequest:
    """One request as an adapter describes it, before credentials are attached."""

    method: str
    path: str
    params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: what the request does, for error messages ("create intake")
    action: str = ""
    #: a write whose resending cannot change the outcome (a soft delete), so it may be retried
    retry_safe: bool = False
    #: rate-limit bucket; default "read" for safe methods, "write" otherwise (Lightfield lists: "search")
    category: str | None = None
    #: the write's idempotency key, set by the write gate; sent only to vendors that honour keys
    idempotency_key: str | None = None

    @property
    def is_write(self) -> bool:
        return self.method.upper() not in SAFE_METHODS


@dataclass
class WritePlan(Generic[T]):
    """One vendor write as an adapter plans it: the request, and how to read the vendor's answer.

    Planning validates and may read (a merge needs the current state) but never writes; the write
    gate either sends the plan or describes it.
    """

    request: VendorRequest
    #: turns the vendor's JSON answer (None for an empty body) into the normalized result
    read: Callable[[Any], Awaitable[T]]
    ok: tuple[int, ...] = (200,)
    #: what the write does beyond its fields, told to the caller with the result or the preview
    warnings: list[str] = field(default_factory=list)
    #: rewords a vendor error for this write (SpotDraft's 403 for an unknown intake is "not found")
    explain: Callable[[TaskLinkError], TaskLinkError] | None = None


@dataclass
class ErrorDetail:
    """What an adapter could read out of a vendor error body."""

    message: str
    code: str | None = None
    field: str | None = None


ErrorParser = Callable[[httpx2.Response], ErrorDetail]


def error_object(response: httpx2.Response) -> dict[str, Any] | ErrorDetail:
    """A vendor error body as a JSON object — or, when it is not one, the ErrorDetail that says so."""

    try:
        body = response.json()
    except ValueError:
        return ErrorDetail(message=f"HTTP {response.status_code} with a non-JSON body")
    if not isinstance(body, dict) or not body:
        return ErrorDetail(message=f"HTTP {response.status_code}")
    return body


def generic_error_detail(response: httpx2.Response) -> ErrorDetail:
    body = error_object(response)
    if isinstance(body, ErrorDetail):
        return body
    for key in ("message", "detail", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return ErrorDetail(message=value, code=str(body.get("code")) if body.get("code") else None)
    return ErrorDetail(message=f"HTTP {response.status_code}")


#: the longest vendor error message passed on (a hostile or broken vendor can send megabytes)
VENDOR_TEXT_LIMIT = 500


def vendor_text(text: str, limit: int = VENDOR_TEXT_LIMIT) -> str:
    """Vendor-supplied text on one line and bounded, marked when cut, so it reads as data."""

    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + " … (truncated)"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""

    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


#: headers whose value is a credential, whatever it holds
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "client-secret", "client-id", "cookie", "set-cookie", "x-api-key"}
)
#: (pattern, the lowercase words one of which any match contains): a text without them is not scanned
_CREDENTIAL_PATTERNS = (
    # a header line or JSON field carrying a credential: `Authorization: Basic …`, "cookie": "…"
    (
        re.compile(
            r'(?i)(?P<keep>\b(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|client-secret)"?\s*[:=]\s*"?)'
            r'[^"\r\n,}]+'
        ),
        ("authorization", "cookie", "x-api-key", "client-secret"),
    ),
    # a scheme and its token anywhere: `Bearer eyJ…`, `Basic ZGFu…`
    (re.compile(r"(?i)(?P<keep>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"), ("bearer", "basic")),
    # URL userinfo: https://user:secret@host
    (re.compile(r"(?P<keep>//[^/\s:@]+:)[^/\s@]+(?=@)"), ("@",)),
    # query parameters named like credentials: ?api_key=…&token=…
    (
        re.compile(
            r'(?i)(?P<keep>[?&](?:api[_-]?key|access[_-]?token|token|client[_-]?secret|secret|password)=)[^&\s"]+'
        ),
        ("key=", "token=", "secret=", "password="),
    ),
)


class Redactor:
    """Scrubs credentials from any text that leaves tasklink: every configured secret in every form
    a request carries it (raw, and the exact header values, e.g. `Basic` base64 of `user:secret`), plus
    anything shaped like a credential (authorization and cookie values, bearer/basic tokens, URL
    userinfo, key-like query parameters) even when it is not one of ours."""

    def __init__(self, secrets: Iterable[str] | Callable[[], Iterable[str]]) -> None:
        #: with a function, the secrets are read on first use (it may load every vendor's settings)
        self._source = secrets if callable(secrets) else None
        self._secrets = None if callable(secrets) else self._ordered(secrets)

    @staticmethod
    def _ordered(secrets: Iterable[str]) -> list[str]:
        return sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    @property
    def secrets(self) -> list[str]:
        if self._secrets is None:
            assert self._source is not None
            self._secrets = self._ordered(self._source())
        return self._secrets

    def learn(self, secrets: Iterable[str]) -> None:
        """More secrets to scrub from now on (a person's own vendor credential, once it is read)."""

        self._secrets = self._ordered([*self.secrets, *secrets])

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        lowered = text.lower()
        for pattern, words in _CREDENTIAL_PATTERNS:
            if any(word in lowered for word in words):  # scanning costs more than looking for its words
                text = pattern.sub(_keep_label, text)
        return text

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else self(v)) for k, v in headers.items()}


def _keep_label(match: re.Match[str]) -> str:
    """The credential's label and separator stay (so the reader sees what was removed); its value goes."""

    return match.group("keep") + REDACTED


def credential_forms(headers: Mapping[str, str], auth: httpx2.Auth | None) -> list[str]:
    """Every form a vendor's credentials take on the wire: sensitive header values, the header a
    Basic auth adds, and the bare token after an auth scheme."""

    values = [v for k, v in headers.items() if k.lower() in SENSITIVE_HEADERS]
    if isinstance(auth, httpx2.BasicAuth):
        probe = next(auth.sync_auth_flow(httpx2.Request("GET", "http://probe.invalid/")))
        values.append(probe.headers["authorization"])
    return values + [v.split(" ", 1)[1] for v in values if " " in v]


@dataclass(frozen=True)
class RetryPolicy:
    """Reads, and writes that carry an honoured idempotency key, are retried; nothing else."""

    attempts: int = 4
    retry_after_cap: float = 60.0
    deadline: float = 90.0
    wait_initial: float = 0.25
    wait_max: float = 8.0


class VendorHttp:
    """Sends `VendorRequest`s for one vendor and maps every failure to a TaskLinkError.

    Each attempt passes the circuit breaker, the concurrency cap and the category's rate limit
    before it goes out; bodies are read with a size cap; reads (and writes carrying an
    idempotency key the vendor honours) are retried by the one retry policy.
    """

    def __init__(
        self,
        *,
        vendor_title: str,
        client: httpx2.AsyncClient,
        redactor: Redactor,
        parse_error: ErrorParser = generic_error_detail,
        retry: RetryPolicy | None = None,
        limits: LimitSettings | None = None,
        max_response_bytes: int = 10 * 1024 * 1024,
        idempotency_header: str | None = None,
        shared_budget: SharedBudgets | None = None,
        acting_as_header: str | None = None,
    ) -> None:
        self.vendor_title = vendor_title
        observability.count_responses(client, vendor_title)  # metrics, when on
        #: impersonation: this header carries the acting principal's email on every request (not for the local
        #: user, whose configured settings apply)
        self.acting_as_header = acting_as_header
        self.client = client
        self.redact = redactor
        self.parse_error = parse_error
        self.retry = retry or RetryPolicy()
        limits = limits or LimitSettings()
        self.rate_limits = RateLimits(limits, vendor_title=vendor_title, shared=shared_budget)
        self.concurrency = anyio.CapacityLimiter(limits.max_concurrency)
        self.breaker = CircuitBreaker(
            vendor_title=vendor_title, threshold=limits.breaker_threshold, cooldown=limits.breaker_cooldown
        )
        self.max_response_bytes = max_response_bytes
        #: the header that carries a write's idempotency key, for vendors that honour keys
        self.idempotency_header = idempotency_header
        #: called after each successful read (a list page), for progress; see `observed`
        self.on_read: Callable[[], Awaitable[None]] | None = None
        #: the waits (seconds) the last retried request asked for; for tests and diagnostics
        self.waits: list[float] = []

    def observed(self, on_read: Callable[[], Awaitable[None]]) -> VendorHttp:
        """This client for one call, reporting each successful read to `on_read` (shares pool and limits)."""

        view = copy.copy(self)
        view.on_read = on_read
        return view

    def may_retry(self, request: VendorRequest) -> bool:
        honoured = request.idempotency_key is not None and self.idempotency_header is not None
        return not request.is_write or request.retry_safe or honoured

    async def execute(self, plan: WritePlan[T]) -> T:
        """Send a planned write and read its answer; the plan's warnings join the result's."""

        try:
            data = await self.send_json(plan.request, ok=plan.ok)
        except TaskLinkError as exc:
            if plan.explain is None:
                raise
            raise plan.explain(exc) from None
        result = await plan.read(data)
        warnings = getattr(result, "warnings", None)
        if isinstance(warnings, list):
            warnings.extend(plan.warnings)
        return result

    async def send(self, request: VendorRequest, *, ok: Iterable[int] = (200,)) -> httpx2.Response:
        response, _ = await self._send(request, tuple(ok), want_json=False)
        return response

    async def send_json(self, request: VendorRequest, *, ok: Iterable[int] = (200,)) -> Any:
        _, data = await self._send(request, tuple(ok), want_json=True)
        return data

    @observability.vendor_request
    async def _send(
        self, request: VendorRequest, ok: tuple[int, ...], *, want_json: bool
    ) -> tuple[httpx2.Response, Any]:
        deadline = time.monotonic() + self.retry.deadline
        if not self.may_retry(request) or self.retry.attempts <= 1:
            return await self._send_once(request, ok, want_json, deadline)
        self.waits.clear()
        try:  # the first attempt needs no retry machinery: most requests succeed here
            return await self._send_once(request, ok, want_json, deadline)
        except RETRYABLE as exc:  # anything else is never retried (`_backoff`), so it simply propagates
            failed = exc
        return await self._retry(request, ok, want_json, deadline, failed)

    async def _retry(
        self, request: VendorRequest, ok: tuple[int, ...], want_json: bool, deadline: float, failed: Exception
    ) -> tuple[httpx2.Response, Any]:
        """The retry policy after a first attempt failed with `failed`: stamina decides (through `_backoff`)
        whether and when to try again, counting that first attempt as its own first, so attempts, waits and
        the overall deadline are what they are when every attempt runs under it."""

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise failed
        import stamina  # after a first failure only: keeps stamina and tenacity out of start-up and success

        first: Exception | None = failed
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=self.retry.attempts,
            timeout=remaining,
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
        ):
            with attempt:
                if first is not None:
                    replayed, first = first, None
                    raise replayed
                return await self._send_once(request, ok, want_json, deadline)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def describe(self, request: VendorRequest) -> DryRunReport:
        """Exactly what `send` would put on the wire, credentials redacted."""

        built = self._build(request)
        body: Any = request.json if request.json is not None else (dict(request.form) if request.form else None)
        headers = self.redact.headers(dict(built.headers))
        if self.client.auth is not None and "authorization" not in headers:
            headers["authorization"] = f"{REDACTED} (added when sent)"
        return DryRunReport(method=built.method, url=self.redact(str(built.url)), body=body, headers=headers)

    def _build(self, request: VendorRequest) -> httpx2.Request:
        headers = dict(request.headers)
        principal = acting()
        if self.acting_as_header is not None and not principal.local and principal.email:
            headers[self.acting_as_header] = principal.email
        if request.idempotency_key is not None and self.idempotency_header is not None:
            headers[self.idempotency_header] = request.idempotency_key
        return self.client.build_request(
            request.method,
            request.path,
            params=request.params,  # type: ignore[arg-type]
            json=request.json,
            data=request.form,
            headers=headers,
        )

    def _backoff(self, exc: Exception) -> bool | float:
        """Whether (and how long to wait before) retrying after `exc` (never for anything but RETRYABLE)."""

        if isinstance(exc, RateLimited):
            if exc.retry_after is None:
                return True
            if exc.retry_after > self.retry.retry_after_cap:
                return False
            self.waits.append(exc.retry_after)
            return exc.retry_after
        if isinstance(exc, VendorUnavailable) and self.breaker.state == "open":
            return False  # failing fast is the point of an open circuit
        return isinstance(exc, VendorUnavailable | OutcomeUnknown)

    @observability.vendor_attempt
    async def _send_once(
        self, request: VendorRequest, ok: tuple[int, ...], want_json: bool, deadline: float
    ) -> tuple[httpx2.Response, Any]:
        self.breaker.check()
        category = request.category or ("read" if not request.is_write else "write")
        try:  # a free slot is taken without a checkpoint: the request itself yields soon enough
            self.concurrency.acquire_nowait()
        except anyio.WouldBlock:
            await self.concurrency.acquire()
        try:
            await observability.paced(self.rate_limits.acquire(category, budget=max(0.0, deadline - time.monotonic())))
            try:
                response = await self.client.send(self._build(request), stream=True, follow_redirects=False)
                try:
                    body = await self._read_capped(request, response)
                finally:
                    await response.aclose()
            except httpx2.HTTPError as exc:
                self.breaker.failure()
                raise self._transport_error(request, exc) from None
        finally:
            self.concurrency.release()
        self.rate_limits.observe(category, response.headers)
        failed = response.status_code == 429 or response.status_code >= 500
        self.breaker.failure() if failed else self.breaker.success()
        if response.status_code not in ok:
            raise self.error_for(request, response)
        if self.on_read is not None and not request.is_write:
            await self.on_read()
        if not want_json:
            return response, None
        try:
            return response, json.loads(body) if body else None
        except ValueError:
            raise self._unreadable(request, response, "a body that is not JSON") from None

    async def _read_capped(self, request: VendorRequest, response: httpx2.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._unreadable(
                request, response, f"a {int(declared):,}-byte body (limit {self.max_response_bytes:,})"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise self._unreadable(request, response, f"a body over the {self.max_response_bytes:,}-byte limit")
            chunks.append(chunk)
        content = b"".join(chunks)
        response._content = content  # the body is read once, here; later .json()/.text use it
        return content

    def _unreadable(self, request: VendorRequest, response: httpx2.Response, what: str) -> TaskLinkError:
        action = request.action or request.path
        status = response.status_code
        if request.is_write and 200 <= status < 300:
            return OutcomeUnknown(
                f"{self.vendor_title} accepted the {action} request (HTTP {status}) but answered with {what}, "
                "so tasklink cannot confirm what was stored",
                how_to_check=f"look the record up in {self.vendor_title} before writing again",
                status=status,
            )
        return VendorUnavailable(
            f"{self.vendor_title} answered {action} with {what} (HTTP {status}); "
            "the vendor or a proxy in front of it may be failing",
            status=status,
        )

    def _transport_error(self, request: VendorRequest, exc: httpx2.HTTPError) -> TaskLinkError:
        what = request.action or f"{request.method} {request.path}"
        never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
        if request.is_write and not never_sent:
            return OutcomeUnknown(
                f"{self.vendor_title} did not answer the {what} request ({type(exc).__name__}); "
                "it may or may not have been applied",
                how_to_check=f"look the record up in {self.vendor_title} (list or get) before writing again",
            )
        return VendorUnavailable(
            f"Could not reach {self.vendor_title} for {what} ({type(exc).__name__}); nothing was changed",
        )

    def error_for(self, request: VendorRequest, response: httpx2.Response) -> TaskLinkError:
        return status_error(self.vendor_title, request, response, self.parse_error(response), self.redact)


def status_error(
    vendor_title: str, request: VendorRequest, response: httpx2.Response, detail: ErrorDetail, redact: Redactor
) -> TaskLinkError:
    """The single status-code → exception map."""

    status = response.status_code
    what = request.action or f"{request.method} {request.path}"
    message = vendor_text(redact(detail.message))
    request_id = response.headers.get("x-request-id")
    kw: dict[str, Any] = {"status": status, "code": detail.code, "request_id": request_id}
    prefix = f"{vendor_title} refused {what} (HTTP {status})"
    if 300 <= status < 400:
        return VendorError(
            f"{vendor_title} answered {what} with a redirect (HTTP {status}) that tasklink does not "
            "follow; nothing was applied",
            hint="check the configured base URL (https, region, path)",
            **kw,
        )
    if status == 401:
        return VendorAuthError(
            f"{vendor_title} rejected the credentials (HTTP 401): {message}",
            hint="the operator must check this vendor's credentials in tasklink's configuration",
            **kw,
        )
    if status == 403:
        return VendorForbidden(f"{prefix}: {message}", **kw)
    if status == 404:
        return NotFound(f"{vendor_title} has no such record for {what}: {message}")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(
            f"{vendor_title} is rate limiting requests (HTTP 429); nothing was applied",
            retry_after=retry_after,
            **kw,
        )
    if status in (408, 500, 503) or (status >= 500 and not request.is_write):
        return VendorUnavailable(f"{vendor_title} failed on {what} (HTTP {status}): {message}", **kw)
    if status >= 500:
        return OutcomeUnknown(
            f"{vendor_title} answered the {what} request with HTTP {status}; "
            "a gateway error means the write may or may not have been applied",
            how_to_check=f"look the record up in {vendor_title} before writing again",
            **kw,
        )
    return VendorRejected(f"{prefix}: {message}", field=detail.field, **kw)
