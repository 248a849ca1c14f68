"""One vendor as the contract suite sees it: the MCP client, the vendor's simulator, its examples and the audit.

Nothing here names a vendor. What differs between vendors comes from the manifests (what is supported,
idempotency keys, person ids) and from the simulator module the manifest names (`contract_examples()`:
arguments valid against its seed data).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from tasklink.manifests import VendorManifest, load_manifests
from tasklink.mcp.server import TaskLinkServer, build_server
from tasklink.refs import sibling
from tasklink.sandbox._core import LoggedRequest, SandboxState
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import VendorRuntime, Vendors

from ..vendor_contracts.contracts import contracts_for
from ..vendor_contracts.recorder import Recorder

#: the manifest folder of the vendor that lives only in the tests
TASKTRAIL_MANIFESTS = Path(__file__).parent / "tasktrail" / "manifests"
MANIFEST_DIRS = [TASKTRAIL_MANIFESTS]

#: the tool that carries an operation, where it is not the operation's own name
CARRIED_BY = {"reassign_task": "update_task"}
WRITE_VERBS = ("create", "update", "reassign", "delete")
#: the list argument that searches titles, per resource
SEARCH_ARGUMENT = {"task": "text", "intake": "query"}


def contract_manifests() -> dict[str, VendorManifest]:
    """Every vendor the contract runs on: the shipped manifests and TaskTrail's."""

    return load_manifests(MANIFEST_DIRS)


def contract_server(settings: TaskLinkSettings) -> TaskLinkServer:
    """The server the contract runs on: every vendor with a published contract answers in its documented
    shape (undocumented fields are stripped from answers), so an adapter that reads an invented field fails
    here too."""

    recorder = Recorder(contracts_for(settings.vendors or contract_manifests()), documented_shape=True)
    vendors = Vendors.configure(settings, sandbox_middleware=recorder.middleware)
    return build_server(settings, service=TaskLink(settings, vendors=vendors))


def tool_of(operation: str) -> str:
    return CARRIED_BY.get(operation, operation)


def resource_of(operation: str) -> str:
    return "intake" if "intake" in operation else "task"


def is_write(operation: str) -> bool:
    return operation.startswith(WRITE_VERBS)


def unique(title: str) -> str:
    return f"{title} {uuid.uuid4().hex[:8]}"


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def writes(requests: list[LoggedRequest]) -> list[LoggedRequest]:
    return [r for r in requests if r.method not in ("GET", "HEAD")]


def examples_of(manifest: VendorManifest) -> dict[str, dict[str, Any]]:
    """The simulator module's `contract_examples()` (beside the `create_app` the manifest names)."""

    examples: dict[str, dict[str, Any]] = sibling(manifest.sandbox, "contract_examples")()
    return examples


@dataclass(frozen=True)
class Mark:
    """A point in a test: how many requests the simulator and rows the audit had."""

    requests: int
    audit: int


