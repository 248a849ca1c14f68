"""A vendor's OpenAPI contract, and what one HTTP exchange does wrong against it.

`Spec` loads one OpenAPI file (YAML or JSON; loaded once per process), reads OpenAPI 3.0 schemas as JSON
Schema 2020-12 (`nullable: true` becomes a null type, boolean exclusive bounds become numbers) and
indexes its operations by method and path template. `$ref`s are resolved by `referencing` against the
document itself; each schema gets one validator, made on first use.

`Operation.check_request` / `check_answer` list the `Finding`s of one request or answer: an undeclared or
missing query parameter, a parameter value against its schema, a missing required header or credential
(as the security schemes say), the request body against the request schema, the answer's status and
body against the response schema for that status (or `default`). `Spec.prune` keeps only the properties
a schema declares (documented-shape mode).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urldefrag, urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from referencing._core import Resolver

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_TYPES: dict[type, tuple[str, ...]] = {
    dict: ("object",),
    list: ("array",),
    str: ("string",),
    bool: ("boolean",),
    int: ("integer", "number"),
    float: ("number",),
    type(None): ("null",),
}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 date-time (jsonschema checks it only with an extra package; this needs none)."""

    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@dataclass(frozen=True)
class Finding:
    """One thing an exchange does that its contract does not allow."""

    #: where: `query.limit`, `header.Authorization`, `body $.fields.$title`, `status`, ...
    location: str
    message: str
    #: the schema location that says so (`#/components/schemas/Task/properties/title/type`), when one does
    schema: str = ""


# -- reading the document ---------------------------------------------------------------------------------


@cache
def load_document(path: Path) -> dict[str, Any]:
    """The OpenAPI document at `path`, its schemas in JSON Schema 2020-12 terms."""

    text = path.read_text(encoding="utf-8")
    document: dict[str, Any] = (
        json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=yaml.CSafeLoader)
    )
    if str(document.get("openapi", "")).startswith("3.0"):
        converted: dict[str, Any] = _from_openapi_30(document)
        return converted
    return document


