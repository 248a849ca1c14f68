"""Each vendor's contract: which OpenAPI documents it is, what its own sources tolerate beyond them
(`allowed.toml`), and the problems one recorded exchange has against it.

A contract is named after the vendor, and for Workiva after the API version too ("workiva 2026-01-01",
"workiva 2022-01-01"). Its documents are tried in order; the first with an operation for the method and
path answers for it.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..support import VENDOR_SPECS
from .openapi import Finding, Operation, Spec

if TYPE_CHECKING:
    from .recorder import Exchange

HERE = Path(__file__).parent
ALLOWED = HERE / "allowed.toml"
TRACKOPS = HERE / "trackops-tasks.openapi.yaml"
WORKIVA_PROTOTYPE = HERE / "workiva-prototype-2022-01-01.openapi.yaml"
WORKIVA_GA = "2026-01-01"
WORKIVA_PROTOTYPE_VERSION = "2022-01-01"


@dataclass(frozen=True)
class Problem:
    contract: str
    #: "POST /tasks" (the document's template), or the concrete path when no operation matches
    operation: str
    #: "request", "answer 201", or "call" (a tool call that failed)
    side: str
    location: str
    message: str
    schema: str = ""

    def line(self) -> str:
        where = f" [{self.schema}]" if self.schema else ""
        return f"{self.contract}: {self.operation} {self.side} {self.location}: {self.message}{where}"


@dataclass(frozen=True)
class Allowance:
    """A documented contradiction between a vendor's own sources, and what the check tolerates for it."""

    vendor: str
    operation: str
    location: str
    tolerated: str
    source: str
    message: str = ""
    statuses: tuple[str, ...] = ()
    #: for an operation missing from the document: the documented operation whose answers it gives
    answer_as: str = ""
    #: for answers another source wraps: the property the documented body sits under
    envelope: str = ""
    #: for a property another source documents: its path in answers (`a.*.b`; lists are passed through),
    #: kept in documented-shape mode
    keep: str = ""

    def applies(self, contract: str, operation: str, side: str = "") -> bool:
        if self.vendor not in (contract, contract.split()[0]) or not fnmatchcase(operation, self.operation):
            return False
        if self.statuses and side:
            status = side.split()[-1]
            return any(fnmatchcase(status, s.replace("X", "?")) for s in self.statuses)
        return True

    def covers(self, problem: Problem) -> bool:
        return (
            self.applies(problem.contract, problem.operation, problem.side)
            and (not self.statuses or problem.side.startswith("answer"))
            and re.fullmatch(self.location, problem.location) is not None
            and (not self.message or re.search(self.message, problem.message) is not None)
        )


@cache
def allowances() -> tuple[Allowance, ...]:
    entries: list[dict[str, Any]] = tomllib.loads(ALLOWED.read_text(encoding="utf-8")).get("allowed", [])
    return tuple(Allowance(**{k: tuple(v) if isinstance(v, list) else v for k, v in e.items()}) for e in entries)


@cache
def spec(path: Path, required_headers: tuple[tuple[str, str], ...] = ()) -> Spec:
    return Spec(path, required_headers=dict(required_headers))


