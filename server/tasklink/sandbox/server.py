"""All vendor simulators behind one loopback HTTP server, each mounted at /<vendor>."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from ..manifests import load_manifests
from ..refs import load_object, sibling
from ..settings import TaskLinkSettings


def loopback_app(settings: TaskLinkSettings, public_base: str) -> tuple[Starlette, list[str]]:
    """The app, plus the environment each vendor needs to reach it (one `export` line each)."""

    mounts: list[Any] = []
    hints = [f"tasklink sandbox: serving at {public_base}; point tasklink at it with:"]
    for name, manifest in load_manifests(settings.manifest_dirs).items():
        app = load_object(manifest.sandbox)(settings.state_path("sandbox") / f"{name}.sqlite3")
        mounts.append(Mount(f"/{name}", app=app))
        adapter_cls = load_object(manifest.adapter)
        env = adapter_cls.sandbox_settings(settings, sibling(manifest.sandbox, "demo_settings")()).as_env(
            f"{public_base}/{name}"
        )
        hints.append("  export " + " ".join(f"{k}={v}" for k, v in env.items()))
    return Starlette(routes=mounts), hints
