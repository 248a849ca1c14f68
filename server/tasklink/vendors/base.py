"""What an adapter is: one vendor's auth, paths and wire mapping — never policy.

An adapter receives normalized request models (already through the guardrails) and returns
normalized models. It builds `VendorRequest`s and sends them through its `VendorHttp`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import httpx2
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..errors import InvalidInput
from ..manifests import VendorManifest
from ..models import (
    CreateTaskRequest,
    ListTasksRequest,
    Person,
    Task,
    TaskPage,
    UpdateTaskRequest,
)
from ..settings import TaskLinkSettings
from ._http import ErrorDetail, VendorHttp, generic_error_detail


class VendorSettings(BaseSettings):
    """Base for `<VENDOR>_*` settings. Subclasses set `env_prefix` and their fields."""

    model_config = SettingsConfigDict(extra="ignore")

    #: field names that together make the vendor "configured"
    credential_fields: ClassVar[tuple[str, ...]] = ()

    def env_name(self, field: str) -> str:
        prefix = str(self.model_config.get("env_prefix", ""))
        return (prefix + field).upper()

    def present_credentials(self) -> list[str]:
        return [f for f in self.credential_fields if getattr(self, f, None) not in (None, "")]

    def secret_values(self) -> list[str]:
        out: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out.append(value.get_secret_value())
        return out

    def api_base_url(self) -> str:
        raise NotImplementedError

    def as_env(self, base_url: str) -> dict[str, str]:
        """These settings as environment variables, pointed at `base_url` (for the loopback sandbox)."""

        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or name == "base_url":
                continue
            env[self.env_name(name)] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        env[self.env_name("base_url")] = base_url
        return env

    def validate_live(self) -> list[str]:
        """Problems that stop a live (credentialed) configuration from working, one sentence each."""

        return []


class VendorAdapter:
    """Base adapter; the default for every operation is 'not implemented here'."""

    settings_class: ClassVar[type[VendorSettings]]

    def __init__(
        self, *, manifest: VendorManifest, http: VendorHttp, settings: VendorSettings, app: TaskLinkSettings
    ) -> None:
        self.manifest = manifest
        self.http = http
        self.settings = settings
        self.app = app

    # -- construction hooks --------------------------------------------------------------

    @classmethod
    def sandbox_settings(cls, app: TaskLinkSettings) -> VendorSettings:
        """Settings that reach the embedded simulator with its test credentials."""

        raise NotImplementedError

    @classmethod
    def client_headers(cls, settings: VendorSettings) -> dict[str, str]:
        """Headers sent on every request (auth, version)."""

        return {}

    @classmethod
    def client_auth(cls, settings: VendorSettings) -> httpx2.Auth | None:
        return None

    @staticmethod
    def parse_error(response: httpx2.Response) -> ErrorDetail:
        return generic_error_detail(response)

    # -- normalized operations -----------------------------------------------------------

    def _unimplemented(self, operation: str) -> InvalidInput:
        return InvalidInput(f"{self.manifest.title} has no implementation of `{operation}` yet")

    async def create_task(self, req: CreateTaskRequest) -> Task:
        raise self._unimplemented("create_task")

    async def get_task(self, task_id: str) -> Task:
        raise self._unimplemented("get_task")

    async def list_tasks(self, req: ListTasksRequest) -> TaskPage:
        raise self._unimplemented("list_tasks")

    async def update_task(self, req: UpdateTaskRequest) -> Task:
        raise self._unimplemented("update_task")

    async def delete_task(self, task_id: str) -> None:
        raise self._unimplemented("delete_task")

    async def find_people(self, query: str, limit: int) -> list[Person]:
        raise self._unimplemented("find_people")

    # -- helpers shared by adapters ------------------------------------------------------

    def vendor_status(self, normalized: str, *, field: str = "status") -> str:
        """Map a normalized status (or the vendor's own value) to the vendor's value."""

        statuses = self.manifest.statuses
        if normalized in statuses:
            return statuses[normalized]
        if normalized in statuses.values():
            return normalized
        allowed = [f"{k} ({v})" for k, v in statuses.items()]
        raise InvalidInput(f"{self.manifest.title} cannot express status {normalized!r}", field=field, allowed=allowed)

    def normalized_status(self, vendor_value: str | None) -> str | None:
        if vendor_value is None:
            return None
        for normalized, value in self.manifest.statuses.items():
            if value == vendor_value:
                return normalized
        return None


def encode_cursor(vendor: str, state: dict[str, Any]) -> str:
    """An opaque list cursor: the vendor's paging state, tagged with the vendor."""

    raw = json.dumps({"v": vendor, "s": state}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, vendor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        state = data["s"]
        owner = data["v"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            "cursor is not one tasklink returned", field="cursor", hint="pass next_cursor exactly as returned"
        ) from exc
    if owner != vendor or not isinstance(state, dict):
        raise InvalidInput(f"cursor belongs to {owner!r}, not {vendor!r}", field="cursor")
    return state


def reject_unknown_vendor_fields(vendor_fields: dict[str, Any], allowed: tuple[str, ...], title: str) -> None:
    unknown = sorted(set(vendor_fields) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{title} does not take vendor_fields {unknown}",
            field=f"vendor_fields.{unknown[0]}",
            allowed=list(allowed) or ["(none)"],
        )
