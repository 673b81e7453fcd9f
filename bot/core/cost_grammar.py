"""The `/cost` grammar: from the text after the command to a frozen CostQuery.

    /cost [period] [by service|account|region|usage-type|tag:<key>]
          [service:<name or alias>] [account:<id>] [region:<code>] [tag:<key>=<value>]
          [top N] | forecast | budgets | help

Words may come in any order. Keywords are case-insensitive; tag keys and values keep
their case (AWS tags are case-sensitive). A value with spaces is quoted:
`service:"Amazon Simple Storage Service"`. Anything else is a CostGrammarError naming
the bad word and the closest valid one.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.core.periods import (
    DEFAULT_PERIOD,
    PERIOD_WORDS,
    Period,
    PeriodError,
    is_period_word,
    parse_period,
)

DEFAULT_TOP = 10
MAX_TOP = 50

# Short names people type, mapped to the exact SERVICE values Cost Explorer uses.
SERVICE_ALIASES: dict[str, str] = {
    "ec2": "Amazon Elastic Compute Cloud - Compute",
    "ec2-other": "EC2 - Other",
    "ebs": "EC2 - Other",
    "rds": "Amazon Relational Database Service",
    "aurora": "Amazon Relational Database Service",
    "s3": "Amazon Simple Storage Service",
    "lambda": "AWS Lambda",
    "cloudfront": "Amazon CloudFront",
    "dynamodb": "Amazon DynamoDB",
    "ecs": "Amazon Elastic Container Service",
    "eks": "Amazon Elastic Container Service for Kubernetes",
    "ecr": "Amazon EC2 Container Registry (ECR)",
    "elasticache": "Amazon ElastiCache",
    "cloudwatch": "AmazonCloudWatch",
    "vpc": "Amazon Virtual Private Cloud",
    "route53": "Amazon Route 53",
    "elb": "Elastic Load Balancing",
    "sns": "Amazon Simple Notification Service",
    "sqs": "Amazon Simple Queue Service",
    "ses": "Amazon Simple Email Service",
    "kms": "AWS Key Management Service",
    "secretsmanager": "AWS Secrets Manager",
    "efs": "Amazon Elastic File System",
    "opensearch": "Amazon OpenSearch Service",
    "redshift": "Amazon Redshift",
    "kinesis": "Amazon Kinesis",
    "msk": "Amazon Managed Streaming for Apache Kafka",
    "glue": "AWS Glue",
    "athena": "Amazon Athena",
    "emr": "Amazon Elastic MapReduce",
    "apigateway": "Amazon API Gateway",
    "stepfunctions": "AWS Step Functions",
    "sagemaker": "Amazon SageMaker",
    "bedrock": "Amazon Bedrock",
    "cloudtrail": "AWS CloudTrail",
    "config": "AWS Config",
    "guardduty": "Amazon GuardDuty",
    "waf": "AWS WAF",
    "backup": "AWS Backup",
    "cognito": "Amazon Cognito",
    "xray": "AWS X-Ray",
    "ssm": "AWS Systems Manager",
    "quicksight": "Amazon QuickSight",
    "lightsail": "Amazon Lightsail",
    "costexplorer": "AWS Cost Explorer",
    "datatransfer": "AWS Data Transfer",
    "tax": "Tax",
    "savings-plans": "Savings Plans for AWS Compute usage",
    "support": "AWS Support (Business)",
}
# Aliases that stand for several SERVICE values (one per plan); the filter ORs them all.
SERVICE_ALIAS_GROUPS: dict[str, tuple[str, ...]] = {
    "support": (
        "AWS Support (Basic)",
        "AWS Support (Developer)",
        "AWS Support (Business)",
        "AWS Support (Enterprise)",
        "AWS Support (Enterprise On-Ramp)",
    ),
}
_KNOWN_SERVICE_NAMES = {name.lower(): name for name in SERVICE_ALIASES.values()}

# `by <word>` -> (Cost Explorer GroupBy type, key, label); tags are handled separately.
GROUPINGS: dict[str, tuple[str, str, str]] = {
    "service": ("DIMENSION", "SERVICE", "service"),
    "account": ("DIMENSION", "LINKED_ACCOUNT", "account"),
    "region": ("DIMENSION", "REGION", "region"),
    "usage-type": ("DIMENSION", "USAGE_TYPE", "usage type"),
}
_GROUPING_SYNONYMS = {
    "services": "service",
    "accounts": "account",
    "regions": "region",
    "usage": "usage-type",
    "usagetype": "usage-type",
    "usage_type": "usage-type",
}
_FILTER_PREFIXES = ("service:", "account:", "region:", "tag:")
_HELP_WORDS = {"help", "-h", "--help", "?"}
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^([a-z]{2}(-[a-z]+)+-\d+|global)$")
_TOP_GLUED = re.compile(r"^top(\d+)$")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})

USAGE = (
    "/cost [period] [by service|account|region|usage-type|tag:<key>] "
    "[service:<name>] [account:<id>] [region:<code>] [tag:<key>=<value>] [top N] "
    "| forecast | budgets | help"
)
COST_EXAMPLES = (
    ("/cost this-month", "month to date by service, compared with the same days last month"),
    ("/cost last-month by account", "last month per linked account"),
    ("/cost 7d service:ec2 by usage-type", "EC2 over the last 7 days per usage type"),
    ("/cost 2026-10 by tag:team top 5", "a month per `team` tag, top 5"),
    ("/cost 2026-10-01..2026-10-15 region:us-east-1", "a range of days in one region"),
    ("/cost forecast", "rest of this month and the next 3 months"),
    ("/cost budgets", "AWS Budgets: limit, actual, forecast, % used"),
)
COST_HELP_TEXT = (
    f"*Usage:* `{USAGE}`\n"
    "*Periods:* `today`, `yesterday`, `this-week`, `last-week`, `this-month` (default), "
    "`last-month`, `last-7-days`/`7d`, `30d`, `90d`, `ytd`, a month `2026-10`, "
    "a range `2026-10-01..2026-10-15`\n"
    "*Group by:* `by service` (default), `by account`, `by region`, `by usage-type`, `by tag:<key>`\n"
    "*Filters:* `service:<name or alias>` (e.g. "
    + ", ".join(f"`{a}`" for a in ("ec2", "rds", "s3", "lambda", "cloudfront", "dynamodb"))
    + "), `account:<12 digits>`, `region:<code>`, `tag:<key>=<value>`\n"
    f"*Rows:* `top N` (default {DEFAULT_TOP}, at most {MAX_TOP})"
)


class CostGrammarError(ValueError):
    """The `/cost` text has a word Penny does not understand; names it and the closest valid one."""

    def __init__(self, message: str, word: str = "", suggestion: str | None = None):
        self.message = message
        self.word = word
        self.suggestion = suggestion
        self.usage = USAGE
        super().__init__(message)


@dataclass(frozen=True)
class GroupBy:
    """One Cost Explorer grouping: `type` DIMENSION or TAG, its `key`, and a label for people."""

    type: str
    key: str
    label: str

    def as_request(self) -> list[dict[str, str]]:
        """The `GroupBy` parameter of GetCostAndUsage."""
        return [{"Type": self.type, "Key": self.key}]


@dataclass(frozen=True)
class CostFilter:
    """One filter: a DIMENSION (SERVICE, LINKED_ACCOUNT, REGION) or a TAG key, equal to `value`."""

    type: str
    key: str
    value: str

    def describe(self) -> str:
        """`service=Amazon DynamoDB`, `tag team=web`: how the source line shows it."""
        names = {"SERVICE": "service", "LINKED_ACCOUNT": "account", "REGION": "region"}
        if self.type == "TAG":
            return f"tag {self.key}={self.value}"
        return f"{names.get(self.key, self.key.lower())}={self.value}"


@dataclass(frozen=True)
class CostQuery:
    """A parsed `/cost` command. `action` is `report`, `forecast`, `budgets` or `help`."""

    action: str
    period: Period
    group_by: GroupBy
    filters: tuple[CostFilter, ...] = ()
    top: int = DEFAULT_TOP

    def filter_expression(self) -> dict[str, Any] | None:
        """The Cost Explorer `Filter` for the filters (values of one key OR-ed, keys AND-ed)."""
        return filter_expression(self.filters)


def filter_expression(filters: tuple[CostFilter, ...]) -> dict[str, Any] | None:
    """A Cost Explorer Expression for `filters`, or None when there are none."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for item in filters:
        values = grouped.setdefault((item.type, item.key), [])
        if item.value not in values:
            values.append(item.value)
    parts: list[dict[str, Any]] = []
    for (kind, key), values in grouped.items():
        field = "Tags" if kind == "TAG" else "Dimensions"
        parts.append({field: {"Key": key, "Values": values}})
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {"And": parts}


