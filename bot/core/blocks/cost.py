"""Block Kit for `/cost` answers: reports, forecasts, budgets, help and errors (pure data).

Every answer ends with a source line saying where the numbers come from: Cost Explorer,
the metric, the exact UTC days, estimated or final, and when AWS produced the data.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core.blocks.limits import (
    MAX_FIELDS,
    cap_blocks,
    chunk_lines,
    context,
    fields_section,
    header,
    section,
    truncate,
)
from bot.core.cost_grammar import COST_EXAMPLES, COST_HELP_TEXT
from bot.core.cost_report import BudgetStatus, CostReport, CostRow, ForecastReport
from bot.core.money import format_delta, format_money, format_percent
from bot.core.periods import Period

Blocks = list[dict[str, Any]]
_STATUS_EMOJI = {
    "over": ":red_circle:",
    "at risk": ":large_orange_circle:",
    "ok": ":large_green_circle:",
}
_ROW_LABEL_MAX = 90


def build_cost_report_blocks(report: CostReport) -> Blocks:
    """The answer to `/cost <period> [by ...]`: totals, change, top groups, forecast, source."""
    blocks: Blocks = [
        header(f"AWS cost · {report.period.label}"),
        fields_section(_summary_fields(report)),
    ]
    blocks.extend(section(chunk) for chunk in chunk_lines(_row_lines(report)))
    if report.notes:
        blocks.append(context(*(f":warning: {note}" for note in report.notes)))
    blocks.append(context(_report_source_line(report)))
    return cap_blocks(blocks)


def cost_report_text(report: CostReport) -> str:
    """The notification / fallback text of a cost report, one line."""
    estimated = " (estimated)" if report.estimated else ""
    text = (
        f"AWS cost, {report.period.label}: {format_money(report.total, report.currency)}{estimated}"
    )
    if report.previous_total is not None and report.comparison is not None:
        change = format_delta(report.total, report.previous_total, report.currency)
        text += f", {change} vs {report.comparison.label}"
    return text


def _summary_fields(report: CostReport) -> list[str]:
    estimated = " _(estimated)_" if report.estimated else ""
    fields = [f"*Spend*{estimated}\n*{format_money(report.total, report.currency)}*"]
    if report.previous_total is not None and report.comparison is not None:
        fields.append(
            f"*vs {report.comparison.label}*\n"
            f"{format_money(report.previous_total, report.currency)} → "
            f"{format_delta(report.total, report.previous_total, report.currency)}"
        )
    if report.forecast is not None:
        text = f"*Forecast, whole month*\n{format_money(report.forecast.total, report.currency)}"
        if report.forecast.low is not None and report.forecast.high is not None:
            text += f" ({_range(report.forecast.low, report.forecast.high, report.currency)})"
        fields.append(text)
    return fields


def _row_lines(report: CostReport) -> list[str]:
    if not report.rows:
        return [
            "No costs recorded for this period"
            + (" with these filters." if report.filters else ".")
        ]
    shown = len(report.rows)
    title = f"*Top {shown} of {report.group_count} by {report.group_by.label}*"
    if shown == report.group_count:
        title = f"*By {report.group_by.label}*"
    lines = [title]
    lines.extend(_row_line(i, row, report.currency) for i, row in enumerate(report.rows, 1))
    if report.others is not None:
        lines.append(_row_line(None, report.others, report.currency))
    return lines


def _row_line(rank: int | None, row: CostRow, currency: str) -> str:
    label = truncate(row.label, _ROW_LABEL_MAX)
    prefix = f"{rank}. " if rank is not None else "• "
    line = f"{prefix}{label} — *{format_money(row.amount, currency)}*"
    if row.previous is not None:
        line += f" · {format_delta(row.amount, row.previous, currency)}"
    return line


def _range(low: Decimal, high: Decimal, currency: str) -> str:
    return f"{format_money(low, currency)} – {format_money(high, currency)}"


def _days(period: Period) -> str:
    return f"{period.start.isoformat()} to {period.end_inclusive.isoformat()}"


def _as_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _report_source_line(report: CostReport) -> str:
    parts = [
        "Source: AWS Cost Explorer",
        report.metric,
        f"{_days(report.period)} (UTC days)",
    ]
    if report.comparison is not None:
        parts.append(f"compared with {_days(report.comparison)}")
    parts.append("estimated, AWS may still revise it" if report.estimated else "final")
    parts.append(f"data as of {_as_of(report.as_of)}")
    if report.filters:
        parts.append("filters: " + ", ".join(report.filters))
    return " · ".join(parts)


def build_forecast_blocks(report: ForecastReport, *, notes: tuple[str, ...] = ()) -> Blocks:
    """The answer to `/cost forecast`: each month's mean with its prediction interval."""
    fields = []
    for point in report.points[:MAX_FIELDS]:
        name = f"{point.start:%B %Y}"
        if point.start.day != 1:
            name += f" (from {point.start:%b} {point.start.day})"
        text = f"*{name}*\n{format_money(point.mean, report.currency)}"
        if point.low is not None and point.high is not None:
            text += f"\n{report.interval_level}%: {_range(point.low, point.high, report.currency)}"
        fields.append(text)
    blocks: Blocks = [header("AWS cost forecast")]
    if fields:
        blocks.append(fields_section(fields))
        blocks.append(section(f"*Total forecast:* {format_money(report.total, report.currency)}"))
    else:
        blocks.append(section("Cost Explorer returned no forecast."))
    if notes:
        blocks.append(context(*(f":warning: {note}" for note in notes)))
    blocks.append(context(_forecast_source_line(report)))
    return cap_blocks(blocks)


