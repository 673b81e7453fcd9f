"""Pure pieces of answers in a thread: movers, daily series, usage windows, builders within Slack's limits."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from bot.core.ask import biggest_movers, usage_window
from bot.core.blocks.ask import build_capabilities_blocks, build_compare_blocks, build_usage_blocks
from bot.core.blocks.limits import MAX_BLOCKS, MAX_SECTION_TEXT
from bot.core.cost_report import GroupedCosts
from bot.core.periods import Period
from schedules.common import daily_by_group

D = Decimal


def grouped(amounts):
    return GroupedCosts(
        {k: D(v) for k, v in amounts.items()}, {k: k for k in amounts}, "USD", False, None
    )


def test_movers_rank_by_absolute_change_and_count_missing_groups_as_zero():
    now = grouped({"EC2": "150.00", "S3": "10.00", "New": "30.00", "Same": "5.00"})
    before = grouped({"EC2": "100.00", "S3": "60.00", "Gone": "20.00", "Same": "5.00"})
    movers = biggest_movers(now, before)
    assert [m.key for m in movers] == ["EC2", "S3", "New", "Gone"]
    assert movers[0].delta == D("50.00") and movers[0].percent == D(50)
    assert movers[2].percent is None  # new: no percentage of nothing
    assert "Same" not in [m.key for m in movers]


def test_daily_costs_are_read_per_group_and_day():
    response = {
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-11-01"},
                "Groups": [{"Keys": ["EC2"], "Metrics": {"UnblendedCost": {"Amount": "1.5"}}}],
            },
            {
                "TimePeriod": {"Start": "2026-11-02"},
                "Groups": [{"Keys": ["EC2"], "Metrics": {"UnblendedCost": {"Amount": "2"}}}],
            },
        ]
    }
    assert daily_by_group(response, "UnblendedCost") == {
        "EC2": {date(2026, 11, 1): D("1.5"), date(2026, 11, 2): D("2")}
    }


def test_usage_windows_end_today():
    today = date(2026, 11, 22)
    assert usage_window("today", today) == (today, today)
    assert usage_window("7d", today) == (date(2026, 11, 16), today)
    assert usage_window("30d", today) == (date(2026, 10, 24), today)


def within_limits(blocks):
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        assert len((block.get("text") or {}).get("text", "")) <= MAX_SECTION_TEXT


def test_compare_blocks_stay_within_limits_with_many_long_labels():
    now = grouped({f"{'Very long service name ' * 10}{i}": str(100 + i) for i in range(200)})
    before = grouped({k: "1" for k in now.amounts})
    movers = biggest_movers(now, before, limit=200)
    period = Period(date(2026, 11, 1), date(2026, 11, 23), "this month", "DAILY", "this-month")
    baseline = Period(
        date(2026, 10, 1), date(2026, 10, 23), "same days last month", "DAILY", "comparison"
    )
    blocks = build_compare_blocks(
        period=period,
        baseline=baseline,
        total=now.total,
        baseline_total=before.total,
        movers=movers,
        group_label="service",
        currency="USD",
        metric="UnblendedCost",
        estimated=True,
    )
    within_limits(blocks)
    assert "estimated" in json.dumps(blocks)


def test_capabilities_and_usage_blocks_stay_within_limits():
    within_limits(build_capabilities_blocks("Hi", "note"))
    rows = [
        {
            "day": "2026-11-22",
            "user": f"U{i}",
            "channel": f"C{i}",
            "questions": 3,
            "llm_questions": 1,
            "input_tokens": 1000,
            "output_tokens": 200,
            "cost_usd": 0.01,
        }
        for i in range(100)
    ]
    blocks = build_usage_blocks(
        {"day": rows[:1], "user": rows, "channel": rows},
        window="7d",
        first_day=date(2026, 11, 16),
        last_day=date(2026, 11, 22),
        budget_usd=5,
        spent_today_usd=0.01,
        tools={"cost_engine": 3},
        approvals=1,
        as_of=datetime(2026, 11, 22, 12, tzinfo=UTC),
    )
    within_limits(blocks)
    assert "*3* questions (66% fast path, 1 LLM)" in json.dumps(blocks)
