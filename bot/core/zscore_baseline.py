"""A plain rolling z-score detector, kept as the yardstick for Penny's anomaly detector.

A day is anomalous when it is more than ``Z_THRESHOLD`` standard deviations above the mean
of the previous ``WINDOW_DAYS`` days (increases only, like Penny's detector, so both are
scored on the same labels). Consecutive anomalous days form one event. It knows nothing of
weekdays, month-start charges or dollar floors unless ``min_impact_usd`` is given.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bot.core.anomaly import Anomaly, AnomalySettings, DayVerdict, run_detector

WINDOW_DAYS = 14
Z_THRESHOLD = 3.0


def judge_days_by_zscore(
    values: Sequence[float], first: date, settings: AnomalySettings
) -> list[DayVerdict]:
    """Judge each day against the mean and standard deviation of the previous 14 days.

    A flat history (standard deviation zero) makes any increase anomalous: its z-score is
    infinite.
    """
    verdicts = []
    for i, actual in enumerate(values):
        day = first + timedelta(days=i)
        if i < WINDOW_DAYS:
            verdicts.append(DayVerdict(day, actual, actual, None))
            continue
        window = values[i - WINDOW_DAYS : i]
        mean = statistics.fmean(window)
        stdev = math.sqrt(sum((v - mean) ** 2 for v in window) / (WINDOW_DAYS - 1))
        verdicts.append(DayVerdict(day, actual, mean, Z_THRESHOLD * stdev))
    return verdicts


def detect_anomalies_zscore(
    series: Mapping[str, Iterable[tuple[date, Decimal | float]]],
    as_of: date,
    *,
    dimension: str = "SERVICE",
    report_window_days: int = 7,
    min_impact_usd: float = 0.0,
) -> list[Anomaly]:
    """Find anomalies with the rolling z-score rule; same input and output as Penny's.

    Args:
        series: key to (day, cost) points, as for ``detect_anomalies``.
        as_of: the last complete day.
        dimension: what the keys are; part of the id.
        report_window_days: events that ended longer ago are not returned.
        min_impact_usd: drop events with a smaller total excess (0 = plain z-score).

    Returns:
        Anomalies whose event touches the report window, largest impact first.
    """
    settings = replace(
        AnomalySettings(),
        report_window_days=report_window_days,
        min_impact_usd=min_impact_usd,
        max_gap_days=0,
    )
    return run_detector(
        series,
        as_of,
        judge_days_by_zscore,
        dimension=dimension,
        settings=settings,
        continue_fraction=1.0,
    )
