"""Versioned schema migrations, for both stores.

Each migration runs once, in order, inside one transaction with its version row; a store whose
`schema_migrations` holds a version above the code's newest is refused at start-up (an older
tasklink must not write to a newer schema). Times are seconds since the epoch (REAL in SQLite,
double precision in PostgreSQL, whose REAL is too coarse for them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: str
    postgresql: str


def _ledger_tables(real: str, serial: str) -> str:
    """The write gate's: idempotency keys, the audit log, delete previews."""

    return f"""
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    vendor TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    message TEXT,
    owner TEXT NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at);
CREATE TABLE IF NOT EXISTS audit (
    seq {serial},
    at {real} NOT NULL,
    transport TEXT NOT NULL,
    client TEXT,
    credential TEXT,
    tool TEXT NOT NULL,
    vendor TEXT,
    target TEXT,
    args_digest TEXT,
    idempotency_key TEXT,
    outcome TEXT NOT NULL,
    detail TEXT,
    vendor_request_id TEXT,
    arguments TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TABLE IF NOT EXISTS previews (
    operation TEXT NOT NULL,
    vendor TEXT NOT NULL,
    target TEXT NOT NULL,
    digest TEXT NOT NULL,
    expires {real} NOT NULL,
    PRIMARY KEY (operation, vendor, target)
);
CREATE INDEX IF NOT EXISTS previews_expires ON previews(expires);
"""


def _create_tables(real: str) -> str:
    """The duplicate check's: title locks, recent creates, dry-run verdicts."""

    return f"""
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS recent_writes (
    vendor TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    record_id TEXT NOT NULL,
    at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS recent_writes_title ON recent_writes(vendor, kind, title);
CREATE TABLE IF NOT EXISTS duplicate_verdicts (
    vendor TEXT NOT NULL,
    kind TEXT NOT NULL,
    digest TEXT NOT NULL,
    resolved TEXT NOT NULL,
    expires {real} NOT NULL,
    PRIMARY KEY (vendor, kind, digest)
);
"""


def _shared(real: str, blob: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS server_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    material {blob} NOT NULL,
    created_at {real} NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_budgets (
    name TEXT PRIMARY KEY,
    next_free {real} NOT NULL
);
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "idempotency ledger, audit log, previews, locks, recent writes, duplicate verdicts",
        _ledger_tables("REAL", "INTEGER PRIMARY KEY AUTOINCREMENT") + _create_tables("REAL"),
        _ledger_tables("DOUBLE PRECISION", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        + _create_tables("DOUBLE PRECISION"),
    ),
    Migration(
        2,
        "the shared server key and the vendors' shared rate-limit budgets",
        _shared("REAL", "BLOB"),
        _shared("DOUBLE PRECISION", "BYTEA"),
    ),
)


def _principals(real: str, blob: str, if_absent: str) -> str:
    return f"""
ALTER TABLE audit ADD COLUMN {if_absent}principal TEXT;
ALTER TABLE recent_writes ADD COLUMN {if_absent}principal TEXT;
CREATE TABLE IF NOT EXISTS credentials (
    principal TEXT NOT NULL,
    vendor TEXT NOT NULL,
    sealed {blob} NOT NULL,
    key_id TEXT NOT NULL,
    account TEXT,
    created_at {real} NOT NULL,
    PRIMARY KEY (principal, vendor)
);
"""


MIGRATIONS += (
    Migration(
        3,
        "who acted (audit and recent writes by principal) and the vault of per-user vendor credentials",
        _principals("REAL", "BLOB", ""),
        _principals("DOUBLE PRECISION", "BYTEA", "IF NOT EXISTS "),
    ),
)


def _connect_links(real: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS connect_links (
    nonce TEXT PRIMARY KEY,
    used_at {real} NOT NULL
);
"""


MIGRATIONS += (
    Migration(
        4, "one-time links to connect a vendor account", _connect_links("REAL"), _connect_links("DOUBLE PRECISION")
    ),
)

CODE_VERSION = MIGRATIONS[-1].version

VERSIONS_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at REAL NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)",
}

#: the tables `tasklink state status` counts
TABLES = ("idempotency", "audit", "previews", "locks", "recent_writes", "duplicate_verdicts", "credentials")


def newer_schema(where: str, found: int) -> str:
    return (
        f"the state store {where} has schema version {found}, newer than this tasklink's {CODE_VERSION}: "
        "a newer tasklink wrote it; upgrade tasklink (an older one must not write to it)"
    )
