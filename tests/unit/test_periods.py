"""Periods: every word of the grammar, their comparison periods, and the bad ones."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.periods import (
    DAILY,
    MONTHLY,
    PeriodError,
    add_months,
    comparison_period,
    is_period_word,
    parse_period,
)

TODAY = date(2026, 10, 15)  # a Thursday


def days(word: str, today: date = TODAY) -> tuple[str, str]:
    period = parse_period(word, today)
    return period.start.isoformat(), period.end_exclusive.isoformat()


def compared(word: str, today: date = TODAY) -> tuple[str, str, str]:
    period = comparison_period(parse_period(word, today))
    return period.start.isoformat(), period.end_exclusive.isoformat(), period.label


@pytest.mark.parametrize(
    ("word", "start", "end_exclusive"),
    [
        ("today", "2026-10-15", "2026-10-16"),
        ("yesterday", "2026-10-14", "2026-10-15"),
        ("this-week", "2026-10-12", "2026-10-16"),
        ("last-week", "2026-10-05", "2026-10-12"),
        ("this-month", "2026-10-01", "2026-10-16"),
        ("last-month", "2026-09-01", "2026-10-01"),
        ("last-7-days", "2026-10-08", "2026-10-15"),
        ("7d", "2026-10-08", "2026-10-15"),
        ("30d", "2026-09-15", "2026-10-15"),
        ("90d", "2026-07-17", "2026-10-15"),
        ("ytd", "2026-01-01", "2026-10-16"),
        ("2026-09", "2026-09-01", "2026-10-01"),
        ("2026-10", "2026-10-01", "2026-10-16"),
        ("2026-10-01..2026-10-03", "2026-10-01", "2026-10-04"),
        ("2026-10-01..2026-10-01", "2026-10-01", "2026-10-02"),
        ("2026-10-10..2026-12-31", "2026-10-10", "2026-10-16"),
        ("THIS-MONTH", "2026-10-01", "2026-10-16"),
    ],
)
def test_each_period_word_gives_its_days(word: str, start: str, end_exclusive: str) -> None:
    assert days(word) == (start, end_exclusive)


@pytest.mark.parametrize(
    ("word", "start", "end_exclusive", "label"),
    [
        ("today", "2026-10-14", "2026-10-15", "yesterday"),
        ("yesterday", "2026-10-13", "2026-10-14", "the day before"),
        ("this-week", "2026-10-05", "2026-10-09", "same days last week"),
        ("last-week", "2026-09-28", "2026-10-05", "the week before"),
        ("this-month", "2026-09-01", "2026-09-16", "same days last month"),
        ("last-month", "2026-08-01", "2026-09-01", "August 2026"),
        ("7d", "2026-10-01", "2026-10-08", "the previous 7 days"),
        ("30d", "2026-08-16", "2026-09-15", "the previous 30 days"),
        ("ytd", "2025-01-01", "2025-10-16", "same days last year"),
        ("2026-10-01..2026-10-03", "2026-09-28", "2026-10-01", "the previous 3 days"),
    ],
)
def test_comparison_covers_the_same_days_of_the_previous_period(
    word: str, start: str, end_exclusive: str, label: str
) -> None:
    assert compared(word) == (start, end_exclusive, label)


def test_a_whole_month_compares_with_the_whole_previous_month() -> None:
    # April has 30 days, March 31: all of March, not its first 30 days.
    assert compared("2026-04", date(2026, 6, 1))[:2] == ("2026-03-01", "2026-04-01")
    # March has 31 days, February 28: all of February, not into March.
    assert compared("2026-03", date(2026, 6, 1))[:2] == ("2026-02-01", "2026-03-01")


def test_month_to_date_at_the_end_of_a_long_month_stops_at_the_short_month_end() -> None:
    assert compared("this-month", date(2026, 3, 30))[:2] == ("2026-02-01", "2026-03-01")


def test_on_the_last_day_of_a_month_this_month_is_the_whole_month() -> None:
    assert days("this-month", date(2026, 10, 31)) == ("2026-10-01", "2026-11-01")
    assert compared("this-month", date(2026, 10, 31))[:2] == ("2026-09-01", "2026-10-01")


def test_weeks_start_on_monday() -> None:
    monday = date(2026, 10, 12)
    assert days("this-week", monday) == ("2026-10-12", "2026-10-13")
    assert days("last-week", monday) == ("2026-10-05", "2026-10-12")
    sunday = date(2026, 10, 18)
    assert days("this-week", sunday) == ("2026-10-12", "2026-10-19")


def test_periods_across_the_new_year() -> None:
    january = date(2027, 1, 3)
    assert days("last-month", january) == ("2026-12-01", "2027-01-01")
    assert days("ytd", january) == ("2027-01-01", "2027-01-04")
    assert compared("this-month", january)[:2] == ("2026-12-01", "2026-12-04")


def test_year_to_date_on_a_leap_day_compares_with_the_end_of_february() -> None:
    assert compared("ytd", date(2028, 2, 29))[:2] == ("2027-01-01", "2027-03-01")


def test_granularity_hint_is_daily_up_to_a_month() -> None:
    assert parse_period("30d", TODAY).granularity == DAILY
    assert parse_period("90d", TODAY).granularity == MONTHLY
    assert parse_period("ytd", TODAY).granularity == MONTHLY


def test_labels_and_date_text() -> None:
    assert parse_period("last-month", TODAY).label == "Last month (September 2026)"
    assert parse_period("2026-10", TODAY).label == "October 2026 to date"
    assert parse_period("this-month", TODAY).date_range_text() == "2026-10-01 – 2026-10-15"
    assert parse_period("today", TODAY).date_range_text() == "2026-10-15"


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("2026-13", "01 to 12"),
        ("2026-00", "01 to 12"),
        ("2026-11", "future"),
        ("2026-10-16..2026-10-20", "future"),
        ("2026-10-10..2026-10-01", "ends before it starts"),
        ("2026-02-30..2026-03-01", "not a valid date"),
        ("fortnight", "not a period"),
    ],
)
def test_bad_periods_raise_a_helpful_error(word: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(word, TODAY)


def test_period_word_shapes() -> None:
    assert (
        is_period_word("7d")
        and is_period_word("2026-10")
        and is_period_word("2026-10-01..2026-10-02")
    )
    assert not is_period_word("by") and not is_period_word("2026-10-01")


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 31), -13) == date(2025, 2, 28)
