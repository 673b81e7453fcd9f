"""Block Kit for the scheduled reports: budget alerts, anomalies, the weekly digest, idle resources.

Pure builders over small dataclasses; every text is trimmed to Slack's limits and every
message says where its numbers come from (period, metric, estimated or final, as of when).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.core import ids
from bot.core.anomaly import Anomaly, Driver
from bot.core.blocks.limits import (
    MAX_BLOCKS,
    button_label,
    cap_blocks,
    chunk_lines,
    context,
    divider,
    fields_section,
    header,
    section,
    truncate,
)
from bot.core.money import format_delta, format_money

MAX_BUTTON_VALUE = 2000
MAX_IDLE_FINDINGS_SHOWN = 40


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M %Z}".strip()


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value.quantize(Decimal('0.1'))}%"


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": button_label(text), "emoji": True},
        "action_id": action_id,
        "value": truncate(value, MAX_BUTTON_VALUE),
    }
    if style:
        button["style"] = style
    return button


# -- budget alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetAlert:
    """One budget crossing to announce.

    `kind` is `actual` or `forecast`; `threshold` the highest newly crossed percentage;
    `drivers` the top services since `drivers_since`; `spend_approvals` are lines such as
    "$500.00 for GPU training, approved by <@U1> on 2026-03-04".
    """

    budget: str
    source: str  # "aws" (AWS Budgets) or "penny" ([budgets] in PENNY_CONFIG)
    scope: str
    kind: str
    threshold: int
    period_label: str
    limit: Decimal
    actual: Decimal
    forecast: Decimal | None
    metric: str
    as_of: datetime
    drivers: tuple[tuple[str, Decimal], ...] = ()
    drivers_since: date | None = None
    spend_approvals: tuple[str, ...] = ()
    also_crossed: tuple[int, ...] = ()
    unit: str = "USD"

    @property
    def percent(self) -> Decimal:
        """Actual spend as a percentage of the limit."""
        return self.actual / self.limit * 100 if self.limit else Decimal(0)

    @property
    def forecast_percent(self) -> Decimal | None:
        """Forecast as a percentage of the limit."""
        return None if self.forecast is None or not self.limit else self.forecast / self.limit * 100


def budget_alert_text(alert: BudgetAlert) -> str:
    """The notification text of a budget alert."""
    what = "is forecast to reach" if alert.kind == "forecast" else "has reached"
    return (
        f"Budget {alert.budget} {what} {alert.threshold}% of its {format_money(alert.limit, alert.unit)} limit "
        f"({alert.period_label})"
    )


def build_budget_alert_blocks(alert: BudgetAlert) -> list[dict[str, Any]]:
    """A budget threshold crossing: spend, limit, %, forecast, drivers, spend approvals, a details button."""
    icon = ":rotating_light:" if alert.threshold >= 100 else ":warning:"
    kind = "forecast" if alert.kind == "forecast" else "actual spend"
    blocks = [
        header(f"Budget {alert.budget}: {kind} crossed {alert.threshold}%"),
        section(f"{icon} {budget_alert_text(alert)}."),
        fields_section(
            [
                f"*Spend so far*\n{format_money(alert.actual, alert.unit)} ({_pct(alert.percent)})",
                f"*Limit*\n{format_money(alert.limit, alert.unit)}",
                "*Forecast*\n"
                + (
                    f"{format_money(alert.forecast, alert.unit)} ({_pct(alert.forecast_percent)})"
                    if alert.forecast is not None
                    else "not available"
                ),
                f"*Scope*\n{alert.scope}",
            ]
        ),
    ]
    if alert.drivers:
        since = f" since {alert.drivers_since.isoformat()}" if alert.drivers_since else ""
        lines = [f"*Top drivers{since}*"] + [
            f"• {name}: {format_money(amount, alert.unit)}" for name, amount in alert.drivers
        ]
        blocks.extend(section(chunk) for chunk in chunk_lines(lines))
    if alert.spend_approvals:
        lines = ["*Spend approved with /penny approve-spend this period*"] + [
            f"• {line}" for line in alert.spend_approvals
        ]
        blocks.extend(section(chunk) for chunk in chunk_lines(lines))
    value = json.dumps({"budget": alert.budget, "source": alert.source}, sort_keys=True)
    blocks.append(
        {
            "type": "actions",
            "block_id": ids.BUDGET_ALERT_BLOCK,
            "elements": [_button("Details", ids.BUDGET_DETAILS_ACTION, value)],
        }
    )
    also = (
        f" Also crossed: {', '.join(f'{t}%' for t in alert.also_crossed)}."
        if alert.also_crossed
        else ""
    )
    source = "AWS Budgets" if alert.source == "aws" else "Penny budget (Cost Explorer)"
    blocks.append(
        context(
            f"{source}, {alert.metric}, {alert.period_label}; month-to-date figures are estimated "
            f"until AWS finalises the month. As of {_when(alert.as_of)}.{also}"
        )
    )
    return cap_blocks(blocks)


@dataclass(frozen=True)
class BudgetDetails:
    """What the Details button shows: spend by service this period for one budget."""

    budget: str
    scope: str
    period_label: str
    limit: Decimal | None
    actual: Decimal
    forecast: Decimal | None
    by_service: tuple[tuple[str, Decimal], ...]
    thresholds: tuple[str, ...]
    as_of: datetime
    unit: str = "USD"


def build_budget_details_blocks(details: BudgetDetails) -> list[dict[str, Any]]:
    """The Details answer for a budget (ephemeral): spend by service and which thresholds are crossed."""
    limit = format_money(details.limit, details.unit) if details.limit else "no limit"
    forecast = (
        format_money(details.forecast, details.unit) if details.forecast is not None else "n/a"
    )
    blocks = [
        header(f"Budget {details.budget}: {details.period_label}"),
        section(
            f"*Scope:* {details.scope}\n*Spend:* {format_money(details.actual, details.unit)} of {limit}"
            f"\n*Forecast:* {forecast}"
        ),
    ]
    if details.by_service:
        lines = ["*Spend by service*"] + [
            f"• {name}: {format_money(amount, details.unit)}" for name, amount in details.by_service
        ]
        blocks.extend(section(chunk) for chunk in chunk_lines(lines))
    if details.thresholds:
        blocks.append(section("*Thresholds*\n" + "\n".join(f"• {t}" for t in details.thresholds)))
    blocks.append(context(f"As of {_when(details.as_of)}; month-to-date figures are estimated."))
    return cap_blocks(blocks)


# -- anomalies ----------------------------------------------------------------------------------


def describe_driver(driver: Driver | None, account_names: dict[str, str] | None = None) -> str:
    """`USW2-BoxUsage:p3.8xlarge in us-west-2, account data (3456...)`, or a fallback sentence."""
    if driver is None:
        return "no single usage type stands out"
    names = account_names or {}
    if driver.usage_type:
        text = (
            f"{driver.service} `{driver.usage_type}`"
            if driver.service
            else f"`{driver.usage_type}`"
        )
    else:
        text = driver.service or "unknown usage"
    if driver.region:
        text += f" in {driver.region}"
    if driver.account:
        name = names.get(driver.account)
        text += f", account {name} ({driver.account})" if name else f", account {driver.account}"
    if driver.contribution_usd is not None:
        text += f" (+{format_money(driver.contribution_usd)})"
    return text


def anomaly_text(anomaly: Anomaly) -> str:
    """Notification text for one anomaly."""
    return (
        f"Cost anomaly: {anomaly.key} {format_money(anomaly.impact_usd)} above expected "
        f"since {anomaly.start.isoformat()}"
    )


def build_anomaly_blocks(
    anomaly: Anomaly,
    *,
    driver: Driver | None,
    metric: str,
    as_of: datetime,
    account_names: dict[str, str] | None = None,
    also_seen_in: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """One new cost anomaly: $ impact, since when, expected vs actual, and the likely driver."""
    names = account_names or {}
    subject = anomaly.key
    if anomaly.dimension == "LINKED_ACCOUNT" and anomaly.key in names:
        subject = f"account {names[anomaly.key]} ({anomaly.key})"
    elif anomaly.dimension == "LINKED_ACCOUNT":
        subject = f"account {anomaly.key}"
    status = "ongoing" if anomaly.ongoing else f"ended {anomaly.end.isoformat()}"
    kind = anomaly.kind.replace("_", " ")
    blocks = [
        header(truncate(f"Cost anomaly: {subject}", 150)),
        section(
            f":chart_with_upwards_trend: *{format_money(anomaly.impact_usd)}* above expected on *{subject}* "
            f"since {anomaly.start.isoformat()} ({status})."
        ),
        fields_section(
            [
                f"*Actual*\n{format_money(anomaly.actual)}",
                f"*Expected*\n{format_money(anomaly.expected)}",
                f"*Change*\n{format_delta(anomaly.actual, anomaly.expected)}",
                f"*Kind*\n{kind}, {anomaly.severity} severity",
            ]
        ),
        section(f"*Likely driver:* {describe_driver(driver, names)}"),
    ]
    if also_seen_in:
        blocks.append(section(f"*Also seen in:* {', '.join(also_seen_in)}"))
    source = {
        "penny": "Penny's detector",
        "aws": "AWS Cost Anomaly Detection",
        "penny+aws": "Penny's detector and AWS Cost Anomaly Detection",
    }[anomaly.source]
    blocks.append(
        context(
            f"Found by {source}; daily {metric} {anomaly.start.isoformat()} – {anomaly.end.isoformat()} "
            f"(recent days are estimated). Id `{anomaly.anomaly_id}`. As of {_when(as_of)}."
        )
    )
    return cap_blocks(blocks)


# -- weekly digest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mover:
    """A service whose weekly cost changed: last week, the week before."""

    name: str
    last_week: Decimal
    week_before: Decimal


@dataclass(frozen=True)
class WeeklyDigest:
    """Everything the weekly digest shows."""

    week_start: date
    week_end: date  # inclusive
    last_week: Decimal
    week_before: Decimal
    movers: tuple[Mover, ...]
    month_to_date: Decimal
    month_forecast: Decimal | None
    budgets: tuple[str, ...]
    pending_approvals: tuple[str, ...]
    metric: str
    as_of: datetime
    notes: tuple[str, ...] = ()


def weekly_digest_text(digest: WeeklyDigest) -> str:
    """Notification text of the digest."""
    return (
        f"Weekly AWS cost digest {digest.week_start.isoformat()} – {digest.week_end.isoformat()}: "
        f"{format_money(digest.last_week)} ({format_delta(digest.last_week, digest.week_before)} vs the week before)"
    )


def build_weekly_digest_blocks(digest: WeeklyDigest) -> list[dict[str, Any]]:
    """The digest: week vs week, top movers, month to date and forecast, budgets, pending approvals."""
    forecast = (
        format_money(digest.month_forecast)
        if digest.month_forecast is not None
        else "not available"
    )
    blocks = [
        header(f"Weekly cost digest: {digest.week_start:%b %d} – {digest.week_end:%b %d, %Y}"),
        fields_section(
            [
                f"*Last week*\n{format_money(digest.last_week)}",
                f"*Week before*\n{format_money(digest.week_before)}",
                f"*Change*\n{format_delta(digest.last_week, digest.week_before)}",
                f"*Month to date / forecast*\n{format_money(digest.month_to_date)} / {forecast}",
            ]
        ),
    ]
    if digest.movers:
        lines = ["*Top movers*"] + [
            f"• {m.name}: {format_money(m.last_week)} ({format_delta(m.last_week, m.week_before)})"
            for m in digest.movers
        ]
        blocks.extend(section(chunk) for chunk in chunk_lines(lines))
    blocks.append(divider())
    budget_lines = ["*Budgets*"] + ([f"• {b}" for b in digest.budgets] or ["• none configured"])
    blocks.extend(section(chunk) for chunk in chunk_lines(budget_lines))
    approval_lines = ["*Pending approvals*"] + (
        [f"• {a}" for a in digest.pending_approvals] or ["• none"]
    )
    blocks.extend(section(chunk) for chunk in chunk_lines(approval_lines))
    notes = " ".join(digest.notes)
    blocks.append(
        context(
            f"Cost Explorer, {digest.metric}, weeks Monday–Sunday; recent days are estimated. "
            f"Chart of the last weeks by top services in the thread. As of {_when(digest.as_of)}. {notes}".strip()
        )
    )
    return cap_blocks(blocks)


# -- idle resources -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdleFinding:
    """One idle resource: what, why, the estimated monthly saving, and the action its button requests."""

    finding_id: str
    kind: str  # idle_instance, stopped_instance, unattached_volume, unassociated_eip, old_snapshot
    resource_id: str
    region: str
    description: str
    monthly_usd: Decimal | None
    action: str | None
    action_label: str = ""


KIND_TITLES = {
    "idle_instance": "EC2 instances with low CPU",
    "stopped_instance": "Stopped instances still paying for volumes",
    "unattached_volume": "Unattached EBS volumes",
    "unassociated_eip": "Unassociated Elastic IPs",
    "old_snapshot": "Old EBS snapshots",
}


@dataclass(frozen=True)
class IdleReport:
    """The idle-resources report."""

    findings: tuple[IdleFinding, ...]
    regions: tuple[str, ...]
    as_of: datetime
    cpu_threshold_percent: float
    cpu_lookback_days: int
    snapshot_age_days: int
    notes: tuple[str, ...] = field(default=())

    @property
    def total_monthly_usd(self) -> Decimal:
        """Sum of the estimated monthly savings that could be estimated."""
        return sum((f.monthly_usd for f in self.findings if f.monthly_usd is not None), Decimal(0))


def idle_report_text(report: IdleReport) -> str:
    """Notification text of the idle-resources report."""
    return (
        f"Idle resources: {len(report.findings)} finding(s), about "
        f"{format_money(report.total_monthly_usd)} a month to save"
    )


def build_idle_resources_blocks(report: IdleReport) -> list[dict[str, Any]]:
    """Findings grouped by kind, each with its saving and a button opening an approval request."""
    blocks: list[dict[str, Any]] = [
        header("Idle resources"),
        section(
            f":broom: {len(report.findings)} finding(s) in {', '.join(report.regions) or 'no region'}; "
            f"estimated savings about *{format_money(report.total_monthly_usd)} a month*."
            if report.findings
            else ":white_check_mark: Nothing idle found."
        ),
    ]
    shown = report.findings[:MAX_IDLE_FINDINGS_SHOWN]
    reserve = 2  # the closing context and a possible "more" line
    for kind, title in KIND_TITLES.items():
        group = [f for f in shown if f.kind == kind]
        if not group:
            continue
        if len(blocks) >= MAX_BLOCKS - reserve - 1:
            break
        blocks.append(section(f"*{title}*"))
        for finding in group:
            if len(blocks) >= MAX_BLOCKS - reserve:
                break
            blocks.append(_finding_block(finding))
    listed = sum(
        1 for b in blocks if b.get("block_id", "").startswith(ids.IDLE_FINDING_BLOCK_PREFIX)
    )
    if listed < len(report.findings):
        blocks.append(context(f"{len(report.findings) - listed} more finding(s) not shown."))
    notes = " ".join(report.notes)
    blocks.append(
        context(
            f"CPU: average below {report.cpu_threshold_percent:g}% over {report.cpu_lookback_days} days (CloudWatch); "
            f"snapshots older than {report.snapshot_age_days} days. Savings are estimates from us-east-1 "
            f"on-demand list prices. Buttons open an approval request; nothing changes until it is approved. "
            f"As of {_when(report.as_of)}. {notes}".strip()
        )
    )
    return cap_blocks(blocks)


def _finding_block(finding: IdleFinding) -> dict[str, Any]:
    saving = (
        f"saves about {format_money(finding.monthly_usd)}/month"
        if finding.monthly_usd is not None
        else "saving not estimated"
    )
    block: dict[str, Any] = {
        "type": "section",
        "block_id": f"{ids.IDLE_FINDING_BLOCK_PREFIX}{finding.finding_id}"[:255],
        "text": {
            "type": "mrkdwn",
            "text": truncate(
                f"`{finding.resource_id}` ({finding.region}): {finding.description}; {saving}", 3000
            ),
        },
    }
    if finding.action:
        block["accessory"] = _button(
            finding.action_label or "Request approval",
            ids.OPEN_APPROVAL_FROM_FINDING_ACTION,
            finding.finding_id,
        )
    return block


# -- schedules list and failures ----------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """One job in `jobs list` / `/penny schedules`."""

    name: str
    summary: str
    channel: str
    cron: str
    timezone: str
    enabled: bool
    next_run: datetime | None
    last_run: str


def schedule_row_text(row: ScheduleRow) -> str:
    """One line per job, as the CLI prints it."""
    nxt = _when(row.next_run) if row.next_run else "disabled"
    return (
        f"{row.name:<16} {row.cron:<14} {row.timezone:<16} {row.channel:<12} "
        f"next: {nxt:<24} last: {row.last_run}"
    )


def build_schedules_blocks(rows: list[ScheduleRow], *, now: datetime) -> list[dict[str, Any]]:
    """`/penny schedules`: each job with channel, cron, time zone, next and last run."""
    blocks = [header("Scheduled jobs")]
    for row in rows:
        nxt = _when(row.next_run) if row.next_run else "disabled"
        blocks.append(
            section(
                f"*{row.name}* — {row.summary}\n`{row.cron}` ({row.timezone}) → {row.channel}\n"
                f"Next: {nxt} · Last: {row.last_run}"
            )
        )
    blocks.append(context(f"Run one now with `python -m bot jobs run NAME`. As of {_when(now)}."))
    return cap_blocks(blocks)


def build_job_failure_blocks(job: str, error: str, when: datetime) -> list[dict[str, Any]]:
    """For the ops channel: which job failed, when, and the error (one line, no stack trace)."""
    return [
        section(f":x: Scheduled job *{job}* failed at {_when(when)}."),
        context(
            truncate(
                f"Error: {error}. The scheduler keeps running; details are in Penny's log.", 3000
            )
        ),
    ]
