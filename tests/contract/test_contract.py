"""The contract every vendor inherits: parametrized over the loaded manifests, never over a list of names.

The vendors are the shipped manifests plus TaskTrail's (a vendor that exists only in these tests, added
through a manifest folder). What is supported, whether the vendor honours idempotency keys and what a
person id looks like come from each manifest; the arguments come from each simulator's
`contract_examples()`. Every check goes through a real MCP client against the vendor's simulator, and is
read from structured data: results, the simulator's request log, the audit log. Only a refusal's reason
and alternative are read from the error text, where they are quoted from the manifest.

Retries run in stamina's test mode, so waits (Retry-After included) are recorded but not slept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stamina
from mcp.types import CallToolResult

from tasklink.errors import UnsupportedOperation
from tasklink.manifests import OPERATIONS, VendorManifest
from tasklink.sandbox._core import Fault, LoggedRequest

from .harness import (
    Mark,
    VendorHarness,
    contract_manifests,
    examples_of,
    is_write,
    resource_of,
    text_of,
    tool_of,
    unique,
    unsupported_arguments,
    writes,
)

pytestmark = pytest.mark.anyio

MANIFESTS = contract_manifests()
#: operations whose call means nothing without example arguments
NEEDS_EXAMPLE = ("create_task", "create_intake", "update_task", "reassign_task", "update_intake",
                 "update_intake_assignees", "find_people", "find_records")  # fmt: skip
UNKNOWN_OUTCOMES = ("timeout_after", "drop_after")


def vendors() -> list[Any]:
    return [pytest.param(name, id=name) for name in MANIFESTS]


def operations(keep: Callable[[VendorManifest, str], bool]) -> list[Any]:
    """(vendor, operation) for every operation of every manifest that `keep(manifest, operation)` picks."""

    return [
        pytest.param(name, op, id=f"{name}-{op}")
        for name, manifest in MANIFESTS.items()
        for op in OPERATIONS
        if keep(manifest, op)
    ]


def supported(manifest: VendorManifest, op: str) -> bool:
    return manifest.operation(op).supported


def listed_create(manifest: VendorManifest, op: str) -> bool:
    return op.startswith("create_") and supported(manifest, op) and supported(manifest, f"list_{resource_of(op)}s")


def same_request(report: dict[str, Any], sent: LoggedRequest) -> None:
    url = urlsplit(report["url"])
    assert (report["method"], url.path) == (sent.method, sent.path)
    assert parse_qsl(url.query) == parse_qsl(sent.query)
    assert report["body"] == (json.loads(sent.body) if sent.body else None)


def key_header(h: VendorHarness) -> str | None:
    """The header that carries the key, for a vendor that itself dedupes writes by it (as the log spells it)."""

    return h.manifest.idempotency.header.lower() if h.manifest.idempotency else None


def structured(result: CallToolResult) -> dict[str, Any]:
    assert isinstance(result.structured_content, dict)
    return result.structured_content


# -- the examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", vendors())
def test_the_simulator_gives_examples_for_what_the_manifest_supports(vendor: str) -> None:
    manifest = MANIFESTS[vendor]
    examples = examples_of(manifest)
    assert set(examples) <= set(OPERATIONS), set(examples) - set(OPERATIONS)
    assert [op for op in examples if not supported(manifest, op)] == []
    missing = [op for op in NEEDS_EXAMPLE if supported(manifest, op) and not examples.get(op)]
    assert missing == []
    for op in ("create_task", "create_intake"):
        if supported(manifest, op):
            assert isinstance(examples[op].get("title"), str)


# -- supported operations ---------------------------------------------------------------------------


async def check_create(h: VendorHarness, op: str) -> None:
    resource = resource_of(op)
    args = h.create_arguments(resource, allow_duplicate=True)
    mark = await h.mark()
    created = await h.ok(op, args)
    assert len(writes(h.requests_since(mark))) == 1
    assert created["id"] and created["title"] == args["title"] and created["replayed"] is False
    if "description" in args:
        assert created["description"] == args["description"]
    if resource == "task" and "assignees" in args:
        assert created["assignees"] == args["assignees"]
    if resource == "intake" and "assignees" in args:
        assert [(a["user_id"], a.get("role", "assigned_to")) for a in args["assignees"]] == [
            (p["user_id"], p["role"]) for p in created["assignees"] + created["collaborators"]
        ]
    if h.supports(f"get_{resource}"):
        fetched = await h.ok(f"get_{resource}", {f"{resource}_id": created["id"]})
        assert (fetched["id"], fetched["title"]) == (created["id"], created["title"])
    if h.supports(f"list_{resource}s"):
        assert [r["id"] for r in await h.titled(resource, args["title"])] == [created["id"]]


async def check_get(h: VendorHarness, op: str) -> None:
    resource = resource_of(op)
    key = f"{resource}_id"
    created = await h.create(resource)
    fetched = await h.ok(op, {key: created["id"]})
    assert (fetched["id"], fetched["title"]) == (created["id"], created["title"])
    seeded = h.example(op)
    if seeded:
        assert str((await h.ok(op, seeded))["id"]) == str(seeded[key])
    mark = await h.mark()
    unknown = await h.call(op, {key: 999999 if resource == "intake" else "999999"})
    assert unknown.is_error
    assert writes(h.requests_since(mark)) == []


async def check_list(h: VendorHarness, op: str) -> None:
    resource = resource_of(op)
    args = h.example(op)
    limit = int(args.setdefault("limit", 2))
    for _ in range(limit + 1):  # enough records for a second page, whatever the seed data holds
        await h.create(resource)
    h.settle()
    first = await h.ok(op, args)
    items = f"{resource}s"
    assert len(first[items]) == limit
    if "next_cursor" in first:
        assert first["next_cursor"], "a full first page with more records behind it has a next_cursor"
        second = await h.ok(op, {**args, "cursor": first["next_cursor"]})
    else:
        assert first["has_next"] is True
        second = await h.ok(op, {**args, "page": first["page"] + 1})
    assert second[items]
    assert not {r["id"] for r in first[items]} & {r["id"] for r in second[items]}


async def check_update(h: VendorHarness, op: str) -> None:
    resource = resource_of(op)
    created = await h.create(resource)
    args = h.example(op)
    updated = await h.ok(op, {f"{resource}_id": created["id"], **args})
    assert updated["id"] == created["id"]
    reads = [updated]
    if h.supports(f"get_{resource}"):
        reads.append(await h.ok(f"get_{resource}", {f"{resource}_id": created["id"]}))
    for record in reads:
        for field in ("title", "description", "status", "priority", "assignees"):
            if field in args:
                assert record[field] == args[field], (field, record[field])


async def check_assignees(h: VendorHarness, op: str) -> None:
    created = await h.create("intake")
    args = h.example(op)
    updated = await h.ok(op, {"intake_id": created["id"], **args})
    for role, listed in (("assigned_to", "assignees"), ("collaborator", "collaborators")):
        wanted = [a["user_id"] for a in args["assignees"] if a.get("role", "assigned_to") == role]
        assert [p["user_id"] for p in updated[listed]] == wanted


async def check_delete(h: VendorHarness, op: str) -> None:
    resource = resource_of(op)
    created = await h.create(resource)
    assert (await h.delete(resource, created["id"]))["deleted"] is True
    if h.supports(f"get_{resource}"):
        assert (await h.call(f"get_{resource}", {f"{resource}_id": created["id"]})).is_error


async def check_find_people(h: VendorHarness, op: str) -> None:
    args = h.example(op)
    found = await h.ok(op, args)
    people = found["people"]
    assert people
    assert all(h.manifest.people.looks_like_id(p["id"]) for p in people), people
    query = args["query"].casefold()
    assert any(query in f"{p['name'] or ''} {p['email'] or ''}".casefold() for p in people)


async def check_find_records(h: VendorHarness, op: str) -> None:
    args = h.example(op)
    mark = await h.mark()
    found = await h.ok(op, args)
    assert found["records"] and found["use"], found
    assert {r["kind"] for r in found["records"]} == {args["kind"]}
    query = str(args.get("query") or "").casefold()
    assert any(query in r["name"].casefold() for r in found["records"]), found["records"]
    assert writes(h.requests_since(mark)) == []


CHECKS = {
    "find_records": check_find_records,
    "create": check_create,
    "get": check_get,
    "list": check_list,
    "update": check_update,
    "reassign": check_update,
    "delete": check_delete,
    "find": check_find_people,
}


@pytest.mark.parametrize(("vendor", "operation"), operations(supported))
async def test_a_supported_operation_works(harnesses: dict[str, VendorHarness], vendor: str, operation: str) -> None:
    h = harnesses[vendor]
    if operation == "update_intake_assignees":
        await check_assignees(h, operation)
    else:
        await CHECKS.get(operation, CHECKS[operation.split("_")[0]])(h, operation)


# -- unsupported operations -------------------------------------------------------------------------


@pytest.mark.parametrize(("vendor", "operation"), operations(lambda m, op: not supported(m, op)))
async def test_an_unsupported_operation_is_refused_with_the_manifests_words_and_sends_nothing(
    harnesses: dict[str, VendorHarness], vendor: str, operation: str
) -> None:
    h = harnesses[vendor]
    declared = h.manifest.operation(operation)
    capabilities = await h.client.read_resource(f"capabilities://{vendor}")
    published = json.loads(capabilities.contents[0].text)["operations"][operation]  # type: ignore[union-attr]
    assert (published["supported"], published["reason"], published.get("alternative")) == (
        False,
        declared.reason,
        declared.alternative or None,
    )
    mark = await h.mark()
    if h.takes_vendor(operation):
        result = await h.call(operation, unsupported_arguments(operation))
        assert result.is_error
        # update_task carries reassign_task: the tool's own operation is checked first
        refused = next(op for op in (tool_of(operation), operation) if not h.supports(op))
        words = h.manifest.operation(refused)
        text = text_of(result)
        assert f"does not support `{refused}`" in text
        assert words.reason in text and words.alternative in text
        expected_rows = []
        if is_write(operation):  # a dry run is refused the same way
            dry = await h.call(operation, {**unsupported_arguments(operation), "dry_run": True})
            assert dry.is_error and words.reason in text_of(dry)
            expected_rows = [(tool_of(operation), vendor, "refused:UnsupportedOperation")] * 2
        assert [(e["tool"], e["vendor"], e["outcome"]) for e in await h.audit_since(mark)] == expected_rows
    else:
        # The tool has no vendor argument (it serves the vendor that has the operation), so this vendor's
        # refusal is the one checkpoint every call passes before any I/O.
        with pytest.raises(UnsupportedOperation) as caught:
            await h.service.core.checkpoint(vendor, operation)
        assert (caught.value.reason, caught.value.alternative) == (declared.reason, declared.alternative or None)
    assert h.requests_since(mark) == []


# -- dry runs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vendor", "operation"), operations(lambda m, op: is_write(op) and supported(m, op)))
async def test_a_dry_run_shows_the_request_the_real_call_sends(
    harnesses: dict[str, VendorHarness], vendor: str, operation: str
) -> None:
    h = harnesses[vendor]
    resource = resource_of(operation)
    key = f"dry-{uuid.uuid4()}"
    if operation.startswith("create_"):
        args = h.create_arguments(resource, allow_duplicate=True, idempotency_key=key)
    else:
        created = await h.create(resource)
        args = {f"{resource}_id": created["id"], **h.example(operation), "idempotency_key": key}
    mark = await h.mark()
    report = await h.planned(operation, args)
    assert writes(h.requests_since(mark)) == [], "a dry run sends no write"
    assert report["verdict"].startswith("allowed")
    headers = {k.lower(): v for k, v in report["headers"].items()}
    assert "***" in json.dumps(headers), "credentials are shown only redacted"

    mark = await h.mark()
    if operation.startswith("delete_"):
        assert (await h.delete(resource, args[f"{resource}_id"], idempotency_key=key))["deleted"] is True
    else:
        await h.ok(operation, args)
    sent = writes(h.requests_since(mark))
    assert len(sent) == 1, [f"{r.method} {r.path}" for r in sent]
    same_request(report, sent[0])
    header = key_header(h)
    if header is not None:
        assert headers[header] == sent[0].headers[header] == key


# -- idempotency keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", vendors())
async def test_the_same_key_twice_writes_once_and_replays(harnesses: dict[str, VendorHarness], vendor: str) -> None:
    h = harnesses[vendor]
    op = h.create_operation()
    args = h.create_arguments(resource_of(op), idempotency_key=f"twice-{uuid.uuid4()}", allow_duplicate=True)
    report = await h.planned(op, args)
    mark = await h.mark()
    first = await h.ok(op, args)
    second = await h.ok(op, args)
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["id"] == first["id"]
    sent = writes(h.requests_since(mark))
    assert len(sent) == 1
    same_request(report, sent[0])


@pytest.mark.parametrize("vendor", vendors())
async def test_the_same_key_with_other_arguments_is_refused_and_sends_nothing(
    harnesses: dict[str, VendorHarness], vendor: str
) -> None:
    h = harnesses[vendor]
    op = h.create_operation()
    key = f"other-{uuid.uuid4()}"
    args = h.create_arguments(resource_of(op), idempotency_key=key, allow_duplicate=True)
    await h.ok(op, args)
    mark = await h.mark()
    result = await h.call(op, {**args, "title": unique("Something else")})
    assert result.is_error
    assert h.requests_since(mark) == []
    assert [(e["outcome"], e["idempotency_key"]) for e in await h.audit_since(mark)] == [("refused:InvalidInput", key)]


# -- duplicate check ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vendor", "operation"), operations(listed_create))
async def test_a_second_create_with_the_same_title_is_refused_and_sends_no_write(
    harnesses: dict[str, VendorHarness], vendor: str, operation: str
) -> None:
    h = harnesses[vendor]
    resource = resource_of(operation)
    args = h.create_arguments(resource)
    first = await h.ok(operation, args)
    h.settle()
    mark = await h.mark()
    again = await h.call(operation, args)
    assert again.is_error
    assert writes(h.requests_since(mark)) == []
    assert [e["outcome"] for e in await h.audit_since(mark)] == ["refused:PossibleDuplicate"]
    assert [r["id"] for r in await h.titled(resource, args["title"])] == [first["id"]]


# -- faults (the vendor-generic rows of the fault matrix) ---------------------------------------------------


@pytest.mark.parametrize("vendor", vendors())
async def test_a_429_with_retry_after_on_a_read_is_retried(harnesses: dict[str, VendorHarness], vendor: str) -> None:
    h = harnesses[vendor]
    op = h.list_operation()
    assert op is not None
    mark = await h.mark()
    h.state.inject(Fault(status=429, headers={"Retry-After": "1"}, method="GET"))
    with stamina.set_testing(True, attempts=3):
        await h.ok(op, h.example(op))
    sent = h.requests_since(mark)
    assert [r.status for r in sent] == [429, 200]
    assert (sent[0].path, sent[0].query) == (sent[1].path, sent[1].query)
    assert h.runtime.adapter is not None and h.runtime.adapter.http.waits == [1.0]
    assert h.state.faults == []


@dataclass
class FaultedWrite:
    args: dict[str, Any]
    #: before the call (after the dry run that found where the write goes)
    mark: Mark
    result: CallToolResult
    #: the create requests that reached the simulator
    sent: list[LoggedRequest]


async def faulted_write(h: VendorHarness, fault: dict[str, Any]) -> FaultedWrite:
    """A create, with an idempotency key, whose request meets `fault`."""

    op = h.listed_create_operation()
    args = h.create_arguments(resource_of(op), idempotency_key=f"fault-{uuid.uuid4()}", allow_duplicate=True)
    report = await h.planned(op, args)
    path = urlsplit(report["url"]).path
    h.state.inject(Fault(**fault, method=report["method"], path_prefix=path))
    mark = await h.mark()
    with stamina.set_testing(True, attempts=3):
        result = await h.call(op, args)
    sent = [r for r in h.requests_since(mark) if (r.method, r.path) == (report["method"], path)]
    assert h.state.faults == []
    return FaultedWrite(args, mark, result, sent)


@pytest.mark.parametrize("vendor", vendors())
async def test_a_500_on_a_write_is_reported_and_never_duplicated(
    harnesses: dict[str, VendorHarness], vendor: str
) -> None:
    h = harnesses[vendor]
    op = h.listed_create_operation()
    resource = resource_of(op)
    w = await faulted_write(h, {"status": 500})
    landed = await h.titled(resource, w.args["title"])
    header = key_header(h)
    if header is not None:  # the vendor dedupes by key, so resending the write is safe, and it is resent
        assert not w.result.is_error, text_of(w.result)
        assert len(w.sent) == 2 and w.sent[0].status == 500
        assert {r.headers.get(header) for r in w.sent} == {w.args["idempotency_key"]}
        assert [r["id"] for r in landed] == [structured(w.result)["id"]]
        assert [e["outcome"] for e in await h.audit_since(w.mark)] == ["ok"]
        return
    assert w.result.is_error
    assert [r.status for r in w.sent] == [500]
    assert landed == []
    assert [e["outcome"] for e in await h.audit_since(w.mark)] == ["refused:VendorUnavailable"]
    again = await h.ok(op, w.args)  # nothing landed, so the key was freed for the retry
    assert again["replayed"] is False
    assert [r["id"] for r in await h.titled(resource, w.args["title"])] == [again["id"]]


@pytest.mark.parametrize("kind", UNKNOWN_OUTCOMES)
@pytest.mark.parametrize("vendor", vendors())
async def test_a_write_whose_answer_is_lost_is_an_unknown_outcome_never_resent_blindly(
    harnesses: dict[str, VendorHarness], vendor: str, kind: str
) -> None:
    h = harnesses[vendor]
    op = h.listed_create_operation()
    resource = resource_of(op)
    w = await faulted_write(h, {"kind": kind})
    header = key_header(h)
    if header is not None:  # resent with the same key; the vendor answers with the first write's record
        assert not w.result.is_error, text_of(w.result)
        assert len(w.sent) == 2 and {r.headers.get(header) for r in w.sent} == {w.args["idempotency_key"]}
        assert [r["id"] for r in await h.titled(resource, w.args["title"])] == [structured(w.result)["id"]]
        assert [e["outcome"] for e in await h.audit_since(w.mark)] == ["ok"]
        return
    assert w.result.is_error
    assert len(w.sent) == 1
    assert [e["outcome"] for e in await h.audit_since(w.mark)] == ["unknown"]
    mark = await h.mark()
    again = await h.call(op, w.args)  # the same key: looked up at the vendor, never resent
    assert [r.method for r in h.requests_since(mark) if r.method != "GET"] == []
    landed = await h.titled(resource, w.args["title"])
    assert len(landed) == 1  # the write landed; only its answer was lost
    if again.is_error:  # the vendor's list cannot find it (yet): still an unknown outcome
        assert [e["outcome"] for e in await h.audit_since(mark)] == ["unknown"]
    else:  # found: from now on the key's result
        assert structured(again)["id"] == landed[0]["id"] and structured(again)["replayed"] is True
        assert [e["outcome"] for e in await h.audit_since(mark)] == ["recovered"]


# -- audit ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", vendors())
async def test_the_audit_records_the_write_the_replay_the_dry_run_and_a_refusal(
    harnesses: dict[str, VendorHarness], vendor: str
) -> None:
    h = harnesses[vendor]
    op = h.create_operation()
    tool = tool_of(op)
    key = f"audit-{uuid.uuid4()}"
    args = h.create_arguments(resource_of(op), idempotency_key=key, allow_duplicate=True)
    mark = await h.mark()
    created = await h.ok(op, args)
    assert (await h.ok(op, args))["replayed"] is True
    await h.planned(op, {k: v for k, v in args.items() if k != "idempotency_key"})
    assert (await h.call(op, {**args, "title": unique("Not the same")})).is_error
    rows = await h.audit_since(mark)
    assert [(e["tool"], e["vendor"], e["outcome"], e["idempotency_key"], e["target"]) for e in rows] == [
        (tool, vendor, "ok", key, str(created["id"])),
        (tool, vendor, "replay", key, str(created["id"])),
        (tool, vendor, "dry_run", None, None),
        (tool, vendor, "refused:InvalidInput", key, None),
    ]
    assert all(e["args_digest"] for e in rows)
    assert args["title"] not in json.dumps(rows), "free text stays out of the audit unless TASKLINK_AUDIT_FULL=1"
