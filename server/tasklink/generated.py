"""Files generated from the live server and the settings, checked in, and kept current by tests.

- `tool_manifests/tools/<tool>.json`: each tool's definition as `tools/list` shows it (name, title,
  description, input and output schema, annotations);
- the README's tool table and capability matrix, between `<!-- tools:start -->`/`<!-- tools:end -->`
  and `<!-- capabilities:start -->`/`<!-- capabilities:end -->`;
- `server.json` for the MCP Registry: the PyPI package, stdio, and every environment variable the
  settings read, with descriptions and which ones are secret;
- `tool_manifests/README.md`: the manifest format, from the models in `manifests.py` (keys, types,
  defaults and each `Field(description=...)`).

`tasklink manifests --write` regenerates them; `tasklink manifests --check` exits non-zero when any
is stale. Both work from a source checkout only.
"""

from __future__ import annotations

import inspect
import json
import tempfile
import types
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from . import __version__
from .capabilities import VendorInfo, vendor_info
from .manifests import OPERATIONS, ManifestFile, OperationName, load_manifests

ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = ROOT / "tool_manifests" / "tools"
README = ROOT / "README.md"
SERVER_JSON = ROOT / "server.json"
MANIFEST_FORMAT = ROOT / "tool_manifests" / "README.md"

#: the MCP Registry name; a PyPI package proves ownership with `mcp-name: <this>` in its README
REGISTRY_NAME = "io.github.tasklink/tasklink"
REGISTRY_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
REGISTRY_DESCRIPTION = "Tasks and legal intakes in SpotDraft, Trackops, Lightfield and Workiva, with guardrails."
DEFINITION_KEYS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")

#: descriptions for settings whose field carries none
ENV_DESCRIPTIONS = {
    "TASKLINK_EXCLUDE_TOOLS": "Deny-list of tools (comma-separated); unknown names stop start-up.",
}


# -- tool definitions --------------------------------------------------------------------


async def tool_definitions() -> dict[str, dict[str, Any]]:
    """Every tool as a client sees it in `tools/list`, from a server with every tool enabled and every tool
    built (not read back from the files this writes)."""

    from mcp import Client

    from .mcp.server import build_server
    from .settings import TaskLinkSettings

    with tempfile.TemporaryDirectory() as data:
        settings = TaskLinkSettings(
            data_dir=Path(data), sandbox=True, read_only=False, tools=[], exclude_tools=[], vendors=[]
        )
        async with Client(build_server(settings, checked_in=False)) as client:
            tools = (await client.list_tools()).tools
    out = {}
    for tool in tools:
        dumped = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        out[tool.name] = {key: dumped[key] for key in DEFINITION_KEYS if key in dumped}
    return out


def render_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- README regions ------------------------------------------------------------------------


