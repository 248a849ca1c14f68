"""What every vendor simulator shares: SQLite state, a request log, injected faults.

A simulator is a Starlette app built by `sandbox_app(...)`. Its state lives in one SQLite file
per vendor (in the data dir for the CLI, a temp dir in tests). Every request is logged so
tests can prove what did — or did not — reach the vendor. Faults are queued per test (or
from TASKLINK_SANDBOX_FAULTS) and answered before the route runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Json = dict[str, Any]


class SandboxStore:
    """A tiny JSON document store on SQLite: kinds of records with integer or string ids."""

    def __init__(self, path: Path | str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS docs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0, UNIQUE(kind, id));
            CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_id(self, kind: str, start: int = 1) -> int:
        """Allocate an id; safe across processes sharing the file (two workers, one sandbox)."""

        with self._lock:
            own_transaction = not self._db.in_transaction
            if own_transaction:
                self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM counters WHERE kind=?", (kind,)).fetchone()
                value = max(start, (row[0] + 1) if row else start)
                self._db.execute("INSERT OR REPLACE INTO counters(kind, value) VALUES (?, ?)", (kind, value))
            except BaseException:
                if own_transaction:
                    self._db.execute("ROLLBACK")
                raise
            if own_transaction:
                self._db.execute("COMMIT")
            return value

    def put(self, kind: str, id: str | int, body: Json, *, deleted: bool = False) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO docs(kind, id, body, deleted) VALUES (?,?,?,?) "
                "ON CONFLICT(kind, id) DO UPDATE SET body=excluded.body, deleted=excluded.deleted",
                (kind, str(id), json.dumps(body), int(deleted)),
            )

    def get(self, kind: str, id: str | int, *, include_deleted: bool = False) -> Json | None:
        with self._lock:
            row = self._db.execute("SELECT body, deleted FROM docs WHERE kind=? AND id=?", (kind, str(id))).fetchone()
        if row is None or (row[1] and not include_deleted):
            return None
        body: Json = json.loads(row[0])
        return body

    def is_deleted(self, kind: str, id: str | int) -> bool:
        with self._lock:
            row = self._db.execute("SELECT deleted FROM docs WHERE kind=? AND id=?", (kind, str(id))).fetchone()
        return bool(row and row[0])

    def delete(self, kind: str, id: str | int) -> None:
        with self._lock:
            self._db.execute("UPDATE docs SET deleted=1 WHERE kind=? AND id=?", (kind, str(id)))

    def all(self, kind: str, *, include_deleted: bool = False) -> list[Json]:
        live = "" if include_deleted else " AND deleted=0"
        sql = f"SELECT body FROM docs WHERE kind=?{live} ORDER BY seq"  # noqa: S608 - constant fragments only
        with self._lock:
            rows = self._db.execute(sql, (kind,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, kind: str, *, include_deleted: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM docs WHERE kind=?" + ("" if include_deleted else " AND deleted=0")  # noqa: S608
        with self._lock:
            return int(self._db.execute(sql, (kind,)).fetchone()[0])

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def seed_once(self, seed: Callable[[SandboxStore], None]) -> None:
        """Run `seed` the first time this database is opened."""

        with self._lock:
            if self.meta("seeded") is None:
                seed(self)
                self.set_meta("seeded", "1")

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int = 0
    at: float = field(default_factory=time.time)


@dataclass
class Fault:
    """An injected failure for the next matching request(s).

    kind "status": answer `status`/`headers`/`body` instead of running the route (429, 5xx, an
    HTML error page, a 302, ...);
    kind "drop_before" / "drop_after": the connection drops before the request is processed, or
    after it was processed (the write lands) but before any answer;
    kind "timeout_before" / "timeout_after": the same, seen by the client as a read timeout;
    kind "slow": answer normally after `delay` seconds;
    kind "malformed_after" / "oversized_after": process the request, then answer its real status
    with a body that is not JSON, or with `oversize` bytes.
    """

    kind: Literal[
        "status", "drop_before", "drop_after", "timeout_before", "timeout_after", "slow", "malformed_after",
        "oversized_after",
    ] = "status"  # fmt: skip
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"detail": "injected fault"}'
    content_type: str = "application/json"
    method: str | None = None
    path_prefix: str | None = None
    times: int = 1
    delay: float = 0.0
    oversize: int = 11 * 1024 * 1024

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_prefix and not path.startswith(self.path_prefix))


def parse_faults(text: str) -> dict[str, list[Fault]]:
    """TASKLINK_SANDBOX_FAULTS: a JSON list of faults, each with a "vendor" and Fault's fields."""

    from ..errors import ConfigurationError

    example = '[{"vendor": "lightfield", "status": 429, "headers": {"Retry-After": "2"}, "times": 3}]'
    try:
        items = json.loads(text)
        if not isinstance(items, list):
            raise TypeError("not a list")
        out: dict[str, list[Fault]] = {}
        for item in items:
            spec = dict(item)
            out.setdefault(str(spec.pop("vendor")), []).append(Fault(**spec))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError(f"TASKLINK_SANDBOX_FAULTS is not valid ({exc})", hint=f"example: {example}") from exc
    return out


