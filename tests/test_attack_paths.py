"""A hostile model crafts ids and cursors: none may reach a path the vendor does not document, change a
record it does not name, or send a query parameter the adapter did not put there.

Each crafted id is tried on get_task, update_task and the delete flow of every vendor that puts task
ids in URL paths; each forged cursor on list_tasks. The simulators log every request they receive,
and each one is checked against the vendor's published contract (tests/vendor_contracts).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tasklink.manifests import load_manifests
from tasklink.mcp.server import build_server
from tasklink.settings import TaskLinkSettings

from .conftest import REPORTS, sandbox_of
from .support import call_ok, text_of
from .vendor_contracts.contracts import contracts_for

pytestmark = pytest.mark.anyio

CRAFTED = [
    "", ".", "..", "../admin", "..%2F..%2Fadmin", "%2e%2e", "%2E%2E%2F", "a/b", "/", "//evil.example/x",
    "http://evil.example/", "x?y=1", "x?limit=999999", "x#frag", "x;y=1", "x y", " 1", "1 ", "\t1", "1\n2",
    "1\r\nX-Injected: 1", "1%00", "\x00", "..\\..\\admin", "٣", "①", "𝟏", "１", "ｔｓｋ", "1e3", "-1", "0x10", "1.0",
    "${jndi:x}", "'", '"', "<script>", "*", "~", "%", "%25", "%2F", "tasks", "definitions", "a" * 300,
    "x&y=1", "x=1", "@evil", "x:y", "[::1]", "x\\y", "é", "x\u202ey",
]  # fmt: skip


def suffixed(real: str) -> list[str]:
    """Values that begin with a real id and try to step out of its segment."""

    return [f"{real}#x", f"{real}?x=1", f"{real}/../x", f"{real}%2F..", f"{real}/", f"{real}/restore", f"{real}.."]


async def test_crafted_ids_never_reach_another_path(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, retry_attempts=1))
    vendors = [name for name, m in load_manifests().items() if m.ids.task is not None]
    tried = refused = 0
    async with Client(server) as client:
        for vendor in vendors:
            examples = _examples(vendor)
            real = (await call_ok(client, "create_task", {**examples, "allow_duplicate": True}))["id"]
            before = await call_ok(client, "get_task", {"vendor": vendor, "task_id": real})
            for crafted in [*CRAFTED, *suffixed(real)]:
                for tool, extra in _attempts(vendor):
                    tried += 1
                    result = await client.call_tool(tool, {"vendor": vendor, "task_id": crafted, **extra})
                    if result.is_error:  # refused, or a well-shaped id the vendor does not have
                        refused += 1
                        assert any(w in text_of(result) for w in ("task_id", "not a", "no such", "not exist")), text_of(
                            result
                        )
            after = await call_ok(client, "get_task", {"vendor": vendor, "task_id": real})
            assert (after["title"], after.get("status")) == (before["title"], before.get("status"))
        undocumented = await _undocumented_requests(server, vendors)
    assert tried >= 300 and undocumented == []
    REPORTS.append(
        f"Crafted ids: {tried} tool calls over {len(vendors)} vendors, {refused} refused, "
        f"0 requests to undocumented paths, 0 records changed"
    )


def _examples(vendor: str) -> dict[str, Any]:
    from tasklink.refs import sibling

    manifest = load_manifests()[vendor]
    examples: dict[str, Any] = sibling(manifest.sandbox, "contract_examples")()["create_task"]
    return {**examples, "vendor": vendor, "title": f"Path attack target {vendor}"}


def _attempts(vendor: str) -> list[tuple[str, dict[str, Any]]]:
    manifest = load_manifests()[vendor]
    out: list[tuple[str, dict[str, Any]]] = [("get_task", {})]
    if manifest.operation("update_task").supported:
        out.append(("update_task", {"title": "Changed by an attack"}))
    if manifest.operation("delete_task").supported:
        out.append(("delete_task", {}))
        out.append(("delete_task", {"confirm": True, "confirm_token": "forged.token"}))
    return out


async def _undocumented_requests(server: Any, vendors: list[str]) -> list[str]:
    out = []
    for vendor, contract in contracts_for(vendors).items():
        state = await sandbox_of(server, vendor)
        for request in state.requests:
            if request.path.startswith("/_sandbox") or "token" in request.path:
                continue
            key, operation = contract.locate(request.method, request.path)
            if operation is None:
                out.append(f"{vendor} {key}")
    return out


async def test_forged_cursors_are_refused_before_any_request(tmp_path: Path) -> None:
    server = build_server(TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True))
    other = build_server(TaskLinkSettings(data_dir=tmp_path / "other", sandbox=True))
    tried = 0
    async with Client(server) as client, Client(other) as elsewhere:
        for vendor in ("lightfield", "trackops", "workiva"):
            first = await call_ok(client, "list_tasks", {"vendor": vendor, "limit": 1})
            genuine = first["next_cursor"]
            foreign = (await call_ok(elsewhere, "list_tasks", {"vendor": vendor, "limit": 1}))["next_cursor"]
            state = await sandbox_of(server, vendor)
            sent = len(state.requests)
            for forged in _forgeries(vendor, genuine, foreign):
                tried += 1
                result = await client.call_tool("list_tasks", {"vendor": vendor, "limit": 1, "cursor": forged})
                assert result.is_error and "cursor" in text_of(result), (vendor, forged, text_of(result))
            assert len(state.requests) == sent, f"{vendor}: a forged cursor reached the vendor"
            if genuine:
                await call_ok(client, "list_tasks", {"vendor": vendor, "limit": 1, "cursor": genuine})
    REPORTS.append(f"Forged cursors: {tried} tried over 3 vendors, {tried} refused, 0 requests sent")


def _forgeries(vendor: str, genuine: str | None, foreign: str | None) -> list[str]:
    def unsigned(state: dict[str, Any]) -> str:
        raw = json.dumps({"v": vendor, "s": state}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    states = [
        {"query": [["$maxpagesize", "999999"]], "version": "2026-01-01"},
        {"offset": -5},
        {"page": 10**9, "q": "x"},
        {"offset": "1; DROP TABLE tasks"},
    ]
    out = [unsigned(s) for s in states] + [unsigned(s) + ".AAAAAAAAAAAAAAAAAAAAAA" for s in states]
    out += ["not-a-cursor", "%%%", "e30", "e30.", ".", "a" * 1900, "eyJ2Ijoid29ya2l2YSJ9.x"]
    if genuine:
        payload, _, signature = genuine.partition(".")
        out += [genuine[:-1], genuine + "A", f"{payload}.{signature[::-1]}", payload, f"{payload[:-2]}.{signature}"]
    if foreign:
        out.append(foreign)  # signed by another server's key
    return out
