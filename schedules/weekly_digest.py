"""The weekly digest: last week against the week before, top movers, month to date and forecast,
budget status, pending approvals, and a PNG chart of the last weeks by top services in the thread.

Posted once per week (ledger key `weekly_digest:<monday of last week>`); the chart is its
own ledger entry in the digest's thread, so a retried upload never duplicates it.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from bot.core.approvals import PENDING
from bot.core.blocks.reports import (
    Mover,
    WeeklyDigest,
    build_weekly_digest_blocks,
    weekly_digest_text,
)
from bot.core.errors import CostExplorerError
from bot.core.money import ZERO, format_money
from bot.core.schedule_config import WEEKLY_DIGEST
from bot.deps import Deps
from bot.store.approvals import list_requests
from schedules.budget_alerts import collect_budget_checks
from schedules.common import JobResult, daily_cost_by, job_config, local_today, month_spend
from schedules.posting import post_once, upload_once

logger = logging.getLogger(__name__)

OTHER = "Other"


def digest_key(week_start: date) -> str:
    """The once-only ledger key of the digest for the week starting `week_start`."""
    return f"weekly_digest:{week_start.isoformat()}"


def last_full_week(today: date) -> tuple[date, date]:
    """Monday and the following Monday (exclusive) of the last complete week before `today`."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def weekly_totals(
    daily: dict[str, dict[date, Decimal]], first_monday: date, weeks: int
) -> dict[str, list[Decimal]]:
    """service -> one total per week, oldest first, for `weeks` weeks from `first_monday`."""
    out: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * weeks)
    for service, days in daily.items():
        for day, amount in days.items():
            index = (day - first_monday).days // 7
            if 0 <= index < weeks:
                out[service][index] += amount
    return dict(out)


def top_movers(weekly: dict[str, list[Decimal]], limit: int) -> list[Mover]:
    """Services whose cost changed most (in dollars) between the last two weeks."""
    movers = [
        Mover(name, totals[-1], totals[-2]) for name, totals in weekly.items() if len(totals) >= 2
    ]
    movers = [m for m in movers if m.last_week != m.week_before]
    return sorted(movers, key=lambda m: (-abs(m.last_week - m.week_before), m.name))[:limit]


def run_weekly_digest(deps: Deps, now: datetime) -> JobResult:
    """Post last week's digest once, with its chart in the thread."""
    job = job_config(deps, WEEKLY_DIGEST)
    today = local_today(deps, now)
    week_start, week_end = last_full_week(today)
    weeks = int(job.setting("chart_weeks"))
    first_monday = week_end - timedelta(days=7 * weeks)
    daily = daily_cost_by(deps, "SERVICE", first_monday, week_end)
    weekly = weekly_totals(daily, first_monday, weeks)
    last = sum((t[-1] for t in weekly.values()), ZERO)
    before = sum((t[-2] for t in weekly.values()), ZERO)
    notes: list[str] = []
    spend = month_spend(deps, today, now)
    if spend.forecast_note:
        notes.append(f"Month forecast: {spend.forecast_note}.")
    digest = WeeklyDigest(
        week_start=week_start,
        week_end=week_end - timedelta(days=1),
        last_week=last,
        week_before=before,
        movers=tuple(top_movers(weekly, int(job.setting("top")))),
        month_to_date=spend.actual,
        month_forecast=spend.forecast,
        budgets=tuple(_budget_lines(deps, today, now)),
        pending_approvals=tuple(_pending_lines(deps)),
        metric=deps.settings.cost_metric,
        as_of=now.astimezone(deps.settings.tz),
        notes=tuple(notes),
    )
    result = JobResult(job=WEEKLY_DIGEST)
    key = digest_key(week_start)
    posted = post_once(
        deps,
        key,
        job=WEEKLY_DIGEST,
        channel=job.channel,
        text=weekly_digest_text(digest),
        blocks=build_weekly_digest_blocks(digest),
        now=now,
    )
    result.count(posted.status)
    if posted.status == "duplicate":
        return result
    chart = render_weekly_chart(weekly, first_monday, int(job.setting("top")))
    uploaded = upload_once(
        deps,
        f"{key}:chart",
        job=WEEKLY_DIGEST,
        channel=job.channel,
        content=chart,
        filename=f"penny-weekly-{week_start.isoformat()}.png",
        title=f"AWS cost by service, {weeks} weeks to {digest.week_end.isoformat()}",
        thread_key=key,
        now=now,
    )
    if uploaded.status == "deferred":
        result.notes.append("chart upload deferred")
    return result


def _budget_lines(deps: Deps, today: date, now: datetime) -> list[str]:
    scratch = JobResult(job=WEEKLY_DIGEST)
    try:
        checks = collect_budget_checks(deps, job_config(deps, "budget_alerts"), today, now, scratch)
    except CostExplorerError as exc:
        return [f"unavailable ({exc.code or type(exc).__name__})"]
    lines = []
    for check in checks:
        percent = check.percent_of(check.actual) or ZERO
        forecast = (
            f", forecast {format_money(check.forecast)}" if check.forecast is not None else ""
        )
        lines.append(
            f"{check.name}: {format_money(check.actual)} of {format_money(check.limit)} "
            f"({percent.quantize(Decimal('0.1'))}%){forecast}"
        )
    return lines + [f"note: {n}" for n in scratch.notes]


def _pending_lines(deps: Deps) -> list[str]:
    requests = list_requests(deps.store, states=[PENDING], limit=10)
    return [
        f"`{r.id}` {r.preview.summary or r.action} — requested by <@{r.requested_by}>, "
        f"expires {r.expires_at.astimezone(deps.settings.tz):%a %H:%M}"
        for r in requests
    ]


def render_weekly_chart(weekly: dict[str, list[Decimal]], first_monday: date, top: int) -> bytes:
    """A stacked bar chart (PNG) of weekly cost by the top services, the rest as Other."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    weeks = len(next(iter(weekly.values()))) if weekly else 0
    ranked = sorted(weekly, key=lambda s: (-sum(weekly[s]), s))
    shown = ranked[:top]
    series = {name: [float(v) for v in weekly[name]] for name in shown}
    rest = [float(sum((weekly[s][i] for s in ranked[top:]), ZERO)) for i in range(weeks)]
    if any(rest):
        series[OTHER] = rest
    labels = [f"{first_monday + timedelta(days=7 * i):%b %d}" for i in range(weeks)]
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.add_subplot()
    bottom = [0.0] * weeks
    for name, values in series.items():
        axes.bar(labels, values, bottom=bottom, label=name[:40])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("USD per week")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"${value:,.0f}"))
    axes.set_title("AWS cost by service, week starting")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