class SandboxState:
    """Shared per-simulator state, reachable as `app.state.sandbox`."""

    def __init__(self, vendor: str, store: SandboxStore) -> None:
        self.vendor = vendor
        self.store = store
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def requests_matching(self, method: str | None = None, path_prefix: str = "") -> list[LoggedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and r.path.startswith(path_prefix)
            and not r.path.startswith("/_sandbox")
        ]


def route_path(scope: Scope) -> str:
    """The path below any mount prefix (the loopback sandbox mounts each vendor at /<vendor>)."""

    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class _LogAndFaults:
    """ASGI middleware: log each request with its body, answer injected faults."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = route_path(scope)
        entry = LoggedRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body.decode("utf-8", "replace")[:65536],
        )
        if not path.startswith("/_sandbox"):
            self.state.requests.append(entry)

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
            await send(message)

        fault = None if path.startswith("/_sandbox") else self.state.take_fault(scope["method"], path)
        if fault is not None:
            await self._inject(fault, scope, replay, record_status, entry)
            return
        await self.app(scope, replay, record_status)

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send, entry: LoggedRequest) -> None:
        if fault.kind == "status":
            response = Response(
                fault.body, status_code=fault.status, headers=fault.headers, media_type=fault.content_type
            )
            await response(scope, receive, send)
            return
        if fault.kind == "slow":
            await anyio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        if fault.kind in ("malformed_after", "oversized_after"):
            status = 500

            async def keep_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])

            await self.app(scope, receive, keep_status)
            entry.status = status
            body = b'{"id": 1, "title": "trunc' if fault.kind == "malformed_after" else b" " * fault.oversize
            await Response(body, status_code=status, media_type="application/json")(scope, receive, send)
            return
        if fault.kind.endswith("_after"):
            entry.status = -1
            await self.app(scope, receive, _swallow)
        raise _closed_by_peer(fault.kind)


async def _swallow(message: Message) -> None:
    return None


def _closed_by_peer(kind: str) -> Exception:
    """What an HTTP client raises when the peer stops answering (the in-process transport passes it on)."""

    if kind.startswith("timeout"):
        return httpx2.ReadTimeout("The read operation timed out")
    return httpx2.RemoteProtocolError("Server disconnected without sending a response.")


def sandbox_app(vendor: str, store: SandboxStore, routes: Sequence[BaseRoute]) -> Starlette:
    """A simulator app with logging, fault injection and `/_sandbox/*` introspection routes."""

    state = SandboxState(vendor, store)

    async def list_requests(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "status": r.status,
                    "headers": r.headers,
                }
                for r in state.requests
            ]
        )

    async def add_fault(request: Request) -> Response:
        state.inject(Fault(**(await request.json())))
        return JSONResponse({"queued": len(state.faults)})

    async def counts(request: Request) -> Response:
        kind = request.path_params["kind"]
        return JSONResponse({"kind": kind, "count": store.count(kind)})

    internal: list[BaseRoute] = [
        Route("/_sandbox/requests", list_requests, methods=["GET"]),
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/count/{kind}", counts, methods=["GET"]),
    ]
    app = Starlette(routes=[*internal, *routes])
    app.state.sandbox = state
    app.add_middleware(_LogAndFaults, state=state)
    return app


Handler = Callable[[Request], Awaitable[Response]]


async def read_json(request: Request) -> tuple[Any, Response | None]:
    """Parse a JSON (or form) body; on failure return a 400 response to send instead."""

    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type:
        form = await request.form()
        return {k: v for k, v in form.items()}, None
    raw = await request.body()
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except ValueError:
        return None, JSONResponse({"detail": "JSON parse error - malformed request body"}, status_code=400)
