"""A billing dataset shaped like Cost Explorer's daily cost and usage, and pure helpers over it.

The fake Cost Explorer (`fake_billing`) answers every query from one `BillingDataset`, and
tests compute their expected numbers from the same rows with the helpers here, so "matches
Cost Explorer to the cent" can be checked with Decimal arithmetic instead of guessed.
Nothing here does I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

METRICS = (
    "UnblendedCost",
    "BlendedCost",
    "AmortizedCost",
    "NetAmortizedCost",
    "NetUnblendedCost",
    "UsageQuantity",
)
DIMENSIONS = ("SERVICE", "LINKED_ACCOUNT", "REGION", "USAGE_TYPE", "RECORD_TYPE")
ZERO = Decimal(0)


class ExpressionError(ValueError):
    """A Cost Explorer filter expression is malformed (wrong keys, empty And/Or, bad dimension)."""


@dataclass(frozen=True)
class DailyCost:
    """One line of the bill for one day, as Cost Explorer would aggregate it.

    `tags` maps tag keys to values; an untagged line has no entry for the key.
    `amounts` maps each metric in METRICS to a Decimal (USD, or a quantity for UsageQuantity).
    """

    day: date
    account: str
    service: str
    region: str
    usage_type: str
    tags: Mapping[str, str]
    amounts: Mapping[str, Decimal]
    record_type: str = "Usage"

    def dimension(self, name: str) -> str:
        """The value of a Cost Explorer dimension (SERVICE, LINKED_ACCOUNT, ...) for this line."""
        return _DIMENSION_GETTERS[name](self)


_DIMENSION_GETTERS: dict[str, Callable[[DailyCost], str]] = {
    "SERVICE": lambda row: row.service,
    "LINKED_ACCOUNT": lambda row: row.account,
    "REGION": lambda row: row.region,
    "USAGE_TYPE": lambda row: row.usage_type,
    "RECORD_TYPE": lambda row: row.record_type,
}


@dataclass(frozen=True)
class LinkedAccount:
    """A member account of the organisation: 12-digit id and its display name."""

    account_id: str
    name: str


@dataclass(frozen=True)
class BudgetSpec:
    """An AWS Budgets cost budget; spend is computed from the dataset, not stored."""

    name: str
    limit: Decimal
    time_unit: str = "MONTHLY"
    budget_type: str = "COST"
    metric: str = "UnblendedCost"


@dataclass(frozen=True)
class AnomalySpec:
    """A cost anomaly planted in the data: where and when extra spend happened.

    Cost Anomaly Detection reports it with its impact computed from the rows.
    """

    anomaly_id: str
    start: date
    end: date  # inclusive, as Cost Anomaly Detection reports AnomalyEndDate
    service: str
    account: str
    region: str
    usage_type: str


@dataclass(frozen=True)
class BillingDataset:
    """Everything a fake Cost Explorer and Budgets need: rows, accounts, budgets, anomalies."""

    rows: tuple[DailyCost, ...]
    today: date
    accounts: tuple[LinkedAccount, ...] = ()
    payer_account: str = "123456789012"
    budgets: tuple[BudgetSpec, ...] = ()
    anomalies: tuple[AnomalySpec, ...] = ()
    currency: str = "USD"
    _days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.rows, key=lambda row: row.day))
        object.__setattr__(self, "rows", ordered)
        object.__setattr__(self, "_days", tuple(row.day for row in ordered))

    def rows_between(self, start: date, end: date) -> Sequence[DailyCost]:
        """Rows with start <= day < end (Cost Explorer's exclusive End)."""
        low = bisect.bisect_left(self._days, start)
        high = bisect.bisect_left(self._days, end)
        return self.rows[low:high]

    def account_name(self, account_id: str) -> str:
        """Display name of a linked account, or the id itself when unknown."""
        names = {account.account_id: account.name for account in self.accounts}
        return names.get(account_id, account_id)

    @property
    def first_day(self) -> date | None:
        """The earliest day with data, or None for an empty dataset."""
        return self._days[0] if self._days else None


def sum_metric(rows: Iterable[DailyCost], metric: str) -> Decimal:
    """Exact Decimal sum of one metric over rows."""
    return sum((row.amounts.get(metric, ZERO) for row in rows), ZERO)


def tag_group_key(tag_key: str, row: DailyCost) -> str:
    """Cost Explorer's group key for a tag: `key$value`, `key$` for untagged lines."""
    return f"{tag_key}${row.tags.get(tag_key, '')}"


def group_key(group_by: Sequence[Mapping[str, str]], row: DailyCost) -> tuple[str, ...]:
    """The tuple of group keys of a row for a Cost Explorer GroupBy list."""
    keys = []
    for group in group_by:
        if group["Type"] == "TAG":
            keys.append(tag_group_key(group["Key"], row))
        else:
            keys.append(row.dimension(group["Key"]))
    return tuple(keys)


def group_sums(
    rows: Iterable[DailyCost], group_by: Sequence[Mapping[str, str]], metrics: Sequence[str]
) -> dict[tuple[str, ...], dict[str, Decimal]]:
    """Sum each metric per group key tuple (an empty GroupBy yields one group, `()`)."""
    sums: dict[tuple[str, ...], dict[str, Decimal]] = {}
    for row in rows:
        bucket = sums.setdefault(group_key(group_by, row), dict.fromkeys(metrics, ZERO))
        for metric in metrics:
            bucket[metric] += row.amounts.get(metric, ZERO)
    return sums


def daily_series(rows: Iterable[DailyCost], metric: str) -> dict[date, Decimal]:
    """Sum of one metric per day."""
    series: dict[date, Decimal] = {}
    for row in rows:
        series[row.day] = series.get(row.day, ZERO) + row.amounts.get(metric, ZERO)
    return series


def period_starts(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    """Split [start, end) into DAILY or MONTHLY periods, clipped to the range like CE does."""
    periods = []
    cursor = start
    while cursor < end:
        following = cursor + timedelta(days=1) if granularity == "DAILY" else next_month(cursor)
        periods.append((cursor, min(following, end)))
        cursor = following
    return periods


def next_month(day: date) -> date:
    """The first day of the month after `day`."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def validate_expression(expression: Mapping[str, Any]) -> None:
    """Raise ExpressionError unless `expression` is a well-formed CE Expression."""
    keys = [
        key
        for key in ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories")
        if key in expression
    ]
    if len(keys) != 1:
        raise ExpressionError(
            "Expression must have exactly one of Dimensions, Tags, CostCategories, And, Or, Not"
        )
    kind = keys[0]
    if kind in ("And", "Or"):
        if len(expression[kind]) < 2:
            raise ExpressionError(f"{kind} expression must have at least 2 operands")
        for operand in expression[kind]:
            validate_expression(operand)
    elif kind == "Not":
        validate_expression(expression["Not"])
    elif kind == "Dimensions":
        if expression["Dimensions"].get("Key") not in DIMENSIONS:
            raise ExpressionError(
                f"Dimension {expression['Dimensions'].get('Key')} is not supported; "
                f"valid dimensions: {', '.join(DIMENSIONS)}"
            )
    elif kind == "CostCategories":
        raise ExpressionError("Cost categories are not defined for this account")


def matches(expression: Mapping[str, Any] | None, row: DailyCost) -> bool:
    """Whether a row satisfies a (validated) Cost Explorer filter expression."""
    if not expression:
        return True
    if "And" in expression:
        return all(matches(operand, row) for operand in expression["And"])
    if "Or" in expression:
        return any(matches(operand, row) for operand in expression["Or"])
    if "Not" in expression:
        return not matches(expression["Not"], row)
    if "Dimensions" in expression:
        rule = expression["Dimensions"]
        return _value_matches(row.dimension(rule["Key"]), rule)
    rule = expression["Tags"]
    value = row.tags.get(rule.get("Key", ""))
    if "ABSENT" in rule.get("MatchOptions", ()):
        return value is None
    return value is not None and _value_matches(value, rule)


def _value_matches(value: str, rule: Mapping[str, Any]) -> bool:
    options = rule.get("MatchOptions") or ["EQUALS"]
    wanted = rule.get("Values", [])
    if "CASE_INSENSITIVE" in options:
        value = value.lower()
        wanted = [candidate.lower() for candidate in wanted]
    if "STARTS_WITH" in options:
        return any(value.startswith(candidate) for candidate in wanted)
    if "ENDS_WITH" in options:
        return any(value.endswith(candidate) for candidate in wanted)
    if "CONTAINS" in options:
        return any(candidate in value for candidate in wanted)
    return value in wanted


def filtered(rows: Iterable[DailyCost], expression: Mapping[str, Any] | None) -> list[DailyCost]:
    """Rows that satisfy a Cost Explorer filter expression (None keeps all)."""
    return [row for row in rows if matches(expression, row)]
