"""Block Kit for Penny's App Home: what needs a decision, budgets, recent alerts, Penny's own LLM spend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.blocks.limits import cap_blocks, context, divider, header, section

MAX_ITEMS = 8


@dataclass(frozen=True)
class HomeApproval:
    """A request shown on the home tab."""

    request_id: str
    summary: str
    state: str
    requested_by: str
    expires: str
    link: str | None = None


@dataclass(frozen=True)
class HomeBudget:
    """One budget line: name, actual, limit, % used, forecast (already formatted)."""

    name: str
    actual: str
    limit: str
    percent_used: float
    forecast: str | None = None


@dataclass(frozen=True)
class HomeAlert:
    """A scheduled post Penny made recently."""

    job: str
    when: str
    channel: str


@dataclass(frozen=True)
class HomeLlmSpend:
    """Penny's own LLM spend today against its daily cap, and over 7 days."""

    today_usd: float
    daily_budget_usd: float
    week_usd: float
    questions_today: int
    fast_path_share: float | None


def _bullets(lines: list[str], empty: str, more: int) -> dict[str, Any]:
    if not lines:
        return section(f"_{empty}_")
    text = "\n".join(lines)
    if more > 0:
        text += f"\n…and {more} more"
    return section(text)


def _budget_line(b: HomeBudget) -> str:
    mark = (
        ":red_circle:"
        if b.percent_used >= 100
        else ":large_yellow_circle:"
        if b.percent_used >= 80
        else ":large_green_circle:"
    )
    forecast = f" · forecast {b.forecast}" if b.forecast else ""
    return f"{mark} *{b.name}*: {b.actual} of {b.limit} ({b.percent_used:.1f}%){forecast}"


def _approval_line(a: HomeApproval) -> str:
    name = f"<{a.link}|{a.summary}>" if a.link else a.summary
    flag = ":warning: needs a human check · " if a.state == "needs_check" else ""
    return f"• {flag}{name} · asked by <@{a.requested_by}> · {a.expires}"


def build_home_view(
    *,
    approvals: list[HomeApproval],
    budgets: list[HomeBudget] | None,
    alerts: list[HomeAlert],
    llm: HomeLlmSpend | None,
    now: datetime,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The `home` view for views.publish; `budgets` None means they could not be read."""
    blocks: list[dict[str, Any]] = [
        header("Penny"),
        section(
            "Your AWS bill, watched. Try `/cost this-month`, `/cost help` or `/penny help`, or ask me in a DM."
        ),
        divider(),
        header(f"Waiting for a decision ({len(approvals)})"),
        _bullets(
            [_approval_line(a) for a in approvals[:MAX_ITEMS]],
            "Nothing is waiting for approval.",
            len(approvals) - MAX_ITEMS,
        ),
        divider(),
        header("Budgets"),
    ]
    if budgets is None:
        blocks.append(section("_AWS Budgets could not be read just now._"))
    else:
        blocks.append(
            _bullets(
                [_budget_line(b) for b in budgets[:MAX_ITEMS]],
                "No AWS budgets are defined.",
                len(budgets) - MAX_ITEMS,
            )
        )
    blocks += [
        divider(),
        header("Recent alerts"),
        _bullets(
            [f"• {a.job} in <#{a.channel}> · {a.when}" for a in alerts[:MAX_ITEMS]],
            "No scheduled alerts posted yet.",
            len(alerts) - MAX_ITEMS,
        ),
        divider(),
        header("Penny's own LLM spend"),
    ]
    if llm is None:
        blocks.append(section("_No usage recorded yet._"))
    else:
        share = (
            f" · {llm.fast_path_share:.0%} answered without the LLM"
            if llm.fast_path_share is not None
            else ""
        )
        cap = f"${llm.daily_budget_usd:,.2f}"
        blocks.append(
            section(
                f"Today ${llm.today_usd:,.2f} of {cap} daily cap · {llm.questions_today} questions{share}\nLast 7 days ${llm.week_usd:,.2f}"
            )
        )
    lines = [f"Updated {now:%Y-%m-%d %H:%M} UTC", *(notes or [])]
    blocks.append(context(" · ".join(lines)))
    return {"type": "home", "blocks": cap_blocks(blocks)}
