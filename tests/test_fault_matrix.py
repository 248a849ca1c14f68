"""Every vendor × every injected fault × {read, write}: the outcome a user sees, and never a duplicate.

Faults are injected by the simulators (server/tasklink/sandbox/_core.py). Retries run in stamina's
test mode, so waits (Retry-After included) are recorded but not slept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stamina
from mcp import Client

from tasklink.mcp.server import build_server
from tasklink.sandbox._core import Fault
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, sandbox_of
from .support import text_of

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Operation:
    tool: str
    arguments: dict[str, Any]
    method: str
    path: str
    kind: str = "task"  # what the sandbox stores


READS = {
    "spotdraft": Operation("list_intakes", {}, "GET", "/api/v1/public/legal_intake/", "intake"),
    "trackops": Operation("list_tasks", {"vendor": "trackops"}, "GET", "/api/v1/tasks"),
    "lightfield": Operation("list_tasks", {"vendor": "lightfield"}, "GET", "/v1/tasks"),
    "workiva": Operation("list_tasks", {"vendor": "workiva"}, "GET", "/tasks"),
}
WRITES = {
    "spotdraft": Operation("create_intake", {}, "POST", "/api/v1/public/legal_intake/", "intake"),
    "trackops": Operation(
        "create_task",
        {"vendor": "trackops", "due": "2031-04-01", "vendor_fields": {"casefile_id": 246, "calendar_id": 2}},
        "POST",
        "/api/v1/tasks",
    ),
    "lightfield": Operation(
        "create_task", {"vendor": "lightfield", "status": "todo", "assignees": ["mem_sam0001"]}, "POST", "/v1/tasks"
    ),
    "workiva": Operation("create_task", {"vendor": "workiva"}, "POST", "/tasks"),
}

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"
FAULTS: dict[str, dict[str, Any]] = {
    "429 Retry-After": {"status": 429, "headers": {"Retry-After": "1"}},
    "429 bare": {"status": 429},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "504": {"status": 504},
    "HTML 502 page": {"status": 502, "body": HTML, "content_type": "text/html"},
    "302 redirect": {"status": 302, "headers": {"Location": "https://elsewhere.example/"}},
    "timeout before": {"kind": "timeout_before"},
    "timeout after": {"kind": "timeout_after"},
    "reset before": {"kind": "drop_before"},
    "reset after": {"kind": "drop_after"},
    "slow": {"kind": "slow", "delay": 0.05},
    "malformed JSON": {"kind": "malformed_after"},
    "oversized body": {"kind": "oversized_after"},
}

# Expected (outcome, writes landed) for a write to a vendor that cannot deduplicate by key.
WRITE_WITHOUT_DEDUPE = {
    "429 Retry-After": ("error, retry helps", 0),
    "429 bare": ("error, retry helps", 0),
    "500": ("error, retry helps", 0),
    "502": ("unknown outcome", 0),
    "503": ("error, retry helps", 0),
    "504": ("unknown outcome", 0),
    "HTML 502 page": ("unknown outcome", 0),
    "302 redirect": ("error, final", 0),
    "timeout before": ("unknown outcome", 0),
    "timeout after": ("unknown outcome", 1),
    "reset before": ("unknown outcome", 0),
    "reset after": ("unknown outcome", 1),
    "slow": ("ok", 1),
    "malformed JSON": ("unknown outcome", 1),
    "oversized body": ("unknown outcome", 1),
}


def expected(vendor: str, fault: str, op: str) -> tuple[str, int]:
    if op == "read":
        return ("error, final", 0) if fault == "302 redirect" else ("ok", 0)
    if vendor == "lightfield":  # writes carry an Idempotency-Key, so they are retried safely
        return ("error, final", 0) if fault == "302 redirect" else ("ok", 1)
    return WRITE_WITHOUT_DEDUPE[fault]


def classify(result: Any) -> str:
    if not result.is_error:
        return "ok"
    text = text_of(result)
    assert "Traceback" not in text and 'File "' not in text
    if "may or may not" in text or "cannot confirm" in text:
        return "unknown outcome"
    if "Retrying may help" in text or "Retry after" in text or "Retry in a little while" in text:
        return "error, retry helps"
    return "error, final"


ROWS: list[tuple[str, str, str, str, int, str]] = []


@pytest.mark.parametrize("vendor", list(READS))
async def test_fault_matrix(vendor: str, tmp_path: Path) -> None:
    problems = []
    for fault_name, spec in FAULTS.items():
        for op_name, op in (("read", READS[vendor]), ("write", WRITES[vendor])):
            settings = TaskLinkSettings(data_dir=tmp_path / f"{fault_name}-{op_name}", sandbox=True)
            server = build_server(settings)
            state = await sandbox_of(server, vendor)
            arguments = (
                {**op.arguments, "title": f"Fault {uuid.uuid4().hex[:8]}"} if op_name == "write" else op.arguments
            )
            before = state.store.count(op.kind, include_deleted=True)
            state.inject(Fault(**spec, method=op.method, path_prefix=op.path))
            with stamina.set_testing(True, attempts=3):
                async with Client(server) as client:
                    result = await client.call_tool(op.tool, arguments)
                    alive = not (await client.call_tool("list_vendors", {})).is_error
                    landed = state.store.count(op.kind, include_deleted=True) - before
            outcome = classify(result)
            want = expected(vendor, fault_name, op_name)
            ROWS.append(
                (vendor, fault_name, op_name, outcome, landed, "ok" if (outcome, landed) == want else "MISMATCH")
            )
            assert landed <= 1, "duplicate write"
            assert alive
            if (outcome, landed) != want:
                problems.append(
                    f"{fault_name} {op_name}: got {(outcome, landed)}, want {want}: {text_of(result)[:200]}"
                )
    assert not problems, "\n".join(problems)
    if len({r[0] for r in ROWS}) == len(READS):
        REPORTS.append(render(ROWS))


def render(rows: list[tuple[str, str, str, str, int, str]]) -> str:
    header = ("vendor", "fault", "op", "outcome", "writes landed", "check")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["Fault matrix (every vendor × fault × read/write)"]
    for row in [header, *rows]:
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


async def test_a_tool_call_is_bounded_by_its_deadline(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path, sandbox=True, call_deadline=0.3))
    state = await sandbox_of(server, "workiva")
    state.inject(Fault(kind="slow", delay=5, method="GET", path_prefix="/tasks"))
    async with Client(server) as client:
        result = await client.call_tool("list_tasks", {"vendor": "workiva"})
        assert result.is_error
        assert "did not finish within 0.3 s" in text_of(result)
        assert not (await client.call_tool("list_vendors", {})).is_error
