"""A hostile (or broken) vendor echoes our credentials back, in every form they take on the wire:
raw, as the exact header values (Basic base64 of `user/token:token`, `Bearer sk_…`), in a request id,
in a URL with userinfo, in key-like query parameters. None of it may reach a tool result, a tool
error, the audit (rows, `audit://recent`, the state file) or a dry run."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tasklink.mcp.server import build_server
from tasklink.mcp.tools._common import scrubbed
from tasklink.models import Task
from tasklink.sandbox import lightfield, spotdraft, trackops, workiva
from tasklink.sandbox._core import Fault
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, sandbox_of, service_of

pytestmark = pytest.mark.anyio

BASIC = base64.b64encode(f"{trackops.USERNAME}/token:{trackops.API_TOKEN}".encode()).decode()
#: every form of every sandbox credential that may appear on the wire
FORMS = {
    "trackops basic header": f"Basic {BASIC}",
    "trackops basic blob": BASIC,
    "trackops token": trackops.API_TOKEN,
    "lightfield bearer": f"Bearer {lightfield.API_KEY}",
    "lightfield key": lightfield.API_KEY,
    "spotdraft client id": spotdraft.CLIENT_ID,
    "spotdraft client secret": spotdraft.CLIENT_SECRET,
    "workiva client secret": workiva.CLIENT_SECRET,
}
#: what a vendor sends back: the credentials in headers, URLs and query strings
ECHO = (
    f"Authorization: Basic {BASIC}; authorization={lightfield.API_KEY}; "
    f"see https://{trackops.USERNAME}:{trackops.API_TOKEN}@example.invalid/x?api_key={spotdraft.CLIENT_SECRET}"
    f"&client_secret={workiva.CLIENT_SECRET} token {lightfield.API_KEY} Bearer {lightfield.API_KEY}"
)
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "trackops": ("list_tasks", {"vendor": "trackops"}),
    "lightfield": ("list_tasks", {"vendor": "lightfield"}),
    "workiva": ("list_tasks", {"vendor": "workiva"}),
    "spotdraft": ("list_intakes", {}),
}


def hits(text: str) -> list[str]:
    return [name for name, value in FORMS.items() if value in text]


async def test_an_echoing_vendor_leaks_no_credential_form(tmp_path: Path) -> None:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, retry_attempts=1)
    server = build_server(settings)
    outputs: list[str] = []
    async with Client(server) as client:
        for vendor, (tool, arguments) in CALLS.items():
            state = await sandbox_of(server, vendor)
            body = json.dumps({"detail": ECHO, "message": ECHO, "error": {"message": ECHO}})
            for status in (400, 401, 403, 404, 409, 422, 500):
                state.inject(Fault(status=status, body=body, headers={"X-Request-Id": ECHO}))
                result = await client.call_tool(tool, arguments)
                assert result.is_error
                outputs.append(json.dumps(result.model_dump(mode="json")))
            write = CALLS[vendor] if vendor == "spotdraft" else ("create_task", {"vendor": vendor, "title": "Echo"})
            if vendor != "spotdraft":
                state.inject(Fault(status=400, body=body, headers={"X-Request-Id": ECHO}))
                result = await client.call_tool(write[0], {**write[1], "allow_duplicate": True})
                outputs.append(json.dumps(result.model_dump(mode="json")))
        audit = await client.read_resource("audit://recent")
        outputs.append(json.dumps(audit.model_dump(mode="json")))
    outputs.append(json.dumps(await service_of(server).audit.entries()))
    outputs.append((tmp_path / "data" / "state.sqlite3").read_bytes().decode("latin-1"))
    found = [(n, hits(text)) for n, text in enumerate(outputs) if hits(text)]
    assert found == []
    REPORTS.append(
        f"Credential echo: {len(FORMS)} credential forms x {len(outputs)} outputs (tool errors, audit rows, "
        "audit://recent, the state file) scanned; 0 hits"
    )


def test_a_record_echoing_a_credential_is_scrubbed_before_it_is_returned(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    redact = service_of(server).vendors.redactor
    task = Task(vendor="trackops", id="7", title=f"Authorization: Basic {BASIC}", description=ECHO)
    clean = scrubbed(task, redact)
    assert hits(clean.model_dump_json()) == [] and clean.id == "7"
    assert clean.title == "Authorization: ***"


def test_a_huge_vendor_text_is_cut_with_a_marker(tmp_path: Path) -> None:
    task = Task(vendor="workiva", id="1", title="Big", description="x" * 4_000_000)
    clean = scrubbed(task, str)
    assert clean.description is not None and len(clean.description) < 21_000
    assert clean.description.endswith("(truncated by tasklink: 4,000,000 characters)")
