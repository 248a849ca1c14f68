"""Roles from TASKLINK_POLICY_FILE: what each principal may do — which tools and vendors, writes, deletes.

    default = ["reader"]                 # a principal the file does not name (and no role from its credential)

    [roles.editor]                       # reader, editor and admin are built in; a table here replaces one
    writes = true
    vendors = ["spotdraft", "lightfield"]

    [principals]
    "oauth:alice-subject" = ["editor"]
    "token:ci-bot" = ["reader"]

    [groups]
    "legal-team" = ["editor"]

A principal's roles are the file's for its id and its groups, plus those its credential carries; with
none, the `default` roles. Its grants are the union of its roles'. Without a policy file every caller
may do everything the configuration allows (one person over stdio, or a team that trusts each token).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigurationError
from ..principals import Principal
from .grants import EVERYTHING, Grants


class Role(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(default_factory=lambda: ["*"], description="Tool names, or * for all.")
    vendors: list[str] = Field(default_factory=lambda: ["*"], description="Vendor names, or * for all.")
    writes: bool = Field(False, description="May create and change records.")
    deletes: bool = Field(False, description="May delete records (needs writes).")
    audit_admin: bool = Field(False, description="Reads every principal's audit entries.")


BUILT_IN = {
    "reader": Role(),
    "editor": Role(writes=True),
    "admin": Role(writes=True, deletes=True, audit_admin=True),
}


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: list[str] = Field(default_factory=lambda: ["reader"])
    roles: dict[str, Role] = Field(default_factory=dict)
    principals: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)


def _union(names: list[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


class Policy:
    def __init__(self, file: PolicyFile | None) -> None:
        self.file = file
        self.roles = {**BUILT_IN, **(file.roles if file else {})}
        if file is not None:
            named = [*file.default, *(r for rs in file.principals.values() for r in rs),
                     *(r for rs in file.groups.values() for r in rs)]  # fmt: skip
            unknown = sorted({r for r in named if r not in self.roles})
            if unknown:
                raise ConfigurationError(
                    f"TASKLINK_POLICY_FILE names roles it does not define: {unknown}", allowed=sorted(self.roles)
                )

    @classmethod
    def load(cls, path: Path | None) -> Policy:
        import tomllib

        if path is None:
            return cls(None)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls(PolicyFile.model_validate(data))
        except OSError as exc:
            raise ConfigurationError(f"TASKLINK_POLICY_FILE {path} cannot be read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"TASKLINK_POLICY_FILE {path} is not valid TOML ({exc})") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"TASKLINK_POLICY_FILE {path}: {problems}") from None

    def grants(self, principal: Principal) -> Grants:
        if self.file is None:
            return EVERYTHING
        names = [*self.file.principals.get(principal.id, ()), *principal.roles]
        for group in principal.groups:
            names += self.file.groups.get(group, [])
        names = [n for n in dict.fromkeys(names) if n in self.roles] or list(self.file.default)
        roles = [self.roles[n] for n in names]
        tools: list[str] | None = None if any("*" in r.tools for r in roles) else [t for r in roles for t in r.tools]
        vendors = None if any("*" in r.vendors for r in roles) else [v for r in roles for v in r.vendors]
        return Grants(
            roles=tuple(names),
            tools=_union(tools),
            vendors=_union(vendors),
            writes=any(r.writes for r in roles),
            deletes=any(r.writes and r.deletes for r in roles),
            audit_admin=any(r.audit_admin for r in roles),
        )
