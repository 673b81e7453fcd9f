"""Cost Explorer and Budgets responses turned into report values (pure, no I/O).

Inputs are the dicts boto3 returns, already merged across pages by the adapter.
Amounts stay Decimal; a grouped total is the exact sum of its groups over every time
bucket, rounded only for display, so it matches Cost Explorer to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.core.cost_grammar import CostQuery, GroupBy
from bot.core.money import ZERO, to_decimal
from bot.core.periods import Period

FETCHED_AT_KEY = "PennyFetchedAt"  # added by the adapter: when AWS produced this response
OTHERS_LABEL = "Others"
_FORECAST_METRICS = {
    "UnblendedCost": "UNBLENDED_COST",
    "BlendedCost": "BLENDED_COST",
    "AmortizedCost": "AMORTIZED_COST",
    "NetAmortizedCost": "NET_AMORTIZED_COST",
    "NetUnblendedCost": "NET_UNBLENDED_COST",
}


def forecast_metric(metric: str) -> str:
    """GetCostForecast's name for a GetCostAndUsage metric (`UnblendedCost` -> `UNBLENDED_COST`)."""
    return _FORECAST_METRICS.get(metric, metric)


@dataclass(frozen=True)
class CostRow:
    """One group (a service, an account...) with its cost and, when compared, its previous cost."""

    key: str
    label: str
    amount: Decimal
    previous: Decimal | None = None

    @property
    def delta(self) -> Decimal | None:
        """Change since the comparison period, or None without one."""
        return None if self.previous is None else self.amount - self.previous


@dataclass(frozen=True)
class GroupedCosts:
    """One response summed per group: amounts, currency, and whether AWS called it estimated."""

    amounts: dict[str, Decimal]
    labels: dict[str, str]
    currency: str
    estimated: bool
    fetched_at: datetime | None

    @property
    def total(self) -> Decimal:
        """The exact sum of every group."""
        return sum(self.amounts.values(), ZERO)


@dataclass(frozen=True)
class MonthForecast:
    """The whole current month: actual month-to-date plus Cost Explorer's forecast of the rest."""

    total: Decimal
    low: Decimal | None
    high: Decimal | None
    rest_of_month: Decimal


@dataclass(frozen=True)
class CostReport:
    """Everything a cost answer shows, computed; builders only lay it out."""

    period: Period
    comparison: Period | None
    metric: str
    currency: str
    total: Decimal
    previous_total: Decimal | None
    rows: tuple[CostRow, ...]
    others: CostRow | None
    group_by: GroupBy
    group_count: int
    estimated: bool
    filters: tuple[str, ...]
    as_of: datetime
    forecast: MonthForecast | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForecastPoint:
    """A forecast for `[start, end_exclusive)`: the mean and the prediction interval."""

    start: date
    end_exclusive: date
    mean: Decimal
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class ForecastReport:
    """Cost Explorer's forecast, month by month, at `interval_level` percent."""

    metric: str
    currency: str
    points: tuple[ForecastPoint, ...]
    total: Decimal
    interval_level: int
    filters: tuple[str, ...]
    as_of: datetime


@dataclass(frozen=True)
class BudgetStatus:
    """One AWS budget: limit, actual and forecasted spend for its current period."""

    name: str
    budget_type: str
    time_unit: str
    unit: str
    limit: Decimal | None
    actual: Decimal
    forecasted: Decimal | None

    @property
    def percent_used(self) -> Decimal | None:
        """Actual spend as a percentage of the limit, or None without a limit."""
        if not self.limit:
            return None
        return self.actual / self.limit * 100

    @property
    def forecast_percent(self) -> Decimal | None:
        """Forecasted spend as a percentage of the limit, when both are known."""
        if not self.limit or self.forecasted is None:
            return None
        return self.forecasted / self.limit * 100

    @property
    def status(self) -> str:
        """`over` (actual above limit), `at risk` (forecast above limit) or `ok`."""
        if self.limit is None:
            return "ok"
        if self.actual > self.limit:
            return "over"
        if self.forecasted is not None and self.forecasted > self.limit:
            return "at risk"
        return "ok"


