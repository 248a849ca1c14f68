"""The credential vault: each principal's own vendor credentials, in the state store, sealed.

A row holds one (principal, vendor) credential as AES-256-GCM ciphertext (the `cryptography`
package) under TASKLINK_VAULT_KEY; the principal and vendor are its associated data, so a row copied
to another principal or vendor does not open. Each row names the key that sealed it (a fingerprint,
not the key), so `tasklink credentials rotate-key` re-seals every row under a new key in one
transaction. Secrets are never logged, listed or returned by a tool; the redactor knows them once read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigurationError
from ..state import StateStore, Tx

KEY_BYTES = 32
NONCE_BYTES = 12
GENERATE = "python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"


def parse_key(value: str, variable: str = "TASKLINK_VAULT_KEY") -> bytes:
    """32 random bytes, given URL-safe base64 (what GENERATE prints)."""

    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"{variable} must be {KEY_BYTES} random bytes in URL-safe base64 (it encrypts people's vendor "
            f"credentials); generate one with: {GENERATE}"
        )
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"tasklink-vault-key-id" + key).hexdigest()[:12]


def _aad(principal: str, vendor: str) -> bytes:
    return f"tasklink-vault|{principal}|{vendor}".encode()


def seal(key: bytes, principal: str, vendor: str, fields: Mapping[str, str]) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(dict(fields)).encode(), _aad(principal, vendor))


def unseal(key: bytes, principal: str, vendor: str, sealed: bytes) -> dict[str, str]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plain = AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(principal, vendor))
    except InvalidTag:
        raise ConfigurationError(
            f"the stored {vendor} credential of {principal} does not open with TASKLINK_VAULT_KEY (damaged, or "
            "sealed under another key); connect the account again"
        ) from None
    found: dict[str, str] = json.loads(plain)
    return found


class Vault:
    def __init__(self, store: StateStore, key: bytes | None, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._key = key
        self.clock = clock

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise ConfigurationError(
                f"per-user vendor credentials need TASKLINK_VAULT_KEY (it encrypts them); generate one with: {GENERATE}"
            )
        return self._key

    async def put(self, principal: str, vendor: str, fields: Mapping[str, str], account: str | None = None) -> None:
        sealed = seal(self.key, principal, vendor, fields)
        async with self.store.transaction() as tx:
            await tx.execute(
                "INSERT INTO credentials(principal, vendor, sealed, key_id, account, created_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(principal, vendor) DO UPDATE SET sealed=excluded.sealed, key_id=excluded.key_id, "
                "account=excluded.account, created_at=excluded.created_at",
                (principal, vendor, sealed, key_id(self.key), account, self.clock()),
            )

    async def get(self, principal: str, vendor: str) -> dict[str, str] | None:
        rows = await self.store.query(
            "SELECT sealed FROM credentials WHERE principal=? AND vendor=?", (principal, vendor)
        )
        return unseal(self.key, principal, vendor, bytes(rows[0][0])) if rows else None

    async def remove(self, principal: str, vendor: str) -> bool:
        async with self.store.transaction() as tx:
            done = await tx.execute("DELETE FROM credentials WHERE principal=? AND vendor=?", (principal, vendor))
            return done.rowcount > 0

    async def entries(self) -> list[dict[str, Any]]:
        """Who has connected what: never the secret."""

        rows = await self.store.query(
            "SELECT principal, vendor, account, created_at, key_id FROM credentials ORDER BY principal, vendor"
        )
        names = ("principal", "vendor", "account", "created_at", "key_id")
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def rotate(self, new_key: bytes) -> int:
        """Re-seal every row under `new_key`, in one transaction; how many rows."""

        async with self.store.transaction() as tx:
            await tx.lock("vault-rotation")
            rows = (await tx.execute("SELECT principal, vendor, sealed FROM credentials")).fetchall()
            for principal, vendor, sealed in rows:
                fields = unseal(self.key, principal, vendor, bytes(sealed))
                await self._reseal(tx, new_key, principal, vendor, fields)
        self._key = new_key
        return len(rows)

    @staticmethod
    async def _reseal(tx: Tx, key: bytes, principal: str, vendor: str, fields: Mapping[str, str]) -> None:
        await tx.execute(
            "UPDATE credentials SET sealed=?, key_id=? WHERE principal=? AND vendor=?",
            (seal(key, principal, vendor, fields), key_id(key), principal, vendor),
        )