def _kind(definition: dict[str, Any]) -> str:
    ann = definition.get("annotations", {})
    if ann.get("readOnlyHint"):
        return "read"
    kind = "destructive" if ann.get("destructiveHint") else "write"
    return kind + (", idempotent" if ann.get("idempotentHint") else "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def tools_table(definitions: dict[str, dict[str, Any]]) -> str:
    rows = ["| tool | title | kind | what it does |", "|---|---|---|---|"]
    for name, d in definitions.items():
        rows.append(f"| `{name}` | {_cell(d.get('title', ''))} | {_kind(d)} | {_cell(d.get('description', ''))} |")
    return "\n".join(rows)


def vendor_infos() -> list[VendorInfo]:
    """Capabilities from the manifests alone (no configuration): the same builder list_vendors uses."""

    return [vendor_info(m, mode="sandbox", today=date(2000, 1, 1)) for m in load_manifests().values()]


def capability_matrix(infos: list[VendorInfo]) -> str:
    rows = [
        "| operation | " + " | ".join(i.title for i in infos) + " |",
        "|---|" + "---|" * len(infos),
    ]
    for op in OPERATIONS:
        cells = []
        for info in infos:
            found = next(o for o in info.operations if o.name == op)
            cells.append("yes" if found.supported else "no")
        rows.append(f"| `{op}` | " + " | ".join(cells) + " |")
    notes = []
    for info in infos:
        for dep in info.deprecations:
            notes.append(
                f"- {info.title}: `{dep.setting}={dep.value}` selects {dep.subject}: deprecated {dep.deprecated}, "
                f"sunset {dep.sunset} (refused from that day)."
            )
    tail = ["", "Deprecations:", "", *notes] if notes else []
    return "\n".join(
        [
            *rows,
            "",
            "Each `no` comes with the reason and the supported alternative in `list_vendors` and "
            "`capabilities://{vendor}`.",
            *tail,
        ]
    )


def replace_region(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"README.md needs exactly one {start} … {end} region")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    note = f"<!-- generated by `tasklink manifests --write`; edit {name} at the source, not here -->"
    return f"{head}{start}\n{note}\n\n{body}\n\n{end}{tail}"


def readme(definitions: dict[str, dict[str, Any]], current: str) -> str:
    text = replace_region(current, "tools", tools_table(definitions))
    return replace_region(text, "capabilities", capability_matrix(vendor_infos()))


# -- server.json -----------------------------------------------------------------------------


def _types(annotation: Any) -> set[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return {t for arg in get_args(annotation) for t in _types(arg)}
    return {get_origin(annotation) or annotation}


def _env_entry(env: str, info: FieldInfo) -> dict[str, Any]:
    kinds = _types(info.annotation) - {type(None)}
    description = info.description or ENV_DESCRIPTIONS.get(env)
    if not description:
        raise ValueError(f"{env} has no description: add one to the setting's Field or to ENV_DESCRIPTIONS")
    entry: dict[str, Any] = {"name": env, "description": description}
    if kinds <= {bool}:
        entry["format"] = "boolean"
    elif kinds <= {int, float}:
        entry["format"] = "number"
    elif kinds <= {Path}:
        entry["format"] = "filepath"
    else:
        entry["format"] = "string"
    entry["isRequired"] = False
    entry["isSecret"] = SecretStr in kinds
    default = info.default
    if not info.default_factory and isinstance(default, bool | int | float | str) and not entry["isSecret"]:
        entry["default"] = str(default).lower() if isinstance(default, bool) else str(default)
    return entry


def settings_classes() -> list[type[BaseSettings]]:
    from .refs import load_object
    from .settings import TaskLinkSettings

    classes: list[type[BaseSettings]] = [TaskLinkSettings]
    for manifest in load_manifests().values():
        classes.append(load_object(manifest.adapter).settings_class)
    return classes


def environment_variables() -> list[dict[str, Any]]:
    out = []
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field, info in cls.model_fields.items():
            out.append(_env_entry((prefix + field).upper(), info))
    return out


def server_json() -> dict[str, Any]:
    return {
        "$schema": REGISTRY_SCHEMA,
        "name": REGISTRY_NAME,
        "title": "tasklink",
        "description": REGISTRY_DESCRIPTION,
        "version": __version__,
        "packages": [
            {
                "registryType": "pypi",
                "registryBaseUrl": "https://pypi.org",
                "identifier": "tasklink",
                "version": __version__,
                "runtimeHint": "uvx",
                "transport": {"type": "stdio"},
                "packageArguments": [{"type": "positional", "value": "serve", "description": "Serve MCP over stdio."}],
                "environmentVariables": environment_variables(),
            }
        ],
    }


# -- the manifest format -----------------------------------------------------------------------

#: the order of the format's sections; tables not named here follow in the model's order
TABLE_ORDER = ("vendor", "statuses", "vendor_statuses", "priorities", "limits", "rate_limits", "idempotency")
SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", date: "date"}


def _type_name(annotation: Any) -> str:
    """A field's type in TOML words: `array of string`, `table of number`, `Requirement`."""

    if annotation == OperationName:
        return "operation name"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is Literal:
        return " or ".join(json.dumps(a) for a in args)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        return "[" + ", ".join(_type_name(a) for a in args) + "]"
    if origin in (tuple, list):
        return f"array of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return SCALARS[annotation]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple | list | dict | BaseModel) and not (
        value.model_dump(exclude_defaults=True) if isinstance(value, BaseModel) else value
    ):
        return "empty"
    return json.dumps(value.model_dump() if isinstance(value, BaseModel) else value)


def _keys_table(model: type[BaseModel]) -> list[str]:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if not info.description:
            raise ValueError(f"{model.__name__}.{name} has no description: add one to its Field")
        rows.append(
            f"| `{name}` | {_cell(_type_name(info.annotation))} | {_cell(_default(info))} | {_cell(info.description)} |"
        )
    return rows


def _model_section(model: type[BaseModel], level: str, done: set[type[BaseModel]]) -> list[str]:
    """A table's docstring and keys, then the tables its keys hold (each documented once)."""

    done.add(model)
    lines = [inspect.cleandoc(model.__doc__ or ""), "", *_keys_table(model), ""]
    for info in model.model_fields.values():
        for inner in _models_in(info.annotation):
            if inner not in done:
                lines += [f"{level}# {inner.__name__}", "", *_model_section(inner, level + "#", done)]
    return lines


def _table_header(name: str, annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        origin = get_origin(next(a for a in get_args(annotation) if a is not type(None)))
    if origin is tuple:
        return f"[[{name}]]"
    if origin is dict and _models_in(annotation):
        return f"[{name}.<name>]"
    return f"[{name}]"


def manifest_format() -> str:
    """`tool_manifests/README.md`: every table and key of a manifest, from the models."""

    fields = ManifestFile.model_fields
    order = [n for n in TABLE_ORDER if n in fields] + [n for n in fields if n not in TABLE_ORDER]
    lines = [
        "# Vendor manifests",
        "",
        "<!-- generated by `tasklink manifests --write` from server/tasklink/manifests.py; edit the models there -->",
        "",
        inspect.cleandoc(ManifestFile.__doc__ or ""),
        "",
        "Operations: " + ", ".join(f"`{op}`" for op in OPERATIONS) + ".",
        "",
    ]
    done: set[type[BaseModel]] = {ManifestFile}
    for name in order:
        info = fields[name]
        lines += [f"## `{_table_header(name, info.annotation)}`" + (" (required)" if info.is_required() else ""), ""]
        models = _models_in(info.annotation)
        if models:
            lines += _model_section(models[0], "##", done)
        else:
            lines += [f"{info.description} Type: {_type_name(info.annotation)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


# -- all together ----------------------------------------------------------------------------


async def expected_files() -> dict[Path, str]:
    """Every generated file, by path, as it should read now."""

    if not (ROOT / "pyproject.toml").is_file():
        raise FileNotFoundError("generated files live in a source checkout; run this from one")
    definitions = await tool_definitions()
    files = {TOOLS_DIR / f"{name}.json": render_json(d) for name, d in sorted(definitions.items())}
    files[README] = readme(definitions, README.read_text(encoding="utf-8"))
    files[SERVER_JSON] = render_json(server_json())
    files[MANIFEST_FORMAT] = manifest_format()
    return files


def stale(expected: dict[Path, str]) -> list[Path]:
    """Files that differ from what they should be, plus tool files no tool produces any more."""

    out = [p for p, text in expected.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    out += [p for p in sorted(TOOLS_DIR.glob("*.json")) if p not in expected]
    return out


def write(expected: dict[Path, str]) -> list[Path]:
    changed = stale(expected)
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    for path in changed:
        if path in expected:
            path.write_text(expected[path], encoding="utf-8")
        else:
            path.unlink()
    return changed
