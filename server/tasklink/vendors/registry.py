"""Which vendors exist, which are live and which run on the sandbox; one HTTP client each.

Vendors come from the manifests. A vendor with none of its credentials set (or with
TASKLINK_SANDBOX=1) runs on its embedded simulator through an in-process ASGI transport — the
adapter cannot tell the difference.

Configuration imports only what it needs. A shipped vendor with no `<NAME>_*` variable in the
environment runs on its sandbox without its adapter module being imported: the adapter (and the
check that it implements every operation its manifest supports) is loaded when the vendor is first
used, and the shipped pairs are checked by tests/test_adapter_contract.py. A vendor with such a
variable has its adapter's settings read and validated at start-up, as does every vendor added
through TASKLINK_MANIFEST_DIRS (whose adapter tasklink's tests never saw). Simulators are imported
when their sandbox is first used; their demo credentials come from `sandbox.demo`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
from pydantic import SecretStr
from starlette.types import ASGIApp

from ..errors import ConfigurationError, InvalidInput
from ..manifests import VendorManifest, load_manifests, manifests_dir
from ..refs import load_object, sibling
from ..settings import TaskLinkSettings
from ..state import StateStore
from ._http import Redactor, RetryPolicy, VendorHttp, credential_forms
from ._limits import LimitSettings, SharedBudgets
from .base import Cursors, VendorAdapter, VendorSettings

Mode = Literal["live", "sandbox"]
#: wraps a sandbox vendor's simulator app: (vendor name, app) -> the app its client talks to
SandboxMiddleware = Callable[[str, ASGIApp], ASGIApp]


@dataclass
class VendorRuntime:
    """One configured vendor. Its adapter class and (on the sandbox) its settings are loaded on first use."""

    manifest: VendorManifest
    mode: Mode
    app: TaskLinkSettings
    adapter: VendorAdapter[Any] | None = None
    sandbox_app: Any = None
    client: httpx2.AsyncClient | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    loaded_adapter: type[VendorAdapter[Any]] | None = field(default=None, repr=False)
    loaded_settings: VendorSettings | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def adapter_cls(self) -> type[VendorAdapter[Any]]:
        if self.loaded_adapter is None:
            self.loaded_adapter = adapter_for(self.manifest)
        return self.loaded_adapter

    @property
    def settings(self) -> VendorSettings:
        """The vendor's settings: read from the environment (live), or those that reach its simulator."""

        if self.loaded_settings is None:
            self.loaded_settings = self.adapter_cls.sandbox_settings(self.app, sandbox_demo(self.manifest))
        return self.loaded_settings


def sandbox_demo(manifest: VendorManifest) -> dict[str, str]:
    """The demo credentials of the vendor's simulator: its own `demo_settings()` once it is loaded, and
    until then (for a shipped simulator) the same values from `sandbox.demo`, without importing it."""

    from ..sandbox.demo import demo_settings

    found = None if manifest.sandbox.partition(":")[0] in sys.modules else demo_settings(manifest.sandbox)
    return found if found is not None else dict(sibling(manifest.sandbox, "demo_settings")())


def shipped(manifest: VendorManifest) -> bool:
    """Whether the manifest is one of tasklink's own (not from TASKLINK_MANIFEST_DIRS)."""

    return manifest.path is not None and manifest.path.parent == manifests_dir()


def may_have_credentials(manifest: VendorManifest) -> bool:
    """Whether any `<NAME>_*` variable is set: the vendor's settings must then be read (and checked)."""

    prefix = f"{manifest.name.upper()}_"
    return any(value and key.upper().startswith(prefix) for key, value in os.environ.items())


def _typed(settings: VendorSettings, credential: dict[str, str]) -> dict[str, Any]:
    """A person's credential fields as the settings hold them (secrets as SecretStr)."""

    secret = {n for n, f in type(settings).model_fields.items() if "SecretStr" in str(f.annotation)}
    fields = type(settings).model_fields
    return {name: SecretStr(v) if name in secret else v for name, v in credential.items() if name in fields}


