"""Block Kit for answers to questions in a thread (pure data): what Penny can do, what
changed between two periods, anomalies, Penny's own usage, and short notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.core.anomaly import Anomaly
from bot.core.ask import CAPABILITIES, Mover
from bot.core.blocks.limits import cap_blocks, chunk_lines, context, header, section
from bot.core.money import format_delta, format_money
from bot.core.periods import Period

Blocks = list[dict[str, Any]]


def build_capabilities_blocks(opening: str = "", note: str = "") -> Blocks:
    """What Penny can answer without an LLM, with an example for each, plus the slash commands."""
    lines = [f"• _{example}_ — {what}" for example, what in CAPABILITIES]
    blocks: Blocks = []
    if opening:
        blocks.append(section(opening))
    blocks.append(section("*Ask me things like*\n" + "\n".join(lines)))
    blocks.append(
        context("Also: `/cost help` for the cost grammar, `/penny help` for admin commands.")
    )
    if note:
        blocks.append(context(note))
    return blocks


def capabilities_text(opening: str = "") -> str:
    """Fallback text for the capabilities answer."""
    return (
        opening
        or "Here is what I can answer: spend, top services, changes, forecast, budgets, anomalies, idle resources, log triage, approvals."
    )


def build_note_blocks(text: str, note: str = "") -> Blocks:
    """A one-section answer (errors, pointers), with an optional context note."""
    blocks: Blocks = [section(text)]
    if note:
        blocks.append(context(note))
    return blocks


def _mover_line(mover: Mover, currency: str) -> str:
    arrow = ":arrow_up_small:" if mover.delta > 0 else ":arrow_down_small:"
    return (
        f"{arrow} *{mover.label}*: {format_money(mover.previous, currency)} → "
        f"{format_money(mover.amount, currency)} ({format_delta(mover.amount, mover.previous, currency)})"
    )


def build_compare_blocks(
    *,
    period: Period,
    baseline: Period,
    total: Decimal,
    baseline_total: Decimal,
    movers: Sequence[Mover],
    group_label: str,
    currency: str,
    metric: str,
    estimated: bool,
    filters: Sequence[str] = (),
    drill_down: tuple[str, Sequence[Mover]] | None = None,
) -> Blocks:
    """Two periods side by side and the biggest movers (by `group_label`) in $ and %.

    `drill_down` is (the mover drilled into, its biggest usage-type movers).
    """
    where = f" · {', '.join(filters)}" if filters else ""
    blocks: Blocks = [
        header(f"What changed · {period.label} vs {baseline.label}"),
        section(
            f"*{period.label}*: {format_money(total, currency)}\n"
            f"*{baseline.label}*: {format_money(baseline_total, currency)}\n"
            f"*Change*: {format_delta(total, baseline_total, currency)}"
        ),
    ]
    if movers:
        lines = [_mover_line(m, currency) for m in movers]
        blocks.extend(
            section(chunk) for chunk in chunk_lines([f"*Biggest movers by {group_label}*", *lines])
        )
    else:
        blocks.append(section(f"No {group_label} changed by a cent or more."))
    if drill_down and drill_down[1]:
        name, inner = drill_down
        lines = [_mover_line(m, currency) for m in inner]
        blocks.append(section(f"*Inside {name}, by usage type*\n" + "\n".join(lines)))
    state = "estimated (month not closed)" if estimated else "final"
    blocks.append(
        context(
            f"Cost Explorer · {metric}{where} · {_days(period)} vs {_days(baseline)} (UTC) · {state}"
        )
    )
    return cap_blocks(blocks)


def compare_text(
    period: Period, baseline: Period, total: Decimal, baseline_total: Decimal, currency: str
) -> str:
    """Fallback text of a comparison."""
    return (
        f"{period.label}: {format_money(total, currency)} vs {baseline.label}: "
        f"{format_money(baseline_total, currency)} ({format_delta(total, baseline_total, currency)})"
    )


def _days(period: Period) -> str:
    return f"{period.start.isoformat()}..{period.end_inclusive.isoformat()}"


def build_anomalies_blocks(
    anomalies: Sequence[Anomaly], *, first_day: date, as_of: date, metric: str
) -> Blocks:
    """Anomalies found by Penny's detector on daily spend per service, largest impact first."""
    blocks: Blocks = [header("Cost anomalies")]
    if not anomalies:
        blocks.append(
            section(f"No unusual spend by service in the days up to {as_of.isoformat()}.")
        )
    for item in anomalies[:10]:
        state = "ongoing" if item.ongoing else f"until {item.end.isoformat()}"
        blocks.append(
            section(
                f"*{item.key}* · {item.kind.replace('_', ' ')} · {item.severity}\n"
                f"{item.start.isoformat()} ({state}): {format_money(item.actual)} against "
                f"{format_money(item.expected)} expected, {format_money(item.impact_usd)} more"
            )
        )
    blocks.append(
        context(
            f"Penny's detector · Cost Explorer {metric}, daily by service, "
            f"{first_day.isoformat()}..{as_of.isoformat()} (UTC)"
        )
    )
    return cap_blocks(blocks)


