"""Vendor capability manifests (`tool_manifests/<vendor>.toml`), loaded as typed data.

Guardrails, `list_vendors`, the capabilities resource, the adapters' limits and the docs all read
these; nothing repeats them in code. Adding a vendor means adding one manifest here.

Every table is a pydantic model that forbids unknown keys, so a misspelt key stops start-up with
the file and the key named. `ManifestFile` is a file as written; `VendorManifest` is what the
server reads: the same data with all operations materialized (`[groups]` filled in).
`tool_manifests/README.md` documents the format and is generated from these models
(`tasklink manifests --write`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigurationError, InvalidInput, UnsupportedOperation
from .models import NORMALIZED_STATUSES

OperationName = Literal[
    "create_intake",
    "get_intake",
    "list_intakes",
    "update_intake",
    "update_intake_assignees",
    "delete_intake",
    "create_task",
    "get_task",
    "list_tasks",
    "update_task",
    "reassign_task",
    "delete_task",
    "find_people",
    "find_records",
]

#: Every operation a manifest covers, supported or not (declared in `[operations]` or by a group).
OPERATIONS: tuple[OperationName, ...] = get_args(OperationName)

#: Arguments no `accepts` list names: the vendor, the target and the write-safety arguments.
COMMON_ARGUMENTS: tuple[str, ...] = (
    "vendor",
    "task_id",
    "idempotency_key",
    "dry_run",
    "allow_duplicate",
    "confirm",
    "confirm_token",
)

#: `title`, `vendor_fields.casefile_id`: an argument, or one key inside a dict argument
FIELD_PATH = r"^[a-z][a-z0-9_]*(\.\S+)?$"
ARGUMENT = r"^[a-z][a-z0-9_]*$"
PositiveInt = Annotated[int, Field(gt=0)]


class Table(BaseModel):
    """Base of every manifest table: unknown keys are errors, and loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class VendorTable(Table):
    """`[vendor]`: who the vendor is and where its code lives."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9]*$",
        description="Vendor id: the `vendor` argument, the manifest's file name, and the prefix of the vendor's "
        "settings (`<NAME>_*`).",
    )
    title: str = Field(min_length=1, description="The vendor's name in every message.")
    adapter: str = Field(pattern=r"^[\w.]+:\w+$", description="`module:Class` of the adapter.")
    sandbox: str = Field(pattern=r"^[\w.]+:\w+$", description="`module:function` that builds the embedded simulator.")
    summary: str = Field("", description="One line for `list_vendors`: what tasklink can do there.")
    docs: str | None = Field(None, description="The vendor's API reference.")
    api_version: str | None = Field(None, description="The API version the adapter speaks, where the vendor has one.")


class VendorStatuses(Table):
    """`[vendor_statuses]`: the vendor's own task statuses that no normalized status stands for."""

    unmapped: tuple[str, ...] = Field(
        (),
        description="Values read back as `status: null` with `vendor_status` set; list_tasks accepts them as the "
        "status filter as they are.",
    )


class Priorities(Table):
    """`[priorities]`: the priorities the vendor takes."""

    values: tuple[str, ...] = Field((), description="Accepted priorities in the vendor's spelling; empty: none.")


