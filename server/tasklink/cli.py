"""`tasklink` command line: serve, tools, call, sandbox, audit, state."""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from .mcp.server import TaskLinkServer
    from .settings import TaskLinkSettings
    from .state import StateStore, Status

T = TypeVar("T")


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"tasklink: {message}", err=True)
    sys.exit(code)


def _server() -> TaskLinkServer:
    from .errors import ConfigurationError, StateUnavailable
    from .mcp.server import build_server

    try:
        return build_server()
    except (ConfigurationError, StateUnavailable) as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers happy


def _started() -> None:
    """Start-up is over: the objects made so far (modules, models, the server) are kept for the life of the
    process, so the garbage collector, paused while they were made, sets them aside and resumes for the
    rest. (Collecting during the imports only re-scans them, again and again: about a tenth of start-up.)"""

    gc.freeze()
    gc.enable()


def _banner(server: TaskLinkServer) -> None:
    from . import __version__

    tl = server.service
    modes = ", ".join(f"{rt.name}={rt.mode}" for rt in tl.vendors.runtimes.values())
    click.echo(f"tasklink {__version__}: vendors {modes}; data in {tl.settings.data_dir}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tasklink")
def main() -> None:
    """MCP server for tasks and legal intakes across SpotDraft, Trackops, Lightfield and Workiva."""


