"""Chunked Cost Explorer answers against the billing fake: same shape, same cents, fewer requests.

Every response CostExplorer derives from its chunks is compared with what Cost Explorer
(the fake, over boto3) returns for the original request asked directly: the same time
buckets, group keys, Estimated flags and account names, every amount equal to the cent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from bot.aws.ce_chunks import plan_request
from bot.aws.cost_explorer import CostExplorer, merge_cost_pages
from bot.core.cost_engine import answer_cost_command
from bot.core.cost_report import FETCHED_AT_KEY
from bot.devtools.billing_data import sum_metric
from bot.devtools.demo_data import generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from bot.store.db import open_store

TODAY = date(2026, 11, 22)
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
METRIC = "UnblendedCost"
EC2 = "Amazon Elastic Compute Cloud - Compute"
RDS = "Amazon Relational Database Service"
# The forms of bench/ce_replay.py's mix.
BENCH_FORMS = [
    "this-month",
    "last-month",
    "7d",
    "yesterday",
    "30d",
    "this-week",
    "last-week",
    "this-month by account",
    "last-month by account",
    "this-month service:ec2",
    "30d service:rds by usage-type",
    "this-month by region",
    "last-month by tag:team",
    "90d",
    "ytd",
    "2026-10",
    "forecast",
    "this-month top 5",
]


class Clock:
    """A controllable clock (aware UTC)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingSource:
    """Passes every call to a CostExplorer and remembers the GetCostAndUsage arguments."""

    def __init__(self, explorer: CostExplorer):
        self.explorer = explorer
        self.asked: list[dict[str, Any]] = []

    def cost_and_usage(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append(kwargs)
        return self.explorer.cost_and_usage(**kwargs)

    def forecast(self, **kwargs: Any) -> dict[str, Any]:
        return self.explorer.forecast(**kwargs)

    def budgets(self) -> list[dict[str, Any]]:
        return self.explorer.budgets()


@pytest.fixture(scope="module")
def billing() -> Iterator[FakeBillingServer]:
    with FakeBillingServer(generate_demo_billing(TODAY), page_size=200) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON)


@pytest.fixture
def explorer(
    billing: FakeBillingServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> CostExplorer:
    monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", billing.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BUDGETS", billing.url)
    return CostExplorer(
        boto3.Session, open_store(":memory:"), clock=clock, account_id="123456789012"
    )


def direct(billing: FakeBillingServer, request: dict[str, Any]) -> dict[str, Any]:
    """The original request asked of Cost Explorer itself, every page merged."""
    ce = boto3.Session().client("ce", region_name="us-east-1", endpoint_url=billing.url)
    params: dict[str, Any] = {
        "TimePeriod": {"Start": request["start"].isoformat(), "End": request["end"].isoformat()},
        "Granularity": request["granularity"],
        "Metrics": [request["metric"]],
    }
    if request.get("group_by"):
        params["GroupBy"] = request["group_by"]
    if request.get("filter"):
        params["Filter"] = request["filter"]
    pages = [ce.get_cost_and_usage(**params)]
    while pages[-1].get("NextPageToken"):
        pages.append(ce.get_cost_and_usage(**params, NextPageToken=pages[-1]["NextPageToken"]))
    return merge_cost_pages(pages)


def amounts(bucket: dict[str, Any], metric: str) -> dict[str, Decimal]:
    if not bucket["Groups"] and bucket["Total"]:
        return {"Total": Decimal(bucket["Total"][metric]["Amount"])}
    return {"|".join(g["Keys"]): Decimal(g["Metrics"][metric]["Amount"]) for g in bucket["Groups"]}


