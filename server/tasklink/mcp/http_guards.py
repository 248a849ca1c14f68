"""Limits that keep one HTTP client from starving the others.

- `SessionGuard`: at most N handshake-era sessions per credential (the bearer token's or OAuth
  principal's identity; every unauthenticated loopback client counts as one credential). A credential
  that opens one more has its own *oldest* session closed, through the session manager, as if its
  client had sent `DELETE /mcp`; other credentials are never touched. The overall cap and the idle
  timeout are the session manager's own (`max_sessions`, `session_idle_timeout`).
- `BodyDeadline`: a request body must arrive completely within a bound (else 408) and fit the size
  limit (else 413), before anything (authentication included) looks at it.
- `ShortJsonRpcErrors`: a message that is not JSON, or not a JSON-RPC message, is answered with the
  standard short error (`-32700 Parse error` / `-32600 Invalid Request`), never with parser or
  validation text from the libraries underneath.
- `header_timeout_protocol`: uvicorn's h11 protocol with a deadline for the request line and headers
  (uvicorn has none: a client that sends them slowly would hold its connection forever).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import h11
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken, principal_components
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("tasklink.http")

SESSION_HEADER = "mcp-session-id"
#: who opened a session: (client_id, issuer, subject) of the access token; None when unauthenticated
Credential = tuple[str, str | None, str | None] | None
#: the internal DELETE that closes an evicted session comes from inside the process; loopback names
#: are always among the accepted Host values (see deployment.transport_security)
INTERNAL_HOST = b"127.0.0.1:0"
#: an `initialize` request is small; a bigger body is not looked into
MAX_INITIALIZE_SIZE = 64 * 1024

STANDARD_MESSAGES = {
    PARSE_ERROR: "Parse error",
    INVALID_REQUEST: "Invalid Request",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    INTERNAL_ERROR: "Internal error",
}
#: text that only a library could have written: parser positions, pydantic reports and their links
LIBRARY_TEXT = re.compile(
    r"pydantic|validation errors? for|\[type=|input_value=|line \d+ column \d+|traceback", re.IGNORECASE
)


def credential_of(scope: Scope) -> Credential:
    """The identity the SDK's session manager binds a session to, as a hashable key."""

    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        return principal_components(user.access_token)
    return None


def _user_for(credential: Credential) -> AuthenticatedUser | None:
    """A stand-in user with the same principal, so the manager accepts the internal DELETE as the owner's."""

    if credential is None:
        return None
    client_id, issuer, subject = credential
    token = AccessToken(
        token="",
        client_id=client_id,
        scopes=[],
        subject=subject,
        claims={"iss": issuer} if issuer is not None else None,
    )
    return AuthenticatedUser(token)


# -- sessions ---------------------------------------------------------------------------------


@dataclass(eq=False)
class TrackedSession:
    id: str
    credential: Credential
    idle_since: float
    in_flight: int = 0


