"""Canonical Cost Explorer fetches ("chunks") and GetCostAndUsage answers derived from them.

Many `/cost` forms need overlapping data: month to date, the last 7 days, this week and
yesterday are all sums over days of the current month by the same grouping. Instead of one
paid request per form, a request is normalised to a *series* (metric, grouping, and the part
of the filter that cannot be applied locally) and cut at month boundaries into *pieces*.
Each piece is answered from stored records of that series:

- a *daily chunk*: the days of one calendar month (the month so far, the whole month, or
  a finalised month from a rolling window's edge to its end), one record a day, fetched
  with DAILY granularity; any day range it covers is a sum of its days;
- a *segment*: one MONTHLY bucket of a finalised month (the whole month, or the part of it
  a request covered), exactly as Cost Explorer returned it.

A filter on the grouping dimension itself (`service:ec2 by service`) is applied locally to
the unfiltered series by keeping only the matching groups. Amounts are summed with Decimal
from Cost Explorer's strings, so a derived total equals the direct answer to the cent.
Nothing here does I/O: the adapter (`cost_explorer`) fetches and stores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

DAILY = "DAILY"
MONTHLY = "MONTHLY"
_UNGROUPED_KEY = ""
_LOCAL_DIMENSIONS = ("SERVICE", "LINKED_ACCOUNT", "REGION", "USAGE_TYPE")


@dataclass(frozen=True)
class Series:
    """What a chunk holds: one metric, at most one grouping, the filter sent to Cost Explorer."""

    metric: str
    group_by: tuple[tuple[str, str], ...]
    filter: Mapping[str, Any] | None

    @property
    def key(self) -> str:
        """A short stable id for cache keys (sorted JSON, hashed)."""
        text = json.dumps(
            {"m": self.metric, "g": self.group_by, "f": self.filter},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def request(self, start: date, end: date, granularity: str) -> dict[str, Any]:
        """GetCostAndUsage parameters fetching this series over `[start, end)`."""
        params: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metrics": [self.metric],
        }
        if self.group_by:
            params["GroupBy"] = [{"Type": t, "Key": k} for t, k in self.group_by]
        if self.filter:
            params["Filter"] = self.filter
        return params


@dataclass(frozen=True)
class ChunkPlan:
    """How one request is answered: its series and which group keys to keep (None: all)."""

    series: Series
    keep: frozenset[str] | None


def plan_request(
    *,
    granularity: str,
    metric: str,
    group_by: Sequence[Mapping[str, str]] | None,
    filter: Mapping[str, Any] | None,
    scope: Mapping[str, Any] | None = None,
) -> ChunkPlan | None:
    """The chunk plan of a GetCostAndUsage request, or None when chunks cannot express it.

    Chunks hold DAILY or MONTHLY data with at most one grouping; two groupings or HOURLY
    go to the exact-request cache. A filter leaf on the grouping dimension (SERVICE,
    LINKED_ACCOUNT, REGION, USAGE_TYPE or the grouped tag), alone or as one operand of an
    And of leaves, is applied locally; everything else stays in the series' filter.
    `scope` (the accounts Penny may show) is never applied locally: it is always part of
    the series' filter, so no data outside it is ever fetched.
    """
    groups = list(group_by or [])
    if granularity not in (DAILY, MONTHLY) or len(groups) > 1:
        return None
    grouping = tuple((g["Type"], g["Key"]) for g in groups)
    if not filter:
        return ChunkPlan(Series(metric, grouping, with_scope(None, scope)), None)
    leaves = list(filter["And"]) if set(filter) == {"And"} else [filter]
    local = [leaf for leaf in leaves if grouping and _local_keys(leaf, grouping[0]) is not None]
    if len(local) != 1:
        return ChunkPlan(Series(metric, grouping, with_scope(filter, scope)), None)
    rest = [leaf for leaf in leaves if leaf is not local[0]]
    remaining: Mapping[str, Any] | None = None
    if len(rest) == 1:
        remaining = rest[0]
    elif rest:
        remaining = {"And": rest}
    return ChunkPlan(
        Series(metric, grouping, with_scope(remaining, scope)),
        _local_keys(local[0], grouping[0]),
    )


def with_scope(
    expression: Mapping[str, Any] | None, scope: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """`expression` And `scope` (either may be None), normalised; None when both are."""
    operands: list[Mapping[str, Any]] = []
    for part in (expression, scope):
        if part:
            operands.extend(part["And"] if set(part) == {"And"} else [part])
    if not operands:
        return None
    return normalise_filter(operands[0] if len(operands) == 1 else {"And": operands})


def _local_keys(leaf: Mapping[str, Any], grouping: tuple[str, str]) -> frozenset[str] | None:
    """The group keys a filter leaf keeps when it tests the grouping itself with plain equality."""
    kind, key = grouping
    field = "Dimensions" if kind == "DIMENSION" else "Tags"
    if set(leaf) != {field}:
        return None
    rule = leaf[field]
    values = rule.get("Values") or []
    options = rule.get("MatchOptions") or ["EQUALS"]
    if rule.get("Key") != key or list(options) != ["EQUALS"] or not values:
        return None
    if kind == "DIMENSION":
        return frozenset(values) if key in _LOCAL_DIMENSIONS else None
    if "" in values:
        return None  # an untagged line has no value to equal "": Cost Explorer decides that one
    return frozenset(f"{key}${value}" for value in values)


def normalise_filter(expression: Mapping[str, Any]) -> dict[str, Any]:
    """The same Cost Explorer expression with Values and And/Or operands in a stable order."""
    result: dict[str, Any] = {}
    for name, value in expression.items():
        if name in ("And", "Or"):
            operands = [normalise_filter(x) for x in value]
            result[name] = sorted(operands, key=lambda x: json.dumps(x, sort_keys=True))
        elif name == "Not":
            result[name] = normalise_filter(value)
        elif isinstance(value, Mapping):
            rule = dict(value)
            if isinstance(rule.get("Values"), list):
                rule["Values"] = sorted(dict.fromkeys(rule["Values"]))
            result[name] = rule
        else:
            result[name] = value
    return result


# ---------------------------------------------------------------- time


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def month_after(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_pieces(start: date, end: date) -> list[tuple[date, date]]:
    """`[start, end)` cut at month boundaries: Cost Explorer's MONTHLY buckets for that range."""
    pieces = []
    cursor = start
    while cursor < end:
        following = min(month_after(cursor), end)
        pieces.append((cursor, following))
        cursor = following
    return pieces


