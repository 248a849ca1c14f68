"""`tasklink doctor` against the vendor simulators served on loopback in live mode (real credentials as far
as tasklink can tell): all green; one wrong credential turns that vendor red with the next step, exits 1,
and prints no secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tasklink.manifests import load_manifests
from tasklink.sandbox.demo import DEMO_SETTINGS

from .conftest import ThreadedUvicorn
from .http_support import run_tasklink

VENDOR_PREFIXES = tuple(f"{name.upper()}_" for name in load_manifests())
SECRET_FIELDS = ("api_key", "client_id", "client_secret", "api_token")
SECRETS = [v for settings in DEMO_SETTINGS.values() for k, v in settings.items() if k in SECRET_FIELDS]
WRONG_KEY = "sk_lf_wrong_0123456789abcdef"


def live_env(tmp_path: Path, loopback: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKLINK_", *VENDOR_PREFIXES))}
    return env | loopback | {"TASKLINK_DATA_DIR": str(tmp_path / "data")} | extra


def rows(stdout: str) -> dict[str, str]:
    """The table's lines by the vendor (or check) they start with."""

    return {line.split("  ")[0].strip(): line for line in stdout.splitlines() if line.strip()}


def test_all_green_against_the_simulators_in_live_mode(
    tmp_path: Path, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]
) -> None:
    _, loopback = loopback_sandbox
    found = run_tasklink(live_env(tmp_path, loopback), "doctor", timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
    lines = rows(found.stdout)
    for manifest in load_manifests().values():
        line = lines[f"{manifest.title} credentials (live, 127.0.0.1)"]
        assert "  ok: a harmless read worked" in line
    for check in (
        "settings (TASKLINK_*, vendor variables)",
        "state store (TASKLINK_STATE_URL)",
        "vendor configuration",
    ):
        assert "  ok" in lines[check]
    assert "FAIL" not in found.stdout
    assert found.stdout.strip().endswith(f"doctor: all {len(load_manifests()) + 5} checks passed")
    assert not [s for s in SECRETS if s in found.stdout + found.stderr]


def test_a_wrong_credential_is_red_with_the_next_step(
    tmp_path: Path, loopback_sandbox: tuple[ThreadedUvicorn, dict[str, str]]
) -> None:
    _, loopback = loopback_sandbox
    env = live_env(tmp_path, loopback, LIGHTFIELD_API_KEY=WRONG_KEY)
    found = run_tasklink(env, "doctor", timeout=120)
    assert found.returncode == 1
    lines = rows(found.stdout)
    red = lines["Lightfield credentials (live, 127.0.0.1)"]
    assert "FAIL: rejected (HTTP 401)" in red
    assert "check LIGHTFIELD_API_KEY" in red
    others = [m.title for m in load_manifests().values() if m.name != "lightfield"]
    for title in others:
        assert "  ok: a harmless read worked" in lines[f"{title} credentials (live, 127.0.0.1)"]
    assert found.stdout.strip().endswith(f"doctor: 1 of {len(load_manifests()) + 5} checks failed")
    printed = found.stdout + found.stderr
    assert WRONG_KEY not in printed
    assert not [s for s in SECRETS if s in printed]

    as_json = run_tasklink(env, "doctor", "--json", timeout=120)
    assert as_json.returncode == 1
    checks = {c["what"]: c for c in json.loads(as_json.stdout)}
    assert checks["Lightfield credentials (live, 127.0.0.1)"]["status"] == "FAIL"


def test_without_credentials_every_vendor_is_on_the_sandbox(tmp_path: Path) -> None:
    env = live_env(tmp_path, {})
    found = run_tasklink(env, "doctor", timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
    lines = rows(found.stdout)
    assert "sandbox: no credentials set" in lines["Lightfield (sandbox)"]
    assert "set LIGHTFIELD_API_KEY to use your account" in lines["Lightfield (sandbox)"]


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        ("TASKLINK_STATE_URL", "mysql://db.example/tasklink", "state store (TASKLINK_STATE_URL)"),
        ("SPOTDRAFT_CLIENT_ID", "only-half-of-the-credentials", "vendor configuration"),
        ("TASKLINK_READONLY", "1", "settings (TASKLINK_*, vendor variables)"),
        ("TASKLINK_LOG_FORMAT", "xml", "logs, metrics, traces (TASKLINK_LOG_FORMAT, OTEL_*)"),
    ],
)
def test_a_configuration_problem_is_red(tmp_path: Path, variable: str, value: str, check: str) -> None:
    found = run_tasklink(live_env(tmp_path, {}, **{variable: value}), "doctor", timeout=120)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "  FAIL: " in rows(found.stdout)[check]
    assert variable in rows(found.stdout)[check]
    assert "Traceback" not in found.stderr
