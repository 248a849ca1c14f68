"""`tasklink serve --http` under abuse: a session flood, slow clients, malformed messages."""

from __future__ import annotations

import gc
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.streamable_http import StreamableHTTPServerTransport
from pydantic import SecretStr

from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app
from tasklink.mcp.http_guards import SessionLimits, TrackedSession, short_error
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, ThreadedUvicorn, free_port
from .http_support import OTHER_TOKEN, TOKEN, ServeProcess, base_env, run_tasklink

pytestmark = pytest.mark.anyio

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
PING = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
PARSE_ERROR = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
INVALID_REQUEST = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
LIBRARY_WORDS = ("pydantic", "validation error", "[type=", "input_value", "line 1 column", "errors.pydantic.dev")

FLOOD_SESSIONS = 2000
FLOOD_CLIENTS = 4
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0


def headers_for(token: str, session_id: str | None = None) -> dict[str, str]:
    found = {**MCP_HEADERS, "Authorization": f"Bearer {token}"}
    if session_id is not None:
        found |= {"Mcp-Session-Id": session_id, "Mcp-Protocol-Version": "2025-11-25"}
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """The real command with two tokens, default session limits and short read deadlines."""
    tmp = tmp_path_factory.mktemp("guarded")
    env = base_env(
        tmp / "data",
        TASKLINK_HTTP_TOKEN=f"{TOKEN},{OTHER_TOKEN}",
        TASKLINK_HTTP_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        TASKLINK_HTTP_BODY_TIMEOUT=str(BODY_TIMEOUT),
    )
    with ServeProcess(tmp, env) as srv:
        yield srv


# -- the session flood --------------------------------------------------------------------------


