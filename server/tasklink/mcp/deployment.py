"""Streamable HTTP deployment: closed by default.

- Binds 127.0.0.1 unless told otherwise; any other address needs authentication: static bearer
  tokens (`TASKLINK_HTTP_TOKEN`, comma-separated, compared in constant time) and/or an OAuth
  resource-server configuration that verifies JWTs from one issuer (RFC 9728 metadata is served).
- DNS-rebinding protection is always on: loopback names plus every `--allowed-host`.
- `/health` answers probes without authentication and without details.
- Limits so one client cannot starve the others: sessions per credential (its oldest is closed when it
  opens one more) and overall, an idle timeout, deadlines for request headers and bodies, and the
  standard short JSON-RPC error for a malformed message (see `http_guards`).
- `--stateless` drops handshake-era sessions so any worker can answer any request. Workers share
  the key that seals multi-round-trip request state (derived from `TASKLINK_CONFIRM_SECRET`, else
  from the data dir's confirmation key), so a confirmation that starts on one worker can finish
  on another.
- Answers are plain JSON where nothing streams: a handshake-era session answers each request with
  one JSON body unless it carries a progress token or calls a tool that may ask the user
  (elicitation), which get an SSE stream (`needs_stream`). The SDK answers 2026-07-28 requests
  as JSON on its own unless something is sent before the result; `--stateless` handshake-era
  requests keep SSE.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.streamable_http_manager import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import observability
from ..errors import ConfigurationError
from ..settings import TaskLinkSettings, split_names
from .connect_page import add_connect_routes
from .http_guards import BodyDeadline, SessionGuard, ShortJsonRpcErrors, header_timeout_protocol
from .sdk import NeedsStream, answer_per_request, may_ask_the_user, set_token_verifier
from .server import TaskLinkServer
from .tools import ALL_TOOLS

MCP_PATH = "/mcp"
MIN_TOKEN_LENGTH = 16
#: asymmetric algorithms only: a shared-secret (HS*) or "none" token is never accepted
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
REQUEST_STATE_LABEL = b"tasklink/request-state/v1"
MAX_REQUEST_BODY_SIZE = DEFAULT_MAX_REQUEST_BODY_SIZE  # 4 MiB


class HttpSettings(BaseSettings):
    """`TASKLINK_HTTP_*` and `TASKLINK_OAUTH_*`: who may talk to the HTTP endpoint."""

    model_config = SettingsConfigDict(env_prefix="TASKLINK_", extra="ignore")

    http_token: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer token(s), comma-separated; any one of them is accepted."
    )
    http_public_url: AnyHttpUrl | None = Field(
        None, description="The URL clients use for /mcp (resource id in OAuth metadata); default from host/port."
    )
    oauth_issuer: str | None = Field(None, description="Authorization server whose JWTs are accepted (exact `iss`).")
    oauth_jwks_url: AnyHttpUrl | None = Field(None, description="Where the issuer publishes its signing keys.")
    oauth_public_key: SecretStr | None = Field(None, description="PEM public key (instead of a JWKS URL).")
    oauth_audience: str | None = Field(None, description="Required `aud`; default: the public /mcp URL.")
    oauth_scopes: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Scopes every token needs.")
    oauth_email_claim: str = Field("email", description="The access token claim holding the principal's email.")
    oauth_groups_claim: str = Field("groups", description="The claim holding the principal's groups (a list).")
    oauth_roles_claim: str = Field("roles", description="The claim holding roles granted by the issuer (a list).")
    http_tokens_file: Path | None = Field(
        None, description="TOML file of named bearer tokens: [tokens.<name>] sha256, roles, email."
    )
    http_max_sessions: int = Field(
        1000, ge=1, description="Handshake-era sessions open at once, over all clients; one more gets 503."
    )
    http_sessions_per_credential: int = Field(
        25, ge=1, description="Sessions one token or OAuth principal may hold; opening one more closes its oldest."
    )
    http_session_idle_minutes: float = Field(
        10, gt=0, description="A session with no request for this long is closed (its id then answers 404)."
    )
    http_header_timeout: float = Field(
        10, gt=0, description="Seconds a client has to send a request line and headers; then 408 and closed."
    )
    http_body_timeout: float = Field(30, gt=0, description="Seconds a client has to send a request body; then 408.")
    metrics_public: bool = Field(False, description="Serve /metrics without authentication (default: the /mcp tokens).")

    @field_validator("http_token", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    _split_scopes = field_validator("oauth_scopes", mode="before")(split_names)

    @property
    def oauth_configured(self) -> bool:
        return self.oauth_issuer is not None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class StaticTokenVerifier(TokenVerifier):
    """Accepts any configured token; every comparison runs in constant time, over every token."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [t.encode() for t in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = token.encode()
        matched: int | None = None
        for index, known in enumerate(self._tokens):
            if hmac.compare_digest(presented, known):
                matched = index
        if matched is None:
            return None
        return AccessToken(token=token, client_id=f"static-token-{matched + 1}", scopes=[])


class NamedToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the token")
    roles: list[str] = Field(default_factory=list)
    email: str | None = None


class NamedTokens(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: dict[str, NamedToken]


class NamedTokenVerifier(TokenVerifier):
    """Tokens from TASKLINK_HTTP_TOKENS_FILE, stored as SHA-256 hashes; each is its own principal (`token:<name>`)
    with the roles and email the file gives it. Every comparison runs in constant time, over every token."""

    def __init__(self, path: Path) -> None:
        try:
            self._named = NamedTokens.model_validate(tomllib.loads(path.read_text(encoding="utf-8"))).tokens
        except OSError as exc:
            raise ConfigurationError(f"TASKLINK_HTTP_TOKENS_FILE {path} cannot be read ({exc.strerror})") from None
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ConfigurationError(f"TASKLINK_HTTP_TOKENS_FILE {path} is not a tokens file: {exc}") from None

    async def verify_token(self, token: str) -> AccessToken | None:
        presented = hashlib.sha256(token.encode()).hexdigest().encode()
        matched: str | None = None
        for name, entry in self._named.items():
            if hmac.compare_digest(presented, entry.sha256.encode()):
                matched = name
        if matched is None:
            return None
        entry = self._named[matched]
        claims = {"roles": entry.roles, "email": entry.email}
        return AccessToken(token=token, client_id=f"token:{matched}", scopes=[], claims=claims)


class JwtVerifier(TokenVerifier):
    """Verifies JWT access tokens from one issuer: signature, `iss`, `aud`, `exp`, required scopes."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        public_key: str | None = None,
        required_scopes: Sequence[str] = (),
        claim_names: Mapping[str, str] | None = None,
    ) -> None:
        if (jwks_url is None) == (public_key is None):
            raise ConfigurationError("OAuth needs exactly one of TASKLINK_OAUTH_JWKS_URL or TASKLINK_OAUTH_PUBLIC_KEY")
        self.issuer = issuer
        self.audience = audience
        self.required_scopes = list(required_scopes)
        #: our name -> the issuer's claim (email, groups, roles)
        self.claim_names = dict(claim_names or {"email": "email", "groups": "groups", "roles": "roles"})
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, timeout=10) if jwks_url else None

    def _key(self, token: str) -> Any:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        return self._public_key

    def _decode(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            self._key(token),
            algorithms=list(JWT_ALGORITHMS),
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
        return claims

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            # PyJWKClient fetches keys with blocking urllib; keep it off the event loop
            claims = await anyio.to_thread.run_sync(self._decode, token)
        except (jwt.PyJWTError, ValueError):
            return None
        raw_scopes = claims.get("scope", claims.get("scp", ""))
        scopes = raw_scopes.split() if isinstance(raw_scopes, str) else [str(s) for s in raw_scopes]
        if any(s not in scopes for s in self.required_scopes):
            return None
        subject = claims.get("sub")
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or subject or "oauth-client"),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(subject) if subject is not None else None,
            claims={"iss": self.issuer, **self._identity(claims)},
        )

    def _identity(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        """Email, groups and roles from the issuer's claims (a list, or one space-separated string)."""

        found: dict[str, Any] = {}
        email = claims.get(self.claim_names["email"])
        if isinstance(email, str):
            found["email"] = email
        for ours in ("groups", "roles"):
            value = claims.get(self.claim_names[ours])
            if isinstance(value, str):
                value = value.split()
            if isinstance(value, list):
                found[ours] = [str(v) for v in value]
        return found


class AnyOfVerifiers(TokenVerifier):
    def __init__(self, verifiers: Sequence[TokenVerifier]) -> None:
        self.verifiers = list(verifiers)

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self.verifiers:
            access = await verifier.verify_token(token)
            if access is not None:
                return access
        return None


@dataclass
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: list[str] = field(default_factory=list)
    stateless: bool = False

    @property
    def public_url(self) -> str:
        host = self.allowed_hosts[0] if self.allowed_hosts and self.allowed_hosts[0] != "*" else self.host
        if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}{MCP_PATH}"


