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


def _settings() -> TaskLinkSettings:
    """The settings the start-up check read (`main`), or read now (a command it does not check)."""

    from .settings import TaskLinkSettings

    found = click.get_current_context().find_object(TaskLinkSettings)
    return found if found is not None else TaskLinkSettings()


def _server() -> TaskLinkServer:
    from .config_check import operator_line
    from .errors import ConfigurationError, StateUnavailable
    from .mcp.server import build_server

    try:
        return build_server(_settings())
    except (ConfigurationError, StateUnavailable) as exc:
        _fail(operator_line(exc))
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


class _Commands(click.Group):
    """A configuration mistake met by any command is one line per mistake on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        words = [*getattr(ctx, "_protected_args", ()), *ctx.args]  # what follows `tasklink`: help needs no check
        ctx.meta["tasklink.help"] = any(word in ctx.help_option_names for word in words)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from .config_check import problem_lines

            lines = problem_lines(exc)
            if lines is None:
                raise
            for line in lines:
                click.echo(f"tasklink: {line}", err=True)
            sys.exit(2)


#: commands that check the configuration their own way (or read none), not before they start
UNCHECKED = frozenset({"manifests", "doctor", "bundle"})


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tasklink")
@click.pass_context
def main(ctx: click.Context) -> None:
    """MCP server for tasks and legal intakes across SpotDraft, Trackops, Lightfield and Workiva."""
    if ctx.invoked_subcommand not in UNCHECKED and not ctx.meta["tasklink.help"]:
        from .config_check import check_environment

        # every TASKLINK_* and vendor variable, before anything starts: each mistake is one line, exit 2
        ctx.obj = check_environment()


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
    log_options = _observe()
    if not use_http:
        from .console import WAITING, interruptible_stdin, on_terminal

        server = _server()
        _banner(server)
        if on_terminal():
            click.echo(WAITING, err=True)
        server.service.transport = "stdio"
        _started()
        with interruptible_stdin() as interrupted:  # Ctrl-C ends the input, as Ctrl-D does
            server.run("stdio")
        if interrupted():
            sys.exit(130)
        return
    from .config_check import operator_line, read_settings
    from .errors import ConfigurationError
    from .mcp.deployment import HttpOptions, HttpSettings, describe, http_app, refuse_open_bind, uvicorn_options

    options = HttpOptions(host=host, port=port, allowed_hosts=list(allowed_hosts), stateless=stateless)
    http = read_settings(HttpSettings)  # a refused value: one line per variable (see _Commands)
    try:
        refuse_open_bind(http, options)  # before building anything
        server = _server()
        app = http_app(server, options, http)
    except (ConfigurationError, ValueError) as exc:
        _fail(operator_line(exc) if isinstance(exc, ConfigurationError) else str(exc))
        return
    _banner(server)
    for line in describe(options, http, server.service.settings):
        click.echo(line, err=True)
    import uvicorn

    _started()
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options(http), **log_options)


@main.command()
def tools() -> None:
    """List the tools this configuration exposes, one per line."""
    from .config_check import operator_line
    from .errors import ConfigurationError
    from .mcp.server import allowed_tools

    try:
        specs = allowed_tools(_settings())
    except ConfigurationError as exc:
        _fail(operator_line(exc))
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
    tool_manifests/README.md (the manifest format). Run inside a checkout, from any installation: its files
    are made by its own code."""
    import anyio

    from .config_check import problem_lines
    from .generated import ROOT, expected_files, stale, write

    if not (ROOT / "pyproject.toml").is_file():  # this tasklink is installed apart from a checkout
        _in_checkout(["--write"] if do_write else ["--check"] if do_check else [])
    try:
        expected = anyio.run(expected_files)
    except (FileNotFoundError, ValueError) as exc:
        _fail("; ".join(problem_lines(exc) or [str(exc)]))
        return
    changed = write(expected) if do_write else stale(expected)
    for path in changed:
        click.echo(f"{'wrote' if do_write else 'stale'}: {path.relative_to(ROOT)}")
    if not do_write and changed:
        click.echo("tasklink: run `tasklink manifests --write` and commit the result", err=True)
        sys.exit(1)
    if not changed:
        click.echo("generated files are current")


