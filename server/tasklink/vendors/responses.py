"""Typed reading of vendor answers: each adapter parses an answer into a model of the vendor's
documented response schema, so a field the vendor does not document cannot be read by accident.

Models are tolerant (extra fields are ignored, as a vendor may add fields) and strict about what
they name. An answer that does not fit is the vendor's failure, reported as such, never a crash.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import OutcomeUnknown, VendorUnavailable

M = TypeVar("M", bound=BaseModel)


class VendorRecord(BaseModel):
    """Base of every response model: undocumented fields are dropped, documented ones are typed."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def read_as(model: type[M], data: Any, *, vendor_title: str, action: str, write: bool = False) -> M:
    """`data` as `model`; a body that does not fit the documented schema is the vendor's failure.

    For a write the vendor accepted, an unreadable answer means the outcome cannot be confirmed.
    """

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        what = f"{vendor_title} answered {action} with a body tasklink cannot read (`{where}`: {first['msg']})"
        if write:
            raise OutcomeUnknown(
                what + ", so what was stored cannot be confirmed",
                how_to_check=f"look the record up in {vendor_title} before writing again",
            ) from None
        raise VendorUnavailable(what) from None
