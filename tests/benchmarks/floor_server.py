"""The floor: the `mcp` SDK's own one-tool `MCPServer`, as the SDK notes measured it.

`python floor_server.py` serves stdio; `python floor_server.py --http PORT` serves Streamable HTTP
at /mcp on 127.0.0.1 with the SDK's defaults (SSE responses, sessions), like `tasklink serve --http`.
"""

import sys

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("tiny")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        import uvicorn

        uvicorn.run(mcp.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        mcp.run("stdio")
