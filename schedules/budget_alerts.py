"""Budget alerts: AWS Budgets and Penny-side `[budgets]`, each threshold crossing posted once per period.

For every budget with a limit, actual spend is compared with the actual thresholds
(default 50/80/100 %) and the forecast with the forecast thresholds (default 100 %).
Ledger keys `budget:<source>:<name>:<kind>:<threshold>:<period>` make each crossing
post once per budget period; when several thresholds are crossed at once, one message
announces the highest and the lower ones are recorded as covered by it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bot.core.blocks.reports import (
    BudgetAlert,
    BudgetDetails,
    budget_alert_text,
    build_budget_alert_blocks,
)
from bot.core.cost_report import budget_statuses
from bot.core.errors import CostExplorerError
from bot.core.money import format_money
from bot.core.periods import MONTHLY, add_months, first_of_month
from bot.core.schedule_config import (
    BUDGET_ALERTS,
    DEFAULT_ACTUAL_THRESHOLDS,
    DEFAULT_FORECAST_THRESHOLDS,
    JobConfig,
    PennyBudget,
)
from bot.deps import Deps
from bot.store import ledger
from bot.store.approvals import list_spend_approvals
from schedules.common import (
    JobResult,
    job_config,
    local_today,
    month_spend,
    schedule_config,
    top_by_amount,
    total_of,
)
from schedules.posting import post_once

logger = logging.getLogger(__name__)

ACTUAL = "actual"
FORECAST = "forecast"
TOP_DRIVERS = 5
# AWS Budgets CostFilters names -> Cost Explorer dimensions.
_BUDGET_FILTER_DIMENSIONS = {
    "Service": "SERVICE",
    "LinkedAccount": "LINKED_ACCOUNT",
    "Region": "REGION",
    "UsageType": "USAGE_TYPE",
}


@dataclass(frozen=True)
class BudgetCheck:
    """One budget's state this period, whichever side it comes from."""

    name: str
    source: str  # aws | penny
    scope: str
    limit: Decimal
    actual: Decimal
    forecast: Decimal | None
    period_start: date
    period_key: str
    period_label: str
    thresholds: tuple[int, ...]
    forecast_thresholds: tuple[int, ...]
    channel: str | None
    cost_filter: dict[str, Any] | None
    match_account: str | None = None
    match_service: str | None = None
    unit: str = "USD"

    def percent_of(self, amount: Decimal | None) -> Decimal | None:
        """`amount` as a percentage of the limit."""
        return None if amount is None else amount / self.limit * 100


def crossed(percent: Decimal | None, thresholds: tuple[int, ...]) -> list[int]:
    """The thresholds at or below `percent`, ascending."""
    if percent is None:
        return []
    return [t for t in sorted(thresholds) if percent >= t]


def budget_period(time_unit: str, today: date) -> tuple[date, str, str]:
    """(start, ledger key, label) of the budget period containing `today` for an AWS TimeUnit."""
    if time_unit == "DAILY":
        return today, today.isoformat(), today.isoformat()
    if time_unit == "QUARTERLY":
        quarter = (today.month - 1) // 3
        start = date(today.year, quarter * 3 + 1, 1)
        return start, f"{today.year}-Q{quarter + 1}", f"Q{quarter + 1} {today.year}"
    if time_unit == "ANNUALLY":
        return date(today.year, 1, 1), str(today.year), str(today.year)
    start = first_of_month(today)
    return start, f"{start:%Y-%m}", f"{start:%B %Y}"


def alert_key(check: BudgetCheck, kind: str, threshold: int) -> str:
    """The once-only ledger key of one crossing."""
    return f"budget:{check.source}:{check.name}:{kind}:{threshold}:{check.period_key}"


def run_budget_alerts(deps: Deps, now: datetime) -> JobResult:
    """Check every budget and post each new threshold crossing once per budget period."""
    job = job_config(deps, BUDGET_ALERTS)
    today = local_today(deps, now)
    result = JobResult(job=BUDGET_ALERTS)
    for check in collect_budget_checks(deps, job, today, now, result):
        alert_on_crossings(deps, job, check, today, now, result)
    return result


def collect_budget_checks(
    deps: Deps, job: JobConfig, today: date, now: datetime, result: JobResult
) -> list[BudgetCheck]:
    """AWS Budgets (when enabled) and the configured Penny budgets, with their spend now."""
    checks: list[BudgetCheck] = []
    if job.setting("aws_budgets"):
        checks.extend(_aws_budget_checks(deps, today, result))
    for budget in schedule_config(deps).budgets:
        try:
            checks.append(_penny_budget_check(deps, budget, today, now))
        except CostExplorerError as exc:
            result.notes.append(
                f"budget {budget.name}: Cost Explorer error {exc.code or type(exc).__name__}"
            )
    return checks


