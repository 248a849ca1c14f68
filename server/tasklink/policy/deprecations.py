"""Deprecation: a setting value the manifest marks deprecated (`[[deprecations]]`) adds a warning
to every result until its sunset date, and from that date refuses every call before any request."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..errors import ConfigurationError
from ..manifests import Deprecation, VendorManifest


def _in_use(manifest: VendorManifest, settings: Any) -> list[tuple[Deprecation, str]]:
    """The deprecations the vendor's current settings select, with the setting's env name."""

    found = []
    for dep in manifest.deprecations:
        if str(getattr(settings, dep.setting, None)) == dep.value:
            env_name = settings.env_name(dep.setting) if hasattr(settings, "env_name") else dep.setting
            found.append((dep, f"{env_name}={dep.value}"))
    return found


def _notice(manifest: VendorManifest, dep: Deprecation, selected: str, today: date) -> tuple[bool, str]:
    """(past the sunset?, what to tell the reader)."""

    if today >= dep.sunset:
        return True, (
            f"{manifest.title}: {selected} selects {dep.subject}, which was sunset on {dep.sunset.isoformat()}; "
            f"tasklink refuses it, so nothing was sent. To fix this, {dep.migration}"
        )
    return False, (
        f"{manifest.title}: {selected} selects {dep.subject}, deprecated since {dep.deprecated.isoformat()} "
        f"and sunset on {dep.sunset.isoformat()}; from that day tasklink refuses it. To migrate, {dep.migration}."
    )


def deprecation_warnings(manifest: VendorManifest, settings: Any, today: date) -> list[str]:
    """Warnings for every deprecated setting in use; refuse before any request once one is sunset."""

    warnings = []
    for dep, selected in _in_use(manifest, settings):
        sunset, text = _notice(manifest, dep, selected, today)
        if sunset:
            raise ConfigurationError(text)
        warnings.append(text)
    return warnings


def deprecation_notices(manifest: VendorManifest, settings: Any, today: date) -> list[str]:
    """The same state, one line per deprecation in use, without refusing (for list_vendors)."""

    return [_notice(manifest, dep, selected, today)[1] for dep, selected in _in_use(manifest, settings)]
