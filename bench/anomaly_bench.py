"""Penny's anomaly detector against a plain rolling z-score, side by side on the scenario set.

Run: .venv/bin/python bench/anomaly_bench.py [--variants N]

Each detector is run the way the scheduled job runs it: once a day over every day of each
scenario, posting each anomaly id once. Precision, recall and F1 are over the labelled
events; "false @ day 1" counts false alerts that start on the first day of a month
(month-start charges: target zero). The sweep repeats the scoring on other noise draws of
the same scenarios. Timing is per series (one key over ~100-120 days) for one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.anomaly import AnomalySettings, detect_anomalies  # noqa: E402
from bot.core.zscore_baseline import detect_anomalies_zscore  # noqa: E402
from tests.unit.anomaly_scenarios import (  # noqa: E402
    Detector,
    Scenario,
    Score,
    build_scenarios,
    evaluate,
    posted_by_daily_runs,
    total_score,
)

WHOLE_SERIES = 10_000


def penny(series, as_of, dimension, window=7):
    return detect_anomalies(
        series,
        as_of,
        dimension=dimension,
        settings=replace(AnomalySettings(), report_window_days=window),
    )


def zscore(series, as_of, dimension, window=7):
    return detect_anomalies_zscore(series, as_of, dimension=dimension, report_window_days=window)


def zscore_with_floor(series, as_of, dimension, window=7):
    floor = AnomalySettings().min_impact_usd
    return detect_anomalies_zscore(
        series, as_of, dimension=dimension, report_window_days=window, min_impact_usd=floor
    )


DETECTORS: dict[str, Detector] = {
    "penny": penny,
    "z-score": zscore,
    "z-score+$floor": zscore_with_floor,
}


def daily_score(scenarios: Sequence[Scenario], detect: Detector) -> Score:
    return total_score([evaluate(s, posted_by_daily_runs(s, detect)) for s in scenarios])


def whole_series_score(scenarios: Sequence[Scenario], detect: Detector) -> Score:
    return total_score(
        [
            evaluate(s, detect(s.series, s.as_of, s.dimension, window=WHOLE_SERIES))
            for s in scenarios
        ]
    )


def ms_per_series(scenarios: Sequence[Scenario], detect: Callable, repeat: int = 3) -> float:
    series_count = sum(len(s.series) for s in scenarios)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for s in scenarios:
            detect(s.series, s.as_of, s.dimension)
        best = min(best, time.perf_counter() - started)
    return best * 1000 / series_count


def kind_agreement(scenarios: Sequence[Scenario]) -> tuple[int, int]:
    agree = labelled = 0
    for s in scenarios:
        result = evaluate(s, penny(s.series, s.as_of, s.dimension, WHOLE_SERIES))
        for found in result.true_positives:
            label = next(label for label in s.expected if label.matches(found))
            if label.kind:
                labelled += 1
                agree += found.kind == label.kind
    return agree, labelled


def print_table(title: str, rows: dict[str, Score], timings: dict[str, float] | None = None):
    print(f"\n{title}")
    header = f"{'detector':<16}{'precision':>10}{'recall':>8}{'F1':>7}{'TP':>5}{'FP':>5}{'FN':>5}"
    header += f"{'false @ day 1':>15}" + (f"{'ms/series':>11}" if timings else "")
    print(header)
    for name, score in rows.items():
        line = (
            f"{name:<16}{score.precision:>10.3f}{score.recall:>8.3f}{score.f1:>7.3f}"
            f"{score.true_positives:>5}{score.false_positives:>5}{score.missed:>5}"
            f"{score.month_start_false_alerts:>15}"
        )
        if timings:
            line += f"{timings[name]:>11.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10, help="noise draws in the sweep")
    args = parser.parse_args()

    scenarios = build_scenarios()
    labels = sum(len(s.expected) for s in scenarios)
    series = sum(len(s.series) for s in scenarios)
    print(
        f"scenario set: {len(scenarios)} scenarios, {series} series, {labels} labelled events,"
        f" {sum(1 for s in scenarios if not s.expected)} quiet scenarios"
    )

    daily = {name: daily_score(scenarios, detect) for name, detect in DETECTORS.items()}
    timings = {name: ms_per_series(scenarios, detect) for name, detect in DETECTORS.items()}
    print_table("daily runs over every day, each id posted once (variant 0)", daily, timings)

    sweep_sets = [build_scenarios(v) for v in range(args.variants)]
    swept = {
        name: _add_scores([whole_series_score(sc, detect) for sc in sweep_sets])
        for name, detect in DETECTORS.items()
    }
    print_table(f"sweep: {args.variants} noise draws of the same scenarios", swept)

    agree, labelled = kind_agreement(scenarios)
    print(f"\npenny kind (spike/level_shift/ramp/new_service) as labelled: {agree}/{labelled}")
    ratio = timings["penny"] / timings["z-score"]
    print(f"penny time per series relative to z-score: {ratio:.2f}x")


def _add_scores(scores: Sequence[Score]) -> Score:
    return Score(
        true_positives=sum(s.true_positives for s in scores),
        false_positives=sum(s.false_positives for s in scores),
        missed=sum(s.missed for s in scores),
        month_start_false_alerts=sum(s.month_start_false_alerts for s in scores),
    )


if __name__ == "__main__":
    main()
