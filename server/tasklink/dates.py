"""Date words a person (and so a model) uses for due dates: today, tomorrow, a weekday, next week,
in N days / weeks. Each resolves to a calendar day in TASKLINK_TIMEZONE, which the result then shows.

- a weekday name is the next such day after today ("friday" on a Friday is a week later);
- "next week" is the coming Monday;
- "this <weekday>" and "next <weekday>" are read the same as the weekday alone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WORDS_HELP = "today, tomorrow, a weekday (the next one), next week (the coming Monday), in N days, in N weeks"
_IN = re.compile(r"in\s+(\d{1,3})\s+(day|days|week|weeks)")


def resolve_words(text: str, today: date) -> date | None:
    """The day `text` names relative to `today`, or None when it is not a date word."""

    words = " ".join(text.casefold().replace(",", " ").split())
    if words in ("today", "now", "end of day", "eod"):
        return today
    if words == "tomorrow":
        return today + timedelta(days=1)
    if words == "next week":
        return today + timedelta(days=7 - today.weekday())
    for prefix in ("this ", "next ", "on "):
        if words.startswith(prefix) and words[len(prefix) :] in WEEKDAYS:
            words = words[len(prefix) :]
    if words in WEEKDAYS:
        ahead = (WEEKDAYS.index(words) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    found = _IN.fullmatch(words)
    if found:
        count = int(found.group(1))
        return today + timedelta(days=count * (7 if found.group(2).startswith("week") else 1))
    return None


def today_in_words(today: date, tz: str) -> str:
    return f"today is {WEEKDAYS[today.weekday()].capitalize()} {today.isoformat()} ({tz})"