class Limits(Table):
    """`[limits]`: the vendor's documented limits, shown to the model in `list_vendors`.

    Adapters read the ones they enforce from here (`manifest.limits.require(name)`) instead of
    repeating them. Every key is optional; a key not listed here is an error."""

    list_page_max: PositiveInt | None = Field(None, description="Most records the vendor returns per list page.")
    list_lag_seconds: PositiveInt | None = Field(
        None, description="How long a new record may be missing from the vendor's list (its search index lags)."
    )
    list_tasks_max_limit: PositiveInt | None = Field(None, description="Largest page size list_tasks may ask for.")
    list_intakes_max_limit: PositiveInt | None = Field(None, description="Largest page size list_intakes may ask for.")
    list_max_page_size: PositiveInt | None = Field(None, description="Largest page size any list may ask for.")
    assignees_max: PositiveInt | None = Field(None, description="Most assignees one task can have.")
    relationship_ids_per_write_max: PositiveInt | None = Field(
        None, description="Most related record ids one write may set."
    )
    title_max_length: PositiveInt | None = Field(None, description="Longest title, in characters.")
    state_length: tuple[PositiveInt, PositiveInt] | None = Field(
        None, description="Shortest and longest state or province code in an address, in characters."
    )
    country_length: PositiveInt | None = Field(None, description="Length of a country code in an address.")
    payload_max_bytes: PositiveInt | None = Field(None, description="Largest request body the vendor accepts.")
    request_timeout_seconds: PositiveInt | None = Field(
        None, description="The vendor's own time limit for one request."
    )
    rate_limit_per_second_per_category: PositiveInt | None = Field(
        None, description="The vendor's published request rate in each category (tasklink paces by [rate_limits])."
    )
    rate_limit_categories: tuple[str, ...] | None = Field(
        None, description="The vendor's rate-limit categories, in its own words."
    )

    def require(self, name: str) -> int:
        """A whole-number limit the code depends on; a manifest without it is a configuration error."""

        value = getattr(self, name)
        if not isinstance(value, int):
            raise ConfigurationError(f"the vendor manifest's [limits] table needs {name}")
        return value

    def require_range(self, name: str) -> tuple[int, int]:
        """A (shortest, longest) pair the code depends on, such as state_length."""

        value = getattr(self, name)
        if not isinstance(value, tuple):
            raise ConfigurationError(f"the vendor manifest's [limits] table needs {name}")
        low, high = value
        return low, high


RateCategory = Literal["read", "write", "search"]


class RateLimits(Table):
    """`[rate_limits]`: client-side pacing (a token bucket per request category), a concurrency cap and a
    circuit breaker. TASKLINK_RATE_LIMITS overrides the rates per vendor."""

    per_second: float = Field(10.0, gt=0, description="Requests per second in a category without its own rate.")
    categories: dict[RateCategory, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Requests per second per category (`read`, `write`, `search`)."
    )
    max_concurrency: int = Field(8, ge=1, description="Most requests in flight at once.")
    breaker_threshold: int = Field(5, ge=1, description="Consecutive failures that open the circuit breaker.")
    breaker_cooldown_seconds: float = Field(30.0, gt=0, description="How long an open circuit refuses calls.")


class Idempotency(Table):
    """`[idempotency]`: only for a vendor that itself deduplicates writes by a key. tasklink then sends the
    caller's key (or one it mints) with each write, so a retried write is safe; without this table the
    key stays in tasklink's own ledger."""

    header: str = Field(min_length=1, description="Request header that carries the key.")
    max_length: PositiveInt = Field(description="Longest key the vendor accepts, in characters.")
    retention_hours: PositiveInt = Field(description="How long the vendor remembers a key.")


class IdShape(Table):
    """What one kind of record id looks like. An id that goes into a URL path must match it in full, so no
    value can reach another path (`..`, `?x=1`, `#frag`); it is then percent-encoded as one segment."""

    pattern: str = Field(description="Regular expression the id matches in full (ASCII only).")
    example: str = Field(description="An id of that shape, shown in errors.")

    @model_validator(mode="after")
    def _example_fits(self) -> IdShape:
        try:
            pattern = re.compile(self.pattern, re.ASCII)
        except re.error as exc:
            raise ValueError(f"pattern is not a regular expression: {exc}") from None
        if not pattern.fullmatch(self.example):
            raise ValueError(f"example {self.example!r} does not match pattern")
        if pattern.fullmatch(".") or pattern.fullmatch(".."):
            raise ValueError("pattern must not match the dot segments . and ..")
        return self

    def matches(self, value: str) -> bool:
        return re.fullmatch(self.pattern, value, re.ASCII) is not None


class Ids(Table):
    """`[ids]`: the shape of each record id the vendor puts in a URL path."""

    task: IdShape | None = Field(None, description="Task ids (get_task, update_task, delete_task).")
    intake: IdShape | None = Field(None, description="Intake ids.")


class People(Table):
    """`[people]`: what the vendor's person ids look like. An assignee that does not match is looked up by
    name or email with find_people (or refused, with find_people's reason, where that is unsupported)."""

    id_pattern: str | None = Field(
        None, description="Regular expression a person id matches in full; absent: every value is taken as an id."
    )
    id_example: str | None = Field(None, description="An id of that shape, shown to the model.")

    @model_validator(mode="after")
    def _example_fits(self) -> People:
        if self.id_pattern is not None:
            try:
                pattern = re.compile(self.id_pattern)
            except re.error as exc:
                raise ValueError(f"id_pattern is not a regular expression: {exc}") from None
            if self.id_example is not None and not pattern.fullmatch(self.id_example):
                raise ValueError(f"id_example {self.id_example!r} does not match id_pattern")
        return self

    def looks_like_id(self, value: str) -> bool:
        return self.id_pattern is None or re.fullmatch(self.id_pattern, value.strip()) is not None


