"""Reporting periods for `/cost`: from the words people type to Cost Explorer's day ranges.

Every period is a half-open range of days `[start, end_exclusive)`, exactly what Cost
Explorer's `TimePeriod` expects (its End is exclusive and its days are UTC days). "Today"
is given by the caller, already read in PENNY_TIMEZONE, so this module has no clock.
Periods that include today include today's (partial) costs; comparisons cover the same
number of days of the previous period, so month-to-date is compared with the same days
of last month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

DAILY = "DAILY"
MONTHLY = "MONTHLY"

# The words accepted as a whole period, in the order the help text lists them.
PERIOD_WORDS = (
    "today",
    "yesterday",
    "this-week",
    "last-week",
    "this-month",
    "last-month",
    "last-7-days",
    "7d",
    "30d",
    "90d",
    "ytd",
)
DEFAULT_PERIOD = "this-month"

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_ROLLING = {"last-7-days": 7, "7d": 7, "30d": 30, "90d": 90}


class PeriodError(ValueError):
    """A period word that names no valid or no past range of days (bad date, future, reversed)."""


@dataclass(frozen=True)
class Period:
    """A range of whole days `[start, end_exclusive)` with a human label.

    A comparison period's label reads after "vs" (`same days last month`, `September 2026`).

    `granularity` is a hint for charts and daily breakdowns: DAILY up to a month, MONTHLY
    beyond. `kind` is the word that produced it (`this-month`, `month`, `range`...), which
    decides how the comparison period is chosen.
    """

    start: date
    end_exclusive: date
    label: str
    granularity: str
    kind: str

    @property
    def end_inclusive(self) -> date:
        """The last day included."""
        return self.end_exclusive - timedelta(days=1)

    @property
    def days(self) -> int:
        """How many days the period covers."""
        return (self.end_exclusive - self.start).days

    def includes(self, day: date) -> bool:
        """True when `day` falls inside the period."""
        return self.start <= day < self.end_exclusive

    def date_range_text(self) -> str:
        """`2026-10-01 – 2026-10-15` (inclusive, as people read it), or one date for one day."""
        if self.days == 1:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end_inclusive.isoformat()}"


def first_of_month(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the last day of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return (following - date(year, month, 1)).days


def _monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _granularity_for(start: date, end_exclusive: date) -> str:
    return DAILY if (end_exclusive - start).days <= 31 else MONTHLY


def _make(start: date, end_exclusive: date, label: str, kind: str) -> Period:
    return Period(start, end_exclusive, label, _granularity_for(start, end_exclusive), kind)


def is_period_word(word: str) -> bool:
    """True when `word` has the shape of a period (a known word, `YYYY-MM` or `A..B`)."""
    word = word.lower()
    return word in PERIOD_WORDS or bool(_MONTH.match(word) or _RANGE.match(word))


def parse_period(word: str, today: date) -> Period:
    """The period named by `word`, relative to `today` (a date in PENNY_TIMEZONE).

    Accepts the words in PERIOD_WORDS, a month `2026-10` and an inclusive range
    `2026-10-01..2026-10-15`. Raises PeriodError for an unknown word, an impossible date,
    a reversed range or a period that starts after today; a month or range reaching past
    today is cut at today (costs of the future do not exist yet).
    """
    word = word.strip().lower()
    tomorrow = today + timedelta(days=1)
    if word == "today":
        return _make(today, tomorrow, "Today", "today")
    if word == "yesterday":
        return _make(today - timedelta(days=1), today, "Yesterday", "yesterday")
    if word == "this-week":
        return _make(_monday_of(today), tomorrow, "This week to date", "this-week")
    if word == "last-week":
        monday = _monday_of(today)
        return _make(monday - timedelta(days=7), monday, "Last week", "last-week")
    if word == "this-month":
        return _make(first_of_month(today), tomorrow, "This month to date", "this-month")
    if word == "last-month":
        start = add_months(first_of_month(today), -1)
        return _make(start, first_of_month(today), f"Last month ({start:%B %Y})", "last-month")
    if word in _ROLLING:
        days = _ROLLING[word]
        # Whole days only: today is still being billed and would skew the comparison.
        return _make(today - timedelta(days=days), today, f"Last {days} days", "rolling")
    if word == "ytd":
        return _make(date(today.year, 1, 1), tomorrow, f"Year to date ({today.year})", "ytd")
    month = _MONTH.match(word)
    if month:
        return _parse_month(int(month.group(1)), int(month.group(2)), word, today)
    span = _RANGE.match(word)
    if span:
        return _parse_range(span.group(1), span.group(2), today)
    raise PeriodError(
        f"`{word}` is not a period. Try `this-month`, `last-month`, `2026-10` or `2026-10-01..2026-10-15`."
    )


def _parse_month(year: int, month: int, word: str, today: date) -> Period:
    if not 1 <= month <= 12:
        raise PeriodError(f"`{word}` is not a month: the month must be 01 to 12.")
    start = date(year, month, 1)
    if start > today:
        raise PeriodError(f"`{word}` is in the future: there are no costs for it yet.")
    end = add_months(start, 1)
    if end > today:
        return _make(start, today + timedelta(days=1), f"{start:%B %Y} to date", "month")
    return _make(start, end, f"{start:%B %Y}", "month")


def _parse_range(first_text: str, last_text: str, today: date) -> Period:
    first = _parse_day(first_text)
    last = _parse_day(last_text)
    if last < first:
        raise PeriodError(
            f"`{first_text}..{last_text}` ends before it starts: put the earlier date first."
        )
    if first > today:
        raise PeriodError(
            f"`{first_text}..{last_text}` is in the future: there are no costs for it yet."
        )
    last = min(last, today)
    return _make(
        first, last + timedelta(days=1), f"{first.isoformat()} to {last.isoformat()}", "range"
    )


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"`{text}` is not a valid date: use YYYY-MM-DD, e.g. 2026-10-01."
        ) from None


def comparison_period(period: Period) -> Period:
    """The period to compare `period` with: the same number of days just before it.

    Calendar periods compare with the previous calendar period, cut to the same number of
    days (month-to-date with the same days of last month, a week with the week before,
    year-to-date with the same days of last year). Rolling periods and ranges compare with
    the equally long range that ends where they start.
    """
    if period.kind in ("this-month", "last-month", "month"):
        start = add_months(period.start, -1)
        whole_month = period.end_exclusive == add_months(period.start, 1)
        same_days = min(start + timedelta(days=period.days), first_of_month(period.start))
        end = first_of_month(period.start) if whole_month else same_days
        return _make(start, end, _month_comparison_label(period, start, end), "comparison")
    if period.kind == "ytd":
        start = date(period.start.year - 1, 1, 1)
        end = add_months(period.end_exclusive, -12)
        return _make(start, end, "same days last year", "comparison")
    if period.kind == "this-week":
        start = period.start - timedelta(days=7)  # same weekdays, Monday to today's weekday
        return _make(
            start, start + timedelta(days=period.days), _shifted_label(period), "comparison"
        )
    start = period.start - timedelta(days=period.days)
    return _make(start, period.start, _shifted_label(period), "comparison")


def _month_comparison_label(period: Period, start: date, end: date) -> str:
    if end == add_months(start, 1):
        return f"{start:%B %Y}"
    return "same days last month"


def _shifted_label(period: Period) -> str:
    labels = {
        "today": "yesterday",
        "yesterday": "the day before",
        "this-week": "same days last week",
        "last-week": "the week before",
    }
    return labels.get(period.kind, f"the previous {period.days} days")