class SessionLimits:
    """Which credential opened which session, oldest first; decides which sessions to close.

    It mirrors the session manager's own idle rule (a session with no request in flight for
    `idle_timeout` seconds is gone), so an expired session never counts against its credential.
    An entry is dropped as soon as its session is closed, ends or expires: nothing about a closed
    session is kept.
    """

    def __init__(self, per_credential: int, idle_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        if per_credential < 1:
            raise ValueError("per_credential must be at least 1")
        self.per_credential = per_credential
        self.idle_timeout = idle_timeout
        self.clock = clock
        #: how often expired entries are swept when nothing else happens
        self.sweep_interval = min(max(idle_timeout / 4, 1.0), 60.0)
        self._sessions: dict[str, TrackedSession] = {}
        #: per credential, in the order the sessions were opened (dicts keep insertion order)
        self._owned: dict[Credential, dict[str, TrackedSession]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def count(self, credential: Credential) -> int:
        return len(self._owned.get(credential, ()))

    def get(self, session_id: str, credential: Credential) -> TrackedSession | None:
        session = self._sessions.get(session_id)
        return session if session is not None and session.credential == credential else None

    def make_room(self, credential: Credential) -> list[TrackedSession]:
        """Before `credential` opens a session: forget (and return, to be closed) its oldest beyond cap - 1."""

        return self._trim(credential, self.per_credential - 1)

    def opened(self, session_id: str, credential: Credential) -> tuple[TrackedSession, list[TrackedSession]]:
        """Record a new session (its opening request still in flight); return it and the sessions to close
        (concurrent openings can overshoot the cap between `make_room` and here)."""

        session = TrackedSession(session_id, credential, idle_since=self.clock(), in_flight=1)
        self._owned.setdefault(credential, {})[session_id] = session
        self._sessions[session_id] = session
        return session, self._trim(credential, self.per_credential)

    def begin(self, session: TrackedSession) -> None:
        session.in_flight += 1

    def end(self, session: TrackedSession) -> None:
        session.in_flight -= 1
        session.idle_since = self.clock()

    def forget(self, session: TrackedSession) -> None:
        self._sessions.pop(session.id, None)
        owned = self._owned.get(session.credential)
        if owned is not None:
            owned.pop(session.id, None)
            if not owned:
                del self._owned[session.credential]

    def sweep(self) -> None:
        """Forget every expired session."""

        now = self.clock()
        for session in [s for s in self._sessions.values() if self._expired(s, now)]:
            self.forget(session)

    def _trim(self, credential: Credential, keep: int) -> list[TrackedSession]:
        now = self.clock()
        for session in [s for s in self._owned.get(credential, {}).values() if self._expired(s, now)]:
            self.forget(session)
        victims: list[TrackedSession] = []
        owned = self._owned.get(credential, {})
        while len(owned) > keep:
            oldest = next(iter(owned.values()))
            self.forget(oldest)
            victims.append(oldest)
        return victims

    def _expired(self, session: TrackedSession, now: float) -> bool:
        return session.in_flight <= 0 and now - session.idle_since >= self.idle_timeout


def _opens_a_session(body: bytes) -> bool:
    """An `initialize` request: the one message that opens a handshake-era session."""

    if len(body) > MAX_INITIALIZE_SIZE or b'"initialize"' not in body:
        return False
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "initialize"


class SessionGuard:
    """ASGI middleware (inside authentication) on the MCP endpoint: enforces `SessionLimits`.

    `close` is the session manager's ASGI entry point; a session is closed by sending it a DELETE
    for that session id, on behalf of the credential that owns it (the same as its client would).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        close: Callable[[Scope, Receive, Send], Awaitable[None]],
        path: str,
        per_credential: int,
        idle_timeout: float,
    ) -> None:
        self.app = app
        self.close = close
        self.path = path
        self.limits = SessionLimits(per_credential, idle_timeout)
        self._sweeper: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        credential = credential_of(scope)
        method = scope["method"]
        requested = Headers(scope=scope).get(SESSION_HEADER)
        session = self.limits.get(requested, credential) if requested else None
        if session is not None:
            self.limits.begin(session)
        elif requested is None and method == "POST":
            body, receive = await _read_body(receive)
            if _opens_a_session(body):
                await self._close_all(self.limits.make_room(credential))
        status: int | None = None
        opened: TrackedSession | None = None
        victims: list[TrackedSession] = []

        async def watch(message: Message) -> None:
            nonlocal status, opened, victims
            if message["type"] == "http.response.start":
                status = int(message["status"])
                new_id = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if requested is None and new_id and status < 400:
                    opened, victims = self.limits.opened(new_id, credential)
                    self._schedule_sweep()
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if session is not None:
                self.limits.end(session)
                if status == 404 or (method == "DELETE" and status is not None and status < 300):
                    self.limits.forget(session)
            if opened is not None:
                self.limits.end(opened)
            await self._close_all(victims)

    def _schedule_sweep(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self.limits.sweep_interval, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        self.limits.sweep()
        if len(self.limits):
            self._schedule_sweep()

    async def _close_all(self, sessions: list[TrackedSession]) -> None:
        if not sessions:
            return
        with anyio.CancelScope(shield=True):
            for session in sessions:
                await self._close(session)

    async def _close(self, session: TrackedSession) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "DELETE",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", INTERNAL_HOST), (SESSION_HEADER.encode(), session.id.encode())],
            "client": None,
            "server": None,
            "state": {},
        }
        user = _user_for(session.credential)
        if user is not None:
            scope["user"] = user
            scope["auth"] = AuthCredentials([])
        request_sent = False
        status: int | None = None

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])

        try:
            await self.close(scope, receive, send)
        except Exception:
            logger.exception("closing a session over its credential's limit failed")
            return
        if status is not None and status < 300:
            logger.info("closed the oldest session of a credential at its limit of %d", self.limits.per_credential)
        elif status != 404:  # 404: it had ended already
            logger.warning("closing a session over its credential's limit was answered %s", status)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands the same messages to the app."""

    messages: deque[Message] = deque()
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.popleft()
        return await receive()

    return b"".join(chunks), replay


# -- request bodies ---------------------------------------------------------------------------


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyDeadline:
    """Read the whole request body first: within `timeout` seconds (else 408) and `max_size` bytes (else 413)."""

    def __init__(self, app: ASGIApp, *, timeout: float, max_size: int) -> None:
        self.app = app
        self.timeout = timeout
        self.max_size = max_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_size:
            await _plain(send, 413, "Request body too large")
            return
        body = bytearray()
        cached: deque[Message] = deque()
        with anyio.move_on_after(self.timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    cached.append(message)  # the client went away
                    break
                body += message.get("body", b"")
                if len(body) > self.max_size:
                    await _plain(send, 413, "Request body too large")
                    return
                if not message.get("more_body", False):
                    cached.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})
                    break
        if deadline.cancelled_caught:
            await _plain(send, 408, "Request body not received in time")
            return
        del body

        async def replay() -> Message:
            if cached:
                return cached.popleft()
            return await receive()

        await self.app(scope, replay, send)


# -- JSON-RPC error bodies --------------------------------------------------------------------


def short_error(body: bytes) -> bytes | None:
    """The standard short form of a JSON-RPC error body that carries library text; None to keep it."""

    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return None
    code: int = error["code"]
    message = str(error.get("message", ""))
    if code == PARSE_ERROR:
        replacement = PARSE_ERROR
    elif code == INVALID_PARAMS and parsed.get("id") is None and message.startswith("Validation error"):
        # the transport's "this is not a JSON-RPC message": JSON-RPC 2.0 calls that an Invalid Request
        replacement = INVALID_REQUEST
    elif LIBRARY_TEXT.search(message) or ("data" in error and LIBRARY_TEXT.search(json.dumps(error["data"]))):
        replacement = code if code in STANDARD_MESSAGES else INVALID_REQUEST
    else:
        return None
    short = {
        "jsonrpc": "2.0",
        "id": parsed.get("id"),
        "error": {"code": replacement, "message": STANDARD_MESSAGES[replacement]},
    }
    return json.dumps(short, separators=(",", ":")).encode()


class ShortJsonRpcErrors:
    """Rewrite JSON error responses of the MCP endpoint with `short_error` (status kept)."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                if message["status"] >= 400 and content_type.startswith("application/json"):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                start, held = held, None
                chunks.clear()
                replaced = short_error(body)
                if replaced is not None:
                    body = replaced
                    headers = MutableHeaders(raw=list(start.get("headers", [])))
                    headers["content-length"] = str(len(body))
                    start = {**start, "headers": headers.raw}
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, rewrite)


# -- request headers --------------------------------------------------------------------------

REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\n"
    b"connection: close\r\n\r\n"
    b"Request Timeout"
)


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus: a request line and headers not complete within `header_timeout`
    seconds (counted from the connection, or from the first byte of a later request on a kept-alive
    connection) get 408 and the connection is closed."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            # part of a request line or header block has arrived (uvicorn's keep-alive timer is off now)
            if self._header_timer is None:
                self._arm_header_timer()
        else:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[HeaderDeadlineProtocol]:
    """`HeaderDeadlineProtocol` with its deadline set, to pass to uvicorn as `http=`."""

    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": float(seconds)})
