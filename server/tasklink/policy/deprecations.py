"""Deprecation: a setting value the manifest marks deprecated (`[[deprecations]]`) adds a warning
to every result until its sunset date, and from that date refuses every call before any request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ..errors import ConfigurationError
from ..manifests import VendorManifest


@dataclass(frozen=True)
class Deprecation:
    """A setting value the vendor is retiring: `[[deprecations]]` in the vendor's manifest."""

    setting: str
    value: str
    subject: str
    deprecated: date
    sunset: date
    migration: str


def deprecations(manifest: VendorManifest) -> list[Deprecation]:
    out = []
    for raw in manifest.extra.get("deprecations", []):
        out.append(
            Deprecation(
                setting=str(raw["setting"]),
                value=str(raw["value"]),
                subject=str(raw.get("subject") or f"{raw['setting']}={raw['value']}"),
                deprecated=_as_date(raw["deprecated"]),
                sunset=_as_date(raw["sunset"]),
                migration=str(raw["migration"]),
            )
        )
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _in_use(manifest: VendorManifest, settings: Any) -> list[tuple[Deprecation, str]]:
    """The deprecations the vendor's current settings select, with the setting's env name."""

    found = []
    for dep in deprecations(manifest):
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
