"""The manifest format: typed tables, groups, conditions on required fields, and check_arguments."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tasklink import manifests as m
from tasklink.errors import ConfigurationError, InvalidInput, UnsupportedOperation
from tasklink.generated import TOOLS_DIR
from tasklink.manifests import (
    OPERATIONS,
    Idempotency,
    Table,
    VendorManifest,
    check_arguments,
    load_manifests,
    parse_manifest,
)
from tasklink.models import AssigneeRef, CreateTaskRequest
from tasklink.vendors._limits import LimitSettings
from tasklink.vendors.spotdraft import SpotDraftSettings

INTAKE_OPERATIONS = OPERATIONS[:6]


def manifest(vendor: str) -> VendorManifest:
    return load_manifests()[vendor]


# -- loading ----------------------------------------------------------------------------------


def test_every_manifest_materializes_all_operations() -> None:
    loaded = load_manifests()
    assert sorted(loaded) == ["lightfield", "spotdraft", "trackops", "workiva"]
    for vendor, man in loaded.items():
        assert list(man.operations) == list(OPERATIONS), vendor
        for name in OPERATIONS:
            op = man.operation(name)
            assert op.name == name
            assert op.supported or op.reason, (vendor, name)


def test_every_table_forbids_unknown_keys_and_is_frozen() -> None:
    tables: list[type[Table]] = []
    pending: list[type[Table]] = [Table]
    while pending:
        cls = pending.pop()
        tables.append(cls)
        pending.extend(cls.__subclasses__())
    assert {"VendorManifest", "Operation", "Requirement", "Limits", "RateLimits", "People", "Deprecation"} <= {
        t.__name__ for t in tables
    }
    for table in tables:
        assert table.model_config.get("extra") == "forbid", table
        assert table.model_config.get("frozen") is True, table
    assert "extra" not in VendorManifest.model_fields
    with pytest.raises(ValidationError):
        manifest("lightfield").limits.list_page_max = 50  # type: ignore[misc]


#: every intake refusal a model read before the groups, per vendor: (reason, alternative)
INTAKE_TEXTS = {
    "trackops": {
        "create_intake": (
            "Trackops has no legal intakes; intakes are a SpotDraft feature",
            'use create_task with vendor="trackops" for case work, or create_intake for a SpotDraft intake',
        ),
        "get_intake": ("Trackops has no legal intakes", 'use get_task with vendor="trackops"'),
        "list_intakes": (
            "Trackops has no legal intakes",
            'use list_tasks with vendor="trackops" (filter by case with vendor_filters.case)',
        ),
        "update_intake": ("Trackops has no legal intakes", "intakes live in SpotDraft"),
        "update_intake_assignees": ("Trackops has no legal intakes", "intakes live in SpotDraft"),
        "delete_intake": ("Trackops has no legal intakes", "intakes live in SpotDraft"),
    },
    "lightfield": {
        "create_intake": (
            "Lightfield is a CRM; it has no legal intake object",
            "create a Lightfield task with create_task(vendor='lightfield'), or use SpotDraft for intakes",
        ),
        "get_intake": ("Lightfield has no legal intake object", "read a task with get_task(vendor='lightfield')"),
        "list_intakes": ("Lightfield has no legal intake object", "list tasks with list_tasks(vendor='lightfield')"),
        "update_intake": (
            "Lightfield has no legal intake object",
            "change a task with update_task(vendor='lightfield')",
        ),
        "update_intake_assignees": (
            "Lightfield has no legal intake object",
            "reassign a task with update_task(vendor='lightfield', assignees=[member id])",
        ),
        "delete_intake": (
            "Lightfield has no legal intake object",
            "delete a task with delete_task(vendor='lightfield')",
        ),
    },
    "workiva": {
        op: ("Workiva's platform API has no legal intakes", f"use vendor 'spotdraft' for legal intakes, or {alt}")
        for op, alt in {
            "get_intake": "read a Workiva task with get_task(vendor='workiva')",
            "list_intakes": "list Workiva tasks with list_tasks(vendor='workiva')",
            "update_intake": "change a Workiva task with update_task(vendor='workiva')",
            "delete_intake": "delete a Workiva task with delete_task(vendor='workiva')",
        }.items()
    }
    | {
        "create_intake": (
            "Workiva's platform API has no legal intakes; it manages tasks",
            "use vendor 'spotdraft' for legal intakes, or create a Workiva task with create_task(vendor='workiva')",
        ),
        "update_intake_assignees": (
            "Workiva's platform API has no legal intakes",
            "reassign a Workiva task with update_task(vendor='workiva', assignees=[...])",
        ),
    },
}


@pytest.mark.parametrize("vendor", sorted(INTAKE_TEXTS))
def test_the_intakes_group_keeps_every_refusal_text(vendor: str) -> None:
    man = manifest(vendor)
    assert set(man.groups["intakes"].operations) == set(INTAKE_OPERATIONS)
    for name in INTAKE_OPERATIONS:
        op = man.operation(name)
        assert (op.supported, op.group) == (False, "intakes")
        assert (op.reason, op.alternative) == INTAKE_TEXTS[vendor][name], name
        assert not op.required and op.accepts is None


def test_typed_tables_carry_what_extra_used_to() -> None:
    lightfield, spotdraft, trackops, workiva = (manifest(v) for v in ("lightfield", "spotdraft", "trackops", "workiva"))
    assert lightfield.idempotency == Idempotency(header="Idempotency-Key", max_length=255, retention_hours=24)
    assert lightfield.idempotency_keys is True
    assert [v.idempotency_keys for v in (spotdraft, trackops, workiva)] == [False, False, False]

    assert lightfield.limits.list_page_max == 25 and workiva.limits.list_max_page_size == 1000
    assert trackops.limits.state_length == (2, 3) and spotdraft.limits.title_max_length == 255
    assert lightfield.limits.require("list_page_max") == 25
    with pytest.raises(ConfigurationError, match=r"\[limits\] table needs list_page_max"):
        trackops.limits.require("list_page_max")

    assert trackops.vendor_statuses.unmapped == ("none",)
    assert spotdraft.priorities == ("LOW", "MEDIUM", "HIGH")
    assert trackops.people.id_example == "2" and trackops.people.looks_like_id("17")
    assert not lightfield.people.looks_like_id("Priya")

    (dep,) = workiva.deprecations
    assert (dep.setting, dep.value, dep.deprecated, dep.sunset) == (
        "api_version",
        "2022-01-01",
        date(2026, 2, 12),
        date(2027, 1, 31),
    )
    fields = lightfield.operation("create_task").vendor_fields
    assert (
        fields["$account"].description == "Account id (acc_…) the task belongs to." and fields["$account"].type is None
    )
    assert set(lightfield.operation("list_tasks").vendor_filters) == {"<key>[<operator>]", "status"}

    assert (lightfield.rate_limits.per_second, lightfield.rate_limits.max_concurrency) == (25, 8)
    assert lightfield.rate_limits.categories == {"read": 25, "write": 25, "search": 25}
    assert trackops.rate_limits.categories == {} and trackops.rate_limits.breaker_threshold == 5


def test_rate_limits_feed_the_client_side_pacing_and_the_override_still_wins() -> None:
    table = manifest("lightfield").rate_limits
    paced = LimitSettings.from_manifest(table)
    assert paced.per_second == {"read": 25, "write": 25, "search": 25} and paced.default_per_second == 25
    assert (paced.max_concurrency, paced.breaker_threshold, paced.breaker_cooldown) == (8, 5, 30.0)
    overridden = LimitSettings.from_manifest(table, override=3)
    assert overridden.per_second == {"read": 3.0, "write": 3.0, "search": 3.0}
    assert overridden.default_per_second == 3.0 and overridden.max_concurrency == 8
    assert LimitSettings.from_manifest(manifest("trackops").rate_limits).default_per_second == 4


def test_required_reads_as_before_for_the_model() -> None:
    assert manifest("spotdraft").requirement_text("create_intake") == [
        "title",
        "workflow_id (or SPOTDRAFT_INTAKE_WORKFLOW_ID)",
    ]
    assert manifest("spotdraft").requirement_text("create_task") == [
        "title",
        "assignees (unless intake_id is set)",
        "due (unless intake_id or vendor_fields.due_date_key_pointer_id is set)",
    ]
    assert manifest("lightfield").requirement_text("create_task") == [
        "title",
        "assignees (exactly one member id: Lightfield's required $assignedTo)",
    ]
    assert manifest("trackops").requirement_text("create_task") == [
        "title",
        "due",
        "vendor_fields.casefile_id",
        "vendor_fields.calendar_id",
    ]


def test_accepted_and_required_names_are_arguments_of_the_tool() -> None:
    for vendor, man in load_manifests().items():
        for op in man.operations.values():
            tool = "update_task" if op.name == "reassign_task" else op.name
            properties = json.loads((TOOLS_DIR / f"{tool}.json").read_text())["inputSchema"]["properties"]
            names = [r.field for r in op.required] + [u for r in op.required for u in r.unless]
            names += [a.field for a in op.accepts or ()] + [a.only_with for a in op.accepts or () if a.only_with]
            for name in names:
                assert name.split(".")[0] in properties, (vendor, op.name, name)


# -- errors at start-up -----------------------------------------------------------------------

MINIMAL = """
[vendor]
name = "acme"
title = "Acme"
adapter = "tasklink.vendors.trackops:TrackopsAdapter"
sandbox = "tasklink.sandbox.trackops:create_app"

