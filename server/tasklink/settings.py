"""Process-wide settings (TASKLINK_*). Each vendor's own settings live beside its adapter."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("tasklink", appauthor=False)


def split_names(value: object) -> object:
    """Accept "a,b" or "a b" from the environment as well as a list."""

    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return value


class TaskLinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKLINK_", extra="ignore")

    sandbox: bool = Field(False, description="Force every vendor onto its embedded sandbox.")
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where local state is kept.")
    timezone: str = Field("UTC", description="Zone for date-only due dates.")
    policy_file: Path | None = Field(
        None, description="TOML file of roles per principal and group (tools, vendors, writes, deletes)."
    )
    vault_key: SecretStr | None = Field(
        None, description="32 random bytes, URL-safe base64: encrypts people's own vendor credentials (per-user)."
    )
    state_url: SecretStr | None = Field(
        None,
        description="Where tasklink keeps its state: unset for SQLite in the data dir, sqlite:///<absolute path>, "
        "or postgresql://user:password@host:port/database for workers that share it.",
    )
    state_pool_size: int = Field(10, ge=1, le=200, description="PostgreSQL connections per worker.")
    confirm_secret: SecretStr | None = Field(
        None, description="Key that signs delete confirmations; set the same value on every worker."
    )
    http_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for each read or write on a vendor connection."
    )
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to connect (or wait for a pooled connection).")
    max_response_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest vendor response body read.")
    retry_attempts: int = Field(4, ge=1, le=10, description="Tries per retryable vendor request.")
    retry_after_cap: float = Field(60.0, ge=0, description="Longest Retry-After tasklink waits out.")
    call_deadline: float = Field(90.0, gt=0, description="Upper bound on retrying one request, seconds.")
    idempotency_ttl_hours: float = Field(
        24.0, gt=0, description="How long an idempotency key (and its stored result) is kept; then it is deleted."
    )
    audit_retention_days: float = Field(
        90.0, gt=0, description="Audit rows older than this are deleted, a few hundred at a time as writes come."
    )
    warm_up: Literal["live", "all", "off"] = Field(
        "live",
        description="Read ahead at start what first calls would wait for (Workiva's token, Lightfield's task "
        "definitions): for live vendors, all (sandboxes too), or off.",
    )
    duplicate_check: bool = Field(True, description="Look for a same-titled open item before creating one.")
    duplicate_window_days: int = Field(30, ge=1, description="How far back the duplicate check looks.")
    audit_full: bool = Field(False, description="Also store full tool arguments in the audit log.")
    rate_limits: dict[str, float] = Field(
        default_factory=dict, description='Per-vendor requests/s overriding the manifests, e.g. {"trackops": 10}.'
    )
    sandbox_faults: str | None = Field(None, description="JSON list of faults the sandboxes inject (manual testing).")
    read_only: bool = Field(False, description="Only read tools are listed and callable.")
    tools: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Allow-list of tools.")
    exclude_tools: Annotated[list[str], NoDecode] = Field(default_factory=list)
    vendors: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Vendors to expose.")
    audit_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Credentials (HTTP token names, or sub:<OAuth subject>) whose audit://recent shows every caller.",
    )
    manifest_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="More vendor manifest folders (os.pathsep-separated): a vendor added without changing tasklink.",
    )

    _split = field_validator("tools", "exclude_tools", "vendors", "audit_admins", mode="before")(split_names)

    @field_validator("manifest_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Checked at start-up, not in the first dated call."""

        if value == "UTC":  # needs no time zone data
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone name, e.g. UTC, Europe/Berlin or Asia/Kolkata") from None
        return value

    @field_validator("rate_limits")
    @classmethod
    def _positive_rates(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not rate > 0 for rate in value.values()):  # `not >` also refuses NaN
            raise ValueError('expected requests per second above 0 for each vendor, e.g. {"trackops": 10}')
        return value

    def state_path(self, name: str) -> Path:
        """A file in the data dir, which is created private (0700): it holds keys, the ledger and the audit."""

        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            from .errors import StateUnavailable

            raise StateUnavailable(
                f"tasklink cannot create its data dir {self.data_dir} ({exc.strerror}); "
                "set TASKLINK_DATA_DIR to a folder it can write"
            ) from None
        return self.data_dir / name


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
