from datetime import timedelta

import pytest

from bot.config import ConfigError, load_settings, mask_secret, parse_duration


def test_defaults_follow_the_design_table():
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-abc"})
    assert (s.port, s.db_path, s.timezone, s.cost_metric) == (
        3000,
        "penny.db",
        "UTC",
        "UnblendedCost",
    )
    assert s.approvers == () and s.dry_run is True and s.llm == "none"
    assert s.approval_ttl == timedelta(hours=1) and s.llm_daily_budget_usd == 5.0
    assert s.slack_api_url == "https://slack.com/api/"


def test_every_problem_is_named_at_once():
    with pytest.raises(ConfigError) as err:
        load_settings(
            {
                "PENNY_TIMEZONE": "Mars/Base",
                "PENNY_COST_METRIC": "Cheap",
                "PENNY_APPROVAL_TTL": "soon",
                "PENNY_DRY_RUN": "maybe",
                "PENNY_LLM": "gpt",
                "PORT": "http",
                "PENNY_APPROVERS": "alice",
            },
            require_signing_secret=True,
        )
    text = str(err.value)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "PENNY_TIMEZONE",
        "PENNY_COST_METRIC",
        "PENNY_APPROVAL_TTL",
        "PENNY_DRY_RUN",
        "PENNY_LLM",
        "PORT",
        "PENNY_APPROVERS",
    ):
        assert name in text
    assert len(err.value.problems) == 9


def test_values_are_parsed():
    s = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-abc",
            "PENNY_APPROVERS": "U01, S02 ,W03",
            "PENNY_APPROVAL_TTL": "90s",
            "PENNY_DRY_RUN": "false",
            "SLACK_API_URL": "http://127.0.0.1:5/api",
            "PENNY_TIMEZONE": "Europe/Berlin",
        }
    )
    assert s.approvers == ("U01", "S02", "W03")
    assert s.approval_ttl == timedelta(seconds=90)
    assert s.dry_run is False
    assert s.slack_api_url == "http://127.0.0.1:5/api/"
    assert str(s.tz) == "Europe/Berlin"


def test_secrets_never_appear_in_the_redacted_view():
    s = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-very-secret-token", "SLACK_SIGNING_SECRET": "shhh-signing-secret"}
    )
    shown = repr(s.redacted())
    assert "very-secret" not in shown and "signing-secret" not in shown
    assert mask_secret("") == ""


def test_config_file_is_read_and_bad_toml_is_reported(tmp_path):
    good = tmp_path / "penny.toml"
    good.write_text("[approvals]\nrequired_approvals_high = 2\n")
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-a", "PENNY_CONFIG": str(good)})
    assert s.section("approvals")["required_approvals_high"] == 2
    assert s.section("missing") == {}
    bad = tmp_path / "bad.toml"
    bad.write_text("[jobs\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-a", "PENNY_CONFIG": str(bad)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-a", "PENNY_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1y", "-5m"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)
