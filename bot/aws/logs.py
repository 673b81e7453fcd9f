"""CloudWatch Logs and RDS facts for incident triage, through the injected boto3 session.

`fetch_incident_evidence(session, ...)` finds the relevant log groups (a named group, or
groups matching a hint, else every group up to a cap), reads a bounded number of recent
events per stream in a time window, plus the first lines of each stream (where services
log their configuration at start-up, e.g. `maximumPoolSize=50`), and describes the RDS
instances with their max_connections. What it returns is data for `bot.core.triage`;
log text is never interpreted here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.session import RETRY_CONFIG
from bot.core.triage import DatabaseFacts, LogEvent

logger = logging.getLogger(__name__)

MAX_GROUPS = 10
MAX_GROUPS_LISTED = 200
MAX_STREAMS_PER_GROUP = 20
MAX_EVENTS_PER_STREAM = 300
HEAD_EVENTS_PER_STREAM = 10
DEFAULT_LOOKBACK = timedelta(hours=36)
DATABASE_WORDS = ("rds", "db", "database", "postgres", "mysql", "aurora")
_PERMISSIONS = {
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "DescribeLogStreams": "logs:DescribeLogStreams",
    "GetLogEvents": "logs:GetLogEvents",
    "DescribeDBInstances": "rds:DescribeDBInstances",
    "DescribeDBParameters": "rds:DescribeDBParameters",
}


class LogsUnavailable(Exception):
    """CloudWatch Logs or RDS could not be read (permission, throttling, endpoint); the message says why."""


@dataclass(frozen=True)
class IncidentEvidence:
    """What was read: the groups, the events (window plus stream heads), the databases."""

    groups: tuple[str, ...]
    events: tuple[LogEvent, ...]
    databases: tuple[DatabaseFacts, ...]
    truncated: bool
    start: datetime
    end: datetime


def lookback_for(period: str | None) -> timedelta:
    """How far back to read for a `/cost`-style period word from the question (default 36h)."""
    if period in ("7d", "this-week", "last-week"):
        return timedelta(days=7)
    if period == "yesterday":
        return timedelta(hours=48)
    if period == "today":
        return timedelta(hours=24)
    return DEFAULT_LOOKBACK


def fetch_incident_evidence(
    session: Any,
    *,
    now: datetime,
    log_group: str | None = None,
    hint: str | None = None,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> IncidentEvidence:
    """Read recent log events across the relevant groups and the RDS facts for triage.

    Args:
        session: a boto3 Session (from deps.aws()).
        now: the end of the window (aware).
        log_group: a group name (or prefix) the user named; searched alone when it exists.
        hint: a word from the question ("database", "orders") to pick groups by name.
        lookback: how far back the window starts.

    Raises:
        LogsUnavailable: AWS refused or could not be reached; the message names the permission.
    """
    logs = session.client("logs", config=RETRY_CONFIG)
    start = now - lookback
    try:
        groups = choose_log_groups(list_log_groups(logs, log_group), log_group, hint)
        events: list[LogEvent] = []
        truncated = False
        for group in groups:
            group_events, cut = read_group(logs, group, start, now)
            events.extend(group_events)
            truncated = truncated or cut
        databases = describe_databases(session.client("rds", config=RETRY_CONFIG))
    except ClientError as exc:
        raise LogsUnavailable(_explain(exc)) from exc
    except BotoCoreError as exc:
        raise LogsUnavailable(f"Penny could not reach AWS: {exc}") from exc
    logger.info(
        "groups=<%d>, events=<%d>, databases=<%d> | incident evidence read",
        len(groups),
        len(events),
        len(databases),
    )
    return IncidentEvidence(tuple(groups), tuple(events), tuple(databases), truncated, start, now)


def list_log_groups(logs: Any, prefix: str | None = None) -> list[str]:
    """Log group names (optionally under `prefix`), at most MAX_GROUPS_LISTED."""
    params = {"logGroupNamePrefix": prefix} if prefix else {}
    names: list[str] = []
    for page in logs.get_paginator("describe_log_groups").paginate(**params):
        names.extend(g["logGroupName"] for g in page.get("logGroups", []))
        if len(names) >= MAX_GROUPS_LISTED:
            break
    return names[:MAX_GROUPS_LISTED]


def choose_log_groups(names: list[str], log_group: str | None, hint: str | None) -> list[str]:
    """The groups worth reading: the named one, those matching the hint, else all (capped).

    A database hint keeps every group: applications log connection errors in their own
    groups, not only the database's.
    """
    if log_group:
        exact = [n for n in names if n == log_group]
        return (exact or names)[:MAX_GROUPS]
    if hint and hint not in DATABASE_WORDS:
        matching = [n for n in names if hint.lower() in n.lower()]
        if matching:
            return matching[:MAX_GROUPS]
    return sorted(names, key=_database_groups_last)[:MAX_GROUPS]


def _database_groups_last(name: str) -> tuple[int, str]:
    lowered = name.lower()
    return (int(any(word in lowered for word in DATABASE_WORDS)), name)


def read_group(
    logs: Any, group: str, start: datetime, end: datetime
) -> tuple[list[LogEvent], bool]:
    """The latest events of each recently active stream in `[start, end]`, plus stream heads.

    Returns the events and whether a stream had more events than the cap.
    """
    streams = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True, limit=MAX_STREAMS_PER_GROUP
    ).get("logStreams", [])
    start_ms, end_ms = _ms(start), _ms(end)
    events: dict[tuple[str, int, str], LogEvent] = {}
    truncated = False
    for stream in streams:
        name = stream["logStreamName"]
        if stream.get("lastEventTimestamp", end_ms) < start_ms:
            continue
        recent = logs.get_log_events(
            logGroupName=group,
            logStreamName=name,
            startTime=start_ms,
            endTime=end_ms,
            limit=MAX_EVENTS_PER_STREAM,
            startFromHead=False,
        ).get("events", [])
        truncated = truncated or len(recent) >= MAX_EVENTS_PER_STREAM
        head = logs.get_log_events(
            logGroupName=group, logStreamName=name, limit=HEAD_EVENTS_PER_STREAM, startFromHead=True
        ).get("events", [])
        for raw in [*head, *recent]:
            event = _event(group, name, raw)
            events[(name, raw.get("timestamp", 0), event.message)] = event
    return sorted(events.values(), key=lambda e: e.at), truncated


def describe_databases(rds: Any) -> list[DatabaseFacts]:
    """Every RDS instance with its status and max_connections (from its parameter group)."""
    facts = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        for db in page.get("DBInstances", []):
            limit, source = _max_connections(rds, db)
            facts.append(
                DatabaseFacts(
                    instance_id=db["DBInstanceIdentifier"],
                    engine=db.get("Engine", ""),
                    status=db.get("DBInstanceStatus", ""),
                    max_connections=limit,
                    max_connections_source=source,
                )
            )
    return facts


def _max_connections(rds: Any, db: dict[str, Any]) -> tuple[int | None, str]:
    for group in db.get("DBParameterGroups", []):
        name = group.get("DBParameterGroupName")
        if not name or name.startswith("default."):
            continue
        try:
            pages = rds.get_paginator("describe_db_parameters").paginate(
                DBParameterGroupName=name, Source="user"
            )
            for page in pages:
                for parameter in page.get("Parameters", []):
                    value = str(parameter.get("ParameterValue", ""))
                    if parameter.get("ParameterName") == "max_connections" and value.isdigit():
                        return int(value), f"parameter group {name}"
        except ClientError as exc:
            logger.warning("group=<%s>, error=<%s> | parameters unreadable", name, _code(exc))
    return None, ""


def _event(group: str, stream: str, raw: dict[str, Any]) -> LogEvent:
    at = datetime.fromtimestamp(raw.get("timestamp", 0) / 1000, UTC)
    return LogEvent(group, stream, at, str(raw.get("message", "")))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _explain(exc: ClientError) -> str:
    code = _code(exc)
    operation = getattr(exc, "operation_name", "")
    if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
        permission = _PERMISSIONS.get(operation, operation)
        return f"Penny is not allowed to read the logs: its AWS identity needs `{permission}`."
    if code in ("ThrottlingException", "Throttling", "LimitExceededException"):
        return "AWS is throttling log reads right now; try again in a minute."
    if code == "ResourceNotFoundException":
        return "That log group does not exist in this account and region."
    return f"AWS refused to read the logs ({code or 'error'})."