def _aws_budget_checks(deps: Deps, today: date, result: JobResult) -> list[BudgetCheck]:
    try:
        raw = deps.cost.budgets()
    except CostExplorerError as exc:
        result.notes.append(f"AWS Budgets unavailable ({exc.code or type(exc).__name__})")
        return []
    filters = {b.get("BudgetName", "?"): b.get("CostFilters") or {} for b in raw}
    checks = []
    for status in budget_statuses(raw):
        if not status.limit or status.budget_type != "COST":
            continue
        start, key, label = budget_period(status.time_unit, today)
        checks.append(
            BudgetCheck(
                name=status.name,
                source="aws",
                scope="AWS budget" + _describe_filters(filters.get(status.name, {})),
                limit=status.limit,
                actual=status.actual,
                forecast=status.forecasted,
                period_start=start,
                period_key=key,
                period_label=label,
                thresholds=DEFAULT_ACTUAL_THRESHOLDS,
                forecast_thresholds=DEFAULT_FORECAST_THRESHOLDS,
                channel=None,
                cost_filter=budget_cost_filter(filters.get(status.name, {})),
                unit=status.unit,
            )
        )
    return checks


def _describe_filters(filters: dict[str, list[str]]) -> str:
    if not filters:
        return " (whole account)"
    return " (" + "; ".join(f"{k}: {', '.join(v)}" for k, v in filters.items()) + ")"


def budget_cost_filter(filters: dict[str, list[str]]) -> dict[str, Any] | None:
    """The Cost Explorer filter equivalent to an AWS budget's CostFilters (None when unfiltered).

    Filters Penny cannot translate make the drivers unfiltered rather than wrong-looking.
    """
    parts = [
        {"Dimensions": {"Key": _BUDGET_FILTER_DIMENSIONS[k], "Values": list(v)}}
        for k, v in filters.items()
        if k in _BUDGET_FILTER_DIMENSIONS and v
    ]
    if not parts or len(parts) != len(filters):
        return None
    return parts[0] if len(parts) == 1 else {"And": parts}


def _penny_budget_check(deps: Deps, budget: PennyBudget, today: date, now: datetime) -> BudgetCheck:
    spend = month_spend(deps, today, now, budget.cost_filter())
    start, key, label = budget_period("MONTHLY", today)
    return BudgetCheck(
        name=budget.name,
        source="penny",
        scope=budget.describe(),
        limit=budget.limit,
        actual=spend.actual,
        forecast=spend.forecast,
        period_start=start,
        period_key=key,
        period_label=label,
        thresholds=budget.thresholds,
        forecast_thresholds=budget.forecast_thresholds,
        channel=budget.channel,
        cost_filter=budget.cost_filter(),
        match_account=budget.value if budget.scope == "account" else None,
        match_service=budget.value if budget.scope == "service" else None,
    )


def alert_on_crossings(
    deps: Deps, job: JobConfig, check: BudgetCheck, today: date, now: datetime, result: JobResult
) -> None:
    """Post the highest new actual crossing, then the highest new forecast crossing not already said."""
    said = 0
    for kind, thresholds, amount in (
        (ACTUAL, check.thresholds, check.actual),
        (FORECAST, check.forecast_thresholds, check.forecast),
    ):
        fresh = [
            t
            for t in crossed(check.percent_of(amount), thresholds)
            if not ledger.is_claimed(deps.store, alert_key(check, kind, t))
        ]
        if not fresh:
            continue
        top = fresh[-1]
        key = alert_key(check, kind, top)
        if kind == FORECAST and said >= top:
            # Actual spend already crossed this level in the same run: the forecast adds nothing.
            _cover(deps, check, kind, fresh, covered_by="actual alert", now=now)
            continue
        alert = _build_alert(deps, check, kind, top, tuple(fresh[:-1]), today, now)
        posted = post_once(
            deps,
            key,
            job=BUDGET_ALERTS,
            channel=check.channel or job.channel,
            text=budget_alert_text(alert),
            blocks=build_budget_alert_blocks(alert),
            now=now,
        )
        result.count(posted.status)
        if posted.status != "duplicate":
            _cover(deps, check, kind, fresh[:-1], covered_by=key, now=now)
            if kind == ACTUAL:
                said = top


def _cover(
    deps: Deps,
    check: BudgetCheck,
    kind: str,
    thresholds: list[int],
    *,
    covered_by: str,
    now: datetime,
) -> None:
    for threshold in thresholds:
        ledger.claim_covered(
            deps.store,
            alert_key(check, kind, threshold),
            job=BUDGET_ALERTS,
            now=now,
            covered_by=covered_by,
        )


