"""Assignees by name or email: resolved to the vendor's ids with `find_people`, or refused.

A write tool's assignee may be the vendor's id, an email, or a name (prefix). A value that does
not look like an id of that vendor (`[people] id_pattern` in its manifest) is looked up:

- exactly one active person matches → that person's id is sent, and the result's `resolved`
  list says who it was;
- several active people match, but exactly one has that full name or email → that one;
- otherwise (nobody, only inactive people, or several) → `InvalidInput` naming the field and
  listing the candidates; nothing is written.

Resolution is a vendor read, so it also happens in a dry run (the dry run's verdict says so); a
vendor that cannot list people (Trackops) refuses names with the reason. The distinct names of
one write are looked up at the same time, and each vendor's answers are reused for a short while
(`DirectoryCache`), so the real call after its dry run does not look the same people up again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio

from .errors import InvalidInput, NotFound, UnresolvedPerson, VendorRejected
from .manifests import VendorManifest
from .models import AssigneeRef, IntakeAssigneeInput, Person, ResolvedPerson

#: how many matches one lookup asks for; more than one is ambiguous anyway
LOOKUP_LIMIT = 10
#: how many candidates an error lists
SHOWN = 8
#: how many lookups of one write run at the same time
LOOKUPS_AT_ONCE = 4
#: how long a vendor's find_people answer is reused (seconds). A directory rarely changes within a minute;
#: an empty answer is never kept (someone just added is found at once), and a write the vendor refuses
#: for its assignees drops that vendor's answers (`DirectoryCache.forget`).
PEOPLE_TTL_SECONDS = 60.0

Lookup = Callable[[str], Awaitable[list[Person]]]


@dataclass(frozen=True)
class _Kept:
    people: tuple[Person, ...]
    until: float


class DirectoryCache:
    """Recent find_people answers per vendor and query, for PEOPLE_TTL_SECONDS."""

    def __init__(self, ttl: float = PEOPLE_TTL_SECONDS, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._kept: dict[tuple[str, str, int], _Kept] = {}

    @staticmethod
    def _key(vendor: str, query: str, limit: int) -> tuple[str, str, int]:
        return vendor, " ".join(query.casefold().split()), limit

    def get(self, vendor: str, query: str, limit: int) -> list[Person] | None:
        kept = self._kept.get(self._key(vendor, query, limit))
        if kept is None or kept.until <= self.clock():
            return None
        return [p.model_copy() for p in kept.people]

    def put(self, vendor: str, query: str, limit: int, people: list[Person]) -> None:
        now = self.clock()
        self._kept = {k: v for k, v in self._kept.items() if v.until > now}  # nothing outlives its TTL
        if people:
            self._kept[self._key(vendor, query, limit)] = _Kept(tuple(p.model_copy() for p in people), now + self.ttl)

    def forget(self, vendor: str) -> None:
        self._kept = {k: v for k, v in self._kept.items() if k[0] != vendor}


def refused_assignee(exc: BaseException) -> bool:
    """The vendor refused a write for one of its assignees (an unknown or deactivated person)."""

    return isinstance(exc, VendorRejected | NotFound) and (exc.field or "").startswith("assignees")


#: the words that mean the caller
ME = ("me", "myself", "mine")


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

    def __init__(
        self, manifest: VendorManifest, lookup: Lookup, *, active_only: bool = True, me: str | None = None
    ) -> None:
        self.manifest = manifest
        self.lookup = lookup
        self.active_only = active_only
        #: what `me` stands for: the acting principal's email (or the vendor credential's user); None: unknown
        self.me = me
        self.resolved: list[ResolvedPerson] = []
        self._cache: dict[str, Person] = {}

    async def user_id(self, value: str, field: str) -> str:
        """The id to send for `value` (unchanged when it already is an id)."""

        return (await self.user_ids([(value, field)]))[0]

    async def user_ids(self, wanted: Sequence[tuple[str, str]]) -> list[str]:
        """The ids to send for several (value, field) pairs. Every distinct name or email is looked up at the
        same time (at most LOOKUPS_AT_ONCE at once); a failure is the first one in argument order."""

        wanted = [(self._myself(value, field), field) for value, field in wanted]
        pending: dict[str, tuple[str, str]] = {}
        for value, field in wanted:
            if not looks_like_id(self.manifest, value):
                given = value.strip()
                if given.casefold() not in self._cache:
                    pending.setdefault(given.casefold(), (given, field))
        outcomes: dict[str, Person | Exception] = {}
        limiter = anyio.CapacityLimiter(LOOKUPS_AT_ONCE)

        async def resolve(key: str, given: str, field: str) -> None:
            async with limiter:
                try:
                    outcomes[key] = await self._resolve(given, field)
                except Exception as exc:  # raised below, in argument order
                    outcomes[key] = exc

        if len(pending) == 1:
            await resolve(next(iter(pending)), *next(iter(pending.values())))
        elif pending:
            async with anyio.create_task_group() as group:
                for key, (given, field) in pending.items():
                    group.start_soon(resolve, key, given, field)
        ids: list[str] = []
        for value, _ in wanted:
            if looks_like_id(self.manifest, value):
                ids.append(value)
                continue
            given = value.strip()
            key = given.casefold()
            if key not in self._cache:
                outcome = outcomes[key]
                if isinstance(outcome, Exception):
                    raise outcome
                self._cache[key] = outcome
                self.resolved.append(ResolvedPerson(given=given, id=outcome.id, name=outcome.name, email=outcome.email))
            ids.append(self._cache[key].id)
        return ids

    def _myself(self, value: str, field: str) -> str:
        if value.strip().casefold() not in ME:
            return value
        if self.me:
            return self.me
        title = self.manifest.title
        raise InvalidInput(
            f"`me` cannot be resolved: tasklink does not know who you are at {title} (no email for you, and "
            f"{title}'s credentials do not say whose they are)",
            field=field,
            hint="pass the person's name, email or id (find_people looks them up)",
        )

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
        given = [(ref.user_id, f"{field}[{n}]") for n, ref in enumerate(refs) if ref.user_id is not None]
        ids = iter(await self.user_ids(given))
        return [ref if ref.user_id is None else ref.model_copy(update={"user_id": next(ids)}) for ref in refs]

    async def participants(
        self, rows: Sequence[IntakeAssigneeInput], field: str = "assignees"
    ) -> list[IntakeAssigneeInput]:
        ids = await self.user_ids([(row.user_id, f"{field}[{n}].user_id") for n, row in enumerate(rows)])
        return [row.model_copy(update={"user_id": user_id}) for row, user_id in zip(rows, ids, strict=True)]

    def note(self) -> str:
        """For a dry run's verdict: who was looked up (a read, reused for PEOPLE_TTL_SECONDS)."""

        if not self.resolved:
            return ""
        names = ", ".join(f"{r.given!r} → {r.id}" + (f" ({r.name})" if r.name else "") for r in self.resolved)
        return f"assignees resolved with a find_people read (reused for {PEOPLE_TTL_SECONDS:g} s): {names}"


def _exactly(person: Person, given: str) -> bool:
    wanted = " ".join(given.casefold().split())
    return wanted in {" ".join((person.name or "").casefold().split()), (person.email or "").casefold()}
