"""The words for tool arguments: what a schema allows, what was given, and one refusal for every problem.

`arguments.py` reads a call's arguments; this module writes about them. Every validation failure of a
tool call is rendered here, in one format: for each problem the argument's path, what was given, what is
allowed and what to do, all problems of the call at once, then "Nothing was sent to the vendor". The
allowed values come from the tool's own input schema; pydantic's errors are translated here, so its
wording, links and class names never reach a caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

#: the longest given value quoted in a refusal or a note
SHOWN_LIMIT = 80


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


def shown(value: Any) -> str:
    """A value as the caller sent it (JSON), bounded: strings quoted, numbers bare."""

    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > SHOWN_LIMIT:
        text = text[: SHOWN_LIMIT - 10] + f"… ({len(text):,} characters)"
    return text


def name_of(key: str) -> str:
    """An argument name as tasklink quotes it (a name that is not a plain word is shown as JSON)."""

    plain = key.replace("_", "").replace("-", "").isalnum() and len(key) <= SHOWN_LIMIT
    return key if plain else shown(key)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a call's arguments."""

    path: str
    issue: str
    allowed: str
    todo: str
    given: Any = NOT_GIVEN

    def render(self) -> str:
        given = "" if self.given is NOT_GIVEN else f" (given {shown(self.given)})"
        return f"`{self.path}`: {self.issue}{given}. Allowed: {self.allowed}. {_sentence(self.todo)}"


def _sentence(text: str) -> str:
    """A sentence: capitalized (unless it starts with a name, like a tool's) and ending with a stop."""

    text = text.strip()
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[:1].upper() + text[1:]
    return text + ("" if text.endswith((".", "?")) else ".")


def either(values: Iterable[Any]) -> str:
    """`a`, `a or b`, `a, b or c`."""

    words = [str(v) for v in values]
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


def refusal(tool: str, problems: Iterable[Problem]) -> str:
    """The one error text of a call whose arguments cannot be used: every problem, then what happened."""

    listed = list(problems)
    count = "1 problem" if len(listed) == 1 else f"{len(listed)} problems"
    lines = [f"{tool} was not called: {count} with its arguments."]
    lines += [f"- {p.render()}" for p in listed]
    lines.append("Fix the arguments and call again. Nothing was sent to the vendor.")
    return "\n".join(lines)


# -- what a schema allows ---------------------------------------------------------------------


