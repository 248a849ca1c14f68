"""Assignees by name or email: resolved to the vendor's ids with `find_people`, or refused.

A write tool's assignee may be the vendor's id, an email, or a name (prefix). A value that does
not look like an id of that vendor (`[people] id_pattern` in its manifest) is looked up:

- exactly one active person matches → that person's id is sent, and the result's `resolved`
  list says who it was;
- several active people match, but exactly one has that full name or email → that one;
- otherwise (nobody, only inactive people, or several) → `InvalidInput` naming the field and
  listing the candidates; nothing is written.

Resolution is a vendor read, so it also happens in a dry run (the dry run's verdict says so); a
vendor that cannot list people (Trackops) refuses names with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from .errors import InvalidInput, UnresolvedPerson
from .manifests import VendorManifest
from .models import AssigneeRef, IntakeAssigneeInput, Person, ResolvedPerson

#: how many matches one lookup asks for; more than one is ambiguous anyway
LOOKUP_LIMIT = 10
#: how many candidates an error lists
SHOWN = 8

Lookup = Callable[[str], Awaitable[list[Person]]]


def looks_like_id(manifest: VendorManifest, value: str) -> bool:
    """True when `value` has the shape of the vendor's person ids (no lookup needed)."""

    return manifest.people.looks_like_id(value)


def describe(person: Person) -> str:
    details = [d for d in (person.name, person.email, person.title) if d]
    if not person.active:
        details.append("inactive")
    return f"{person.id} ({', '.join(details)})" if details else person.id


class PeopleResolver:
    """Resolves the assignees of one write; each distinct value is looked up once."""

    def __init__(self, manifest: VendorManifest, lookup: Lookup, *, active_only: bool = True) -> None:
        self.manifest = manifest
        self.lookup = lookup
        self.active_only = active_only
        self.resolved: list[ResolvedPerson] = []
        self._cache: dict[str, Person] = {}

    async def user_id(self, value: str, field: str) -> str:
        """The id to send for `value` (unchanged when it already is an id)."""

        if looks_like_id(self.manifest, value):
            return value
        given = value.strip()
        key = given.casefold()
        if key not in self._cache:
            self._cache[key] = await self._resolve(given, field)
            person = self._cache[key]
            self.resolved.append(ResolvedPerson(given=given, id=person.id, name=person.name, email=person.email))
        return self._cache[key].id

    async def _resolve(self, given: str, field: str) -> Person:
        title = self.manifest.title
        example = self.manifest.people.id_example or ""
        shape = f"{title} person ids look like {example!r}" if example else f"it is not a {title} person id"
        op = self.manifest.operation("find_people")
        if not op.supported:
            raise InvalidInput(
                f"{given!r} is not a {title} person id ({shape}), and tasklink cannot look people up by name or "
                f"email in {title}: {op.reason}",
                field=field,
                hint=f"Pass the person's id instead; {op.alternative}" if op.alternative else "Pass the person's id",
            )
        people = await self.lookup(given)
        eligible = [p for p in people if p.active or not self.active_only]
        exact = [p for p in eligible if _exactly(p, given)]
        if len(eligible) == 1:
            return eligible[0]
        if len(exact) == 1:
            return exact[0]
        what = "email" if "@" in given else "name"
        if not people:
            raise UnresolvedPerson(
                f"no {title} person has the {what} {given!r}"
                if what == "email"
                else f"no {title} person's name starts with {given!r}",
                field=field,
                hint=f"Check the spelling, or search with find_people(vendor={self.manifest.name!r}, query=...); "
                f"{shape}",
            )
        candidates = [describe(p) for p in people[:SHOWN]]
        if not eligible:
            raise UnresolvedPerson(
                f"{given!r} matches only inactive {title} people, who cannot be assigned",
                field=field,
                hint="Candidates: " + "; ".join(candidates) + ". Ask the user whom to assign instead",
            )
        raise UnresolvedPerson(
            f"{given!r} matches {len(eligible)} {title} people; tasklink will not guess",
            field=field,
            hint="Candidates: "
            + "; ".join(candidates)
            + ". Ask the user which one they mean, then pass that person's id (or full email)",
        )

    async def refs(self, refs: Sequence[AssigneeRef], field: str = "assignees") -> list[AssigneeRef]:
        out = []
        for n, ref in enumerate(refs):
            if ref.user_id is not None:
                ref = ref.model_copy(update={"user_id": await self.user_id(ref.user_id, f"{field}[{n}]")})
            out.append(ref)
        return out

    async def participants(
        self, rows: Sequence[IntakeAssigneeInput], field: str = "assignees"
    ) -> list[IntakeAssigneeInput]:
        return [
            row.model_copy(update={"user_id": await self.user_id(row.user_id, f"{field}[{n}].user_id")})
            for n, row in enumerate(rows)
        ]

    def note(self) -> str:
        """For a dry run's verdict: what was looked up (a read that went out)."""

        if not self.resolved:
            return ""
        names = ", ".join(f"{r.given!r} → {r.id}" + (f" ({r.name})" if r.name else "") for r in self.resolved)
        return f"assignees resolved with a find_people read (the only request sent): {names}"


def _exactly(person: Person, given: str) -> bool:
    wanted = " ".join(given.casefold().split())
    return wanted in {" ".join((person.name or "").casefold().split()), (person.email or "").casefold()}
