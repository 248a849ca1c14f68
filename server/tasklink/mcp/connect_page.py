"""The page where a person connects their own vendor account (per-user identity): `/connect/<token>`.

Plain HTML and a form, no scripts. The one-time token in the link (policy/connect.py) says whose
account and which vendor; the page asks for that vendor's credential fields, checks them with one
harmless vendor read, says which account they belong to, and seals them in the vault.

The link is the authority: these routes need no bearer token (the SDK's custom routes are outside
its authentication). A credential that does not work is not stored and does not spend the link, so
the person can try again; a working one spends it. No page and no log line carries a secret.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..errors import InvalidInput, TaskLinkError
from ..policy.connect import Link

if TYPE_CHECKING:
    from ..service.core import Core
    from .server import TaskLinkServer

log = logging.getLogger(__name__)

#: a credential form is a few short fields; anything bigger is not one
MAX_FORM_BYTES = 16 * 1024
#: how long the one harmless vendor read may take before the page says so
CHECK_SECONDS = 30

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input{width:100%;box-sizing:border-box;padding:.4rem;font:inherit}"
    "button{margin-top:1.25rem;padding:.5rem 1.25rem;font:inherit}"
    ".problem{color:#a40000;border-left:4px solid #a40000;padding-left:.75rem}"
)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _sentence(message: str) -> str:
    text = message.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _refused(message: str, status: int = 400) -> HTMLResponse:
    return _page("This link cannot be used", f'<p class="problem">{html.escape(_sentence(message))}</p>', status)


def _fields(core: Core, vendor: str) -> tuple[str, list[Field]]:
    """The vendor's title and its credential fields (label: the setting's description; secret: a SecretStr);
    refused unless the vendor acts with people's own credentials here."""

    rt = core.vendors.runtime(vendor)
    if rt.settings.identity != "per-user":
        raise InvalidInput(f"{rt.manifest.title} does not act with people's own credentials on this server")
    settings_class = rt.adapter_cls.settings_class
    found = []
    for name in settings_class.credential_fields:
        info = settings_class.model_fields[name]
        found.append(Field(name, info.description or name, "SecretStr" in str(info.annotation)))
    return rt.manifest.title, found


def _form(
    title: str,
    principal: str,
    fields: list[Field],
    *,
    problem: str | None = None,
    kept: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The credential form; `kept` refills non-secret fields after a refusal (a secret is never sent back)."""

    parts = [
        f"<p>For <strong>{html.escape(principal)}</strong>: the {html.escape(title)} credential your assistant "
        "will act with. It is checked with one harmless read, then stored encrypted on this server.</p>"
    ]
    if problem:
        parts.append(f'<p class="problem" role="alert">{html.escape(problem)}</p>')
    parts.append('<form method="post" autocomplete="off">')
    for field in fields:
        ident = f"f-{field.name}"
        kind = "password" if field.secret else "text"
        value = "" if field.secret else (kept or {}).get(field.name, "")
        parts.append(
            f'<label for="{html.escape(ident)}">{html.escape(field.label)}</label>'
            f'<input type="{kind}" id="{html.escape(ident)}" name="{html.escape(field.name)}" '
            f'value="{html.escape(value)}" autocomplete="off" spellcheck="false" required>'
        )
    parts.append('<button type="submit">Connect</button></form>')
    return _page(f"Connect your {title} account", "".join(parts), status)


async def _read_form(request: Request) -> dict[str, str] | None:
    """The url-encoded form body (first value of each name), or None when it is too big or not a form."""

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


async def _check(core: Core, link: Link, credential: dict[str, str]) -> str:
    """Which account the credential belongs to; raises TaskLinkError with the vendor's message when it fails."""

    async with core.vendors.trial_adapter(link.vendor, credential) as adapter:
        with anyio.fail_after(CHECK_SECONDS):
            account = await adapter.check_credential()
    return core.vendors.redactor(account)


async def _verified(core: Core, link: Link, title: str, credential: dict[str, str]) -> tuple[str, str | None]:
    """(the account, None) when the vendor accepts the credential, else ("", what the person is told)."""

    try:
        return await _check(core, link, credential), None
    except TimeoutError:
        return "", f"{title} did not answer within {CHECK_SECONDS} s; nothing was stored. Try again."
    except TaskLinkError as exc:
        said = _sentence(core.vendors.redactor(exc.message))
        if exc.retryable:  # the vendor was busy or unreachable: no verdict on the credential
            return "", f"{title} could not check this credential just now; nothing was stored. {said} Try again."
        return "", f"{title} did not accept this credential; nothing was stored. {said}"
    except Exception as exc:  # whatever else went wrong, its text might carry the secret: only its type
        log.warning("connect %s for %s: checking the credential failed (%s)", link.vendor, link.principal,
                    type(exc).__name__)  # fmt: skip
        return "", f"The {title} credential could not be checked; nothing was stored. Try again."


def add_connect_routes(server: TaskLinkServer) -> None:
    """`GET` and `POST /connect/{token}`: the form, and connecting the account it was filled in for."""

    async def connect(request: Request) -> Response:
        core = server.service.core
        token = str(request.path_params.get("token", ""))
        try:
            link = core.accounts.connect_links.read(token)
            title, fields = _fields(core, link.vendor)
        except TaskLinkError as exc:
            return _refused(exc.message)
        if await core.accounts.connect_links.used(link):
            return _refused("this connect link was used already; ask the assistant for a new one")
        if request.method != "POST":
            return _form(title, link.principal, fields)

        form = await _read_form(request)
        if form is None:
            return _form(
                title, link.principal, fields, problem="The form did not arrive; fill it in again.", status=400
            )
        credential = {f.name: form.get(f.name, "").strip() for f in fields}
        kept = {f.name: credential[f.name] for f in fields if not f.secret}
        missing = [f.label for f in fields if not credential[f.name]]
        if missing:
            unfilled = "Fill in every field: " + "; ".join(missing)
            return _form(title, link.principal, fields, problem=unfilled, kept=kept, status=400)

        account, refused = await _verified(core, link, title, credential)
        if refused is not None:
            return _form(title, link.principal, fields, problem=refused, kept=kept, status=400)

        try:
            await core.accounts.connect_links.use(link)
        except InvalidInput as exc:
            return _refused(exc.message)
        except TaskLinkError as exc:
            return _refused(f"Nothing was stored: {exc.message}", status=503)
        try:
            await core.accounts.vault.put(link.principal, link.vendor, credential, account)
        except TaskLinkError as exc:
            return _refused(f"The credential worked but could not be stored ({exc.message}); ask again.", status=503)
        log.info("connected %s (%s) for %s", link.vendor, account, link.principal)
        message = (
            f"Connected {title} ({account}) for {link.principal}. You can close this page and ask your assistant again."
        )
        return _page(f"{title} connected", f"<p>{html.escape(message)}</p>")

    server.custom_route("/connect/{token}", methods=["GET", "POST"], include_in_schema=False)(connect)