def build_usage_blocks(
    summary: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    window: str,
    first_day: date,
    last_day: date,
    budget_usd: float,
    spent_today_usd: float,
    tools: Mapping[str, int],
    approvals: int,
    as_of: datetime,
) -> Blocks:
    """Penny's own usage by day, user and channel: questions, LLM share, tokens, $."""
    days = summary.get("day", [])
    questions = sum(int(r["questions"]) for r in days)
    llm = sum(int(r["llm_questions"] or 0) for r in days)
    cost = sum(float(r["cost_usd"] or 0) for r in days)
    tokens_in = sum(int(r["input_tokens"] or 0) for r in days)
    tokens_out = sum(int(r["output_tokens"] or 0) for r in days)
    share = f"{(questions - llm) * 100 // questions}% fast path" if questions else "no questions"
    blocks: Blocks = [
        header(f"Penny's usage · {window}"),
        section(
            f"*{questions}* questions ({share}, {llm} LLM) · tokens {tokens_in:,} in / "
            f"{tokens_out:,} out · *${cost:,.4f}* estimated\n"
            f"Today: ${spent_today_usd:,.4f} of the ${budget_usd:,.2f} daily LLM budget · "
            f"{approvals} approval request(s)"
        ),
    ]
    for key, title in (("day", "By day"), ("user", "By user"), ("channel", "By channel")):
        rows = summary.get(key, [])
        if not rows:
            continue
        lines = [_usage_line(key, row) for row in rows[:15]]
        blocks.extend(section(chunk) for chunk in chunk_lines([f"*{title}*", *lines]))
    if tools:
        ranked = sorted(tools.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        blocks.append(section("*Tools called*\n" + ", ".join(f"`{n}` {c}" for n, c in ranked)))
    blocks.append(
        context(
            f"{first_day.isoformat()}..{last_day.isoformat()} · $ estimated from the price table · "
            f"as of {as_of:%Y-%m-%d %H:%M %Z}"
        )
    )
    return cap_blocks(blocks)


def _who(key: str, value: str) -> str:
    """A user or channel as Slack shows it; DMs have no channel link."""
    if key == "user" and value:
        return f"<@{value}>"
    if key == "channel" and value[:1] in ("C", "G"):
        return f"<#{value}>"
    if key == "channel" and value[:1] == "D":
        return "a DM"
    return value or "?"


def _usage_line(key: str, row: Mapping[str, Any]) -> str:
    label = _who(key, str(row[key] or ""))
    return (
        f"• {label}: {row['questions']} questions, {row['llm_questions'] or 0} LLM, "
        f"{int(row['input_tokens'] or 0):,}/{int(row['output_tokens'] or 0):,} tokens, "
        f"${float(row['cost_usd'] or 0):,.4f}"
    )
