"""Pure pieces of answering a question in a thread: movers between two periods, daily
series for the anomaly detector, usage windows, and what Penny can do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.core.cost_report import GroupedCosts
from bot.core.money import ZERO, percent_change

USAGE_WINDOWS = ("today", "7d", "30d")

# (example question, what Penny does with it): the capabilities answer.
CAPABILITIES: tuple[tuple[str, str], ...] = (
    (
        "how much did we spend on RDS last month?",
        "spend for a period, service, account, region or tag",
    ),
    ("top 5 services this month", "the biggest services"),
    ("why did EC2 go up last week?", "what changed between two periods, biggest movers in $ and %"),
    ("are we on track this month?", "Cost Explorer's forecast"),
    ("budgets", "AWS budget status"),
    ("any cost anomalies?", "unusual spend in the last days"),
    ("what could we turn off?", "idle resources"),
    ("check the logs for database issues", "incident triage across log groups and pods"),
    ("reboot orders-db", "an approval request (nothing runs until an approver clicks)"),
    ("and the month before?", "follow-ups in the same thread"),
    ("how much have you cost today?", "Penny's own LLM usage"),
)


@dataclass(frozen=True)
class Mover:
    """One group's change between the baseline and the period."""

    key: str
    label: str
    amount: Decimal
    previous: Decimal

    @property
    def delta(self) -> Decimal:
        """Change in money (positive: up)."""
        return self.amount - self.previous

    @property
    def percent(self) -> Decimal | None:
        """Change in percent of the baseline, None for a group that is new."""
        return percent_change(self.amount, self.previous)


def biggest_movers(current: GroupedCosts, baseline: GroupedCosts, limit: int = 5) -> list[Mover]:
    """Groups ranked by the size of their change (up or down), largest first, then by label.

    A group present in only one of the two periods counts as zero in the other.
    """
    keys = set(current.amounts) | set(baseline.amounts)
    movers = [
        Mover(
            key=key,
            label=current.labels.get(key) or baseline.labels.get(key) or key,
            amount=current.amounts.get(key, ZERO),
            previous=baseline.amounts.get(key, ZERO),
        )
        for key in keys
    ]
    movers = [m for m in movers if m.delta.quantize(Decimal("0.01")) != 0]
    movers.sort(key=lambda m: (-abs(m.delta), m.label))
    return movers[:limit]


def usage_window(word: str, today: date) -> tuple[date, date]:
    """`today`, `7d` or `30d` as an inclusive (first day, last day) ending today."""
    days = {"today": 1, "7d": 7, "30d": 30}[word]
    return today - timedelta(days=days - 1), today