class Deprecation(Table):
    """`[[deprecations]]`: a setting value the vendor is retiring. While it is deprecated every result
    carries a warning; from the sunset day on every call is refused before any request."""

    setting: str = Field(
        pattern=ARGUMENT, description="The vendor setting that selects it (field name, e.g. api_version)."
    )
    value: str = Field(description="The retiring value.")
    subject: str = Field("", description="What is being retired, in words; empty: `<setting>=<value>`.")
    deprecated: date = Field(description="The day it was deprecated.")
    sunset: date = Field(description="The day from which tasklink refuses it.")
    migration: str = Field(min_length=1, description="What to do instead, as an instruction.")

    @model_validator(mode="before")
    @classmethod
    def _default_subject(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("subject"):
            return {**data, "subject": f"{data.get('setting')}={data.get('value')}"}
        return data

    @model_validator(mode="after")
    def _in_order(self) -> Deprecation:
        if self.sunset <= self.deprecated:
            raise ValueError("sunset must come after deprecated")
        return self


class VendorField(Table):
    """One vendor-only field (`vendor_fields`) or filter (`vendor_filters`): a description, or an inline table
    `{ description = "...", type = "string" }`."""

    description: str = Field(min_length=1, description="What it is, for the model.")
    type: Literal["string", "integer", "number", "boolean", "array", "object"] | None = Field(
        None, description="Its JSON type, where it helps."
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"description": data} if isinstance(data, str) else data

    def text(self) -> str:
        return f"{self.description} ({self.type})" if self.type else self.description


def _short_form(value: Any) -> Any:
    return {"field": value} if isinstance(value, str) else value


class Requirement(Table):
    """One entry of `required`: a field path (`"title"`, `"vendor_fields.casefile_id"`), or an inline table
    with conditions, e.g. `{ field = "assignees", unless = "intake_id" }` or
    `{ field = "workflow_id", or_setting = "intake_workflow_id" }`."""

    field: str = Field(
        pattern=FIELD_PATH, description="An argument, or `<argument>.<key>` for a key of a dict argument."
    )
    unless: tuple[Annotated[str, Field(pattern=FIELD_PATH)], ...] = Field(
        (), description="Not required when any of these fields is given (a string or a list)."
    )
    or_setting: str | None = Field(
        None,
        pattern=ARGUMENT,
        description="Not required when this vendor setting (field name) is set; shown as its environment variable.",
    )
    note: str | None = Field(None, description="What the value must be, in words (shown in brackets).")

    @field_validator("unless", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def describe(self, vendor: str) -> str:
        """In words for the model: `assignees (unless intake_id is set)`."""

        details = [self.note] if self.note else []
        if self.or_setting:
            details.append("or " + f"{vendor}_{self.or_setting}".upper())
        if self.unless:
            details.append(f"unless {' or '.join(self.unless)} is set")
        return f"{self.field} ({'; '.join(details)})" if details else self.field


class Accepted(Table):
    """One entry of `accepts`: an argument name, or `{ field = "priority", only_with = "intake_id" }`."""

    field: str = Field(pattern=ARGUMENT, description="A tool argument the vendor takes for this operation.")
    only_with: str | None = Field(None, pattern=ARGUMENT, description="Taken only together with this argument.")

    def describe(self) -> str:
        return f"{self.field} (only with {self.only_with})" if self.only_with else self.field


class LookupKind(Table):
    """One entry of `kinds` (`find_records` only): a kind of record the vendor looks up by name, and where its
    id goes; or, for a kind it lacks, why not and what to do instead (refused before any request)."""

    supported: bool = Field(description="Whether find_records looks this kind up with this vendor.")
    use: str | None = Field(None, description="Where a found id goes, for the model (required when supported).")
    reason: str | None = Field(None, description="Why not (required when unsupported), for the model.")
    alternative: str | None = Field(None, description="What to do instead, for the model.")

    @model_validator(mode="after")
    def _explained(self) -> LookupKind:
        if self.supported and not self.use:
            raise ValueError("a supported kind needs `use` (where its id goes)")
        if not self.supported and not self.reason:
            raise ValueError("an unsupported kind needs a reason")
        return self


class OperationBlock(Table):
    """`[operations.<name>]`: one operation as written. Keys left out come from the operation's group; an
    operation in no group must say `supported`."""

    supported: bool | None = Field(None, description="Whether tasklink can do it with this vendor.")
    reason: str | None = Field(None, description="Why not (required when unsupported), for the model.")
    alternative: str | None = Field(None, description="What to do instead, for the model.")
    notes: str | None = Field(None, description="What the model should know when it is supported.")
    required: tuple[Requirement, ...] = Field((), description="Fields the vendor needs for the operation.")
    accepts: tuple[Accepted, ...] | None = Field(
        None,
        description="The arguments the vendor takes for the operation besides "
        + ", ".join(COMMON_ARGUMENTS)
        + "; absent: every argument of the tool.",
    )
    vendor_fields: dict[str, VendorField] = Field(
        default_factory=dict, description="Keys `vendor_fields` takes, with what each means."
    )
    vendor_filters: dict[str, VendorField] = Field(
        default_factory=dict, description="Keys `vendor_filters` takes, with what each means."
    )
    kinds: dict[Annotated[str, Field(pattern=ARGUMENT)], LookupKind] = Field(
        default_factory=dict,
        description="find_records only: each kind of record it looks up by name (`case`, `account`...), or lacks.",
    )

    @field_validator("required", "accepts", mode="before")
    @classmethod
    def _strings_are_fields(cls, value: Any) -> Any:
        return [_short_form(v) for v in value] if isinstance(value, list | tuple) else value


class Group(Table):
    """`[groups.<name>]`: several operations that share one answer, e.g. `[groups.intakes]` for a vendor with
    no intakes. An operation in a group needs no `[operations]` block; a block it has overrides the group's
    keys it sets (a block that says the opposite `supported` takes nothing from the group)."""

    operations: tuple[OperationName, ...] = Field(min_length=1, description="The operations it covers.")
    supported: bool = Field(description="Whether tasklink can do them with this vendor.")
    reason: str = Field("", description="Why not (required when unsupported).")
    alternative: str = Field("", description="What to do instead.")


class Operation(OperationBlock):
    """An operation as the server reads it: its block over its group, every key filled in."""

    supported: bool
    reason: str = ""
    alternative: str = ""
    notes: str = ""
    name: OperationName
    group: str | None = Field(None, description="The group it came from, if any.")


class _Tables(Table):
    """The tables a manifest file and a loaded manifest share."""

    statuses: dict[str, str] = Field(
        default_factory=dict,
        description="Normalized task status (" + ", ".join(NORMALIZED_STATUSES) + ") → the vendor's value; a "
        "status not listed is refused with the list.",
    )
    vendor_statuses: VendorStatuses = Field(default_factory=VendorStatuses)
    limits: Limits = Field(default_factory=Limits)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    idempotency: Idempotency | None = Field(None)
    people: People = Field(default_factory=People)
    ids: Ids = Field(default_factory=Ids)
    deprecations: tuple[Deprecation, ...] = Field(())
    groups: dict[Annotated[str, Field(pattern=ARGUMENT)], Group] = Field(default_factory=dict)

    @field_validator("statuses")
    @classmethod
    def _normalized_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [k for k in value if k not in NORMALIZED_STATUSES]
        if unknown:
            raise ValueError(f"{unknown} are not normalized statuses ({', '.join(NORMALIZED_STATUSES)})")
        return value


class ManifestFile(_Tables):
    """One `tool_manifests/<vendor>.toml`, as written.

    A manifest says what tasklink can do with one vendor: `list_vendors`, the `capabilities://{vendor}`
    resource and the guardrails read it, and adapters take the vendor's limits from it. Every manifest
    is checked when tasklink starts: an unknown key, a value of the wrong type, or an operation that is
    neither declared in `[operations]` nor covered by a `[groups]` table stops start-up, naming the file
    and the key. Only `[vendor]` is required; every other table may be left out."""

    vendor: VendorTable
    priorities: Priorities = Field(default_factory=Priorities)
    operations: dict[OperationName, OperationBlock] = Field(default_factory=dict)


class VendorManifest(VendorTable, _Tables):
    """A vendor's manifest as the server reads it: every operation materialized."""

    priorities: tuple[str, ...] = ()
    operations: dict[str, Operation]
    #: the file this manifest was read from (named in start-up errors)
    path: Path | None = None

    @property
    def idempotency_keys(self) -> bool:
        """True when the vendor itself honours idempotency keys (it has an `[idempotency]` table)."""

        return self.idempotency is not None

    def operation(self, name: str) -> Operation:
        return self.operations[name]

    def requirement_text(self, operation: str) -> list[str]:
        """The operation's `required`, in words for the model (`list_vendors`, `capabilities://`)."""

        return [r.describe(self.name) for r in self.operation(operation).required]

    @classmethod
    def from_file(cls, file: ManifestFile, source: str) -> VendorManifest:
        """Materialize every operation; `source` (the file name) goes into every error."""

        return cls(
            **file.vendor.model_dump(),
            **{name: getattr(file, name) for name in _Tables.model_fields},
            priorities=file.priorities.values,
            operations={name: _materialize(file, name, source) for name in OPERATIONS},
        )


def _materialize(file: ManifestFile, name: OperationName, source: str) -> Operation:
    groups = [g for g, group in file.groups.items() if name in group.operations]
    if len(groups) > 1:
        raise ConfigurationError(f"Manifest {source}: operation {name} is in more than one group ({groups})")
    block = file.operations.get(name)
    if block is None and not groups:
        raise ConfigurationError(
            f"Manifest {source}: operation {name} is neither declared in [operations] nor covered by a [groups] table"
        )
    own: dict[str, Any] = {key: getattr(block, key) for key in block.model_fields_set} if block else {}
    inherited: dict[str, Any] = {}
    if groups:
        group = file.groups[groups[0]]
        if own.get("supported", group.supported) == group.supported:
            inherited = {
                "group": groups[0],
                "supported": group.supported,
                "reason": group.reason,
                "alternative": group.alternative,
            }
    values = inherited | own
    if values.get("supported") is None:
        raise ConfigurationError(f"Manifest {source}: [operations.{name}] needs supported = true or false")
    op = Operation(name=name, **{k: v for k, v in values.items() if v is not None})
    problems = _problems(op)
    if problems:
        raise ConfigurationError(f"Manifest {source}: operation {name} " + "; ".join(problems))
    return op


def _problems(op: Operation) -> list[str]:
    if op.kinds and op.name != "find_records":
        return ["takes kinds, which only find_records has"]
    if not op.supported:
        problems = [] if op.reason else ["is unsupported, so it needs a reason"]
        if op.required or op.accepts is not None or op.notes or op.kinds:
            problems.append("is unsupported, so it takes no required, accepts, notes or kinds")
        return problems
    if op.name == "find_records" and not any(k.supported for k in op.kinds.values()):
        return ["is supported, so it needs at least one supported kind in [operations.find_records.kinds]"]
    if op.accepts is None:
        return []
    accepted = [a.field for a in op.accepts]
    problems = [f"lists {f} twice in accepts" for f in sorted({f for f in accepted if accepted.count(f) > 1})]
    named = [r.field for r in op.required] + [u for r in op.required for u in r.unless]
    named += [a.only_with for a in op.accepts if a.only_with]
    problems += [
        f"names {n} but does not accept {n.split('.')[0]}"
        for n in dict.fromkeys(named)
        if n.split(".")[0] not in accepted and n.split(".")[0] not in COMMON_ARGUMENTS
    ]
    return problems


# -- loading -------------------------------------------------------------------------------


def manifests_dir() -> Path:
    packaged = Path(__file__).parent / "_manifests"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "tool_manifests"


def _validation_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
    )


def parse_manifest(path: Path) -> VendorManifest:
    """One manifest file, checked and materialized; any problem is a ConfigurationError naming the file."""

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"Manifest {path.name} is not valid TOML: {exc}") from None
    try:
        file = ManifestFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"Manifest {path.name}: {_validation_errors(exc)}") from None
    if file.vendor.name != path.stem:
        raise ConfigurationError(
            f"Manifest {path.name} names vendor {file.vendor.name!r}; the file must be named after it"
        )
    return VendorManifest.from_file(file, path.name).model_copy(update={"path": path})


