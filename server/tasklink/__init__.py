"""tasklink: one MCP server for tasks and legal intakes across SpotDraft, Trackops, Lightfield and Workiva."""

__version__ = "0.1.0"
