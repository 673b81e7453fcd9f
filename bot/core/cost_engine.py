"""Answering `/cost`: parse the text, ask a CostSource, build the Block Kit answer.

Pure orchestration: the CostSource (Cost Explorer with its cache in production, a fake
in tests) is injected, and so are "today" (in PENNY_TIMEZONE) and "now". Errors from the
source become short explanations; optional parts (the comparison, the forecast) degrade
to a note instead of failing the whole answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from bot.core.blocks.cost import (
    budgets_text,
    build_budgets_blocks,
    build_cost_help_blocks,
    build_cost_report_blocks,
    build_error_blocks,
    build_forecast_blocks,
    cost_report_text,
    forecast_text,
)
from bot.core.blocks.limits import MAX_FALLBACK_TEXT, truncate
from bot.core.cost_grammar import USAGE, CostGrammarError, CostQuery, parse_cost_command
from bot.core.cost_report import (
    CostReport,
    budget_statuses,
    build_cost_report,
    build_forecast_report,
    sum_by_group,
    with_month_forecast,
    with_notes,
)
from bot.core.errors import (
    CostAccessDenied,
    CostAccountNotInScope,
    CostDataUnavailable,
    CostExplorerError,
    CostExplorerUnavailable,
    CostRequestRejected,
    CostThrottled,
)
from bot.core.messages import account_not_in_scope
from bot.core.money import ZERO
from bot.core.periods import MONTHLY, Period, add_months, comparison_period, first_of_month

logger = logging.getLogger(__name__)

PREDICTION_INTERVAL_LEVEL = 80
FORECAST_MONTHS_AHEAD = 3


class CostSource(Protocol):
    """Where cost data comes from: Cost Explorer's and Budgets' answers as boto3 dicts.

    `end` is exclusive, as in Cost Explorer. Responses are complete (every page merged).
    Implementations raise the errors of bot.core.errors.
    """

    def cost_and_usage(
        self,
        *,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        group_by: list[dict[str, str]] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """GetCostAndUsage for `[start, end)`, all pages merged."""
        ...

    def forecast(
        self,
        *,
        start: date,
        end: date,
        granularity: str,
        metric: str,
        filter: dict[str, Any] | None = None,
        prediction_interval_level: int = PREDICTION_INTERVAL_LEVEL,
    ) -> dict[str, Any]:
        """GetCostForecast for `[start, end)`; `metric` as GetCostAndUsage names it."""
        ...

    def budgets(self) -> list[dict[str, Any]]:
        """Every AWS budget of the account (DescribeBudgets, all pages)."""
        ...


@dataclass(frozen=True)
class CostAnswer:
    """What to post: Block Kit `blocks`, the notification `text`, and whether only the asker sees it."""

    blocks: list[dict[str, Any]]
    text: str
    ephemeral: bool = False


def answer_cost_command(
    text: str, *, source: CostSource, today: date, metric: str, now: datetime
) -> CostAnswer:
    """Answer the text after `/cost` (the whole grammar), never raising for bad input or AWS errors.

    Args:
        text: what the user typed after `/cost`.
        source: the CostSource to ask (Cost Explorer with its cache in production).
        today: the current date in PENNY_TIMEZONE; periods are read relative to it.
        metric: the Cost Explorer metric (PENNY_COST_METRIC), e.g. `UnblendedCost`.
        now: the current time (aware), shown as "as of" when the data is fresh.

    Returns:
        A CostAnswer: grammar errors, help and AWS errors are ephemeral; reports are not.
    """
    try:
        query = parse_cost_command(text, today)
    except CostGrammarError as exc:
        return CostAnswer(
            build_error_blocks(exc.message, show_usage=True),
            f"/cost: {exc.message}",
            ephemeral=True,
        )
    if query.action == "help":
        return CostAnswer(build_cost_help_blocks(), f"Usage: {USAGE}", ephemeral=True)
    try:
        if query.action == "forecast":
            return _answer_forecast(query, source, today, metric, now)
        if query.action == "budgets":
            return _answer_budgets(source, now)
        return _answer_report(query, source, today, metric, now)
    except CostExplorerError as exc:
        logger.warning(
            "action=<%s>, error=<%s>, code=<%s> | cost answer failed",
            query.action,
            type(exc).__name__,
            exc.code,
        )
        message = explain_cost_error(exc)
        return CostAnswer(build_error_blocks(message), message, ephemeral=True)


def _answer_report(
    query: CostQuery, source: CostSource, today: date, metric: str, now: datetime
) -> CostAnswer:
    period = query.period
    current = _cost_and_usage(source, period, query, metric)
    notes: list[str] = []
    comparison = comparison_period(period)
    previous = None
    try:
        previous = _cost_and_usage(source, comparison, query, metric)
    except (CostDataUnavailable, CostRequestRejected) as exc:
        # Older than the history AWS keeps (e.g. ytd vs last year): answer without it.
        notes.append(f"No comparison with {_days(comparison)}: {explain_cost_error(exc)}")
    report = build_cost_report(
        query,
        metric=metric,
        current=current,
        comparison=comparison,
        previous=previous,
        now=now,
        notes=notes,
    )
    if _is_current_month(period, today):
        report = _add_month_forecast(report, query, source, today, metric, now)
    return CostAnswer(
        build_cost_report_blocks(report), truncate(cost_report_text(report), MAX_FALLBACK_TEXT)
    )


def _cost_and_usage(
    source: CostSource, period: Period, query: CostQuery, metric: str
) -> dict[str, Any]:
    # MONTHLY returns the fewest buckets (fewest pages, fewest paid requests); totals are the same.
    return source.cost_and_usage(
        start=period.start,
        end=period.end_exclusive,
        granularity=MONTHLY,
        metric=metric,
        group_by=query.group_by.as_request(),
        filter=query.filter_expression(),
    )


def _is_current_month(period: Period, today: date) -> bool:
    return (
        period.kind in ("this-month", "month")
        and period.start == first_of_month(today)
        and period.includes(today)
    )


def _forecast_start(today: date, now: datetime) -> date:
    # Cost Explorer refuses a forecast that starts before its own (UTC) today.
    return max(today, now.astimezone(UTC).date())


def _monthly_forecast(
    source: CostSource, query: CostQuery, metric: str, start: date, end: date
) -> dict[str, Any]:
    return source.forecast(
        start=start, end=end, granularity=MONTHLY, metric=metric, filter=query.filter_expression()
    )


def _add_month_forecast(
    report: CostReport,
    query: CostQuery,
    source: CostSource,
    today: date,
    metric: str,
    now: datetime,
) -> CostReport:
    start = _forecast_start(today, now)
    end = add_months(first_of_month(today), 1)
    if start >= end:
        return report
    try:
        response = _monthly_forecast(source, query, metric, start, end)
        before = _actual_before(source, query, metric, first_of_month(today), start)
    except CostExplorerError as exc:
        logger.info(
            "error=<%s> | month forecast unavailable, answering without it", type(exc).__name__
        )
        return with_notes(report, f"No forecast for the month: {explain_cost_error(exc)}")
    return with_month_forecast(report, response, actual_before_forecast=before)


def _actual_before(
    source: CostSource, query: CostQuery, metric: str, month_start: date, forecast_start: date
) -> Decimal:
    """Actual spend of the month before the forecast's first day (today is forecast, not counted twice)."""
    if forecast_start <= month_start:
        return ZERO
    response = source.cost_and_usage(
        start=month_start,
        end=forecast_start,
        granularity=MONTHLY,
        metric=metric,
        group_by=query.group_by.as_request(),
        filter=query.filter_expression(),
    )
    return sum_by_group(response, metric, query.group_by).total


