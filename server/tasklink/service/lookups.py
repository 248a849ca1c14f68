"""Lookups: `find_records`, the ids other tools need besides people (cases, workflows, accounts, locations...).

Which kinds of record a vendor looks up, and where each id goes, is the manifest's
(`[operations.find_records.kinds]`); a kind the vendor lacks is refused with the manifest's reason
and alternative, or with the vendors that do have it, before any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import UnsupportedOperation
from ..manifests import LookupKind, VendorManifest, load_manifests
from ..vendors.base import FoundRecord
from .core import Core, OnRead

OPERATION = "find_records"


class FoundRecords(BaseModel):
    vendor: str
    kind: str
    query: str | None = None
    records: list[FoundRecord] = Field(description="Matches; pass an `id` on as `use` says.")
    use: str = Field(description="Where a record's id goes.")
    warnings: list[str] = Field(default_factory=list)


def record_kinds(extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Every kind any manifest names for find_records, supported or not, in manifest order."""

    kinds: dict[str, None] = {}
    for manifest in load_manifests(extra_dirs).values():
        kinds.update(dict.fromkeys(manifest.operation(OPERATION).kinds))
    return list(kinds)


class Lookups:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def find(
        self, vendor: str, kind: str, query: str | None = None, limit: int = 10, *, on_page: OnRead | None = None
    ) -> FoundRecords:
        bound = await self.core.checkpoint(vendor, OPERATION, on_read=on_page)
        entry = self.kind(bound.manifest, kind)
        text = (query or "").strip()
        found = await bound.adapter.find_records(kind, text, limit)
        return FoundRecords(
            vendor=vendor,
            kind=kind,
            query=text or None,
            records=found.records[:limit],
            use=entry.use or "",
            warnings=[*bound.warnings, *found.warnings],
        )

    def kind(self, manifest: VendorManifest, kind: str) -> LookupKind:
        """The manifest's entry for `kind`; a kind the vendor lacks is refused here, before any request."""

        kinds = manifest.operation(OPERATION).kinds
        entry = kinds.get(kind)
        if entry is not None and entry.supported:
            return entry
        own = [name for name, k in kinds.items() if k.supported]
        if entry is not None:
            reason, alternative = entry.reason or "", entry.alternative or None
        else:
            reason = f"{manifest.title} has no `{kind}` records to look up (it looks up {', '.join(own)})"
            alternative = self._elsewhere(kind)
        raise UnsupportedOperation(manifest.title, f"{OPERATION}(kind={kind!r})", reason, alternative)

    def _elsewhere(self, kind: str) -> str | None:
        """The configured vendors that look `kind` up, as calls."""

        calls = [
            f"find_records(vendor={name!r}, kind={kind!r})"
            for name, runtime in self.core.vendors.runtimes.items()
            if (entry := runtime.manifest.operation(OPERATION).kinds.get(kind)) is not None and entry.supported
        ]
        return " or ".join(calls) or None
