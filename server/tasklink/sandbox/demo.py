"""The demo credentials each shipped simulator accepts, importable without importing the simulators.

The vendor registry reads these when it points a vendor without credentials at its sandbox, so
start-up imports no simulator. Each simulator's `demo_settings()` answers the same values
(tests/test_startup.py checks that they agree). A vendor added through TASKLINK_MANIFEST_DIRS has no
entry here: its simulator's own `demo_settings()` is read instead.
"""

from __future__ import annotations

#: the simulator a manifest names (`module:factory`, module part) -> the settings that reach it
DEMO_SETTINGS: dict[str, dict[str, str]] = {
    "tasklink.sandbox.lightfield": {"api_key": "sk_lf_sandbox_tasklink_0001"},
    "tasklink.sandbox.spotdraft": {
        "client_id": "sandbox-spotdraft-client",
        "client_secret": "sandbox-spotdraft-secret",
        "region": "us",
        "intake_workflow_id": "7",
    },
    "tasklink.sandbox.trackops": {
        "subdomain": "sandbox",
        "username": "dana.whitfield",
        "api_token": "sandbox-trackops-api-token",
    },
    "tasklink.sandbox.workiva": {
        "client_id": "sandbox-workiva-client",
        "client_secret": "sandbox-workiva-secret",
        "region": "app",
        "organization_id": "d6e178fd-4dd5-47e5-9457-68dd64b03655",
    },
}


def demo_settings(sandbox: str) -> dict[str, str] | None:
    """The demo settings of the simulator `sandbox` (`module:factory`) names, if it is a shipped one."""

    found = DEMO_SETTINGS.get(sandbox.partition(":")[0])
    return dict(found) if found is not None else None
