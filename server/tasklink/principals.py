"""Who a call acts for: its principal.

Over HTTP the principal comes from the verified credential: an OAuth access token (its subject, and
the email, groups and roles claims named by TASKLINK_OAUTH_*_CLAIM), or a named bearer token from
TASKLINK_HTTP_TOKENS_FILE (its name, email and roles). Over stdio, and on an unauthenticated loopback
endpoint, it is the local user. Everything a caller could otherwise share with another caller is
bound to the principal: idempotency keys, confirmation tokens, list cursors, the recent-writes index,
the audit entries it may read.
"""

from __future__ import annotations

import getpass
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Literal

Kind = Literal["local", "token", "oauth"]


@dataclass(frozen=True)
class Principal:
    #: "local:<user>", "token:<name>" or "oauth:<subject>"
    id: str
    kind: Kind = "local"
    email: str | None = None
    groups: tuple[str, ...] = ()
    #: roles the credential itself carries (a named token's, an OAuth roles claim)
    roles: tuple[str, ...] = ()

    @property
    def local(self) -> bool:
        return self.kind == "local"

    def scope(self) -> str:
        """What binds a key, token or cursor to this principal ("" for the local user: stdio is one person)."""

        return "" if self.local else self.id


@cache
def local_principal() -> Principal:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "local"
    return Principal(id=f"local:{user}")


current: ContextVar[Principal | None] = ContextVar("tasklink_principal", default=None)


def acting() -> Principal:
    """The principal of the call being served (the local user outside any call)."""

    return current.get() or local_principal()
