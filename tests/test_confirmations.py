"""Delete confirmations are bound to what the user saw, and the key that signs them is one key.

- a token from a preview of "Acme vendor review" cannot delete the record after it was renamed;
- an accepted elicitation is bound the same way, to the preview the user was asked about;
- fifty processes starting at once on a fresh data dir agree on one complete key;
- a short TASKLINK_CONFIRM_SECRET stops start-up, naming the variable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitResult

from tasklink.errors import ConfigurationError
from tasklink.mcp.server import build_server
from tasklink.policy.keys import KEY_BYTES, server_key
from tasklink.settings import TaskLinkSettings

from .conftest import sandbox_of
from .support import call_ok, text_of

pytestmark = pytest.mark.anyio
#: the tests that take `settings` (or `server`/`client`) run on SQLite and on PostgreSQL
BOTH_STORES = True


async def test_a_token_cannot_delete_a_record_renamed_after_the_preview(settings: TaskLinkSettings) -> None:
    server = build_server(settings)
    async with Client(server) as client:
        intake = await call_ok(client, "create_intake", {"title": "Acme vendor review"})
        preview = await call_ok(client, "delete_intake", {"intake_id": intake["id"]})
        await call_ok(client, "update_intake", {"intake_id": intake["id"], "title": "Board minutes - DO NOT DELETE"})
        state = await sandbox_of(server, "spotdraft")
        refused = await client.call_tool(
            "delete_intake", {"intake_id": intake["id"], "confirm": True, "confirm_token": preview["confirm_token"]}
        )
        assert refused.is_error and "changed since the user previewed it" in text_of(refused)
        assert state.requests_matching("DELETE") == []
        assert (await call_ok(client, "get_intake", {"intake_id": intake["id"]}))["title"].startswith("Board minutes")

        again = await call_ok(client, "delete_intake", {"intake_id": intake["id"]})
        assert again["preview"]["title"] == "Board minutes - DO NOT DELETE"
        deleted = await call_ok(
            client,
            "delete_intake",
            {"intake_id": intake["id"], "confirm": True, "confirm_token": again["confirm_token"]},
        )
        assert deleted["deleted"] is True and deleted["preview"]["title"] == "Board minutes - DO NOT DELETE"


async def test_an_unchanged_record_is_deleted_with_its_token(settings: TaskLinkSettings) -> None:
    async with Client(build_server(settings)) as client:
        task = await call_ok(
            client,
            "create_task",
            {"vendor": "lightfield", "title": "Send the quote", "assignees": ["mem_sam0001"]},
        )
        preview = await call_ok(client, "delete_task", {"vendor": "lightfield", "task_id": task["id"]})
        deleted = await call_ok(
            client,
            "delete_task",
            {"vendor": "lightfield", "task_id": task["id"], "confirm": True, "confirm_token": preview["confirm_token"]},
        )
        assert deleted["deleted"] is True and deleted["preview"]["title"] == "Send the quote"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_elicited_confirmation_is_bound_to_the_record_the_user_was_asked_about(
    settings: TaskLinkSettings, mode: str
) -> None:
    server = build_server(settings)
    asked: list[str] = []
    target: dict[str, Any] = {}

    async def elicit(ctx: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        if len(asked) == 1:  # the record changes while the user reads the first question
            async with Client(server) as other:
                await call_ok(other, "update_intake", {"intake_id": target["id"], "title": "Renamed meanwhile"})
        return ElicitResult(action="accept", content={"confirm": True})

    async with Client(server, mode=mode, elicitation_callback=elicit) as client:
        intake = await call_ok(client, "create_intake", {"title": "Asked about this one"})
        target["id"] = intake["id"]
        result = await client.call_tool("delete_intake", {"intake_id": intake["id"]})
    assert '"Asked about this one"' in asked[0]
    assert result.is_error or mode != "legacy"
    if result.is_error:  # the handshake era asks once: the accepted answer is about the old record
        assert "changed since the user previewed it" in text_of(result) and len(asked) == 1
    else:  # a 2026-07-28 client re-sends the call, and the user is asked again about the record as it is
        assert result.structured_content is not None and result.structured_content["deleted"] is True
        assert '"Renamed meanwhile"' in asked[-1]
        assert result.structured_content["preview"]["title"] == "Renamed meanwhile"


def test_fifty_simultaneous_starts_agree_on_one_complete_key(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "confirm.key"
    script = (
        "import sys; from pathlib import Path; from tasklink.policy.keys import server_key; "
        "sys.stdout.write(server_key(None, Path(sys.argv[1])).hex())"
    )
    starts = [
        subprocess.Popen([sys.executable, "-c", script, str(key_file)], stdout=subprocess.PIPE, text=True)
        for _ in range(50)
    ]
    keys = {process.communicate(timeout=60)[0] for process in starts}
    assert len(keys) == 1 and len(bytes.fromhex(keys.pop())) == KEY_BYTES
    assert key_file.stat().st_mode & 0o077 == 0
    assert [p.name for p in key_file.parent.iterdir()] == ["confirm.key"]  # no temporary file left


@pytest.mark.parametrize("secret", ["ab", "x" * 64, "short-but-varied-1"])
def test_a_weak_confirm_secret_stops_start_up(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigurationError, match="TASKLINK_CONFIRM_SECRET must be at least 32"):
        server_key(secret, tmp_path / "confirm.key")


def test_a_damaged_key_file_is_refused_not_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "confirm.key"
    key_file.write_bytes(b"")
    with pytest.raises(ConfigurationError, match="damaged"):
        server_key(None, key_file)
    assert key_file.read_bytes() == b""


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_deleting_what_is_gone_already_answers_already_deleted(settings: TaskLinkSettings, mode: str) -> None:
    async def elicit(ctx: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"confirm": True})

    server = build_server(settings)
    async with Client(server, mode=mode, elicitation_callback=elicit) as client:
        task = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Delete me twice"})
        first = await call_ok(client, "delete_task", {"vendor": "workiva", "task_id": task["id"]})
        assert first["deleted"] is True
        again = await call_ok(client, "delete_task", {"vendor": "workiva", "task_id": task["id"]})
        assert again["already_deleted"] is True and again["deleted"] is False
        intake = await call_ok(client, "create_intake", {"title": "Gone twice"})
        assert (await call_ok(client, "delete_intake", {"intake_id": intake["id"]}))["deleted"] is True
        gone = await call_ok(client, "delete_intake", {"intake_id": intake["id"]})
        assert gone["already_deleted"] is True
        state = await sandbox_of(server, "workiva")
    assert len(state.requests_matching("DELETE")) == 1
