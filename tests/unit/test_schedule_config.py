"""`[jobs]` and `[budgets]`: defaults, overrides, and errors that name the valid choices."""

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.core.schedule_config import (
    DEFAULT_CHANNEL,
    JOB_NAMES,
    ScheduleConfigError,
    cron_problems,
    parse_schedule_config,
)


def test_defaults_cover_every_job():
    config = parse_schedule_config({}, {}, "Europe/Berlin")
    assert list(config.jobs) == list(JOB_NAMES)
    assert config.job("budget_alerts").cron == "0 9 * * *"
    assert config.job("anomaly_report").cron == "30 9 * * *"
    assert config.job("weekly_digest").cron == "0 9 * * mon"
    assert config.job("approval_expiry").cron == "* * * * *"
    assert {j.timezone for j in config.jobs.values()} == {"Europe/Berlin"}
    assert {j.channel for j in config.jobs.values()} == {DEFAULT_CHANNEL}
    assert config.catch_up_grace == timedelta(hours=6) and config.ops_channel is None
    assert config.job("idle_resources").setting("snapshot_age_days") == 90


def test_overrides_and_budgets():
    config = parse_schedule_config(
        {
            "channel": "C1",
            "ops_channel": "C2",
            "catch_up_grace": "30m",
            "anomaly_report": {"channel": "C3", "min_impact_usd": 100, "timezone": "UTC"},
            "idle_resources": {"enabled": False, "regions": ["eu-west-1"]},
        },
        {
            "web": {"tag": "team=web", "limit": 1200.5, "thresholds": [90, 50]},
            "lambda": {"service": "AWS Lambda", "limit": 300, "channel": "C4"},
        },
    )
    assert config.job("anomaly_report").channel == "C3"
    assert config.job("anomaly_report").setting("min_impact_usd") == 100.0
    assert config.job("budget_alerts").channel == "C1" and config.ops_channel == "C2"
    assert not config.job("idle_resources").enabled
    assert config.catch_up_grace == timedelta(minutes=30)
    web, lam = config.budgets
    assert (
        web.limit == Decimal("1200.5")
        and web.thresholds == (50, 90)
        and web.forecast_thresholds == (100,)
    )
    assert web.cost_filter() == {
        "Tags": {"Key": "team", "Values": ["web"], "MatchOptions": ["EQUALS"]}
    }
    assert lam.cost_filter() == {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}}


def test_every_problem_is_named_with_the_valid_choices():
    with pytest.raises(ScheduleConfigError) as err:
        parse_schedule_config(
            {
                "chanel": "C1",
                "weekly-digest": {"cron": "0 9 * *"},
                "budget_alerts": {"cron": "0 9 * * funday", "enabled": "yes"},
                "anomaly_report": {"dimensions": ["REGION"]},
            },
            {
                "x": {"limit": -5},
                "y": {"limit": 10, "service": "S", "account": "1"},
                "z": {"limit": 5, "tag": "team"},
            },
        )
    text = "\n".join(err.value.problems)
    assert "unknown key 'chanel'; valid: channel, ops_channel" in text
    assert (
        "[jobs.weekly-digest]: unknown job; valid: budget_alerts, anomaly_report, weekly_digest"
        in text
    )
    assert "day names: mon" in text and "enabled must be true or false" in text
    assert "dimensions: valid values are SERVICE, LINKED_ACCOUNT" in text
    assert "[budgets.x] limit must be a positive number" in text
    assert "[budgets.y] needs exactly one of account, service, tag" in text
    assert '[budgets.z] tag must look like "key=value"' in text


def test_cron_shape():
    assert cron_problems("*/15 9-17 * * mon-fri") == []
    assert "5 fields" in cron_problems("0 9 * *")[0]
