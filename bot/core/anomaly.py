"""Cost anomaly detection on daily cost series, robust to weekly rhythm and month-start charges.

The detector is causal: whether a day is anomalous depends only on that day and the days
before it. A daily job that runs on consecutive days therefore sees the same event with the
same start date and the same ``anomaly_id``, and can post each event once.

How a day is judged (per key, e.g. one service or one linked account):

* **Expected value.** The median of the same weekday over the previous ``baseline_weeks``
  weeks, or over ``long_baseline_weeks`` weeks when that is higher. Comparing a Saturday
  with Saturdays keeps the weekday/weekend rhythm (and weekly batch jobs) quiet without
  having to model it; the long median remembers the usual level through holidays, so
  spend coming back after a dip is not an increase.
* **Month-start charges.** Savings Plans and RI fees, Support and Tax land on day 1 of
  the month. Day 1 values never enter the ordinary baseline; a day 1 is expected to carry
  the ordinary value plus the median month-start excess of the previous month-starts
  (with a tolerance for charges that vary, such as tax). A day 1 without a previous
  month-start in the data is not judged, because nothing tells a recurring fee from a spike.
* **Scale.** The median absolute deviation of past residuals (actual minus expected),
  so spikes and level shifts in the history do not inflate it the way a standard deviation
  would.
* **Threshold.** A day opens an event when its excess over the expected value is above all
  of ``sensitivity_sigmas`` robust standard deviations, ``min_relative_change`` of the
  expected value and ``min_daily_excess_usd``. An open event continues while the excess
  stays above half that threshold (hysteresis) and survives gaps of ``max_gap_days``.
* **Reporting.** An event is reported when its total impact reaches ``min_impact_usd``.

Definitions the job and its readers rely on:

* **Drops are not reported.** Falling spend is good news for a bill watcher and holidays
  produce dips that would be false alarms; AWS Cost Anomaly Detection reports increases only.
* **Ramp versus normal growth.** Growth is normal while the lag of the four-week
  same-weekday median stays under the relative threshold: with the defaults, about 20 %
  over two to three weeks (roughly 1 % a day). Faster growth is reported once, as a ramp,
  when it crosses the threshold; the event stays open (one id) while the ramp continues.
* **Kind** is the best classification as of the run (``ongoing`` events may turn from a
  spike into a level shift); the id does not change.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

AnomalyKind = Literal["spike", "level_shift", "ramp", "new_service"]
Severity = Literal["low", "medium", "high"]
Source = Literal["penny", "aws", "penny+aws"]

CENT = Decimal("0.01")
MAD_TO_SIGMA = 1.4826  # makes the MAD a consistent estimate of sigma for normal noise
SPIKE_MAX_DAYS = 3
CONTINUE_FRACTION = 0.5
# Support and tax follow last month's spend; a 30 % move of a month-start charge is normal.
MONTH_START_TOLERANCE = 0.3


@dataclass(frozen=True)
class AnomalySettings:
    """Tuning of the detector; the defaults are what the scenario set was measured with.

    Attributes:
        min_impact_usd: an event is reported once its total excess reaches this amount.
        min_daily_excess_usd: a day must exceed its expected value by at least this much.
        sensitivity_sigmas: robust standard deviations a day must exceed (lower = more alerts).
        min_relative_change: a day must exceed its expected value by this fraction.
        lookback_days: days of residual history used for the scale.
        baseline_weeks: same-weekday values whose median follows changes of level.
        long_baseline_weeks: same-weekday values whose median remembers the usual level.
        min_history_days: days of data needed before a day is judged.
        max_gap_days: calm days an event may contain before it is considered over.
        report_window_days: events that ended longer ago than this are not returned.
        severity_usd: (medium, high) impact thresholds for the severity label.
    """

    min_impact_usd: float = 25.0
    min_daily_excess_usd: float = 5.0
    sensitivity_sigmas: float = 4.0
    min_relative_change: float = 0.2
    lookback_days: int = 56
    baseline_weeks: int = 4
    long_baseline_weeks: int = 8
    min_history_days: int = 21
    max_gap_days: int = 2
    report_window_days: int = 7
    severity_usd: tuple[float, float] = (250.0, 2500.0)


@dataclass(frozen=True)
class Driver:
    """What most likely caused an anomaly: any of service, region, account, usage type."""

    service: str | None = None
    region: str | None = None
    account: str | None = None
    usage_type: str | None = None
    contribution_usd: Decimal | None = None


@dataclass(frozen=True)
class Anomaly:
    """One cost event on one key, as the anomaly report posts it.

    ``expected`` and ``actual`` are totals over ``start``..``end``; ``impact_usd`` is their
    difference. ``anomaly_id`` is stable across daily runs; ``aliases`` lists the other ids
    the same event is known by after a merge (the job treats the event as posted when any of
    ``all_ids`` was posted).
    """

    key: str
    dimension: str
    start: date
    end: date
    expected: Decimal
    actual: Decimal
    impact_usd: Decimal
    severity: Severity
    kind: AnomalyKind
    anomaly_id: str
    ongoing: bool = False
    source: Source = "penny"
    aliases: tuple[str, ...] = ()
    root_causes: tuple[Driver, ...] = ()

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The primary id followed by every alias."""
        return (self.anomaly_id, *self.aliases)


