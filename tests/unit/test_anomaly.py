"""The anomaly detector against its labelled scenario set, plus merge and driver helpers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import boto3
import pytest
from botocore.stub import Stubber

from bot.core.anomaly import (
    Anomaly,
    AnomalySettings,
    BreakdownRow,
    Driver,
    dense_daily_values,
    detect_anomalies,
    likely_driver,
    make_anomaly_id,
    merge_with_aws_anomalies,
)
from bot.core.zscore_baseline import detect_anomalies_zscore
from tests.unit.anomaly_scenarios import (
    MONTH_START,
    Scenario,
    SeriesMaker,
    build_scenarios,
    evaluate,
    posted_by_daily_runs,
    total_score,
)

SCENARIOS = build_scenarios()
BY_NAME = {s.name: s for s in SCENARIOS}
EVERYTHING = replace(AnomalySettings(), report_window_days=10_000)


def penny(series, as_of, dimension):
    return detect_anomalies(series, as_of, dimension=dimension)


@cache
def scenarios_by_name(variant: int) -> dict[str, Scenario]:
    return {s.name: s for s in build_scenarios(variant)}


@cache
def all_events(name: str, variant: int = 0) -> list[Anomaly]:
    """Every event of a scenario, from one run whose report window covers the whole series."""
    scenario = scenarios_by_name(variant)[name]
    return detect_anomalies(
        scenario.series, scenario.as_of, dimension=scenario.dimension, settings=EVERYTHING
    )


# --- the scenario set --------------------------------------------------------------------


def test_scenario_set_is_large_enough_and_covers_every_kind_of_case():
    assert len(SCENARIOS) >= 20
    assert len(BY_NAME) == len(SCENARIOS), "scenario names must be unique"
    labelled_kinds = {label.kind for s in SCENARIOS for label in s.expected}
    assert {"spike", "level_shift", "ramp", "new_service"} <= labelled_kinds
    assert sum(1 for s in SCENARIOS if not s.expected) >= 8, "quiet scenarios"
    assert sum(1 for s in SCENARIOS if MONTH_START in s.tags) >= 4


def test_scenarios_are_deterministic():
    again = build_scenarios()
    assert [s.series for s in again] == [s.series for s in SCENARIOS]
    assert build_scenarios(1)[0].series != SCENARIOS[0].series


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_labelled_event_is_found_once_and_nothing_else(name):
    result = evaluate(BY_NAME[name], all_events(name))

    assert result.missed == []
    assert result.false_positives == []


@pytest.mark.parametrize(
    "name", sorted(s.name for s in SCENARIOS if any(label.kind for label in s.expected))
)
def test_events_are_classified_as_labelled(name):
    scenario = BY_NAME[name]
    for label in scenario.expected:
        (found,) = [a for a in all_events(name) if label.matches(a)]
        if label.kind:
            assert found.kind == label.kind


@pytest.mark.parametrize("name", sorted(s.name for s in SCENARIOS if MONTH_START in s.tags))
def test_month_start_charges_never_alert(name):
    scenario = BY_NAME[name]
    labelled_starts = {label.earliest for label in scenario.expected}
    on_the_first = [a for a in all_events(name) if a.start.day == 1]

    assert [a for a in on_the_first if a.start not in labelled_starts] == []


def test_a_spike_on_day_one_on_top_of_the_recurring_fee_alerts():
    (found,) = all_events("spike_on_day_one_over_recurring_fee")

    assert found.start == date(2024, 4, 1)
    assert Decimal(1200) < found.impact_usd < Decimal(1800)


def test_aggregate_precision_and_recall_meet_the_target():
    score = total_score([evaluate(s, all_events(s.name)) for s in SCENARIOS])

    assert score.precision >= 0.9
    assert score.recall >= 0.9
    assert score.month_start_false_alerts == 0


@pytest.mark.parametrize("variant", [1, 2, 3])
def test_targets_hold_with_other_noise_draws(variant):
    scenarios = scenarios_by_name(variant).values()
    score = total_score([evaluate(s, all_events(s.name, variant)) for s in scenarios])

    assert score.precision >= 0.9
    assert score.recall >= 0.9
    assert score.month_start_false_alerts == 0


def test_zscore_baseline_fails_where_the_set_is_hard():
    """The set must be able to fail a detector: the plain z-score alerts on month starts."""
    results = [
        evaluate(s, detect_anomalies_zscore(s.series, s.as_of, report_window_days=10_000))
        for s in SCENARIOS
    ]
    score = total_score(results)

    assert score.month_start_false_alerts > 0
    assert score.precision < 0.9


# --- once-only posting -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(s.name for s in SCENARIOS if s.expected))
def test_ids_are_stable_across_consecutive_daily_runs(name):
    scenario = BY_NAME[name]
    for label in scenario.expected:
        ids = set()
        for offset in range(0, 12):
            as_of = min(label.earliest + timedelta(days=offset), scenario.as_of)
            ids |= {
                a.anomaly_id
                for a in detect_anomalies(scenario.series, as_of, dimension=scenario.dimension)
                if label.matches(a)
            }
        (full_run,) = [a for a in all_events(name) if label.matches(a)]
        assert ids == {full_run.anomaly_id}


@pytest.mark.parametrize(
    "name", ["slow_ramp_reported_once", "level_shift_then_spike", "weekly_batch_job_doubles"]
)
def test_daily_runs_post_each_event_once(name):
    scenario = BY_NAME[name]
    posted = posted_by_daily_runs(scenario, penny)

    assert sorted(a.anomaly_id for a in posted) == sorted(a.anomaly_id for a in all_events(name))
    assert evaluate(scenario, posted).false_positives == []


def test_anomaly_id_depends_on_key_dimension_and_start_only():
    start = date(2024, 3, 5)
    assert make_anomaly_id("SERVICE", "Amazon EC2", start) == make_anomaly_id(
        "SERVICE", "Amazon EC2", start
    )
    assert make_anomaly_id("SERVICE", "Amazon EC2", start) != make_anomaly_id(
        "LINKED_ACCOUNT", "Amazon EC2", start
    )
    assert make_anomaly_id("SERVICE", "Amazon EC2", start) != make_anomaly_id(
        "SERVICE", "Amazon EC2", start + timedelta(days=1)
    )


def test_report_window_leaves_out_events_that_ended_long_ago():
    scenario = BY_NAME["single_day_spike"]
    spike = date(2024, 3, 20)

    assert detect_anomalies(scenario.series, spike + timedelta(days=6))
    assert detect_anomalies(scenario.series, spike + timedelta(days=7)) == []


def test_points_after_as_of_are_ignored():
    scenario = BY_NAME["single_day_spike"]
    day_before = date(2024, 3, 19)

    assert detect_anomalies(scenario.series, day_before) == []


# --- settings and inputs -----------------------------------------------------------------


def test_minimum_impact_silences_small_events():
    scenario = BY_NAME["multi_day_spike"]
    strict = replace(EVERYTHING, min_impact_usd=5_000)

    assert detect_anomalies(scenario.series, scenario.as_of, settings=strict) == []


def test_missing_days_count_as_zero_from_the_first_day():
    first = date(2024, 1, 1)
    values = dense_daily_values([(date(2024, 1, 3), Decimal("2.50"))], first, date(2024, 1, 4))

    assert values == [0.0, 0.0, 2.5, 0.0]


def test_a_drop_is_not_reported_but_the_same_jump_upwards_is():
    m = SeriesMaker(date(2024, 1, 1), 100, seed=7)
    change = date(2024, 3, 11)
    down = m.points(m.scale_from(m.steady(500), change, 0.5))
    up = m.points(m.scale_from(m.steady(500), change, 1.5))
    as_of = m.day(99)

    assert detect_anomalies({"down": down}, as_of, settings=EVERYTHING) == []
    (shift,) = detect_anomalies({"up": up}, as_of, settings=EVERYTHING)
    assert (shift.start, shift.kind) == (change, "level_shift")


def test_empty_input_gives_no_anomalies():
    assert detect_anomalies({}, date(2024, 1, 1)) == []


# --- AWS Cost Anomaly Detection ----------------------------------------------------------


def get_anomalies_response(*anomalies: dict) -> list[dict]:
    """Pass items through a stubbed GetAnomalies call, which checks them against the model."""
    client = boto3.client(
        "ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        stubber.add_response("get_anomalies", {"Anomalies": list(anomalies)})
        return client.get_anomalies(
            DateInterval={"StartDate": "2024-03-01", "EndDate": "2024-04-01"}
        )["Anomalies"]


def aws_item(anomaly_id: str, start: str, end: str, service: str, account: str) -> dict:
    return {
        "AnomalyId": anomaly_id,
        "AnomalyStartDate": start,
        "AnomalyEndDate": end,
        "DimensionValue": service,
        "RootCauses": [
            {
                "Service": service,
                "Region": "us-east-1",
                "LinkedAccount": account,
                "UsageType": "BoxUsage:m5.4xlarge",
                "Impact": {"Contribution": 812.5},
            }
        ],
        "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.4},
        "Impact": {
            "MaxImpact": 800.0,
            "TotalImpact": 850.0,
            "TotalActualSpend": 1270.0,
            "TotalExpectedSpend": 420.0,
        },
        "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/abc",
    }


def test_an_event_found_by_both_is_reported_once_with_aws_root_causes():
    (ours,) = all_events("single_day_spike")
    aws = get_anomalies_response(
        aws_item("a-1", "2024-03-20T00:00:00Z", "2024-03-20T00:00:00Z", "Amazon EC2", "111")
    )

    (merged,) = merge_with_aws_anomalies([ours], aws)

    assert merged.anomaly_id == ours.anomaly_id
    assert merged.aliases == ("aws-a-1",)
    assert merged.source == "penny+aws"
    assert merged.root_causes == (
        Driver("Amazon EC2", "us-east-1", "111", "BoxUsage:m5.4xlarge", Decimal("812.50")),
    )


def test_aws_anomalies_on_other_dates_or_services_stay_separate():
    (ours,) = all_events("single_day_spike")
    aws = get_anomalies_response(
        aws_item("late", "2024-03-25", "2024-03-26", "Amazon EC2", "111"),
        aws_item("other", "2024-03-20", "2024-03-20", "Amazon S3", "111"),
    )

    merged = merge_with_aws_anomalies([ours], aws)

    assert sorted(a.anomaly_id for a in merged) == sorted(
        [ours.anomaly_id, "aws-late", "aws-other"]
    )
    late = next(a for a in merged if a.anomaly_id == "aws-late")
    assert (late.start, late.end, late.impact_usd) == (
        date(2024, 3, 25),
        date(2024, 3, 26),
        Decimal("850.00"),
    )


def test_one_aws_anomaly_joins_our_service_and_account_views_of_the_same_event():
    (by_service,) = all_events("single_day_spike")
    by_account = replace(
        by_service,
        key="111",
        dimension="LINKED_ACCOUNT",
        impact_usd=Decimal(10),
        anomaly_id=make_anomaly_id("LINKED_ACCOUNT", "111", by_service.start),
    )
    aws = get_anomalies_response(aws_item("a-2", "2024-03-19", "2024-03-21", "Amazon EC2", "111"))

    (merged,) = merge_with_aws_anomalies([by_service, by_account], aws)

    assert merged.anomaly_id == by_service.anomaly_id
    assert set(merged.all_ids) == {by_service.anomaly_id, by_account.anomaly_id, "aws-a-2"}


def test_merging_nothing_from_aws_keeps_ours_unchanged():
    ours = all_events("two_spikes_same_service")

    assert merge_with_aws_anomalies(ours, []) == ours


# --- likely driver -----------------------------------------------------------------------


def test_likely_driver_names_the_slice_that_grew_most_per_day():
    baseline = [
        BreakdownRow(Decimal("2800"), usage_type="BoxUsage:m5.large", region="us-east-1"),
        BreakdownRow(Decimal("700"), usage_type="EBS:VolumeUsage.gp3", region="us-east-1"),
    ]
    window = [
        BreakdownRow(Decimal("100"), usage_type="BoxUsage:m5.large", region="us-east-1"),
        BreakdownRow(Decimal("25"), usage_type="EBS:VolumeUsage.gp3", region="us-east-1"),
        BreakdownRow(Decimal("600"), usage_type="NatGateway-Bytes", region="eu-west-1"),
    ]

    driver = likely_driver(window, baseline, window_days=1, baseline_days=28)

    assert driver == Driver(None, "eu-west-1", None, "NatGateway-Bytes", Decimal("600.00"))


def test_likely_driver_is_none_when_nothing_grew():
    rows = [BreakdownRow(Decimal("70"), usage_type="BoxUsage:m5.large")]

    assert likely_driver(rows, rows, window_days=7, baseline_days=7) is None


def test_likely_driver_rejects_empty_periods():
    with pytest.raises(ValueError):
        likely_driver([], [], window_days=0, baseline_days=7)


def test_aws_anomalies_are_limited_to_the_configured_accounts():
    from bot.core.anomaly import aws_anomalies_in_scope

    inside = {
        "AnomalyId": "a1",
        "RootCauses": [{"LinkedAccount": "111111111111", "Service": "EC2"}],
    }
    outside = {"AnomalyId": "a2", "RootCauses": [{"LinkedAccount": "999999999999"}]}
    mixed = {
        "AnomalyId": "a3",
        "RootCauses": [{"LinkedAccount": "111111111111"}, {"LinkedAccount": "999999999999"}],
    }
    unnamed = {"AnomalyId": "a4", "RootCauses": [{"Service": "EC2"}]}
    items = [inside, outside, mixed, unnamed]
    assert aws_anomalies_in_scope(items, None) == items
    assert aws_anomalies_in_scope(items, ("111111111111",)) == [inside]
