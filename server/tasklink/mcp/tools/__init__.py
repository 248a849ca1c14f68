"""The MCP front end: one list of every tool."""

from ._common import ToolSpec
from .intakes import TOOLS as INTAKE_TOOLS
from .lookups import TOOLS as LOOKUP_TOOLS
from .tasks import TOOLS as TASK_TOOLS
from .vendors import TOOLS as VENDOR_TOOLS
from .work import TOOLS as WORK_TOOLS

ALL_TOOLS: list[ToolSpec] = [*INTAKE_TOOLS, *TASK_TOOLS, *WORK_TOOLS, *VENDOR_TOOLS, *LOOKUP_TOOLS]

__all__ = ["ALL_TOOLS", "ToolSpec"]
