"""Confirmation: destructive operations need a token bound to the exact target that a preview
handed out (or an accepted elicitation); tokens are HMAC-signed so any worker sharing
TASKLINK_CONFIRM_SECRET can check them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidInput

CONFIRM_TTL_SECONDS = 600


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