def days_of(start: date, end: date) -> list[tuple[date, date]]:
    """Cost Explorer's DAILY buckets for `[start, end)`."""
    return [
        (start + timedelta(days=i), start + timedelta(days=i + 1))
        for i in range((end - start).days)
    ]


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Record:
    """One Cost Explorer time bucket of a series: `[start, end)`, estimated, amounts per group."""

    start: date
    end: date
    estimated: bool
    groups: tuple[tuple[str, str, str], ...]  # (key, amount as CE wrote it, unit)

    def to_json(self) -> list[Any]:
        """A compact JSON form for the cache."""
        return [self.start.isoformat(), self.end.isoformat(), self.estimated, list(self.groups)]

    @classmethod
    def from_json(cls, value: Sequence[Any]) -> Record:
        """The inverse of `to_json`."""
        start, end, estimated, groups = value
        return cls(
            date.fromisoformat(start),
            date.fromisoformat(end),
            bool(estimated),
            tuple((str(k), str(a), str(u)) for k, a, u in groups),
        )


def records_from_response(response: Mapping[str, Any], metric: str) -> list[Record]:
    """The time buckets of a merged GetCostAndUsage response as records of `metric`."""
    records = []
    for bucket in response.get("ResultsByTime", []):
        period = bucket["TimePeriod"]
        groups: list[tuple[str, str, str]] = []
        for group in bucket.get("Groups") or []:
            value = group.get("Metrics", {}).get(metric, {})
            keys = group.get("Keys") or [_UNGROUPED_KEY]
            groups.append((keys[0], str(value.get("Amount", "0")), str(value.get("Unit", ""))))
        total = (bucket.get("Total") or {}).get(metric)
        if not bucket.get("Groups") and total:
            groups.append(
                (_UNGROUPED_KEY, str(total.get("Amount", "0")), str(total.get("Unit", "")))
            )
        records.append(
            Record(
                date.fromisoformat(period["Start"]),
                date.fromisoformat(period["End"]),
                bool(bucket.get("Estimated")),
                tuple(groups),
            )
        )
    return records


