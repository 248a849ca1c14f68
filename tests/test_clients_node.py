"""Clients nobody on this team wrote: the official conformance suite, the Inspector CLI, the TS SDK.

They run on the Node 22 that `npm ci` installs in tests/clients (scripts/test does that).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPORTS
from .http_support import CLIENTS_DIR, NODE_MODULES, TOKEN, ServeProcess, base_env, node, node_env, require_node_clients
from .support import EXPECTED_TOOLS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def node_clients() -> None:
    require_node_clients()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-clients")


@pytest.fixture(scope="module")
def open_server(scratch: Path) -> Iterator[ServeProcess]:
    """The default deployment: loopback, no token."""
    with ServeProcess(scratch, base_env(scratch / "open-data")) as srv:
        yield srv


@pytest.fixture(scope="module")
def token_server(scratch: Path) -> Iterator[ServeProcess]:
    with ServeProcess(scratch, base_env(scratch / "token-data", TASKLINK_HTTP_TOKEN=TOKEN)) as srv:
        yield srv


#: no upgrade notice, funding or audit chatter from npm or anything it starts
QUIET = {
    "NO_UPDATE_NOTIFIER": "1",
    "npm_config_update_notifier": "false",
    "npm_config_fund": "false",
    "npm_config_audit": "false",
}


def run_node(scratch: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node(), *args],
        cwd=scratch,
        env=node_env(scratch / "home", **QUIET),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stdio_server_args(scratch: Path) -> list[str]:
    return [sys.executable, "-m", "tasklink", "serve"]


# -- the official conformance suite ------------------------------------------------------------


def baseline(path: Path) -> set[str]:
    """The `server:` list of an --expected-failures file (the suite's YAML format, read plainly)."""
    entries, section = set(), None
    for line in path.read_text().splitlines():
        if re.match(r"^\w+:", line):
            section = line.split(":")[0]
        elif section == "server" and (m := re.match(r"^\s+-\s+([\w-]+)", line)):
            entries.add(m.group(1))
    return entries


def scenario_results(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {}
    for checks in sorted(out_dir.glob("server-*/checks.json")):
        scenario = re.sub(r"^server-(.*)-\d{4}-\d\d-\d\dT.*$", r"\1", checks.parent.name)
        results[scenario] = json.loads(checks.read_text())
    return results


#: scenarios whose outcome depends on timing here (the SSE polling scenario reconnects against a server that
#: answers plain JSON where nothing streams): either outcome is accepted, and their checks do not count
UNSTABLE = {"server-sse-polling"}

ERAS = {
    # era: (package, extra args, baseline file, floor of passing checks outside the unstable scenarios)
    "handshake": ("conformance-handshake", [], "conformance-handshake-baseline.yml", 14),
    "2026-07-28": ("conformance-modern", ["--spec-version", "2026-07-28"], "conformance-modern-baseline.yml", 99),
}


def failed_checks(results: dict[str, list[dict[str, Any]]], scenarios: set[str]) -> str:
    """The failed checks of these scenarios, one line each (shown only when the test fails)."""
    return "\n".join(
        f"  {name}: {c.get('name', c.get('id', '?'))}: {c.get('errorMessage') or c.get('description') or ''}"
        for name in sorted(scenarios)
        for c in results.get(name, [])
        if c["status"] == "FAILURE"
    )


@pytest.mark.parametrize("era", list(ERAS))
def test_conformance_suite(era: str, open_server: ServeProcess, scratch: Path) -> None:
    """The suite's own output (a line per failed check, its totals) stays in the test: a passing run reports
    one line per era at the end; a failing one shows the suite's summary and the checks that failed."""
    package, extra, baseline_file, floor = ERAS[era]
    out_dir = scratch / f"conformance-{era}"
    entry = NODE_MODULES / package / "dist" / "index.js"
    result = run_node(
        scratch, str(entry), "server", "--url", open_server.url, "--suite", "all", *extra, "-o", str(out_dir)
    )
    summary = result.stdout[result.stdout.find("=== SUMMARY ===") :] if "=== SUMMARY ===" in result.stdout else ""
    assert summary, result.stdout[-3000:] + result.stderr[-3000:]

    results = scenario_results(out_dir)
    failed = {name for name, checks in results.items() if any(c["status"] == "FAILURE" for c in checks)}
    expected = baseline(CLIENTS_DIR / baseline_file)
    unexpected = failed - expected - UNSTABLE
    passed_checks = sum(
        c["status"] == "SUCCESS" for name, checks in results.items() if name not in UNSTABLE for c in checks
    )
    timing = failed & UNSTABLE - expected
    REPORTS.append(
        f"conformance {era}: {len(results) - len(failed)} passed, {len(failed & expected)} expected failures "
        f"(fixtures the suite's reference server ships), {len(unexpected)} unexpected"
        + (f", {len(timing)} timing-dependent ({', '.join(sorted(timing))})" if timing else "")
    )
    details = f"\n--- conformance {package} ({era}) ---\n{summary.strip()}"
    assert len(results) >= 30, f"the suite ran only {len(results)} scenarios{details}"
    assert unexpected == set(), (
        f"unexpected failures (not in the baseline):\n{failed_checks(results, unexpected)}{details}"
    )
    assert expected - failed - UNSTABLE == set(), f"stale baseline entries: these now pass, remove them{details}"
    assert passed_checks >= floor, (
        f"fewer checks pass than before inside the baselined scenarios ({passed_checks} < {floor}):\n"
        f"{failed_checks(results, failed)}{details}"
    )


# -- the Inspector CLI -----------------------------------------------------------------------------


def inspector(scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    entry = NODE_MODULES / ".bin" / "mcp-inspector"
    return run_node(scratch, str(entry.resolve()), "--cli", *args, timeout=60)


def stdio_target(scratch: Path, name: str) -> list[str]:
    return [
        "-e",
        "TASKLINK_SANDBOX=1",
        "-e",
        f"TASKLINK_DATA_DIR={scratch / name}",
        *stdio_server_args(scratch),
    ]


def test_inspector_lists_tools_over_stdio_and_strict_lint_finds_nothing(scratch: Path) -> None:
    result = inspector(scratch, *stdio_target(scratch, "insp-list"), "--method", "tools/list", "--strict")
    assert result.returncode == 0, result.stderr
    assert {t["name"] for t in json.loads(result.stdout)["tools"]} == EXPECTED_TOOLS
    problems = [line for line in result.stderr.splitlines() if re.match(r"^(Warning|Error)\b", line)]
    assert problems == [], result.stderr


def test_inspector_creates_a_task_over_stdio(scratch: Path) -> None:
    args = {"vendor": "spotdraft", "title": "Inspector stdio task", "assignees": ["102"], "due": "2030-05-01"}
    result = inspector(
        scratch,
        *stdio_target(scratch, "insp-call"),
        "--method",
        "tools/call",
        "--tool-name",
        "create_task",
        "--tool-args-json",
        json.dumps(args),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    task = json.loads(result.stdout)["result"]["structuredContent"]
    assert task["title"] == "Inspector stdio task" and task["vendor"] == "spotdraft"


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_lists_tools_over_http(scratch: Path, open_server: ServeProcess, era: str) -> None:
    result = inspector(scratch, open_server.url, "--protocol-era", era, "--method", "tools/list", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {t["name"] for t in json.loads(result.stdout)["result"]["tools"]} == EXPECTED_TOOLS


def test_inspector_creates_a_task_over_http_with_a_bearer_header(scratch: Path, token_server: ServeProcess) -> None:
    call = ["--method", "tools/call", "--tool-name", "create_task", "--format", "json"]
    task = {"vendor": "spotdraft", "title": "Inspector HTTP task", "assignees": ["102"], "due": "2030-05-01"}
    args = ["--tool-args-json", json.dumps(task)]
    refused = inspector(scratch, token_server.url, *call, *args)
    assert refused.returncode != 0
    assert "auth" in (refused.stdout + refused.stderr).lower()
    result = inspector(scratch, token_server.url, "--header", f"Authorization: Bearer {TOKEN}", *call, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["result"]["structuredContent"]["title"] == "Inspector HTTP task"


# -- the TypeScript SDK client -----------------------------------------------------------------------


def check_ts_output(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["server"]["name"] == "tasklink"
    assert set(seen["tools"]) == EXPECTED_TOOLS
    assert seen["intake"]["status"] == "PENDING" and seen["intake"]["priority"] == "HIGH"
    assert seen["read_back_tasks"] == [{"id": seen["task"]["id"], "title": "TS SDK task"}]
    return seen


def test_typescript_sdk_over_stdio(scratch: Path) -> None:
    script = str(CLIENTS_DIR / "ts_client.mjs")
    env_args = stdio_server_args(scratch)
    result = subprocess.run(
        [node(), script, "stdio", *env_args],
        cwd=CLIENTS_DIR,
        env=node_env(scratch / "home", TASKLINK_SANDBOX="1", TASKLINK_DATA_DIR=str(scratch / "ts-stdio")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    check_ts_output(result)


def test_typescript_sdk_over_http_with_token(scratch: Path, token_server: ServeProcess) -> None:
    script = str(CLIENTS_DIR / "ts_client.mjs")
    result = run_node(scratch, script, "http", token_server.url, TOKEN)
    seen = check_ts_output(result)
    assert seen["protocol"] == "2025-11-25"  # the TS SDK speaks the handshake era
    refused = run_node(scratch, script, "http", token_server.url)
    assert refused.returncode != 0 and "401" in refused.stderr
