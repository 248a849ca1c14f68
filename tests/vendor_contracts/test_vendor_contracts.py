"""The vendor contract check: every supported tool of every vendor (and of both Workiva API versions) runs
through a real MCP client, with its optional fields filled, against the simulators in documented-shape mode;
then every request the adapters sent is checked against the vendor's published contract, and every answer
a simulator gave against the response schema for its status.

A problem fails the test of its contract unless `allowed.toml` names it as a contradiction between the
vendor's own sources. One summary line (and a line per problem and per tolerated deviation) is printed at
the end of the run.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stamina
from mcp import Client

from tasklink.manifests import OPERATIONS, VendorManifest, load_manifests
from tasklink.mcp.server import TaskLinkServer, build_server
from tasklink.refs import sibling
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings
from tasklink.vendors.registry import Vendors

from ..conftest import REPORTS, VENDOR_ENV_PREFIXES
from ..support import text_of
from .arguments import FULL, INTAKE, NO_ROUTE
from .contracts import (
    WORKIVA_GA,
    WORKIVA_PROTOTYPE_VERSION,
    Allowance,
    Contract,
    Problem,
    allowances,
    contract,
)
from .recorder import Exchange, Recorder

pytestmark = pytest.mark.anyio

#: a day both Workiva versions answer (the prototype is sunset on 2027-01-31)
BEFORE_SUNSET = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GA = f"workiva {WORKIVA_GA}"
PROTOTYPE = f"workiva {WORKIVA_PROTOTYPE_VERSION}"
CONTRACTS = ["lightfield", "spotdraft", "trackops", GA, PROTOTYPE]
#: tools with a `vendor` argument (the intake tools serve the one intake vendor)
TAKES_VENDOR = {"create_task", "get_task", "list_tasks", "update_task", "delete_task", "find_people", "find_records"}
#: the tool that carries an operation, where it is not the operation's own name
CARRIED_BY = {"reassign_task": "update_task"}


@dataclass
class Outcome:
    """What one contract's run found."""

    contract: Contract
    exchanges: list[Exchange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    allowed: list[tuple[Problem, Allowance]] = field(default_factory=list)


# -- driving the tools --------------------------------------------------------------------------------------------


@dataclass
class Driver:
    client: Client
    contract: str
    vendor: str
    manifest: VendorManifest
    failures: list[Problem] = field(default_factory=list)
    driven: set[str] = field(default_factory=set)

    def supports(self, operation: str) -> bool:
        return self.manifest.operation(operation).supported and operation not in NO_ROUTE.get(self.contract, set())

    def sets(self, operation: str) -> list[dict[str, Any]]:
        """The simulator's example for the operation, then this module's fuller sets."""

        examples: dict[str, dict[str, Any]] = sibling(self.manifest.sandbox, "contract_examples")()
        return ([examples[operation]] if operation in examples else []) + FULL[self.vendor].get(operation, [])

    async def call(self, operation: str, arguments: dict[str, Any], *, fails: bool = False) -> dict[str, Any]:
        tool = CARRIED_BY.get(operation, operation)
        sent = {"vendor": self.vendor, **arguments} if tool in TAKES_VENDOR else dict(arguments)
        result = await self.client.call_tool(tool, sent)
        if result.is_error != fails:
            what = "succeeded; it should have failed" if fails else text_of(result)[:400]
            self.failures.append(Problem(self.contract, tool, "call", json.dumps(arguments)[:200], what))
        elif not fails:
            self.driven.add(operation)
        return result.structured_content if isinstance(result.structured_content, dict) else {}

    async def create(self, operation: str, arguments: dict[str, Any], intake: int | None) -> Any:
        filled = {k: (intake if v == INTAKE else v) for k, v in arguments.items()}
        filled["title"] = f"{arguments['title']} {uuid.uuid4().hex[:6]}"
        return (await self.call(operation, {**filled, "allow_duplicate": True})).get("id")

    async def delete(self, resource: str, record: Any) -> None:
        target = {f"{resource}_id": record}
        preview = await self.call(f"delete_{resource}", target)
        if preview.get("confirm_token"):
            await self.call(
                f"delete_{resource}", {**target, "confirm": True, "confirm_token": preview["confirm_token"]}
            )
        if self.supports(f"get_{resource}"):
            await self.call(f"get_{resource}", target, fails=True)  # an error answer, checked like any other

    async def drive(self) -> None:
        """Every supported operation, with each argument set: people, intakes, tasks, lookups, then deletes."""

        for arguments in self.sets("find_people") if self.supports("find_people") else []:
            await self.call("find_people", arguments)
        intakes: list[Any] = []
        if self.supports("create_intake"):
            intakes = [await self.create("create_intake", a, None) for a in self.sets("create_intake")]
            for intake in intakes:
                await self.call("get_intake", {"intake_id": intake})
            for arguments in self.sets("list_intakes"):
                await self.call("list_intakes", arguments)
            for operation in ("update_intake", "update_intake_assignees"):
                for arguments in self.sets(operation):
                    await self.call(operation, {"intake_id": intakes[0], **arguments})
        tasks = [await self.create("create_task", a, intakes[0] if intakes else None) for a in self.sets("create_task")]
        tasks = [t for t in tasks if t is not None]
        if self.supports("get_task"):
            for arguments in [{"task_id": t} for t in tasks] + self.sets("get_task"):
                await self.call("get_task", arguments)
        for arguments in self.sets("list_tasks") if self.supports("list_tasks") else []:
            page = await self.call("list_tasks", arguments)
            if page.get("next_cursor"):
                await self.call("list_tasks", {**arguments, "cursor": page["next_cursor"]})
        for arguments in self.sets("find_records") if self.supports("find_records") else []:
            await self.call("find_records", arguments)  # after the creates: SpotDraft's workflows come from intakes
        for operation in ("update_task", "reassign_task"):
            for arguments in self.sets(operation) if self.supports(operation) and tasks else []:
                await self.call(operation, {"task_id": tasks[0], **arguments})
        if self.supports("delete_task") and tasks:
            await self.delete("task", tasks[-1])
        elif self.supports("get_task"):
            await self.call("get_task", {"task_id": "999999"}, fails=True)  # an error answer to check
        if self.supports("delete_intake") and intakes:
            await self.delete("intake", intakes[-1])
        for operation in OPERATIONS:
            if self.supports(operation) and operation not in self.driven:
                self.failures.append(Problem(self.contract, operation, "call", "-", "supported, but no call ran"))


# -- the run ------------------------------------------------------------------------------------------------------


def server_for(settings: TaskLinkSettings, recorder: Recorder) -> TaskLinkServer:
    vendors = Vendors.configure(settings, sandbox_middleware=recorder.middleware)
    return build_server(settings, service=TaskLink(settings, vendors=vendors, clock=BEFORE_SUNSET.timestamp))


async def run_server(settings: TaskLinkSettings, contracts: dict[str, Contract]) -> tuple[Recorder, list[Driver]]:
    """Drive every vendor of one server, each vendor on the contract `contracts` gives it."""

    recorder = Recorder({v: c for v, c in contracts.items() if c.specs}, documented_shape=True)
    server = server_for(settings, recorder)
    manifests = load_manifests()
    drivers = []
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(Client(server, mode="auto"))
        for vendor, found in contracts.items():
            await server.service.vendors.adapter(vendor)
            app = server.service.vendors.runtimes[vendor].sandbox_app
            if hasattr(app.state, vendor):  # a simulator with a clock of its own (Workiva's sunset)
                getattr(app.state, vendor).clock = BEFORE_SUNSET.timestamp
            driver = Driver(client, found.name, vendor, manifests[vendor])
            with stamina.set_testing(True, attempts=3):
                await driver.drive()
            drivers.append(driver)
    return recorder, drivers


def outcome_of(found: Contract, exchanges: Iterable[Exchange], failures: Iterable[Problem]) -> Outcome:
    outcome = Outcome(found, list(exchanges))
    problems = list(failures)
    if found.missing:
        problems.append(Problem(found.name, "-", "contract", "document", found.missing))
    else:
        for exchange in outcome.exchanges:
            problems.extend(found.check(exchange))
    outcome.problems, outcome.allowed = found.classify(problems)
    return outcome


@pytest.fixture(scope="module")
async def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    manifests = load_manifests()
    found = {name: contract(name) for name in CONTRACTS}
    results: dict[str, Outcome] = {}
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith(VENDOR_ENV_PREFIXES):
                env.delenv(key)

        def settings(folder: Path, vendors: list[str]) -> TaskLinkSettings:
            return TaskLinkSettings(
                data_dir=folder, sandbox=True, vendors=vendors, rate_limits=dict.fromkeys(manifests, 1000.0)
            )

        every = {v: found[GA if v == "workiva" else v] for v in manifests}
        recorder, drivers = await run_server(settings(tmp_path_factory.mktemp("contracts"), list(every)), every)
        env.setenv("WORKIVA_API_VERSION", WORKIVA_PROTOTYPE_VERSION)
        prototype = {"workiva": found[PROTOTYPE]}
        folder = tmp_path_factory.mktemp("contracts-prototype")
        prototype_recorder, prototype_drivers = await run_server(settings(folder, ["workiva"]), prototype)
    for vendor, vendor_contract in every.items():
        exchanges = [e for e in recorder.exchanges if e.vendor == vendor]
        failures = [p for d in drivers if d.vendor == vendor for p in d.failures]
        results[vendor_contract.name] = outcome_of(vendor_contract, exchanges, failures)
    failures = [p for d in prototype_drivers for p in d.failures]
    results[PROTOTYPE] = outcome_of(found[PROTOTYPE], prototype_recorder.exchanges, failures)
    REPORTS.append(summary(results))
    return results


def grouped(problems: Iterable[Problem]) -> list[str]:
    """One line per distinct problem (array indices read as [*]), with how often it occurred."""

    counts = Counter(replace(p, location=re.sub(r"\[\d+\]", "[*]", p.location)).line() for p in problems)
    return [line + (f" ({n}x)" if n > 1 else "") for line, n in counts.items()]


def summary(results: dict[str, Outcome]) -> str:
    """The line printed at the end of the run (problems and deviations counted once per distinct line), then
    one line per problem and per tolerated deviation."""

    exchanges = [e for o in results.values() for e in o.exchanges]
    problems = grouped(p for o in results.values() for p in o.problems)
    allowed: Counter[str] = Counter()
    for outcome in results.values():
        for problem, allowance in outcome.allowed:
            allowed[f"{grouped([problem])[0]} (allowed: {allowance.tolerated})"] += 1
    used = {id(a) for o in results.values() for _, a in o.allowed}
    unused = [a for a in allowances() if id(a) not in used]
    lines = [
        f"vendor contracts: {len(exchanges)} requests, {sum(1 for e in exchanges if e.status)} answers, "
        f"{len(problems)} problems, {len(allowed)} allowed deviations"
    ]
    lines += [f"  problem: {line}" for line in problems]
    lines += [f"  allowed: {line}" + (f" ({n}x)" if n > 1 else "") for line, n in allowed.items()]
    lines += [f"  allowance not needed in this run: {a.vendor} {a.operation} {a.location}" for a in unused]
    return "\n".join(lines)


# -- the tests ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONTRACTS)
async def test_requests_and_answers_keep_to_the_vendor_contract(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    assert outcome.exchanges, f"{name}: nothing reached the simulator"
    problems = grouped(outcome.problems)
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


def test_every_allowance_says_what_it_tolerates_and_where_that_is_written() -> None:
    entries = allowances()
    assert entries
    assert [a for a in entries if not all((a.vendor, a.operation, a.location, a.tolerated, a.source))] == []
    assert [a for a in entries if a.vendor.split()[0] not in ("lightfield", "spotdraft", "trackops", "workiva")] == []
