"""Tool arguments as a model fills them: no argument ignored, unambiguous slips forgiven, every problem at once.

A server middleware on `tools/call` reads each call's arguments against the tool's own input schema
before the SDK validates them:

- an argument the tool does not have is applied under its documented alias (`ALIASES`, and camelCase
  for snake_case), or refused with the closest valid name, or with what to do instead when it belongs to
  another tool (`ELSEWHERE`); an alias given beside its canonical name is refused as a conflict. The same
  holds inside objects (the items of `assignees`).
- an unambiguous slip is forgiven: a number for a string id, an all-digit string for an integer, a single
  value for a list (and a one-item list for a single value), an enum value in another case or with other
  separators, a word from `SYNONYMS`. The task `status` and `priority` are free text (a vendor's own
  values pass as they are): only the normalized names are matched there. Anything still ambiguous is
  refused, never guessed.
- the result is validated against the tool's argument model; every problem of the call is refused at
  once, in tasklink's words (`argument_text.refusal`), so the SDK's raw validation text never appears.

Every value that was changed is reported to the caller: in the result's `warnings` (and the text that
mirrors it), or in a note after the result where it has no `warnings`.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import ValidationError

from ..errors import TaskLinkError
from ..models import NORMALIZED_STATUSES, bounded
from ..service import TaskLink
from ..service.intakes import OPEN_INTAKE_STATUSES
from . import sdk
from .argument_text import NOT_GIVEN, Problem, SchemaView, either, name_of, refusal, shown, validation_problems

log = logging.getLogger("tasklink")

#: canonical name -> the other names a model uses for it. Applied only where the tool has the canonical
#: name and not the alias itself; `id` names the tool's own required `task_id`/`intake_id` only.
ALIASES: dict[str, tuple[str, ...]] = {
    "due": ("due_date", "deadline", "due_on", "due_at"),
    "description": ("notes", "note", "body", "details"),
    "title": ("name",),
    "assignees": ("assignee", "assigned_to", "assignee_ids", "owner"),
    "assignee": ("assignees", "assigned_to", "owner"),
    "task_id": ("id",),
    "intake_id": ("id",),
    "user_id": ("id", "user", "email", "name"),
    "text": ("query", "search", "q", "title"),
    "query": ("text", "search", "q"),
    "limit": ("page_size", "per_page", "max_results"),
}
#: targets of `id` that must be the tool's required argument (on create_task, `intake_id` is not "its" id)
OWN_ID = ("task_id", "intake_id")

#: (argument, tools, what to do instead): an argument that belongs to another tool or another place
ELSEWHERE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("assignees", frozenset({"update_intake"}), "people on an intake change with update_intake_assignees"),
    ("status", frozenset({"create_intake"}), "a new intake starts PENDING; set its status with update_intake"),
    (
        "collaborators",
        frozenset({"create_intake", "update_intake_assignees"}),
        'list collaborators in `assignees`, each as {"user_id": …, "role": "collaborator"}',
    ),
    (
        "role",
        frozenset({"create_intake", "update_intake_assignees"}),
        'give each person\'s role inside `assignees`: {"user_id": …, "role": "collaborator"}',
    ),
    ("page", frozenset({"list_tasks"}), "list_tasks pages with `cursor`: pass the previous page's next_cursor"),
    ("cursor", frozenset({"list_intakes"}), "list_intakes pages with `page` (1-based)"),
    (
        "intake_id",
        frozenset({"list_tasks", "get_task", "update_task", "delete_task"}),
        "an intake's tasks are read with get_intake(intake_id)",
    ),
    (
        "task_id",
        frozenset({"get_intake", "update_intake", "update_intake_assignees", "delete_intake"}),
        "intake tools take `intake_id`; a task is read with get_task(vendor, task_id)",
    ),
    ("metadata", frozenset({"create_task", "update_task"}), "tasks take vendor-only fields in `vendor_fields`"),
    ("vendor_fields", frozenset({"create_intake", "update_intake"}), "intakes take free key-value `metadata`"),
    ("due", frozenset({"list_tasks"}), "list_tasks filters due dates with `due_after` and `due_before`"),
    ("priority", frozenset({"list_tasks"}), "list_tasks has no priority filter; see `vendor_filters` in list_vendors"),
    ("mode", frozenset({"update_task"}), "update_task's `assignees` is always the full new list"),
)

#: a word a model uses -> the values it may mean, in any tool's vocabulary (tasks' normalized statuses,
#: intake statuses and priorities, intake roles, sort orders); only values the argument allows are used
SYNONYMS: dict[str, tuple[str, ...]] = {
    "complete": ("done", "COMPLETED"),
    "completed": ("done", "COMPLETED"),
    "finished": ("done", "COMPLETED"),
    "done": ("COMPLETED",),
    "started": ("in_progress", "IN_PROGRESS"),
    "ongoing": ("in_progress", "IN_PROGRESS"),
    "not started": ("todo", "PENDING"),
    "todo": ("PENDING",),
    "pending": ("todo",),
    "on hold": ("blocked", "BLOCKED"),
    "canceled": ("cancelled", "DISCARDED"),
    "cancelled": ("DISCARDED",),
    "discarded": ("cancelled",),
    "open": ("todo", "in_progress", "blocked", *OPEN_INTAKE_STATUSES),
    "urgent": ("HIGH",),
    "critical": ("HIGH",),
    "normal": ("MEDIUM",),
    "assignee": ("assigned_to",),
    "owner": ("assigned_to",),
    "watcher": ("collaborator",),
    "follower": ("collaborator",),
    "newest": ("-created_at",),
    "oldest": ("created_at",),
}

#: free-text arguments with a normalized vocabulary: only these names are matched; other text passes
#: (a vendor's own status, say) for the vendor to accept or refuse
SOFT_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "status": NORMALIZED_STATUSES,
    "priority": ("LOW", "MEDIUM", "HIGH"),
}

#: a string argument holds an id (a number there is read as its decimal string)
ID_WORDS = re.compile(r"\bids?\b", re.IGNORECASE)


def fold(value: str) -> str:
    """Case and separators do not matter: `In-Progress`, `in progress` and `IN_PROGRESS` fold alike."""

    return re.sub(r"[\s_]+|(?<=\w)-(?=\w)", "", value.strip().lower())


def snake(name: str) -> str:
    return re.sub(r"[\s-]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())).lower()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


@dataclass(frozen=True)
class VendorFacts:
    """What the configured vendors add to reading arguments: titles, the intake vendor, own values."""

    titles: dict[str, str] = field(default_factory=dict)
    intake_vendor: str | None = None
    #: (vendor, argument) -> the vendor's own values for a free-text argument (passed as they are)
    own_values: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tl: TaskLink) -> VendorFacts:
        own: dict[tuple[str, str], frozenset[str]] = {}
        for name, rt in tl.vendors.runtimes.items():
            m = rt.manifest
            own[(name, "status")] = frozenset(m.statuses.values()) | frozenset(m.vendor_statuses.unmapped)
            own[(name, "priority")] = frozenset(m.priorities)
        try:
            intake_vendor: str | None = tl.intake_vendor()
        except TaskLinkError:
            intake_vendor = None
        titles = {name: rt.manifest.title for name, rt in tl.vendors.runtimes.items()}
        return cls(titles=titles, intake_vendor=intake_vendor, own_values=own)


@dataclass
class Reading:
    """One call's arguments as read: the arguments to pass on, what was changed, what is wrong."""

    arguments: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def refused_paths(self) -> list[str]:
        return [p.path for p in self.problems]