def parse_cost_command(text: str, today: date) -> CostQuery:
    """Parse the text after `/cost` into a CostQuery, periods resolved against `today`.

    Empty text or `help` gives a `help` query. Raises CostGrammarError on any word that
    is not part of the grammar, on a bad value, or on a period that cannot be answered.
    """
    words = _split_words(text)
    parser = _QueryParser(today)
    parser.help = not words
    parser.consume(words)
    return parser.result()


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise CostGrammarError(
            'A quote is not closed: put the closing `"` after the value.'
        ) from None


class _QueryParser:
    """Walks the words once, remembering what each one set (to refuse duplicates)."""

    def __init__(self, today: date):
        self.today = today
        self.action = "report"
        self.help = False
        self.period_word: str | None = None
        self.group_by: GroupBy | None = None
        self.filters: list[CostFilter] = []
        self.top = DEFAULT_TOP

    def consume(self, words: list[str]) -> None:
        index = 0
        while index < len(words):
            index = self._consume_one(words, index)

    def _consume_one(self, words: list[str], index: int) -> int:
        word = words[index]
        lower = word.lower()
        if lower in _HELP_WORDS:
            self.help = True
        elif lower == "forecast":
            self._set_action("forecast")
        elif lower in ("budgets", "budget"):
            self._set_action("budgets")
        elif lower == "by":
            self._set_group_by(_next_word(words, index, "by", _grouping_words()))
            return index + 2
        elif lower == "top":
            self.top = _parse_top(_next_word(words, index, "top", ["top 5"]))
            return index + 2
        elif _TOP_GLUED.match(lower):
            self.top = _parse_top(lower[3:])
        elif is_period_word(lower):
            self._set_period(lower)
        elif lower.startswith(_FILTER_PREFIXES):
            self.filters.extend(_parse_filter(word))
        else:
            raise _unknown_word(word)
        return index + 1

    def _set_action(self, action: str) -> None:
        if self.action not in ("report", action):
            raise CostGrammarError(
                f"`{self.action}` and `{action}` cannot be combined: ask one at a time.", action
            )
        self.action = action

    def _set_period(self, word: str) -> None:
        if self.period_word is not None and self.period_word != word:
            raise CostGrammarError(
                f"Two periods given (`{self.period_word}` and `{word}`): keep one.", word
            )
        self.period_word = word

    def _set_group_by(self, word: str) -> None:
        group_by = _parse_group_by(word)
        if self.group_by is not None and self.group_by != group_by:
            raise CostGrammarError(
                f"Two groupings given (`by {self.group_by.label}` and `by {word}`): keep one.", word
            )
        self.group_by = group_by

    def result(self) -> CostQuery:
        action = "help" if self.help else self.action
        try:
            period = parse_period(self.period_word or DEFAULT_PERIOD, self.today)
        except PeriodError as exc:
            raise CostGrammarError(str(exc), self.period_word or "") from None
        group_by = self.group_by or GroupBy(*GROUPINGS["service"])
        return CostQuery(action, period, group_by, tuple(self.filters), self.top)