@dataclass(frozen=True)
class DayVerdict:
    """How one day compares with its expectation; ``threshold`` is None when not judged."""

    day: date
    actual: float
    expected: float
    threshold: float | None


def make_anomaly_id(dimension: str, key: str, start: date) -> str:
    """Return the stable id of the event on ``key`` that started on ``start``."""
    digest = hashlib.sha256(f"{dimension}\x1f{key}".encode()).hexdigest()[:12]
    return f"penny-{start:%Y%m%d}-{digest}"


def to_money(value: float | Decimal) -> Decimal:
    """Round an amount to the cent as a Decimal."""
    return Decimal(str(value)).quantize(CENT)


def dense_daily_values(
    points: Iterable[tuple[date, Decimal | float]], first: date, last: date
) -> list[float]:
    """Return one value per day from ``first`` to ``last``; missing days count as zero.

    Cost Explorer omits groups with no cost, so a new service appears with no history: the
    zeros are what make it recognisable as new.
    """
    by_day: dict[date, float] = {}
    for day, amount in points:
        if first <= day <= last:
            by_day[day] = by_day.get(day, 0.0) + float(amount)
    return [by_day.get(first + timedelta(days=i), 0.0) for i in range(_days_between(first, last))]


def _days_between(first: date, last: date) -> int:
    return (last - first).days + 1


def judge_days(values: Sequence[float], first: date, settings: AnomalySettings) -> list[DayVerdict]:
    """Judge every day of a dense series against a baseline built only from earlier days."""
    ordinary = [_ordinary_expected(values, first, i, settings) for i in range(len(values))]
    residuals = [_residual(values, first, i, ordinary[i]) for i in range(len(values))]
    verdicts = []
    for i, actual in enumerate(values):
        expected, threshold = _expectation(values, first, i, ordinary, residuals, settings)
        verdicts.append(DayVerdict(first + timedelta(days=i), actual, expected, threshold))
    return verdicts


def _residual(
    values: Sequence[float], first: date, index: int, expected: float | None
) -> float | None:
    """Actual minus expected, or None for days that say nothing about the usual noise.

    Month-start days are judged apart, and days before a service existed (nothing expected,
    nothing spent) would make a new service look noiseless.
    """
    if expected is None or _is_month_start(first, index):
        return None
    if expected == 0 and values[index] == 0:
        return None
    return values[index] - expected


def _is_month_start(first: date, index: int) -> bool:
    return (first + timedelta(days=index)).day == 1


def _ordinary_expected(
    values: Sequence[float], first: date, index: int, settings: AnomalySettings
) -> float | None:
    """The larger of the short and the long same-weekday median, month-start days left out.

    The short median follows a real change of level within weeks; the long one remembers the
    usual level through holidays and other dips, so coming back from a dip is not an
    increase. Taking the larger is safe because only increases are reported.
    """
    samples = [
        values[index - 7 * week]
        for week in range(1, settings.long_baseline_weeks + 1)
        if index - 7 * week >= 0 and not _is_month_start(first, index - 7 * week)
    ]
    if not samples:
        return None
    short = samples[: settings.baseline_weeks]
    return max(statistics.median(short), statistics.median(samples))