def load_manifests(extra_dirs: Sequence[Path] = ()) -> dict[str, VendorManifest]:
    """All vendor manifests by vendor name: the packaged ones, then those in `extra_dirs`
    (TASKLINK_MANIFEST_DIRS: a vendor added without changing tasklink), in a stable order."""

    return _load(tuple(Path(d) for d in extra_dirs))


@cache
def _load(extra_dirs: tuple[Path, ...]) -> dict[str, VendorManifest]:
    manifests: dict[str, VendorManifest] = {}
    for folder in (manifests_dir(), *extra_dirs):
        if not folder.is_dir():
            raise ConfigurationError(f"TASKLINK_MANIFEST_DIRS names {str(folder)!r}, which is not a directory")
        for path in sorted(folder.glob("*.toml")):
            manifest = parse_manifest(path)
            if manifest.name in manifests:
                raise ConfigurationError(f"Manifest {path} defines vendor {manifest.name!r} a second time")
            manifests[manifest.name] = manifest
    return manifests


def vendor_names(extra_dirs: Sequence[Path] = ()) -> list[str]:
    return list(load_manifests(extra_dirs))


# -- arguments -------------------------------------------------------------------------------


def _given(value: Any) -> bool:
    """Whether an argument was given: None, blank text, empty lists and dicts and False are not."""

    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return bool(value)
    return True