def _answer_forecast(
    query: CostQuery, source: CostSource, today: date, metric: str, now: datetime
) -> CostAnswer:
    start = _forecast_start(today, now)
    end = add_months(first_of_month(today), FORECAST_MONTHS_AHEAD + 1)
    try:
        response = _monthly_forecast(source, query, metric, start, end)
    except CostDataUnavailable:
        message = "Cost Explorer cannot forecast this account yet: it needs more cost history."
        return CostAnswer(
            build_error_blocks(message, title="AWS cost forecast"), message, ephemeral=True
        )
    report = build_forecast_report(
        response,
        metric=metric,
        interval_level=PREDICTION_INTERVAL_LEVEL,
        filters=tuple(f.describe() for f in query.filters),
        now=now,
    )
    return CostAnswer(build_forecast_blocks(report), forecast_text(report))


def _answer_budgets(source: CostSource, now: datetime) -> CostAnswer:
    statuses = budget_statuses(source.budgets())
    return CostAnswer(build_budgets_blocks(statuses, as_of=now), budgets_text(statuses))


def _days(period: Period) -> str:
    return f"{period.start.isoformat()} to {period.end_inclusive.isoformat()}"


def explain_cost_error(exc: CostExplorerError) -> str:
    """One or two sentences for people about a Cost Explorer / Budgets error (no stack trace)."""
    if isinstance(exc, CostAccountNotInScope):
        return account_not_in_scope(exc.accounts)
    if isinstance(exc, CostAccessDenied):
        return f"Penny is not allowed to read this: its AWS identity needs the IAM permission `{exc.permission}`."
    if isinstance(exc, CostThrottled):
        return (
            f"AWS is throttling Cost Explorer requests (gave up after {exc.attempts} attempts). "
            "Try again in a minute."
        )
    if isinstance(exc, CostDataUnavailable):
        return "Cost Explorer has no data for this yet (it can take a day after Cost Explorer is enabled, and forecasts need history)."
    if isinstance(exc, CostRequestRejected):
        return f"Cost Explorer refused the request: {truncate(exc.message, 300)}"
    if isinstance(exc, CostExplorerUnavailable):
        return f"Penny could not ask AWS: {truncate(exc.message, 300)}"
    code = f" ({exc.code})" if exc.code else ""
    return f"Cost Explorer returned an error{code}. Try again later."