@main.command()
@click.option("--http", "use_http", is_flag=True, help="Serve Streamable HTTP at /mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP bind address (non-loopback needs auth).")
@click.option("--port", default=8000, show_default=True, type=int, help="HTTP port.")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Extra Host name clients use (repeatable); '*' turns the Host check off behind a proxy that pins it.",
)
@click.option("--stateless", is_flag=True, help="No sessions: any of several workers can answer any request.")
def serve(use_http: bool, host: str, port: int, allowed_hosts: tuple[str, ...], stateless: bool) -> None:
    """Run the MCP server (stdio by default, as desktop clients launch it)."""
    gc.disable()  # until _started(): the start-up imports make no garbage worth collecting
    if not use_http:
        server = _server()
        _banner(server)
        server.service.transport = "stdio"
        _started()
        server.run("stdio")
        return
    from pydantic import ValidationError

    from .errors import ConfigurationError
    from .mcp.deployment import HttpOptions, HttpSettings, describe, http_app, refuse_open_bind, uvicorn_options

    options = HttpOptions(host=host, port=port, allowed_hosts=list(allowed_hosts), stateless=stateless)
    try:
        http = HttpSettings()
    except ValidationError as exc:
        # name the variable, without pydantic's report around it
        _fail("; ".join(f"TASKLINK_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))
        return
    try:
        refuse_open_bind(http, options)  # before building anything
        server = _server()
        app = http_app(server, options, http)
    except (ConfigurationError, ValueError) as exc:
        _fail(str(exc))
        return
    _banner(server)
    for line in describe(options, http, server.service.settings):
        click.echo(line, err=True)
    import uvicorn

    _started()
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options(http))


@main.command()
def tools() -> None:
    """List the tools this configuration exposes, one per line."""
    from .errors import ConfigurationError
    from .mcp.server import allowed_tools
    from .settings import TaskLinkSettings

    try:
        specs = allowed_tools(TaskLinkSettings())
    except ConfigurationError as exc:
        _fail(str(exc))
        return
    width = max(len(s.name) for s in specs) if specs else 0
    for spec in specs:
        doc = (spec.fn.__doc__ or "").strip().splitlines()[0]
        click.echo(f"{spec.name:<{width}}  [{spec.kind}]  {doc}")


@main.command()
@click.argument("tool")
@click.option("--args", "args_json", default="{}", show_default=True, help="Tool arguments as a JSON object.")
def call(tool: str, args_json: str) -> None:
    """Call one tool in-process and print its structured result as JSON (exit 1 on a tool error)."""
    try:
        arguments = json.loads(args_json)
    except ValueError as exc:
        _fail(f"--args is not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        _fail("--args must be a JSON object")
    server = _server()
    import anyio

    result = anyio.run(_call, server, tool, arguments)
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        click.echo(text, err=True)
        sys.exit(1)
    click.echo(json.dumps(result.structured_content, indent=2, ensure_ascii=False))


async def _call(server: MCPServer, tool: str, arguments: dict[str, Any]) -> Any:
    from mcp import Client

    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


@main.command()
@click.option("--write", "do_write", is_flag=True, help="Regenerate the stale files.")
@click.option("--check", "do_check", is_flag=True, help="Exit 1 when a generated file is stale (the default).")
def manifests(do_write: bool, do_check: bool) -> None:
    """Generated files: tool_manifests/tools/*.json, the README's tool table and capability matrix, server.json,
    tool_manifests/README.md (the manifest format)."""
    import anyio

    from .generated import ROOT, expected_files, stale, write

    try:
        expected = anyio.run(expected_files)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
        return
    changed = write(expected) if do_write else stale(expected)
    for path in changed:
        click.echo(f"{'wrote' if do_write else 'stale'}: {path.relative_to(ROOT)}")
    if not do_write and changed:
        click.echo("tasklink: run `tasklink manifests --write` and commit the result", err=True)
        sys.exit(1)
    if not changed:
        click.echo("generated files are current")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
def sandbox(host: str, port: int) -> None:
    """Serve every vendor simulator over HTTP at http://HOST:PORT/<vendor>."""
    import uvicorn

    from .sandbox.server import loopback_app
    from .settings import TaskLinkSettings

    settings = TaskLinkSettings()
    app, hints = loopback_app(settings, f"http://{host}:{port}")
    for line in hints:
        click.echo(line, err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command()
@click.option("--since", default=None, help="Only entries at or after this ISO 8601 time (or N[smhd] ago, e.g. 2h).")
@click.option("--limit", default=None, type=int, help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array) instead of a table.")
def audit(since: str | None, limit: int | None, as_json: bool) -> None:
    """Print the audit log: every write, replay, dry run and refused write."""
    from .settings import TaskLinkSettings
    from .state import store_kind

    settings = TaskLinkSettings()
    if (
        store_kind(settings) == "sqlite"
        and settings.state_url is None
        and not (settings.data_dir / "state.sqlite3").exists()
    ):
        entries: list[dict[str, Any]] = []  # nothing was written here yet
    else:
        entries = _with_store(settings, lambda store: _audit_entries(store, _since(since), limit))
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    for e in entries:
        when = _iso(e["at"])
        target = _printable(f"{e['vendor'] or '-'}:{e['target'] or '-'}")
        key = f" key={_printable(e['idempotency_key'])}" if e["idempotency_key"] else ""
        outcome = "attempt (outcome unknown if the server stopped)" if e["outcome"] == "attempt" else e["outcome"]
        click.echo(f"{when}  {_printable(e['transport']):<8} {_printable(e['tool']):<24} {target:<24} {outcome}{key}")


async def _audit_entries(store: StateStore, since: float | None, limit: int | None) -> list[dict[str, Any]]:
    from .policy.ledger import AuditLog

    return await AuditLog(store).entries(since=since, limit=limit)


def _with_store(settings: TaskLinkSettings, work: Callable[[StateStore], Awaitable[T]], *, migrate: bool = False) -> T:
    """Run `work` on the configured state store (not migrated unless asked: reading never changes it); a
    store problem is one line on stderr and exit status 1."""

    import anyio

    from .errors import TaskLinkError
    from .state import open_store

    async def run() -> T:
        store = open_store(settings, migrate=migrate)
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return anyio.run(run)
    except TaskLinkError as exc:
        raise click.ClickException(exc.message) from None


@main.group()
def state() -> None:
    """The state store (TASKLINK_STATE_URL): its schema and what it holds."""


@state.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def state_status(as_json: bool) -> None:
    """Where the state is, its schema version against this tasklink's, and its row counts."""
    from .settings import TaskLinkSettings

    async def read(store: StateStore) -> Status:
        return await store.status()

    status = _with_store(TaskLinkSettings(), read)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(status), indent=2))
        return
    behind = "" if status.schema_version == status.code_version else " (run `tasklink state migrate`)"
    click.echo(f"store: {status.kind} {status.where}")
    click.echo(f"schema: version {status.schema_version}; this tasklink: {status.code_version}{behind}")
    for table, count in status.tables.items():
        click.echo(f"  {table}: {count} rows")


@state.command("migrate")
def state_migrate() -> None:
    """Apply the schema migrations this tasklink needs (workers also do this as they start)."""
    from .settings import TaskLinkSettings

    async def read(store: StateStore) -> Status:
        return await store.status()

    status = _with_store(TaskLinkSettings(), read, migrate=True)
    click.echo(f"{status.kind} {status.where}: schema version {status.schema_version} (up to date)")


def _printable(value: object) -> str:
    """Text from the audit with control characters escaped, so a crafted id cannot rewrite the terminal."""

    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in str(value))


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _since(value: str | None) -> float | None:
    import time
    from datetime import datetime

    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1:] in units and value[:-1].isdigit():
        return time.time() - int(value[:-1]) * units[value[-1]]
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        _fail(f"--since {value!r} is neither an ISO 8601 time nor a duration like 30m, 2h or 7d")
        raise