def sum_by_group(
    response: Mapping[str, Any], metric: str, group_by: GroupBy | None
) -> GroupedCosts:
    """Sum a GetCostAndUsage response per group over all its time buckets.

    An ungrouped response is returned as one group, keyed `Total`.
    """
    amounts: dict[str, Decimal] = {}
    currency = ""
    estimated = False
    for bucket in response.get("ResultsByTime", []):
        estimated = estimated or bool(bucket.get("Estimated"))
        groups = bucket.get("Groups") or []
        if not groups and bucket.get("Total"):
            groups = [{"Keys": ["Total"], "Metrics": bucket["Total"]}]
        for group in groups:
            key = "|".join(group.get("Keys", []))
            value = group.get("Metrics", {}).get(metric, {})
            amounts[key] = amounts.get(key, ZERO) + to_decimal(value.get("Amount"))
            currency = currency or value.get("Unit", "")
    labels = {key: group_label(key, group_by, response) for key in amounts}
    return GroupedCosts(amounts, labels, currency or "USD", estimated, fetched_at(response))


def fetched_at(response: Mapping[str, Any]) -> datetime | None:
    """When AWS produced `response` (set by the adapter, kept through the cache), if known."""
    value = response.get(FETCHED_AT_KEY)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def group_label(key: str, group_by: GroupBy | None, response: Mapping[str, Any]) -> str:
    """How a group key reads: account names next to ids, tag values without their `key$`."""
    if group_by is None:
        return key
    if group_by.type == "TAG":
        _, _, value = key.partition("$")
        return value or f"(no {group_by.key} tag)"
    if group_by.key == "LINKED_ACCOUNT":
        names = _account_names(response)
        return f"{names[key]} ({key})" if names.get(key) else key
    return key