def _next_word(words: list[str], index: int, keyword: str, choices: list[str]) -> str:
    if index + 1 >= len(words):
        raise CostGrammarError(
            f"`{keyword}` needs a word after it, one of: "
            + ", ".join(f"`{c}`" for c in choices)
            + ".",
            keyword,
        )
    return words[index + 1]


def _grouping_words() -> list[str]:
    return [*GROUPINGS, "tag:<key>"]


def _parse_group_by(word: str) -> GroupBy:
    lower = word.lower()
    lower = _GROUPING_SYNONYMS.get(lower, lower)
    if lower in GROUPINGS:
        return GroupBy(*GROUPINGS[lower])
    if lower.startswith("tag:"):
        key = word[4:]
        if not key or "=" in key:
            raise CostGrammarError(
                f"`by {word}` needs a tag key only, e.g. `by tag:team`.", word, "by tag:team"
            )
        return GroupBy("TAG", key, f"tag {key}")
    suggestion = _closest(lower, list(GROUPINGS))
    hint = f" Did you mean `by {suggestion}`?" if suggestion else ""
    raise CostGrammarError(
        f"Cannot group `by {word}`.{hint} Choose service, account, region, usage-type or tag:<key>.",
        word,
        f"by {suggestion}" if suggestion else None,
    )