@dataclass
class _Call:
    facts: VendorFacts
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vendor: str | None = None

    def refuse(self, path: str, issue: str, allowed: str, todo: str, given: Any = NOT_GIVEN) -> None:
        self.problems.append(Problem(path, issue, allowed, todo, given))


def _unknown(tool: str, key: str, value: Any, props: dict[str, Any], prefix: str, call: _Call) -> None:
    """An argument the tool does not have: refused with what to do instead, or the closest names."""

    plain = snake(key)
    where = f"an argument of {tool}" if not prefix else f"a field of `{prefix.rstrip('.')}`"
    allowed = ", ".join(props) if props else "none"
    canonical = [c for c, names in ALIASES.items() if plain in names]
    elsewhere = (todo for name, tools, todo in ELSEWHERE if tool in tools and name in (plain, *canonical))
    advice = None if prefix else next(elsewhere, None)
    if advice is None:
        close = difflib.get_close_matches(plain, list(props), n=2, cutoff=0.6)
        close = close or [p for p in props if len(plain) >= 3 and (p.startswith(plain) or plain.startswith(p))]
        names = " or ".join(f"`{prefix}{c}`" for c in close[:2])
        advice = f"did you mean {names}?" if close else "leave it out"
    call.refuse(prefix + name_of(key), f"not {where}", allowed, advice, value)


