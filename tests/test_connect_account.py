"""Per-user identity end to end: a person with no vendor credential yet is sent to a one-time link,
connects their own Lightfield key there in a real (headless) browser, and their next call acts as them.

Over real HTTP (an in-process app on loopback, an OAuth principal "carol" whose tokens a test issuer
signs) against the Lightfield sandbox, with Debian's Chromium driven by selenium through Debian's
chromedriver. scripts/test installs both; without them a non-root run skips, a root run (CI) fails.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

from tasklink.mcp.deployment import HttpOptions, HttpSettings, http_app
from tasklink.mcp.server import build_server
from tasklink.sandbox._core import LoggedRequest
from tasklink.settings import TaskLinkSettings

from .conftest import ThreadedUvicorn, free_port
from .http_support import base_env, run_tasklink
from .support import text_of
from .test_http_security import Issuer

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CAROL = {"sub": "carol", "email": "carol@northwind.example", "name": "Carol"}
PRINCIPAL = "oauth:carol"
PRIYA_KEY = "sk_lf_sandbox_tasklink_0002"  # the sandbox's key of member Priya (mem_priya02)
WRONG_KEY = "sk_lf_sandbox_not_a_real_key_9999"
URL_ELICITATION_REQUIRED = -32042
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'",
    "referrer-policy": "no-referrer",
}


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (never a driver or browser downloaded at run time)."""

    paths = chromium_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        paths = None
    if paths is None:
        message = (
            "headless Chromium is needed: Debian's chromium and chromium-driver packages and the selenium package "
            "(scripts/test installs them)"
        )
        if os.geteuid() == 0:
            pytest.fail(message + "; running as root, so this is a set-up failure, not a skip")
        pytest.skip(message)
    browser_path, driver_path = paths
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    found = Issuer()
    with ThreadedUvicorn(found.app, found.port):
        yield found


class Deployment:
    def __init__(self, issuer: Issuer, port: int, server: Any, data_dir: Path, vault_key: str) -> None:
        self.issuer, self.port, self.server, self.data_dir, self.vault_key = issuer, port, server, data_dir, vault_key
        self.url = f"http://127.0.0.1:{port}/mcp"

    @asynccontextmanager
    async def client(self, *, url_elicitation: bool) -> AsyncIterator[Client]:
        """Carol's MCP client; with `url_elicitation` it declares that it can open a URL for the user."""

        async def elicit(context: Any, params: Any) -> ElicitResult:
            return ElicitResult(action="decline")

        bearer = self.issuer.token(self.url, **CAROL)
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=60) as http,
            Client(
                streamable_http_client(self.url, http_client=http),
                mode="legacy",
                elicitation_callback=elicit if url_elicitation else None,
            ) as client,
        ):
            yield client

    def lightfield_requests(self) -> list[LoggedRequest]:
        """What reached the Lightfield simulator (it is made when the first Lightfield adapter is)."""

        app = self.server.service.vendors.runtimes["lightfield"].sandbox_app
        return [] if app is None else list(app.state.sandbox.requests_matching())

    def stored(self) -> list[dict[str, Any]]:
        """`tasklink credentials list --json`: who has connected what (never a secret)."""

        env = base_env(self.data_dir, TASKLINK_VAULT_KEY=self.vault_key, LIGHTFIELD_IDENTITY="per-user")
        listed = run_tasklink(env, "credentials", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert PRIYA_KEY not in listed.stdout + listed.stderr
        rows: list[dict[str, Any]] = json.loads(listed.stdout)
        return rows


@pytest.fixture
def deployment(tmp_path: Path, issuer: Issuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    monkeypatch.setenv("LIGHTFIELD_IDENTITY", "per-user")
    vault_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    data_dir = tmp_path / "data"
    settings = TaskLinkSettings(data_dir=data_dir, sandbox=True, vendors=["lightfield"], vault_key=vault_key)
    http = HttpSettings(oauth_issuer=issuer.url, oauth_jwks_url=f"{issuer.url}/jwks.json")
    port = free_port()
    server = build_server(settings)
    with ThreadedUvicorn(http_app(server, HttpOptions(port=port), http), port):
        yield Deployment(issuer, port, server, data_dir, vault_key)


def new_task(title: str) -> dict[str, Any]:
    return {
        "vendor": "lightfield",
        "title": title,
        "due": "2031-03-01",
        "assignees": ["mem_sam0001"],
        "allow_duplicate": True,
    }


# -- the browser's side (blocking selenium calls: run in a worker thread) --------------------------------------


def fill_and_submit(driver: Any, url: str, key: str) -> dict[str, str]:
    """Open the link, type the key into the form's one (password) field and submit; the page that follows."""

    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    assert driver.title == "Connect your Lightfield account", driver.page_source
    (field,) = driver.find_elements(By.CSS_SELECTOR, "form input")
    assert (field.get_attribute("type"), field.get_attribute("name")) == ("password", "api_key")
    assert driver.find_element(By.TAG_NAME, "form").get_attribute("autocomplete") == "off"
    label = driver.find_element(By.CSS_SELECTOR, "label[for='f-api_key']").text
    assert "Lightfield API key" in label, label
    body = driver.find_element(By.TAG_NAME, "body").text
    assert PRINCIPAL in body, body
    field.send_keys(key)
    before = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "form button[type='submit']").click()
    # the answer to the POST is loaded (a node lookup racing the navigation is retried, not a failure)
    wait = WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,))
    wait.until(expected_conditions.staleness_of(before))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    return read_page(driver)