def _parse_top(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise CostGrammarError(f"`top {text}`: N must be a whole number from 1 to {MAX_TOP}.", text)
    return int(text)


def _parse_filter(word: str) -> tuple[CostFilter, ...]:
    prefix, _, value = word.partition(":")
    prefix = prefix.lower()
    if not value:
        raise CostGrammarError(f"`{word}` needs a value after `{prefix}:`.", word)
    if prefix == "service":
        names = _service_names(value, word)
        return tuple(CostFilter("DIMENSION", "SERVICE", name) for name in names)
    if prefix == "account":
        if not _ACCOUNT_ID.match(value):
            raise CostGrammarError(
                f"`{word}`: an account id is 12 digits, e.g. `account:123456789012`.", word
            )
        return (CostFilter("DIMENSION", "LINKED_ACCOUNT", value),)
    if prefix == "region":
        if not _REGION.match(value.lower()):
            raise CostGrammarError(f"`{word}` is not a region code, e.g. `region:us-east-1`.", word)
        return (CostFilter("DIMENSION", "REGION", value.lower()),)
    key, equals, tag_value = value.partition("=")
    if not equals or not key:
        raise CostGrammarError(
            f"`{word}`: a tag filter is `tag:<key>=<value>`; to group by a tag use `by tag:{key or value}`.",
            word,
            f"by tag:{key or value}",
        )
    return (CostFilter("TAG", key, tag_value),)


def _service_names(value: str, word: str) -> tuple[str, ...]:
    lower = value.lower()
    if lower in SERVICE_ALIAS_GROUPS:
        return SERVICE_ALIAS_GROUPS[lower]
    if lower in SERVICE_ALIASES:
        return (SERVICE_ALIASES[lower],)
    if lower in _KNOWN_SERVICE_NAMES:
        return (_KNOWN_SERVICE_NAMES[lower],)
    if " " in value:
        # A full name we do not know (Marketplace products, new services): trust the user.
        return (value,)
    suggestion = _closest(lower, list(SERVICE_ALIASES))
    hint = f" Did you mean `service:{suggestion}`?" if suggestion else ""
    raise CostGrammarError(
        f"Unknown service in `{word}`.{hint} Use an alias such as `ec2`, `rds`, `s3`, or the full "
        'Cost Explorer name in quotes: `service:"Amazon Simple Storage Service"`.',
        word,
        f"service:{suggestion}" if suggestion else None,
    )


def _unknown_word(word: str) -> CostGrammarError:
    suggestion = _suggest_for(word.lower())
    hint = f" Did you mean `{suggestion}`?" if suggestion else ""
    return CostGrammarError(f"I don't understand `{word}`.{hint}", word, suggestion)


def _suggest_for(word: str) -> str | None:
    if ":" in word:
        prefix, _, rest = word.partition(":")
        fixed = _closest(prefix + ":", list(_FILTER_PREFIXES))
        return f"{fixed}{rest}" if fixed else None
    vocabulary = [
        *PERIOD_WORDS,
        "forecast",
        "budgets",
        "help",
        "top",
        "by",
        *(f"by {g}" for g in GROUPINGS),
    ]
    return _closest(word, vocabulary)


def _closest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None