def _build_alert(
    deps: Deps,
    check: BudgetCheck,
    kind: str,
    threshold: int,
    also: tuple[int, ...],
    today: date,
    now: datetime,
) -> BudgetAlert:
    since = _drivers_since(deps, check)
    return BudgetAlert(
        budget=check.name,
        source=check.source,
        scope=check.scope,
        kind=kind,
        threshold=threshold,
        period_label=check.period_label,
        limit=check.limit,
        actual=check.actual,
        forecast=check.forecast,
        metric=deps.settings.cost_metric,
        as_of=now.astimezone(deps.settings.tz),
        drivers=tuple(_top_drivers(deps, check, since, today)),
        drivers_since=since,
        spend_approvals=tuple(spend_approval_lines(deps, check)),
        also_crossed=also,
        unit=check.unit,
    )


def _drivers_since(deps: Deps, check: BudgetCheck) -> date:
    """The day of this budget's previous alert in this period, else the period's first day."""
    last = ledger.last_posted(deps.store, f"budget:{check.source}:{check.name}:")
    if last and last["key"].endswith(f":{check.period_key}") and last["posted_at"]:
        return max(
            check.period_start,
            datetime.fromisoformat(last["posted_at"]).astimezone(deps.settings.tz).date(),
        )
    return check.period_start


def _top_drivers(
    deps: Deps, check: BudgetCheck, since: date, today: date
) -> list[tuple[str, Decimal]]:
    metric = deps.settings.cost_metric
    try:
        response = deps.cost.cost_and_usage(
            start=since,
            end=today + timedelta(days=1),
            granularity=MONTHLY,
            metric=metric,
            group_by=[{"Type": "DIMENSION", "Key": "SERVICE"}],
            filter=check.cost_filter,
        )
    except CostExplorerError as exc:
        logger.warning("budget=<%s>, error=<%s> | drivers unavailable", check.name, exc.code)
        return []
    return top_by_amount(service_totals(response, metric), TOP_DRIVERS)


def service_totals(response: dict[str, Any], metric: str) -> dict[str, Decimal]:
    """Total per first group key over every bucket of a grouped response."""
    totals: dict[str, Decimal] = {}
    for bucket in response.get("ResultsByTime", []):
        for group in bucket.get("Groups", []):
            single = {"ResultsByTime": [{"Groups": [group]}]}
            totals[group["Keys"][0]] = totals.get(group["Keys"][0], Decimal(0)) + total_of(
                single, metric
            )
    return totals


def spend_approval_lines(deps: Deps, check: BudgetCheck) -> list[str]:
    """Spend approved with /penny approve-spend since the period began, for this budget's scope."""
    since = datetime.combine(check.period_start, time.min, deps.settings.tz).astimezone(UTC)
    lines = []
    for row in list_spend_approvals(deps.store, since):
        if check.match_account and row.get("account") not in (None, "", check.match_account):
            continue
        if check.match_service and row.get("service") not in (None, "", check.match_service):
            continue
        approved = str(row.get("approved_at", ""))[:10]
        lines.append(
            f"{format_money(Decimal(str(row['amount_usd'])))} for {row.get('purpose') or 'unspecified'}, "
            f"approved by <@{row.get('approved_by')}> on {approved}"
        )
    return lines


def budget_details(deps: Deps, name: str, source: str, now: datetime) -> BudgetDetails | None:
    """What the Details button shows for budget `name` from `source` (None when it no longer exists)."""
    job = job_config(deps, BUDGET_ALERTS)
    today = local_today(deps, now)
    scratch = JobResult(job=BUDGET_ALERTS)
    checks = [
        c
        for c in collect_budget_checks(deps, job, today, now, scratch)
        if c.name == name and c.source == source
    ]
    if not checks:
        return None
    check = checks[0]
    by_service = _top_drivers(deps, check, check.period_start, today)
    thresholds = [
        f"{kind} {t}%: {'crossed' if t in crossed(check.percent_of(amount), ths) else 'not crossed'}"
        for kind, ths, amount in (
            (ACTUAL, check.thresholds, check.actual),
            (FORECAST, check.forecast_thresholds, check.forecast),
        )
        for t in ths
    ]
    return BudgetDetails(
        budget=check.name,
        scope=check.scope,
        period_label=check.period_label,
        limit=check.limit,
        actual=check.actual,
        forecast=check.forecast,
        by_service=tuple(by_service),
        thresholds=tuple(thresholds),
        as_of=now.astimezone(deps.settings.tz),
        unit=check.unit,
    )


def month_end(today: date) -> date:
    """The last day of `today`'s month."""
    return add_months(first_of_month(today), 1) - timedelta(days=1)
