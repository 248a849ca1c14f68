"""Lookup tool: the ids other tools need besides people (cases, workflows, accounts, locations...)."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ...service import FoundRecords
from ...service.lookups import record_kinds
from ._common import ToolSpec, VendorArg, boundary, page_reporter, service

KindArg = Annotated[str, Field(description="Record kind.", json_schema_extra={"enum": record_kinds()})]


@boundary
async def find_records(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    kind: KindArg,
    query: Annotated[str | None, Field(max_length=200, description="Name prefix (none: any).")] = None,
    limit: Annotated[int, Field(ge=1, le=50, description="Most to return.")] = 10,
) -> FoundRecords:
    """Find ids other tools need (cases, workflows, accounts, locations...) by name; `use` says where they go."""
    return await service(ctx).find_records(
        vendor, kind, query, limit, on_page=page_reporter(ctx, "find_records", vendor)
    )


TOOLS = [ToolSpec(find_records, "Find records", "read", operations=("find_records",))]
