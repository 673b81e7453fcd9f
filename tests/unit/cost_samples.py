"""Cost Explorer-shaped responses and reports shared by the cost unit tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.core.cost_grammar import parse_cost_command
from bot.core.cost_report import CostReport, build_cost_report
from bot.core.periods import comparison_period

TODAY = date(2026, 10, 15)
METRIC = "UnblendedCost"


def response(
    *buckets: dict[str, str], estimated: bool = False, unit: str = "USD", **extra: Any
) -> dict[str, Any]:
    """A GetCostAndUsage response with one time bucket per dict of group -> amount."""
    results = []
    for amounts in buckets:
        groups = [
            {"Keys": [k], "Metrics": {METRIC: {"Amount": v, "Unit": unit}}}
            for k, v in amounts.items()
        ]
        results.append(
            {
                "TimePeriod": {"Start": "x", "End": "y"},
                "Total": {},
                "Groups": groups,
                "Estimated": estimated,
            }
        )
    return {"ResultsByTime": results, **extra}


def report_for(
    text: str, current: dict[str, Any], previous: dict[str, Any] | None = None, *, now: datetime
) -> CostReport:
    """The CostReport of `/cost <text>` on TODAY from the given responses."""
    query = parse_cost_command(text, TODAY)
    return build_cost_report(
        query,
        metric=METRIC,
        current=current,
        comparison=comparison_period(query.period),
        previous=previous,
        now=now,
    )
