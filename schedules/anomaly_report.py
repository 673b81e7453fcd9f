"""The daily anomaly report: Penny's detector on daily cost per service and per linked account,
merged with AWS Cost Anomaly Detection, each new event posted once.

The detector is causal and its ids are stable from one day to the next, so the ledger key
`anomaly:<id>` makes each event post once; an event known under several ids (Penny's
per-service and per-account views, AWS's own id) counts as posted when any of them was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.core.anomaly import (
    Anomaly,
    AnomalySettings,
    BreakdownRow,
    Driver,
    aws_anomalies_in_scope,
    detect_anomalies,
    likely_driver,
    merge_with_aws_anomalies,
)
from bot.core.blocks.reports import anomaly_text, build_anomaly_blocks
from bot.core.errors import CostExplorerError
from bot.core.periods import DAILY
from bot.core.schedule_config import ANOMALY_REPORT
from bot.deps import Deps
from bot.store import ledger
from schedules.common import JobResult, aws_error_code, grouped_rows, job_config, local_today
from schedules.posting import post_once

logger = logging.getLogger(__name__)

BASELINE_DAYS = 14
MAX_POSTS_PER_RUN = 10


def anomaly_key(anomaly_id: str) -> str:
    """The once-only ledger key of an anomaly id."""
    return f"anomaly:{anomaly_id}"


def detector_settings(deps: Deps) -> AnomalySettings:
    """The detector's settings from `[jobs.anomaly_report]`, for the report and for questions alike."""
    job = job_config(deps, ANOMALY_REPORT)
    return AnomalySettings(
        min_impact_usd=float(job.setting("min_impact_usd")),
        report_window_days=int(job.setting("report_window_days")),
    )


def run_anomaly_report(deps: Deps, now: datetime) -> JobResult:
    """Detect anomalies up to yesterday and post each event not posted before."""
    job = job_config(deps, ANOMALY_REPORT)
    as_of = local_today(deps, now) - timedelta(days=1)
    start = as_of - timedelta(days=int(job.setting("lookback_days")) - 1)
    settings = detector_settings(deps)
    result = JobResult(job=ANOMALY_REPORT)
    names: dict[str, str] = {}
    found: list[Anomaly] = []
    for dimension in job.setting("dimensions"):
        series, labels = _daily_series(deps, dimension, start, as_of)
        names.update(labels)
        found.extend(detect_anomalies(series, as_of, dimension=dimension, settings=settings))
    aws = (
        _aws_anomalies(deps, as_of - timedelta(days=settings.report_window_days), as_of, result)
        if job.setting("aws_anomalies")
        else []
    )
    merged = merge_with_aws_anomalies(found, aws)
    fresh = [a for a in merged if not _posted_before(deps, a)]
    # Breakdowns cost Cost Explorer requests: only for events not posted yet.
    drivers = {a.anomaly_id: find_driver(deps, a, as_of) for a in fresh}
    hosts = [a for a in merged if a.dimension != "LINKED_ACCOUNT"]
    events = fold_account_views(
        hosts + [a for a in fresh if a.dimension == "LINKED_ACCOUNT"], drivers
    )
    for anomaly, seen_in in events[:MAX_POSTS_PER_RUN]:
        _post_anomaly(
            deps, job.channel, anomaly, drivers.get(anomaly.anomaly_id), seen_in, names, now, result
        )
    if len(events) > MAX_POSTS_PER_RUN:
        result.notes.append(
            f"{len(events) - MAX_POSTS_PER_RUN} smaller anomalies left for the next run"
        )
    return result


def _daily_series(
    deps: Deps, dimension: str, start: date, as_of: date
) -> tuple[dict[str, list[tuple[date, Decimal]]], dict[str, str]]:
    metric = deps.settings.cost_metric
    response = deps.cost.cost_and_usage(
        start=start,
        end=as_of + timedelta(days=1),
        granularity=DAILY,
        metric=metric,
        group_by=[{"Type": "DIMENSION", "Key": dimension}],
    )
    series: dict[str, list[tuple[date, Decimal]]] = {}
    for keys, day, amount in grouped_rows(response, metric):
        series.setdefault(keys[0], []).append((day, amount))
    labels = {
        item.get("Value", ""): (item.get("Attributes") or {}).get("description", "")
        for item in response.get("DimensionValueAttributes", [])
    }
    return series, {k: v for k, v in labels.items() if v}


def _aws_anomalies(deps: Deps, start: date, end: date, result: JobResult) -> list[dict[str, Any]]:
    """GetAnomalies for the report window (every page); an account without monitors gets none."""
    if not hasattr(deps.cost, "client"):
        return []
    try:
        client = deps.cost.client("ce")
        items: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {
                "DateInterval": {"StartDate": start.isoformat(), "EndDate": end.isoformat()},
                "MaxResults": 100,
            }
            if token:
                params["NextPageToken"] = token
            page = client.get_anomalies(**params)
            items.extend(
                aws_anomalies_in_scope(
                    page.get("Anomalies", []), getattr(deps.cost, "accounts", None)
                )
            )
            token = page.get("NextPageToken")
            if not token:
                return items
    except (ClientError, BotoCoreError) as exc:
        code = aws_error_code(exc)
        logger.warning(
            "error=<%s> | AWS Cost Anomaly Detection unavailable, Penny's detector only", code
        )
        result.notes.append(f"AWS anomalies unavailable ({code})")
        return []


