"""Metrics, traces and JSON logs for whoever runs tasklink; all of it off unless asked for.

- Prometheus metrics (`prometheus-client`), served at `/metrics` by `tasklink serve --http`: tool calls
  and their latency by tool and outcome, vendor requests by vendor and HTTP status, rate-limit waits,
  idempotency-ledger outcomes, circuit-breaker states and open sessions.
- OpenTelemetry traces (`opentelemetry-sdk`, exported over OTLP/HTTP) when the standard `OTEL_*`
  variables ask for them (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
  `OTEL_TRACES_EXPORTER=otlp`): one span per tool call, a child span per vendor request. Spans carry
  names, counts, codes and durations only: never arguments, vendor text, principals or credentials.
  tasklink keeps its own tracer provider (the global one stays as it is), so what is exported is only
  what this module writes.
- JSON log lines on stderr when `TASKLINK_LOG_FORMAT=json`.

The libraries are imported only when something is switched on (`pip install 'tasklink[observability]'`
brings them). The hot paths call the small functions below (`tool_call`, `vendor_request`,
`vendor_attempt`, `count_responses`, `paced`, `ledger_claim`); while everything is off each of them returns after one
check of a module global.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier
    from starlette.requests import Request
    from starlette.responses import Response

    from .mcp.server import TaskLinkServer

log = logging.getLogger("tasklink")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
T = TypeVar("T")

#: the metrics, once `start_metrics` ran (the HTTP server); None: nothing is counted
_metrics: _Metrics | None = None
#: tasklink's tracer, once `start_tracing` found OTLP configured; None: no spans
_tracer: Any = None
_provider: Any = None
#: true while anything is on: the one check the hot paths make
_on = False

#: waits shorter than this are a free slot, not a wait
MIN_WAIT = 0.001
EXTRA_HINT = "pip install 'tasklink[observability]'"


# -- switching on ---------------------------------------------------------------------------


def tracing_requested(env: dict[str, str] | None = None) -> bool:
    """Whether the standard OTEL_* variables ask for traces over OTLP."""

    env = dict(os.environ) if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER")
    if exporters is not None:
        return "otlp" in [e.strip().lower() for e in exporters.split(",")]
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def start_tracing() -> bool:
    """Export spans over OTLP/HTTP when the OTEL_* variables ask for it; True when tracing is on."""

    global _tracer, _provider, _on
    if _tracer is not None:
        return True
    if not tracing_requested():
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_* asks for traces, but the OpenTelemetry SDK is not installed (%s): none are sent", EXTRA_HINT
        )
        return False
    from . import __version__

    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol.strip() != "http/protobuf":
        log.warning(
            "tasklink exports OTLP over http/protobuf only; OTEL_EXPORTER_OTLP_PROTOCOL=%s is ignored", protocol
        )
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "tasklink"}))
    provider = TracerProvider(resource=resource)  # kept to itself: the global provider is not touched
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _provider, _tracer = provider, provider.get_tracer("tasklink", __version__)
    _on = True
    return True


def start_metrics() -> bool:
    """Count calls and requests from now on (the HTTP server does this); True when metrics are on."""

    global _metrics, _on
    if _metrics is None:
        try:
            _metrics = _Metrics()
        except ImportError:
            log.warning("/metrics needs prometheus-client (%s); it answers 501 until then", EXTRA_HINT)
            return False
        _on = True
    return True


def flush(timeout_s: float = 10.0) -> None:
    """Send the spans still buffered (tests, and before a planned exit)."""

    if _provider is not None:
        _provider.force_flush(int(timeout_s * 1000))


def stop() -> None:
    """Everything off again (tests): spans still buffered are sent first."""

    global _metrics, _tracer, _provider, _on
    if _provider is not None:
        _provider.shutdown()
    _metrics, _tracer, _provider, _on = None, None, None, False


# -- the metrics ----------------------------------------------------------------------------

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.tool_calls = Counter(
            "tasklink_tool_calls", "Tool calls by tool and outcome.", ["tool", "outcome"], registry=registry
        )
        self.tool_seconds = Histogram(
            "tasklink_tool_call_duration_seconds",
            "Tool call latency by tool and outcome.",
            ["tool", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.vendor_requests = Counter(
            "tasklink_vendor_requests",
            "HTTP requests to vendors (each attempt) by vendor and HTTP status; transport_error: no answer, "
            "not_sent: refused before sending (open circuit, client-side rate limit).",
            ["vendor", "status"],
            registry=registry,
        )
        self.vendor_seconds = Histogram(
            "tasklink_vendor_request_duration_seconds",
            "Vendor request latency (each attempt, waits included) by vendor.",
            ["vendor"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.retries = Counter("tasklink_vendor_retries", "Vendor requests sent again.", ["vendor"], registry=registry)
        self.rate_limit_waits = Histogram(
            "tasklink_rate_limit_wait_seconds",
            "Waits for a vendor's rate limit by vendor and source (pacing: tasklink's own limiter; "
            "retry_after: the vendor answered 429).",
            ["vendor", "source"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
            registry=registry,
        )
        self.ledger = Counter(
            "tasklink_ledger_outcomes",
            "Idempotency-ledger claims of writes by outcome (new, replay, conflict, unknown, in_flight).",
            ["outcome"],
            registry=registry,
        )


# -- tool calls -----------------------------------------------------------------------------


@dataclass
class _Call:
    tool: str
    started: float
    span: Any = None
    token: Any = None
    #: what the idempotency ledger answered this call's write (None: no write)
    idempotency: str | None = None


_call: ContextVar[_Call | None] = ContextVar("tasklink_observed_call", default=None)
_NOTHING = contextlib.nullcontext()


def tool_call(tool: str) -> contextlib.AbstractContextManager[Any]:
    """Around one tool call (the MCP boundary): its span, its count and latency by outcome."""

    return _ToolCall(tool) if _on else _NOTHING


class _ToolCall:
    __slots__ = ("call", "reset", "tool")

    def __init__(self, tool: str) -> None:
        self.tool = tool

    def __enter__(self) -> None:
        self.call = call = _Call(self.tool, time.perf_counter())
        if _tracer is not None:
            from opentelemetry import context, trace

            call.span = _tracer.start_span(
                f"tools/call {self.tool}",
                attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": self.tool},
            )
            call.token = context.attach(trace.set_span_in_context(call.span))
        self.reset = _call.set(call)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        call = self.call
        _call.reset(self.reset)
        outcome = outcome_of(exc)
        elapsed = time.perf_counter() - call.started
        if _metrics is not None:
            _metrics.tool_calls.labels(call.tool, outcome).inc()
            _metrics.tool_seconds.labels(call.tool, outcome).observe(elapsed)
            if call.idempotency is not None:
                _metrics.ledger.labels(call.idempotency).inc()
        if call.span is not None:
            from opentelemetry import context
            from opentelemetry.trace import StatusCode

            call.span.set_attribute("tasklink.outcome", outcome)
            if call.idempotency is not None:
                call.span.set_attribute("tasklink.idempotency", call.idempotency)
            if outcome != "ok":
                call.span.set_attribute("error.type", outcome)
                call.span.set_status(StatusCode.ERROR)  # no description: it would be free text
            call.span.end()
            context.detach(call.token)


def outcome_of(exc: BaseException | None) -> str:
    """A call's outcome as a label: ok, or the kind of failure (never its message)."""

    if exc is None:
        return "ok"
    from pydantic import ValidationError

    from .errors import TaskLinkError

    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, TaskLinkError):
        return type(exc).__name__
    if isinstance(exc, ValidationError):
        return "invalid_arguments"
    if not isinstance(exc, Exception):
        return "cancelled"
    if type(exc).__name__ in ("ToolError", "UrlElicitationRequiredError"):
        return type(exc).__name__
    return "internal_error"


