"""The `tasklink` command line, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import tasklink_command

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str] | None = None, data: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTDRAFT_", "TASKLINK_"))}
    full_env |= {"TASKLINK_DATA_DIR": str(data)} | (env or {})
    return subprocess.run(
        [*tasklink_command(), *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


def test_tools_lists_one_line_per_tool(tmp_path: Path) -> None:
    out = run("tools", data=tmp_path)
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert {"create_intake", "create_task", "list_tasks", "update_intake_assignees", "delete_intake"} <= set(names)


def test_call_prints_the_created_intake(tmp_path: Path) -> None:
    args = {
        "title": "Route new vendor request",
        "description": "Initial request for legal review.",
        "priority": "MEDIUM",
    }
    out = run("call", "create_intake", "--args", json.dumps(args), data=tmp_path)
    assert out.returncode == 0, out.stderr
    intake = json.loads(out.stdout)
    assert intake["title"] == "Route new vendor request"
    assert intake["workflow_id"] == 7
    assert intake["status"] == "PENDING"
    # state persists in the data dir: a second process sees the intake
    again = run("call", "get_intake", "--args", json.dumps({"intake_id": intake["id"]}), data=tmp_path)
    assert json.loads(again.stdout)["reference_id"] == intake["reference_id"]


def test_call_tool_error_exits_1_with_message_on_stderr(tmp_path: Path) -> None:
    out = run("call", "list_tasks", "--args", '{"vendor": "spotdraft"}', data=tmp_path)
    assert out.returncode == 1
    assert out.stdout == ""
    assert "SpotDraft does not support" in out.stderr
    assert "Traceback" not in out.stderr


def test_call_rejects_bad_json(tmp_path: Path) -> None:
    out = run("call", "create_intake", "--args", "{title:", data=tmp_path)
    assert out.returncode == 2
    assert "--args is not valid JSON" in out.stderr


def test_incomplete_credentials_stop_start_up_without_leaking(tmp_path: Path) -> None:
    out = run("call", "list_vendors", env={"SPOTDRAFT_CLIENT_SECRET": "sd-secret-value-123"}, data=tmp_path)
    assert out.returncode == 2
    assert "SPOTDRAFT_CLIENT_ID" in out.stderr
    assert "sd-secret-value-123" not in out.stderr + out.stdout


def test_unknown_tool_name_in_configuration_stops_start_up(tmp_path: Path) -> None:
    out = run("tools", env={"TASKLINK_TOOLS": "create_intake,make_coffee"}, data=tmp_path)
    assert out.returncode == 2
    assert "make_coffee" in out.stderr and "create_task" in out.stderr


def test_live_credentials_are_reported_as_live_without_values(tmp_path: Path) -> None:
    env = {
        "SPOTDRAFT_CLIENT_ID": "cid-value-987",
        "SPOTDRAFT_CLIENT_SECRET": "csecret-value-654",
        "SPOTDRAFT_REGION": "eu",
    }
    out = run("call", "list_vendors", env=env, data=tmp_path)
    assert out.returncode == 0, out.stderr
    vendors = {v["name"]: v for v in json.loads(out.stdout)["vendors"]}
    assert vendors["spotdraft"]["mode"] == "live"
    assert "cid-value-987" not in out.stdout + out.stderr
    assert "csecret-value-654" not in out.stdout + out.stderr
