"""tasklink's state store: SQLite in the data dir (one host), or PostgreSQL (many workers, many hosts).

`TASKLINK_STATE_URL` chooses: unset or `sqlite:///path/to/state.sqlite3` (an absolute path) for
SQLite, `postgresql://user:password@host:5432/database` for PostgreSQL (see state/postgres.py).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigurationError
from ..settings import TaskLinkSettings
from .base import Budget, Change, StateStore, Status, Tx

__all__ = ["Budget", "Change", "StateStore", "Status", "Tx", "open_store", "store_kind"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_kind(settings: TaskLinkSettings) -> str:
    url = settings.state_url.get_secret_value() if settings.state_url else ""
    return "postgresql" if url.startswith(POSTGRES_SCHEMES) else "sqlite"


def open_store(settings: TaskLinkSettings, *, migrate: bool = True) -> StateStore:
    """The configured store, opened and migrated (unless `migrate` is False); one line on any problem."""

    url = settings.state_url.get_secret_value() if settings.state_url else None
    if url is None:
        from .sqlite import SQLiteStore

        return SQLiteStore(settings.state_path("state.sqlite3"))
    if url.startswith(POSTGRES_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore.open(url, pool_size=settings.state_pool_size, migrate=migrate)
    if url.startswith("sqlite://"):
        path = Path(url.removeprefix("sqlite://"))
        if not path.is_absolute():
            raise ConfigurationError(
                f"TASKLINK_STATE_URL={url!r}: an SQLite store is named by an absolute path, e.g. "
                "sqlite:///var/lib/tasklink/state.sqlite3"
            )
        from .sqlite import SQLiteStore

        return SQLiteStore(path)
    from .postgres import redacted

    raise ConfigurationError(
        f"TASKLINK_STATE_URL={redacted(url)!r} is neither sqlite:///<absolute path> nor "
        "postgresql://user:password@host:port/database"
    )
