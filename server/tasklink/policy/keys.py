"""The server's secret key: TASKLINK_CONFIRM_SECRET, else the shared state store's key (PostgreSQL: one
row, made by the first worker), else a key file in the data dir, made once.

Every worker sharing the data dir (or the secret) derives the same purpose keys from it: delete
confirmations, sealed multi-round-trip request state, list cursors. The key file is written
completely, with mode 0600, to a temporary name and then linked into place, so a reader never sees
a partial or empty key and two processes starting at once agree on one key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..errors import ConfigurationError

KEY_BYTES = 32
MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10


def server_key(secret: str | None, key_file: Path, *, shared: bytes | None = None) -> bytes:
    """TASKLINK_CONFIRM_SECRET, else the key the state store keeps for every worker (PostgreSQL), else the
    data dir's key file."""

    if secret is not None:
        return _checked_secret(secret)
    if shared is not None:
        return shared
    try:
        return _read_key(key_file)
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(temporary, key_file)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(key_file)


def derive(key: bytes, purpose: str) -> bytes:
    """A key for one purpose, so a token of one kind can never pass as another."""

    return hmac.new(key, f"tasklink/{purpose}".encode(), hashlib.sha256).digest()


def _read_key(key_file: Path) -> bytes:
    key = key_file.read_bytes()
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"The key file {key_file} holds {len(key)} bytes instead of {KEY_BYTES}, so it was damaged; delete it "
            "(outstanding delete confirmations become invalid) or set TASKLINK_CONFIRM_SECRET"
        )
    return key


def _checked_secret(secret: str) -> bytes:
    if len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        raise ConfigurationError(
            f"TASKLINK_CONFIRM_SECRET must be at least {MIN_SECRET_LENGTH} characters of random text "
            f"(at least {MIN_DISTINCT_CHARACTERS} different characters); it signs delete confirmations and "
            "cursors, so a short one can be guessed from a token. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret.encode()
