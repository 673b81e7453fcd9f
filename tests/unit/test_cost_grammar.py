"""The `/cost` grammar: every form, and the bad ones with their suggestions."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.cost_grammar import (
    COST_EXAMPLES,
    COST_HELP_TEXT,
    DEFAULT_TOP,
    CostFilter,
    CostGrammarError,
    GroupBy,
    parse_cost_command,
)

TODAY = date(2026, 10, 15)


def parse(text: str):
    return parse_cost_command(text, TODAY)


def test_defaults_are_this_month_by_service_top_10() -> None:
    query = parse("this-month")
    assert query.action == "report"
    assert (query.period.start, query.period.end_exclusive) == (
        date(2026, 10, 1),
        date(2026, 10, 16),
    )
    assert query.group_by == GroupBy("DIMENSION", "SERVICE", "service")
    assert query.filters == ()
    assert query.top == DEFAULT_TOP == 10
    assert query.filter_expression() is None


@pytest.mark.parametrize(
    "text", ["", "   ", "help", "HELP", "--help", "-h", "?", "last-month help"]
)
def test_empty_text_and_help_ask_for_help(text: str) -> None:
    assert parse(text).action == "help"


@pytest.mark.parametrize(
    "word",
    [
        "today",
        "yesterday",
        "this-week",
        "last-week",
        "this-month",
        "last-month",
        "last-7-days",
        "7d",
        "30d",
        "90d",
        "ytd",
        "2026-10",
        "2026-10-01..2026-10-15",
    ],
)
def test_every_period_word_is_accepted(word: str) -> None:
    assert parse(word).action == "report"


@pytest.mark.parametrize(
    ("text", "group_by"),
    [
        ("by service", GroupBy("DIMENSION", "SERVICE", "service")),
        ("by account", GroupBy("DIMENSION", "LINKED_ACCOUNT", "account")),
        ("by accounts", GroupBy("DIMENSION", "LINKED_ACCOUNT", "account")),
        ("by region", GroupBy("DIMENSION", "REGION", "region")),
        ("by usage-type", GroupBy("DIMENSION", "USAGE_TYPE", "usage type")),
        ("BY Usage-Type", GroupBy("DIMENSION", "USAGE_TYPE", "usage type")),
        ("by tag:team", GroupBy("TAG", "team", "tag team")),
        ("by tag:CostCenter", GroupBy("TAG", "CostCenter", "tag CostCenter")),
    ],
)
def test_groupings(text: str, group_by: GroupBy) -> None:
    query = parse(text)
    assert query.group_by == group_by
    assert query.group_by.as_request() == [{"Type": group_by.type, "Key": group_by.key}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "service:ec2",
            CostFilter("DIMENSION", "SERVICE", "Amazon Elastic Compute Cloud - Compute"),
        ),
        ("service:RDS", CostFilter("DIMENSION", "SERVICE", "Amazon Relational Database Service")),
        ("service:s3", CostFilter("DIMENSION", "SERVICE", "Amazon Simple Storage Service")),
        ("service:lambda", CostFilter("DIMENSION", "SERVICE", "AWS Lambda")),
        ("service:cloudfront", CostFilter("DIMENSION", "SERVICE", "Amazon CloudFront")),
        ("service:dynamodb", CostFilter("DIMENSION", "SERVICE", "Amazon DynamoDB")),
        ("service:ecs", CostFilter("DIMENSION", "SERVICE", "Amazon Elastic Container Service")),
        (
            "service:eks",
            CostFilter("DIMENSION", "SERVICE", "Amazon Elastic Container Service for Kubernetes"),
        ),
        ("service:elasticache", CostFilter("DIMENSION", "SERVICE", "Amazon ElastiCache")),
        ("service:cloudwatch", CostFilter("DIMENSION", "SERVICE", "AmazonCloudWatch")),
        ('service:"amazon dynamodb"', CostFilter("DIMENSION", "SERVICE", "Amazon DynamoDB")),
        (
            'service:"Some Marketplace Product"',
            CostFilter("DIMENSION", "SERVICE", "Some Marketplace Product"),
        ),
        (
            "service:“Amazon Simple Storage Service”",
            CostFilter("DIMENSION", "SERVICE", "Amazon Simple Storage Service"),
        ),
        ("account:123456789012", CostFilter("DIMENSION", "LINKED_ACCOUNT", "123456789012")),
        ("region:eu-west-1", CostFilter("DIMENSION", "REGION", "eu-west-1")),
        ("region:US-GOV-WEST-1", CostFilter("DIMENSION", "REGION", "us-gov-west-1")),
        ("region:global", CostFilter("DIMENSION", "REGION", "global")),
        ("tag:team=Web", CostFilter("TAG", "team", "Web")),
        ("tag:team=", CostFilter("TAG", "team", "")),
    ],
)
def test_filters(text: str, expected: CostFilter) -> None:
    assert parse(text).filters == (expected,)


def test_filters_of_one_key_are_or_ed_and_keys_are_and_ed() -> None:
    query = parse("service:ec2 service:rds region:us-east-1 tag:team=web")
    assert query.filter_expression() == {
        "And": [
            {
                "Dimensions": {
                    "Key": "SERVICE",
                    "Values": [
                        "Amazon Elastic Compute Cloud - Compute",
                        "Amazon Relational Database Service",
                    ],
                }
            },
            {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}},
            {"Tags": {"Key": "team", "Values": ["web"]}},
        ]
    }


def test_an_alias_for_several_services_ors_them() -> None:
    query = parse("service:support")
    assert {f.value for f in query.filters} >= {"AWS Support (Business)", "AWS Support (Developer)"}
    expression = query.filter_expression()
    assert expression is not None and expression["Dimensions"]["Key"] == "SERVICE"
    assert parse("service:savings-plans").filters[0].value == "Savings Plans for AWS Compute usage"


def test_one_filter_is_a_plain_expression() -> None:
    assert parse("account:123456789012").filter_expression() == {
        "Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["123456789012"]}
    }


@pytest.mark.parametrize(
    ("text", "top"), [("top 5", 5), ("top 1", 1), ("top 50", 50), ("top5", 5), ("TOP 20", 20)]
)
def test_top_n(text: str, top: int) -> None:
    assert parse(text).top == top


def test_forecast_and_budgets() -> None:
    assert parse("forecast").action == "forecast"
    assert (
        parse("forecast service:ec2").filters[0].value == "Amazon Elastic Compute Cloud - Compute"
    )
    assert parse("budgets").action == "budgets"
    assert parse("budget").action == "budgets"


def test_a_full_command_in_any_order() -> None:
    query = parse("top 3 by tag:team 2026-09 service:ec2 region:us-west-2")
    assert query.top == 3
    assert query.group_by.key == "team"
    assert query.period.label == "September 2026"
    assert [f.key for f in query.filters] == ["SERVICE", "REGION"]


def test_queries_are_frozen_and_comparable() -> None:
    assert parse("last-month by account") == parse("by account last-month")
    with pytest.raises(AttributeError):
        parse("7d").top = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "word", "suggestion"),
    [
        ("last-weak", "last-weak", "last-week"),
        ("thismonth", "thismonth", "this-month"),
        ("forcast", "forcast", "forecast"),
        ("budgest", "budgest", "budgets"),
        ("service", "service", "by service"),
        ("by servce", "servce", "by service"),
        ("by acount", "acount", "by account"),
        ("servce:ec2", "servce:ec2", "service:ec2"),
        ("service:ec22", "service:ec22", "service:ec2"),
        ("tag:team", "tag:team", "by tag:team"),
        ("banana", "banana", None),
    ],
)
def test_an_unknown_word_is_named_with_the_closest_valid_one(
    text: str, word: str, suggestion: str | None
) -> None:
    with pytest.raises(CostGrammarError) as raised:
        parse(text)
    assert raised.value.word == word
    assert raised.value.suggestion == suggestion
    assert f"`{word}`" in raised.value.message or f"`by {word}`" in raised.value.message
    assert raised.value.usage.startswith("/cost")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top 0", "from 1 to 50"),
        ("top 51", "from 1 to 50"),
        ("top five", "from 1 to 50"),
        ("top", "needs a word after it"),
        ("by", "needs a word after it"),
        ("by tag:", "tag key only"),
        ("account:12345", "12 digits"),
        ("region:mars", "not a region code"),
        ("service:", "needs a value"),
        ("this-month last-month", "Two periods"),
        ("by service by region", "Two groupings"),
        ("forecast budgets", "cannot be combined"),
        ("2026-13", "01 to 12"),
        ("2026-12", "future"),
        ('service:"Amazon S3', "quote is not closed"),
    ],
)
def test_bad_values_are_explained(text: str, message: str) -> None:
    with pytest.raises(CostGrammarError, match=message):
        parse(text)


def test_help_text_lists_every_form_and_examples_parse() -> None:
    for word in (
        "today",
        "ytd",
        "90d",
        "by usage-type",
        "by tag:<key>",
        "tag:<key>=<value>",
        "top N",
        "forecast",
        "budgets",
    ):
        assert word in COST_HELP_TEXT or word.split()[-1] in COST_HELP_TEXT
    for command, _ in COST_EXAMPLES:
        parse(command.removeprefix("/cost"))