def _account_names(response: Mapping[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for item in response.get("DimensionValueAttributes", []):
        description = item.get("Attributes", {}).get("description")
        if description:
            names[item["Value"]] = description
    return names


def build_cost_report(
    query: CostQuery,
    *,
    metric: str,
    current: Mapping[str, Any],
    comparison: Period | None,
    previous: Mapping[str, Any] | None,
    now: datetime,
    notes: Iterable[str] = (),
) -> CostReport:
    """A CostReport for `query` from the current (and optional comparison) responses.

    Rows are sorted by cost, largest first (ties by label); after `query.top` rows the
    rest is summed into one "Others" row, whose previous cost is whatever part of the
    previous total the shown rows do not account for.
    """
    now_costs = sum_by_group(current, metric, query.group_by)
    before = sum_by_group(previous, metric, query.group_by) if previous is not None else None
    previous_total = before.total if before else None
    rows = _rows(now_costs, before)
    shown = tuple(rows[: query.top])
    others = _others_row(rows[query.top :], shown, previous_total)
    stamps = [t for t in (now_costs.fetched_at, before.fetched_at if before else None) if t]
    return CostReport(
        period=query.period,
        comparison=comparison if previous is not None else None,
        metric=metric,
        currency=now_costs.currency,
        total=now_costs.total,
        previous_total=previous_total,
        rows=shown,
        others=others,
        group_by=query.group_by,
        group_count=len(rows),
        estimated=now_costs.estimated,
        filters=tuple(f.describe() for f in query.filters),
        as_of=_in_zone_of(min(stamps) if stamps else now, now),
        notes=tuple(notes),
    )


def _in_zone_of(moment: datetime, now: datetime) -> datetime:
    """`moment` shown in the time zone `now` was given in (PENNY_TIMEZONE)."""
    if now.tzinfo is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(now.tzinfo)


def _rows(now_costs: GroupedCosts, before: GroupedCosts | None) -> list[CostRow]:
    rows = []
    for key, amount in now_costs.amounts.items():
        if amount == 0 and (before is None or before.amounts.get(key, ZERO) == 0):
            continue  # nothing now or before: a row of zeros is noise (sub-cent rows still count)
        previous = before.amounts.get(key, ZERO) if before else None
        rows.append(CostRow(key, now_costs.labels[key], amount, previous))
    rows.sort(key=lambda row: (-row.amount, row.label.lower()))
    return rows


def _others_row(
    rest: list[CostRow], shown: tuple[CostRow, ...], previous_total: Decimal | None
) -> CostRow | None:
    if not rest:
        return None
    amount = sum((row.amount for row in rest), ZERO)
    previous = None
    if previous_total is not None:
        previous = previous_total - sum((row.previous or ZERO for row in shown), ZERO)
    return CostRow("__others__", f"{OTHERS_LABEL} ({len(rest)})", amount, previous)


def with_month_forecast(
    report: CostReport,
    response: Mapping[str, Any],
    *,
    actual_before_forecast: Decimal | None = None,
) -> CostReport:
    """`report` (month to date) with the whole-month forecast: actual spend plus the rest.

    `response` forecasts from its first day (Cost Explorer's today) to the month's end, so
    the actual part must stop the day before: `actual_before_forecast`. Without it the
    report's total is used, which is right only when the report ends where the forecast
    starts (a month to date that includes today would count today twice).
    """
    rest = forecast_points(response)
    if not rest:
        return report
    actual = report.total if actual_before_forecast is None else actual_before_forecast
    mean = sum((p.mean for p in rest), ZERO)
    low = _sum_known(actual, [p.low for p in rest])
    high = _sum_known(actual, [p.high for p in rest])
    return replace(report, forecast=MonthForecast(actual + mean, low, high, mean))


def _sum_known(base: Decimal, values: list[Decimal | None]) -> Decimal | None:
    known = [v for v in values if v is not None]
    return base + sum(known, ZERO) if len(known) == len(values) else None


def with_notes(report: CostReport, *notes: str) -> CostReport:
    """`report` with more notes for the reader (a degraded part, a cut period)."""
    return replace(report, notes=report.notes + tuple(notes))


def forecast_points(response: Mapping[str, Any]) -> list[ForecastPoint]:
    """The forecast buckets of a GetCostForecast response, in time order."""
    points = []
    for item in response.get("ForecastResultsByTime", []):
        period = item.get("TimePeriod", {})
        points.append(
            ForecastPoint(
                start=date.fromisoformat(period["Start"]),
                end_exclusive=date.fromisoformat(period["End"]),
                mean=to_decimal(item.get("MeanValue")),
                low=_optional_decimal(item.get("PredictionIntervalLowerBound")),
                high=_optional_decimal(item.get("PredictionIntervalUpperBound")),
            )
        )
    return sorted(points, key=lambda p: p.start)


def _optional_decimal(value: str | None) -> Decimal | None:
    return None if value in (None, "") else to_decimal(value)


def build_forecast_report(
    response: Mapping[str, Any],
    *,
    metric: str,
    interval_level: int,
    filters: tuple[str, ...],
    now: datetime,
) -> ForecastReport:
    """A ForecastReport from a GetCostForecast response (monthly buckets)."""
    points = tuple(forecast_points(response))
    total_field = response.get("Total", {})
    total = (
        to_decimal(total_field.get("Amount"))
        if total_field
        else sum((p.mean for p in points), ZERO)
    )
    return ForecastReport(
        metric=metric,
        currency=total_field.get("Unit") or "USD",
        points=points,
        total=total,
        interval_level=interval_level,
        filters=filters,
        as_of=_in_zone_of(fetched_at(response) or now, now),
    )


def budget_statuses(budgets: Iterable[Mapping[str, Any]]) -> list[BudgetStatus]:
    """BudgetStatus for each budget of a DescribeBudgets answer, most used first."""
    statuses = [_budget_status(b) for b in budgets]
    return sorted(statuses, key=lambda s: (-(s.percent_used or ZERO), s.name.lower()))


def _budget_status(budget: Mapping[str, Any]) -> BudgetStatus:
    limit = budget.get("BudgetLimit") or {}
    spend = budget.get("CalculatedSpend") or {}
    actual = spend.get("ActualSpend") or {}
    forecasted = spend.get("ForecastedSpend")
    return BudgetStatus(
        name=budget.get("BudgetName", "?"),
        budget_type=budget.get("BudgetType", "COST"),
        time_unit=budget.get("TimeUnit", ""),
        unit=limit.get("Unit") or actual.get("Unit") or "USD",
        limit=to_decimal(limit["Amount"]) if limit.get("Amount") not in (None, "") else None,
        actual=to_decimal(actual.get("Amount")),
        forecasted=to_decimal(forecasted["Amount"])
        if forecasted and forecasted.get("Amount")
        else None,
    )