def _from_openapi_30(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect -> JSON Schema 2020-12 (only what differs in practice)."""

    if isinstance(node, list):
        return [_from_openapi_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _from_openapi_30(v) for k, v in node.items()}
    for bound in ("minimum", "maximum"):
        exclusive = "exclusive" + bound.capitalize()
        if out.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
        elif out.get(exclusive) is False:
            del out[exclusive]
    if out.get("nullable") is True:
        del out["nullable"]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    elif isinstance(out.get("nullable"), bool):
        del out["nullable"]
    return out


def _escape(segment: str | int) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def _types(schema: Any) -> tuple[str, ...] | None:
    if not isinstance(schema, dict) or "type" not in schema:
        return None
    kind = schema["type"]
    return (kind,) if isinstance(kind, str) else tuple(kind)


def _fits(schema: Any, instance: Any) -> bool:
    """Whether the schema's `type` (if it has one) admits the instance's JSON type."""

    types = _types(schema)
    return types is None or any(t in types for t in JSON_TYPES.get(type(instance), ()))


def _coerce(raw: str, schema: Any) -> Any:
    """A query/header/path/form string as the type its schema names (left a string if it is not one)."""

    types = _types(schema) or ()
    if "integer" in types and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "number" in types:
        try:
            return float(raw)
        except ValueError:
            pass
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


# -- operations -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    #: pointer of its schema in the document ("" when it has none)
    schema: str
    explode: bool


@dataclass
class Operation:
    spec: Spec
    method: str
    template: str
    parameters: list[Parameter]
    #: alternatives, each a set of schemes that must all be satisfied (OpenAPI's security requirement)
    security: list[dict[str, Any]]
    #: request media type -> schema pointer
    body: dict[str, str]
    body_required: bool
    #: status key ("200", "4XX", "default") -> media type -> schema pointer ({} when the answer has no body)
    responses: dict[str, dict[str, str]]
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        parts = re.split(r"(\{[^}]+\})", self.template)
        regex = "".join(f"(?P<p{n}>[^/]+)" if p.startswith("{") else re.escape(p) for n, p in enumerate(parts))
        self.pattern = re.compile(regex + "$")

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.template}"

    def path_values(self, path: str) -> dict[str, str] | None:
        match = self.pattern.match(path)
        if match is None:
            return None
        names = [p[1:-1] for p in re.split(r"(\{[^}]+\})", self.template) if p.startswith("{")]
        return {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)}

    def params(self, location: str) -> dict[str, Parameter]:
        return {
            p.name.lower() if location == "header" else p.name: p for p in self.parameters if p.location == location
        }

    # -- requests ----------------------------------------------------------------------------

    def check_request(
        self, path: str, query: str, headers: Mapping[str, str], body: bytes, *, required_headers: Mapping[str, str]
    ) -> Iterator[Finding]:
        yield from self._check_path(path)
        yield from self._check_query(query)
        yield from self._check_headers(headers, required_headers)
        yield from self._check_security(headers)
        yield from self._check_body(headers, body)

    def _check_value(self, where: str, param: Parameter, raw: str | list[str]) -> Iterator[Finding]:
        if not param.schema:
            return
        schema = self.spec.node(param.schema)
        instance = (
            [_coerce(v, (schema or {}).get("items")) for v in raw] if isinstance(raw, list) else _coerce(raw, schema)
        )
        yield from self.spec.validate(param.schema, instance, where)

    def _check_path(self, path: str) -> Iterator[Finding]:
        values = self.path_values(path) or {}
        for name, param in self.params("path").items():
            if name in values:
                yield from self._check_value(f"path.{name}", param, values[name])

    def _check_query(self, query: str) -> Iterator[Finding]:
        declared = self.params("query")
        free_form = any(
            p.explode and _types(self.spec.node(p.schema)) == ("object",) for p in declared.values() if p.schema
        )
        given: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            given.setdefault(name, []).append(value)
        for name, values in given.items():
            param = declared.get(name)
            if param is None:
                if not free_form:
                    yield Finding(f"query.{name}", "not a query parameter of this operation")
                continue
            schema = self.spec.node(param.schema) if param.schema else None
            if _types(schema) == ("array",):
                items = values if param.explode else [v for value in values for v in value.split(",")]
                yield from self._check_value(f"query.{name}", param, items)
            elif len(values) > 1:
                yield Finding(f"query.{name}", f"given {len(values)} times; the parameter takes one value")
            else:
                yield from self._check_value(f"query.{name}", param, values[0])
        for name, param in declared.items():
            if param.required and name not in given:
                yield Finding(f"query.{name}", "required query parameter missing")

    def _check_headers(self, headers: Mapping[str, str], required: Mapping[str, str]) -> Iterator[Finding]:
        for name, param in self.params("header").items():
            if name in headers:
                yield from self._check_value(f"header.{param.name}", param, headers[name])
            elif param.required:
                yield Finding(f"header.{param.name}", "required header missing")
        for name, value in required.items():
            sent = headers.get(name.lower())
            if sent != value:
                yield Finding(f"header.{name}", f"must be {value!r}; sent {sent!r}")

    def _check_security(self, headers: Mapping[str, str]) -> Iterator[Finding]:
        if not self.security or any(not alternative for alternative in self.security):
            return
        schemes = self.spec.document.get("components", {}).get("securitySchemes", {})
        for alternative in self.security:
            if all(_satisfies(schemes.get(name, {}), headers) for name in alternative):
                return
        wanted = " or ".join(" + ".join(alternative) for alternative in self.security)
        yield Finding("header.Authorization", f"no credentials the operation accepts ({wanted})")

    def _check_body(self, headers: Mapping[str, str], body: bytes) -> Iterator[Finding]:
        if not body:
            if self.body_required:
                yield Finding("body", "required request body missing")
            return
        if not self.body:
            yield Finding("body", "the operation takes no request body")
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        pointer = self.body.get(media)
        if pointer is None:
            yield Finding("header.Content-Type", f"{media!r} is not one of {sorted(self.body)}")
            return
        instance = _parse(media, body)
        if isinstance(instance, Finding):
            yield instance
            return
        if "form" in media and isinstance(instance, dict):
            properties = (self.spec.node(pointer) or {}).get("properties", {})
            instance = {k: _coerce(v, self.spec.deref(properties.get(k, {}))) for k, v in instance.items()}
        yield from self.spec.validate(pointer, instance, "body")

    # -- answers -----------------------------------------------------------------------------

    def response(self, status: int) -> dict[str, str] | None:
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in self.responses:
                return self.responses[key]
        return None

    def answer_schema(self, status: int, content_type: str) -> str | None:
        media = self.response(status) or {}
        wanted = content_type.split(";")[0].strip().lower()
        if wanted in media:
            return media[wanted]
        if wanted.endswith("+json") or wanted == "application/json":
            return next((p for m, p in media.items() if m.endswith("json")), None)
        return None

    def check_answer(self, status: int, content_type: str, body: bytes) -> Iterator[Finding]:
        media = self.response(status)
        if media is None:
            yield Finding("status", f"{status} is not a documented answer (documented: {sorted(self.responses)})")
            return
        if not body:
            if media and status not in (204, 205, 304):
                yield Finding("body", f"the documented {status} answer has a body ({sorted(media)}); none was sent")
            return
        if not media:
            yield Finding("body", f"the documented {status} answer has no body")
            return
        pointer = self.answer_schema(status, content_type)
        if pointer is None:
            yield Finding("header.Content-Type", f"{content_type!r} is not one of {sorted(media)}")
            return
        instance = _parse(content_type, body)
        if isinstance(instance, Finding):
            yield instance
            return
        yield from self.spec.validate(pointer, instance, "body")


def _satisfies(scheme: dict[str, Any], headers: Mapping[str, str]) -> bool:
    kind = scheme.get("type")
    if kind == "apiKey":
        if scheme.get("in") != "header":
            return True  # query/cookie keys: not what any vendor here uses
        return bool(headers.get(str(scheme.get("name", "")).lower()))
    authorization = headers.get("authorization", "")
    if kind == "http":
        return authorization.lower().startswith(str(scheme.get("scheme", "")).lower() + " ")
    if kind in ("oauth2", "openIdConnect"):
        return authorization.lower().startswith("bearer ")
    return True


def _message(error: ValidationError) -> str:
    """jsonschema's message, without the schema dumps of its combinator messages and never very long."""

    if error.validator in ("oneOf", "anyOf") and not error.context:
        message = f"fits more than one {error.validator} branch"
    elif error.validator in ("oneOf", "anyOf"):
        closest = best_match(error.context)
        message = f"fits no {error.validator} branch (closest: {closest.json_path}: {closest.message})"
    else:
        message = error.message
    return message if len(message) <= 240 else message[:240] + "…"


def _parse(content_type: str, body: bytes) -> Any:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        return json.loads(body)
    except ValueError:
        return Finding("body", f"not JSON ({content_type or 'no Content-Type'}): {body[:80]!r}")


# -- the document ---------------------------------------------------------------------------------------------


class Spec:
    """One OpenAPI document: its operations, schema validators and documented-shape pruning."""

    def __init__(self, path: Path, *, required_headers: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.uri = path.resolve().as_uri()
        self.document = load_document(path)
        #: headers every request to this document's operations must carry with exactly this value, which the
        #: document itself does not declare (e.g. a version header a vendor documents elsewhere)
        self.required_headers = dict(required_headers or {})
        registry: Registry[Any] = Registry().with_resource(self.uri, DRAFT202012.create_resource(self.document))
        self.registry = registry
        self.resolver: Resolver[Any] = registry.resolver(base_uri=self.uri)
        self._validators: dict[str, Draft202012Validator] = {}
        self.prefixes = self._server_paths()
        # literal paths before templated ones (/v1/tasks/definitions before /v1/tasks/{id})
        self.operations = sorted(self._operations(), key=lambda op: op.template.count("{"))

    def __repr__(self) -> str:
        return f"Spec({self.path.name})"

    def _server_paths(self) -> list[str]:
        prefixes = set()
        for server in self.document.get("servers") or []:
            url = str(server.get("url", ""))
            for name, variable in (server.get("variables") or {}).items():
                url = url.replace("{" + name + "}", str(variable.get("default", "")))
            prefixes.add(urlsplit(url).path.rstrip("/"))
        return sorted(p for p in prefixes if p)

    # -- references ----------------------------------------------------------------------------

    def lookup(self, pointer: str) -> Any:
        return self.resolver.lookup("#" + quote(pointer, safe="/~")).contents

    def follow(self, pointer: str) -> tuple[str, Any]:
        """The pointer and node at `pointer`, after following any `$ref` it holds."""

        node = self.lookup(pointer)
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            pointer = unquote(urldefrag(node["$ref"]).fragment)
            node = self.lookup(pointer)
        return pointer, node

    def node(self, pointer: str) -> Any:
        return self.follow(pointer)[1]

    def deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            schema = self.resolver.lookup(schema["$ref"]).contents
        return schema

    # -- operations ----------------------------------------------------------------------------

    def _operations(self) -> Iterator[Operation]:
        for template, _ in (self.document.get("paths") or {}).items():
            item_pointer, item = self.follow(f"/paths/{_escape(template)}")
            shared = self._parameters(f"{item_pointer}/parameters", item.get("parameters") or [])
            for method in METHODS:
                if method not in item:
                    continue
                at = f"{item_pointer}/{method}"
                op = item[method]
                own = self._parameters(f"{at}/parameters", op.get("parameters") or [])
                merged = {(p.location, p.name): p for p in [*shared, *own]}
                body: dict[str, str] = {}
                body_required = False
                if "requestBody" in op:
                    body_pointer, request_body = self.follow(f"{at}/requestBody")
                    body_required = bool(request_body.get("required"))
                    body = self._media(body_pointer, request_body)
                responses = {}
                for status in op.get("responses") or {}:
                    response_pointer, response = self.follow(f"{at}/responses/{_escape(status)}")
                    responses[str(status)] = self._media(response_pointer, response)
                security = op["security"] if "security" in op else self.document.get("security") or []
                yield Operation(self, method, template, list(merged.values()), security, body, body_required, responses)

    def _parameters(self, at: str, items: list[Any]) -> list[Parameter]:
        out = []
        for n in range(len(items)):
            pointer, param = self.follow(f"{at}/{n}")
            location = param.get("in", "")
            style = param.get("style", "form" if location in ("query", "cookie") else "simple")
            out.append(
                Parameter(
                    name=str(param.get("name")),
                    location=location,
                    required=bool(param.get("required")) or location == "path",
                    schema=f"{pointer}/schema" if "schema" in param else "",
                    explode=bool(param.get("explode", style == "form")),
                )
            )
        return out

    @staticmethod
    def _media(pointer: str, node: dict[str, Any]) -> dict[str, str]:
        return {
            media.lower(): f"{pointer}/content/{_escape(media)}/schema"
            for media, item in (node.get("content") or {}).items()
            if "schema" in item
        }

    def find(self, method: str, path: str) -> Operation | None:
        return next(self._matching(path, method), None)

    def template_of(self, path: str) -> str | None:
        """The path template a concrete path matches, whatever the method."""

        return next((op.template for op in self._matching(path, None)), None)

    def _matching(self, path: str, method: str | None) -> Iterator[Operation]:
        candidates = [path] + [path[len(p) :] or "/" for p in self.prefixes if path.startswith(p + "/")]
        for candidate in candidates:
            for op in self.operations:
                if (method is None or op.method == method.lower()) and op.pattern.match(candidate):
                    yield op

    def strip_prefix(self, path: str) -> str:
        return next((path[len(p) :] for p in self.prefixes if path.startswith(p + "/")), path)

    # -- schemas -------------------------------------------------------------------------------

    def validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            schema = {"$ref": f"{self.uri}#{quote(pointer, safe='/~')}"}
            self._validators[pointer] = Draft202012Validator(schema, registry=self.registry, format_checker=FORMATS)
        return self._validators[pointer]

    def validate(self, pointer: str, instance: Any, where: str) -> Iterator[Finding]:
        for error in self.validator(pointer).iter_errors(instance):
            yield Finding(f"{where} {error.json_path}", _message(error), self.schema_location(pointer, error))

    def schema_location(self, pointer: str, error: ValidationError) -> str:
        """Where in the document the failing keyword is. jsonschema leaves `$ref` out of schema paths, so a
        path key the current schema lacks means the error went through that schema's `$ref`."""

        location, node = self.follow(pointer)
        try:
            for key in error.absolute_schema_path:
                while isinstance(node, dict) and key not in node and isinstance(node.get("$ref"), str):
                    location = unquote(urldefrag(node["$ref"]).fragment)
                    node = self.resolver.lookup(node["$ref"]).contents
                node = node[key]
                location += "/" + _escape(key)
        except (KeyError, IndexError, TypeError, LookupError):
            return ""
        return "#" + location

    # -- documented shape ----------------------------------------------------------------------

    def prune(self, pointer: str, instance: Any) -> Any:
        """`instance` with every object property the schema at `pointer` does not declare removed."""

        return self._prune(self._expand([(self.lookup(pointer), self.resolver)], instance), instance)

    def _expand(self, schemas: list[tuple[Any, Resolver[Any]]], instance: Any, depth: int = 0) -> list[Any]:
        """Flatten `$ref`, allOf, anyOf and oneOf into the plain schemas that may apply to `instance`
        (branches whose type excludes it are dropped), each with the resolver its `$ref`s need."""

        out: list[tuple[Any, Resolver[Any]]] = []
        for schema, resolver in schemas:
            if not isinstance(schema, dict):
                out.append(({}, resolver) if schema is not False else (schema, resolver))
                continue
            if depth > 40:
                out.append(({}, resolver))
                continue
            if isinstance(schema.get("$ref"), str):
                resolved = resolver.lookup(schema["$ref"])
                out.extend(self._expand([(resolved.contents, resolved.resolver)], instance, depth + 1))
            if not _fits(schema, instance):
                continue
            out.append((schema, resolver))
            for key in ("allOf", "anyOf", "oneOf"):
                branches = [(s, resolver) for s in schema.get(key) or []]
                out.extend(self._expand(branches, instance, depth + 1))
        return out

    def _prune(self, schemas: list[Any], instance: Any) -> Any:
        if isinstance(instance, dict):
            declared: dict[str, list[tuple[Any, Resolver[Any]]]] = {}
            patterns: list[tuple[re.Pattern[str], Any, Resolver[Any]]] = []
            extra: list[tuple[Any, Resolver[Any]]] = []
            closed = False
            for schema, resolver in schemas:
                if not isinstance(schema, dict):
                    continue
                for name, sub in (schema.get("properties") or {}).items():
                    declared.setdefault(name, []).append((sub, resolver))
                    closed = True
                for regex, sub in (schema.get("patternProperties") or {}).items():
                    patterns.append((re.compile(regex), sub, resolver))
                    closed = True
                more = schema.get("additionalProperties", None)
                if more is not None and more is not False:
                    extra.append((more, resolver))
            if not closed and not extra:
                return instance  # a free-form object: everything in it is documented
            out = {}
            for key, value in instance.items():
                subs = declared.get(key, []) + [(s, r) for regex, s, r in patterns if regex.search(key)]
                if not subs:
                    if not extra:
                        continue
                    subs = extra
                out[key] = self._prune(self._expand(subs, value), value)
            return out
        if isinstance(instance, list):
            items = [(s["items"], r) for s, r in schemas if isinstance(s, dict) and "items" in s]
            if not items:
                return instance
            return [self._prune(self._expand(items, value), value) for value in instance]
        return instance