def transport_security(options: HttpOptions) -> TransportSecuritySettings:
    """Host/Origin checks: loopback names, the bind address when specific, and every --allowed-host."""

    if "*" in options.allowed_hosts:
        # behind a proxy that already pins Host; say so explicitly with --allowed-host '*'
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    names = list(options.allowed_hosts)
    if not is_loopback(options.host) and options.host not in ("0.0.0.0", "::"):  # noqa: S104
        names.append(f"[{options.host}]" if ":" in options.host else options.host)
    hosts = list(LOOPBACK_HOSTS)
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for name in names:
        hosts += [name, f"{name}:*"]
        origins += [f"https://{name}", f"https://{name}:*", f"http://{name}", f"http://{name}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def build_auth(http: HttpSettings, options: HttpOptions) -> tuple[TokenVerifier, AuthSettings] | None:
    """The verifier and auth settings, or None when the endpoint is open (loopback only)."""

    tokens = [t.get_secret_value() for t in http.http_token]
    short = [n + 1 for n, t in enumerate(tokens) if len(t) < MIN_TOKEN_LENGTH]
    if short:
        raise ConfigurationError(
            f"TASKLINK_HTTP_TOKEN: token(s) number {short} are shorter than {MIN_TOKEN_LENGTH} characters; "
            "use long random values, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    verifiers: list[TokenVerifier] = []
    if tokens:
        verifiers.append(StaticTokenVerifier(tokens))
    if http.http_tokens_file is not None:
        verifiers.append(NamedTokenVerifier(http.http_tokens_file))
    public_url = str(http.http_public_url or options.public_url)
    if http.oauth_issuer is not None:
        verifiers.append(
            JwtVerifier(
                issuer=http.oauth_issuer,
                audience=http.oauth_audience or public_url,
                jwks_url=str(http.oauth_jwks_url) if http.oauth_jwks_url else None,
                public_key=http.oauth_public_key.get_secret_value() if http.oauth_public_key else None,
                required_scopes=http.oauth_scopes,
                claim_names={
                    "email": http.oauth_email_claim,
                    "groups": http.oauth_groups_claim,
                    "roles": http.oauth_roles_claim,
                },
            )
        )
    elif http.oauth_jwks_url or http.oauth_public_key:
        raise ConfigurationError("TASKLINK_OAUTH_JWKS_URL / TASKLINK_OAUTH_PUBLIC_KEY need TASKLINK_OAUTH_ISSUER")
    if not verifiers:
        return None
    verifier = verifiers[0] if len(verifiers) == 1 else AnyOfVerifiers(verifiers)
    if http.oauth_issuer is not None:
        auth = AuthSettings(
            issuer_url=AnyHttpUrl(http.oauth_issuer),
            resource_server_url=AnyHttpUrl(public_url),
            required_scopes=http.oauth_scopes or None,
            validate_token_resource=False,  # JwtVerifier checks `aud` itself
        )
    else:
        # static tokens only: no authorization server to advertise, so no RFC 9728 metadata
        auth = AuthSettings(issuer_url=AnyHttpUrl(public_url), resource_server_url=None)
    return verifier, auth


def refuse_open_bind(http: HttpSettings, options: HttpOptions) -> None:
    if is_loopback(options.host) or http.http_token or http.http_tokens_file or http.oauth_configured:
        return
    raise ConfigurationError(
        f"refusing to serve MCP on {options.host} without authentication: anyone who can reach that address "
        "could use every tool. Set TASKLINK_HTTP_TOKEN to one or more long random tokens (comma-separated), "
        "or configure OAuth (TASKLINK_OAUTH_ISSUER with TASKLINK_OAUTH_JWKS_URL or TASKLINK_OAUTH_PUBLIC_KEY), "
        "or bind 127.0.0.1"
    )


#: request methods whose answer never needs a stream (`tools/call` depends on the tool)
PLAIN_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
    }
)


def stream_policy(asking: frozenset[str]) -> NeedsStream:
    """Which requests are answered on an SSE stream: those with a progress token (progress notifications
    ride the answer's stream), calls of the tools in `asking` (they may put a question to the user), and
    any method not known to answer plainly. Everything else is one JSON body."""

    def needs_stream(message: Any) -> bool:
        if not isinstance(message, dict) or "id" not in message or "method" not in message:
            return True  # a notification, a response or a batch: the SDK handles it as before
        params = message.get("params") or {}
        if not isinstance(params, dict):
            return True
        meta = params.get("_meta")
        if isinstance(meta, dict) and meta.get("progressToken") is not None:
            return True
        if message["method"] == "tools/call":
            return params.get("name") in asking
        return message["method"] not in PLAIN_METHODS

    return needs_stream


def request_state_key(server_key: bytes) -> bytes:
    """32 bytes every worker derives alike from the server key (the secret, the shared store's or the file's)."""

    return hmac.new(server_key, REQUEST_STATE_LABEL, hashlib.sha256).digest()


