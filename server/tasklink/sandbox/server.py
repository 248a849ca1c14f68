"""All vendor simulators behind one loopback HTTP server, each mounted at /<vendor>; and their reset.

The simulators keep their state in the data dir's `sandbox/` folder, one SQLite file per vendor (the
embedded sandbox of `tasklink serve` and `tasklink call` and this loopback server share it).
`tasklink sandbox reset` deletes those files, and forgets the creates tasklink made in them lately (the
duplicate check's local record), so a title created before the reset can be created again.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from ..manifests import load_manifests
from ..refs import load_object, sibling
from ..settings import TaskLinkSettings
from ..state import StateStore

SANDBOX_FOLDER = "sandbox"


def loopback_app(settings: TaskLinkSettings, public_base: str) -> tuple[Starlette, list[str]]:
    """The app, plus the environment each vendor needs to reach it (one `export` line each)."""

    mounts: list[Any] = []
    hints = [f"tasklink sandbox: serving at {public_base}; point tasklink at it with:"]
    for name, manifest in load_manifests(settings.manifest_dirs).items():
        app = load_object(manifest.sandbox)(settings.state_path(SANDBOX_FOLDER) / f"{name}.sqlite3")
        mounts.append(Mount(f"/{name}", app=app))
        adapter_cls = load_object(manifest.adapter)
        env = adapter_cls.sandbox_settings(settings, sibling(manifest.sandbox, "demo_settings")()).as_env(
            f"{public_base}/{name}"
        )
        hints.append("  export " + " ".join(f"{k}={v}" for k, v in env.items()))
    return Starlette(routes=mounts), hints


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to HOST:PORT and listening (port 0: a free one); OSError when the address is taken."""

    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restarts need no wait
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# -- reset ----------------------------------------------------------------------------------------


def sandbox_files(settings: TaskLinkSettings) -> list[Path]:
    """The simulators' SQLite files (with their WAL and shared-memory files), without creating the data dir."""

    folder = settings.data_dir / SANDBOX_FOLDER
    return sorted(folder.glob("*.sqlite3*")) if folder.is_dir() else []


def remove_sandbox_files(settings: TaskLinkSettings) -> list[str]:
    """Delete every simulator's state; the vendors whose state was removed."""

    vendors: list[str] = []
    for path in sandbox_files(settings):
        path.unlink(missing_ok=True)
        vendor = path.name.partition(".sqlite3")[0]
        if vendor not in vendors:
            vendors.append(vendor)
    return vendors


async def forget_recent_creates(store: StateStore, vendors: list[str]) -> int:
    """Forget the creates made lately in these vendors (the duplicate check's local record of them)."""

    if not vendors:
        return 0
    marks = ",".join("?" for _ in vendors)
    async with store.transaction() as tx:
        found = await tx.execute(f"SELECT count(*) FROM recent_writes WHERE vendor IN ({marks})", vendors)  # noqa: S608
        row = found.fetchone()
        count = int(row[0]) if row else 0
        await tx.execute(f"DELETE FROM recent_writes WHERE vendor IN ({marks})", vendors)  # noqa: S608
    return count