def _lookup(arguments: Mapping[str, Any], path: str) -> Any:
    """`title` → arguments["title"]; `vendor_fields.casefile_id` → arguments["vendor_fields"]["casefile_id"]."""

    head, _, key = path.partition(".")
    value = arguments.get(head)
    if not key:
        return value
    return value.get(key) if isinstance(value, Mapping) else None


def _waived(req: Requirement, arguments: Mapping[str, Any], settings: Any | None) -> bool:
    if any(_given(_lookup(arguments, other)) for other in req.unless):
        return True
    if req.or_setting is None:
        return False
    # without the vendor's settings nobody can tell whether the setting supplies it: the adapter decides
    return settings is None or _given(getattr(settings, req.or_setting, None))


def check_arguments(
    manifest: VendorManifest, operation: str, arguments: Mapping[str, Any], *, settings: Any | None = None
) -> None:
    """Refuse a call the manifest already knows is wrong, before anything is sent.

    Names every required field that is missing (`required`, with its conditions) and every argument the
    operation does not take (`accepts`), all in one `InvalidInput` whose `field` is the first of them.
    `settings` are the vendor's; a requirement a setting can satisfy (`or_setting`) is checked only when
    they are given. An unsupported operation raises `UnsupportedOperation`.
    """

    op = manifest.operation(operation)
    if not op.supported:
        raise UnsupportedOperation(manifest.title, operation, op.reason, op.alternative or None)
    missing = [
        req
        for req in op.required
        if not _given(_lookup(arguments, req.field)) and not _waived(req, arguments, settings)
    ]
    refused: list[Accepted | str] = []
    if op.accepts is not None:
        accepted = {a.field: a for a in op.accepts}
        for key, value in arguments.items():
            if key in COMMON_ARGUMENTS or not _given(value):
                continue
            rule = accepted.get(key)
            if rule is None:
                refused.append(key)
            elif rule.only_with and not _given(arguments.get(rule.only_with)):
                refused.append(rule)
    if not missing and not refused:
        return
    parts = []
    if missing:
        parts.append(
            "is missing "
            + ("a required field: " if len(missing) == 1 else f"{len(missing)} required fields: ")
            + ", ".join(_quoted(req.describe(manifest.name), req.field) for req in missing)
        )
    if refused:
        names = [r if isinstance(r, str) else r.describe() for r in refused]
        fields = [r if isinstance(r, str) else r.field for r in refused]
        parts.append("does not take " + ", ".join(_quoted(n, f) for n, f in zip(names, fields, strict=True)))
    first = missing[0].field if missing else (refused[0] if isinstance(refused[0], str) else refused[0].field)
    raise InvalidInput(
        f"{manifest.title} `{operation}` " + " and ".join(parts),
        field=first,
        allowed=[a.describe() for a in op.accepts] if refused and op.accepts is not None else None,
    )


def _quoted(text: str, field: str) -> str:
    """`assignees (unless intake_id is set)` → "`assignees` (unless intake_id is set)"."""

    return f"`{field}`{text[len(field) :]}"
