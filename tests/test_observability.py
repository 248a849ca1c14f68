"""Metrics, traces and JSON logs (server/tasklink/observability.py).

A scripted workload over real HTTP (the in-process app on loopback, with a bearer token) against the
sandbox; then `/metrics` counts exactly the tool calls made and the vendor requests the simulators saw,
and an in-process OTLP/HTTP collector has received one span per tool call, each vendor request a child
span of it. Neither carries a credential or any of the workload's own text.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tasklink import observability
from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app
from tasklink.mcp.server import build_server
from tasklink.sandbox.demo import DEMO_SETTINGS
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn, free_port, sandbox_of
from .http_support import TOKEN
from .support import text_of

pytestmark = pytest.mark.anyio

#: the Retry-After the Trackops simulator answers the first list with, once
RETRY_AFTER = 0.3
FAULTS = json.dumps(
    [{"vendor": "trackops", "status": 429, "headers": {"Retry-After": str(RETRY_AFTER)}, "method": "GET", "times": 1}]
)
TITLE = "Observed quarterly filing review"
#: every credential the simulators accept, and the HTTP token: none may appear in metrics or spans
SECRETS = [
    TOKEN,
    *(
        value
        for settings in DEMO_SETTINGS.values()
        for name, value in settings.items()
        if name in ("api_key", "client_id", "client_secret", "api_token")
    ),
]


class Collector:
    """An OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest (protobuf)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.resources: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])])

    async def traces(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        for resource_spans in message.resource_spans:
            self.resources.append(attributes(resource_spans.resource.attributes))
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(scope_spans.spans)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")


def value_of(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


def attributes(items: Any) -> dict[str, Any]:
    return {item.key: value_of(item.value) for item in items}


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    """The collector on loopback, named by the standard OTEL_* variable; tracing and metrics start afresh."""

    found = Collector()
    port = free_port()
    with ThreadedUvicorn(found.app, port):
        observability.stop()
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
        monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
        yield found
        observability.stop()


class Served:
    def __init__(self, server: Any, port: int) -> None:
        self.server, self.port = server, port
        self.base = f"http://127.0.0.1:{port}"

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Client]:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http,
            Client(streamable_http_client(f"{self.base}/mcp", http_client=http), mode="legacy") as client,
        ):
            yield client