@pytest.mark.slow
async def test_one_credential_flooding_sessions_does_not_starve_another(guarded: ServeProcess) -> None:
    assert guarded.proc is not None
    pid = guarded.proc.pid
    async with (
        httpx2.AsyncClient(headers=headers_for(TOKEN), timeout=10) as warm_a,
        httpx2.AsyncClient(headers=headers_for(OTHER_TOKEN), timeout=10) as warm_b,
    ):
        for _ in range(30):  # warm caches (and both credentials' session tables) before the idle figure
            assert (await warm_a.post(guarded.url, json=INIT)).status_code == 200
            assert (await warm_b.post(guarded.url, json=INIT)).status_code == 200
    idle = rss_mb(pid)
    peak = idle
    flood_ids: list[str] = []
    flood_statuses: dict[int, int] = {}
    other_latencies: list[float] = []
    other_statuses: dict[int, int] = {}
    done = anyio.Event()

    async def flooder() -> None:
        async with httpx2.AsyncClient(headers=headers_for(TOKEN), timeout=10) as http:
            for _ in range(FLOOD_SESSIONS // FLOOD_CLIENTS):
                response = await http.post(guarded.url, json=INIT)
                flood_statuses[response.status_code] = flood_statuses.get(response.status_code, 0) + 1
                flood_ids.append(response.headers.get("mcp-session-id", ""))

    async def other_credential() -> None:
        nonlocal peak
        async with httpx2.AsyncClient(headers=headers_for(OTHER_TOKEN), timeout=10) as http:
            for _ in range(10_000):
                if done.is_set():
                    break
                started = time.perf_counter()
                opened = await http.post(guarded.url, json=INIT)
                session_id = opened.headers.get("mcp-session-id")
                pinged = await http.post(guarded.url, json=PING, headers=headers_for(OTHER_TOKEN, session_id))
                other_latencies.append(time.perf_counter() - started)
                for status in (opened.status_code, pinged.status_code):
                    other_statuses[status] = other_statuses.get(status, 0) + 1
                peak = max(peak, rss_mb(pid))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(other_credential)
        async with anyio.create_task_group() as flood:
            for _ in range(FLOOD_CLIENTS):
                flood.start_soon(flooder)
        done.set()
    flood_seconds = time.perf_counter() - started
    peak = max(peak, rss_mb(pid))

    # the flooding credential was never refused: each new session closed its own oldest one
    assert flood_statuses == {200: FLOOD_SESSIONS}
    async with httpx2.AsyncClient(timeout=10) as http:
        oldest = [
            (await http.post(guarded.url, json=PING, headers=headers_for(TOKEN, sid))).status_code
            for sid in flood_ids[:5]
        ]
        newest = [
            (await http.post(guarded.url, json=PING, headers=headers_for(TOKEN, sid))).status_code
            for sid in flood_ids[-5:]
        ]
    assert oldest == [404] * 5, "the oldest sessions of the flooding credential are closed"
    assert newest == [200] * 5, "its newest sessions still work"
    # the other credential was served all along, promptly
    assert other_latencies, "the other credential got no turn"
    assert other_statuses == {200: 2 * len(other_latencies)}
    slowest = max(other_latencies)
    assert slowest < 1.0, f"the other credential waited {slowest:.2f} s"
    after = rss_mb(pid)
    REPORTS.append(
        f"session flood: {FLOOD_SESSIONS} sessions from one credential in {flood_seconds:.1f} s "
        f"({FLOOD_CLIENTS} clients), other credential served {len(other_latencies)}× (open + ping), "
        f"slowest {slowest:.2f} s; server RSS idle {idle:.0f} MB → peak {peak:.0f} MB → after {after:.0f} MB"
    )
    assert after <= idle * 1.2, f"RSS {after:.0f} MB after the flood vs {idle:.0f} MB idle"
    assert peak <= idle * 1.5, f"RSS peaked at {peak:.0f} MB vs {idle:.0f} MB idle"


def serve_app(tmp_path: Path, http: HttpSettings) -> ThreadedUvicorn:
    port = free_port()
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    return ThreadedUvicorn(http_app(server, HttpOptions(port=port), http), port)


def open_session(url: str, token: str | None = None) -> httpx2.Response:
    headers = headers_for(token) if token else MCP_HEADERS
    return httpx2.post(url, json=INIT, headers=headers, timeout=10)


def ping(url: str, session_id: str, token: str | None = None) -> int:
    headers = headers_for(token or "", session_id)
    if token is None:
        del headers["Authorization"]
    return httpx2.post(url, json=PING, headers=headers, timeout=10).status_code


def test_each_credential_loses_only_its_own_oldest_sessions_and_the_table_has_a_cap(tmp_path: Path) -> None:
    third = "third-token-0123456789abcdef"
    http = HttpSettings(
        http_token=[SecretStr(t) for t in (TOKEN, OTHER_TOKEN, third)],
        http_max_sessions=4,
        http_sessions_per_credential=2,
    )
    with serve_app(tmp_path, http) as srv:
        url = f"{srv.base}/mcp"
        a = [open_session(url, TOKEN).headers["mcp-session-id"] for _ in range(3)]
        assert [ping(url, sid, TOKEN) for sid in a] == [404, 200, 200]
        b = [open_session(url, OTHER_TOKEN).headers["mcp-session-id"] for _ in range(2)]
        # the table is full: a credential with nothing of its own to give up is refused...
        refused = open_session(url, third)
        assert refused.status_code == 503
        # ...while one at its own limit trades its oldest session for the new one
        newest = open_session(url, TOKEN)
        assert newest.status_code == 200
        assert [ping(url, sid, TOKEN) for sid in [*a[1:], newest.headers["mcp-session-id"]]] == [404, 200, 200]
        assert [ping(url, sid, OTHER_TOKEN) for sid in b] == [200, 200]
        # a session can be closed by its client, which frees its place
        delete = httpx2.delete(url, headers=headers_for(TOKEN, a[2]), timeout=10)
        assert delete.status_code == 200
        assert open_session(url, third).status_code == 200


def test_closed_sessions_leave_nothing_behind(tmp_path: Path) -> None:
    ids: list[str] = []

    def alive() -> tuple[int, int]:
        """Transports and tracked entries of this test's sessions still in memory."""
        gc.collect()
        mine = set(ids)
        objects = gc.get_objects()
        return (
            sum(isinstance(o, StreamableHTTPServerTransport) and o.mcp_session_id in mine for o in objects),
            sum(isinstance(o, TrackedSession) and o.id in mine for o in objects),
        )

    with serve_app(tmp_path, HttpSettings(http_sessions_per_credential=3)) as srv:
        url = f"{srv.base}/mcp"
        with httpx2.Client(headers=MCP_HEADERS, timeout=10) as http:
            ids += [http.post(url, json=INIT).headers["mcp-session-id"] for _ in range(200)]
        counts = alive()
        for _ in range(50):  # a closed session's task may still be winding down
            if counts == (3, 3):
                break
            time.sleep(0.02)
            counts = alive()
        assert counts == (3, 3), "transports and tracked entries of closed sessions are gone"
        assert [ping(url, sid) for sid in ids[-3:]] == [200, 200, 200]


def test_unauthenticated_loopback_clients_are_one_credential(tmp_path: Path) -> None:
    with serve_app(tmp_path, HttpSettings(http_sessions_per_credential=2)) as srv:
        url = f"{srv.base}/mcp"
        ids = [open_session(url).headers["mcp-session-id"] for _ in range(3)]
        assert [ping(url, sid) for sid in ids] == [404, 200, 200]


def test_session_limits_forget_expired_and_closed_sessions() -> None:
    now = [0.0]
    limits = SessionLimits(per_credential=2, idle_timeout=60, clock=lambda: now[0])
    alice, bob = ("static-token-1", None, None), ("static-token-2", None, None)
    first, victims = limits.opened("s1", alice)
    assert victims == []
    limits.end(first)
    busy, _ = limits.opened("s2", alice)  # a request still in flight: never expires
    now[0] = 61.0
    assert [v.id for v in limits.make_room(alice)] == [], "s1 expired and no longer counts"
    assert limits.count(alice) == 1
    _, victims = limits.opened("s3", alice)
    assert victims == []
    assert [v.id for v in limits.make_room(alice)] == ["s2"], "the oldest is closed, busy or not"
    limits.end(busy)
    assert limits.get("s3", bob) is None, "another credential cannot see it"
    bobs, _ = limits.opened("b1", bob)
    limits.end(bobs)
    now[0] = 200.0
    limits.sweep()
    assert len(limits) == 1 and limits.count(bob) == 0  # s3 is still in flight
    assert limits._owned.keys() == {alice}, "nothing is kept for a credential without sessions"


@pytest.mark.slow
def test_a_bad_limit_refuses_to_start_naming_the_variable(tmp_path: Path) -> None:
    env = base_env(tmp_path / "d", TASKLINK_HTTP_SESSIONS_PER_CREDENTIAL="0", TASKLINK_HTTP_BODY_TIMEOUT="soon")
    result = run_tasklink(env, "serve", "--http", "--port", str(free_port()))
    assert result.returncode == 2
    assert "TASKLINK_HTTP_SESSIONS_PER_CREDENTIAL='0' is not valid: expected a whole number, at least 1" in (
        result.stderr
    )
    assert "TASKLINK_HTTP_BODY_TIMEOUT" in result.stderr
    assert "pydantic" not in result.stderr and "Traceback" not in result.stderr


# -- slow clients -------------------------------------------------------------------------------


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    sock.settimeout(limit)
    started = time.perf_counter()
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.perf_counter() - started


@pytest.mark.slow
def test_slow_request_headers_are_cut_off(guarded: ServeProcess) -> None:
    partial = [b"", b"POST /mcp HTT", b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty"]
    sockets = []
    for prefix in partial * 10:  # 30 slow clients at once
        sock = socket.create_connection(("127.0.0.1", guarded.port))
        sock.sendall(prefix)
        sockets.append(sock)
    # a kept-alive connection whose second request trickles in is cut off the same way
    kept = socket.create_connection(("127.0.0.1", guarded.port))
    kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = b""
    while not first.endswith(b'{"status":"ok"}'):
        first += kept.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    kept.sendall(b"GET /heal")
    sockets.append(kept)
    assert httpx2.get(f"{guarded.base}/health", timeout=5).status_code == 200, "others are still served meanwhile"
    for sock in sockets:
        with sock:
            data, _ = read_until_closed(sock, HEADER_TIMEOUT + 5)
            assert data.startswith(b"HTTP/1.1 408 "), data
    # one more, timed from its last byte
    with socket.create_connection(("127.0.0.1", guarded.port)) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 12")
        data, elapsed = read_until_closed(sock, HEADER_TIMEOUT + 5)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert HEADER_TIMEOUT * 0.9 <= elapsed < HEADER_TIMEOUT + 1.0, elapsed
    REPORTS.append(
        f"slow clients: request headers cut off after {elapsed:.2f} s (bound {HEADER_TIMEOUT:g} s), "
        f"{len(sockets)} slow sockets at once all answered 408 and closed"
    )


@pytest.mark.slow
def test_slow_request_body_gets_408(guarded: ServeProcess) -> None:
    head = (
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Length: 200\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", guarded.port)) as sock:
        sock.sendall(head.encode() + b'{"jsonrpc": "2.0", ')
        data, elapsed = read_until_closed(sock, BODY_TIMEOUT + 5)
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert BODY_TIMEOUT * 0.9 <= elapsed < BODY_TIMEOUT + 1.0, elapsed
    too_big = httpx2.post(guarded.url, content=b"x" * (4 * 1024 * 1024 + 1), headers=headers_for(TOKEN), timeout=10)
    assert too_big.status_code == 413


# -- malformed messages -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", PARSE_ERROR),
        (b"", PARSE_ERROR),
        (b'{"jsonrpc": "2.0", "method": "ping", "id": 1', PARSE_ERROR),
        (b"[1, 2]", INVALID_REQUEST),
        (b'"ping"', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1}', INVALID_REQUEST),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}', INVALID_REQUEST),
    ],
)
def test_malformed_json_rpc_gets_the_short_standard_error(
    guarded: ServeProcess, body: bytes, expected: dict[str, Any]
) -> None:
    session_id = httpx2.post(guarded.url, json=INIT, headers=headers_for(TOKEN), timeout=10).headers["mcp-session-id"]
    for headers in (headers_for(TOKEN), headers_for(TOKEN, session_id)):
        response = httpx2.post(guarded.url, content=body, headers=headers, timeout=10)
        assert response.status_code == 400
        assert response.json() == expected
        assert not any(word in response.text.lower() for word in LIBRARY_WORDS), response.text
        assert "server" not in response.headers and "date" not in response.headers
    modern = {**headers_for(TOKEN), "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "ping"}
    answer = httpx2.post(guarded.url, content=body, headers=modern, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == expected["error"]["code"]
    assert not any(word in answer.text.lower() for word in LIBRARY_WORDS), answer.text


def test_short_error_keeps_the_id_and_clean_messages() -> None:
    leaky = {"jsonrpc": "2.0", "id": 7, "error": {"code": -32602, "message": "1 validation error for X [type=missing]"}}
    assert json.loads(short_error(json.dumps(leaky).encode()) or b"") == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32602, "message": "Invalid params"},
    }
    clean = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Bad Request: Missing session ID"}}
    assert short_error(json.dumps(clean).encode()) is None
    assert short_error(b"not json") is None