@dataclass
class Contract:
    name: str
    specs: list[Spec]
    allowed: tuple[Allowance, ...] = ()
    #: why there is no document, when there is none
    missing: str = ""
    _by_key: dict[str, Operation] = field(default_factory=dict, repr=False)

    @property
    def vendor(self) -> str:
        return self.name.split()[0]

    def locate(self, method: str, path: str) -> tuple[str, Operation | None]:
        for document in self.specs:
            op = document.find(method, path)
            if op is not None:
                return op.key, op
        for document in self.specs:
            template = document.template_of(path)
            if template is not None:
                return f"{method.upper()} {template}", None
        return f"{method.upper()} {path}", None

    def operation(self, key: str) -> Operation | None:
        if not self._by_key:
            self._by_key = {op.key: op for document in reversed(self.specs) for op in document.operations}
        return self._by_key.get(key)

    def answering(self, key: str, op: Operation | None) -> Operation | None:
        """The operation whose answers apply: its own, or the one an allowance names for an undocumented one."""

        if op is not None:
            return op
        stand_in = next((a.answer_as for a in self.allowed if a.answer_as and a.applies(self.name, key)), "")
        return self.operation(stand_in) if stand_in else None

    def envelope(self, key: str, status: int, instance: Any) -> str | None:
        for allowance in self.allowed:
            if (
                allowance.envelope
                and allowance.applies(self.name, key, f"answer {status}")
                and isinstance(instance, dict)
                and set(instance) == {allowance.envelope}
            ):
                return allowance.envelope
        return None

    def kept(self, key: str, status: int) -> list[str]:
        return [a.keep for a in self.allowed if a.keep and a.applies(self.name, key, f"answer {status}")]

    # -- checking ------------------------------------------------------------------------------

    def check(self, exchange: Exchange) -> list[Problem]:
        key, op = self.locate(exchange.method, exchange.path)
        problems: list[Problem] = []

        def add(side: str, findings: Iterable[Finding]) -> None:
            problems.extend(Problem(self.name, key, side, f.location, f.message, f.schema) for f in findings)

        if op is None:
            add("request", [Finding("operation", f"{key} is not an operation of {self._documents()}")])
        else:
            add(
                "request",
                op.check_request(
                    op.spec.strip_prefix(exchange.path),
                    exchange.query,
                    exchange.headers,
                    exchange.body,
                    required_headers=op.spec.required_headers,
                ),
            )
        answering = self.answering(key, op)
        if answering is not None and exchange.status:
            side = f"answer {exchange.status}"
            body = exchange.answer
            wrapped = self._wrapped(key, exchange.status, body)
            if wrapped is not None:
                name, body = wrapped
                add(side, [Finding("body $", f"the documented body is wrapped in {{{name!r}: …}}")])
            add(side, answering.check_answer(exchange.status, exchange.content_type, body))
            for path in self.kept(key, exchange.status):
                found = len(_matches(_json(body), path.split(".")))
                if found:
                    add(side, [Finding(f"body $.{path}", f"{found} undeclared properties kept")])
        return problems

    def _wrapped(self, key: str, status: int, body: bytes) -> tuple[str, bytes] | None:
        if not body:
            return None
        try:
            instance = json.loads(body)
        except ValueError:
            return None
        name = self.envelope(key, status, instance)
        return None if name is None else (name, json.dumps(instance[name]).encode())

    def _documents(self) -> str:
        return ", ".join(d.path.name for d in self.specs) or "(no document)"

    # -- documented shape ----------------------------------------------------------------------

    def shape(self, method: str, path: str, status: int, content_type: str, body: bytes) -> bytes:
        """The answer with every property its documented schema does not declare removed (unchanged when
        there is no schema for it, or it is not JSON)."""

        if not body:
            return body
        key, op = self.locate(method, path)
        answering = self.answering(key, op)
        pointer = answering.answer_schema(status, content_type) if answering is not None else None
        if answering is None or pointer is None:
            return body
        try:
            instance = json.loads(body)
        except ValueError:
            return body
        name = self.envelope(key, status, instance)
        if name is not None:
            shaped = {name: answering.spec.prune(pointer, instance[name])}
        else:
            shaped = answering.spec.prune(pointer, instance)
        for path in self.kept(key, status):
            _restore(instance, shaped, path.split("."))
        return body if shaped == instance else json.dumps(shaped).encode()

    def classify(self, problems: Iterable[Problem]) -> tuple[list[Problem], list[tuple[Problem, Allowance]]]:
        """(problems no allowance covers, (deviation, its allowance) pairs)."""

        open_: list[Problem] = []
        allowed: list[tuple[Problem, Allowance]] = []
        for problem in problems:
            allowance = next((a for a in self.allowed if a.covers(problem)), None)
            if allowance is None:
                open_.append(problem)
            else:
                allowed.append((problem, allowance))
        return open_, allowed


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _matches(instance: Any, parts: list[str]) -> list[Any]:
    """The values at a `a.*.b` path (lists passed through)."""

    if isinstance(instance, list):
        return [m for item in instance for m in _matches(item, parts)]
    if not parts:
        return [instance]
    if not isinstance(instance, dict):
        return []
    keys = list(instance) if parts[0] == "*" else [parts[0]] if parts[0] in instance else []
    return [m for k in keys for m in _matches(instance[k], parts[1:])]


def _restore(original: Any, shaped: Any, parts: list[str]) -> None:
    """Put the values at path `parts` of `original` back into `shaped` (which pruning made from it)."""

    if isinstance(original, list) and isinstance(shaped, list):
        for before, after in zip(original, shaped, strict=False):
            _restore(before, after, parts)
        return
    if not parts or not isinstance(original, dict) or not isinstance(shaped, dict):
        return
    keys = list(original) if parts[0] == "*" else [parts[0]] if parts[0] in original else []
    for k in keys:
        if len(parts) == 1:
            shaped[k] = original[k]
        elif k in shaped:
            _restore(original[k], shaped[k], parts[1:])


# -- the vendors ------------------------------------------------------------------------------------------------


def contract(name: str) -> Contract:
    """The contract called `name`: "lightfield", "spotdraft", "trackops", "workiva <version>"."""

    ga_headers = (("X-Version", WORKIVA_GA),)  # NOTES.md §4 "Base URLs, regions, versioning"; not in the OAS
    documents: dict[str, list[tuple[Path, tuple[tuple[str, str], ...]]]] = {
        "lightfield": [
            (VENDOR_SPECS / "lightfield" / "lightfield-tasks-api-openapi.yml", ()),
            # the member list (find_people) is only in the full document
            (VENDOR_SPECS / "lightfield" / "lightfield-openapi-original.yml", ()),
        ],
        "spotdraft": [(VENDOR_SPECS / "spotdraft" / "spotdraft-openapi.yml", ())],
        "trackops": [(TRACKOPS, ())],
        f"workiva {WORKIVA_GA}": [(VENDOR_SPECS / "workiva" / "platform.yaml", ga_headers)],
        # the prototype task routes; the token and the organization users stay on the GA document
        f"workiva {WORKIVA_PROTOTYPE_VERSION}": [
            (WORKIVA_PROTOTYPE, ()),
            (VENDOR_SPECS / "workiva" / "platform.yaml", ga_headers),
        ],
    }
    missing = [str(path) for path, _ in documents[name] if not path.exists()]
    if missing:
        return Contract(name, [], allowances(), missing=f"no contract document yet: {', '.join(missing)}")
    return Contract(name, [spec(path, headers) for path, headers in documents[name]], allowances())


def contracts_for(vendors: Iterable[str], env: Mapping[str, str] = os.environ) -> dict[str, Contract]:
    """Vendor name -> its contract, for the vendors that have one (Workiva by WORKIVA_API_VERSION)."""

    out = {}
    for vendor in vendors:
        name = f"workiva {env.get('WORKIVA_API_VERSION') or WORKIVA_GA}" if vendor == "workiva" else vendor
        if name in ("lightfield", "spotdraft", "trackops") or name.startswith("workiva "):
            found = contract(name)
            if found.specs:
                out[vendor] = found
    return out
