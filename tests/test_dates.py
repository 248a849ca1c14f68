"""Date words are resolved in TASKLINK_TIMEZONE, against the server's clock, and the result says how."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from mcp import Client

from tasklink.dates import resolve_words
from tasklink.errors import InvalidInput
from tasklink.mcp.server import build_server
from tasklink.models import parse_due
from tasklink.service import TaskLink
from tasklink.settings import TaskLinkSettings

from .support import call_ok, text_of

pytestmark = pytest.mark.anyio

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("words", "day"),
    [
        ("today", "2026-11-30"),
        ("Tomorrow", "2026-12-01"),
        ("friday", "2026-12-04"),
        ("Monday", "2026-12-07"),  # the next Monday, not today
        ("next friday", "2026-12-04"),
        ("this Wednesday", "2026-12-02"),
        ("next week", "2026-12-07"),
        ("in 3 days", "2026-12-03"),
        ("in 1 day", "2026-12-01"),
        ("in 2 weeks", "2026-12-14"),
    ],
)
def test_date_words_resolve_against_today(words: str, day: str) -> None:
    assert resolve_words(words, MONDAY) == date.fromisoformat(day)
    due = parse_due(words, tz="Asia/Kolkata", today=MONDAY)
    assert due is not None and due.iso() == f"{day}T17:00:00+05:30"
    assert due.reading() is not None and day in due.reading()  # type: ignore[operator]


@pytest.mark.parametrize("words", ["someday", "next month", "fri", "in a while", "2026-13-01", "31/12/2026"])
def test_anything_else_is_refused_with_today_and_an_example(words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_due(words, tz="Europe/Berlin", today=MONDAY)
    text = str(caught.value)
    assert caught.value.field == "due"
    if words != "2026-13-01":
        assert "today is Monday 2026-11-30 (Europe/Berlin)" in text and "For example 2026-12-03" in text


def server_on(tmp_path: Path, when: datetime, tz: str) -> object:
    settings = TaskLinkSettings(data_dir=tmp_path / "data", sandbox=True, timezone=tz)
    return build_server(settings, service=TaskLink(settings, clock=lambda: when.timestamp()))


async def test_a_task_due_friday_is_due_friday_in_the_servers_zone(tmp_path: Path) -> None:
    # 23:30 UTC on Monday is already Tuesday in Kolkata: "tomorrow" there is Wednesday
    server = server_on(tmp_path, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Asia/Kolkata")
    async with Client(server) as client:  # type: ignore[arg-type]
        task = await call_ok(client, "create_task", {"vendor": "workiva", "title": "Tie out", "due": "tomorrow"})
        assert task["due"].startswith("2026-12-02T11:30:00")  # 17:00 in Kolkata, sent as UTC
        assert any("read as Wednesday 2026-12-02" in w for w in task["warnings"])
        listed = await call_ok(client, "list_tasks", {"vendor": "workiva", "due_after": "today", "limit": 100})
        assert task["id"] in [t["id"] for t in listed["tasks"]]
        now = json.loads((await client.read_resource("tasklink://now")).contents[0].text)  # type: ignore[union-attr]
        assert (now["date"], now["weekday"], now["timezone"]) == ("2026-12-01", "Tuesday", "Asia/Kolkata")
        refused = await client.call_tool("create_task", {"vendor": "workiva", "title": "x", "due": "someday"})
        assert refused.is_error and "today is Tuesday 2026-12-01 (Asia/Kolkata)" in text_of(refused)