def forecast_text(report: ForecastReport) -> str:
    """The notification / fallback text of a forecast."""
    return f"AWS cost forecast: {format_money(report.total, report.currency)} over the next {len(report.points)} month(s)"


def _forecast_source_line(report: ForecastReport) -> str:
    parts = ["Source: AWS Cost Explorer forecast", report.metric]
    if report.points:
        first, last = report.points[0], report.points[-1]
        parts.append(
            f"{first.start.isoformat()} to {last.end_exclusive.isoformat()} (end exclusive, UTC)"
        )
    parts.append(f"{report.interval_level}% prediction interval")
    parts.append(f"as of {_as_of(report.as_of)}")
    if report.filters:
        parts.append("filters: " + ", ".join(report.filters))
    return " · ".join(parts)


def build_budgets_blocks(budgets: list[BudgetStatus], *, as_of: datetime) -> Blocks:
    """The answer to `/cost budgets`: each AWS budget's limit, actual, forecast and % used."""
    blocks: Blocks = [header("AWS Budgets")]
    if not budgets:
        blocks.append(
            section("No AWS budgets in this account. Create one in the AWS Billing console.")
        )
    blocks.extend(section(_budget_text(b)) for b in budgets)
    blocks.append(
        context(
            f"Source: AWS Budgets · as of {_as_of(as_of)} · AWS refreshes budgets a few times a day"
        )
    )
    return cap_blocks(blocks)


def budgets_text(budgets: list[BudgetStatus]) -> str:
    """The notification / fallback text of the budgets answer."""
    over = sum(1 for b in budgets if b.status != "ok")
    return f"AWS Budgets: {len(budgets)} budget(s), {over} over or at risk"


def _budget_text(budget: BudgetStatus) -> str:
    emoji = _STATUS_EMOJI[budget.status]
    title = f"{emoji} *{truncate(budget.name, 100)}* ({budget.time_unit.lower() or 'period'}, {budget.budget_type.lower()}): {budget.status}"
    actual = _budget_amount(budget.actual, budget.unit)
    line = f"Actual {actual}"
    if budget.limit is not None:
        line += f" of {_budget_amount(budget.limit, budget.unit)}"
    if budget.percent_used is not None:
        line += f" ({_plain_percent(budget.percent_used)} used)"
    if budget.forecasted is not None:
        line += f" · forecast {_budget_amount(budget.forecasted, budget.unit)}"
        if budget.forecast_percent is not None:
            line += f" ({_plain_percent(budget.forecast_percent)})"
    return f"{title}\n{line}"


def _budget_amount(amount: Decimal, unit: str) -> str:
    if len(unit) == 3 and unit.isupper():
        return format_money(amount, unit)
    return f"{amount.normalize():,f} {unit}"


def _plain_percent(percent: Decimal) -> str:
    return format_percent(percent).lstrip("+")


def build_cost_help_blocks() -> Blocks:
    """The `/cost help` answer: grammar and examples."""
    examples = "\n".join(f"`{command}`: {meaning}" for command, meaning in COST_EXAMPLES)
    return [
        header("/cost: AWS spend from Cost Explorer"),
        section(COST_HELP_TEXT),
        section(f"*Examples*\n{examples}"),
    ]


def build_error_blocks(
    message: str, *, show_usage: bool = False, title: str | None = None
) -> Blocks:
    """A short error answer; with `show_usage`, the grammar follows (for bad `/cost` words)."""
    blocks: Blocks = []
    if title:
        blocks.append(header(title))
    blocks.append(section(f":warning: {message}"))
    if show_usage:
        blocks.append(section(COST_HELP_TEXT))
    return blocks
