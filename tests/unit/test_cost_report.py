"""Cost Explorer responses to report values: totals to the cent, rows, others, forecast, budgets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bot.core.cost_grammar import parse_cost_command
from bot.core.cost_report import (
    budget_statuses,
    build_cost_report,
    build_forecast_report,
    forecast_metric,
    sum_by_group,
    with_month_forecast,
)
from tests.unit import cost_samples as samples
from tests.unit.cost_samples import METRIC, TODAY, response

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
D = Decimal


def report_for(text: str, current: dict[str, Any], previous: dict[str, Any] | None = None):
    return samples.report_for(text, current, previous, now=NOW)


def test_total_is_the_exact_sum_over_groups_and_buckets() -> None:
    current = response({"EC2": "0.005", "S3": "0.0049999"}, {"EC2": "1234.5650000001"})
    report = report_for("90d", current)
    assert report.total == D("1234.5749999001")
    assert [(r.label, r.amount) for r in report.rows] == [
        ("EC2", D("1234.5700000001")),
        ("S3", D("0.0049999")),
    ]


def test_an_ungrouped_response_is_one_total() -> None:
    ungrouped = {
        "ResultsByTime": [
            {
                "Total": {METRIC: {"Amount": "12.34", "Unit": "USD"}},
                "Groups": [],
                "Estimated": False,
            }
        ]
    }
    costs = sum_by_group(ungrouped, METRIC, None)
    assert costs.total == D("12.34")
    assert costs.amounts == {"Total": D("12.34")}


def test_rows_are_sorted_with_their_changes_and_the_rest_is_others() -> None:
    current = response({"A": "10", "B": "30", "C": "20", "D": "5", "E": "1"})
    previous = response({"A": "5", "B": "30", "C": "25", "D": "5", "F": "7"})
    report = report_for("last-month by service top 2", current, previous)

    assert [(r.key, r.amount, r.previous, r.delta) for r in report.rows] == [
        ("B", D(30), D(30), D(0)),
        ("C", D(20), D(25), D(-5)),
    ]
    assert report.others is not None
    assert report.others.label == "Others (3)"
    assert report.others.amount == D(16)
    # Others' previous is what the shown rows leave of the previous total (F is gone now).
    assert report.others.previous == D(72) - D(55)
    assert report.previous_total == D(72)
    assert report.group_count == 5
    assert report.total == report.others.amount + sum(r.amount for r in report.rows)


def test_ties_are_ordered_by_label_and_zero_rows_are_dropped() -> None:
    report = report_for("last-month", response({"b": "5", "a": "5", "z": "0", "y": "0.001"}))
    assert [r.key for r in report.rows] == ["a", "b", "y"]
    assert report.others is None


def test_estimated_and_currency_come_from_aws() -> None:
    report = report_for("this-month", response({"A": "1"}, {"A": "1"}, estimated=True, unit="EUR"))
    assert report.estimated
    assert report.currency == "EUR"
    assert not report_for("last-month", response({"A": "1"})).estimated


def test_no_comparison_without_a_previous_response() -> None:
    report = report_for("last-month", response({"A": "1"}))
    assert report.comparison is None and report.previous_total is None
    assert report.rows[0].previous is None and report.rows[0].delta is None


def test_accounts_are_labelled_with_their_names_and_tags_without_their_key() -> None:
    accounts = response(
        {"111111111111": "5", "222222222222": "3"},
        DimensionValueAttributes=[{"Value": "111111111111", "Attributes": {"description": "prod"}}],
    )
    labels = [r.label for r in report_for("last-month by account", accounts).rows]
    assert labels == ["prod (111111111111)", "222222222222"]
    tags = [
        r.label
        for r in report_for(
            "last-month by tag:team", response({"team$web": "5", "team$": "1"})
        ).rows
    ]
    assert tags == ["web", "(no team tag)"]


def test_as_of_is_when_aws_answered_in_the_callers_time_zone() -> None:
    tz = timezone(timedelta(hours=2))
    current = response({"A": "1"}, PennyFetchedAt="2026-10-15T06:00:00+00:00")
    query = parse_cost_command("last-month", TODAY)
    report = build_cost_report(
        query,
        metric=METRIC,
        current=current,
        comparison=None,
        previous=None,
        now=NOW.astimezone(tz),
    )
    assert report.as_of == datetime(2026, 10, 15, 8, 0, tzinfo=tz)
    assert report_for("last-month", response({"A": "1"})).as_of == NOW


def test_month_forecast_is_actual_plus_the_rest() -> None:
    report = report_for("this-month", response({"A": "100.10"}))
    forecast = {
        "Total": {"Amount": "50.5", "Unit": "USD"},
        "ForecastResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-10-15", "End": "2026-11-01"},
                "MeanValue": "50.5",
                "PredictionIntervalLowerBound": "40",
                "PredictionIntervalUpperBound": "61",
            }
        ],
    }
    with_forecast = with_month_forecast(report, forecast)
    assert with_forecast.forecast is not None
    assert (
        with_forecast.forecast.total,
        with_forecast.forecast.low,
        with_forecast.forecast.high,
    ) == (
        D("150.60"),
        D("140.10"),
        D("161.10"),
    )
    assert with_month_forecast(report, {"ForecastResultsByTime": []}).forecast is None


def test_forecast_report_months_and_interval() -> None:
    points = [
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"},
            "MeanValue": "200",
            "PredictionIntervalLowerBound": "150",
            "PredictionIntervalUpperBound": "250",
        },
        {"TimePeriod": {"Start": "2026-10-15", "End": "2026-11-01"}, "MeanValue": "100"},
    ]
    report = build_forecast_report(
        {"Total": {"Amount": "300", "Unit": "USD"}, "ForecastResultsByTime": points},
        metric=METRIC,
        interval_level=80,
        filters=(),
        now=NOW,
    )
    assert [p.start for p in report.points] == [date(2026, 10, 15), date(2026, 11, 1)]
    assert report.points[0].low is None
    assert report.points[1].high == D(250)
    assert report.total == D(300)


def test_forecast_metric_names() -> None:
    assert forecast_metric("UnblendedCost") == "UNBLENDED_COST"
    assert forecast_metric("NetAmortizedCost") == "NET_AMORTIZED_COST"


def test_budget_statuses() -> None:
    def budget(name: str, limit: str | None, actual: str, forecasted: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"BudgetName": name, "TimeUnit": "MONTHLY", "BudgetType": "COST"}
        if limit is not None:
            item["BudgetLimit"] = {"Amount": limit, "Unit": "USD"}
        spend: dict[str, Any] = {"ActualSpend": {"Amount": actual, "Unit": "USD"}}
        if forecasted is not None:
            spend["ForecastedSpend"] = {"Amount": forecasted, "Unit": "USD"}
        item["CalculatedSpend"] = spend
        return item

    statuses = budget_statuses(
        [
            budget("ok", "1000", "100", "500"),
            budget("risky", "1000", "800", "1200.5"),
            budget("over", "100", "150", None),
            budget("no limit", None, "5", None),
        ]
    )
    assert [(s.name, s.status) for s in statuses] == [
        ("over", "over"),
        ("risky", "at risk"),
        ("ok", "ok"),
        ("no limit", "ok"),
    ]
    assert statuses[0].percent_used == D(150)
    assert statuses[1].forecast_percent == D("120.05")
    assert statuses[3].percent_used is None