def adapter_for(manifest: VendorManifest) -> type[VendorAdapter[Any]]:
    """The manifest's adapter class, after checking it implements every operation the manifest supports."""

    adapter_cls: type[VendorAdapter[Any]] = load_object(manifest.adapter)
    missing = adapter_cls.unimplemented(manifest)
    if missing:
        raise ConfigurationError(
            f"{manifest.title}: the manifest {manifest_file(manifest)} marks {', '.join(missing)} supported, but "
            f"{manifest.adapter} does not implement "
            + ("it" if len(missing) == 1 else "them")
            + "; implement the adapter method or mark the operation unsupported with a reason"
        )
    return adapter_cls


def manifest_file(manifest: VendorManifest) -> str:
    return str(manifest.path or manifests_dir() / f"{manifest.name}.toml")


def read_settings(rt: VendorRuntime) -> list[str]:
    """Load the adapter (checking it implements its manifest) and read its settings from the environment:
    a vendor with credentials goes live; the problems that stop its live configuration from working."""

    settings = rt.adapter_cls.settings_class()
    present = settings.present_credentials()
    if not present or rt.app.sandbox:
        return []
    rt.mode, rt.loaded_settings = "live", settings
    problems: list[str] = []
    missing = [settings.env_name(f) for f in settings.credential_fields if f not in present]
    if missing:
        problems.append(
            f"set {', '.join(missing)} as well "
            f"(or unset {', '.join(settings.env_name(f) for f in present)} to use the sandbox)"
        )
    return problems + settings.validate_live()


def check_vendor_names(app: TaskLinkSettings) -> None:
    manifests = load_manifests(app.manifest_dirs)
    unknown = [v for v in app.vendors if v not in manifests]
    if unknown:
        raise ConfigurationError(f"TASKLINK_VENDORS names unknown vendors {unknown}", allowed=list(manifests))