def _expectation(
    values: Sequence[float],
    first: date,
    index: int,
    ordinary: Sequence[float | None],
    residuals: Sequence[float | None],
    settings: AnomalySettings,
) -> tuple[float, float | None]:
    base = ordinary[index]
    if base is None or index < settings.min_history_days:
        return values[index] if base is None else base, None
    window = residuals[max(0, index - settings.lookback_days) : index]
    scale = _robust_sigma([r for r in window if r is not None])
    threshold = max(
        settings.sensitivity_sigmas * scale,
        settings.min_relative_change * base,
        settings.min_daily_excess_usd,
    )
    if not _is_month_start(first, index):
        return base, threshold
    recurring = _recurring_month_start_excess(values, first, index, ordinary)
    if recurring is None:
        return base, None
    typical, tolerance = recurring
    return base + typical, threshold + tolerance


def _robust_sigma(residuals: Sequence[float]) -> float:
    if len(residuals) < 2:
        return 0.0
    centre = statistics.median(residuals)
    return MAD_TO_SIGMA * statistics.median(abs(r - centre) for r in residuals)


def _recurring_month_start_excess(
    values: Sequence[float], first: date, index: int, ordinary: Sequence[float | None]
) -> tuple[float, float] | None:
    """Typical month-start excess over the ordinary baseline and how much it varies.

    Returns None when no earlier month-start has a baseline, so day 1 cannot be judged.
    """
    excesses = []
    for earlier in range(index - 1, max(-1, index - 100), -1):
        if not _is_month_start(first, earlier):
            continue
        level = ordinary[earlier]
        if level is None and earlier + 8 <= index:
            # A month-start in the first week of data: the week after it is still history.
            level = statistics.median(values[earlier + 1 : earlier + 8])
        if level is not None:
            excesses.append(values[earlier] - level)
    if not excesses:
        return None
    typical = max(0.0, statistics.median(excesses))
    tolerance = MONTH_START_TOLERANCE * typical + (max(excesses) - min(excesses)) / 2
    return typical, tolerance


def group_events(
    verdicts: Sequence[DayVerdict],
    max_gap_days: int,
    continue_fraction: float = CONTINUE_FRACTION,
) -> list[list[DayVerdict]]:
    """Group judged days into events of anomalous days.

    A day opens an event when its excess is above its threshold; while an event is open, a
    day continues it when its excess is above ``continue_fraction`` of the threshold, so a
    level shift that the baseline slowly absorbs stays one event. An event is over after
    more than ``max_gap_days`` calm days. Dormant days (nothing expected, nothing spent) are
    not calm days: a weekly batch job that doubles is one event, not one per week.
    """
    events: list[list[DayVerdict]] = []
    current: list[DayVerdict] | None = None
    calm_days = 0
    for verdict in verdicts:
        excess = verdict.actual - verdict.expected
        if current is None:
            if verdict.threshold is not None and excess > verdict.threshold:
                current = [verdict]
                events.append(current)
                calm_days = 0
            continue
        if verdict.threshold is not None and excess > verdict.threshold * continue_fraction:
            current.append(verdict)
            calm_days = 0
        elif not (verdict.actual == 0 and verdict.expected == 0):
            calm_days += 1
            if calm_days > max_gap_days:
                current = None
    return events


def detect_anomalies(
    series: Mapping[str, Iterable[tuple[date, Decimal | float]]],
    as_of: date,
    *,
    dimension: str = "SERVICE",
    settings: AnomalySettings | None = None,
) -> list[Anomaly]:
    """Find cost anomalies in daily cost series, one series per key.

    Args:
        series: key (service name or linked account id) to (day, cost) points. Days with no
            point count as zero from the earliest day of any series.
        as_of: the last complete day; later points are ignored.
        dimension: what the keys are ("SERVICE" or "LINKED_ACCOUNT"); part of the id.
        settings: detector tuning; defaults to ``AnomalySettings()``.

    Returns:
        Anomalies whose event touches the report window, largest impact first.
    """
    settings = settings or AnomalySettings()
    return run_detector(series, as_of, judge_days, dimension=dimension, settings=settings)