@asynccontextmanager
async def serve(tmp_path: Path, **http: Any) -> AsyncIterator[Served]:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, sandbox_faults=FAULTS)
    server = build_server(settings)
    port = free_port()
    app = http_app(server, HttpOptions(port=port), HttpSettings(http_token=[TOKEN], **http))
    with ThreadedUvicorn(app, port):
        yield Served(server, port)


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Prometheus text as {sample name: {sorted labels: value}}."""

    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


async def workload(served: Served) -> list[tuple[str, str]]:
    """The calls made, as (tool, expected outcome)."""

    key = str(uuid.uuid4())
    create = {"vendor": "workiva", "title": TITLE, "description": "Quarterly numbers", "idempotency_key": key}
    async with served.client() as client:
        listed = await client.call_tool("list_tasks", {"vendor": "trackops", "limit": 5})
        assert not listed.is_error, text_of(listed)
        first = await client.call_tool("create_task", create)
        assert not first.is_error, text_of(first)
        again = await client.call_tool("create_task", create)  # the same key and arguments: replayed
        assert again.structured_content["replayed"] is True
        missing = await client.call_tool("get_task", {"vendor": "lightfield", "task_id": "no-such-task"})
        assert missing.is_error
        vendors = await client.call_tool("list_vendors", {})
        assert not vendors.is_error
    return [
        ("list_tasks", "ok"),
        ("create_task", "ok"),
        ("create_task", "ok"),
        ("get_task", "NotFound"),
        ("list_vendors", "ok"),
    ]


async def test_metrics_and_traces_match_the_workload(tmp_path: Path, collector: Collector) -> None:
    async with serve(tmp_path) as served:
        calls = await workload(served)
        seen = Counter[tuple[str, str]]()  # what the simulators answered, by vendor title and status
        token_fetches = 0  # (Workiva's OAuth token: fetched inside the request that needs it)
        for vendor in ("trackops", "lightfield", "workiva"):
            title = served.server.service.vendors.runtimes[vendor].manifest.title
            for logged in (await sandbox_of(served.server, vendor)).requests:
                seen[title, str(logged.status)] += 1
                token_fetches += logged.path.endswith("/oauth2/token")
        refused = httpx2.get(f"{served.base}/metrics", timeout=10)
        answer = httpx2.get(f"{served.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    observability.flush()

    assert refused.status_code == 401, "the metrics need the same token as /mcp"
    assert answer.status_code == 200
    found = samples(answer.text)

    # tool calls and their latency, by tool and outcome
    expected_calls = Counter(calls)
    tool_calls = {(dict(k)["tool"], dict(k)["outcome"]): v for k, v in found["tasklink_tool_calls_total"].items()}
    assert tool_calls == dict(expected_calls)
    latency = {
        (dict(k)["tool"], dict(k)["outcome"]): v for k, v in found["tasklink_tool_call_duration_seconds_count"].items()
    }
    assert latency == dict(expected_calls)

    # every vendor request the simulators answered, by vendor and status (the 429 included)
    vendor_requests = {
        (dict(k)["vendor"], dict(k)["status"]): v for k, v in found["tasklink_vendor_requests_total"].items()
    }
    assert vendor_requests == dict(seen)
    assert seen["Trackops", "429"] == 1
    assert found["tasklink_vendor_retries_total"] == {(("vendor", "Trackops"),): 1.0}
    waits = found["tasklink_rate_limit_wait_seconds_sum"][(("source", "retry_after"), ("vendor", "Trackops"))]
    assert waits >= RETRY_AFTER * 0.9

    # the ledger: the first write claimed its key, the second was replayed from it
    assert found["tasklink_ledger_outcomes_total"] == {(("outcome", "new"),): 1.0, (("outcome", "replay"),): 1.0}
    # the state of each circuit breaker, and the sessions open (the client's closed with it)
    assert found["tasklink_circuit_breaker_state"][(("state", "closed"), ("vendor", "Trackops"))] == 1.0
    assert found["tasklink_http_sessions"] == {(): 0.0}

    # one span per tool call; each vendor request a child span of its call, in its trace
    spans = collector.spans
    tools = {span.span_id: span for span in spans if span.name.startswith("tools/call ")}
    assert Counter(span.name.removeprefix("tools/call ") for span in tools.values()) == Counter(t for t, _ in calls)
    vendor_spans = [span for span in spans if "tasklink.vendor" in attributes(span.attributes)]
    assert len(tools) + len(vendor_spans) == len(spans), "no other spans"
    for span in vendor_spans:
        parent = tools[span.parent_span_id]
        assert parent.trace_id == span.trace_id
    attempts = sum(attributes(s.attributes)["tasklink.attempts"] for s in vendor_spans)
    assert token_fetches == 1
    assert attempts == sum(seen.values()) - token_fetches, "each request the simulators saw is in a vendor span"
    by_tool = Counter(tools[s.parent_span_id].name for s in vendor_spans)
    assert by_tool["tools/call list_vendors"] == 0
    assert by_tool["tools/call get_task"] == 1

    listed = next(s for s in vendor_spans if tools[s.parent_span_id].name == "tools/call list_tasks")
    listed_attributes = attributes(listed.attributes)
    assert listed_attributes["tasklink.vendor"] == "Trackops"
    assert listed_attributes["tasklink.operation"] == "list tasks"
    assert listed_attributes["tasklink.retries"] == 1
    assert listed_attributes["tasklink.rate_limit_wait_s"] >= RETRY_AFTER * 0.9
    assert listed_attributes["http.response.status_code"] == 200

    write = next(s for s in vendor_spans if attributes(s.attributes)["http.request.method"] == "POST")
    assert attributes(write.attributes)["tasklink.idempotency"] == "new"
    created_calls = [s for s in tools.values() if s.name == "tools/call create_task"]
    assert sorted(attributes(s.attributes)["tasklink.idempotency"] for s in created_calls) == ["new", "replay"]

    failed = next(s for s in vendor_spans if tools[s.parent_span_id].name == "tools/call get_task")
    assert attributes(failed.attributes)["http.response.status_code"] == 404
    assert attributes(failed.attributes)["tasklink.operation"] == "get task"
    failed_call = tools[failed.parent_span_id]
    assert attributes(failed_call.attributes)["error.type"] == "NotFound"
    assert collector.resources[0]["service.name"] == "tasklink"

    # nothing secret, and none of the workload's own text (titles, ids), in either
    exported = json.dumps(
        [[s.name, s.status.message, attributes(s.attributes)] for s in spans] + collector.resources, default=str
    )
    for text in (exported, answer.text):
        for secret in SECRETS:
            assert secret not in text
        assert TITLE not in text
        assert "no-such-task" not in text
        assert "Quarterly" not in text


async def test_metrics_can_be_public(tmp_path: Path) -> None:
    async with serve(tmp_path, metrics_public=True) as served:
        answer = httpx2.get(f"{served.base}/metrics", timeout=10)
        mcp = httpx2.post(f"{served.base}/mcp", json={}, timeout=10)
    assert answer.status_code == 200
    assert "tasklink_tool_calls" in answer.text
    assert mcp.status_code == 401, "only the metrics are public"


async def test_a_callers_trace_context_is_joined(tmp_path: Path, collector: Collector) -> None:
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    assert observability.start_tracing()
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    async with Client(server) as client:
        result = await client.call_tool("list_vendors", {}, meta={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert not result.is_error
    observability.flush()
    (span,) = [s for s in collector.spans if s.name == "tools/call list_vendors"]
    assert (span.trace_id.hex(), span.parent_span_id.hex()) == (trace_id, parent_id)


def test_operation_names_leave_ids_out() -> None:
    op = observability.operation_of
    assert op("get task 123", "/tasks/123", "GET") == "get task"
    assert op("get task abc", "/api/tasks/abc", "GET") == "get task"
    assert op("get task two words", "/tasks/two%20words", "GET") == "get task"
    assert op("update assignees of intake 42", "/legal_intake/42/assignees/", "PUT") == "update assignees of intake"
    assert op("list tasks", "/tasks", "GET") == "list tasks"
    assert op("", "/x", "post") == "POST"


def test_nothing_is_observed_when_off(monkeypatch: pytest.MonkeyPatch) -> None:
    observability.stop()
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert observability.start_tracing() is False
    assert observability.tool_call("get_task") is observability.tool_call("list_tasks")  # the one shared no-op
    requested = observability.tracing_requested
    assert requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}) is False
    assert requested({"OTEL_TRACES_EXPORTER": "otlp"}) is True
    assert requested({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) is False
    assert requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"}) is True


PROBE = """
import json, sys
import tasklink.cli
from tasklink.mcp.server import build_server
build_server()
print(json.dumps(sorted(sys.modules)))
"""


def test_start_up_imports_no_observability_library(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLINK_", "OTEL_"))}
    env["TASKLINK_DATA_DIR"] = str(tmp_path / "data")
    found = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    modules = json.loads(found.stdout)
    heavy = ("opentelemetry.sdk", "opentelemetry.exporter", "prometheus_client")
    assert [m for m in modules if m.startswith(heavy)] == []


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLINK_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, "-c", code], env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )


def test_json_logs_on_request(tmp_path: Path) -> None:
    code = (
        "import logging\nfrom tasklink import observability\nobservability.setup_logging()\n"
        "logging.getLogger('tasklink').warning('vendor %s is slow', 'Trackops')\n"
    )
    found = run_python(code, TASKLINK_LOG_FORMAT="json")
    line = json.loads(found.stderr.strip())
    assert line["level"] == "warning"
    assert line["logger"] == "tasklink"
    assert line["message"] == "vendor Trackops is slow"
    assert line["time"].endswith("Z")
    plain = run_python(code)
    assert plain.stderr.strip() == "vendor Trackops is slow"


def test_an_unknown_log_format_is_one_line(tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-m", "tasklink", "serve"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("TASKLINK_")},
             "TASKLINK_LOG_FORMAT": "yaml", "TASKLINK_DATA_DIR": str(tmp_path / "data")},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert found.returncode == 2
    assert len(found.stderr.strip().splitlines()) == 1
    assert "TASKLINK_LOG_FORMAT" in found.stderr and "'yaml'" in found.stderr