def assert_same_answer(derived: dict[str, Any], truth: dict[str, Any], metric: str) -> None:
    """Same buckets, groups, flags and names as Cost Explorer's; amounts equal to the cent."""
    assert [b["TimePeriod"] for b in derived["ResultsByTime"]] == [
        b["TimePeriod"] for b in truth["ResultsByTime"]
    ]
    for mine, theirs in zip(derived["ResultsByTime"], truth["ResultsByTime"], strict=True):
        assert mine["Estimated"] == theirs["Estimated"], mine["TimePeriod"]
        got, want = amounts(mine, metric), amounts(theirs, metric)
        assert got.keys() == want.keys(), mine["TimePeriod"]
        for key, amount in want.items():
            # CE rounds each amount at its 10th decimal: sums of days differ below that.
            assert abs(got[key] - amount) < Decimal("0.000001"), (key, mine["TimePeriod"])
        assert sum(got.values(), Decimal(0)).quantize(Decimal("0.01")) == sum(
            want.values(), Decimal(0)
        ).quantize(Decimal("0.01"))
        if theirs["Groups"]:
            units = {g["Metrics"][metric]["Unit"] for g in theirs["Groups"]}
            assert {g["Metrics"][metric]["Unit"] for g in mine["Groups"]} == units
    assert derived.get("GroupDefinitions") == truth.get("GroupDefinitions")
    names = {a["Value"]: a["Attributes"] for a in truth.get("DimensionValueAttributes", [])}
    assert {
        a["Value"]: a["Attributes"] for a in derived.get("DimensionValueAttributes", [])
    } == names
    assert FETCHED_AT_KEY in derived


