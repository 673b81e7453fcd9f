"""Penny watches itself: what every question cost, and the daily LLM budget switch.

One row per question (fast path or LLM): provider, model, input and output tokens, the
estimated $ from a price table, latency, the tools called with their outcome, the approval
requests created, user and channel. Prices are dollars per million tokens; the defaults
cover the default model of each provider and `[llm.prices]` in penny.toml overrides or
adds models:

    [llm.prices."us.anthropic.claude-haiku-4-5-20251001-v1:0"]
    input = 1.0     # $ per million input tokens
    output = 5.0    # $ per million output tokens

A model missing from the table is counted at $0 and logged once, so an unknown price
never blocks answers but is visible.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.store.db import Store

logger = logging.getLogger(__name__)

PATH_FAST = "fast"
PATH_LLM = "llm"

# $ per million tokens (input, output), list prices of the default models.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": (1.0, 5.0),
    "global.anthropic.claude-haiku-4-5-20251001-v1:0": (1.0, 5.0),
    "anthropic.claude-haiku-4-5-20251001-v1:0": (1.0, 5.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4o-mini": (0.15, 0.60),
    "llama3.1": (0.0, 0.0),
}
_unknown_logged: set[str] = set()


@dataclass(frozen=True)
class ToolCall:
    """One tool the agent called and how it ended: success, error or interrupted."""

    name: str
    status: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as stored."""
        return {"name": self.name, "status": self.status}


@dataclass
class QuestionUsage:
    """Everything recorded about one question Penny answered."""

    at: datetime
    day: date
    user: str
    channel: str
    path: str
    provider: str = ""
    model: str = ""
    thread_ts: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    tools: list[ToolCall] = field(default_factory=list)
    approvals: list[str] = field(default_factory=list)
    stop_reason: str = ""
    error: str | None = None


def price_table(file_section: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """The defaults with `[llm.prices]` from penny.toml applied (a bad entry is ignored and logged)."""
    table = dict(DEFAULT_PRICES)
    for model, entry in (file_section.get("prices") or {}).items():
        try:
            table[str(model)] = (float(entry["input"]), float(entry["output"]))
        except (KeyError, TypeError, ValueError):
            logger.warning(
                "model=<%s> | ignoring malformed [llm.prices] entry, need input and output", model
            )
    return table


def estimate_cost(
    prices: Mapping[str, tuple[float, float]], model: str, input_tokens: int, output_tokens: int
) -> float:
    """Estimated $ of one call or question; $0 (logged once) when the model has no price."""
    price = prices.get(model)
    if price is None:
        if model not in _unknown_logged:
            _unknown_logged.add(model)
            logger.warning(
                "model=<%s> | no price in the table, counting $0; add it under [llm.prices]", model
            )
        return 0.0
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


def record_question(store: Store, usage: QuestionUsage) -> int:
    """Store one question's usage; returns its row id."""
    with store.transaction() as db:
        cursor = db.execute(
            """INSERT INTO llm_usage (at, day, user, channel, thread_ts, path, provider, model,
                input_tokens, output_tokens, cost_usd, latency_ms, tools, approvals, stop_reason, error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                usage.at.isoformat(timespec="seconds"),
                usage.day.isoformat(),
                usage.user,
                usage.channel,
                usage.thread_ts,
                usage.path,
                usage.provider,
                usage.model,
                usage.input_tokens,
                usage.output_tokens,
                round(usage.cost_usd, 6),
                usage.latency_ms,
                json.dumps([t.to_dict() for t in usage.tools]),
                json.dumps(usage.approvals),
                usage.stop_reason,
                usage.error,
            ],
        )
        return int(cursor.lastrowid or 0)


def daily_spend(store: Store, day: date) -> float:
    """Penny's estimated LLM spend in $ on `day` (PENNY_TIMEZONE)."""
    rows = store.query(
        "SELECT COALESCE(SUM(cost_usd), 0) AS spend FROM llm_usage WHERE day = ?", [day.isoformat()]
    )
    return float(rows[0]["spend"])


def over_budget(deps: Any) -> bool:
    """True when today's LLM spend has reached PENNY_LLM_DAILY_BUDGET_USD (0 disables the LLM)."""
    budget = float(deps.settings.llm_daily_budget_usd)
    return daily_spend(deps.store, deps.today()) >= budget


def usage_rows(store: Store, first_day: date, last_day: date) -> list[dict[str, Any]]:
    """Every recorded question between two days (inclusive), oldest first, JSON fields decoded."""
    rows = store.query(
        "SELECT * FROM llm_usage WHERE day BETWEEN ? AND ? ORDER BY id",
        [first_day.isoformat(), last_day.isoformat()],
    )
    for row in rows:
        row["tools"] = json.loads(row["tools"])
        row["approvals"] = json.loads(row["approvals"])
    return rows


def usage_summary(store: Store, first_day: date, last_day: date) -> dict[str, list[dict[str, Any]]]:
    """Totals by day, user and channel for `/penny usage`: questions, LLM share, tokens, $.

    Each list holds dicts with the key (`day`, `user` or `channel`), `questions`,
    `llm_questions`, `input_tokens`, `output_tokens` and `cost_usd`, biggest spend first
    (days in date order).
    """
    summary: dict[str, list[dict[str, Any]]] = {}
    for key in ("day", "user", "channel"):
        rows = store.query(
            f"""SELECT {key}, COUNT(*) AS questions,
                SUM(CASE WHEN path = 'llm' THEN 1 ELSE 0 END) AS llm_questions,
                SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
                ROUND(SUM(cost_usd), 6) AS cost_usd
            FROM llm_usage WHERE day BETWEEN ? AND ? GROUP BY {key}
            ORDER BY {"day" if key == "day" else "cost_usd DESC, questions DESC"}""",
            [first_day.isoformat(), last_day.isoformat()],
        )
        summary[key] = rows
    return summary