Judge = Callable[[Sequence[float], date, AnomalySettings], list[DayVerdict]]


def run_detector(
    series: Mapping[str, Iterable[tuple[date, Decimal | float]]],
    as_of: date,
    judge: Judge,
    *,
    dimension: str,
    settings: AnomalySettings,
    continue_fraction: float = CONTINUE_FRACTION,
) -> list[Anomaly]:
    """Judge each key's dense series with ``judge``, group events and keep reportable ones.

    Shared by Penny's detector and the z-score baseline so both are scored the same way.
    """
    materialised = {key: [p for p in points if p[0] <= as_of] for key, points in series.items()}
    starts = [p[0] for points in materialised.values() for p in points]
    if not starts:
        return []
    first = min(starts)
    window_start = as_of - timedelta(days=settings.report_window_days - 1)
    min_impact = to_money(settings.min_impact_usd)
    found = []
    for key, points in materialised.items():
        values = dense_daily_values(points, first, as_of)
        verdicts = judge(values, first, settings)
        for days in group_events(verdicts, settings.max_gap_days, continue_fraction):
            before = verdicts[: (days[0].day - first).days]
            anomaly = describe_event(key, dimension, days, before, as_of, settings)
            if anomaly.end >= window_start and anomaly.impact_usd >= min_impact:
                found.append(anomaly)
    return sorted(found, key=lambda a: (-a.impact_usd, a.start, a.key))


def describe_event(
    key: str,
    dimension: str,
    days: Sequence[DayVerdict],
    before: Sequence[DayVerdict],
    as_of: date,
    settings: AnomalySettings,
) -> Anomaly:
    """Summarise one event (its anomalous days) as an Anomaly with a stable id.

    ``before`` holds the judged days that precede the event, oldest first.
    """
    start, end = days[0].day, days[-1].day
    actual = sum((Decimal(str(d.actual)) for d in days), Decimal(0)).quantize(CENT)
    expected = to_money(sum(d.expected for d in days))
    impact = actual - expected
    return Anomaly(
        key=key,
        dimension=dimension,
        start=start,
        end=end,
        expected=expected,
        actual=actual,
        impact_usd=impact,
        severity=severity_for(impact, settings),
        kind=_classify(days, before, settings),
        anomaly_id=make_anomaly_id(dimension, key, start),
        ongoing=(as_of - end).days <= settings.max_gap_days,
    )


def severity_for(impact_usd: Decimal, settings: AnomalySettings) -> Severity:
    """Label an impact low, medium or high against ``settings.severity_usd``."""
    medium, high = settings.severity_usd
    if impact_usd >= to_money(high):
        return "high"
    return "medium" if impact_usd >= to_money(medium) else "low"


def _classify(
    days: Sequence[DayVerdict], before: Sequence[DayVerdict], settings: AnomalySettings
) -> AnomalyKind:
    """Name the shape of an event from its days and the days before it."""
    if sum(v.actual for v in before[-settings.lookback_days :]) < settings.min_impact_usd:
        return "new_service"
    if (days[-1].day - days[0].day).days + 1 <= SPIKE_MAX_DAYS:
        return "spike"
    # Spend already running above its baseline before the threshold was crossed is a ramp.
    lead_in = [
        (v.actual - v.expected) / v.expected
        for v in before[-7:]
        if v.threshold is not None and v.expected > 0 and v.day.day != 1
    ]
    if lead_in and statistics.median(lead_in) > settings.min_relative_change / 2:
        return "ramp"
    # After a step the excess shrinks as the baseline catches up; during a ramp it grows.
    excesses = [v.actual - v.expected for v in days]
    if len(excesses) >= 7 and statistics.median(excesses[-3:]) > 1.5 * statistics.median(
        excesses[:3]
    ):
        return "ramp"
    return "level_shift"


