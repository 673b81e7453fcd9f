"""Scheduled jobs and Penny-side budgets: the `[jobs]` and `[budgets]` tables of `PENNY_CONFIG`.

Pure parsing and validation; the runtime (schedules/runtime.py) turns the result into
APScheduler triggers. Every problem is collected and names the valid choices::

    [jobs]
    channel = "C0FINOPS"          # where reports go unless a job says otherwise
    ops_channel = "C0OPS"         # failing jobs are reported here (default: none)
    timezone = "Europe/Berlin"    # default: PENNY_TIMEZONE
    catch_up_grace = "6h"         # runs missed while down are caught up once within this

    [jobs.anomaly_report]
    cron = "30 9 * * *"
    min_impact_usd = 50

    [budgets.platform-ec2]
    limit = 5000
    service = "Amazon Elastic Compute Cloud - Compute"   # or account = "...", or tag = "team=web"
    thresholds = [50, 80, 100]
    forecast_thresholds = [100]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import parse_duration

BUDGET_ALERTS = "budget_alerts"
ANOMALY_REPORT = "anomaly_report"
WEEKLY_DIGEST = "weekly_digest"
IDLE_RESOURCES = "idle_resources"
APPROVAL_EXPIRY = "approval_expiry"
JOB_NAMES = (BUDGET_ALERTS, ANOMALY_REPORT, WEEKLY_DIGEST, IDLE_RESOURCES, APPROVAL_EXPIRY)

DEFAULT_CHANNEL = "#finops"
DEFAULT_CATCH_UP_GRACE = timedelta(hours=6)
DEFAULT_LEASE_TTL = timedelta(seconds=60)
DEFAULT_ACTUAL_THRESHOLDS = (50, 80, 100)
DEFAULT_FORECAST_THRESHOLDS = (100,)

# name -> (cron, summary); the cron is read in the job's time zone.
DEFAULT_SCHEDULES: dict[str, tuple[str, str]] = {
    BUDGET_ALERTS: ("0 9 * * *", "budget thresholds crossed (AWS Budgets and [budgets])"),
    ANOMALY_REPORT: ("30 9 * * *", "new cost anomalies, per service and per account"),
    WEEKLY_DIGEST: ("0 9 * * mon", "last week vs the week before, with a chart"),
    IDLE_RESOURCES: ("0 10 * * mon", "idle EC2, unattached EBS, unused EIPs, old snapshots"),
    APPROVAL_EXPIRY: ("* * * * *", "expire approval requests past their deadline"),
}

# Job-specific settings with their defaults; the types of the defaults are enforced.
JOB_SETTINGS: dict[str, dict[str, Any]] = {
    BUDGET_ALERTS: {"aws_budgets": True},
    ANOMALY_REPORT: {
        "lookback_days": 90,
        "min_impact_usd": 25.0,
        "report_window_days": 14,
        "dimensions": ["SERVICE", "LINKED_ACCOUNT"],
        "aws_anomalies": True,
    },
    WEEKLY_DIGEST: {"top": 5, "chart_weeks": 8},
    IDLE_RESOURCES: {
        "regions": [],
        "cpu_threshold_percent": 5.0,
        "cpu_lookback_days": 14,
        "snapshot_age_days": 90,
    },
    APPROVAL_EXPIRY: {},
}
COMMON_JOB_KEYS = ("channel", "cron", "timezone", "enabled")
GLOBAL_KEYS = ("channel", "ops_channel", "timezone", "catch_up_grace", "lease_ttl")
BUDGET_SCOPES = ("account", "service", "tag")
BUDGET_KEYS = ("limit", *BUDGET_SCOPES, "thresholds", "forecast_thresholds", "channel")
CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleConfigError(ValueError):
    """The `[jobs]` or `[budgets]` table is malformed; `problems` names each with the valid choices."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("schedule configuration problems: " + "; ".join(problems))


@dataclass(frozen=True)
class JobConfig:
    """One scheduled job: where it posts, when (cron in `timezone`), and its own settings."""

    name: str
    channel: str
    cron: str
    timezone: str
    enabled: bool = True
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def summary(self) -> str:
        """What the job does, in a few words."""
        return DEFAULT_SCHEDULES[self.name][1]

    def setting(self, key: str) -> Any:
        """A job-specific setting (always present: defaults fill the gaps)."""
        return self.settings[key]