class SchemaView:
    """A tool's input schema, with `$ref`s into its `$defs` resolved."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def resolve(self, node: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and seen < 10:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.root.get("$defs", {}).get(name, {})
            seen += 1
        return dict(node) if isinstance(node, Mapping) else {}

    def properties(self, node: Any) -> dict[str, Any]:
        props = self.resolve(node).get("properties")
        return dict(props) if isinstance(props, Mapping) else {}

    def required(self, node: Any) -> set[str]:
        return set(self.resolve(node).get("required") or ())

    def allowed(self, node: Any, *, with_description: bool = True) -> str:
        """What a value at this node may be, in words (with the node's own description)."""

        node = self.resolve(node)
        text = self._kind(node)
        description = node.get("description")
        if with_description and isinstance(description, str) and description and "enum" not in node:
            text += f" ({description.rstrip('.')})"
        return text

    def _kind(self, node: dict[str, Any]) -> str:
        if isinstance(node.get("anyOf"), list):
            options = [self.resolve(o) for o in node["anyOf"] if self.resolve(o).get("type") != "null"]
            return " or ".join(self.allowed(o, with_description=False) for o in options)
        if isinstance(node.get("enum"), list):
            return "one of " + ", ".join(str(v) for v in node["enum"])
        kind = node.get("type")
        if kind == "string":
            return "text" + _bounds(node.get("minLength"), node.get("maxLength"), "characters")
        if kind == "integer":
            return "a whole number" + _bounds(node.get("minimum"), node.get("maximum"), None)
        if kind == "boolean":
            return "true or false"
        if kind == "array":
            most = node.get("maxItems")
            items = self.allowed(node.get("items", {}), with_description=False)
            return f"a list of {items}" + (f" (at most {most})" if most else "")
        if kind == "object":
            fields = self.properties(node)
            if not fields:
                return "an object of key-value pairs"
            required = self.required(node)
            named = [f"{k} (required)" if k in required else k for k in fields]
            return "an object with " + ", ".join(named)
        return "a JSON value"


def _bounds(low: Any, high: Any, unit: str | None) -> str:
    suffix = f" {unit}" if unit else ""
    if isinstance(low, int) and isinstance(high, int):
        return f" of {low} to {high}{suffix}" if unit else f" from {low} to {high}"
    if isinstance(high, int):
        return f" of at most {high}{suffix}"
    if isinstance(low, int) and (low > 1 or not unit):
        return f" of at least {low}{suffix}"
    return " (not empty)" if unit and low == 1 else ""


# -- pydantic's errors, in these words ----------------------------------------------------------

#: pydantic error types that mean "a value of the wrong kind"
WRONG_KIND = ("_type", "_parsing", "literal_error", "enum", "model_attributes_type", "union_tag_invalid")


def validation_problems(exc: ValidationError, schema: SchemaView, skip: Iterable[str] = ()) -> list[Problem]:
    """One problem per argument path (a union's branches report once), skipping paths already refused."""

    refused = set(skip)
    problems: dict[str, Problem] = {}
    for err in exc.errors(include_url=False):
        path, node = locate(err["loc"], schema)
        if path in problems or any(path == p or path.startswith((p + ".", p + "[")) for p in refused):
            continue
        problems[path] = problem_for(err, path or "arguments", node, schema)
    return list(problems.values())


def locate(loc: Iterable[Any], schema: SchemaView) -> tuple[str, Any]:
    """The argument path of an error location (a union's branch names are not part of it) and its schema."""

    path, node, slot = "", schema.root, schema.root
    for part in loc:
        here = schema.resolve(node)
        if isinstance(part, int):
            node = here.get("items", {})
            path, slot = f"{path}[{part}]", node
            continue
        props = schema.properties(here)
        if part in props:
            node = props[part]
            path, slot = (f"{path}.{part}" if path else str(part)), node
        elif isinstance(here.get("anyOf"), list):
            node = _branch(here["anyOf"], str(part), schema)
    return path, slot


def _branch(options: list[Any], tag: str, schema: SchemaView) -> Any:
    kinds = {"str": "string", "int": "integer", "bool": "boolean", "list": "array", "dict": "object"}
    wanted = kinds.get(tag.split("[", 1)[0])
    for option in options:
        if isinstance(option, Mapping) and str(option.get("$ref", "")).endswith("/" + tag):
            return option
        if wanted and schema.resolve(option).get("type") == wanted:
            return option
    return {"anyOf": options}


def problem_for(err: Mapping[str, Any], path: str, node: Any, schema: SchemaView) -> Problem:
    kind: str = err["type"]
    given = err.get("input", NOT_GIVEN)
    ctx = err.get("ctx") or {}
    allowed = schema.allowed(node)
    if kind == "missing":
        return Problem(path, "missing; it is required", allowed, f"add `{path}`")
    if kind in ("less_than_equal", "less_than"):
        top = ctx.get("le", ctx.get("lt"))
        return Problem(path, f"above the maximum of {top}", allowed, _at_most(path, top, schema), given)
    if kind in ("greater_than_equal", "greater_than"):
        low = ctx.get("ge", ctx.get("gt"))
        return Problem(path, f"below the minimum of {low}", allowed, f"pass {low} or more", given)
    if kind == "string_too_long":
        most = ctx.get("max_length")
        issue = f"too long: {len(given) if isinstance(given, str) else '?'} characters, at most {most}"
        return Problem(path, issue, allowed, "shorten it", given)
    if kind == "string_too_short":
        optional = "." not in path and "[" not in path and path not in schema.required(schema.root)
        return Problem(path, "empty", allowed, f"give a value{f', or leave `{path}` out' if optional else ''}", given)
    if kind in ("too_long", "too_short"):
        count = len(given) if isinstance(given, list | dict | str) else "?"
        bound = ctx.get("max_length") if kind == "too_long" else ctx.get("min_length")
        issue = f"{count} items; at {'most' if kind == 'too_long' else 'least'} {bound} allowed"
        return Problem(path, issue, allowed, "change the number of items", given)
    if kind == "int_from_float":
        return Problem(path, "not a whole number", allowed, f"pass {allowed.split(' (')[0]}", given)
    if kind == "value_error":
        return Problem(path, str(ctx.get("error", "not a valid value")), allowed, "fix the value", given)
    if kind == "extra_forbidden":
        return Problem(path, "not a field here", allowed, "leave it out", given)
    if kind.endswith(WRONG_KIND) or kind in WRONG_KIND:
        return Problem(path, f"not accepted as {kind_of(given)}", allowed, f"pass {allowed.split(' (')[0]}", given)
    return Problem(path, "not a valid value", allowed, f"pass {allowed.split(' (')[0]}", given)


def _at_most(path: str, top: Any, schema: SchemaView) -> str:
    """A cap on a page size names how to page; any other cap just names itself. Nothing is clamped."""

    props = schema.properties(schema.root)
    if path == "limit" and "cursor" in props:
        return f"ask for at most {top} per call and page with `cursor` (each page's next_cursor)"
    if path == "limit" and "page" in props:
        return f"ask for at most {top} per call and page with `page`"
    return f"pass at most {top}"