def share_request_state(server: MCPServer, key: bytes) -> None:
    """Seal multi-round-trip request state with a shared key instead of a per-process one."""

    boundary = RequestStateBoundary(RequestStateSecurity(keys=[key]), default_audience=server.name)
    chain = server.middleware
    for index, item in enumerate(chain):
        if isinstance(item, RequestStateBoundary):
            chain[index] = boundary
            return
    chain.insert(0, boundary)


async def health(request: Request) -> Response:
    """For load balancers and probes: no authentication, no details."""
    return JSONResponse({"status": "ok"})


def http_app(server: TaskLinkServer, options: HttpOptions, http: HttpSettings | None = None) -> Starlette:
    """The ASGI app for `tasklink serve --http`; raises ConfigurationError when it would be unsafe."""

    http = http or HttpSettings()
    refuse_open_bind(http, options)
    auth = build_auth(http, options)
    if auth is not None:
        verifier, auth_settings = auth
        server.settings.auth = auth_settings
        set_token_verifier(server, verifier)
    share_request_state(server, request_state_key(server.service.core.key))
    server.custom_route("/health", methods=["GET"], include_in_schema=False)(health)
    observability.add_metrics_route(server, auth[0] if auth else None, public=http.metrics_public)  # Prometheus
    observability.start_tracing()  # when OTEL_* asks for traces
    public_mcp = str(http.http_public_url or options.public_url)
    server.service.core.accounts.public_base = public_mcp.removesuffix(MCP_PATH)  # connect links point there
    add_connect_routes(server)
    idle_timeout = http.http_session_idle_minutes * 60
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=options.stateless,
        transport_security=transport_security(options),
        host=options.host,
        max_sessions=http.http_max_sessions,
        session_idle_timeout=idle_timeout,
        max_request_body_size=MAX_REQUEST_BODY_SIZE,
    )
    if not options.stateless:
        asking = frozenset(spec.name for spec in ALL_TOOLS if may_ask_the_user(spec.fn))
        answer_per_request(server.session_manager, stream_policy(asking))
        # innermost, after authentication: it needs to know who opened each session
        app.user_middleware.append(
            Middleware(
                SessionGuard,
                close=server.session_manager.handle_request,
                path=MCP_PATH,
                per_credential=http.http_sessions_per_credential,
                idle_timeout=idle_timeout,
            )
        )
    app.add_middleware(ShortJsonRpcErrors, path=MCP_PATH)
    # outermost: no slow or oversized body reaches authentication or the SDK
    app.add_middleware(BodyDeadline, timeout=http.http_body_timeout, max_size=MAX_REQUEST_BODY_SIZE)
    return app


def uvicorn_options(http: HttpSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`: the header deadline, no WebSocket, no
    `server`/`date` headers."""

    return {
        "http": header_timeout_protocol(http.http_header_timeout),
        "ws": "none",
        "server_header": False,
        "date_header": False,
    }


def describe(options: HttpOptions, http: HttpSettings, settings: TaskLinkSettings) -> list[str]:
    """Start-up lines for stderr: how the endpoint is protected (never the tokens)."""

    how = []
    if http.http_token:
        how.append(f"{len(http.http_token)} bearer token(s)")
    if http.http_tokens_file is not None:
        how.append(f"named tokens from {http.http_tokens_file}")
    if http.oauth_issuer is not None:
        how.append(f"OAuth JWTs from {http.oauth_issuer}")
    protection = " + ".join(how) if how else "no authentication (loopback only)"
    hosts = "any Host (--allowed-host '*')" if "*" in options.allowed_hosts else "loopback names"
    if options.allowed_hosts and "*" not in options.allowed_hosts:
        hosts += " + " + ", ".join(options.allowed_hosts)
    lines = [
        f"tasklink: serving MCP at http://{options.host}:{options.port}{MCP_PATH} ({protection}); health at /health, "
        f"metrics at /metrics{' (without authentication)' if http.metrics_public and how else ''}",
        f"tasklink: accepted Host headers: {hosts}" + ("; stateless (no sessions)" if options.stateless else ""),
    ]
    sessions = (
        ""
        if options.stateless
        else f"sessions: at most {http.http_max_sessions}, {http.http_sessions_per_credential} per credential "
        f"(its oldest closed first), closed after {http.http_session_idle_minutes:g} min idle; "
    )
    lines.append(
        f"tasklink: {sessions}request headers within {http.http_header_timeout:g} s, "
        f"bodies within {http.http_body_timeout:g} s"
    )
    if options.stateless and settings.confirm_secret is None:
        lines.append(
            "tasklink: --stateless workers must share TASKLINK_CONFIRM_SECRET (or the same TASKLINK_DATA_DIR) "
            "so confirmations started on one worker finish on another"
        )
    return lines