class Vendors:
    def __init__(
        self,
        app: TaskLinkSettings,
        runtimes: dict[str, VendorRuntime],
        *,
        sandbox_middleware: SandboxMiddleware | None = None,
    ) -> None:
        self.app = app
        self.runtimes = runtimes
        #: applied to each sandbox simulator app before its transport is made (e.g. a recorder in tests)
        self.sandbox_middleware = sandbox_middleware
        self._redactor: Redactor | None = None
        #: (vendor, principal, credential fingerprint) -> an adapter acting with that person's own credential
        self._personal: dict[tuple[str, str, str], tuple[VendorAdapter[Any], httpx2.AsyncClient]] = {}
        #: the state store; where it shares rate-limit budgets (PostgreSQL), every worker paces each vendor
        #: together (the service sets it before any adapter is built)
        self.store: StateStore | None = None
        #: signs list cursors; the service sets it from the server key before any adapter is built
        self.cursor_key = secrets.token_bytes(32)

    @classmethod
    def configure(cls, app: TaskLinkSettings, *, sandbox_middleware: SandboxMiddleware | None = None) -> Vendors:
        """Read every vendor's settings; fail with one clear message on partial configuration.

        `sandbox_middleware(vendor, app)` wraps the simulator app of every vendor on the sandbox."""

        manifests = load_manifests(app.manifest_dirs)
        check_vendor_names(app)
        problems: list[str] = []
        runtimes: dict[str, VendorRuntime] = {}
        for name, manifest in manifests.items():
            if app.vendors and name not in app.vendors:
                continue
            runtimes[name] = rt = VendorRuntime(manifest=manifest, mode="sandbox", app=app)
            if not shipped(manifest) or may_have_credentials(manifest):
                problems.extend(f"{manifest.title}: {p}" for p in read_settings(rt))
                if rt.mode == "sandbox":
                    _ = rt.settings  # the sandbox's settings read the vendor's variables too (an API version)
                if rt.settings.identity == "per-user" and not rt.adapter_cls.per_user_credentials:
                    problems.append(
                        f"{manifest.title}: {name.upper()}_IDENTITY=per-user, but its credentials belong to a "
                        "workspace, not a person; use impersonate"
                    )
                if rt.settings.identity == "impersonate" and rt.adapter_cls.impersonation_header is None:
                    problems.append(
                        f"{manifest.title}: {name.upper()}_IDENTITY=impersonate, but its public API has no way to act "
                        "on behalf of a user; use service"
                    )
        if problems:
            raise ConfigurationError("Vendor configuration is incomplete: " + "; ".join(problems))
        return cls(app, runtimes, sandbox_middleware=sandbox_middleware)

    def names(self) -> list[str]:
        return list(self.runtimes)

    def runtime(self, vendor: str) -> VendorRuntime:
        try:
            return self.runtimes[vendor]
        except KeyError:
            raise InvalidInput(f"unknown or disabled vendor {vendor!r}", field="vendor", allowed=self.names()) from None

    def secret_values(self) -> list[str]:
        """Every credential in use, live or sandbox: scrubbed from anything any vendor's answer carries."""

        values = [value for rt in self.runtimes.values() for value in rt.settings.secret_values()]
        if self.app.state_url is not None:  # the state store's password, should any message carry it
            from urllib.parse import urlsplit

            password = urlsplit(self.app.state_url.get_secret_value()).password
            values += [password] if password else []
        for rt in self.runtimes.values():
            headers = rt.adapter_cls.client_headers(rt.settings)
            values += credential_forms(headers, rt.adapter_cls.client_auth(rt.settings))
        return values

    @property
    def redactor(self) -> Redactor:
        if self._redactor is None:
            self._redactor = Redactor(self.secret_values)  # read on first use: it loads every vendor's adapter
        return self._redactor

    async def adapter(self, vendor: str) -> VendorAdapter[Any]:
        rt = self.runtime(vendor)
        if rt.adapter is not None:
            return rt.adapter
        async with rt.lock:
            if rt.adapter is None:
                rt.adapter, rt.client = self._build(rt, rt.settings)
        return rt.adapter

    async def adapter_with(self, vendor: str, principal: str, credential: dict[str, str]) -> VendorAdapter[Any]:
        """The vendor's adapter acting with one person's own credential (per-user identity); kept while the
        credential stays the same. Its pacing and circuit breaker are its own: vendors limit each key."""

        rt = self.runtime(vendor)
        await self.adapter(vendor)  # the service adapter first: the sandbox and its transport are made there
        fingerprint = hashlib.sha256(json.dumps(credential, sort_keys=True).encode()).hexdigest()
        key = (vendor, principal, fingerprint)
        found = self._personal.get(key)
        if found is None:
            settings = rt.settings.model_copy(update=_typed(rt.settings, credential))
            self.redactor.learn(settings.secret_values())
            found = self._personal[key] = self._build(rt, settings)
        return found[0]

    @contextlib.asynccontextmanager
    async def trial_adapter(self, vendor: str, credential: dict[str, str]) -> AsyncIterator[VendorAdapter[Any]]:
        """An adapter with a credential someone is trying (the connect page), closed afterwards, never kept."""

        rt = self.runtime(vendor)
        await self.adapter(vendor)
        settings = rt.settings.model_copy(update=_typed(rt.settings, credential))
        self.redactor.learn(settings.secret_values())  # scrubbed even from a refusal's message
        adapter, client = self._build(rt, settings)
        try:
            yield adapter
        finally:
            await client.aclose()

    def _build(self, rt: VendorRuntime, settings: VendorSettings) -> tuple[VendorAdapter[Any], httpx2.AsyncClient]:
        transport: httpx2.AsyncBaseTransport | None = None
        if rt.mode == "sandbox":
            if rt.sandbox_app is None:
                factory = load_object(rt.manifest.sandbox)
                rt.sandbox_app = factory(self.app.state_path("sandbox") / f"{rt.name}.sqlite3")
                if self.app.sandbox_faults:
                    from ..sandbox._core import parse_faults

                    for fault in parse_faults(self.app.sandbox_faults).get(rt.name, []):
                        rt.sandbox_app.state.sandbox.inject(fault)
            served: ASGIApp = rt.sandbox_app
            if self.sandbox_middleware is not None:
                served = self.sandbox_middleware(rt.name, served)
            transport = httpx2.ASGITransport(app=served)
        timeout = httpx2.Timeout(self.app.http_timeout, connect=self.app.connect_timeout, pool=self.app.connect_timeout)
        client = httpx2.AsyncClient(
            base_url=settings.api_base_url(),
            headers={"Accept": "application/json", "User-Agent": "tasklink/0.1"}
            | rt.adapter_cls.client_headers(settings),
            auth=rt.adapter_cls.client_auth(settings),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            limits=httpx2.Limits(max_connections=20, max_keepalive_connections=10),
        )
        http = VendorHttp(
            vendor_title=rt.manifest.title,
            client=client,
            redactor=self.redactor,
            parse_error=rt.adapter_cls.parse_error,
            retry=RetryPolicy(
                attempts=self.app.retry_attempts,
                retry_after_cap=self.app.retry_after_cap,
                deadline=self.app.call_deadline,
            ),
            limits=LimitSettings.from_manifest(rt.manifest.rate_limits, override=self.app.rate_limits.get(rt.name)),
            max_response_bytes=self.app.max_response_bytes,
            idempotency_header=rt.manifest.idempotency.header if rt.manifest.idempotency else None,
            acting_as_header=rt.adapter_cls.impersonation_header if settings.identity == "impersonate" else None,
            shared_budget=self._shared_budget(rt.name),
        )
        cursors = Cursors(self.cursor_key, rt.name)
        adapter = rt.adapter_cls(manifest=rt.manifest, http=http, settings=settings, app=self.app, cursors=cursors)
        return adapter, client

    async def warm_up(self, which: str) -> None:
        """Each vendor's `warm_up` at once: `live` vendors only (a sandbox answers without a wait), `all`, or
        `off`. Run in the background while the server starts serving."""

        chosen = [rt.name for rt in self.runtimes.values() if which == "all" or (which == "live" and rt.mode == "live")]

        async def one(vendor: str) -> None:
            with contextlib.suppress(Exception):  # the call that needs what failed here reports it
                await (await self.adapter(vendor)).warm_up()

        async with anyio.create_task_group() as group:
            for vendor in chosen:
                group.start_soon(one, vendor)

    def _shared_budget(self, vendor: str) -> SharedBudgets | None:
        store = self.store
        if store is None:
            return None
        # bursts of half a second's worth at most: the vendor's own bucket keeps slack for network jitter
        return lambda category, rate: store.budget(vendor, category, rate, burst=max(1.0, rate / 2))

    async def aclose(self) -> None:
        for _, client in self._personal.values():
            await client.aclose()
        self._personal.clear()
        for rt in self.runtimes.values():
            if rt.client is not None:
                await rt.client.aclose()
                rt.client = None
                rt.adapter = None
            if rt.sandbox_app is not None:
                rt.sandbox_app.state.sandbox.store.close()
                rt.sandbox_app = None


def vendors_on_sandbox(settings: TaskLinkSettings) -> list[str]:
    """The vendors this configuration runs on their sandbox (a live vendor's records are real)."""

    manifests = load_manifests(settings.manifest_dirs)
    if settings.sandbox:
        return list(manifests)
    return [
        name
        for name, manifest in manifests.items()
        if not (may_have_credentials(manifest) and adapter_for(manifest).settings_class().present_credentials())
    ]
