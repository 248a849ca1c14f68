"""One-time links to connect a vendor account: bound to a principal and a vendor, expiring, used once.

A link is `/connect/<token>` on tasklink's HTTP address. The token carries the principal, the vendor,
an expiry and a nonce, signed with a key derived from the server key (so any worker can check it);
the nonce is recorded when the link is used, so it works once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidInput
from ..signed import sign, verify
from ..state import StateStore
from .keys import derive

LINK_SECONDS = 600


@dataclass(frozen=True)
class Link:
    principal: str
    vendor: str
    expires: float
    nonce: str


class ConnectLinks:
    def __init__(self, server_key: bytes, store: StateStore, *, clock: Callable[[], float] = time.time) -> None:
        self._key = derive(server_key, "connect-links")
        self.store = store
        self.clock = clock

    def issue(self, principal: str, vendor: str) -> str:
        """A fresh token for `principal` to connect `vendor` (the path part of the link)."""

        return sign(self._key, [principal, vendor, int(self.clock()) + LINK_SECONDS, secrets.token_urlsafe(12)])

    def read(self, token: str) -> Link:
        """The link a token names, if it is genuine and unexpired (not yet whether it was used)."""

        found = verify(self._key, token)
        if not isinstance(found, list) or len(found) != 4:
            raise InvalidInput("this connect link is not valid (it was changed, or made by another server)")
        principal, vendor, expires, nonce = found
        if expires < self.clock():
            raise InvalidInput("this connect link has expired (links last 10 minutes); ask the assistant again")
        return Link(str(principal), str(vendor), float(expires), str(nonce))

    async def used(self, link: Link) -> bool:
        return bool(await self.store.query("SELECT 1 FROM connect_links WHERE nonce=?", (link.nonce,)))

    async def use(self, link: Link) -> None:
        """Spend the link; a second use is refused."""

        async with self.store.transaction() as tx:
            await tx.lock(f"connect:{link.nonce}")
            used = (await tx.execute("SELECT used_at FROM connect_links WHERE nonce=?", (link.nonce,))).fetchone()
            if used is not None:
                raise InvalidInput("this connect link was used already; ask the assistant for a new one")
            await tx.execute("INSERT INTO connect_links(nonce, used_at) VALUES (?, ?)", (link.nonce, self.clock()))
