"""One tasklink server on the sandbox for the whole contract module: every vendor, TaskTrail included."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from mcp import Client

from tasklink.settings import TaskLinkSettings

from ..conftest import MODES
from .harness import MANIFEST_DIRS, VendorHarness, contract_manifests, contract_server, examples_of


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


#: (protocol mode, state store): both modes on SQLite, and PostgreSQL once (the store is independent of the mode)
SETUPS = [*((mode, "sqlite") for mode in MODES), (MODES[0], "postgresql")]


@pytest.fixture(scope="module", params=SETUPS, ids=["-".join(s) for s in SETUPS])
async def harnesses(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, VendorHarness]]:
    """Every vendor behind one server and one MCP client (per protocol mode and state store), each vendor on its
    own simulator with its own request log.

    Client-side pacing is lifted (as in the fuzz test): the contract is about behaviour, and a vendor that
    announces its own limit (X-RateLimit-*) is still paced by what it announces."""

    manifests = contract_manifests()
    prefixes = ("TASKLINK_", *(f"{name.upper()}_" for name in manifests))
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith(prefixes):
                env.delenv(key)
        mode, store = request.param
        state_url = request.getfixturevalue("pg_cluster").new_database() if store == "postgresql" else None
        settings = TaskLinkSettings(
            data_dir=tmp_path_factory.mktemp(f"contract-{mode}-{store}"),
            state_url=state_url,
            sandbox=True,
            manifest_dirs=MANIFEST_DIRS,
            rate_limits=dict.fromkeys(manifests, 1000.0),
        )
        server = contract_server(settings)
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(Client(server, mode=mode))
        tools = {
            t.name: set((t.input_schema.get("properties") or {}).keys()) for t in (await client.list_tools()).tools
        }
        out: dict[str, VendorHarness] = {}
        for name, manifest in manifests.items():
            h = out[name] = VendorHarness(name, manifest, examples_of(manifest), server, client, tools)
            # One read up front builds the simulator and exchanges any credentials (an OAuth token), so a
            # test's slice of the request log holds only what its own calls sent.
            listing = h.list_operation()
            if listing is not None:
                await h.ok(listing, {})
            await server.service.vendors.adapter(name)
        yield out
