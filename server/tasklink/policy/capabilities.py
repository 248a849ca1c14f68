"""Capability: an operation the vendor's manifest does not support is refused before any I/O,
with the reason and the supported alternative, and zero requests sent."""

from __future__ import annotations

from ..errors import UnsupportedOperation
from ..manifests import VendorManifest


def require_supported(manifest: VendorManifest, operation: str) -> None:
    op = manifest.operation(operation)
    if not op.supported:
        raise UnsupportedOperation(manifest.title, operation, op.reason, op.alternative or None)
