"""Property-based bad input: every tool, driven through one stdio server, with generated arguments.

Wrong types, missing and extra fields, huge strings, unicode and control characters,
injection-looking text, out-of-range numbers and dates, unknown vendors. The server must answer
every call with a result (never a protocol error), never show a traceback, name the field when it
rejects an argument, and stay up for the whole run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client, StdioServerParameters

from tasklink.manifests import load_manifests

from .conftest import REPORTS, tasklink_command
from .http_support import base_env

pytestmark = pytest.mark.slow

CALLS_PER_TOOL = 160  # x 13 tools > 2,000 calls
VENDOR_TITLES = [m.title for m in load_manifests().values()]

NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "'; DROP TABLE tasks; --",
        "<script>alert(1)</script>",
        "${jndi:ldap://127.0.0.1/a}",
        "{{7*7}}",
        "../../etc/passwd",
        "\x00\x01\x1b[31mred\x7f",
        "\u202etxt.exe",
        "👩🏽‍⚖️ review ✅",
        "A" * 70_000,
        "2026-02-30",
        "9999-12-31T23:59:59Z",
        "0001-01-01",
        "2026-12-04T17:00:00",
        "null",
        "-1",
        "1e309",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
    NASTY_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
VENDORS = st.sampled_from([*load_manifests(), "jira", "SPOTDRAFT", ""])
ASSIGNEES = st.lists(
    st.one_of(
        st.sampled_from(["100", "102", "mem_sam0001", "2", "V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD", "Priya", "nobody@x.y"]),
        st.fixed_dictionaries({}, optional={"user_id": SCALARS, "role_id": SCALARS}),
        JSON_VALUES,
    ),
    max_size=3,
)


def value_for(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values for a property, often wrong ones."""
    if name == "vendor":
        plausible: st.SearchStrategy[Any] = VENDORS
    elif name == "assignees":
        plausible = ASSIGNEES
    elif name in ("due", "due_after", "due_before"):
        plausible = st.one_of(NASTY_TEXT, st.dates().map(str), st.datetimes().map(lambda d: d.isoformat() + "+05:30"))
    elif name in ("intake_id", "page", "limit", "workflow_id"):
        plausible = st.integers(min_value=-5, max_value=2**40)
    elif name in ("confirm", "dry_run", "allow_duplicate", "clear_due"):
        plausible = st.booleans()
    else:
        plausible = st.one_of(NASTY_TEXT, st.text(max_size=80))
    return st.one_of(plausible, plausible, JSON_VALUES)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    known = st.fixed_dictionaries({}, optional={k: value_for(k, v) for k, v in properties.items()})
    extra = st.dictionaries(st.text(min_size=1, max_size=12), JSON_VALUES, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


@contextmanager
def stdio_client(tmp_path: Path) -> Iterator[tuple[BlockingPortal, Client, Any]]:
    command, *args = tasklink_command()
    env = base_env(tmp_path, TASKLINK_RATE_LIMITS=json.dumps(dict.fromkeys(load_manifests(), 1000)))
    params = StdioServerParameters(command=command, args=[*args, "serve"], env=env)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(params, mode="legacy")) as client:
        yield portal, client, params


def check(tool: str, properties: set[str], arguments: dict[str, Any], result: Any, stats: dict[str, int]) -> None:
    text = " ".join(getattr(c, "text", "") for c in result.content)
    stats["calls"] += 1
    assert "Traceback" not in text and 'File "' not in text, (tool, arguments, text[:500])
    assert "internal error" not in text, (tool, arguments, text[:500])
    assert "(HTTP 500)" not in text, (tool, arguments, text[:500])  # a simulator must not crash either
    if not result.is_error:
        stats["accepted"] += 1
        return
    stats["rejected"] += 1
    assert text.strip(), (tool, arguments)
    names_a_field = any(name in text for name in properties) or "arguments" in text
    names_a_vendor_reason = any(title in text for title in VENDOR_TITLES)
    assert names_a_field or names_a_vendor_reason, (tool, arguments, text[:500])


def fuzz_tool(portal: BlockingPortal, client: Client, name: str, schema: dict[str, Any], stats: dict[str, int]) -> None:
    properties = set(schema.get("properties", {}))

    @settings(
        max_examples=CALLS_PER_TOOL,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(arguments=arguments_for(schema))
    def run(arguments: dict[str, Any]) -> None:
        result = portal.call(client.call_tool, name, arguments)  # raises on a protocol error
        check(name, properties, arguments, result, stats)

    run()


def test_fuzz_every_tool_through_one_stdio_server(tmp_path: Path) -> None:
    stats = {"calls": 0, "accepted": 0, "rejected": 0}
    with stdio_client(tmp_path) as (portal, client, _):
        tools = portal.call(client.list_tools).tools
        assert len(tools) >= 13
        for tool in tools:
            fuzz_tool(portal, client, tool.name, tool.input_schema, stats)
        still_up = portal.call(client.call_tool, "list_vendors", {})
        assert not still_up.is_error
    REPORTS.append(
        f"Fuzz: {stats['calls']} generated tool calls over one stdio server: {stats['rejected']} rejected with a "
        f"tool error naming the field or vendor, {stats['accepted']} accepted, 0 protocol errors, 0 tracebacks"
    )
    assert stats["calls"] >= 2000
