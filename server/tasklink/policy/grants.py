"""What one principal may do: its grants (policy/roles.py computes them from TASKLINK_POLICY_FILE). Kept apart
so a server without a policy file never loads the policy models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..principals import Principal


@dataclass(frozen=True)
class Grants:
    """What one principal may do (the union of its roles)."""

    roles: tuple[str, ...]
    tools: frozenset[str] | None  # None: every tool
    vendors: frozenset[str] | None  # None: every vendor
    writes: bool
    deletes: bool
    audit_admin: bool

    def tool(self, name: str, kind: str) -> bool:
        if self.tools is not None and name not in self.tools:
            return False
        if kind == "destructive":
            return self.deletes
        return kind == "read" or self.writes

    def vendor(self, name: str) -> bool:
        return self.vendors is None or name in self.vendors

    def why_not(self, name: str, kind: str) -> str:
        held = ", ".join(self.roles) or "none"
        if self.tools is not None and name not in self.tools:
            return f"your roles ({held}) do not include the tool `{name}`"
        if kind == "destructive":
            return f"your roles ({held}) do not allow deletes"
        return f"your roles ({held}) are read-only"


#: without a policy file (audit entries of others: TASKLINK_AUDIT_ADMINS decides, as before)
EVERYTHING = Grants(("all",), None, None, True, True, False)


class Policies(Protocol):
    def grants(self, principal: Principal) -> Grants: ...


class NoPolicy:
    """Without a policy file every caller may do everything the configuration allows."""

    file = None

    def grants(self, principal: Principal) -> Grants:
        return EVERYTHING


def load_policy(path: Path | None) -> Policies:
    if path is None:
        return NoPolicy()
    from .roles import Policy

    return Policy.load(path)