@dataclass(frozen=True)
class PennyBudget:
    """A monthly limit Penny checks itself, from Cost Explorer, for one account, service or tag value.

    `scope` is account, service or tag; for a tag, `value` is `key=value`.
    """

    name: str
    limit: Decimal
    scope: str
    value: str
    thresholds: tuple[int, ...] = DEFAULT_ACTUAL_THRESHOLDS
    forecast_thresholds: tuple[int, ...] = DEFAULT_FORECAST_THRESHOLDS
    channel: str | None = None

    def describe(self) -> str:
        """`service Amazon EC2`, `account 123456789012`, `tag team=web`."""
        return f"{self.scope} {self.value}"

    def cost_filter(self) -> dict[str, Any]:
        """The Cost Explorer filter expression selecting this budget's spend."""
        if self.scope == "tag":
            key, _, value = self.value.partition("=")
            return {"Tags": {"Key": key, "Values": [value], "MatchOptions": ["EQUALS"]}}
        dimension = "LINKED_ACCOUNT" if self.scope == "account" else "SERVICE"
        return {"Dimensions": {"Key": dimension, "Values": [self.value]}}


@dataclass(frozen=True)
class ScheduleConfig:
    """Every job (configured or default) and every Penny-side budget, validated."""

    jobs: Mapping[str, JobConfig]
    budgets: tuple[PennyBudget, ...] = ()
    ops_channel: str | None = None
    catch_up_grace: timedelta = DEFAULT_CATCH_UP_GRACE
    lease_ttl: timedelta = DEFAULT_LEASE_TTL

    def job(self, name: str) -> JobConfig:
        """The job called `name`; KeyError names the valid jobs."""
        if name not in self.jobs:
            raise KeyError(f"unknown job {name!r}; valid: {', '.join(self.jobs)}")
        return self.jobs[name]


def parse_schedule_config(
    jobs_section: Mapping[str, Any],
    budgets_section: Mapping[str, Any],
    default_timezone: str = "UTC",
) -> ScheduleConfig:
    """Build the ScheduleConfig from the TOML `[jobs]` and `[budgets]` tables.

    Args:
        jobs_section: the `[jobs]` table: global keys plus one sub-table per job.
        budgets_section: the `[budgets]` table: one sub-table per Penny-side budget.
        default_timezone: PENNY_TIMEZONE, used when neither the job nor `[jobs]` names one.

    Returns:
        A ScheduleConfig with every job in JOB_NAMES (defaults for those not configured).

    Raises:
        ScheduleConfigError: listing every problem with the valid choices.
    """
    problems: list[str] = []
    globals_ = {k: v for k, v in jobs_section.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in jobs_section.items() if isinstance(v, Mapping)}
    _check_keys(globals_, GLOBAL_KEYS, "[jobs]", problems)
    channel = _text(globals_, "channel", "[jobs]", problems) or DEFAULT_CHANNEL
    ops_channel = _text(globals_, "ops_channel", "[jobs]", problems)
    timezone = _timezone(globals_, "[jobs]", problems) or default_timezone
    grace = _duration(globals_, "catch_up_grace", "[jobs]", problems, DEFAULT_CATCH_UP_GRACE)
    lease = _duration(globals_, "lease_ttl", "[jobs]", problems, DEFAULT_LEASE_TTL)
    for name in tables:
        if name not in JOB_NAMES:
            problems.append(f"[jobs.{name}]: unknown job; valid: {', '.join(JOB_NAMES)}")
    jobs = {
        name: _job(name, tables.get(name, {}), channel, timezone, problems) for name in JOB_NAMES
    }
    budgets = tuple(_budget(name, entry, problems) for name, entry in budgets_section.items())
    if problems:
        raise ScheduleConfigError(problems)
    return ScheduleConfig(
        jobs=MappingProxyType(jobs),
        budgets=tuple(b for b in budgets if b is not None),
        ops_channel=ops_channel,
        catch_up_grace=grace,
        lease_ttl=lease,
    )


def _job(
    name: str, table: Mapping[str, Any], channel: str, timezone: str, problems: list[str]
) -> JobConfig:
    where = f"[jobs.{name}]"
    defaults = JOB_SETTINGS[name]
    _check_keys(table, (*COMMON_JOB_KEYS, *defaults), where, problems)
    cron = _text(table, "cron", where, problems) or DEFAULT_SCHEDULES[name][0]
    problems.extend(f"{where} {p}" for p in cron_problems(cron))
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{where} enabled must be true or false")
        enabled = True
    settings = {
        key: _setting(table, key, default, where, problems) for key, default in defaults.items()
    }
    return JobConfig(
        name=name,
        channel=_text(table, "channel", where, problems) or channel,
        cron=cron,
        timezone=_timezone(table, where, problems) or timezone,
        enabled=enabled,
        settings=MappingProxyType(settings),
    )


def _setting(
    table: Mapping[str, Any], key: str, default: Any, where: str, problems: list[str]
) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    else:
        ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
    if not ok:
        problems.append(f"{where} {key} must be {_kind_of(default)}, got {value!r}")
        return default
    if key == "dimensions":
        bad = [v for v in value if v not in ("SERVICE", "LINKED_ACCOUNT")]
        if bad or not value:
            problems.append(f"{where} dimensions: valid values are SERVICE, LINKED_ACCOUNT")
            return default
    return float(value) if isinstance(default, float) else value