def ledger_claim(kind: str) -> None:
    """What the idempotency ledger answered a write's claim (the write gate): new, replay, conflict, …"""

    if not _on:
        return
    call = _call.get()
    if call is not None:
        call.idempotency = kind  # counted once, as the call ends (a call waiting on an in-flight key polls)
    elif _metrics is not None and kind != "in_flight":
        _metrics.ledger.labels(kind).inc()


# -- vendor requests ------------------------------------------------------------------------


@dataclass
class _Request:
    vendor: str
    attempts: int = 0
    #: the last attempt's answer: an HTTP status, transport_error or not_sent
    status: str = "not_sent"
    paced: float = 0.0
    retry_after: float = 0.0
    #: when the last attempt ended with 429 (the wait before the next one is the vendor's)
    limited_at: float | None = None
    #: the current attempt passed the rate limit (it is being sent), and got an answer
    sending: bool = False
    answered: bool = False


_request: ContextVar[_Request | None] = ContextVar("tasklink_observed_request", default=None)


def vendor_request(send: F) -> F:
    """Decorates `VendorHttp._send` (one logical request, retries included): its span and retry count."""

    @functools.wraps(send)
    async def observed(http: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not _on:
            return await send(http, request, *args, **kwargs)
        state = _Request(vendor=http.vendor_title)
        span = None
        if _tracer is not None:
            span = _tracer.start_span(
                f"{http.vendor_title} {operation_of(request.action, request.path, request.method)}",
                attributes=_request_attributes(http, request),
            )
        reset = _request.set(state)
        failure: BaseException | None = None
        try:
            return await send(http, request, *args, **kwargs)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            _request.reset(reset)
            if _metrics is not None and state.attempts > 1:
                _metrics.retries.labels(state.vendor).inc(state.attempts - 1)
            if span is not None:
                _end_request_span(span, state, failure)

    return cast(F, observed)


def _request_attributes(http: Any, request: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "tasklink.vendor": http.vendor_title,
        "tasklink.operation": operation_of(request.action, request.path, request.method),
        "http.request.method": request.method.upper(),
    }
    if request.is_write:
        call = _call.get()
        attributes["tasklink.idempotency"] = (call.idempotency if call else None) or "none"
        attributes["tasklink.idempotency_key_sent"] = bool(request.idempotency_key and http.idempotency_header)
    return attributes


def _end_request_span(span: Any, state: _Request, failure: BaseException | None) -> None:
    from opentelemetry.trace import StatusCode

    span.set_attribute("tasklink.attempts", state.attempts)
    span.set_attribute("tasklink.retries", max(0, state.attempts - 1))
    span.set_attribute("tasklink.rate_limit_wait_s", round(state.paced + state.retry_after, 6))
    if state.status.isdigit():
        span.set_attribute("http.response.status_code", int(state.status))
    else:
        span.set_attribute("tasklink.request_status", state.status)
    if failure is not None:
        span.set_attribute("error.type", outcome_of(failure))
        span.set_status(StatusCode.ERROR)
    span.end()


def vendor_attempt(send_once: F) -> F:
    """Decorates `VendorHttp._send_once` (one attempt): its latency; an attempt that got no answer is counted
    here (transport_error, or not_sent when it was refused before sending), answers by `count_responses`."""

    @functools.wraps(send_once)
    async def observed(http: Any, *args: Any, **kwargs: Any) -> Any:
        state = _request.get() if _on else None
        if state is None:
            return await send_once(http, *args, **kwargs)
        state.attempts += 1
        state.sending = state.answered = False
        started = time.perf_counter()
        if state.limited_at is not None:  # the wait the vendor's 429 asked for
            waited, state.limited_at = started - state.limited_at, None
            state.retry_after += waited
            if _metrics is not None:
                _metrics.rate_limit_waits.labels(state.vendor, "retry_after").observe(waited)
        try:
            return await send_once(http, *args, **kwargs)
        except BaseException:
            if not state.answered:
                state.status = "transport_error" if state.sending else "not_sent"
                if _metrics is not None:
                    _metrics.vendor_requests.labels(state.vendor, state.status).inc()
            elif state.status == "429":
                state.limited_at = time.perf_counter()
            raise
        finally:
            if _metrics is not None:
                _metrics.vendor_seconds.labels(state.vendor).observe(time.perf_counter() - started)

    return cast(F, observed)


def count_responses(client: Any, vendor: str) -> None:
    """Count every answer the vendor's HTTP client receives, by status (`VendorHttp.__init__`): the requests
    an auth flow adds (a token fetch) and background ones included."""

    async def answered(response: Any) -> None:
        if not _on:
            return
        status = str(response.status_code)
        state = _request.get()
        if state is not None:
            state.status, state.answered, state.sending = status, True, True
        if _metrics is not None:
            _metrics.vendor_requests.labels(vendor, status).inc()

    hooks = getattr(client, "event_hooks", None)
    if isinstance(hooks, dict):
        hooks.setdefault("response", []).append(answered)


async def paced(waiting: Awaitable[T]) -> T:
    """Around the wait for a rate-limit slot (`VendorHttp._send_once`): how long it took; the request is
    sent right after it."""

    state = _request.get() if _on else None
    if state is None:
        return await waiting
    started = time.perf_counter()
    result = await waiting
    waited = time.perf_counter() - started
    state.sending = True
    if waited >= MIN_WAIT:
        state.paced += waited
        if _metrics is not None:
            _metrics.rate_limit_waits.labels(state.vendor, "pacing").observe(waited)
    return result


#: the most words of a request's action kept as its operation
OPERATION_WORDS = 5


def operation_of(action: str, path: str, method: str) -> str:
    """What a vendor request does, without the ids in it: "get task 123" -> "get task". Lowercase words up to
    the first that is not one, or that names a segment of the request's path (an id)."""

    segments = {unquote(s) for s in path.split("/") if s}
    words = action.split()
    kept: list[str] = []
    for index, word in enumerate(words[:OPERATION_WORDS]):
        if not (word.isascii() and word.isalpha() and word.islower()):
            break
        if index >= 2 and " ".join(words[index:]) in segments:
            break
        kept.append(word)
    return " ".join(kept) or method.upper()


# -- /metrics -----------------------------------------------------------------------------------


def add_metrics_route(server: TaskLinkServer, verifier: TokenVerifier | None, *, public: bool) -> None:
    """`GET /metrics` on the HTTP server: the same bearer tokens as /mcp unless `public` (or no auth is
    configured, which only a loopback bind allows)."""

    start_metrics()
    guard = None if public else verifier

    async def metrics(request: Request) -> Response:
        from starlette.responses import JSONResponse, Response

        if guard is not None and not await _authorized(guard, request):
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if _metrics is None:
            return JSONResponse({"error": f"metrics need prometheus-client: {EXTRA_HINT}"}, status_code=501)
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        body = generate_latest(_metrics.registry) + generate_latest(_ServerState(server).registry())
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    server.custom_route("/metrics", methods=["GET"], include_in_schema=False)(metrics)


async def _authorized(verifier: TokenVerifier, request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    access = await verifier.verify_token(token.strip())
    return access is not None and (access.expires_at is None or access.expires_at >= time.time())


class _ServerState:
    """What one server holds right now, read at each scrape: circuit breakers and open sessions."""

    def __init__(self, server: TaskLinkServer) -> None:
        self.server = server

    def registry(self) -> Any:
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        breakers = GaugeMetricFamily(
            "tasklink_circuit_breaker_state",
            "Each vendor's circuit breaker: 1 for its current state (closed, half-open, open).",
            labels=["vendor", "state"],
        )
        for rt in self.server.service.vendors.runtimes.values():
            adapter = rt.adapter
            current = adapter.http.breaker.state if adapter is not None else "closed"
            for state in ("closed", "half-open", "open"):
                breakers.add_metric([rt.manifest.title, state], 1.0 if state == current else 0.0)
        yield breakers
        try:
            manager: Any = self.server.session_manager
        except RuntimeError:  # no HTTP app was made
            manager = None
        sessions = len(getattr(manager, "_server_instances", None) or {})
        yield GaugeMetricFamily("tasklink_http_sessions", "MCP sessions open on this worker.", value=sessions)


# -- JSON logs ------------------------------------------------------------------------------

LOG_FORMATS = ("text", "json")


def log_format() -> str:
    """TASKLINK_LOG_FORMAT: text (the default) or json; anything else is a ConfigurationError."""

    value = os.environ.get("TASKLINK_LOG_FORMAT", "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        from .errors import ConfigurationError

        raise ConfigurationError(
            f"TASKLINK_LOG_FORMAT={os.environ.get('TASKLINK_LOG_FORMAT')!r} is not a log format", allowed=LOG_FORMATS
        )
    return value


def setup_logging() -> dict[str, Any]:
    """JSON lines on stderr for every logger when TASKLINK_LOG_FORMAT=json; the keyword arguments that keep
    uvicorn from installing its own text handlers then (for `uvicorn.run`)."""

    if log_format() != "json":
        return {}
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    return {"log_config": None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the trace it belongs to, when traced)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        if _tracer is not None:
            from opentelemetry import trace

            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                entry["trace_id"] = f"{context.trace_id:032x}"
                entry["span_id"] = f"{context.span_id:016x}"
        return json.dumps(entry, ensure_ascii=False)
