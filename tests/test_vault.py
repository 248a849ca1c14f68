"""The credential vault: people's own vendor credentials sealed in the state store, on both stores."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from tasklink.errors import ConfigurationError
from tasklink.policy.vault import Vault, key_id, parse_key
from tasklink.state import StateStore

from .conftest import tasklink_command
from .http_support import base_env, run_tasklink

pytestmark = pytest.mark.anyio
BOTH_STORES = True

SECRET = "sk_lf_personal_key_of_carol_0042"


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def test_a_credential_is_sealed_bound_to_its_owner_and_survives_a_key_rotation(store: StateStore) -> None:
    first, second = parse_key(new_key()), parse_key(new_key())
    vault = Vault(store, first)
    await vault.put("oauth:carol", "lightfield", {"api_key": SECRET}, "Carol's member")
    assert await vault.get("oauth:carol", "lightfield") == {"api_key": SECRET}
    assert await vault.get("oauth:dave", "lightfield") is None

    sealed = (await store.query("SELECT sealed FROM credentials"))[0][0]
    assert SECRET.encode() not in bytes(sealed)
    # a row moved to another principal does not open (the principal and vendor are sealed with it)
    async with store.transaction() as tx:
        await tx.execute(
            "INSERT INTO credentials(principal, vendor, sealed, key_id, account, created_at) VALUES (?,?,?,?,?,?)",
            ("oauth:mallory", "lightfield", sealed, key_id(first), None, 0.0),
        )
    with pytest.raises(ConfigurationError, match="does not open"):
        await vault.get("oauth:mallory", "lightfield")
    await vault.remove("oauth:mallory", "lightfield")

    assert await vault.rotate(second) == 1
    assert await Vault(store, second).get("oauth:carol", "lightfield") == {"api_key": SECRET}
    with pytest.raises(ConfigurationError, match="does not open"):
        await Vault(store, first).get("oauth:carol", "lightfield")
    (entry,) = await vault.entries()
    assert entry["key_id"] == key_id(second) and entry["account"] == "Carol's member" and SECRET not in str(entry)


def test_a_bad_vault_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ConfigurationError, match="URL-safe base64"):
        parse_key("too-short")


def test_operators_manage_credentials_from_the_command_line(tmp_path: Path, state_url: str | None) -> None:
    key, rotated = new_key(), new_key()
    env = base_env(
        tmp_path / "data", TASKLINK_VAULT_KEY=key, **({"TASKLINK_STATE_URL": state_url} if state_url else {})
    )
    stored = run_tasklink_with_input(env, SECRET, "credentials", "set", "--principal", "oauth:carol", "--vendor",
                                     "lightfield", "--account", "mem_priya02")  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    two_fields = run_tasklink_with_input(env, "username=dana.whitfield\napi_token=t0k3n-of-dana-0001", "credentials",
                                         "set", "--principal", "token:ci", "--vendor", "trackops")  # fmt: skip
    assert two_fields.returncode == 0, two_fields.stderr
    listed = run_tasklink(env, "credentials", "list", "--json")
    assert listed.returncode == 0 and SECRET not in listed.stdout and "t0k3n" not in listed.stdout
    assert {(r["principal"], r["vendor"]) for r in json.loads(listed.stdout)} == {
        ("oauth:carol", "lightfield"),
        ("token:ci", "trackops"),
    }
    refused = run_tasklink_with_input(env, SECRET, "credentials", "set", "--principal", "x", "--vendor", "spotdraft")
    assert refused.returncode != 0 and "workspace" in refused.stderr and "Traceback" not in refused.stderr

    turned = run_tasklink_with_input(env, rotated, "credentials", "rotate-key")
    assert turned.returncode == 0 and "re-sealed 2" in turned.stdout, turned.stderr
    after = run_tasklink(dict(env, TASKLINK_VAULT_KEY=rotated), "credentials", "list", "--json")
    assert {r["key_id"] for r in json.loads(after.stdout)} == {key_id(parse_key(rotated))}
    removed = run_tasklink(env, "credentials", "remove", "--principal", "token:ci", "--vendor", "trackops")
    assert removed.returncode == 0, removed.stderr
    if state_url is None:
        assert SECRET.encode() not in (tmp_path / "data" / "state.sqlite3").read_bytes()


def run_tasklink_with_input(env: dict[str, str], stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*tasklink_command(), *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