def read_page(driver: Any) -> dict[str, str]:
    """The page's title, text and HTML in one script call (no element handle to go stale in between)."""

    title, text, html = driver.execute_script(
        "return [document.title, document.body.innerText, document.documentElement.outerHTML]"
    )
    return {"title": title, "text": text, "html": html}


def open_page(driver: Any, url: str) -> dict[str, str]:

    driver.get(url)
    return read_page(driver)


def forged(link: str, principal: str) -> str:
    """The link with its payload edited to name another principal (the signature left as it was)."""

    base, _, token = link.rpartition("/")
    payload, _, signature = token.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    fields[0] = principal
    edited = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
    return f"{base}/{edited}.{signature}"


# -- the test ---------------------------------------------------------------------------------------------------


async def test_a_person_connects_their_own_lightfield_key_and_then_acts_as_themselves(
    deployment: Deployment, browser: Any
) -> None:
    # (a) no credential yet: a client that can open URLs is asked to; another gets the link in a tool error
    async with deployment.client(url_elicitation=True) as capable:
        with pytest.raises(MCPError) as raised:
            await capable.call_tool("create_task", new_task(f"Carol's first {uuid.uuid4().hex[:6]}"))
    assert raised.value.code == URL_ELICITATION_REQUIRED, raised.value
    (elicitation,) = raised.value.data["elicitations"]
    link = elicitation["url"]
    assert link.startswith(f"http://127.0.0.1:{deployment.port}/connect/"), link
    assert elicitation.get("mode", "url") == "url" and "Lightfield" in elicitation["message"]

    async with deployment.client(url_elicitation=False) as plain:
        refused = await plain.call_tool("create_task", new_task(f"Carol's second {uuid.uuid4().hex[:6]}"))
    assert refused.is_error, text_of(refused)
    links = [word.rstrip(".,);") for word in text_of(refused).split() if "/connect/" in word]
    assert links and links[0].startswith(f"http://127.0.0.1:{deployment.port}/connect/"), text_of(refused)
    assert deployment.lightfield_requests() == []  # nothing was sent to Lightfield for either call

    # the page's own answers: headers on every one, refusals as plain 400 pages
    async with httpx2.AsyncClient(timeout=30) as http:
        form = await http.get(link)  # no bearer token: the link is the authority
        assert form.status_code == 200 and "Connect your Lightfield account" in form.text
        assert "<script" not in form.text.lower() and "http" not in form.text.split("<body>")[1]
        for answer in (
            form,
            await http.get(forged(link, "oauth:mallory")),
            await http.post(link, data={}),
        ):
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers.get(name) == value, (answer.request.url, name, answer.headers)
        assert (await http.get(forged(link, "oauth:mallory"))).status_code == 400
        missing = await http.post(link, data={"api_key": "   "})
        assert missing.status_code == 400 and "Fill in every field" in missing.text

    # (e, first part) a key Lightfield refuses: the form again with Lightfield's error; nothing stored, link unspent
    wrong = await anyio.to_thread.run_sync(fill_and_submit, browser, link, WRONG_KEY)
    assert wrong["title"] == "Connect your Lightfield account", wrong["text"]
    assert "did not accept this credential" in wrong["text"] and "nothing was stored" in wrong["text"], wrong["text"]
    assert WRONG_KEY not in wrong["html"]
    assert await anyio.to_thread.run_sync(deployment.stored) == []

    # (b) Priya's key, through the same (still unspent) link: connected, and the page names the account
    done = await anyio.to_thread.run_sync(fill_and_submit, browser, link, PRIYA_KEY)
    assert done["title"] == "Lightfield connected", done["text"]
    assert "Connected Lightfield (" in done["text"] and f") for {PRINCIPAL}." in done["text"], done["text"]
    assert "You can close this page and ask your assistant again." in done["text"]
    assert PRIYA_KEY not in done["html"]
    (entry,) = await anyio.to_thread.run_sync(deployment.stored)
    assert (entry["principal"], entry["vendor"]) == (PRINCIPAL, "lightfield"), entry
    assert entry["account"] and f"Connected Lightfield ({entry['account']}) for {PRINCIPAL}." in done["text"]

    # (c) the state store holds the key sealed, never in plaintext
    state_files = [p for p in deployment.data_dir.glob("state.sqlite3*") if p.is_file()]
    assert deployment.data_dir / "state.sqlite3" in state_files
    for path in state_files:
        assert PRIYA_KEY.encode() not in path.read_bytes(), path
    with sqlite3.connect(f"file:{deployment.data_dir / 'state.sqlite3'}?mode=ro", uri=True) as db:
        ((sealed,),) = db.execute("SELECT sealed FROM credentials WHERE principal=?", (PRINCIPAL,)).fetchall()
    assert PRIYA_KEY.encode() not in bytes(sealed)

    # (d) the same call again: made with Carol's own key, so Lightfield records Priya's member as its creator
    async with deployment.client(url_elicitation=True) as capable:
        made = await capable.call_tool("create_task", new_task(f"Carol's own {uuid.uuid4().hex[:6]}"))
    assert not made.is_error, text_of(made)
    assert made.structured_content["links"]["createdBy"] == "mem_priya02", made.structured_content
    posts = [r for r in deployment.lightfield_requests() if r.method == "POST" and r.path == "/v1/tasks"]
    assert len(posts) == 1 and PRIYA_KEY in posts[0].headers.get("authorization", ""), posts

    # (e) the link is spent; a forged or garbled one is refused; none of these stores anything
    again = await anyio.to_thread.run_sync(open_page, browser, link)  # refused on opening: no form to fill
    assert again["title"] == "This link cannot be used" and "used already" in again["text"], again["text"]
    assert "<form" not in again["html"]
    for bad in (
        forged(link, "oauth:mallory"),
        link.rsplit("/", 1)[0] + "/not-a-token",
        link[:-1] + ("B" if link[-1] == "A" else "A"),
    ):
        page = await anyio.to_thread.run_sync(open_page, browser, bad)
        assert page["title"] == "This link cannot be used" and "not valid" in page["text"], (bad, page["text"])
        assert "<form" not in page["html"]
    assert [e["principal"] for e in await anyio.to_thread.run_sync(deployment.stored)] == [PRINCIPAL]
