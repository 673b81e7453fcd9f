"""The README is tested against the code: an undocumented command, action or job fails here."""

import pathlib
import re

from bot.__main__ import __doc__ as cli_doc
from handlers.penny import SUBCOMMAND_MODULES, collect_subcommands
from tools.actions import ACTIONS

README = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_action_is_documented_with_its_risk():
    for name, unit in ACTIONS.items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}`")), None)
        assert row, f"action {name} is missing from the README's action table"
        assert f"| {unit.risk} |" in row, f"README gives the wrong risk for {name}"


def test_every_penny_subcommand_is_documented():
    subcommands = collect_subcommands(SUBCOMMAND_MODULES)
    for name in subcommands:
        assert f"/penny {name}" in README or f"`{name}" in README, f"/penny {name} is undocumented"


def test_every_cli_command_is_documented():
    commands = re.findall(r"python -m bot ([a-z]+(?: [a-z]+)?)", cli_doc or "")
    assert commands
    for command in commands:
        assert f"python -m bot {command}" in README, f"`python -m bot {command}` is undocumented"


def test_every_job_is_documented():
    from bot.core.schedule_config import JOB_NAMES

    for job in JOB_NAMES:
        assert f"`{job}`" in README, f"job {job} is undocumented"


def test_every_setting_is_documented():
    from bot.config import load_settings

    fields = set(load_settings({"SLACK_BOT_TOKEN": "xoxb-x"}).__dataclass_fields__)
    env_names = {
        "slack_bot_token": "SLACK_BOT_TOKEN",
        "slack_signing_secret": "SLACK_SIGNING_SECRET",
        "slack_app_token": "SLACK_APP_TOKEN",
        "slack_api_url": "SLACK_API_URL",
        "port": "PORT",
        "db_path": "PENNY_DB",
        "config_path": "PENNY_CONFIG",
        "timezone": "PENNY_TIMEZONE",
        "cost_metric": "PENNY_COST_METRIC",
        "approvers": "PENNY_APPROVERS",
        "approval_ttl": "PENNY_APPROVAL_TTL",
        "dry_run": "PENNY_DRY_RUN",
        "llm": "PENNY_LLM",
        "llm_model": "PENNY_LLM_MODEL",
        "llm_daily_budget_usd": "PENNY_LLM_DAILY_BUDGET_USD",
        "aws_region": "AWS_REGION",
        "otel_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
        "file_config": "PENNY_CONFIG",
    }
    assert fields == set(env_names), "a new setting needs a row in the README's configuration table"
    for env in env_names.values():
        assert f"`{env}`" in README


def test_the_example_config_is_valid():
    from bot.config import load_settings
    from bot.core.approval_policy import parse_approval_policy
    from bot.core.schedule_config import parse_schedule_config

    path = pathlib.Path(__file__).resolve().parents[2] / "penny.example.toml"
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-x", "PENNY_CONFIG": str(path)})
    parse_schedule_config(settings.section("jobs"), settings.section("budgets"), settings.timezone)
    parse_approval_policy(
        settings.approvers, settings.section("approvals"), settings.approval_ttl, tuple(ACTIONS)
    )
