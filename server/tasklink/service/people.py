"""People: `find_people`, and the resolver that turns a write's assignee names or emails into ids."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from pydantic import BaseModel, Field

from ..errors import TaskLinkError
from ..models import Person
from ..people import LOOKUP_LIMIT, DirectoryCache, PeopleResolver, refused_assignee
from ..principals import acting
from .core import Core, OnRead

T = TypeVar("T")

HOW_TO_ASSIGN = (
    "Pass a person's `id` as the assignee: create_task/update_task assignees=[id]; create_intake/"
    'update_intake_assignees assignees=[{"user_id": id}]. A name or email works too when it matches exactly one '
    "active person; inactive people cannot be assigned."
)


class FoundPeople(BaseModel):
    vendor: str
    query: str
    people: list[Person] = Field(description="Candidates: id (the value to assign), name, email, title, active.")
    how_to_assign: str = Field(HOW_TO_ASSIGN, description="Where each person's id goes in the write tools.")
    warnings: list[str] = Field(default_factory=list)


class People:
    def __init__(self, core: Core) -> None:
        self.core = core
        #: each vendor's recent answers (people.PEOPLE_TTL_SECONDS), shared by find_people and assignee names
        self.directory = DirectoryCache()

    async def find(self, vendor: str, query: str, limit: int = 10, *, on_page: OnRead | None = None) -> FoundPeople:
        bound = await self.core.checkpoint(vendor, "find_people", on_read=on_page)
        people = self.directory.get(vendor, query, limit)
        if people is None:
            people = await bound.adapter.find_people(query, limit)
            self.directory.put(vendor, query, limit, people)
        return FoundPeople(vendor=vendor, query=query, people=people, warnings=bound.warnings)

    async def assigning(self, vendor: str, write: Awaitable[T]) -> T:
        """`write`, which sets assignees: when the vendor refuses one, its recent directory answers may be out
        of date, so they are dropped (the next lookup asks the vendor)."""

        try:
            return await write
        except TaskLinkError as exc:
            if refused_assignee(exc):
                self.directory.forget(vendor)
            raise

    def resolver(self, vendor: str, *, active_only: bool = True) -> PeopleResolver:
        """Turns the assignees of one write given by name or email into ids (see people.py)."""

        async def lookup(query: str) -> list[Person]:
            return (await self.find(vendor, query, LOOKUP_LIMIT)).people

        return PeopleResolver(
            self.core.vendors.runtime(vendor).manifest, lookup, active_only=active_only, me=self.me(vendor)
        )

    def me(self, vendor: str) -> str | None:
        """Who `me` is at `vendor`: the acting principal's email; for the local user, the person the vendor's
        credentials belong to where the configuration says (e.g. SpotDraft's user-email)."""

        principal = acting()
        if principal.email:
            return principal.email
        if not principal.local:
            return None
        acting_as = getattr(self.core.vendors.runtime(vendor).settings, "user_email", None)
        return acting_as if isinstance(acting_as, str) and acting_as else None
