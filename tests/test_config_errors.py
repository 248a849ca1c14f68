"""Configuration mistakes stop start-up with one line each (the variable, the value, what is allowed), exit 2.

An unknown `TASKLINK_*` or vendor variable (a typo, silently ignored before) is one of them, with the
closest known name; no configuration mistake ends in a traceback, in any command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from tasklink.cli import main
from tasklink.config_check import ConfigurationProblems, check_environment, problem_lines, validation_lines
from tasklink.manifests import load_manifests
from tasklink.mcp.deployment import HttpSettings
from tasklink.settings import TaskLinkSettings

from .conftest import tasklink_command
from .contract.harness import TASKTRAIL_MANIFESTS

VENDOR_PREFIXES = tuple(f"{name.upper()}_" for name in load_manifests())


def run(*args: str, env: dict[str, str], data: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(("TASKLINK_", *VENDOR_PREFIXES))}
    return subprocess.run(
        [*tasklink_command(), *args],
        env=clean | {"TASKLINK_DATA_DIR": str(data)} | env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("tasklink: ")
    return lines[0]


#: the mistakes the issue names: variable, value, and what the line must say is allowed
ISSUE_CASES = {
    "not a boolean": (
        {"TASKLINK_READ_ONLY": "maybe"},
        "tasklink: TASKLINK_READ_ONLY='maybe' is not valid: expected a boolean (1/0, true/false)",
    ),
    "a negative window": (
        {"TASKLINK_DUPLICATE_WINDOW_DAYS": "-3"},
        "tasklink: TASKLINK_DUPLICATE_WINDOW_DAYS='-3' is not valid: expected a whole number, at least 1",
    ),
    "malformed rate limits": (
        {"TASKLINK_RATE_LIMITS": "trackops=10"},
        "tasklink: TASKLINK_RATE_LIMITS='trackops=10' is not valid: expected a JSON object (per-vendor requests/s "
        'overriding the manifests), e.g. {"trackops": 10}',
    ),
    "an unknown time zone": (
        {"TASKLINK_TIMEZONE": "Mars/Olympus"},
        "tasklink: TASKLINK_TIMEZONE='Mars/Olympus' is not valid: expected an IANA time zone name, e.g. UTC, "
        "Europe/Berlin or Asia/Kolkata",
    ),
    "a typo in a name": (
        {"TASKLINK_READONLY": "1"},
        "tasklink: TASKLINK_READONLY is not one of tasklink's settings; did you mean TASKLINK_READ_ONLY?",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ISSUE_CASES))
@pytest.mark.parametrize("command", [["serve"], ["call", "list_vendors"], ["tools"]])
def test_each_mistake_is_one_line_and_exit_2(case: str, command: list[str], tmp_path: Path) -> None:
    env, expected = ISSUE_CASES[case]
    out = run(*command, env=env, data=tmp_path / "data", stdin="")
    assert one_line(out) == expected
    assert out.stdout == ""


@pytest.mark.slow
def test_the_http_server_checks_its_settings_too(tmp_path: Path) -> None:
    out = run("serve", "--http", "--port", "9", env={"TASKLINK_HTTP_MAX_SESSIONS": "none"}, data=tmp_path)
    assert (
        one_line(out) == "tasklink: TASKLINK_HTTP_MAX_SESSIONS='none' is not valid: expected a whole number, at least 1"
    )


@pytest.mark.slow
def test_every_mistake_is_named_at_once(tmp_path: Path) -> None:
    env = {"TASKLINK_READ_ONLY": "maybe", "TASKLINK_WARM_UP": "sometimes", "TASKLINK_TOOLZ": "get_task"}
    out = run("tools", env=env, data=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert sorted(out.stderr.splitlines()) == [
        "tasklink: TASKLINK_READ_ONLY='maybe' is not valid: expected a boolean (1/0, true/false)",
        "tasklink: TASKLINK_TOOLZ is not one of tasklink's settings; did you mean TASKLINK_TOOLS?",
        "tasklink: TASKLINK_WARM_UP='sometimes' is not valid: expected one of live, all, off",
    ]


@pytest.mark.slow
def test_other_commands_have_no_traceback_for_a_mistake(tmp_path: Path) -> None:
    for command in (["audit"], ["state", "status"], ["sandbox", "reset"]):
        out = run(*command, env={"TASKLINK_STATE_POOL_SIZE": "500"}, data=tmp_path)
        assert one_line(out) == (
            "tasklink: TASKLINK_STATE_POOL_SIZE='500' is not valid: expected a whole number from 1 to 200"
        ), command


# -- in process: the check itself -----------------------------------------------------------------


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationProblems) as caught:
        check_environment()
    return caught.value.lines


def test_a_correct_environment_passes_and_gives_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_READ_ONLY", "1")
    monkeypatch.setenv("TASKLINK_TIMEZONE", "Asia/Kolkata")
    monkeypatch.setenv("TASKLINK_HTTP_TOKEN", "a-long-enough-token-0123456789")
    monkeypatch.setenv("TRACKOPS_BASE_URL", "http://127.0.0.1:9/trackops")
    settings = check_environment()
    assert settings.read_only and settings.timezone == "Asia/Kolkata"


def test_vendor_variables_are_checked_by_name_and_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch, SPOTDRAFT_CLIENTID="x", SPOTDRAFT_REGION="mars") == [
        "SPOTDRAFT_CLIENTID is not one of tasklink's SpotDraft settings; did you mean SPOTDRAFT_CLIENT_ID?",
        "SPOTDRAFT_REGION='mars' is not valid: expected one of in, us, eu, me",
    ]


def test_a_vendor_from_a_manifest_folder_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_MANIFEST_DIRS", str(TASKTRAIL_MANIFESTS))
    assert problems(monkeypatch, TASKTRAIL_TOKENS="x") == [
        "TASKTRAIL_TOKENS is not one of tasklink's TaskTrail settings; did you mean TASKTRAIL_TOKEN?"
    ]


def test_names_are_matched_as_the_settings_read_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("tasklink_read_only", "1")  # pydantic-settings reads names case-insensitively
    assert check_environment().read_only
    assert problems(monkeypatch, tasklink_readonly="1") == [
        "tasklink_readonly is not one of tasklink's settings; did you mean TASKLINK_READ_ONLY?"
    ]


def test_an_unknown_name_without_a_close_one_points_to_the_readme(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch, TASKLINK_QWXZ="1") == [
        "TASKLINK_QWXZ is not one of tasklink's settings; they are listed in the Configuration section of the README"
    ]


def test_http_settings_are_known_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_OAUTH_AUDIENCE", "tasklink")
    check_environment()
    assert problems(monkeypatch, TASKLINK_OAUTH_AUDIENSE="x") == [
        "TASKLINK_OAUTH_AUDIENSE is not one of tasklink's settings; did you mean TASKLINK_OAUTH_AUDIENCE?"
    ]


def test_rate_limits_name_known_vendors_and_positive_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch, TASKLINK_RATE_LIMITS=json.dumps({"trakops": 3})) == [
        "TASKLINK_RATE_LIMITS names unknown vendors ['trakops']; the vendors are " + ", ".join(load_manifests())
    ]
    assert problems(monkeypatch, TASKLINK_RATE_LIMITS=json.dumps({"trackops": 0})) == [
        """TASKLINK_RATE_LIMITS='{"trackops": 0}' is not valid: expected requests per second above 0 for each """
        """vendor, e.g. {"trackops": 10}"""
    ]


def test_a_secret_value_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_OAUTH_PUBLIC_KEY", "-----BEGIN secret-material")
    error = {"type": "value_error", "loc": ("oauth_public_key",), "msg": "Value error, not a PEM key", "input": "x"}
    assert validation_lines(HttpSettings, [error]) == [
        "TASKLINK_OAUTH_PUBLIC_KEY (value hidden) is not valid: not a PEM key"
    ]


def test_a_settings_error_anywhere_is_lines_and_any_other_error_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_AUDIT_FULL", "often")
    with pytest.raises(ValidationError) as caught:
        TaskLinkSettings()
    assert problem_lines(caught.value) == [
        "TASKLINK_AUDIT_FULL='often' is not valid: expected a boolean (1/0, true/false)"
    ]
    assert problem_lines(ExceptionGroup("one", [caught.value])) == problem_lines(caught.value)
    assert problem_lines(RuntimeError("a bug")) is None


def test_start_up_reads_an_adapter_or_the_http_stack_only_when_needed(tmp_path: Path) -> None:
    probe = (
        "import json, sys\nfrom tasklink.config_check import check_environment\ncheck_environment()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith(("TASKLINK_", *VENDOR_PREFIXES))}
    found = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean | {"TASKLINK_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = set(json.loads(found.stdout))
    adapters = {f"tasklink.vendors.{name}" for name in load_manifests()}
    assert modules & (adapters | {"tasklink.mcp.deployment"}) == set()


def test_the_check_runs_in_process_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_READONLY", "1")
    out = CliRunner().invoke(main, ["tools"])
    assert out.exit_code == 2 and out.exception is not None and not isinstance(out.exception, ValidationError)
    assert "did you mean TASKLINK_READ_ONLY?" in out.output


def test_help_is_shown_whatever_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKLINK_READONLY", "1")
    for words in (["--help"], ["sandbox", "--help"], ["sandbox", "reset", "-h"], ["serve", "--help"]):
        out = CliRunner().invoke(main, words)
        assert out.exit_code == 0 and out.output.startswith("Usage: "), (words, out.output)
