"""Confirmation: destructive operations need a token a preview handed out (or an accepted
elicitation), bound to the exact target and to the record as the user saw it; tokens are
HMAC-signed with a key derived from the server key, so any worker sharing it can check them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidInput
from ..principals import acting
from .keys import derive
from .ledger import Previews

CONFIRM_TTL_SECONDS = 600


def _mine(target: str, scope: str) -> str:
    """A preview's target as the acting principal's (an elicited confirmation finds only its own previews)."""

    return f"{scope}|{target}" if scope else target


def shown_digest(shown: Mapping[str, Any]) -> str:
    """A fingerprint of the record as a preview showed it to the user."""

    canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


class ConfirmTokens:
    """Short-lived tokens bound to one target and to the record as the preview showed it.

    A token from a preview of "Acme vendor review" cannot delete the record after it was renamed:
    the delete re-reads the target and refuses when what the user saw has changed. An elicited
    confirmation is bound the same way, to the last preview of that target (kept in the state store).
    """

    def __init__(
        self,
        key: bytes,
        previews: Previews,
        *,
        clock: Callable[[], float] = time.time,
        ttl: int = CONFIRM_TTL_SECONDS,
    ) -> None:
        self._key = derive(key, "confirm-tokens")
        self._previews = previews
        self._clock = clock
        self._ttl = ttl

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()[:18]).decode()

    async def issue(self, operation: str, vendor: str, target: str, shown: Mapping[str, Any]) -> str:
        digest = shown_digest(shown)
        expires = int(self._clock()) + self._ttl
        scope = acting().scope()
        await self._previews.remember(operation, vendor, _mine(target, scope), digest, expires)
        body = json.dumps([operation, vendor, target, expires, digest, scope], separators=(",", ":"))
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(body.encode())}"

    async def expected(self, operation: str, vendor: str, target: str, *, token: str | None, elicited: bool) -> str:
        """What the user confirmed: the digest of the record as previewed (by the token, or the last
        preview behind an accepted elicitation). Refuses a missing, forged, foreign or expired token."""

        if elicited:
            digest = await self._previews.find(operation, vendor, _mine(target, acting().scope()), self._clock())
            if digest is None:
                raise InvalidInput(
                    "the confirmation has no preview of this record (or it expired)",
                    field="confirm",
                    hint=f"call {operation} again so the user is asked about the record as it is now",
                )
            return digest
        if not token:
            raise InvalidInput(
                "deleting needs the confirm_token from a preview",
                field="confirm_token",
                hint=f"call {operation} without confirm to get a preview and a token",
            )
        return self.verify(token, operation, vendor, target)

    @staticmethod
    def require_unchanged(
        expected: str, operation: str, what: str, current: Mapping[str, Any], *, elicited: bool = False
    ) -> None:
        """Refuse when the record re-read just before the delete is not the one the user saw."""

        if expected != shown_digest(current):
            raise InvalidInput(
                f"{what} changed since the user previewed it, so the confirmation no longer matches it",
                field="confirm" if elicited else "confirm_token",
                hint=f"preview again (call {operation} without confirm) and ask the user about the record as it is now",
            )

    def verify(self, token: str, operation: str, vendor: str, target: str) -> str:
        """The previewed record's digest, if `token` was issued for exactly this target and is fresh."""

        try:
            payload, signature = token.rsplit(".", 1)
            body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            op, ven, tgt, expires, digest, scope = json.loads(body)
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
        if scope != acting().scope():
            raise InvalidInput(
                "confirm_token was issued to another caller; only whoever previewed the delete can confirm it",
                field="confirm_token",
                hint="call without confirm to get your own preview and token",
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
        return str(digest)
