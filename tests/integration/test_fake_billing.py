"""The Cost Explorer / Budgets fake, driven by real boto3 clients over HTTP.

Expected numbers are computed here from the dataset's rows with plain Python predicates,
independently of the fake's own filter and grouping code, and compared as Decimals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.devtools.billing_data import BillingDataset, DailyCost
from bot.devtools.demo_data import (
    DEMO_ACCOUNTS,
    SAVINGS_PLANS,
    SPIKE_ACCOUNT,
    SPIKE_REGION,
    generate_demo_billing,
)
from bot.devtools.fake_billing import FakeBillingServer

TODAY = date(2026, 5, 20)  # a Wednesday
LAST_MONTH = ("2026-04-01", "2026-05-01")
METRIC = "UnblendedCost"
ZERO = Decimal(0)


@pytest.fixture(scope="module")
def dataset() -> BillingDataset:
    return generate_demo_billing(TODAY)


@pytest.fixture(scope="module")
def server(dataset: BillingDataset) -> Iterator[FakeBillingServer]:
    with FakeBillingServer(dataset, page_size=25) as fake:
        yield fake


@pytest.fixture(scope="module")
def unpaged(dataset: BillingDataset) -> Iterator[FakeBillingServer]:
    with FakeBillingServer(dataset, page_size=100_000) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(server: FakeBillingServer) -> None:
    server.clear_requests()


def client(server: FakeBillingServer, service: str = "ce", **config: Any) -> Any:
    session = boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    retries = config.pop("retries", {"mode": "standard", "max_attempts": 0})
    return session.client(
        service, endpoint_url=server.url, config=Config(retries=retries, **config)
    )


def fetch_all(ce: Any, **request: Any) -> list[dict[str, Any]]:
    """Every page of GetCostAndUsage (boto3 has no paginator for it)."""
    pages, token = [], None
    while True:
        page = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextPageToken")
        if not token:
            return pages


def merged_groups(pages: list[dict[str, Any]], metric: str = METRIC) -> dict[tuple, Decimal]:
    """(period start, *keys) -> amount, merged across pages."""
    merged: dict[tuple, Decimal] = {}
    for page in pages:
        for result in page["ResultsByTime"]:
            for group in result["Groups"]:
                key = (result["TimePeriod"]["Start"], *group["Keys"])
                assert key not in merged, "a group must not repeat across pages"
                merged[key] = Decimal(group["Metrics"][metric]["Amount"])
    return merged


def totals_by(pages: list[dict[str, Any]], position: int = 0) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for key, amount in merged_groups(pages).items():
        totals[key[1 + position]] = totals.get(key[1 + position], ZERO) + amount
    return totals


def expected_by(
    dataset: BillingDataset,
    key: Callable[[DailyCost], str],
    start: str,
    end: str,
    keep: Callable[[DailyCost], bool] = lambda row: True,
    metric: str = METRIC,
) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for row in dataset.rows:
        if date.fromisoformat(start) <= row.day < date.fromisoformat(end) and keep(row):
            sums[key(row)] = sums.get(key(row), ZERO) + row.amounts[metric]
    return sums


def monthly(group_by: list[dict[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    request = {
        "TimePeriod": {"Start": LAST_MONTH[0], "End": LAST_MONTH[1]},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        **extra,
    }
    if group_by:
        request["GroupBy"] = group_by
    return request


def dim(key: str) -> dict[str, str]:
    return {"Type": "DIMENSION", "Key": key}


# ---------------------------------------------------------------- totals to the cent


@pytest.mark.parametrize(
    ("group", "key"),
    [
        (dim("SERVICE"), lambda row: row.service),
        (dim("LINKED_ACCOUNT"), lambda row: row.account),
        (dim("REGION"), lambda row: row.region),
        (dim("USAGE_TYPE"), lambda row: row.usage_type),
        ({"Type": "TAG", "Key": "team"}, lambda row: "team$" + row.tags.get("team", "")),
    ],
    ids=["service", "account", "region", "usage-type", "tag"],
)
def test_grouped_totals_equal_the_dataset_to_the_cent(server, dataset, group, key) -> None:
    pages = fetch_all(client(server), **monthly([group]))

    assert totals_by(pages) == expected_by(dataset, key, *LAST_MONTH)


def test_ungrouped_total_has_every_metric_and_no_groups(server, dataset) -> None:
    metrics = ["UnblendedCost", "AmortizedCost", "NetUnblendedCost", "UsageQuantity"]
    [page] = fetch_all(client(server), **monthly(Metrics=metrics))
    [result] = page["ResultsByTime"]

    assert result["Groups"] == []
    for metric in metrics:
        expected = sum(expected_by(dataset, lambda r: "", *LAST_MONTH, metric=metric).values())
        assert Decimal(result["Total"][metric]["Amount"]) == expected
    assert result["Total"]["UnblendedCost"]["Unit"] == "USD"


def test_amortized_cost_spreads_the_month_start_savings_plan_fee(server) -> None:
    request = monthly([dim("SERVICE")], Metrics=["UnblendedCost", "AmortizedCost"])
    request["TimePeriod"] = {"Start": "2026-04-01", "End": "2026-04-02"}
    request["Granularity"] = "DAILY"
    [page] = fetch_all(client(server), **request)
    [plan] = [g for g in page["ResultsByTime"][0]["Groups"] if g["Keys"] == [SAVINGS_PLANS]]

    unblended = Decimal(plan["Metrics"]["UnblendedCost"]["Amount"])
    amortized = Decimal(plan["Metrics"]["AmortizedCost"]["Amount"])
    assert amortized * 29 < unblended <= amortized * 31


def test_linked_accounts_come_with_their_names(server) -> None:
    [page] = fetch_all(client(server), **monthly([dim("LINKED_ACCOUNT")]))

    names = {a["Value"]: a["Attributes"]["description"] for a in page["DimensionValueAttributes"]}
    assert names == {account.account_id: account.name for account in DEMO_ACCOUNTS}


# ---------------------------------------------------------------- pagination


def daily_by_service_and_region() -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": "2026-03-01", "End": "2026-05-21"},
        "Granularity": "DAILY",
        "Metrics": [METRIC],
        "GroupBy": [dim("SERVICE"), dim("REGION")],
    }


def test_merged_pages_equal_the_unpaged_answer_and_the_data(server, unpaged, dataset) -> None:
    paged = fetch_all(client(server), **daily_by_service_and_region())
    whole = fetch_all(client(unpaged), **daily_by_service_and_region())

    assert len(whole) == 1
    assert len(paged) > 50
    assert server.count("GetCostAndUsage") == len(paged)
    assert all(len(r["Groups"]) <= 25 for p in paged for r in p["ResultsByTime"])
    assert merged_groups(paged) == merged_groups(whole)
    expected = expected_by(
        dataset,
        lambda row: (row.day.isoformat(), row.service, row.region),
        "2026-03-01",
        "2026-05-21",
    )
    assert merged_groups(paged) == expected


def test_a_page_token_reused_with_another_request_is_refused(server) -> None:
    ce = client(server)
    first = ce.get_cost_and_usage(**daily_by_service_and_region())
    changed = {**daily_by_service_and_region(), "Metrics": ["AmortizedCost"]}

    with pytest.raises(ClientError) as raised:
        ce.get_cost_and_usage(**changed, NextPageToken=first["NextPageToken"])
    assert raised.value.response["Error"]["Code"] == "RequestChangedException"


# ---------------------------------------------------------------- filters


def test_dimension_and_tag_filters_combine(server, dataset) -> None:
    expression = {
        "And": [
            {"Dimensions": {"Key": "REGION", "Values": ["us-east-1", "us-west-2"]}},
            {
                "Not": {
                    "Dimensions": {
                        "Key": "SERVICE",
                        "Values": ["Amazon Relational Database Service"],
                    }
                }
            },
            {"Tags": {"Key": "team", "Values": ["platform", "data"]}},
        ]
    }
    pages = fetch_all(client(server), **monthly([dim("SERVICE")], Filter=expression))

    def keep(row: DailyCost) -> bool:
        return (
            row.region in ("us-east-1", "us-west-2")
            and row.service != "Amazon Relational Database Service"
            and row.tags.get("team") in ("platform", "data")
        )

    expected = expected_by(dataset, lambda row: row.service, *LAST_MONTH, keep=keep)
    assert totals_by(pages) == expected
    assert len(expected) >= 4


def test_or_filter_and_untagged_lines(server, dataset) -> None:
    expression = {
        "Or": [
            {"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}},
            {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [SPIKE_ACCOUNT]}},
        ]
    }
    pages = fetch_all(client(server), **monthly([dim("LINKED_ACCOUNT")], Filter=expression))

    def keep(row: DailyCost) -> bool:
        return "team" not in row.tags or row.account == SPIKE_ACCOUNT

    assert totals_by(pages) == expected_by(dataset, lambda row: row.account, *LAST_MONTH, keep=keep)


def test_an_empty_match_gives_empty_groups_not_an_error(server) -> None:
    expression = {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Nonexistent"]}}
    [page] = fetch_all(client(server), **monthly([dim("SERVICE")], Filter=expression))

    assert page["ResultsByTime"][0]["Groups"] == []


# ---------------------------------------------------------------- estimated flag and validation


def test_periods_touching_the_current_month_are_estimated(server) -> None:
    request = monthly(TimePeriod={"Start": "2026-03-01", "End": "2026-05-21"})
    [page] = fetch_all(client(server), **request)
    daily = {
        **request,
        "Granularity": "DAILY",
        "TimePeriod": {"Start": "2026-04-30", "End": "2026-05-02"},
    }
    [days] = fetch_all(client(server), **daily)

    assert [r["Estimated"] for r in page["ResultsByTime"]] == [False, False, True]
    assert [r["Estimated"] for r in days["ResultsByTime"]] == [False, True]


@pytest.mark.parametrize(
    "change",
    [
        {"TimePeriod": {"Start": "2026-05-01", "End": "2026-05-01"}},
        {"TimePeriod": {"Start": "2026-05-02", "End": "2026-05-01"}},
        {"TimePeriod": {"Start": "2026-5-1", "End": "2026-06-01"}},
        {"Metrics": ["Unblended"]},
        {"Granularity": "HOURLY"},
        {"GroupBy": [dim("SERVICE"), dim("REGION"), dim("LINKED_ACCOUNT")]},
        {"GroupBy": [dim("AZ")]},
        {"Filter": {"And": [{"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}}]}},
        {"Filter": {"Dimensions": {"Key": "SERVICE", "Values": ["x"]}, "Tags": {"Key": "team"}}},
    ],
    ids=[
        "empty",
        "reversed",
        "bad-date",
        "metric",
        "hourly",
        "three-groups",
        "dimension",
        "and-of-one",
        "two-kinds",
    ],
)
def test_nonsense_fails_like_aws(server, change) -> None:
    with pytest.raises(ClientError) as raised:
        client(server).get_cost_and_usage(**{**monthly(), **change})

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ---------------------------------------------------------------- dimension values and tags


def test_dimension_values_and_tags_describe_the_demo_account(server) -> None:
    ce = client(server)
    period = {"Start": "2025-05-01", "End": "2026-05-21"}
    services = ce.get_dimension_values(TimePeriod=period, Dimension="SERVICE")["DimensionValues"]
    accounts = ce.get_dimension_values(TimePeriod=period, Dimension="LINKED_ACCOUNT")
    regions = ce.get_dimension_values(TimePeriod=period, Dimension="REGION", SearchString="us-")
    keys = ce.get_tags(TimePeriod=period)["Tags"]
    teams = ce.get_tags(TimePeriod=period, TagKey="team")["Tags"]

    assert 15 <= len(services) <= 20
    assert {"Amazon Elastic Compute Cloud - Compute", "EC2 - Other", "Tax"} <= {
        s["Value"] for s in services
    }
    assert [a["Attributes"]["description"] for a in accounts["DimensionValues"]] == [
        "prod",
        "staging",
        "data",
    ]
    assert [r["Value"] for r in regions["DimensionValues"]] == ["us-east-1", "us-west-2"]
    assert keys == ["team"]
    assert teams == ["data", "platform", "web"]


# ---------------------------------------------------------------- demo data shape


def daily_totals(server: FakeBillingServer, start: str, end: str) -> dict[date, Decimal]:
    request = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "DAILY",
        "Metrics": [METRIC],
    }
    pages = fetch_all(client(server), **request)
    return {
        date.fromisoformat(r["TimePeriod"]["Start"]): Decimal(r["Total"][METRIC]["Amount"])
        for page in pages
        for r in page["ResultsByTime"]
    }


def test_demo_bill_has_thirteen_months_a_weekly_rhythm_month_starts_and_one_spike(server) -> None:
    history = daily_totals(server, "2025-04-01", "2026-05-20")
    ordinary = {d: v for d, v in history.items() if d.day != 1}
    weekdays = sorted(v for d, v in ordinary.items() if d.weekday() < 5)
    weekends = sorted(v for d, v in ordinary.items() if d.weekday() >= 5)
    median = weekdays[len(weekdays) // 2]
    spikes = [d for d, v in ordinary.items() if v > median * Decimal("1.3")]

    assert min(history) == date(2025, 4, 1) and history[date(2025, 4, 1)] > 0
    assert weekends[len(weekends) // 2] < median * Decimal("0.95")
    assert all(history[d] > median * 4 for d in history if d.day == 1)
    assert spikes == [TODAY - timedelta(days=back) for back in (10, 9)] or spikes == [
        TODAY - timedelta(days=back) for back in (11, 10, 9)
    ]
    assert history[date(2026, 4, 15)] > history[date(2025, 4, 16)]  # slow growth


# ---------------------------------------------------------------- forecast


def forecast(server: FakeBillingServer, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return client(server).get_cost_forecast(
        TimePeriod={"Start": start, "End": end},
        Metric=extra.pop("Metric", "UNBLENDED_COST"),
        Granularity=extra.pop("Granularity", "MONTHLY"),
        **extra,
    )


def test_forecast_has_a_mean_inside_its_prediction_interval(server) -> None:
    answer = forecast(server, "2026-05-20", "2026-08-01", PredictionIntervalLevel=90)
    periods = answer["ForecastResultsByTime"]

    assert [p["TimePeriod"]["Start"] for p in periods] == ["2026-05-20", "2026-06-01", "2026-07-01"]
    for period in periods:
        low, mean, high = (
            Decimal(period[k])
            for k in ("PredictionIntervalLowerBound", "MeanValue", "PredictionIntervalUpperBound")
        )
        assert 0 < low < mean < high
    total = sum(Decimal(p["MeanValue"]) for p in periods)
    assert abs(Decimal(answer["Total"]["Amount"]) - total) < Decimal("0.0001")
    june = Decimal(periods[1]["MeanValue"])
    assert Decimal(70_000) < june < Decimal(110_000)  # the demo runs at about $85K a month


def test_forecast_of_a_filtered_service_is_smaller(server) -> None:
    lambda_only = {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}}
    whole = forecast(server, "2026-06-01", "2026-07-01")
    part = forecast(server, "2026-06-01", "2026-07-01", Filter=lambda_only)

    assert Decimal(part["Total"]["Amount"]) < Decimal(whole["Total"]["Amount"]) / 20


def test_forecast_of_the_past_is_unavailable_and_a_started_period_is_invalid(server) -> None:
    with pytest.raises(ClientError) as past:
        forecast(server, "2026-04-01", "2026-05-01")
    with pytest.raises(ClientError) as started:
        forecast(server, "2026-05-01", "2026-06-01")

    assert past.value.response["Error"]["Code"] == "DataUnavailableException"
    assert started.value.response["Error"]["Code"] == "ValidationException"


def test_forecast_with_too_little_history_is_unavailable(dataset) -> None:
    young = BillingDataset(
        rows=tuple(r for r in dataset.rows if r.day >= TODAY - timedelta(days=5)), today=TODAY
    )
    with FakeBillingServer(young) as fake, pytest.raises(ClientError) as raised:
        forecast(fake, "2026-05-20", "2026-06-01")

    assert raised.value.response["Error"]["Code"] == "DataUnavailableException"
    assert "historical data" in raised.value.response["Error"]["Message"]


# ---------------------------------------------------------------- anomalies


def test_the_spike_is_reported_as_an_anomaly_with_its_root_cause(server, dataset) -> None:
    ce = client(server)
    [monitor] = ce.get_anomaly_monitors()["AnomalyMonitors"]
    [anomaly] = ce.get_anomalies(
        DateInterval={"StartDate": "2026-05-01", "EndDate": "2026-05-20"},
        MonitorArn=monitor["MonitorArn"],
    )["Anomalies"]
    none_before = ce.get_anomalies(
        DateInterval={"StartDate": "2026-04-01", "EndDate": "2026-04-30"}
    )

    [cause] = anomaly["RootCauses"]
    assert (cause["LinkedAccount"], cause["Region"]) == (SPIKE_ACCOUNT, SPIKE_REGION)
    assert cause["LinkedAccountName"] == "data"
    assert anomaly["AnomalyStartDate"] == (TODAY - timedelta(days=11)).isoformat()
    spike_rows = [r for r in dataset.rows if r.usage_type == cause["UsageType"]]
    planted = sum(r.amounts[METRIC] for r in spike_rows)
    assert abs(Decimal(str(anomaly["Impact"]["TotalImpact"])) - planted) < planted * Decimal("0.05")
    assert none_before["Anomalies"] == []


# ---------------------------------------------------------------- budgets


def test_budget_spend_agrees_with_cost_explorer(server, dataset) -> None:
    [budget] = client(server, "budgets").describe_budgets(AccountId=dataset.payer_account)[
        "Budgets"
    ]
    spend = budget["CalculatedSpend"]
    ce = client(server)
    month_to_date = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-05-01", "End": "2026-05-21"},
        Granularity="MONTHLY",
        Metrics=[METRIC],
    )
    before_today = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-05-01", "End": "2026-05-20"},
        Granularity="MONTHLY",
        Metrics=[METRIC],
    )
    rest = forecast(server, "2026-05-20", "2026-06-01")

    def amount(response: dict[str, Any]) -> Decimal:
        return Decimal(response["ResultsByTime"][0]["Total"][METRIC]["Amount"])

    limit = Decimal(budget["BudgetLimit"]["Amount"])
    actual = Decimal(spend["ActualSpend"]["Amount"])
    forecasted = Decimal(spend["ForecastedSpend"]["Amount"])
    assert actual == amount(month_to_date)
    assert forecasted == amount(before_today) + Decimal(rest["Total"]["Amount"])
    assert limit * Decimal("0.8") < forecasted < limit
    assert actual < limit * Decimal("0.8")
    assert (budget["TimeUnit"], budget["BudgetType"]) == ("MONTHLY", "COST")


def test_an_unknown_budget_is_not_found(server, dataset) -> None:
    budgets = client(server, "budgets")
    [known] = budgets.describe_budgets(AccountId=dataset.payer_account)["Budgets"]

    assert budgets.describe_budget(AccountId=dataset.payer_account, BudgetName=known["BudgetName"])
    with pytest.raises(budgets.exceptions.NotFoundException):
        budgets.describe_budget(AccountId=dataset.payer_account, BudgetName="nope")


# ---------------------------------------------------------------- error injection


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", delays.append)
    return delays


def test_access_denied_names_the_missing_permission(server) -> None:
    server.fail_next("GetCostAndUsage", "AccessDeniedException")
    ce = client(server)

    with pytest.raises(ClientError) as raised:
        ce.get_cost_and_usage(**monthly())
    ce.get_cost_and_usage(**monthly())  # only the next call failed

    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "ce:GetCostAndUsage" in error["Message"]
    assert server.count("GetCostAndUsage") == 2


@pytest.mark.parametrize("code", ["ThrottlingException", "LimitExceededException"])
def test_throttling_is_retried_by_botocore_until_it_passes(server, no_sleep, code) -> None:
    server.fail_next("GetCostAndUsage", code, times=2)
    ce = client(server, retries={"mode": "standard", "max_attempts": 4})

    answer = ce.get_cost_and_usage(**monthly())

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert server.count("GetCostAndUsage") == 3
    assert len(no_sleep) == 2


def test_injected_errors_apply_to_one_operation_only(server) -> None:
    server.fail_next("GetCostForecast", "DataUnavailableException")
    server.fail_next("DescribeBudgets", "AccessDeniedException")

    client(server).get_cost_and_usage(**monthly())
    with pytest.raises(ClientError) as unavailable:
        forecast(server, "2026-05-20", "2026-06-01")
    with pytest.raises(ClientError) as denied:
        client(server, "budgets").describe_budgets(AccountId="123456789012")

    assert unavailable.value.response["Error"]["Code"] == "DataUnavailableException"
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "budgets:ViewBudget" in denied.value.response["Error"]["Message"]
    assert [(r.service, r.operation) for r in server.requests] == [
        ("ce", "GetCostAndUsage"),
        ("ce", "GetCostForecast"),
        ("budgets", "DescribeBudgets"),
    ]
    assert server.calls("GetCostForecast")[0].body["Metric"] == "UNBLENDED_COST"
