"""The shared store: PostgreSQL, for any number of workers on any number of hosts.

psycopg 3 with psycopg-pool: libpq underneath (every `PG*` variable, `.pgpass`, service files and TLS
options an operator already uses work in TASKLINK_STATE_URL), one package for the async server and
the synchronous start-up checks, and LISTEN/NOTIFY on a plain async connection.

- Start-up (synchronous, before serving): connect, apply the migrations under an advisory lock (one
  worker migrates, the others wait and find nothing to do), and read or create the shared server
  key. Any problem stops start-up with one line naming the URL (password redacted).
- Calls: a pool of connections, each checked before use, so a database that went away and came back
  is used again without a restart. A store that cannot be reached is StateUnavailable: the write
  gate refuses the write before anything is sent; reads do not need the store.
- Where SQLite relies on being the only writer (BEGIN IMMEDIATE), transactions here take an
  advisory transaction lock on the row's name (`Tx.lock`).
- Rate-limit budgets: one row per vendor category holding the time its next request may go (GCRA),
  reserved in one UPDATE on the database's clock, so all workers together keep the vendor's pace.
- Notifications: `pg_notify` on one channel; every worker LISTENs and tells its own subscribers.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from ..errors import ConfigurationError, StateUnavailable, StoreUnreachable
from .base import Budget, Change, Listeners, StateStore, Status
from .schema import CODE_VERSION, MIGRATIONS, TABLES, VERSIONS_TABLE, newer_schema

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("tasklink")

#: the advisory lock migrations run under (any constant every tasklink agrees on)
MIGRATION_LOCK = 0x7A5C_1109
CHANNEL = "tasklink_changes"
KEY_BYTES = 32
CONNECT_TIMEOUT = 3
#: after the store failed to answer, calls fail at once for this long (then one tries again), so reads that
#: merely consult it (rate budgets, notes) and writes that are refused do not each wait for a timeout
BACK_OFF_SECONDS = 1.0


def redacted(url: str) -> str:
    """`url` without its password (and without any `password=` parameter)."""

    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:***@{host}" if ":" in user else f"{name}@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _translate(sql: str, cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate shared cache
    found = cache.get(sql)
    if found is None:
        found = cache[sql] = sql.replace("%", "%%").replace("?", "%s")
    return found


#: a pooled connection idle longer than this is pinged before use (the server may have restarted meanwhile);
#: one in steady use is not, which saves a round trip per transaction
PING_AFTER_IDLE = 2.0
_last_used: dict[int, float] = {}


async def _mark_used(conn: Any) -> None:
    _last_used[id(conn)] = time.monotonic()


async def _ping_if_idle(conn: Any) -> None:
    if time.monotonic() - _last_used.get(id(conn), 0.0) > PING_AFTER_IDLE:
        await conn.execute("SELECT 1")


@dataclass
class _Result:
    rows: list[tuple[Any, ...]]
    rowcount: int

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class _PgTx:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> _Result:
        cursor = await self.conn.execute(_translate(sql), tuple(args))
        rows = [tuple(r) for r in await cursor.fetchall()] if cursor.description is not None else []
        return _Result(rows, cursor.rowcount)

    async def lock(self, name: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))


class _SharedBudget:
    """GCRA: `next_free` is when the category's next request may go; each request moves it on by 1/rate, and
    one may go up to `burst - 1` intervals early — so in any span t at most `burst + rate × t` requests go, as
    from a token bucket of `burst` tokens. One statement, on the database's clock (workers' clocks may differ)."""

    SQL = (
        "INSERT INTO rate_budgets(name, next_free) VALUES (%(name)s, extract(epoch from clock_timestamp()) "
        "+ %(interval)s) ON CONFLICT (name) DO UPDATE SET next_free = greatest(rate_budgets.next_free, "
        "extract(epoch from clock_timestamp())) + %(interval)s "
        "RETURNING next_free - %(tolerance)s - extract(epoch from clock_timestamp())"
    )
    GIVE_BACK = "UPDATE rate_budgets SET next_free = next_free - %(interval)s WHERE name = %(name)s"

    def __init__(self, store: PostgresStore, name: str, per_second: float, burst: float) -> None:
        self.store, self.name = store, name
        self.interval = 1.0 / max(per_second, 0.01)
        self.tolerance = self.interval * (max(burst, 1.0) - 1.0)

    async def take(self, budget: float) -> float:
        args = {"name": self.name, "interval": self.interval, "tolerance": self.tolerance}
        async with self.store.connection() as conn:
            cursor = await conn.execute(self.SQL, args)
            row = await cursor.fetchone()
            wait = max(0.0, float(row[0])) if row else 0.0
            if wait > budget:  # not going to wait that long: give the slot back for others
                await conn.execute(self.GIVE_BACK, args)
            return wait


class PostgresStore(StateStore):
    kind = "postgresql"
    row_id = "ctid"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.where = redacted(url)
        self.pool_size = pool_size
        self._pool: AsyncConnectionPool | None = None
        self._opening: anyio.Lock | None = None
        self._key: bytes | None = None
        self._listeners = Listeners()
        #: after a failure: calls fail at once until `_down_until`, then a probe decides (see `_recovered`)
        self._broken = False
        self._down_until = 0.0
        self._down_reason = ""
        self._retired: list[AsyncConnectionPool] = []

    # -- start-up (synchronous) -------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, pool_size: int = 10, migrate: bool = True) -> PostgresStore:
        """Connect, migrate (unless `migrate` is False: then a schema behind the code is refused) and
        read the shared key; one clear line for anything that stops it."""

        store = cls(url, pool_size=pool_size)
        with store._sync_connection() as conn:
            version = store._migrate(conn) if migrate else store._version(conn)
            if version < CODE_VERSION:
                raise StateUnavailable(
                    f"the state store {store.where} has schema version {version}, older than this tasklink's "
                    f"{CODE_VERSION}; run `tasklink state migrate`"
                )
            store._key = store._read_key(conn)
        return store

    @contextlib.contextmanager
    def _sync_connection(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise ConfigurationError(
                "TASKLINK_STATE_URL names PostgreSQL, but its driver is not installed: "
                "pip install 'tasklink[postgres]' (psycopg and psycopg-pool)"
            ) from None
        try:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT, autocommit=True)
        except psycopg.Error as exc:
            raise StateUnavailable(f"cannot connect to the state store {self.where}: {_reason(exc)}") from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise StateUnavailable(f"the state store {self.where} failed: {_reason(exc)}") from None
        finally:
            conn.close()

    def _version(self, conn: Any) -> int:
        conn.execute(VERSIONS_TABLE["postgresql"])
        found = int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
        if found > CODE_VERSION:
            raise StateUnavailable(newer_schema(self.where, found))
        return found

    def _migrate(self, conn: Any) -> int:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            found = self._version(conn)
            for migration in MIGRATIONS:
                if migration.version <= found:
                    continue
                with conn.transaction():
                    conn.execute(migration.postgresql)
                    conn.execute(
                        "INSERT INTO schema_migrations(version, description, applied_at) VALUES (%s, %s, %s)",
                        (migration.version, migration.description, time.time()),
                    )
                log.info("state store %s: applied migration %d (%s)", self.where, migration.version,
                         migration.description)  # fmt: skip
            return self._version(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    def _read_key(self, conn: Any) -> bytes:
        conn.execute(
            "INSERT INTO server_key(id, material, created_at) VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
            (secrets.token_bytes(KEY_BYTES), time.time()),
        )
        material = bytes(conn.execute("SELECT material FROM server_key WHERE id = 1").fetchone()[0])
        if len(material) != KEY_BYTES:
            raise StateUnavailable(f"the server key in the state store {self.where} is damaged ({len(material)} bytes)")
        return material

    # -- calls ----------------------------------------------------------------------------------

    async def _opened(self) -> AsyncConnectionPool:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = anyio.Lock()
        async with self._opening:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                pool = AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    open=False,
                    timeout=CONNECT_TIMEOUT,
                    check=_ping_if_idle,
                    reset=_mark_used,
                    kwargs={"connect_timeout": CONNECT_TIMEOUT, "autocommit": True},
                    name="tasklink-state",
                )
                await pool.open(wait=False)
                self._pool = pool
        return self._pool

    def _unreachable(self) -> StoreUnreachable:
        return StoreUnreachable(f"the state store {self.where} is unavailable ({self._down_reason})")

    async def _recovered(self) -> None:
        """After a failure: fail at once for BACK_OFF_SECONDS, then probe with one plain connection (a refused
        connection answers at once, unlike a pool waiting out its reconnect back-off); when the probe gets
        through, start a fresh pool."""

        import psycopg

        if time.monotonic() < self._down_until:
            raise self._unreachable()
        try:
            probe = await psycopg.AsyncConnection.connect(self.url, connect_timeout=CONNECT_TIMEOUT)
            await probe.close()
        except psycopg.Error as exc:
            self._down_until, self._down_reason = time.monotonic() + BACK_OFF_SECONDS, _reason(exc)
            raise self._unreachable() from None
        self._broken = False

    def _failed(self, exc: BaseException) -> None:
        self._broken = True
        self._down_until, self._down_reason = time.monotonic() + BACK_OFF_SECONDS, _reason(exc)
        old, self._pool = self._pool, None
        if old is not None:  # its connections are dead and its reconnects back off: a fresh one replaces it
            self._retired.append(old)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._broken:
            await self._recovered()
        while self._retired:
            with contextlib.suppress(Exception):
                await self._retired.pop().close(timeout=0)
        pool = await self._opened()
        try:
            async with pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            self._failed(exc)
            raise self._unreachable() from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgTx]:
        async with self.connection() as conn, conn.transaction():
            yield _PgTx(conn)

    def shared_key(self) -> bytes | None:
        return self._key

    def budget(self, vendor: str, category: str, per_second: float, burst: float) -> Budget | None:
        return _SharedBudget(self, f"{vendor}:{category}", per_second, burst)

    # -- notifications --------------------------------------------------------------------------

    async def publish(self, origin: str, uri: str) -> None:
        try:
            async with self.connection() as conn:
                await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{origin}\n{uri}"))
        except StateUnavailable as exc:  # the other workers miss it (their subscribers' next read is current)
            log.warning("could not tell other workers that %s changed: %s", uri, exc)

    def _deliver(self, payload: str) -> None:
        origin, _, uri = payload.partition("\n")
        self._listeners.deliver(Change(origin, uri))

    @asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncIterator[Change]]:
        async with self._listeners.listening() as changes, anyio.create_task_group() as group:
            group.start_soon(self._listen)
            try:
                yield changes
            finally:
                group.cancel_scope.cancel()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own, reconnecting (with a growing pause) whenever it is lost."""

        import psycopg

        pause = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    pause = 0.5
                    async for note in conn.notifies():
                        self._deliver(note.payload)
            except psycopg.Error as exc:
                log.warning("listening for other workers' changes failed (%s); again in %.1f s", _reason(exc), pause)
            await anyio.sleep(pause)
            pause = min(pause * 2, 10.0)

    # -- operators ------------------------------------------------------------------------------

    async def status(self) -> Status:
        async with self.transaction() as tx:
            version = (await tx.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")).rows[0][0]
            counts = {t: (await tx.execute(f"SELECT count(*) FROM {t}")).rows[0][0] for t in TABLES}  # noqa: S608
        return Status("postgresql", self.where, int(version), CODE_VERSION, counts)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
