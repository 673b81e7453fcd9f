"""answer_cost_command end to end in the core, against an in-memory CostSource."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from bot.core.cost_engine import answer_cost_command
from bot.core.errors import CostDataUnavailable, CostExplorerError, CostRequestRejected

TODAY = date(2026, 10, 15)
NOW = datetime(2026, 10, 15, 23, 30, tzinfo=UTC)
METRIC = "UnblendedCost"


class RecordingSource:
    """A CostSource answering from fixed data; records every call; can refuse periods older than `oldest`."""

    def __init__(self, oldest: date = date(2000, 1, 1), forecast_error: Exception | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.oldest = oldest
        self.forecast_error = forecast_error

    def cost_and_usage(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("cost_and_usage", params))
        if params["start"] < self.oldest:
            raise CostRequestRejected(
                "start date is before the data Cost Explorer keeps", "ValidationException"
            )
        group = {
            "Keys": ["Amazon DynamoDB"],
            "Metrics": {params["metric"]: {"Amount": "10", "Unit": "USD"}},
        }
        return {"ResultsByTime": [{"Groups": [group], "Total": {}, "Estimated": False}]}

    def forecast(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("forecast", params))
        if self.forecast_error:
            raise self.forecast_error
        month = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"}, "MeanValue": "42"}
        return {"Total": {"Amount": "42", "Unit": "USD"}, "ForecastResultsByTime": [month]}

    def budgets(self) -> list[dict[str, Any]]:
        self.calls.append(("budgets", {}))
        return []


def answer(text: str, source: RecordingSource, metric: str = METRIC):
    return answer_cost_command(text, source=source, today=TODAY, metric=metric, now=NOW)


def test_a_report_asks_for_the_period_and_its_comparison_with_the_query() -> None:
    source = RecordingSource()
    result = answer("last-month by account service:dynamodb", source, metric="AmortizedCost")

    assert not result.ephemeral
    assert [name for name, _ in source.calls] == ["cost_and_usage", "cost_and_usage"]
    first = source.calls[0][1]
    assert first == {
        "start": date(2026, 9, 1),
        "end": date(2026, 10, 1),
        "granularity": "MONTHLY",
        "metric": "AmortizedCost",
        "group_by": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        "filter": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon DynamoDB"]}},
    }
    assert source.calls[1][1]["start"] == date(2026, 8, 1)
    assert "AmortizedCost" in json.dumps(result.blocks)


def test_this_month_forecast_starts_at_cost_explorers_utc_today() -> None:
    source = RecordingSource()
    # 23:30 UTC on the 15th is already the 16th in Tokyo: the caller's today is the 16th.
    answer_cost_command(
        "this-month", source=source, today=date(2026, 10, 16), metric=METRIC, now=NOW
    )
    forecast = [params for name, params in source.calls if name == "forecast"]
    assert forecast[0]["start"] == date(2026, 10, 16)
    assert forecast[0]["end"] == date(2026, 11, 1)
    # A caller behind UTC: its today is still the 15th while UTC is on the 16th.
    source = RecordingSource()
    answer_cost_command(
        "this-month",
        source=source,
        today=date(2026, 10, 15),
        metric=METRIC,
        now=datetime(2026, 10, 16, 3, tzinfo=UTC),
    )
    assert [p for n, p in source.calls if n == "forecast"][0]["start"] == date(2026, 10, 16)


def test_only_the_current_month_gets_a_month_forecast() -> None:
    for text in ("last-month", "7d", "ytd", "2026-09"):
        source = RecordingSource()
        answer(text, source)
        assert "forecast" not in [name for name, _ in source.calls], text
    source = RecordingSource()
    answer("2026-10", source)
    assert "forecast" in [name for name, _ in source.calls]


def test_a_comparison_older_than_aws_keeps_degrades_to_a_note() -> None:
    source = RecordingSource(oldest=date(2025, 9, 1))
    result = answer("ytd", source)
    text = json.dumps(result.blocks)
    assert not result.ephemeral
    assert "No comparison with 2025-01-01 to 2025-10-15" in text
    assert "vs " not in result.text


def test_forecast_command_covers_the_rest_of_the_month_and_three_more() -> None:
    source = RecordingSource()
    result = answer("forecast", source)
    params = source.calls[0][1]
    assert (params["start"], params["end"], params["granularity"]) == (
        date(2026, 10, 15),
        date(2027, 2, 1),
        "MONTHLY",
    )
    assert result.text.startswith("AWS cost forecast: $42.00")


def test_forecast_command_without_history_is_explained() -> None:
    result = answer(
        "forecast", RecordingSource(forecast_error=CostDataUnavailable("not enough history"))
    )
    assert result.ephemeral
    assert "needs more cost history" in result.text


def test_a_month_forecast_error_of_any_kind_degrades() -> None:
    result = answer(
        "this-month", RecordingSource(forecast_error=CostExplorerError("boom", "InternalError"))
    )
    assert not result.ephemeral
    assert (
        "No forecast for the month: Cost Explorer returned an error (InternalError)"
        in json.dumps(result.blocks)
    )


def test_budgets_help_and_bad_words() -> None:
    assert (
        answer("budgets", RecordingSource()).text == "AWS Budgets: 0 budget(s), 0 over or at risk"
    )
    help_answer = answer("", RecordingSource())
    assert help_answer.ephemeral and help_answer.text.startswith("Usage: /cost")
    bad = answer("by servce", RecordingSource())
    assert bad.ephemeral
    assert (
        bad.text
        == "/cost: Cannot group `by servce`. Did you mean `by service`? Choose service, account, region, usage-type or tag:<key>."
    )
    assert "*Periods:*" in json.dumps(bad.blocks)
