"""Discovery tools: what each vendor can do, and who can be assigned."""

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from ...capabilities import VendorsReport
from ...service import FoundPeople
from ._common import ToolSpec, VendorArg, boundary, page_reporter, service


@boundary
async def list_vendors(
    ctx: Context[Any, Any],
    vendor: Annotated[str | None, Field(max_length=50, description="Only this vendor.")] = None,
    detail: Annotated[bool, Field(description="Add required fields, reasons, limits.")] = False,
) -> VendorsReport:
    """What each vendor can do; detail=true adds why not, what instead, required fields."""
    return service(ctx).list_vendors(vendor, detail=detail)


@boundary
async def find_people(
    ctx: Context[Any, Any],
    vendor: VendorArg,
    query: Annotated[str, Field(min_length=1, max_length=200, description="Name prefix or email.")],
    limit: Annotated[int, Field(ge=1, le=50, description="Most people to return.")] = 10,
) -> FoundPeople:
    """Look up people to assign by name prefix or email; pass a returned id as an assignee."""
    return await service(ctx).find_people(vendor, query, limit, on_page=page_reporter(ctx, "find_people", vendor))


TOOLS = [
    ToolSpec(list_vendors, "List vendors and capabilities", "read"),
    ToolSpec(find_people, "Find people", "read", operations=("find_people",)),
]
