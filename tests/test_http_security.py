"""`tasklink serve --http` is closed to strangers: auth, Host/Origin checks, refusal to bind open."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from .conftest import MODES, ThreadedUvicorn, free_port
from .http_support import OTHER_TOKEN, TOKEN, ServeProcess, base_env, run_tasklink

pytestmark = pytest.mark.anyio

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def post(url: str, body: dict[str, Any], **headers: str) -> httpx2.Response:
    return httpx2.post(url, json=body, headers={**MCP_HEADERS, **headers}, timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """The real command, with two accepted tokens."""
    tmp = tmp_path_factory.mktemp("token-server")
    env = base_env(tmp / "data", TASKLINK_HTTP_TOKEN=f"{TOKEN}, {OTHER_TOKEN}")
    with ServeProcess(tmp, env) as srv:
        yield srv


@pytest.mark.slow
def test_no_token_is_401_with_www_authenticate(token_server: ServeProcess) -> None:
    response = post(token_server.url, INIT)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert TOKEN not in response.text


@pytest.mark.slow
@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer wrong-token-0123456789", f"Basic {TOKEN}"])
def test_wrong_token_is_401(token_server: ServeProcess, header: str) -> None:
    response = post(token_server.url, INIT, Authorization=header)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


@pytest.mark.slow
@pytest.mark.parametrize("token", [TOKEN, OTHER_TOKEN])
def test_right_token_works(token_server: ServeProcess, token: str) -> None:
    response = post(token_server.url, INIT, **bearer(token))
    assert response.status_code == 200, response.text
    assert '"serverInfo"' in response.text and '"tasklink"' in response.text


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_python_client_with_token_calls_tools(token_server: ServeProcess, mode: str) -> None:
    async with (
        httpx2.AsyncClient(headers=bearer(TOKEN)) as http,
        Client(streamable_http_client(token_server.url, http_client=http), mode=mode) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"create_intake", "create_task", "list_vendors"} <= names
        result = await client.call_tool("create_intake", {"title": f"Over HTTP {mode}"})
        assert not result.is_error
        assert result.structured_content["status"] == "PENDING"


@pytest.mark.slow
def test_bad_host_is_421_even_with_the_token(token_server: ServeProcess) -> None:
    response = post(token_server.url, PING, Host="evil.example", **bearer(TOKEN))
    assert response.status_code == 421
    ok = post(token_server.url, INIT, Host=f"localhost:{token_server.port}", **bearer(TOKEN))
    assert ok.status_code == 200


@pytest.mark.slow
def test_bad_origin_is_403(token_server: ServeProcess) -> None:
    response = post(token_server.url, INIT, Origin="http://evil.example", **bearer(TOKEN))
    assert response.status_code == 403
    same_origin = post(token_server.url, INIT, Origin=f"http://localhost:{token_server.port}", **bearer(TOKEN))
    assert same_origin.status_code == 200


@pytest.mark.slow
def test_health_needs_no_token_and_tells_nothing(token_server: ServeProcess) -> None:
    response = httpx2.get(f"{token_server.base}/health", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "tasklink" not in response.text and "spotdraft" not in response.text


@pytest.mark.slow
def test_token_is_never_printed(token_server: ServeProcess) -> None:
    log = token_server.log()
    assert "2 bearer token(s)" in log
    assert TOKEN not in log and OTHER_TOKEN not in log


@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_open_bind_without_a_token_refuses_to_start(tmp_path: Path, host: str) -> None:
    result = run_tasklink(base_env(tmp_path / "d"), "serve", "--http", "--host", host, "--port", str(free_port()))
    assert result.returncode == 2
    assert f"refusing to serve MCP on {host} without authentication" in result.stderr
    assert "TASKLINK_HTTP_TOKEN" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_short_token_refuses_to_start(tmp_path: Path) -> None:
    env = base_env(tmp_path / "d", TASKLINK_HTTP_TOKEN="short")
    result = run_tasklink(env, "serve", "--http", "--port", str(free_port()))
    assert result.returncode == 2
    assert "shorter than 16 characters" in result.stderr and "short" not in result.stderr.split("token(s)")[0]


# -- in-process apps: allowed hosts, OAuth (JWT), RFC 9728 ------------------------------------


def serve_app(tmp_path: Path, options: HttpOptions, http: HttpSettings) -> ThreadedUvicorn:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    return ThreadedUvicorn(http_app(server, options, http), options.port)


def test_allowed_host_is_accepted_and_others_are_not(tmp_path: Path) -> None:
    port = free_port()
    options = HttpOptions(port=port, allowed_hosts=["mcp.example.com"])
    with serve_app(tmp_path, options, HttpSettings()) as srv:
        url = f"{srv.base}/mcp"
        assert post(url, INIT, Host="mcp.example.com").status_code == 200
        assert post(url, INIT, Host=f"mcp.example.com:{port}", Origin="https://mcp.example.com").status_code == 200
        assert post(url, INIT, Host="evil.example").status_code == 421
        assert post(url, INIT, Origin="https://evil.example").status_code == 403


class Issuer:
    """An OAuth issuer on loopback: its JWKS and a way to mint tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        async def jwks(request: Request) -> JSONResponse:
            return JSONResponse(self.jwks)

        self.app = Starlette(routes=[Route("/jwks.json", jwks)])

    def token(self, audience: str, *, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": audience, "sub": "user-1", "iat": now, "exp": now + 300, "scope": "tasks"}
        return jwt.encode(body | claims, key or self.key, algorithm="RS256", headers={"kid": "k1"})

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    with ThreadedUvicorn(found.app, found.port):
        yield found


@pytest.mark.parametrize("key_source", ["jwks", "pem"])
async def test_oauth_resource_server_accepts_only_good_jwts(tmp_path: Path, issuer: Issuer, key_source: str) -> None:
    port = free_port()
    resource = f"http://127.0.0.1:{port}/mcp"
    http = HttpSettings(
        oauth_issuer=issuer.url,
        oauth_scopes=["tasks"],
        **(
            {"oauth_jwks_url": f"{issuer.url}/jwks.json"}
            if key_source == "jwks"
            else {"oauth_public_key": issuer.public_pem()}
        ),
    )
    with serve_app(tmp_path, HttpOptions(port=port), http) as srv:
        # RFC 9728: where to find the authorization server, advertised in the challenge
        refused = post(resource, INIT)
        assert refused.status_code == 401
        metadata_url = f"{srv.base}/.well-known/oauth-protected-resource/mcp"
        assert f'resource_metadata="{metadata_url}"' in refused.headers["www-authenticate"]
        metadata = httpx2.get(metadata_url, timeout=5).json()
        assert metadata["resource"] == resource
        assert [u.rstrip("/") for u in metadata["authorization_servers"]] == [issuer.url]
        assert metadata["scopes_supported"] == ["tasks"]

        good = issuer.token(resource)
        assert post(resource, INIT, **bearer(good)).status_code == 200
        rejected = {
            "wrong audience": issuer.token("https://other.example/mcp"),
            "wrong issuer": issuer.token(resource, iss="https://evil.example"),
            "expired": issuer.token(resource, exp=int(time.time()) - 60),
            "missing scope": issuer.token(resource, scope="read"),
            "foreign key": issuer.token(resource, key=issuer.other_key),
            "unsigned": jwt.encode({"iss": issuer.url, "aud": resource}, key=None, algorithm="none"),
        }
        for why, token in rejected.items():
            assert post(resource, INIT, **bearer(token)).status_code == 401, why

        async with (
            httpx2.AsyncClient(headers=bearer(good)) as client_http,
            Client(streamable_http_client(resource, http_client=client_http)) as client,
        ):
            vendors = await client.call_tool("list_vendors", {})
            assert not vendors.is_error
            assert "spotdraft" in {v["name"] for v in vendors.structured_content["vendors"]}
