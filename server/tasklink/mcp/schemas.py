"""Tool schemas without the noise pydantic adds: every byte of `tools/list` costs context on every turn.

Pydantic titles each property after its own name (`"task_id": {"title": "Task Id", ...}`),
writes `"default": null` on every optional one (which `required` already says) and marks free-form
objects `"additionalProperties": true` (the default). None of it helps a model or a validator, so
it goes; descriptions, types, enums and limits stay.

Input schemas also offer each optional argument as `anyOf: [<type>, {"type": "null"}]`; leaving
the argument out is how a caller says "none", so the schema shows the type alone (the server still
accepts null). Length caps of 1,000 characters or more guard the server and are never a limit a
model plans around: they are enforced without being advertised. Output schemas keep their nulls,
because results contain them.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from .sdk import registered_tools

#: keys whose value maps names to schemas (a property called "title" is a name, not a keyword)
NAMED_SCHEMAS = ("properties", "$defs", "patternProperties")


def compact_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key == "additionalProperties" and value is True:  # the default
            continue
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: compact_schema(sub) for name, sub in value.items()}
        else:
            out[key] = compact_schema(value)
    return out


#: string limits at or above this guard the server (which still enforces them), not anything a model plans around
GUARD_LENGTH = 1000


def simplify_input_schema(schema: Any) -> Any:
    """Optional properties lose their `anyOf: [X, {"type": "null"}]` wrapper; guard-sized `maxLength` goes."""

    if isinstance(schema, list):
        return [simplify_input_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: simplify_input_schema(value) for key, value in schema.items() if key not in NAMED_SCHEMAS}
    if isinstance(out.get("maxLength"), int) and out["maxLength"] >= GUARD_LENGTH:
        del out["maxLength"]
    for key in NAMED_SCHEMAS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: simplify_input_schema(sub) for name, sub in schema[key].items()}
    required = set(schema.get("required") or ())
    for name, prop in (out.get("properties") or {}).items():
        options = prop.get("anyOf") if isinstance(prop, dict) else None
        if name in required or not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
            continue
        (other,) = [o for o in options if o != {"type": "null"}]
        if isinstance(other, dict) and not set(other) & set(prop):
            rest = {k: v for k, v in prop.items() if k != "anyOf"}
            out["properties"][name] = {**other, **rest}
    return out


def offer_vendors(server: MCPServer, vendors: list[str]) -> None:
    """Every tool's `vendor` argument lists exactly the vendors this server has configured."""

    for tool in registered_tools(server):
        offer_vendor_names(tool.parameters, vendors)


def offer_vendor_names(input_schema: dict[str, Any], vendors: list[str]) -> None:
    """One tool's `vendor` argument (when it has a list of names) lists exactly `vendors`."""

    vendor = input_schema.get("properties", {}).get("vendor")
    if isinstance(vendor, dict) and "enum" in vendor:
        vendor["enum"] = list(vendors)


def compact_tool_schemas(server: MCPServer) -> None:
    """Compact the input and output schema of every tool registered on an `MCPServer`."""

    for tool in registered_tools(server):
        compact_tool(tool)


def compact_tool(tool: Any) -> None:
    """Compact one registered tool's input and output schema."""

    tool.parameters = simplify_input_schema(compact_schema(tool.parameters))
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = compact_schema(tool.fn_metadata.output_schema)
