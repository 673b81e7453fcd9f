"""Penny's own LLM usage: prices, per-question records, daily spend, and the budget switch."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.agent.service import STATUS_OVER_BUDGET, answer_question, install_agent
from bot.agent.usage import (
    PATH_FAST,
    PATH_LLM,
    QuestionUsage,
    ToolCall,
    daily_spend,
    estimate_cost,
    over_budget,
    price_table,
    record_question,
    usage_rows,
    usage_summary,
)
from bot.store import open_store
from tests.fakes.scripted_model import ScriptedModel

DAY = date(2026, 5, 20)
AT = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def usage(**fields) -> QuestionUsage:
    base = {"at": AT, "day": DAY, "user": "UALICE01", "channel": "C0OPS", "path": PATH_LLM}
    return QuestionUsage(**{**base, **fields})


def test_prices_default_and_override_from_the_config_table():
    table = price_table(
        {"prices": {"my-vllm-model": {"input": 0.1, "output": 0.2}, "broken": {"input": 1}}}
    )
    assert table["my-vllm-model"] == (0.1, 0.2)
    assert "broken" not in table
    assert table["us.anthropic.claude-haiku-4-5-20251001-v1:0"] == (1.0, 5.0)
    assert estimate_cost(table, "my-vllm-model", 1_000_000, 500_000) == pytest.approx(0.2)
    assert estimate_cost(table, "unknown-model", 10_000, 10_000) == 0.0


def test_records_keep_tools_approvals_and_sum_per_day():
    store = open_store(":memory:")
    record_question(
        store,
        usage(
            input_tokens=1000,
            output_tokens=200,
            cost_usd=0.002,
            tools=[
                ToolCall("cost_and_usage", "success"),
                ToolCall("stop_ec2_instances", "interrupted"),
            ],
            approvals=["apr-0123456789abcdef"],
        ),
    )
    record_question(store, usage(user="UBOB0001", cost_usd=0.5))
    record_question(store, usage(path=PATH_FAST, user="UBOB0001"))
    record_question(store, usage(day=date(2026, 5, 21), cost_usd=9.0))

    assert daily_spend(store, DAY) == pytest.approx(0.502)
    assert daily_spend(store, date(2026, 5, 21)) == pytest.approx(9.0)
    assert daily_spend(store, date(2026, 5, 19)) == 0
    first = usage_rows(store, DAY, DAY)[0]
    assert first["tools"] == [
        {"name": "cost_and_usage", "status": "success"},
        {"name": "stop_ec2_instances", "status": "interrupted"},
    ]
    assert first["approvals"] == ["apr-0123456789abcdef"]
    summary = usage_summary(store, DAY, date(2026, 5, 21))
    assert [(d["day"], d["questions"], d["llm_questions"]) for d in summary["day"]] == [
        ("2026-05-20", 3, 2),
        ("2026-05-21", 1, 1),
    ]
    assert [(u["user"], u["cost_usd"]) for u in summary["user"]] == [
        ("UALICE01", 9.002),
        ("UBOB0001", 0.5),
    ]


def test_budget_switch_answers_without_the_model_once_spent(make_deps):
    clock = lambda: AT  # noqa: E731 - a fixed clock
    deps = make_deps(clock=clock, PENNY_LLM_DAILY_BUDGET_USD="1.00")
    model = ScriptedModel([])  # any call to the model would fail the run
    install_agent(deps, model)
    record_question(deps.store, usage(cost_usd=0.99))
    assert not over_budget(deps)

    record_question(deps.store, usage(cost_usd=0.01))
    reply = answer_question(deps, "why did EC2 go up?", "UALICE01", "C0OPS", "1.0")

    assert over_budget(deps)
    assert reply.status == STATUS_OVER_BUDGET
    assert "$1.00" in reply.text and "fast path" in reply.text
    assert model.calls == []


def test_a_zero_budget_turns_the_llm_off(make_deps):
    deps = make_deps(clock=lambda: AT, PENNY_LLM_DAILY_BUDGET_USD="0")
    assert over_budget(deps)


def test_budget_day_follows_penny_timezone(make_deps):
    late_evening_in_new_york = datetime(2026, 5, 21, 2, 0, tzinfo=UTC)  # still May 20 there
    deps = make_deps(clock=lambda: late_evening_in_new_york, PENNY_TIMEZONE="America/New_York")
    record_question(deps.store, usage(day=DAY, cost_usd=6.0))
    assert deps.today() == DAY and over_budget(deps)