[groups.everything]
operations = [{ops}]
supported = false
reason = "Acme has no API"
"""


def write(tmp_path: Path, text: str, name: str = "acme") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def minimal(operations: tuple[str, ...] = OPERATIONS) -> str:
    return MINIMAL.replace("{ops}", ", ".join(f'"{op}"' for op in operations))


def test_a_simple_vendor_says_it_once(tmp_path: Path) -> None:
    man = parse_manifest(write(tmp_path, minimal()))
    assert all(not op.supported and op.reason == "Acme has no API" for op in man.operations.values())
    assert man.idempotency is None and man.limits == m.Limits() and man.people.id_pattern is None

    supported = minimal() + '\n[operations.get_task]\nsupported = true\nnotes = "Reads one."\n'
    get_task = parse_manifest(write(tmp_path, supported)).operation("get_task")
    assert (get_task.supported, get_task.reason, get_task.group, get_task.notes) == (True, "", None, "Reads one.")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("\n[limits]\npage_size = 10\n", r"acme\.toml: limits\.page_size: Extra inputs are not permitted"),
        ("\n[limits]\ntitle_max_length = -1\n", r"limits\.title_max_length: Input should be greater than 0"),
        ("\n[wishes]\nx = 1\n", r"acme\.toml: wishes: Extra inputs are not permitted"),
        ('\n[statuses]\nopen = "OPEN"\n', r"statuses: .*not normalized statuses"),
        ("\n[operations.archive_task]\nsupported = true\n", r"operations\.archive_task"),
        ("\n[people]\nid_pattern = '^\\d+$'\nid_example = \"abc\"\n", r"id_example 'abc' does not match"),
        (
            '\n[[deprecations]]\nsetting = "api_version"\nvalue = "1"\ndeprecated = 2026-02-01\n'
            'sunset = 2025-01-01\nmigration = "upgrade"\n',
            r"deprecations\.0: .*sunset must come after deprecated",
        ),
        (
            '\n[operations.create_task]\nsupported = true\nrequired = ["title", "due"]\naccepts = ["title"]\n',
            r"operation create_task names due but does not accept due",
        ),
        (
            '\n[operations.create_task]\nrequired = [{ field = "title", when = "always" }]\n',
            r"operations\.create_task\.required\.0\.when: Extra inputs are not permitted",
        ),
    ],
)
def test_a_wrong_manifest_stops_start_up_naming_file_and_key(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_manifest(write(tmp_path, minimal() + extra))


def test_an_operation_nobody_declares_is_an_error(tmp_path: Path) -> None:
    without = minimal(tuple(op for op in OPERATIONS if op != "find_people"))
    with pytest.raises(ConfigurationError) as err:
        parse_manifest(write(tmp_path, without))
    assert (
        "Manifest acme.toml: operation find_people is neither declared in [operations] nor covered by a [groups] table"
        in str(err.value)
    )

    declared = without + '\n[operations.find_people]\nalternative = "ask someone"\n'
    with pytest.raises(ConfigurationError, match=r"\[operations\.find_people\] needs supported = true or false"):
        parse_manifest(write(tmp_path, declared))
    unexplained = without + "\n[operations.find_people]\nsupported = false\n"
    with pytest.raises(ConfigurationError, match="find_people is unsupported, so it needs a reason"):
        parse_manifest(write(tmp_path, unexplained))


def test_other_start_up_errors(tmp_path: Path) -> None:
    twice = minimal() + '\n[groups.again]\noperations = ["get_task"]\nsupported = false\nreason = "no"\n'
    with pytest.raises(ConfigurationError, match="operation get_task is in more than one group"):
        parse_manifest(write(tmp_path, twice))
    old_flag = minimal().replace('title = "Acme"', 'title = "Acme"\nidempotency_keys = true')
    with pytest.raises(ConfigurationError, match=r"vendor\.idempotency_keys: Extra inputs are not permitted"):
        parse_manifest(write(tmp_path, old_flag))
    with pytest.raises(ConfigurationError, match="names vendor 'acme'; the file must be named after it"):
        parse_manifest(write(tmp_path, minimal(), name="other"))
    with pytest.raises(ConfigurationError, match="is not valid TOML"):
        parse_manifest(write(tmp_path, "[vendor\n"))


# -- check_arguments --------------------------------------------------------------------------


def refused(vendor: str, operation: str, arguments: dict[str, Any], **kw: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as err:
        check_arguments(manifest(vendor), operation, arguments, **kw)
    assert "Nothing was sent to the vendor" in str(err.value)
    return err.value


TRACKOPS_TASK = {
    "vendor": "trackops",
    "title": "Interview the witness",
    "due": "2026-05-01",
    "assignees": ["2"],
    "vendor_fields": {"casefile_id": 247, "calendar_id": 3},
    "idempotency_key": "k-1",
    "dry_run": False,
    "allow_duplicate": True,
}


def test_trackops_create_task() -> None:
    check_arguments(manifest("trackops"), "create_task", TRACKOPS_TASK)

    err = refused("trackops", "create_task", {"vendor": "trackops", "title": "Only a title"})
    assert err.field == "due"
    assert err.message == (
        "Trackops `create_task` is missing 3 required fields: `due`, `vendor_fields.casefile_id`, "
        "`vendor_fields.calendar_id`"
    )

    err = refused("trackops", "create_task", TRACKOPS_TASK | {"status": "todo", "priority": "HIGH", "intake_id": 4})
    assert err.field == "status"
    assert err.message == "Trackops `create_task` does not take `status`, `priority`, `intake_id`"
    assert err.allowed == ["title", "description", "due", "assignees", "vendor_fields"]

    both = {"title": "   ", "status": "done", "vendor_fields": {"casefile_id": 247, "calendar_id": ""}}
    err = refused("trackops", "create_task", both)
    assert err.field == "title"
    assert err.message == (
        "Trackops `create_task` is missing 3 required fields: `title`, `due`, `vendor_fields.calendar_id` "
        "and does not take `status`"
    )


def test_a_dumped_request_model_is_checked_the_same_way() -> None:
    req = CreateTaskRequest(
        vendor="trackops",
        title="From a model",
        assignees=[AssigneeRef(user_id="2")],
        vendor_fields={"casefile_id": 247, "calendar_id": 3},
    )
    err = refused("trackops", "create_task", req.model_dump())
    assert err.field == "due" and "missing a required field: `due`" in err.message


def test_lightfield_create_and_update_task() -> None:
    lightfield = {"vendor": "lightfield", "title": "Call Acme", "assignees": ["mem_priya02"], "status": "todo"}
    check_arguments(manifest("lightfield"), "create_task", lightfield)
    err = refused("lightfield", "create_task", lightfield | {"assignees": [], "priority": "HIGH"})
    assert err.field == "assignees"
    assert err.message == (
        "Lightfield `create_task` is missing a required field: `assignees` "
        "(exactly one member id: Lightfield's required $assignedTo) and does not take `priority`"
    )
    check_arguments(manifest("lightfield"), "update_task", {"vendor": "lightfield", "task_id": "t_1", "status": "done"})
    check_arguments(manifest("lightfield"), "reassign_task", {"task_id": "t_1", "assignees": ["mem_a"]})


def test_workiva_update_task_takes_no_status() -> None:
    check_arguments(manifest("workiva"), "create_task", {"vendor": "workiva", "title": "Tie out", "status": "todo"})
    check_arguments(manifest("workiva"), "update_task", {"task_id": "abc", "title": "Renamed", "status": None})
    err = refused("workiva", "update_task", {"task_id": "abc", "status": "done"})
    assert err.field == "status" and "does not take `status`" in err.message


def test_spotdraft_create_task_conditions() -> None:
    spotdraft = manifest("spotdraft")
    on_intake = {"vendor": "spotdraft", "title": "Review NDA", "intake_id": 81, "priority": "HIGH", "status": "todo"}
    check_arguments(spotdraft, "create_task", on_intake)  # neither assignees nor due: the intake supplies them
    keyed_due = {"title": "Sign", "assignees": ["102"], "vendor_fields": {"due_date_key_pointer_id": 9}}
    check_arguments(spotdraft, "create_task", keyed_due)

    err = refused("spotdraft", "create_task", {"vendor": "spotdraft", "title": "Loose task"})
    assert err.field == "assignees"
    assert err.message == (
        "SpotDraft `create_task` is missing 2 required fields: `assignees` (unless intake_id is set), "
        "`due` (unless intake_id or vendor_fields.due_date_key_pointer_id is set)"
    )

    err = refused("spotdraft", "create_task", keyed_due | {"priority": "LOW", "status": "done"})
    assert err.field == "priority"
    assert err.message == (
        "SpotDraft `create_task` does not take `priority` (only with intake_id), `status` (only with intake_id)"
    )
    assert err.allowed is not None and "priority (only with intake_id)" in err.allowed


def test_spotdraft_create_intake_workflow_from_argument_or_setting() -> None:
    spotdraft = manifest("spotdraft")
    check_arguments(spotdraft, "create_intake", {"title": "Vendor review", "workflow_id": 12})
    check_arguments(
        spotdraft, "create_intake", {"title": "Vendor review"}, settings=SpotDraftSettings(intake_workflow_id=12)
    )
    check_arguments(spotdraft, "create_intake", {"title": "Vendor review"})  # settings unknown: the adapter decides

    unset = SpotDraftSettings(intake_workflow_id=None)
    err = refused("spotdraft", "create_intake", {"title": "Vendor review"}, settings=unset)
    assert err.field == "workflow_id"
    assert err.message == (
        "SpotDraft `create_intake` is missing a required field: `workflow_id` (or SPOTDRAFT_INTAKE_WORKFLOW_ID)"
    )
    err = refused("spotdraft", "create_intake", {"title": "", "workflow_id": None}, settings=unset)
    assert err.field == "title" and "missing 2 required fields" in err.message


def test_an_unsupported_operation_is_refused_with_its_reason() -> None:
    with pytest.raises(UnsupportedOperation) as err:
        check_arguments(manifest("trackops"), "update_intake", {"intake_id": 1})
    assert "Trackops does not support `update_intake`: Trackops has no legal intakes" in str(err.value)
    assert "Instead: intakes live in SpotDraft" in str(err.value)


def test_operations_without_rules_take_anything() -> None:
    check_arguments(manifest("workiva"), "list_tasks", {"vendor": "workiva", "text": "audit", "limit": 5})
    check_arguments(manifest("spotdraft"), "update_intake", {"intake_id": 81, "title": "New", "clear_due": True})