def test_every_bench_form_matches_a_direct_request(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    source = RecordingSource(explorer)
    for text in BENCH_FORMS:
        answer = answer_cost_command(text, source=source, today=TODAY, metric=METRIC, now=NOON)
        assert not answer.ephemeral, text
    assert len(source.asked) > 2 * len(BENCH_FORMS) - 6
    for request in source.asked:
        assert_same_answer(explorer.cost_and_usage(**request), direct(billing, request), METRIC)


GROUPINGS: list[list[dict[str, str]] | None] = [
    None,
    [{"Type": "DIMENSION", "Key": "SERVICE"}],
    [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    [{"Type": "DIMENSION", "Key": "REGION"}],
    [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    [{"Type": "TAG", "Key": "team"}],
]
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
    {"Dimensions": {"Key": "SERVICE", "Values": [RDS, EC2]}},
    {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}},
    {"Tags": {"Key": "team", "Values": ["web"]}},
    {
        "And": [
            {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
            {"Dimensions": {"Key": "REGION", "Values": ["us-east-1"]}},
        ]
    },
    {"Not": {"Dimensions": {"Key": "SERVICE", "Values": ["Tax"]}}},
]


def random_request(rng: random.Random, today: date, first: date) -> dict[str, Any]:
    """A random GetCostAndUsage request from `first` on, often across month boundaries."""
    start = first + timedelta(days=rng.randrange((today - first).days + 1))
    end = start + timedelta(days=rng.randint(1, min(75, (today - start).days + 1)))
    return {
        "start": start,
        "end": end,
        "granularity": rng.choice(["DAILY", "MONTHLY", "MONTHLY"]),
        "metric": rng.choice([METRIC, METRIC, "AmortizedCost"]),
        "group_by": rng.choice(GROUPINGS),
        "filter": rng.choice(FILTERS),
    }


def test_random_periods_groupings_and_filters_match_direct_requests(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    rng = random.Random(20261122)
    for _ in range(40):
        request = random_request(rng, TODAY, first=date(2025, 10, 1))
        derived = explorer.cost_and_usage(**request)
        assert_same_answer(derived, direct(billing, request), request["metric"])
    assert explorer.pages_by_path.get("exact", 0) == 0


def test_the_current_month_is_one_chunk_for_every_range_of_days(
    explorer: CostExplorer, clock: Clock, billing: FakeBillingServer
) -> None:
    billing.clear_requests()
    for text in ("this-month", "7d", "yesterday", "this-week", "last-week", "this-month top 5"):
        answer_cost_command(text, source=explorer, today=TODAY, metric=METRIC, now=NOON)
    daily_pages = explorer.pages_by_path["chunk-daily"]
    answer_cost_command(
        "this-month service:ec2", source=explorer, today=TODAY, metric=METRIC, now=NOON
    )

    # The EC2 filter is applied to the same chunk by keeping the EC2 group.
    assert explorer.pages_by_path["chunk-daily"] == daily_pages
    # Last month's days came along with this month's (the same days last month), once.
    daily_starts = [
        call.body["TimePeriod"]["Start"]
        for call in billing.calls("GetCostAndUsage")
        if call.body["Granularity"] == "DAILY" and "NextPageToken" not in call.body
    ]
    assert daily_starts == ["2026-10-01"]
    before = explorer.requests_made
    clock.now += timedelta(hours=9)
    answer_cost_command("7d", source=explorer, today=TODAY, metric=METRIC, now=clock.now)
    refresh = explorer.pages_by_path["chunk-daily"] - daily_pages  # expired after 8 hours
    assert 0 < refresh < daily_pages  # this month only: last month is finalised, kept
    assert explorer.requests_made == before + refresh


def test_rolling_windows_over_finalised_months_are_answered_from_kept_days(
    explorer: CostExplorer, clock: Clock
) -> None:
    forms = ("30d", "90d", "this-month", "last-week", "last-month")
    for text in forms:
        answer_cost_command(text, source=explorer, today=TODAY, metric=METRIC, now=NOON)
    finalised = ("chunk-monthly", "chunk-daily-final")
    kept = {path: explorer.pages_by_path.get(path, 0) for path in finalised}
    assert kept["chunk-daily-final"] > 0  # the 30d and 90d windows cut finalised months

    # Each later day moves every window's edges inside the same finalised months: nothing
    # is asked but this month's days (once per refresh).
    for day in (1, 2, 3):
        today = TODAY + timedelta(days=day)
        clock.now = NOON + timedelta(days=day)
        before = dict(explorer.pages_by_path)
        for text in forms:
            answer_cost_command(text, source=explorer, today=today, metric=METRIC, now=clock.now)
        assert {path: explorer.pages_by_path.get(path, 0) for path in finalised} == kept
        this_month_only = explorer.pages_by_path["chunk-daily"] - before["chunk-daily"]
        assert 0 < this_month_only <= 2


def test_partial_finalised_months_beyond_the_kept_year_stay_segments(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    request = {
        "start": date(2025, 10, 10),
        "end": date(2025, 12, 20),
        "granularity": "MONTHLY",
        "metric": METRIC,
        "group_by": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    billing.clear_requests()
    assert_same_answer(explorer.cost_and_usage(**request), direct(billing, request), METRIC)
    asked = [
        (c.body["Granularity"], c.body["TimePeriod"]["Start"], c.body["TimePeriod"]["End"])
        for c in billing.calls("GetCostAndUsage")
        if "NextPageToken" not in c.body
    ]
    # October 2025 is more than a year back: its part is a segment; December's part, days.
    assert asked[0] == ("MONTHLY", "2025-10-10", "2025-12-01")
    assert ("DAILY", "2025-12-01", "2026-01-01") in asked


def test_both_days_of_the_bench_match_direct_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's two days on one database: kept days of finalised months stay exact."""
    next_day = TODAY + timedelta(days=1)
    clock = Clock(NOON)
    rng = random.Random(20261123)
    with FakeBillingServer(generate_demo_billing(TODAY), page_size=200) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BUDGETS", server.url)
        explorer = CostExplorer(
            boto3.Session, open_store(":memory:"), clock=clock, account_id="123456789012"
        )
        for today in (TODAY, next_day):
            if today == next_day:
                # AWS has a day more of data; Penny keeps the same database.
                server.set_dataset(generate_demo_billing(next_day))
                clock.now = NOON + timedelta(days=1)
            source = RecordingSource(explorer)
            for text in BENCH_FORMS:
                answer = answer_cost_command(
                    text, source=source, today=today, metric=METRIC, now=clock.now
                )
                assert not answer.ephemeral, text
            distinct = {json.dumps(r, default=str, sort_keys=True): r for r in source.asked}
            randoms = [random_request(rng, today, date(2025, 11, 1)) for _ in range(12)]
            for request in [*distinct.values(), *randoms]:
                derived = explorer.cost_and_usage(**request)
                assert_same_answer(derived, direct(server, request), request["metric"])
        assert explorer.pages_by_path.get("exact", 0) == 0


def test_two_groupings_go_to_the_exact_request_cache(explorer: CostExplorer) -> None:
    request = {
        "start": date(2026, 10, 1),
        "end": date(2026, 11, 1),
        "granularity": "MONTHLY",
        "metric": METRIC,
        "group_by": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "DIMENSION", "Key": "REGION"},
        ],
    }
    explorer.cost_and_usage(**request)
    explorer.cost_and_usage(**request)
    assert set(explorer.pages_by_path) == {"exact"}
    assert explorer.requests_made == explorer.pages_by_path["exact"]


def test_the_whole_month_forecast_is_actual_before_today_plus_the_forecast(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    answer = answer_cost_command(
        "this-month", source=explorer, today=TODAY, metric=METRIC, now=NOON
    )
    ce = boto3.Session().client("ce", region_name="us-east-1", endpoint_url=billing.url)
    rest = ce.get_cost_forecast(
        TimePeriod={"Start": "2026-11-22", "End": "2026-12-01"},
        Granularity="MONTHLY",
        Metric="UNBLENDED_COST",
        PredictionIntervalLevel=80,
    )
    rows = billing.dataset.rows_between
    before_today = sum_metric(rows(date(2026, 11, 1), TODAY), METRIC)
    today_so_far = sum_metric(rows(TODAY, TODAY + timedelta(days=1)), METRIC)
    whole_month = before_today + Decimal(rest["Total"]["Amount"])

    blocks = json.dumps(answer.blocks, ensure_ascii=False)
    assert today_so_far > 100  # the double count this guards against is visible
    assert f"*Forecast, whole month*\\n${whole_month:,.2f}" in blocks
    assert f"${whole_month + today_so_far:,.2f}" not in blocks


def test_forecasts_share_one_request(explorer: CostExplorer) -> None:
    answer_cost_command("forecast", source=explorer, today=TODAY, metric=METRIC, now=NOON)
    answer_cost_command("this-month", source=explorer, today=TODAY, metric=METRIC, now=NOON)
    assert explorer.pages_by_path["forecast"] == 1


@pytest.mark.parametrize(
    ("granularity", "group_by", "filter_", "chunked", "keep"),
    [
        ("HOURLY", None, None, False, None),
        ("MONTHLY", [{"Type": "DIMENSION", "Key": "SERVICE"}] * 2, None, False, None),
        (
            "MONTHLY",
            [{"Type": "DIMENSION", "Key": "SERVICE"}],
            {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
            True,
            {EC2},
        ),
        (
            "DAILY",
            [{"Type": "TAG", "Key": "team"}],
            {"Tags": {"Key": "team", "Values": ["web", "data"]}},
            True,
            {"team$web", "team$data"},
        ),
        # Untagged lines are Cost Explorer's call: the filter stays in the request.
        (
            "DAILY",
            [{"Type": "TAG", "Key": "team"}],
            {"Tags": {"Key": "team", "Values": [""]}},
            True,
            None,
        ),
        (
            "MONTHLY",
            [{"Type": "DIMENSION", "Key": "SERVICE"}],
            {
                "Dimensions": {
                    "Key": "SERVICE",
                    "Values": ["Amazon"],
                    "MatchOptions": ["STARTS_WITH"],
                }
            },
            True,
            None,
        ),
        (
            "MONTHLY",
            [{"Type": "DIMENSION", "Key": "REGION"}],
            {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
            True,
            None,
        ),
    ],
)
def test_which_filters_are_applied_locally(
    granularity: str,
    group_by: list[dict[str, str]] | None,
    filter_: dict[str, Any] | None,
    chunked: bool,
    keep: set[str] | None,
) -> None:
    plan = plan_request(granularity=granularity, metric=METRIC, group_by=group_by, filter=filter_)
    assert (plan is not None) == chunked
    if plan is not None:
        assert plan.keep == (frozenset(keep) if keep is not None else None)
        assert (plan.series.filter is None) == (keep is not None or filter_ is None)


def test_an_and_filter_keeps_the_other_dimension_in_the_request() -> None:
    plan = plan_request(
        granularity="MONTHLY",
        metric=METRIC,
        group_by=[{"Type": "DIMENSION", "Key": "SERVICE"}],
        filter={
            "And": [
                {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
                {"Dimensions": {"Key": "REGION", "Values": ["eu-west-1", "us-east-1"]}},
            ]
        },
    )
    assert plan is not None and plan.keep == frozenset({EC2})
    assert plan.series.filter == {
        "Dimensions": {"Key": "REGION", "Values": ["eu-west-1", "us-east-1"]}
    }
