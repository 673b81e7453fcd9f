"""Block Kit for /cost, tested as data: content, source line, and Slack's limits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.core.blocks.cost import (
    build_budgets_blocks,
    build_cost_help_blocks,
    build_cost_report_blocks,
    build_error_blocks,
    build_forecast_blocks,
    cost_report_text,
)
from bot.core.blocks.limits import (
    MAX_BLOCKS,
    button_label,
    cap_blocks,
    chunk_lines,
    context,
    header,
    truncate,
)
from bot.core.cost_report import (
    BudgetStatus,
    ForecastPoint,
    ForecastReport,
    with_month_forecast,
    with_notes,
)
from tests.unit.cost_samples import METRIC, report_for, response

NOW = datetime(2026, 10, 15, 12, 30, tzinfo=UTC)


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            for field in block.get("fields", []):
                assert 0 < len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        else:
            assert block["type"] == "divider"


def texts(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(e["text"] for e in block.get("elements", []))
    return "\n".join(parts)


def groups(amounts: dict[str, str], estimated: bool = False) -> dict[str, Any]:
    return response(amounts, estimated=estimated)


def report(text: str, current: dict[str, Any], previous: dict[str, Any] | None = None):
    return report_for(text, current, previous, now=NOW)


def test_month_to_date_report_shows_spend_change_rows_forecast_and_source() -> None:
    current = groups(
        {
            "Amazon Elastic Compute Cloud - Compute": "1000.004",
            "AWS Lambda": "234.56",
            "Amazon S3": "10",
        },
        estimated=True,
    )
    previous = groups({"Amazon Elastic Compute Cloud - Compute": "900", "AWS Lambda": "300"})
    forecast = {
        "ForecastResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-10-15", "End": "2026-11-01"},
                "MeanValue": "1500",
                "PredictionIntervalLowerBound": "1400",
                "PredictionIntervalUpperBound": "1600",
            }
        ]
    }
    the_report = with_month_forecast(report("this-month top 2", current, previous), forecast)

    blocks = build_cost_report_blocks(the_report)

    assert_within_slack_limits(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "AWS cost · This month to date", "emoji": True},
    }
    assert blocks[1]["fields"][0]["text"] == "*Spend* _(estimated)_\n*$1,244.56*"
    assert (
        blocks[1]["fields"][1]["text"] == "*vs same days last month*\n$1,200.00 → +$44.56 (+3.7%)"
    )
    assert (
        blocks[1]["fields"][2]["text"]
        == "*Forecast, whole month*\n$2,744.56 ($2,644.56 – $2,844.56)"
    )
    assert blocks[2]["text"]["text"] == (
        "*Top 2 of 3 by service*\n"
        "1. Amazon Elastic Compute Cloud - Compute — *$1,000.00* · +$100.00 (+11.1%)\n"
        "2. AWS Lambda — *$234.56* · -$65.44 (-21.8%)\n"
        "• Others (1) — *$10.00* · +$10.00 (new)"
    )
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == (
        "Source: AWS Cost Explorer · UnblendedCost · 2026-10-01 to 2026-10-15 (UTC days) · "
        "compared with 2026-09-01 to 2026-09-15 · estimated, AWS may still revise it · "
        "data as of 2026-10-15 12:30 UTC"
    )
    assert cost_report_text(the_report) == (
        "AWS cost, This month to date: $1,244.56 (estimated), +$44.56 (+3.7%) vs same days last month"
    )


def test_a_final_period_with_filters_and_notes() -> None:
    the_report = with_notes(
        report("last-month service:ec2 by region", groups({"us-east-1": "5"})),
        "No comparison: too old.",
    )
    blocks = build_cost_report_blocks(the_report)
    assert_within_slack_limits(blocks)
    all_text = texts(blocks)
    assert "*By region*\n1. us-east-1 — *$5.00*" in all_text
    assert ":warning: No comparison: too old." in all_text
    assert "· final ·" in all_text
    assert "filters: service=Amazon Elastic Compute Cloud - Compute" in all_text
    assert "vs " not in blocks[1]["fields"][0]["text"]


def test_no_costs_says_so() -> None:
    blocks = build_cost_report_blocks(report("yesterday service:s3", groups({})))
    assert "No costs recorded for this period with these filters." in texts(blocks)
    assert "*$0.00*" in texts(blocks)


def test_fifty_groups_with_long_names_stay_within_limits() -> None:
    names = {
        f"{'Very Long Marketplace Product Name ' * 4}{i:02d}": f"{1000 + i}.123" for i in range(60)
    }
    the_report = with_notes(
        report("last-month by usage-type top 50", groups(names), groups(names)), "x" * 5000
    )
    blocks = build_cost_report_blocks(the_report)

    assert_within_slack_limits(blocks)
    rows = [
        line for line in texts(blocks).splitlines() if line[:1].isdigit() or line.startswith("•")
    ]
    assert len(rows) == 51  # 50 rows and Others, split over sections, none cut
    assert rows[-1].startswith("• Others (10)")


def test_forecast_blocks() -> None:
    points = (
        ForecastPoint(
            date(2026, 10, 15), date(2026, 11, 1), Decimal("500"), Decimal("450"), Decimal("550")
        ),
        ForecastPoint(date(2026, 11, 1), date(2026, 12, 1), Decimal("1000.5"), None, None),
    )
    forecast = ForecastReport(
        METRIC, "USD", points, Decimal("1500.5"), 80, ("region=us-east-1",), NOW
    )
    blocks = build_forecast_blocks(forecast)

    assert_within_slack_limits(blocks)
    assert (
        blocks[1]["fields"][0]["text"]
        == "*October 2026 (from Oct 15)*\n$500.00\n80%: $450.00 – $550.00"
    )
    assert blocks[1]["fields"][1]["text"] == "*November 2026*\n$1,000.50"
    assert "*Total forecast:* $1,500.50" in texts(blocks)
    assert "80% prediction interval" in texts(blocks) and "filters: region=us-east-1" in texts(
        blocks
    )


def test_budgets_blocks_and_their_limit() -> None:
    budget = BudgetStatus(
        "monthly", "COST", "MONTHLY", "USD", Decimal("1000"), Decimal("812.3"), Decimal("1200")
    )
    blocks = build_budgets_blocks([budget], as_of=NOW)
    assert_within_slack_limits(blocks)
    assert blocks[1]["text"]["text"] == (
        ":large_orange_circle: *monthly* (monthly, cost): at risk\n"
        "Actual $812.30 of $1,000.00 (81.2% used) · forecast $1,200.00 (120.0%)"
    )
    many = build_budgets_blocks([budget] * 80, as_of=NOW)
    assert_within_slack_limits(many)
    assert "not shown" in many[-1]["elements"][0]["text"]
    assert "No AWS budgets" in texts(build_budgets_blocks([], as_of=NOW))


def test_usage_budgets_show_their_unit() -> None:
    usage = BudgetStatus("hours", "USAGE", "MONTHLY", "Hrs", Decimal("100"), Decimal("20.5"), None)
    assert "Actual 20.5 Hrs of 100 Hrs (20.5% used)" in texts(
        build_budgets_blocks([usage], as_of=NOW)
    )


def test_help_and_error_blocks() -> None:
    help_blocks = build_cost_help_blocks()
    assert_within_slack_limits(help_blocks)
    assert "`/cost forecast`" in texts(help_blocks)
    error = build_error_blocks("I don't understand `x`.", show_usage=True)
    assert_within_slack_limits(error)
    assert error[0]["text"]["text"] == ":warning: I don't understand `x`."
    assert "*Periods:*" in error[1]["text"]["text"]
    assert len(build_error_blocks("denied")) == 1


@pytest.mark.parametrize(
    ("text", "limit", "out"), [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("", 3, "")]
)
def test_truncate(text: str, limit: int, out: str) -> None:
    assert truncate(text, limit) == out


def test_limit_helpers() -> None:
    assert len(button_label("x" * 100)) == 75
    assert len(header("h" * 200)["text"]["text"]) == 150
    assert chunk_lines(["a" * 6, "b" * 6, "c"], limit=13) == ["aaaaaa\nbbbbbb", "c"]
    assert chunk_lines(["x" * 20], limit=10) == ["x" * 9 + "…"]
    blocks = [context(str(i)) for i in range(70)]
    capped = cap_blocks(blocks)
    assert len(capped) == MAX_BLOCKS
    assert capped[-1]["elements"][0]["text"] == "21 more block(s) not shown (Slack's limit)."
    assert cap_blocks(blocks[:3]) == blocks[:3]
