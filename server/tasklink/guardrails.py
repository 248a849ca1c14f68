"""Policy checks every operation passes before any I/O.

- capability: the vendor's manifest must declare the operation supported, else a refusal with
  the reason and the supported alternative, and zero requests sent;
- deprecation: a setting value the manifest marks deprecated (`[[deprecations]]`) adds a warning
  to every result until its sunset date, and from that date refuses every call before any request;
- confirmation: destructive operations need a token bound to the exact target that a preview
  handed out (or an accepted elicitation); tokens are HMAC-signed so any worker sharing
  TASKLINK_CONFIRM_SECRET can check them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, InvalidInput, UnsupportedOperation
from .manifests import Deprecation, VendorManifest

CONFIRM_TTL_SECONDS = 600


def require_supported(manifest: VendorManifest, operation: str) -> None:
    op = manifest.operation(operation)
    if not op.supported:
        raise UnsupportedOperation(manifest.title, operation, op.reason, op.alternative or None)


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


class ConfirmTokens:
    """Short-lived, target-bound confirmation tokens."""

    def __init__(self, key: bytes, *, clock: Callable[[], float] = time.time, ttl: int = CONFIRM_TTL_SECONDS):
        self._key = key
        self._clock = clock
        self._ttl = ttl

    @classmethod
    def from_secret_or_file(cls, secret: str | None, key_file: Path, **kw: object) -> ConfirmTokens:
        if secret:
            return cls(secret.encode(), **kw)  # type: ignore[arg-type]
        if key_file.exists():
            key = key_file.read_bytes()
        else:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            key_file.write_bytes(key)
            key_file.chmod(0o600)
        return cls(key, **kw)  # type: ignore[arg-type]

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()[:18]).decode()

    def issue(self, operation: str, vendor: str, target: str) -> str:
        body = json.dumps([operation, vendor, target, int(self._clock()) + self._ttl], separators=(",", ":"))
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(body.encode())}"

    def verify(self, token: str, operation: str, vendor: str, target: str) -> None:
        """Raise InvalidInput unless `token` was issued for exactly this target and is fresh."""

        try:
            payload, signature = token.rsplit(".", 1)
            body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            op, ven, tgt, expires = json.loads(body)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                "confirm_token is not a token tasklink issued",
                field="confirm_token",
                hint="call without confirm to get a preview and a fresh token",
            ) from exc
        if not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidInput(
                "confirm_token is not valid here (wrong signature)",
                field="confirm_token",
                hint="call without confirm to get a preview and a fresh token",
            )
        if (op, ven, tgt) != (operation, vendor, target):
            raise InvalidInput(
                f"confirm_token was issued for {op} on {ven} {tgt}, not for {operation} on {vendor} {target}",
                field="confirm_token",
            )
        if int(expires) < self._clock():
            raise InvalidInput(
                "confirm_token has expired (tokens last 10 minutes)",
                field="confirm_token",
                hint="call without confirm to get a fresh preview and token",
            )