def _kind_of(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, float):
        return "a non-negative number"
    if isinstance(default, int):
        return "a positive whole number"
    return "a list of strings"


def cron_problems(cron: str) -> list[str]:
    """What is wrong with a five-field crontab expression (empty when it looks valid).

    Checks the shape only (five fields, allowed characters, day names); the scheduler
    rejects impossible values such as minute 61 when it builds the trigger.
    """
    fields = cron.split()
    if len(fields) != len(CRON_FIELDS):
        return [f'cron {cron!r} must have 5 fields ({", ".join(CRON_FIELDS)}), e.g. "0 9 * * mon"']
    bad = [
        f"{label} {value!r}"
        for label, value in zip(CRON_FIELDS, fields, strict=True)
        if not _CRON_FIELD.match(value)
    ]
    words = [w for w in re.findall(r"[A-Za-z]+", fields[4]) if w.lower() not in _DAY_NAMES]
    if words:
        bad.append(f"day of week {fields[4]!r} (day names: {', '.join(_DAY_NAMES)})")
    return [f"cron {cron!r} has an invalid {b}" for b in bad]


def _budget(name: str, entry: Any, problems: list[str]) -> PennyBudget | None:
    where = f"[budgets.{name}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where} must be a table with keys {', '.join(BUDGET_KEYS)}")
        return None
    _check_keys(entry, BUDGET_KEYS, where, problems)
    limit = _limit(entry, where, problems)
    scopes = [s for s in BUDGET_SCOPES if s in entry]
    if len(scopes) != 1:
        problems.append(
            f"{where} needs exactly one of {', '.join(BUDGET_SCOPES)} "
            '(e.g. service = "AWS Lambda", account = "123456789012", tag = "team=web")'
        )
        return None
    scope = scopes[0]
    value = entry[scope]
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where} {scope} must be a non-empty string")
        return None
    if scope == "tag" and "=" not in value:
        problems.append(f'{where} tag must look like "key=value", got {value!r}')
        return None
    thresholds = _thresholds(entry, "thresholds", DEFAULT_ACTUAL_THRESHOLDS, where, problems)
    forecast = _thresholds(
        entry, "forecast_thresholds", DEFAULT_FORECAST_THRESHOLDS, where, problems
    )
    if limit is None:
        return None
    return PennyBudget(
        name=name,
        limit=limit,
        scope=scope,
        value=value.strip(),
        thresholds=thresholds,
        forecast_thresholds=forecast,
        channel=_text(entry, "channel", where, problems),
    )


def _limit(entry: Mapping[str, Any], where: str, problems: list[str]) -> Decimal | None:
    raw = entry.get("limit")
    try:
        if isinstance(raw, bool) or raw is None:
            raise InvalidOperation
        limit = Decimal(str(raw))
    except InvalidOperation:
        problems.append(
            f"{where} limit must be a positive number of dollars per month, e.g. limit = 5000"
        )
        return None
    if limit <= 0:
        problems.append(
            f"{where} limit must be a positive number of dollars per month, got {raw!r}"
        )
        return None
    return limit


def _thresholds(
    entry: Mapping[str, Any], key: str, default: tuple[int, ...], where: str, problems: list[str]
) -> tuple[int, ...]:
    raw = entry.get(key)
    if raw is None:
        return default
    if not isinstance(raw, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1000 for x in raw
    ):
        problems.append(
            f"{where} {key} must be a list of percentages from 1 to 1000, e.g. [50, 80, 100]"
        )
        return default
    return tuple(sorted(set(raw)))


def _check_keys(
    table: Mapping[str, Any], valid: tuple[str, ...], where: str, problems: list[str]
) -> None:
    for key in table:
        if key not in valid:
            problems.append(f"{where}: unknown key {key!r}; valid: {', '.join(valid)}")


def _text(table: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where} {key} must be a non-empty string (a channel id like C0123ABCD)")
        return None
    return value.strip()


def _timezone(table: Mapping[str, Any], where: str, problems: list[str]) -> str | None:
    value = table.get("timezone")
    if value is None:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"{where} timezone {value!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)"
        )
        return None
    return str(value)


def _duration(
    table: Mapping[str, Any], key: str, where: str, problems: list[str], default: timedelta
) -> timedelta:
    value = table.get(key)
    if value is None:
        return default
    try:
        return parse_duration(str(value))
    except ValueError:
        problems.append(f"{where} {key} {value!r} is not a duration; use e.g. 90s, 15m, 6h or 2d")
        return default