def _implied_vendor(tool: str, key: str, value: Any, call: _Call) -> None:
    """`vendor` on a tool without one (the intake tools): the intake vendor is implied; another is refused."""

    intake = call.facts.intake_vendor
    named = next((v for v in call.facts.titles if isinstance(value, str) and fold(v) == fold(value)), None)
    if intake is not None and named == intake:
        title = call.facts.titles.get(intake, intake)
        call.notes.append(f"dropped `{name_of(key)}` {shown(value)}: {tool} always works in {title}")
        return
    todo = "leave `vendor` out"
    if named is not None:
        todo += f"; for a task in {call.facts.titles[named]}, use create_task, list_tasks or get_task with vendor "
        todo += shown(named)
    where = call.facts.titles.get(intake or "", "one vendor")
    call.refuse(
        name_of(key), f"not an argument of {tool}: legal intakes live only in {where}", "no `vendor`", todo, value
    )


def _integer(value: Any, allowed: str, path: str, call: _Call) -> Any:
    """A whole number: all-ASCII-digit text and whole floats are read as one; other text is refused."""

    if isinstance(value, bool):
        call.refuse(path, "true/false is not a number", allowed, "pass a number", value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    elif isinstance(value, str):
        call.refuse(path, "not a whole number", allowed, "pass the number itself, digits only", value)
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: the words read as true or false (other text, and numbers other than 0 and 1, are refused)
BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


def _boolean(value: Any, allowed: str, path: str, call: _Call) -> Any:
    if isinstance(value, str) and value.strip().lower() in BOOLEANS:
        return BOOLEANS[value.strip().lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    if not isinstance(value, bool):
        call.refuse(path, "not true or false", allowed, "pass true or false", value)
    return value


def _free_form(value: Any, allowed: str, path: str, call: _Call) -> Any:
    """A free-form object (vendor fields, filters, metadata): its keys are the vendor's, passed as they are;
    only its size is bounded (`models.FREE_FORM_MAX_BYTES`), as the request models bound it."""

    if isinstance(value, dict):
        try:
            bounded(value)
        except ValueError as exc:
            call.refuse(path, f"too large: it {exc}", allowed, "send only the fields the vendor needs")
    return value


def _holds_id(name: str, node: dict[str, Any]) -> bool:
    """A string argument that holds an id (a number there is read as its decimal string)."""

    description = str(node.get("description", ""))
    return name.endswith(("_id", "_key")) or name in ("assignee", "assignees") or bool(ID_WORDS.search(description))


class ArgumentReader:
    """Reads one tool's arguments against its input schema (one reader per tool, shared by its calls)."""

    def __init__(
        self,
        tool: str,
        schema: Mapping[str, Any],
        pre_parse: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    ) -> None:
        self.tool = tool
        self.schema = SchemaView(schema)
        self.pre_parse = pre_parse

    def read(self, arguments: Mapping[str, Any], facts: VendorFacts | None = None) -> Reading:
        call = _Call(facts or VendorFacts())
        root = self.schema.root
        named = self._keys(arguments, root, "", call)
        parsed = self.pre_parse(named) if named else named
        values = self._values(parsed, root, "", call)
        return Reading(values, call.notes, call.problems)

    # -- names ---------------------------------------------------------------------------------

    def _keys(self, given: Mapping[str, Any], node: Any, prefix: str, call: _Call) -> dict[str, Any]:
        """Each given key under its canonical name; unknown names and conflicts are refused."""

        props = self.schema.properties(node)
        required = self.schema.required(node)
        chosen: dict[str, list[str]] = {}
        for key, value in given.items():
            target = key if key in props else self._target(key, value, props, required, prefix, call)
            if target is not None:
                chosen.setdefault(target, []).append(key)
        out: dict[str, Any] = {}
        for target, keys in chosen.items():
            if len(keys) > 1:
                names = " and ".join(f"`{prefix}{name_of(k)}`" for k in keys)
                call.refuse(
                    prefix + target,
                    f"given more than once, as {names}",
                    f"one `{prefix}{target}`",
                    f"keep only `{prefix}{target}`",
                )
                continue
            if keys[0] != target:
                call.notes.append(f"read `{prefix}{name_of(keys[0])}` as `{prefix}{target}`")
            out[target] = given[keys[0]]
        return out

    def _target(
        self, key: str, value: Any, props: dict[str, Any], required: set[str], prefix: str, call: _Call
    ) -> str | None:
        plain = snake(key)
        if plain in props:
            return plain
        found = [c for c, names in ALIASES.items() if plain in names and c in props]
        found = [c for c in found if c not in OWN_ID or c in required]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            options = either(f"`{prefix}{c}`" for c in found)
            call.refuse(prefix + name_of(key), f"could mean {options}", options, "use the exact name", value)
            return None
        if not prefix and plain == "vendor" and "intake" in self.tool:
            _implied_vendor(self.tool, key, value, call)
        else:
            _unknown(self.tool, key, value, props, prefix, call)
        return None

    # -- values --------------------------------------------------------------------------------

    def _values(self, given: dict[str, Any], node: Any, prefix: str, call: _Call) -> dict[str, Any]:
        props = self.schema.properties(node)
        order = sorted(given, key=lambda k: k != "vendor")  # the vendor first: other values may depend on it
        out: dict[str, Any] = {}
        for key in order:
            out[key] = self._slot(given[key], props.get(key, {}), prefix + key, key, call)
            if not prefix and key == "vendor" and isinstance(out[key], str):
                call.vendor = out[key]
        return {k: out[k] for k in given}

    def _slot(self, value: Any, node: Any, path: str, name: str, call: _Call) -> Any:
        """One value; a change is noted here unless it happened inside an object or a list (noted there)."""

        outer, call.notes = call.notes, []
        final = self._value(value, node, path, name, call)
        inner, call.notes = call.notes, outer
        same_shape = isinstance(value, dict | list) and type(final) is type(value)
        if not same_shape and (type(final) is not type(value) or final != value):
            call.notes.append(f"read `{path}` {shown(value)} as {shown(final)}")
        else:
            call.notes.extend(inner)
        return final

    def _value(self, value: Any, node: Any, path: str, name: str, call: _Call) -> Any:
        here = self.schema.resolve(node)
        if value is None or not here:
            return value
        if isinstance(here.get("anyOf"), list):
            return self._value(value, self._option(value, here["anyOf"]), path, name, call)
        kind = here.get("type")
        if kind == "array":
            return self._list(value, here, path, name, call)
        if kind == "object":
            return self._object(value, here, path, call)
        if kind in ("string", "integer", "boolean") and isinstance(value, list):
            return self._one(value, here, path, name, call)
        if kind == "string":
            return self._string(value, here, path, name, call)
        if kind == "integer":
            return _integer(value, self.schema.allowed(here), path, call)
        if kind == "boolean":
            return _boolean(value, self.schema.allowed(here), path, call)
        return value

    def _option(self, value: Any, options: list[Any]) -> Any:
        """The branch of a union the value belongs to (an object to the object, anything else to the rest)."""

        resolved = [(o, self.schema.resolve(o)) for o in options]
        wanted = "object" if isinstance(value, dict) else None
        for option, here in resolved:
            if (here.get("type") == "object") == (wanted == "object") and here.get("type") != "null":
                return option
        return options[0] if options else {}

    def _object(self, value: Any, node: dict[str, Any], path: str, call: _Call) -> Any:
        if not self.schema.properties(node):
            return _free_form(value, self.schema.allowed(node), path, call)
        if isinstance(value, str | int) and not isinstance(value, bool):
            required = sorted(self.schema.required(node))
            props = self.schema.properties(node)
            if len(required) == 1 and self.schema.resolve(props[required[0]]).get("type") == "string":
                value = {required[0]: value}  # "Jane" for {"user_id": "Jane"}
        if not isinstance(value, dict):
            return value
        named = self._keys(value, node, path + ".", call)
        return self._values(named, node, path + ".", call)

    def _list(self, value: Any, node: dict[str, Any], path: str, name: str, call: _Call) -> Any:
        items = node.get("items", {})
        single = not isinstance(value, list)
        values = [value] if single else value
        out: list[Any] = []
        for n, item in enumerate(values):
            where = path if single else f"{path}[{n}]"
            many = self._expansion(item, items)
            if many is not None:
                call.notes.append(f"read `{where}` {shown(item)} as {', '.join(shown(v) for v in many)}")
                out.extend(v for v in many if v not in out)
            else:
                out.append(self._slot(item, items, where, name, call))
        return out

    def _expansion(self, item: Any, items: Any) -> list[str] | None:
        """A word that stands for several allowed values of a list filter (`open`), as those values."""

        enum = self.schema.resolve(items).get("enum")
        if not isinstance(item, str) or not isinstance(enum, list) or item in enum:
            return None
        choices = _choices(item, [str(v) for v in enum])
        return choices if len(choices) > 1 else None

    def _one(self, value: list[Any], node: dict[str, Any], path: str, name: str, call: _Call) -> Any:
        if len(value) == 1 and _is_scalar(value[0]):
            return self._value(value[0], node, path, name, call)
        call.refuse(
            path,
            "takes one value, not a list",
            self.schema.allowed(node),
            (f"call {self.tool} once for each value" if self.tool.startswith(("list_", "find_")) else "pass one value")
            if value
            else f"leave `{path}` out",
            value,
        )
        return value

    def _string(self, value: Any, node: dict[str, Any], path: str, name: str, call: _Call) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and _holds_id(name, node):
            return str(value)
        if not isinstance(value, str):
            return value
        if isinstance(node.get("enum"), list):
            return self._enum(value, [str(v) for v in node["enum"]], node, path, call)
        if name in SOFT_VOCABULARIES and path == name:
            return self._soft(value, name, node, path, call)
        if name == "vendor" and path == name:  # a vendor argument without an enum: the configured names
            choices = [v for v in call.facts.titles if fold(v) == fold(value)]
            return choices[0] if len(choices) == 1 else value
        return value

    def _enum(self, value: str, enum: list[str], node: dict[str, Any], path: str, call: _Call) -> Any:
        if value in enum:
            return value
        choices = _choices(value, enum)
        if len(choices) == 1:
            return choices[0]
        allowed = self.schema.allowed(node)
        if choices:
            call.refuse(path, "could mean " + either(choices), allowed, "pick one of those", value)
        else:
            folded = {fold(e): e for e in enum}
            close = [folded[c] for c in difflib.get_close_matches(fold(value), list(folded), n=1, cutoff=0.6)]
            todo = f"did you mean {shown(close[0])}?" if close else "use one of the allowed values"
            call.refuse(path, "not an allowed value", allowed, todo, value)
        return value

    def _soft(self, value: str, name: str, node: dict[str, Any], path: str, call: _Call) -> str:
        """Free text with a normalized vocabulary: the vendor's own values pass; only normalized names match."""

        vocabulary = SOFT_VOCABULARIES[name]
        own = call.facts.own_values.get((call.vendor or "", name), frozenset())
        if value in vocabulary or value in own:
            return value
        choices = _choices(value, list(vocabulary))
        if len(choices) == 1:
            return choices[0]
        if choices:
            call.refuse(
                path,
                "could mean " + either(choices),
                self.schema.allowed(node),
                f"{self.tool} filters by one {name}: call it once for each"
                if self.tool.startswith("list_")
                else f"pick one {name}",
                value,
            )
        return value


def _choices(value: str, allowed: list[str]) -> list[str]:
    """The allowed values a given word stands for: itself in another spelling, else its synonyms."""

    key = fold(value)
    same = [a for a in allowed if fold(a) == key]
    if same:
        return same
    meant = next((targets for word, targets in SYNONYMS.items() if fold(word) == key), ())
    return [a for a in allowed if a in meant]


# -- the middleware ----------------------------------------------------------------------------


def check_arguments(server: Callable[[], MCPServer]) -> Any:
    """Server middleware: every `tools/call` has its arguments read before the SDK validates them."""

    readers: dict[str, ArgumentReader] = {}
    facts: list[VendorFacts] = []

    def reader_for(name: str) -> tuple[ArgumentReader, Any] | None:
        tool = sdk.find_tool(server(), name)
        if tool is None:
            return None
        if name not in readers:
            readers[name] = ArgumentReader(name, tool.parameters, lambda a: sdk.pre_parsed_arguments(tool, a))
        return readers[name], tool

    async def check(ctx: Any, call_next: Any) -> Any:
        params = ctx.params
        if ctx.method != "tools/call" or not isinstance(params, Mapping) or not isinstance(params.get("name"), str):
            return await call_next(ctx)
        given = params.get("arguments")
        found = reader_for(params["name"]) if given is None or isinstance(given, dict) else None
        if found is None:
            return await call_next(ctx)
        reader, tool = found
        try:
            if not facts and isinstance(ctx.lifespan_context, TaskLink):
                facts.append(VendorFacts.of(ctx.lifespan_context))
            reading = reader.read(given or {}, facts[0] if facts else None)
            problems = reading.problems + model_problems(reader, tool, reading)
        except Exception:  # a fault here must not take the call down: the SDK still validates
            log.exception("reading the arguments of %s failed; passed on as given", reader.tool)
            return await call_next(ctx)
        if problems:
            log.info("%s refused arguments: %s", reader.tool, sorted({p.path for p in problems}))
            text = refusal(reader.tool, problems)
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        result = await call_next(replace(ctx, params={**params, "arguments": reading.arguments}))
        return with_notes(result, reading.notes)

    return check


def model_problems(reader: ArgumentReader, tool: Any, reading: Reading) -> list[Problem]:
    """The tool's own argument model, run on the arguments as read: its errors, in tasklink's words."""

    try:
        sdk.argument_model(tool).model_validate(reading.arguments)
    except ValidationError as exc:
        return validation_problems(exc, reader.schema, skip=reading.refused_paths)
    return []


def with_notes(result: Any, notes: list[str]) -> Any:
    """The result with each change to the arguments reported: in `warnings` where it has them, else a note."""

    if not notes or not isinstance(result, dict) or not isinstance(result.get("content"), list):
        return result
    out = dict(result)
    structured = out.get("structuredContent")
    if not out.get("isError") and isinstance(structured, dict) and isinstance(structured.get("warnings"), list):
        out["structuredContent"] = {**structured, "warnings": [*structured["warnings"], *notes]}
        mirrored = _mirror(out["content"], out["structuredContent"]["warnings"])
        if mirrored is not None:
            out["content"] = mirrored
            return out
    out["content"] = [*out["content"], {"type": "text", "text": "Note on the arguments: " + "; ".join(notes) + "."}]
    return out


def _mirror(content: list[Any], warnings: list[str]) -> list[Any] | None:
    """The text block that mirrors the structured result, with the same warnings (None if there is none)."""

    first = content[0] if content else None
    if not isinstance(first, dict) or first.get("type") != "text" or not isinstance(first.get("text"), str):
        return None
    try:
        mirrored = json.loads(first["text"])
    except ValueError:
        return None
    if not isinstance(mirrored, dict):
        return None
    mirrored["warnings"] = warnings
    indent = 2 if "\n" in first["text"] else None
    separators = None if indent else (",", ":")
    text = json.dumps(mirrored, ensure_ascii=False, indent=indent, separators=separators)
    return [{**first, "text": text}, *content[1:]]
