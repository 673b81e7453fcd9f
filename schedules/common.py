"""What every job shares: its result type, its config, the days it reads, and cost helpers.

Cost Explorer answers are parsed here into plain Decimal series so the jobs stay short;
all amounts stay Decimal until shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.core.errors import CostExplorerError
from bot.core.money import ZERO, to_decimal
from bot.core.periods import DAILY, MONTHLY, add_months, first_of_month
from bot.core.schedule_config import JobConfig, ScheduleConfig
from bot.deps import Deps


@dataclass
class JobResult:
    """What one run did: posts made, posts deferred (rate-limited), things already posted, notes."""

    job: str
    posted: int = 0
    deferred: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def count(self, status: str) -> None:
        """Count one PostResult status (posted, deferred, duplicate)."""
        if status == "posted":
            self.posted += 1
        elif status == "deferred":
            self.deferred += 1
        else:
            self.duplicates += 1

    def summary(self) -> str:
        """One line for logs, the CLI and the run history."""
        if self.error:
            return f"failed: {self.error}"
        parts = [f"{self.posted} posted"]
        if self.deferred:
            parts.append(f"{self.deferred} deferred (Slack rate limit, retried later)")
        if self.duplicates:
            parts.append(f"{self.duplicates} already posted")
        return ", ".join(parts) + ("; " + "; ".join(self.notes) if self.notes else "")


def schedule_config(deps: Deps) -> ScheduleConfig:
    """The parsed `[jobs]`/`[budgets]` config attached by schedules.runtime.attach."""
    if deps.jobs is None:
        from schedules.runtime import load_schedule_config

        return load_schedule_config(deps.settings)
    return deps.jobs.config


def job_config(deps: Deps, name: str) -> JobConfig:
    """The config of job `name`."""
    return schedule_config(deps).job(name)


def local_today(deps: Deps, now: datetime) -> date:
    """`now` as a date in PENNY_TIMEZONE."""
    return now.astimezone(deps.settings.tz).date()


def forecast_start(today: date, now: datetime) -> date:
    """Cost Explorer refuses forecasts starting before its own (UTC) today."""
    return max(today, now.astimezone(UTC).date())


def total_of(response: dict[str, Any], metric: str) -> Decimal:
    """Sum of `Total[metric]` (or of the groups when grouped) over every time bucket."""
    total = ZERO
    for bucket in response.get("ResultsByTime", []):
        if bucket.get("Groups"):
            total += sum((_amount(g, metric) for g in bucket["Groups"]), ZERO)
        else:
            total += to_decimal((bucket.get("Total", {}).get(metric) or {}).get("Amount"))
    return total


def _amount(group: dict[str, Any], metric: str) -> Decimal:
    return to_decimal((group.get("Metrics", {}).get(metric) or {}).get("Amount"))


def daily_by_group(response: dict[str, Any], metric: str) -> dict[str, dict[date, Decimal]]:
    """group key (the first GroupBy value) -> day -> amount, from a DAILY grouped response."""
    out: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for bucket in response.get("ResultsByTime", []):
        day = date.fromisoformat(bucket["TimePeriod"]["Start"])
        for group in bucket.get("Groups", []):
            key = group["Keys"][0]
            out[key][day] = out[key].get(day, ZERO) + _amount(group, metric)
    return dict(out)


def grouped_rows(
    response: dict[str, Any], metric: str
) -> list[tuple[tuple[str, ...], date, Decimal]]:
    """(keys, day, amount) for each group of each bucket."""
    rows = []
    for bucket in response.get("ResultsByTime", []):
        day = date.fromisoformat(bucket["TimePeriod"]["Start"])
        for group in bucket.get("Groups", []):
            rows.append((tuple(group["Keys"]), day, _amount(group, metric)))
    return rows


def daily_cost_by(
    deps: Deps,
    dimension: str,
    start: date,
    end_exclusive: date,
    cost_filter: dict[str, Any] | None = None,
) -> dict[str, dict[date, Decimal]]:
    """Daily cost per value of `dimension` (SERVICE, LINKED_ACCOUNT...) over `[start, end)`."""
    metric = deps.settings.cost_metric
    response = deps.cost.cost_and_usage(
        start=start,
        end=end_exclusive,
        granularity=DAILY,
        metric=metric,
        group_by=[{"Type": "DIMENSION", "Key": dimension}],
        filter=cost_filter,
    )
    return daily_by_group(response, metric)


@dataclass(frozen=True)
class MonthSpend:
    """Month-to-date spend (today's partial day included) and the month's forecast (None if AWS has none)."""

    month_start: date
    actual: Decimal
    forecast: Decimal | None
    forecast_note: str = ""


def month_spend(
    deps: Deps, today: date, now: datetime, cost_filter: dict[str, Any] | None = None
) -> MonthSpend:
    """Actual spend this month so far and the forecast for the whole month, from Cost Explorer.

    The forecast is what AWS Budgets reports: spend before today plus Cost Explorer's
    forecast from today to the end of the month.
    """
    metric = deps.settings.cost_metric
    start = first_of_month(today)
    following = add_months(start, 1)
    response = deps.cost.cost_and_usage(
        start=start,
        end=today + timedelta(days=1),
        granularity=DAILY,
        metric=metric,
        filter=cost_filter,
    )
    actual = total_of(response, metric)
    before_today = sum(
        (
            to_decimal((b.get("Total", {}).get(metric) or {}).get("Amount"))
            for b in response.get("ResultsByTime", [])
            if b["TimePeriod"]["Start"] < today.isoformat()
        ),
        ZERO,
    )
    begin = forecast_start(today, now)
    if begin >= following:
        return MonthSpend(start, actual, actual)
    try:
        forecast = deps.cost.forecast(
            start=begin, end=following, granularity=MONTHLY, metric=metric, filter=cost_filter
        )
    except CostExplorerError as exc:
        return MonthSpend(start, actual, None, f"no forecast ({exc.code or type(exc).__name__})")
    remaining = to_decimal((forecast.get("Total") or {}).get("Amount"))
    return MonthSpend(start, actual, before_today + remaining)


def aws_error_code(exc: ClientError | BotoCoreError) -> str:
    """The AWS error code of a botocore failure (the exception's name when AWS sent none)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or "ClientError"
    return type(exc).__name__


def top_by_amount(amounts: dict[str, Decimal], limit: int) -> list[tuple[str, Decimal]]:
    """The `limit` largest (key, amount) pairs, largest first, ties by name."""
    return sorted(amounts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
