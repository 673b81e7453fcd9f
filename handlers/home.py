"""App Home: published on `app_home_opened` with pending approvals, budgets, recent alerts and LLM spend.

Each part is read on its own; one that fails is shown as unavailable instead of leaving the
home tab blank.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import App

from bot.core.approvals import NEEDS_CHECK, PENDING, format_when
from bot.core.blocks.home import HomeAlert, HomeApproval, HomeBudget, HomeLlmSpend, build_home_view
from bot.core.cost_report import budget_statuses
from bot.core.money import format_money
from bot.deps import Deps
from handlers.once import once_per_delivery

logger = logging.getLogger(__name__)


def pending_approvals(deps: Deps) -> list[HomeApproval]:
    """Requests waiting for a decision, and those that need a human check after a restart."""
    from bot.store.approvals import list_requests

    tz = deps.settings.tz
    return [
        HomeApproval(
            request_id=r.id,
            summary=r.preview.summary or f"{r.action} {r.id}",
            state=r.state,
            requested_by=r.requested_by,
            expires=f"expires {format_when(r.expires_at, tz)}"
            if r.state == PENDING
            else "check the resource, then close it",
        )
        for r in list_requests(deps.store, states=[PENDING, NEEDS_CHECK], limit=20)
    ]


def budget_lines(deps: Deps) -> list[HomeBudget]:
    """AWS budgets with their current spend (Budgets API calls are free)."""
    lines = []
    for status in budget_statuses(deps.cost.budgets()):
        if status.limit is None:
            continue
        lines.append(
            HomeBudget(
                name=status.name,
                actual=format_money(status.actual, status.unit),
                limit=format_money(status.limit, status.unit),
                percent_used=float(status.percent_used or 0),
                forecast=format_money(status.forecasted, status.unit)
                if status.forecasted is not None
                else None,
            )
        )
    return lines


def recent_alerts(deps: Deps, limit: int = 8) -> list[HomeAlert]:
    """The scheduled posts Penny made most recently."""
    rows = deps.store.query(
        "SELECT job, posted_at, channel FROM job_ledger WHERE posted_at IS NOT NULL ORDER BY posted_at DESC LIMIT ?",
        [limit],
    )
    return [
        HomeAlert(
            job=r["job"].replace("_", " "),
            when=r["posted_at"][:16].replace("T", " "),
            channel=r["channel"] or "",
        )
        for r in rows
    ]


def llm_spend(deps: Deps) -> HomeLlmSpend | None:
    """Today's and this week's LLM spend against the daily cap."""
    from bot.agent.usage import daily_spend, usage_rows

    today = deps.today()
    week = usage_rows(deps.store, today - timedelta(days=6), today)
    if not week:
        return None
    todays = [r for r in week if r["day"] == today.isoformat()]
    fast = sum(1 for r in todays if r.get("path") != "llm")
    return HomeLlmSpend(
        today_usd=daily_spend(deps.store, today),
        daily_budget_usd=deps.settings.llm_daily_budget_usd,
        week_usd=sum(float(r.get("cost_usd") or 0) for r in week),
        questions_today=len(todays),
        fast_path_share=fast / len(todays) if todays else None,
    )


def build_home(deps: Deps) -> dict[str, Any]:
    """Gather each part (tolerating failures) and build the view."""
    notes: list[str] = []

    def part(name: str, read: Any, fallback: Any) -> Any:
        try:
            return read(deps)
        except Exception:
            logger.exception("part=<%s> | home tab part failed", name)
            notes.append(f"{name} unavailable just now")
            return fallback

    return build_home_view(
        approvals=part("approvals", pending_approvals, []),
        budgets=part("budgets", budget_lines, None),
        alerts=part("alerts", recent_alerts, []),
        llm=part("LLM spend", llm_spend, None),
        now=deps.clock(),
        notes=notes,
    )


def register(app: App, deps: Deps) -> None:
    """Publish the home tab whenever someone opens it."""

    def ack_home(ack: Any) -> None:
        ack()

    def publish_home(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        deps.slack.views_publish(user_id=event["user"], view=build_home(deps))

    app.event("app_home_opened")(ack=ack_home, lazy=[once_per_delivery(deps, publish_home)])
