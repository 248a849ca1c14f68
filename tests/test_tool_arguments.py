"""Tool arguments as a model fills them: aliases, forgiving reading, and one refusal for every problem.

The reading rules are checked on each tool's real input schema (`ArgumentReader`), and end to end through
real MCP clients in both protocol eras: what was changed is reported, what cannot be used is refused in
tasklink's words, with every problem of the call at once and nothing sent to the vendor.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from tasklink.mcp import sdk
from tasklink.mcp.argument_text import SchemaView, refusal, shown
from tasklink.mcp.arguments import (
    ALIASES,
    SYNONYMS,
    ArgumentReader,
    Reading,
    VendorFacts,
    fold,
    model_problems,
    snake,
)
from tasklink.mcp.tools import ALL_TOOLS

from .conftest import sandbox_of, service_of
from .support import JANE, text_of

pytestmark = pytest.mark.anyio

#: what a refusal must never contain: the SDK's and pydantic's own words
RAW = ("pydantic", "errors.pydantic.dev", "Arguments", "Input should be", "Field required", "Traceback", "[type=")
ENDING = "Nothing was sent to the vendor."


def reader_of(server: MCPServer, tool: str) -> tuple[ArgumentReader, Any]:
    found = sdk.find_tool(server, tool)
    assert found is not None
    return ArgumentReader(tool, found.parameters, lambda a: sdk.pre_parsed_arguments(found, a)), found


def read(server: MCPServer, tool: str, arguments: dict[str, Any]) -> Reading:
    reader, _ = reader_of(server, tool)
    return reader.read(arguments, VendorFacts.of(service_of(server)))


def applied(server: MCPServer, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    reader, found = reader_of(server, tool)
    reading = reader.read(arguments, VendorFacts.of(service_of(server)))
    problems = reading.problems + model_problems(reader, found, reading)
    assert not problems, [p.render() for p in problems]
    return reading.arguments, reading.notes


def refused(server: MCPServer, tool: str, arguments: dict[str, Any]) -> str:
    """The refusal the middleware gives: the reading's problems, then the argument model's own."""

    reader, found = reader_of(server, tool)
    reading = reader.read(arguments, VendorFacts.of(service_of(server)))
    problems = reading.problems + model_problems(reader, found, reading)
    assert problems, reading.arguments
    return refusal(tool, problems)


def house_style(text: str, *fields: str) -> None:
    assert text.rstrip().endswith(ENDING), text
    assert "Allowed:" in text, text
    for word in RAW:
        assert word not in text, (word, text)
    for name in fields:
        assert f"`{name}`" in text, (name, text)


async def refused_call(client: Client, tool: str, arguments: dict[str, Any], *fields: str) -> str:
    result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error, text
    house_style(text, *fields)
    return text


async def writes(server: MCPServer, vendor: str) -> int:
    state = await sandbox_of(server, vendor)
    return len([r for r in state.requests if r.method != "GET" and not r.path.startswith("/_")])


# -- names: aliases, camelCase, conflicts --------------------------------------------------

#: the smallest valid arguments of each tool used here
BASE: dict[str, dict[str, Any]] = {
    "create_task": {"vendor": "trackops", "title": "T"},
    "update_task": {"vendor": "workiva", "task_id": "x"},
    "get_task": {"vendor": "trackops", "task_id": "1001"},
    "delete_task": {"vendor": "workiva", "task_id": "x"},
    "list_tasks": {"vendor": "trackops"},
    "find_people": {"vendor": "workiva", "query": "Pri"},
    "create_intake": {"title": "T"},
    "update_intake": {"intake_id": 81},
    "get_intake": {"intake_id": 81},
    "list_intakes": {},
    "update_intake_assignees": {"intake_id": 81, "assignees": [{"user_id": "102"}]},
}
VALUES: dict[str, Any] = {
    "due": "2031-02-01",
    "description": "Details",
    "title": "Quarterly review",
    "assignees": ["102"],
    "assignee": "2",
    "task_id": "1001",
    "intake_id": 81,
    "text": "court",
    "query": "Priya",
    "limit": 5,
    "dry_run": True,
    "idempotency_key": "k-1",
}


@pytest.mark.parametrize(
    ("tool", "given", "canonical"),
    [
        ("create_task", "due_date", "due"),
        ("create_task", "deadline", "due"),
        ("update_intake", "due_on", "due"),
        ("create_task", "notes", "description"),
        ("create_task", "body", "description"),
        ("update_task", "details", "description"),
        ("create_intake", "note", "description"),
        ("create_task", "name", "title"),
        ("update_intake", "name", "title"),
        ("create_task", "assigned_to", "assignees"),
        ("update_task", "assignee", "assignees"),
        ("create_task", "owner", "assignees"),
        ("list_tasks", "assigned_to", "assignee"),
        ("list_tasks", "assignees", "assignee"),
        ("get_task", "id", "task_id"),
        ("delete_task", "id", "task_id"),
        ("get_intake", "id", "intake_id"),
        ("update_intake_assignees", "id", "intake_id"),
        ("list_tasks", "query", "text"),
        ("list_tasks", "search", "text"),
        ("list_tasks", "title", "text"),
        ("list_intakes", "text", "query"),
        ("find_people", "q", "query"),
        ("list_tasks", "page_size", "limit"),
        ("list_intakes", "per_page", "limit"),
        ("create_task", "dueDate", "due"),
        ("get_task", "taskId", "task_id"),
        ("create_task", "dryRun", "dry_run"),
        ("create_task", "IdempotencyKey", "idempotency_key"),
    ],
)
def test_an_alias_is_applied_and_reported(server: MCPServer, tool: str, given: str, canonical: str) -> None:
    value = VALUES[canonical]
    base = {k: v for k, v in BASE[tool].items() if k != canonical}
    arguments, notes = applied(server, tool, {**base, given: value})
    assert arguments[canonical] in (value, [value])
    assert given not in arguments
    assert f"read `{given}` as `{canonical}`" in notes


def test_the_alias_table_names_only_real_arguments() -> None:
    names = {name for spec in ALL_TOOLS for name in inspect.signature(spec.fn).parameters}
    nested = {"user_id", "role", "role_id"}
    assert set(ALIASES) <= names | nested
    for canonical, aliases in ALIASES.items():
        assert canonical not in aliases
        assert all(alias == snake(alias) for alias in aliases)


@pytest.mark.parametrize(
    ("tool", "arguments", "fields"),
    [
        ("create_task", {"vendor": "trackops", "title": "T", "due": "2031-01-01", "due_date": "2031-02-02"}, ["due"]),
        ("create_task", {"vendor": "trackops", "title": "T", "notes": "a", "body": "b"}, ["description"]),
        ("get_task", {"vendor": "trackops", "id": "1001", "task_id": "1002"}, ["task_id"]),
        ("create_task", {"vendor": "trackops", "name": "A", "title": "B"}, ["title"]),
        (
            "update_intake_assignees",
            {"intake_id": 1, "assignees": [{"id": "100", "user_id": "101"}]},
            ["assignees[0].user_id"],
        ),
    ],
)
def test_an_alias_beside_its_canonical_name_is_a_conflict(
    server: MCPServer, tool: str, arguments: dict[str, Any], fields: list[str]
) -> None:
    text = refused(server, tool, arguments)
    house_style(text, *fields)
    assert "given more than once" in text


def test_id_names_only_the_tools_own_target(server: MCPServer) -> None:
    text = refused(server, "create_task", {"vendor": "trackops", "title": "T", "id": "5"})
    house_style(text, "id")
    assert "not an argument of create_task" in text


# -- names: refused with the closest name, or with what to do instead ----------------------


@pytest.mark.parametrize(
    ("tool", "given", "suggested"),
    [
        ("create_task", "titel", "title"),
        ("create_task", "descripton", "description"),
        ("update_task", "vendor_field", "vendor_fields"),
        ("list_tasks", "due_after_date", "due_after"),
        ("list_intakes", "prio", "priority"),
        ("update_intake", "clear_due_date", "clear_due"),
    ],
)
def test_an_unknown_name_is_refused_with_the_closest_one(
    server: MCPServer, tool: str, given: str, suggested: str
) -> None:
    text = refused(server, tool, {**BASE[tool], given: "x"})
    house_style(text, given, suggested)
    assert f"not an argument of {tool}" in text and "Did you mean" in text


def test_an_unknown_name_without_a_close_one_lists_the_arguments(server: MCPServer) -> None:
    text = refused(server, "get_task", {"vendor": "trackops", "task_id": "1001", "colour": "red"})
    house_style(text, "colour")
    assert "Allowed: vendor, task_id." in text and "Leave it out." in text


@pytest.mark.parametrize(
    ("tool", "arguments", "advice"),
    [
        ("create_intake", {"title": "T", "vendor": "trackops"}, "use create_task, list_tasks or get_task"),
        ("update_intake", {"intake_id": 1, "assignees": ["100"]}, "update_intake_assignees"),
        ("update_intake", {"intake_id": 1, "assigned_to": "100"}, "update_intake_assignees"),
        ("create_intake", {"title": "T", "status": "PENDING"}, "set its status with update_intake"),
        ("create_intake", {"title": "T", "collaborators": ["101"]}, '"role": "collaborator"'),
        ("update_intake_assignees", {"intake_id": 1, "assignees": ["100"], "role": "collaborator"}, "inside"),
        ("list_tasks", {"vendor": "trackops", "page": 2}, "next_cursor"),
        ("list_intakes", {"cursor": "abc"}, "pages with `page`"),
        ("list_tasks", {"vendor": "trackops", "intake_id": 81}, "get_intake"),
        ("get_intake", {"intake_id": 81, "task_id": "5"}, "get_task"),
        ("create_task", {"vendor": "trackops", "title": "T", "metadata": {"a": 1}}, "`vendor_fields`"),
        ("create_intake", {"title": "T", "vendor_fields": {"a": 1}}, "`metadata`"),
        ("list_tasks", {"vendor": "trackops", "due": "2031-01-01"}, "`due_after` and `due_before`"),
        ("list_tasks", {"vendor": "trackops", "due_date": "2031-01-01"}, "`due_after` and `due_before`"),
        ("update_task", {"vendor": "workiva", "task_id": "x", "mode": "add"}, "full new list"),
    ],
)
def test_another_tools_concept_is_refused_with_what_to_do(
    server: MCPServer, tool: str, arguments: dict[str, Any], advice: str
) -> None:
    text = refused(server, tool, arguments)
    house_style(text)
    assert advice in text, text


def test_the_intake_vendor_on_an_intake_tool_is_dropped_and_reported(server: MCPServer) -> None:
    arguments, notes = applied(server, "create_intake", {"title": "T", "vendor": "SpotDraft"})
    assert arguments == {"title": "T"}
    assert notes == ['dropped `vendor` "SpotDraft": create_intake always works in SpotDraft']


def test_unknown_fields_inside_objects_are_refused_the_same_way(server: MCPServer) -> None:
    text = refused(
        server, "create_intake", {"title": "T", "assignees": [{"user_id": "100", "rol": "collaborator", "x": 1}]}
    )
    house_style(text, "assignees[0].rol", "assignees[0].role", "assignees[0].x")
    assert "not a field of `assignees[0]`" in text and "2 problems" in text


@pytest.mark.parametrize(
    ("tool", "item", "expected"),
    [
        ("create_intake", {"id": "100"}, {"user_id": "100"}),
        ("create_intake", {"user": "100", "role": "Collaborator"}, {"user_id": "100", "role": "collaborator"}),
        ("update_intake_assignees", {"email": "sonia@acme-legal.example"}, {"user_id": "sonia@acme-legal.example"}),
        (
            "update_intake_assignees",
            {"name": "Elena Kagan", "role": "watcher"},
            {"user_id": "Elena Kagan", "role": "collaborator"},
        ),
        ("update_intake_assignees", {"userId": 101}, {"user_id": "101"}),
        ("create_task", {"id": 2}, {"user_id": "2"}),
        ("update_task", {"user": JANE}, {"user_id": JANE}),
    ],
)
def test_nested_aliases_and_coercions(
    server: MCPServer, tool: str, item: dict[str, Any], expected: dict[str, Any]
) -> None:
    arguments, notes = applied(server, tool, {**BASE[tool], "assignees": [item]})
    assert arguments["assignees"] == [expected]
    assert notes and all(n.startswith("read `assignees[0]") for n in notes)


# -- values: forgiving where it is unambiguous ----------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "name", "expected", "note"),
    [
        ("get_task", {"vendor": "trackops", "task_id": 1001}, "task_id", "1001", 'read `task_id` 1001 as "1001"'),
        ("list_tasks", {"vendor": "trackops", "assignee": 2}, "assignee", "2", 'read `assignee` 2 as "2"'),
        ("create_task", {"vendor": "trackops", "title": "T", "assignees": [2, 3]}, "assignees", ["2", "3"],
         'read `assignees[1]` 3 as "3"'),
        ("get_intake", {"intake_id": "81"}, "intake_id", 81, 'read `intake_id` "81" as 81'),
        ("list_intakes", {"page": "2", "limit": "50"}, "limit", 50, 'read `limit` "50" as 50'),
        ("create_task", {"vendor": "workiva", "title": "T", "assignees": "Jane Smith"}, "assignees", ["Jane Smith"],
         'read `assignees` "Jane Smith" as ["Jane Smith"]'),
        ("create_task", {"vendor": "workiva", "title": "T", "assignees": {"user_id": JANE}}, "assignees",
         [{"user_id": JANE}], f'read `assignees` {{"user_id": "{JANE}"}} as [{{"user_id": "{JANE}"}}]'),
        ("create_intake", {"title": "T", "assignees": "102"}, "assignees", [{"user_id": "102"}],
         'read `assignees` "102" as [{"user_id": "102"}]'),
        ("create_intake", {"title": "T", "assignees": [102]}, "assignees", [{"user_id": "102"}],
         'read `assignees[0]` 102 as {"user_id": "102"}'),
        ("list_tasks", {"vendor": "trackops", "status": ["todo"]}, "status", "todo",
         'read `status` ["todo"] as "todo"'),
        ("get_intake", {"intake_id": " 81 "}, "intake_id", 81, 'read `intake_id` " 81 " as 81'),
        ("get_intake", {"intake_id": 81.0}, "intake_id", 81, "read `intake_id` 81.0 as 81"),
        ("create_intake", {"title": "T", "dry_run": "true"}, "dry_run", True, 'read `dry_run` "true" as true'),
        ("create_intake", {"title": "T", "dry_run": "No"}, "dry_run", False, 'read `dry_run` "No" as false'),
        ("delete_intake", {"intake_id": 1, "confirm": 1}, "confirm", True, "read `confirm` 1 as true"),
        # a list sent as a JSON string is the SDK's own reading, as before
        ("create_task", {"vendor": "trackops", "title": "T", "assignees": '["2", "3"]'}, "assignees", ["2", "3"], None),
    ],
)  # fmt: skip
def test_shape_and_type_slips_are_forgiven(
    server: MCPServer, tool: str, arguments: dict[str, Any], name: str, expected: Any, note: str | None
) -> None:
    result, notes = applied(server, tool, arguments)
    assert result[name] == expected
    assert notes == ([note] if note else []) or note in notes


@pytest.mark.parametrize(
    ("tool", "arguments", "name", "expected"),
    [
        ("update_intake", {"intake_id": 1, "priority": "High"}, "priority", "HIGH"),
        ("update_intake", {"intake_id": 1, "priority": "urgent"}, "priority", "HIGH"),
        ("create_intake", {"title": "T", "priority": "critical"}, "priority", "HIGH"),
        ("update_intake", {"intake_id": 1, "priority": "normal"}, "priority", "MEDIUM"),
        ("update_intake", {"intake_id": 1, "status": "In Progress"}, "status", "IN_PROGRESS"),
        ("update_intake", {"intake_id": 1, "status": "in_progress"}, "status", "IN_PROGRESS"),
        ("update_intake", {"intake_id": 1, "status": "In-Progress"}, "status", "IN_PROGRESS"),
        ("update_intake", {"intake_id": 1, "status": "completed"}, "status", "COMPLETED"),
        ("update_intake", {"intake_id": 1, "status": "done"}, "status", "COMPLETED"),
        ("update_intake", {"intake_id": 1, "status": "canceled"}, "status", "DISCARDED"),
        ("update_intake", {"intake_id": 1, "status": "on hold"}, "status", "BLOCKED"),
        ("list_intakes", {"status": "open"}, "status", ["DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED"]),
        (
            "list_intakes",
            {"status": ["open", "completed"]},
            "status",
            ["DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED", "COMPLETED"],
        ),
        ("list_intakes", {"priority": ["high", "Low"]}, "priority", ["HIGH", "LOW"]),
        ("list_intakes", {"sort": "Created At"}, "sort", "created_at"),
        ("list_intakes", {"sort": "newest"}, "sort", "-created_at"),
        ("update_intake_assignees", {"intake_id": 1, "assignees": ["100"], "mode": "Add"}, "mode", "add"),
        ("create_task", {"vendor": "SpotDraft", "title": "T"}, "vendor", "spotdraft"),
        ("list_tasks", {"vendor": "Trackops"}, "vendor", "trackops"),
        ("list_tasks", {"vendor": "trackops", "status": "In Progress"}, "status", "in_progress"),
        ("list_tasks", {"vendor": "trackops", "status": "IN-PROGRESS"}, "status", "in_progress"),
        ("update_task", {"vendor": "workiva", "task_id": "x", "status": "Done"}, "status", "done"),
        ("update_task", {"vendor": "workiva", "task_id": "x", "status": "finished"}, "status", "done"),
        ("update_task", {"vendor": "lightfield", "task_id": "x", "status": "canceled"}, "status", "cancelled"),
        ("create_task", {"vendor": "spotdraft", "title": "T", "intake_id": 1, "priority": "high"}, "priority", "HIGH"),
    ],
)
def test_enum_values_in_any_case_and_synonyms(
    server: MCPServer, tool: str, arguments: dict[str, Any], name: str, expected: Any
) -> None:
    result, notes = applied(server, tool, arguments)
    assert result[name] == expected
    assert any(f"`{name}" in n for n in notes)


@pytest.mark.parametrize(
    ("vendor", "status"),
    [("workiva", "Completed"), ("workiva", "Started"), ("trackops", "none"), ("trackops", "needs_action"),
     ("lightfield", "COMPLETE"), ("trackops", "todo"), ("workiva", "Awaiting Approval")],
)  # fmt: skip
def test_task_status_is_free_text_the_vendors_own_values_pass(server: MCPServer, vendor: str, status: str) -> None:
    result, notes = applied(server, "list_tasks", {"vendor": vendor, "status": status})
    assert result["status"] == status and notes == []


@pytest.mark.parametrize(
    ("tool", "arguments", "field", "words"),
    [
        ("list_tasks", {"vendor": "trackops", "status": "open"}, "status", "todo, in_progress or blocked"),
        ("update_intake", {"intake_id": 1, "status": "open"}, "status", "DRAFT, PENDING, IN_PROGRESS or BLOCKED"),
        ("list_intakes", {"sort": "priority desc"}, "sort", "not an allowed value"),
        ("update_intake", {"intake_id": 1, "priority": "highest"}, "priority", 'Did you mean "HIGH"?'),
        ("list_tasks", {"vendor": "trackops", "status": ["todo", "done"]}, "status", "takes one value"),
        ("list_tasks", {"vendor": "trackops", "assignee": ["2", "3"]}, "assignee", "once for each value"),
        ("get_intake", {"intake_id": "８１"}, "intake_id", "not a whole number"),
        ("get_intake", {"intake_id": "81a"}, "intake_id", "not a whole number"),
        ("get_intake", {"intake_id": "+81"}, "intake_id", "digits only"),
        ("list_intakes", {"page": "1_000"}, "page", "not a whole number"),
        ("create_intake", {"title": "T", "dry_run": "maybe"}, "dry_run", "not true or false"),
        ("create_intake", {"title": "T", "allow_duplicate": 2}, "allow_duplicate", "not true or false"),
        ("get_intake", {"intake_id": True}, "intake_id", "true/false is not a number"),
        ("get_intake", {"intake_id": 1.5}, "intake_id", "not a whole number"),
        ("create_task", {"vendor": "jira", "title": "T"}, "vendor", "lightfield, spotdraft, trackops, workiva"),
        ("create_task", {"vendor": "trackops", "title": 42}, "title", "not accepted as a number"),
        ("get_task", {"vendor": "trackops", "task_id": 10.5}, "task_id", "not accepted as a number"),
        (
            "create_task",
            {"vendor": "workiva", "title": "T", "vendor_fields": {"a": "x" * 20_000}},
            "vendor_fields",
            "too large: it is 20,008 bytes as JSON; the most tasklink sends is 16,384 bytes",
        ),
        ("update_intake", {"intake_id": 1, "metadata": {"a": "x" * 20_000}}, "metadata", "too large"),
    ],
)
def test_what_is_still_ambiguous_or_wrong_is_refused(
    server: MCPServer, tool: str, arguments: dict[str, Any], field: str, words: str
) -> None:
    text = refused(server, tool, arguments)
    house_style(text, field)
    assert words in text, text


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        ("list_tasks", {"vendor": "trackops", "limit": 500}, ["maximum of 100", "`cursor`"]),
        ("list_intakes", {"limit": 500}, ["maximum of 100", "`page`"]),
        ("find_people", {"vendor": "workiva", "query": "J", "limit": 51}, ["maximum of 50", "at most 50"]),
        ("list_tasks", {"vendor": "trackops", "limit": 0}, ["minimum of 1"]),
        ("list_tasks", {"vendor": "trackops", "limit": "500"}, ["maximum of 100"]),
    ],
)
def test_a_limit_out_of_range_is_refused_never_clamped(
    server: MCPServer, tool: str, arguments: dict[str, Any], words: list[str]
) -> None:
    text = refused(server, tool, arguments)
    house_style(text, "limit")
    for word in words:
        assert word in text, text


def test_fold_and_snake() -> None:
    assert fold("In-Progress") == fold("in progress") == fold("IN_PROGRESS") == "inprogress"
    assert fold("-created_at") != fold("created_at")
    assert snake("dueDate") == "due_date" and snake("Task ID") == "task_id" and snake("due-date") == "due_date"
    assert all(fold(word) == fold(fold(word)) for word in SYNONYMS)


def test_shown_values_are_bounded() -> None:
    assert shown("x" * 500).endswith("(502 characters)")
    assert shown(1001) == "1001" and shown("1001") == '"1001"'


def test_allowed_values_come_from_the_schema(server: MCPServer) -> None:
    found = sdk.find_tool(server, "list_intakes")
    assert found is not None
    view = SchemaView(found.parameters)
    props = view.properties(view.root)
    assert view.allowed(props["limit"]) == "a whole number from 1 to 100 (Intakes per page)"
    assert view.allowed(props["priority"]).startswith("a list of one of LOW, MEDIUM, HIGH")


# -- end to end, both eras --------------------------------------------------------------------


async def test_several_problems_are_listed_at_once(client: Client, server: MCPServer) -> None:
    before = await writes(server, "trackops")
    text = await refused_call(
        client,
        "create_task",
        {
            "vendor": "trackops",
            "title": "",
            "due_date": "2031-01-01",
            "due": "2031-01-02",
            "colour": "red",
            "assignees": [{"user_id": "2", "team": "x"}],
            "status": ["todo", "done"],
        },
        "title",
        "due",
        "colour",
        "assignees[0].team",
        "status",
    )
    assert text.startswith("create_task was not called: 5 problems with its arguments.")
    assert text.count("\n- ") == 5
    assert await writes(server, "trackops") == before


async def test_every_tool_refuses_an_unknown_argument_in_house_style(client: Client) -> None:
    tools = (await client.list_tools()).tools
    assert len(tools) >= 13
    for tool in tools:
        await refused_call(client, tool.name, {"unknown_argument": 1}, "unknown_argument")


@pytest.mark.parametrize(
    ("tool", "arguments", "fields"),
    [
        ("list_tasks", {"vendor": "trackops", "limit": 500}, ["limit"]),
        ("get_intake", {}, ["intake_id"]),
        ("create_task", {"vendor": "trackops", "title": "T", "intake_id": "abc"}, ["intake_id"]),
        ("update_intake", {"intake_id": 0, "priority": "urgent!", "status": "In Progress"}, ["intake_id", "priority"]),
        ("create_task", {"vendor": "workiva", "title": "x" * 600, "assignees": [True]}, ["title", "assignees[0]"]),
        (
            "update_intake_assignees",
            {"intake_id": 1, "assignees": [{"role": "collaborator"}]},
            ["assignees[0].user_id"],
        ),
        ("find_people", {"vendor": "workiva"}, ["query"]),
        ("list_intakes", {"page": -1, "status": ["PENDING", "nope"]}, ["page", "status[1]"]),
    ],
)
async def test_validation_failures_are_in_house_style(
    client: Client, tool: str, arguments: dict[str, Any], fields: list[str]
) -> None:
    text = await refused_call(client, tool, arguments, *fields)
    assert text.count("\n- ") == len(fields), text


async def test_coercions_are_reported_in_warnings_and_the_text(client: Client) -> None:
    result = await client.call_tool("get_task", {"vendor": "Trackops", "id": 1001})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    warnings = result.structured_content["warnings"]
    assert warnings == [
        "read `id` as `task_id`",
        'read `vendor` "Trackops" as "trackops"',
        'read `task_id` 1001 as "1001"',
    ]
    assert result.structured_content["id"] == "1001"
    assert "read `id` as `task_id`" in text_of(result)


async def test_a_result_without_warnings_gets_a_note(client: Client) -> None:
    result = await client.call_tool("list_intakes", {"status": "open", "per_page": "5"})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None and "warnings" not in result.structured_content
    note = result.content[-1].text  # type: ignore[union-attr]
    assert note.startswith("Note on the arguments: ")
    assert "read `per_page` as `limit`" in note and 'read `limit` "5" as 5' in note
    assert '"open" as ["DRAFT", "PENDING", "IN_PROGRESS", "BLOCKED"]' in note


async def test_an_error_after_a_coercion_still_reports_it(client: Client) -> None:
    result = await client.call_tool("get_task", {"vendor": "trackops", "task_id": 999999})
    assert result.is_error
    assert 'read `task_id` 999999 as "999999"' in text_of(result)


async def test_a_coerced_write_lands_as_read(client: Client) -> None:
    created = await client.call_tool(
        "create_task",
        {
            "vendor": "Workiva",
            "name": "Tie out the Q3 cash flow",
            "due_date": "2031-02-03",
            "notes": "Compare with the ledger.",
            "assigned_to": "V1ZVd2VyFzU3NiQ1NDA4NjIzNzk2MjD",
        },
    )
    assert not created.is_error, text_of(created)
    assert created.structured_content is not None
    task_id = created.structured_content["id"]
    assert len(created.structured_content["warnings"]) >= 4
    task = (await client.call_tool("get_task", {"vendor": "workiva", "task_id": task_id})).structured_content
    assert task is not None
    assert task["title"] == "Tie out the Q3 cash flow"
    assert task["due"].startswith("2031-02-03")
    assert task["description"] == "Compare with the ledger."
    assert task["assignees"] == [JANE]


async def test_a_misnamed_filter_is_applied_not_dropped(client: Client) -> None:
    result = await client.call_tool("list_tasks", {"vendor": "trackops", "assigned_to": 3, "status": "To Do"})
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    tasks = result.structured_content["tasks"]
    assert [t["id"] for t in tasks] == ["1006"]
    assert all("3" in t["assignees"] and t["status"] == "todo" for t in tasks)


async def test_an_intake_update_with_the_read_name_of_a_field(client: Client) -> None:
    created = await client.call_tool("create_intake", {"title": "Vendor DPA review", "priority": "Low"})
    assert not created.is_error, text_of(created)
    assert created.structured_content is not None
    intake_id = created.structured_content["id"]
    updated = await client.call_tool(
        "update_intake", {"intake_id": str(intake_id), "due_date": "2031-06-30", "status": "in progress"}
    )
    assert not updated.is_error, text_of(updated)
    fetched = (await client.call_tool("get_intake", {"intake_id": intake_id})).structured_content
    assert fetched is not None
    assert fetched["due_date"] is not None and fetched["due_date"].startswith("2031-06-30")
    assert fetched["status"] == "IN_PROGRESS" and fetched["priority"] == "LOW"


def test_open_on_a_single_task_status_is_ambiguous(server: MCPServer) -> None:
    text = refused(server, "update_task", {"vendor": "workiva", "task_id": "x", "status": "open"})
    house_style(text, "status")
    assert "could mean todo, in_progress or blocked" in text and "Pick one status." in text


async def test_a_fault_while_reading_passes_the_call_on_as_given(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Reading:
        raise RuntimeError("reader fault")

    monkeypatch.setattr(ArgumentReader, "read", broken)
    result = await client.call_tool("get_task", {"vendor": "trackops", "task_id": "1001"})
    assert not result.is_error, text_of(result)


def test_a_vendor_argument_without_an_enum_matches_the_configured_names() -> None:
    reader = ArgumentReader("t", {"type": "object", "properties": {"vendor": {"type": "string"}}})
    facts = VendorFacts(titles={"workiva": "Workiva", "spotdraft": "SpotDraft"})
    assert reader.read({"vendor": "Spot Draft"}, facts).arguments == {"vendor": "spotdraft"}
    assert reader.read({"vendor": "jira"}, facts).arguments == {"vendor": "jira"}  # the service refuses it
