"""What each vendor can do, for the model: one builder behind `list_vendors` and `capabilities://{vendor}`.

Everything here is read from the vendor manifests (`tool_manifests/<vendor>.toml`); the README's
capability matrix is generated from the same function (see `generated.py`).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from .manifests import VendorManifest
from .policy.deprecations import deprecation_notices


class OperationInfo(BaseModel):
    name: str
    supported: bool
    reason: str | None = Field(None, description="Why it is unsupported.")
    alternative: str | None = Field(None, description="What to do instead.")
    required: list[str] | None = Field(None, description="Fields this vendor requires for the operation.")
    notes: str | None = None


class DeprecationInfo(BaseModel):
    subject: str = Field(description="What is being retired.")
    setting: str = Field(description="The environment variable that selects it.")
    value: str
    deprecated: str = Field(description="Date (YYYY-MM-DD) it was deprecated.")
    sunset: str = Field(description="Date (YYYY-MM-DD) from which tasklink refuses it.")
    migration: str
    in_use: bool = Field(description="True when this server's configuration selects it.")


class VendorInfo(BaseModel):
    name: str
    title: str
    mode: Literal["live", "sandbox"] = Field(description="live = real API; sandbox = embedded simulator.")
    summary: str
    operations: list[OperationInfo]
    statuses: dict[str, str] = Field(
        default_factory=dict, description="Accepted normalized task statuses -> this vendor's value."
    )
    priorities: list[str] = Field(default_factory=list, description="Accepted priorities (empty: none).")
    limits: dict[str, Any] = Field(default_factory=dict, description="Page sizes, lengths, rate limits.")
    assignee_id_example: str | None = Field(
        None, description="What this vendor's person ids look like; names and emails are resolved with find_people."
    )
    vendor_fields: dict[str, Any] = Field(default_factory=dict, description="Vendor-only fields, per tool.")
    idempotency_keys: bool = Field(False, description="True when the vendor itself honours idempotency keys.")
    deprecations: list[DeprecationInfo] = Field(default_factory=list)
    notices: list[str] = Field(
        default_factory=list, description="Deprecations in effect for this configuration: dates and how to migrate."
    )


class VendorSummary(BaseModel):
    """One vendor in a few lines: what it can and cannot do; the details are one call away."""

    name: str
    title: str
    mode: Literal["live", "sandbox"]
    summary: str
    supports: list[str] = Field(description="Operations this vendor supports.")
    lacks: list[str] = Field(default_factory=list, description="Operations it does not (reasons in the details).")
    statuses: list[str] = Field(default_factory=list, description="Normalized task statuses it accepts.")
    priorities: list[str] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list, description="Deprecations in effect: dates and how to migrate.")


MORE = (
    "For required fields, vendor-only fields, limits, and why an operation is missing with what to do instead: "
    "list_vendors(vendor=<name>, detail=true), or the capabilities://{vendor} resource."
)


class VendorsReport(BaseModel):
    vendors: list[VendorSummary]
    details: list[VendorInfo] = Field(default_factory=list, description="Full capabilities, when detail=true.")
    more: str = Field(MORE, description="How to see the details.")


def vendor_summary(info: VendorInfo) -> VendorSummary:
    return VendorSummary(
        name=info.name,
        title=info.title,
        mode=info.mode,
        summary=info.summary,
        supports=[op.name for op in info.operations if op.supported],
        lacks=[op.name for op in info.operations if not op.supported],
        statuses=list(info.statuses),
        priorities=info.priorities,
        notices=info.notices,
    )


def vendor_info(
    manifest: VendorManifest, *, mode: Literal["live", "sandbox"], settings: Any = None, today: date
) -> VendorInfo:
    """Capabilities of one vendor; `settings` (the vendor's) decides which deprecations are in use."""

    deps = []
    for dep in manifest.deprecations:
        env = settings.env_name(dep.setting) if hasattr(settings, "env_name") else f"{manifest.name}_{dep.setting}"
        deps.append(
            DeprecationInfo(
                subject=dep.subject,
                setting=env.upper(),
                value=dep.value,
                deprecated=dep.deprecated.isoformat(),
                sunset=dep.sunset.isoformat(),
                migration=dep.migration,
                in_use=settings is not None and str(getattr(settings, dep.setting, None)) == dep.value,
            )
        )
    extra_fields = {
        f"{kind}.{op.name}": {key: field.text() for key, field in getattr(op, kind).items()}
        for kind in ("vendor_fields", "vendor_filters")
        for op in manifest.operations.values()
        if getattr(op, kind)
    }
    limits = manifest.limits.model_dump(mode="json", exclude_none=True)
    if manifest.idempotency is not None:
        limits |= {
            "idempotency_key_max_length": manifest.idempotency.max_length,
            "idempotency_key_retention_hours": manifest.idempotency.retention_hours,
        }
    return VendorInfo(
        name=manifest.name,
        title=manifest.title,
        mode=mode,
        summary=manifest.summary,
        operations=[
            OperationInfo(
                name=op.name,
                supported=op.supported,
                reason=op.reason or None,
                alternative=op.alternative or None,
                required=manifest.requirement_text(op.name) or None,
                notes=op.notes or None,
            )
            for op in manifest.operations.values()
        ],
        statuses=dict(manifest.statuses),
        priorities=list(manifest.priorities),
        limits=limits,
        assignee_id_example=manifest.people.id_example,
        vendor_fields=extra_fields,
        idempotency_keys=manifest.idempotency_keys,
        deprecations=deps,
        notices=deprecation_notices(manifest, settings, today) if settings is not None else [],
    )


def capabilities_document(info: VendorInfo) -> dict[str, Any]:
    """The `capabilities://{vendor}` resource: `vendor_info` with operations keyed by name."""

    return (
        {"vendor": info.name}
        | info.model_dump(mode="json", exclude_none=True, exclude={"operations"})
        | {
            "operations": {
                op.name: op.model_dump(mode="json", exclude_none=True, exclude={"name"}) for op in info.operations
            }
        }
    )