def find_driver(deps: Deps, anomaly: Anomaly, as_of: date) -> Driver | None:
    """The slice (usage type, region, account) whose daily cost grew most during the anomaly."""
    if anomaly.root_causes:
        return anomaly.root_causes[0]
    window_end = min(anomaly.end, as_of)
    window_days = (window_end - anomaly.start).days + 1
    baseline_start = anomaly.start - timedelta(days=BASELINE_DAYS)
    if anomaly.dimension == "LINKED_ACCOUNT":
        key_filter = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [anomaly.key]}}
        groupings = (("SERVICE", "USAGE_TYPE"), ("REGION",))
    else:
        key_filter = {"Dimensions": {"Key": "SERVICE", "Values": [anomaly.key]}}
        groupings = (("USAGE_TYPE", "REGION"), ("LINKED_ACCOUNT",))
    found: dict[str, Any] = {}
    for grouping in groupings:
        try:
            rows = _breakdown(deps, key_filter, grouping, baseline_start, window_end)
        except CostExplorerError as exc:
            logger.warning(
                "anomaly=<%s>, error=<%s> | driver breakdown failed", anomaly.anomaly_id, exc.code
            )
            continue
        window = [r for day, r in rows if day >= anomaly.start]
        baseline = [r for day, r in rows if day < anomaly.start]
        driver = likely_driver(
            window, baseline, window_days=window_days, baseline_days=BASELINE_DAYS
        )
        if driver is not None:
            found.update(
                {k: v for k, v in vars(driver).items() if v is not None and k not in found}
            )
    if not found:
        return None
    if anomaly.dimension == "LINKED_ACCOUNT":
        found.setdefault("account", anomaly.key)
    else:
        found.setdefault("service", anomaly.key)
    return Driver(**found)


_FIELD = {
    "SERVICE": "service",
    "USAGE_TYPE": "usage_type",
    "REGION": "region",
    "LINKED_ACCOUNT": "account",
}


def _breakdown(
    deps: Deps, key_filter: dict[str, Any], grouping: tuple[str, ...], start: date, end: date
) -> list[tuple[date, BreakdownRow]]:
    metric = deps.settings.cost_metric
    response = deps.cost.cost_and_usage(
        start=start,
        end=end + timedelta(days=1),
        granularity=DAILY,
        metric=metric,
        group_by=[{"Type": "DIMENSION", "Key": g} for g in grouping],
        filter=key_filter,
    )
    return [
        (day, BreakdownRow(amount, **{_FIELD[g]: k for g, k in zip(grouping, keys, strict=False)}))
        for keys, day, amount in grouped_rows(response, metric)
    ]


def fold_account_views(
    anomalies: Iterable[Anomaly], drivers: dict[str, Driver | None]
) -> list[tuple[Anomaly, tuple[str, ...]]]:
    """Fold a per-account anomaly into the per-service one it explains, so one event posts once.

    An account anomaly whose likely driver is a service with its own overlapping anomaly
    becomes an alias of it (and names the account); the others stay on their own.
    """
    listed = list(anomalies)
    services = [a for a in listed if a.dimension != "LINKED_ACCOUNT"]
    folded: dict[str, list[Anomaly]] = {}
    alone = []
    for anomaly in listed:
        if anomaly.dimension != "LINKED_ACCOUNT":
            continue
        driver = drivers.get(anomaly.anomaly_id)
        host = next(
            (
                s
                for s in services
                if driver is not None
                and driver.service == s.key
                and s.start <= anomaly.end + timedelta(days=1)
                and anomaly.start <= s.end + timedelta(days=1)
            ),
            None,
        )
        if host is None:
            alone.append(anomaly)
        else:
            folded.setdefault(host.anomaly_id, []).append(anomaly)
    out = []
    for service in services:
        guests = folded.get(service.anomaly_id, [])
        merged = replace(
            service,
            aliases=tuple(
                dict.fromkeys([*service.aliases, *(i for g in guests for i in g.all_ids)])
            ),
        )
        out.append((merged, tuple(f"account {g.key}" for g in guests)))
    out.extend((a, ()) for a in alone)
    return sorted(out, key=lambda pair: (-pair[0].impact_usd, pair[0].start, pair[0].key))


def _posted_before(deps: Deps, anomaly: Anomaly) -> bool:
    return any(ledger.is_claimed(deps.store, anomaly_key(i)) for i in anomaly.all_ids)


def _post_anomaly(
    deps: Deps,
    channel: str,
    anomaly: Anomaly,
    driver: Driver | None,
    seen_in: tuple[str, ...],
    names: dict[str, str],
    now: datetime,
    result: JobResult,
) -> None:
    if _posted_before(deps, anomaly):
        # Known under another id already (e.g. AWS caught up with an event Penny posted): remember the aliases.
        for alias in anomaly.all_ids:
            ledger.claim_covered(
                deps.store, anomaly_key(alias), job=ANOMALY_REPORT, now=now, covered_by="same event"
            )
        result.duplicates += 1
        return
    blocks = build_anomaly_blocks(
        anomaly,
        driver=driver,
        metric=deps.settings.cost_metric,
        as_of=now.astimezone(deps.settings.tz),
        account_names=names,
        also_seen_in=seen_in,
    )
    posted = post_once(
        deps,
        anomaly_key(anomaly.anomaly_id),
        job=ANOMALY_REPORT,
        channel=channel,
        text=anomaly_text(anomaly),
        blocks=blocks,
        now=now,
    )
    result.count(posted.status)
    for alias in anomaly.aliases:
        ledger.claim_covered(
            deps.store,
            anomaly_key(alias),
            job=ANOMALY_REPORT,
            now=now,
            covered_by=anomaly_key(anomaly.anomaly_id),
        )