@dataclass
class VendorHarness:
    vendor: str
    manifest: VendorManifest
    examples: dict[str, dict[str, Any]]
    server: TaskLinkServer
    client: Client
    #: tool name -> the names of its arguments, as tools/list shows them
    tool_arguments: dict[str, set[str]]

    # -- what the vendor is --------------------------------------------------------------

    def supports(self, operation: str) -> bool:
        return self.manifest.operation(operation).supported

    def example(self, operation: str) -> dict[str, Any]:
        return copy.deepcopy(self.examples.get(operation, {}))

    def takes_vendor(self, operation: str) -> bool:
        return "vendor" in self.tool_arguments[tool_of(operation)]

    def list_operation(self) -> str | None:
        """The first list the vendor supports (tasks before intakes)."""

        return next((op for op in ("list_tasks", "list_intakes") if self.supports(op)), None)

    def create_operation(self) -> str:
        """The first create the vendor supports (tasks before intakes)."""

        return next(op for op in ("create_task", "create_intake") if self.supports(op))

    def listed_create_operation(self) -> str:
        """The first create whose records the vendor can also list (to count what landed)."""

        return next(
            op
            for op in ("create_task", "create_intake")
            if self.supports(op) and self.supports(f"list_{resource_of(op)}s")
        )

    # -- the service and the simulator ---------------------------------------------------

    @property
    def service(self) -> TaskLink:
        return self.server.service

    @property
    def runtime(self) -> VendorRuntime:
        return self.service.vendors.runtimes[self.vendor]

    @property
    def state(self) -> SandboxState:
        state = self.runtime.sandbox_app.state.sandbox
        assert isinstance(state, SandboxState)
        return state

    def settle(self) -> None:
        """Let every write show up in lists: a simulator whose lists lag writes (a search index) keeps an
        object with `catch_up()` on its app state."""

        for value in getattr(self.runtime.sandbox_app.state, "_state", {}).values():
            catch_up = getattr(value, "catch_up", None)
            if callable(catch_up):
                catch_up()

    async def mark(self) -> Mark:
        return Mark(len(self.state.requests), len(await self.service.audit.entries()))

    def requests_since(self, mark: Mark) -> list[LoggedRequest]:
        return self.state.requests[mark.requests :]

    async def audit_since(self, mark: Mark) -> list[dict[str, Any]]:
        return (await self.service.audit.entries())[mark.audit :]

    # -- calls ---------------------------------------------------------------------------

    def arguments(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"vendor": self.vendor, **arguments} if self.takes_vendor(operation) else dict(arguments)

    async def call(self, operation: str, arguments: dict[str, Any]) -> CallToolResult:
        return await self.client.call_tool(tool_of(operation), self.arguments(operation, arguments))

    async def ok(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.call(operation, arguments)
        assert not result.is_error, f"{self.vendor} {operation}: {text_of(result)}"
        assert isinstance(result.structured_content, dict)
        return result.structured_content

    def create_arguments(self, resource: str, **extra: Any) -> dict[str, Any]:
        example = self.example(f"create_{resource}")
        assert "title" in example, f"{self.vendor}: contract_examples() has no create_{resource} title"
        return {**example, "title": unique(example["title"]), **extra}

    async def create(self, resource: str, **extra: Any) -> dict[str, Any]:
        """A new record (a unique title; the duplicate check is not what this is for)."""

        return await self.ok(f"create_{resource}", self.create_arguments(resource, allow_duplicate=True, **extra))

    async def planned(self, operation: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """The request a dry run of the call shows."""

        report = (await self.ok(operation, {**arguments, "dry_run": True}))["dry_run"]
        assert isinstance(report, dict)
        return report

    async def titled(self, resource: str, title: str) -> list[dict[str, Any]]:
        """The records the vendor lists with exactly this title."""

        self.settle()
        page = await self.ok(f"list_{resource}s", {SEARCH_ARGUMENT[resource]: title})
        return [r for r in page[f"{resource}s"] if r["title"] == title]

    async def delete(self, resource: str, record_id: Any, **extra: Any) -> dict[str, Any]:
        """Delete through the confirmation flow: the preview's token, then confirm."""

        target = {f"{resource}_id": record_id}
        preview = await self.ok(f"delete_{resource}", target)
        assert preview["deleted"] is False and preview["confirm_token"]
        confirmed = {**target, "confirm": True, "confirm_token": preview["confirm_token"], **extra}
        return await self.ok(f"delete_{resource}", confirmed)


def unsupported_arguments(operation: str) -> dict[str, Any]:
    """Arguments that pass the tool's own schema; the vendor's manifest refuses the operation first."""

    record = {f"{resource_of(operation)}_id": 1 if resource_of(operation) == "intake" else "1"}
    by_verb: dict[str, dict[str, Any]] = {
        "create": {"title": "Refused by the manifest"},
        "get": record,
        "list": {},
        "update": {**record, "title": "Refused by the manifest"},
        "delete": record,
        "find": {"query": "a"},
    }
    if operation == "reassign_task":
        return {**record, "assignees": ["1"]}
    if operation == "update_intake_assignees":
        return {**record, "assignees": [{"user_id": "1"}]}
    if operation == "find_records":
        return {"kind": "case", "query": "a"}
    return by_verb[operation.split("_")[0]]