def _in_checkout(flags: list[str]) -> None:
    """Run `tasklink manifests` with the code of the checkout around the working directory (the files it
    generates are that code's), through this Python; exits with its status."""

    import os
    import subprocess
    from pathlib import Path

    checkout = next(
        (
            folder
            for folder in (Path.cwd(), *Path.cwd().parents)
            if (folder / "pyproject.toml").is_file() and (folder / "server" / "tasklink" / "generated.py").is_file()
        ),
        None,
    )
    if checkout is None:
        _fail("`tasklink manifests` checks and writes the generated files of a tasklink checkout: run it inside one")
        return
    path = os.pathsep.join(filter(None, [str(checkout / "server"), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tasklink", "manifests", *flags]
    sys.exit(subprocess.call(command, env={**os.environ, "PYTHONPATH": path}))  # noqa: S603


@main.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int, help="0 picks a free port.")
@click.pass_context
def sandbox(ctx: click.Context, host: str, port: int) -> None:
    """Serve every vendor simulator over HTTP at http://HOST:PORT/<vendor> (their state is the embedded
    sandbox's, in the data dir); `tasklink sandbox reset` empties them."""
    if ctx.invoked_subcommand is not None:
        return
    from .sandbox.server import base_url, listening_socket, loopback_app

    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        _fail(f"the sandbox cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port")
        return
    app, hints = loopback_app(_settings(), base_url(sock))  # the address only once it is ours
    for line in hints:
        click.echo(line, err=True)
    import uvicorn

    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then passed Ctrl-C on
        sys.exit(130)


@sandbox.command("reset")
def sandbox_reset() -> None:
    """Delete every simulator's records (their SQLite files in the data dir's sandbox/ folder) and the
    duplicate check's memory of creates made in them; stop running servers on the sandbox first."""
    from .sandbox.server import forget_recent_creates, remove_sandbox_files
    from .vendors.registry import vendors_on_sandbox

    settings = _settings()
    folder = settings.data_dir / "sandbox"
    removed = remove_sandbox_files(settings)
    click.echo(
        f"removed the sandbox state of {', '.join(removed)} from {folder}"
        if removed
        else f"the sandbox is already empty ({folder} holds no simulator state)"
    )
    if settings.state_url is None and not (settings.data_dir / "state.sqlite3").exists():
        return  # no create was remembered here
    on_sandbox = vendors_on_sandbox(settings)
    forgotten = _with_store(settings, lambda store: forget_recent_creates(store, on_sandbox), migrate=True)
    if forgotten:
        click.echo(f"forgot {forgotten} recent create(s) the duplicate check would have matched")


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


@main.group()
def credentials() -> None:
    """People's own vendor credentials (per-user identity), sealed in the state store with TASKLINK_VAULT_KEY."""


def _credential_fields(settings: TaskLinkSettings, vendor: str) -> tuple[str, ...]:
    from .manifests import load_manifests
    from .vendors.registry import adapter_for

    manifests = load_manifests(settings.manifest_dirs)
    if vendor not in manifests:
        raise click.ClickException(f"unknown vendor {vendor!r}; known: {', '.join(manifests)}")
    adapter = adapter_for(manifests[vendor])
    if not adapter.per_user_credentials:
        raise click.ClickException(f"{vendor}'s credentials belong to a workspace, not a person")
    return adapter.settings_class.credential_fields


def _read_secret(fields: tuple[str, ...]) -> dict[str, str]:
    """The credential from stdin: the bare value for a one-field credential, else a JSON object or field=value lines."""

    text = sys.stdin.read().strip()
    if not text:
        raise click.ClickException("no credential on stdin")
    if len(fields) == 1 and not text.startswith("{") and "=" not in text.splitlines()[0]:
        return {fields[0]: text}
    found: dict[str, str] = {}
    if text.startswith("{"):
        found = {str(k): str(v) for k, v in json.loads(text).items()}
    else:
        for line in text.splitlines():
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    missing, unknown = [f for f in fields if not found.get(f)], [f for f in found if f not in fields]
    if missing or unknown:
        raise click.ClickException(
            f"the credential needs exactly the fields {list(fields)} (missing {missing}, unknown {unknown})"
        )
    return found


def _vault(store: StateStore, settings: TaskLinkSettings) -> Any:
    from .policy.vault import Vault, parse_key

    key = settings.vault_key.get_secret_value() if settings.vault_key else None
    return Vault(store, parse_key(key) if key else None)


@credentials.command("set")
@click.option("--principal", required=True, help="Whose credential, e.g. oauth:<subject> or token:<name>.")
@click.option("--vendor", required=True, help="Which vendor (its manifest name).")
@click.option("--account", default=None, help="A note on whose vendor account it is (shown by list).")
def credentials_set(principal: str, vendor: str, account: str | None) -> None:
    """Store a person's credential, read from stdin (never from the command line)."""
    from .settings import TaskLinkSettings

    settings = TaskLinkSettings()
    fields = _read_secret(_credential_fields(settings, vendor))

    async def put(store: StateStore) -> None:
        await _vault(store, settings).put(principal, vendor, fields, account)

    _with_store(settings, put, migrate=True)
    click.echo(f"stored the {vendor} credential of {principal}")


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def credentials_list(as_json: bool) -> None:
    """Who has connected which vendor (no secret is shown)."""
    from .settings import TaskLinkSettings

    settings = TaskLinkSettings()

    async def entries(store: StateStore) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await _vault(store, settings).entries()
        return found

    rows = _with_store(settings, entries)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        note = f" ({_printable(row['account'])})" if row["account"] else ""
        click.echo(f"{_printable(row['principal'])}  {row['vendor']}{note}  since {_iso(row['created_at'])}  "
                   f"key {row['key_id']}")  # fmt: skip


@credentials.command("remove")
@click.option("--principal", required=True)
@click.option("--vendor", required=True)
def credentials_remove(principal: str, vendor: str) -> None:
    """Forget a person's credential for a vendor."""
    from .settings import TaskLinkSettings

    settings = TaskLinkSettings()

    async def remove(store: StateStore) -> bool:
        removed: bool = await _vault(store, settings).remove(principal, vendor)
        return removed

    if not _with_store(settings, remove):
        raise click.ClickException(f"no {vendor} credential of {principal} is stored")
    click.echo(f"removed the {vendor} credential of {principal}")


@credentials.command("rotate-key")
def credentials_rotate_key() -> None:
    """Re-seal every credential under a new key read from stdin (the current one is TASKLINK_VAULT_KEY); then
    set TASKLINK_VAULT_KEY to the new key on every worker."""
    from .errors import TaskLinkError
    from .policy.vault import parse_key
    from .settings import TaskLinkSettings

    settings = TaskLinkSettings()
    try:
        new_key = parse_key(sys.stdin.read(), "the new key on stdin")
    except TaskLinkError as exc:
        raise click.ClickException(exc.message) from None

    async def rotate(store: StateStore) -> int:
        count: int = await _vault(store, settings).rotate(new_key)
        return count

    count = _with_store(settings, rotate)
    click.echo(f"re-sealed {count} credential(s) under the new key; set TASKLINK_VAULT_KEY to it on every worker")


@state.command("migrate")
def state_migrate() -> None:
    """Apply the schema migrations this tasklink needs (workers also do this as they start)."""
    from .settings import TaskLinkSettings

    async def read(store: StateStore) -> Status:
        return await store.status()

    status = _with_store(TaskLinkSettings(), read, migrate=True)
    click.echo(f"{status.kind} {status.where}: schema version {status.schema_version} (up to date)")


@main.command()
@click.option("--out", "out_dir", default=".", show_default=True, help="Folder to write the bundle into.")
def bundle(out_dir: str) -> None:
    """Write tasklink-<version>.mcpb, an MCP Bundle desktop clients install with one click (it carries this
    environment's packages, so it runs on this platform and Python version)."""
    from pathlib import Path

    from .bundle import BundleError, write_bundle
    from .errors import ConfigurationError

    try:
        made = write_bundle(Path(out_dir))
    except BundleError as exc:
        _fail(str(exc), 1)
        return
    except ConfigurationError as exc:
        _fail(str(exc))
        return
    m = made.manifest
    click.echo(
        f"wrote {made.path} ({made.size / 1e6:.1f} MB, {made.files} files): {len(m['tools'])} tools, "
        f"{len(m['prompts'])} prompts; for {', '.join(m['compatibility']['platforms'])} with Python "
        f"{m['compatibility']['runtimes']['python']}"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array) instead of a table.")
def doctor(as_json: bool) -> None:
    """Check the settings, the state store and each live vendor's credentials (one harmless read each); print
    what works and the next step for what does not. Exit 1 when any check fails."""
    import anyio

    from . import doctor as checks

    found = anyio.run(checks.run_checks)
    if as_json:
        click.echo(json.dumps(checks.as_json(found), indent=2))
    else:
        for line in [*checks.table(found), "", checks.summary(found)]:
            click.echo(line)
    if any(c.failed for c in found):
        sys.exit(1)


def _observe() -> dict[str, Any]:
    """JSON logs (TASKLINK_LOG_FORMAT=json) and OTLP traces (OTEL_*) for `serve`: observability.py. Returns the
    keyword arguments `uvicorn.run` needs for the log format."""
    from . import observability
    from .config_check import operator_line
    from .errors import ConfigurationError

    try:
        options = observability.setup_logging()
    except ConfigurationError as exc:
        _fail(operator_line(exc))
        raise
    observability.start_tracing()
    return options


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
