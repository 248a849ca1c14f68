"""Signed, opaque tokens: a JSON payload and its HMAC, URL-safe. Each user says what its payload means and
which purpose key signs it (`policy/keys.py: derive`), so a token of one kind never passes as another."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _mac(key: bytes, body: bytes, context: bytes, size: int) -> str:
    digest = hmac.new(key, body + b"\x00" + context, hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, payload: Any, *, context: str = "", size: int = 16) -> str:
    """`payload` as a token; `context` (e.g. the caller's scope) is signed but not carried."""

    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _mac(key, body, context.encode(), size)


def verify(key: bytes, token: str, *, context: str = "", size: int = 16) -> Any | None:
    """The payload of a token this key signed for this context; None for anything else."""

    payload, _, signature = token.partition(".")
    try:
        body = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        found = json.loads(body)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(signature, _mac(key, body, context.encode(), size)):
        return None
    return found
