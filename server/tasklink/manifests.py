"""Vendor capability manifests (`tool_manifests/<vendor>.toml`), loaded as data.

Guardrails, `list_vendors`, the capabilities resource and the docs all read these; nothing
repeats them in code. Adding a vendor means adding one manifest here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

#: Every operation a manifest must declare, supported or not.
OPERATIONS: tuple[str, ...] = (
    "create_intake",
    "get_intake",
    "list_intakes",
    "update_intake",
    "update_intake_assignees",
    "delete_intake",
    "create_task",
    "get_task",
    "list_tasks",
    "update_task",
    "reassign_task",
    "delete_task",
    "find_people",
)


@dataclass(frozen=True)
class Operation:
    name: str
    supported: bool
    reason: str = ""
    alternative: str = ""
    required: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class VendorManifest:
    name: str
    title: str
    adapter: str
    sandbox: str
    summary: str
    idempotency_keys: bool
    operations: dict[str, Operation]
    #: normalized task status -> vendor status value
    statuses: dict[str, str] = field(default_factory=dict)
    priorities: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    #: client-side pacing: per_second, categories, max_concurrency (see vendors/_limits.py)
    rate_limits: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def operation(self, name: str) -> Operation:
        return self.operations[name]


def manifests_dir() -> Path:
    packaged = Path(__file__).parent / "_manifests"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "tool_manifests"


def _parse(path: Path) -> VendorManifest:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    vendor = data.get("vendor", {})
    ops_raw: dict[str, dict[str, Any]] = data.get("operations", {})
    missing = [op for op in OPERATIONS if op not in ops_raw]
    unknown = [op for op in ops_raw if op not in OPERATIONS]
    if missing or unknown:
        raise ConfigurationError(
            f"Manifest {path.name} must declare exactly the known operations; missing {missing}, unknown {unknown}"
        )
    operations: dict[str, Operation] = {}
    for name, raw in ops_raw.items():
        op = Operation(
            name=name,
            supported=bool(raw.get("supported", False)),
            reason=str(raw.get("reason", "")),
            alternative=str(raw.get("alternative", "")),
            required=tuple(raw.get("required", ())),
            notes=str(raw.get("notes", "")),
        )
        if not op.supported and not op.reason:
            raise ConfigurationError(f"Manifest {path.name}: unsupported operation {name} needs a reason")
        operations[name] = op
    known = {"name", "title", "adapter", "sandbox", "summary", "idempotency_keys"}
    return VendorManifest(
        name=str(vendor["name"]),
        title=str(vendor["title"]),
        adapter=str(vendor["adapter"]),
        sandbox=str(vendor["sandbox"]),
        summary=str(vendor.get("summary", "")),
        idempotency_keys=bool(vendor.get("idempotency_keys", False)),
        operations=operations,
        statuses=dict(data.get("statuses", {})),
        priorities=tuple(data.get("priorities", {}).get("values", ())),
        limits=dict(data.get("limits", {})),
        rate_limits=dict(data.get("rate_limits", {})),
        extra={
            k: v
            for k, v in data.items()
            if k not in {"vendor", "operations", "statuses", "priorities", "limits", "rate_limits"}
        }
        | {k: v for k, v in vendor.items() if k not in known},
    )


@cache
def load_manifests() -> dict[str, VendorManifest]:
    """All vendor manifests, by vendor name, in a stable order."""

    found = sorted(manifests_dir().glob("*.toml"))
    manifests = [_parse(p) for p in found]
    return {m.name: m for m in manifests}


def vendor_names() -> list[str]:
    return list(load_manifests())