# --- AWS Cost Anomaly Detection ------------------------------------------------------------


def aws_anomaly_to_anomaly(item: Mapping, dimension: str = "SERVICE") -> Anomaly:
    """Turn one ``GetAnomalies`` item into an Anomaly keyed by its dimension value.

    The key is the monitor's ``DimensionValue`` when present, else the first root cause's
    service (or account for a LINKED_ACCOUNT dimension).
    """
    causes = tuple(_driver_from_root_cause(cause) for cause in item.get("RootCauses") or ())
    start = _parse_aws_day(item["AnomalyStartDate"])
    end = _parse_aws_day(item.get("AnomalyEndDate") or item["AnomalyStartDate"])
    impact = item.get("Impact") or {}
    total_impact = to_money(impact.get("TotalImpact", 0))
    actual = to_money(impact.get("TotalActualSpend", 0))
    expected = to_money(impact.get("TotalExpectedSpend", actual - total_impact))
    return Anomaly(
        key=item.get("DimensionValue") or _key_from_causes(causes, dimension) or "unknown",
        dimension=dimension,
        start=start,
        end=end,
        expected=expected,
        actual=actual,
        impact_usd=total_impact,
        severity=severity_for(total_impact, AnomalySettings()),
        kind="spike" if (end - start).days < SPIKE_MAX_DAYS else "level_shift",
        anomaly_id=f"aws-{item['AnomalyId']}",
        ongoing=not item.get("AnomalyEndDate"),
        source="aws",
        root_causes=causes,
    )


def _parse_aws_day(text: str) -> date:
    # AWS sends "2024-03-05" or "2024-03-05T00:00:00Z" depending on the SDK and endpoint.
    return datetime.strptime(text[:10], "%Y-%m-%d").date()


def _driver_from_root_cause(cause: Mapping) -> Driver:
    contribution = (cause.get("Impact") or {}).get("Contribution")
    return Driver(
        service=cause.get("Service"),
        region=cause.get("Region"),
        account=cause.get("LinkedAccount"),
        usage_type=cause.get("UsageType"),
        contribution_usd=None if contribution is None else to_money(contribution),
    )


def _key_from_causes(causes: Sequence[Driver], dimension: str) -> str | None:
    for cause in causes:
        value = cause.account if dimension == "LINKED_ACCOUNT" else cause.service
        if value:
            return value
    return None


def _matches(ours: Anomaly, theirs: Anomaly, tolerance_days: int) -> bool:
    overlap = ours.start <= theirs.end + timedelta(
        days=tolerance_days
    ) and theirs.start <= ours.end + timedelta(days=tolerance_days)
    if not overlap:
        return False
    names = {theirs.key} | {
        value
        for cause in theirs.root_causes
        for value in (cause.account if ours.dimension == "LINKED_ACCOUNT" else cause.service,)
        if value
    }
    return ours.key in names


def merge_with_aws_anomalies(
    ours: Sequence[Anomaly],
    aws: Sequence[Mapping],
    *,
    tolerance_days: int = 1,
) -> list[Anomaly]:
    """Merge Penny's anomalies with AWS Cost Anomaly Detection's so each event appears once.

    An AWS anomaly matches one of ours when its dimension value or a root cause names our key
    (service, or account for LINKED_ACCOUNT anomalies) and the dates overlap within
    ``tolerance_days``. Everything linked by a match becomes one anomaly: Penny's id with the
    largest impact stays primary, every other id becomes an alias, and AWS's root causes are
    kept as the likely driver. Unmatched AWS anomalies are returned on their own.

    Args:
        ours: anomalies from ``detect_anomalies`` (any dimensions).
        aws: items of the ``Anomalies`` list of a ``GetAnomalies`` response.
        tolerance_days: how far apart two date ranges may be and still be one event.

    Returns:
        Merged anomalies, largest impact first.
    """
    theirs = [aws_anomaly_to_anomaly(item) for item in aws]
    groups: list[tuple[list[Anomaly], list[Anomaly]]] = []
    for their in theirs:
        matched = [our for our in ours if _matches(our, their, tolerance_days)]
        joined = [g for g in groups if any(m in g[0] for m in matched)]
        merged_ours = list(dict.fromkeys(o for g in joined for o in g[0])) + matched
        merged_theirs = [t for g in joined for t in g[1]] + [their]
        groups = [g for g in groups if g not in joined]
        groups.append((list(dict.fromkeys(merged_ours)), merged_theirs))
    grouped = {id(o) for g in groups for o in g[0]}
    result = [o for o in ours if id(o) not in grouped]
    result += [_merge_group(our_part, their_part) for our_part, their_part in groups]
    return sorted(result, key=lambda a: (-a.impact_usd, a.start, a.key))