def account_attributes(response: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """DimensionValueAttributes of a response by value (linked account names)."""
    return {
        str(item.get("Value", "")): dict(item.get("Attributes") or {})
        for item in response.get("DimensionValueAttributes", [])
    }


def synthesize_response(
    plan: ChunkPlan,
    buckets: Sequence[tuple[date, date, Sequence[Record]]],
    attributes: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The GetCostAndUsage response for `buckets`, each `(start, end, records covering it)`.

    Shape as Cost Explorer returns it: ResultsByTime in time order with TimePeriod,
    Groups (Keys, Metrics Amount/Unit as strings) or Total when ungrouped, Estimated when
    any contributing record is; GroupDefinitions when grouped; DimensionValueAttributes
    for the linked accounts that appear.
    """
    series = plan.series
    grouped = bool(series.group_by)
    results = []
    seen: set[str] = set()
    for start, end, records in buckets:
        sums = _sum_groups(records, plan.keep)
        bucket: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Total": {},
            "Groups": [],
            "Estimated": any(r.estimated for r in records),
        }
        if grouped:
            bucket["Groups"] = [
                {"Keys": [key], "Metrics": {series.metric: {"Amount": _text(amount), "Unit": unit}}}
                for key, (amount, unit) in sorted(sums.items())
            ]
            seen.update(sums)
        elif _UNGROUPED_KEY in sums:
            amount, unit = sums[_UNGROUPED_KEY]
            bucket["Total"] = {series.metric: {"Amount": _text(amount), "Unit": unit}}
        results.append(bucket)
    response: dict[str, Any] = {"ResultsByTime": results}
    if grouped:
        response["GroupDefinitions"] = [{"Type": t, "Key": k} for t, k in series.group_by]
    if series.group_by == (("DIMENSION", "LINKED_ACCOUNT"),):
        named = [
            {"Value": value, "Attributes": dict(attributes[value])}
            for value in sorted(seen)
            if value in attributes
        ]
        if named:
            response["DimensionValueAttributes"] = named
    return response


def _sum_groups(
    records: Iterable[Record], keep: frozenset[str] | None
) -> dict[str, tuple[Decimal, str]]:
    sums: dict[str, tuple[Decimal, str]] = {}
    for record in records:
        for key, amount, unit in record.groups:
            if keep is not None and key not in keep:
                continue
            before, known_unit = sums.get(key, (Decimal(0), unit))
            sums[key] = (before + Decimal(amount), known_unit or unit)
    return sums


def _text(amount: Decimal) -> str:
    return format(amount, "f")


def covering(records: Sequence[Record], start: date, end: date) -> list[Record] | None:
    """The records that tile `[start, end)` exactly (sorted, contiguous), or None if they do not."""
    inside = sorted(
        (r for r in records if start <= r.start and r.end <= end), key=lambda r: r.start
    )
    cursor = start
    for record in inside:
        if record.start != cursor:
            return None
        cursor = record.end
    return inside if cursor == end else None


def day_span(records: Sequence[Record]) -> tuple[date, date] | None:
    """The range that one-day `records` tile without gaps, or None (no records, a gap, a longer one)."""
    if not records or any(r.end - r.start != timedelta(days=1) for r in records):
        return None
    ordered = sorted(records, key=lambda r: r.start)
    if covering(ordered, ordered[0].start, ordered[-1].end) is None:
        return None
    return ordered[0].start, ordered[-1].end
