"""Performance benchmarks against the MCP SDK's own floor (not collected by pytest; see the README, Performance)."""