def _merge_group(ours: list[Anomaly], theirs: list[Anomaly]) -> Anomaly:
    if not ours:
        primary, others = theirs[0], theirs[1:]
        return replace(primary, aliases=tuple(t.anomaly_id for t in others))
    primary = max(ours, key=lambda a: a.impact_usd)
    aliases = [a.anomaly_id for a in ours if a is not primary] + [t.anomaly_id for t in theirs]
    causes = tuple(cause for t in theirs for cause in t.root_causes)
    return replace(
        primary,
        source="penny+aws",
        aliases=tuple(dict.fromkeys(aliases)),
        root_causes=causes or primary.root_causes,
    )


# --- Likely driver -------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    """Cost of one slice (usage type, region, account, service) over a period."""

    amount: Decimal | float
    service: str | None = None
    region: str | None = None
    account: str | None = None
    usage_type: str | None = None

    def slice_key(self) -> tuple[str | None, str | None, str | None, str | None]:
        """The slice this row describes, without the amount."""
        return (self.service, self.region, self.account, self.usage_type)


def likely_driver(
    window: Iterable[BreakdownRow],
    baseline: Iterable[BreakdownRow],
    *,
    window_days: int,
    baseline_days: int,
) -> Driver | None:
    """Name the slice whose daily cost grew most between the baseline and the anomaly window.

    Args:
        window: cost per slice over the anomaly window (e.g. Cost Explorer grouped by
            USAGE_TYPE and REGION for the anomalous service).
        baseline: cost per slice over the baseline period, same grouping.
        window_days: length of the anomaly window in days.
        baseline_days: length of the baseline period in days.

    Returns:
        The slice with the largest increase, its contribution being the extra cost over the
        window; None when nothing grew.
    """
    if window_days <= 0 or baseline_days <= 0:
        raise ValueError("window_days and baseline_days must be positive")
    per_day_before = _daily_by_slice(baseline, baseline_days)
    per_day_during = _daily_by_slice(window, window_days)
    growth = {
        key: (during - per_day_before.get(key, Decimal(0))) * window_days
        for key, during in per_day_during.items()
    }
    if not growth:
        return None
    best_key, best_growth = max(growth.items(), key=lambda item: item[1])
    if best_growth <= 0:
        return None
    service, region, account, usage_type = best_key
    return Driver(service, region, account, usage_type, best_growth.quantize(CENT))


def _daily_by_slice(rows: Iterable[BreakdownRow], days: int) -> dict[tuple, Decimal]:
    totals: dict[tuple, Decimal] = {}
    for row in rows:
        key = row.slice_key()
        totals[key] = totals.get(key, Decimal(0)) + Decimal(str(row.amount))
    return {key: total / days for key, total in totals.items()}


def aws_anomalies_in_scope(
    items: Iterable[Mapping[str, Any]], accounts: Iterable[str] | None
) -> list[Mapping[str, Any]]:
    """AWS `GetAnomalies` items a user may see when Penny is limited to some accounts.

    With no allowlist, everything. With one, an anomaly is kept only when its root causes
    name at least one allowed linked account and none outside the list: an anomaly that
    names no account cannot be shown to be in scope.
    """
    if accounts is None:
        return list(items)
    allowed = set(accounts)
    kept = []
    for item in items:
        named = {
            str(c.get("LinkedAccount"))
            for c in item.get("RootCauses") or []
            if c.get("LinkedAccount")
        }
        if named and named <= allowed:
            kept.append(item)
    return kept
