"""A task create's duplicate check against the vendor's list: the recent open tasks with the same title
(and first assignee) refuse the create."""

from __future__ import annotations

from ..errors import PossibleDuplicate, TaskLinkError
from ..models import CreateTaskRequest, ListTasksRequest, TaskPage
from .core import Bound, Core, same_title


def could_not_check(exc: TaskLinkError, dry_run: bool) -> str:
    """What a create says when the vendor's list, the duplicate check's read, failed."""

    then = "the real call tries again" if dry_run else "created anyway"
    return f"The duplicate check could not run ({exc.message}); {then}."


def assignee_filter(bound: Bound, req: CreateTaskRequest) -> str | None:
    """The first assignee, when the vendor's list can filter by it (the duplicate check narrows to it)."""

    listing = bound.manifest.operation("list_tasks")
    if listing.accepts is not None and not any(a.field == "assignee" for a in listing.accepts):
        return None
    return next((a.user_id for a in req.assignees if a.user_id), None)


def lookup_precedes_list(bound: Bound, req: CreateTaskRequest) -> bool:
    """Whether the duplicate check's list would wait for a name lookup (it filters by the resolved id)."""

    first = assignee_filter(bound, req)
    looks_up = bound.manifest.operation("find_people").supported  # else the name is refused, nothing read
    return looks_up and first is not None and not bound.manifest.people.looks_like_id(first)


async def title_matches(bound: Bound, req: CreateTaskRequest, assignee: str | None) -> TaskPage | TaskLinkError:
    query = ListTasksRequest(vendor=req.vendor, text=req.title, assignee=assignee, limit=25)
    try:
        return await bound.adapter.list_title_matches(query)
    except TaskLinkError as exc:
        return exc


async def refuse_duplicate(
    core: Core, bound: Bound, req: CreateTaskRequest, *, dry_run: bool, early: TaskPage | TaskLinkError | None
) -> list[str]:
    """Refuse when the vendor already has a recent open task with this title (and assignee); the warning
    when the check could not run. `early`: the title's list, read beside the assignee's lookup (the
    assignee is then matched here)."""

    assignee = assignee_filter(bound, req)
    page = early if early is not None else await title_matches(bound, req, assignee)
    if isinstance(page, TaskLinkError):
        return [could_not_check(page, dry_run)]
    same = [
        t
        for t in page.tasks
        if same_title(t.title, req.title)
        and (assignee is None or early is None or assignee in t.assignees)
        and t.status not in ("done", "cancelled")
        and core.recent(t.created_at)
    ]
    if same:
        listed = "; ".join(f"task {t.id} '{t.title}'" + (f" <{t.url}>" if t.url else "") for t in same[:5])
        raise PossibleDuplicate(f"An open {bound.title} task with this title already exists: {listed}")
    return []
