"""Dry runs: execute everything up to the first vendor write, capture that write, send nothing.

Reads still go out (a dry run of `add` assignees must read the current list to show the exact
PATCH body), so a dry run is validated against live data; the first write request is captured
with credentials redacted and the operation stops there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, Field


class DryRunReport(BaseModel):
    """The request a real call would send, and the guardrails' verdict."""

    method: str
    url: str = Field(description="Full URL with query string.")
    body: dict[str, Any] | list[dict[str, Any]] | None = Field(None, description="JSON (or form) body.")
    headers: dict[str, str] = Field(default_factory=dict, description="Credentials redacted.")
    verdict: str = Field("allowed", description="Guardrails' verdict; nothing was sent.")


class DryRunStop(Exception):
    """Raised at the first write of a dry run; carries what would have been sent."""

    def __init__(self, report: DryRunReport) -> None:
        super().__init__(f"dry run stopped before {report.method} {report.url}")
        self.report = report


_active: ContextVar[bool] = ContextVar("tasklink_dry_run", default=False)


def dry_run_active() -> bool:
    return _active.get()


@contextmanager
def dry_run() -> Iterator[None]:
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)
