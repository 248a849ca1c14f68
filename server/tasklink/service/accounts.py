"""People's own vendor accounts (`<VENDOR>_IDENTITY=per-user`): the vault, connect links, and the adapter that
acts with a caller's own credential."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AccountNotConnected
from ..settings import TaskLinkSettings
from ..state import StateStore
from ..vendors.base import VendorAdapter
from ..vendors.registry import Vendors

if TYPE_CHECKING:
    from ..policy.connect import ConnectLinks
    from ..policy.vault import Vault


class Accounts:
    def __init__(
        self,
        settings: TaskLinkSettings,
        store: StateStore,
        server_key: bytes,
        vendors: Vendors,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.store, self.vendors, self.clock = settings, store, vendors, clock
        self._server_key = server_key
        self._vault: Vault | None = None
        self._links: ConnectLinks | None = None
        #: where this server is reached over HTTP (set by the HTTP deployment): connect links point there
        self.public_base: str | None = None
        if any(rt.settings.identity == "per-user" for rt in vendors.runtimes.values() if rt.loaded_settings):
            _ = self.vault.key  # per-user vendors without a vault key stop start-up

    @property
    def vault(self) -> Vault:
        """People's credentials, sealed with TASKLINK_VAULT_KEY (made on first use: start-up does not need it)."""

        if self._vault is None:
            from ..policy.vault import Vault, parse_key

            key = self.settings.vault_key.get_secret_value() if self.settings.vault_key else None
            self._vault = Vault(self.store, parse_key(key) if key else None, clock=self.clock)
        return self._vault

    @property
    def connect_links(self) -> ConnectLinks:
        if self._links is None:
            from ..policy.connect import ConnectLinks

            self._links = ConnectLinks(self._server_key, self.store, clock=self.clock)
        return self._links

    async def adapter(self, vendor: str, title: str, principal: str) -> VendorAdapter[Any]:
        """The vendor acting with the caller's own credential from the vault; none yet: a link to connect one."""

        credential = await self.vault.get(principal, vendor)
        if credential is None:
            raise AccountNotConnected(
                f"{title} acts with each person's own credential here, and you have not connected your {title} "
                "account yet; nothing was sent",
                url=self.connect_url(principal, vendor),
                vendor=vendor,
            )
        return await self.vendors.adapter_with(vendor, principal, credential)

    def connect_url(self, principal: str, vendor: str) -> str | None:
        """The one-time page where `principal` connects `vendor` (None when no HTTP address is known)."""

        if self.public_base is None:
            return None
        return f"{self.public_base.rstrip('/')}/connect/{self.connect_links.issue(principal, vendor)}"
