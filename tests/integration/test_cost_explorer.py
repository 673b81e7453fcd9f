"""CostExplorer (bot/aws) against botocore's Stubber and a Cost Explorer-speaking HTTP server.

The Stubber checks every request and response against the service model; the local HTTP
server is used where botocore's own retry and back-off must run (throttling, unreachable).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bot.aws.cost_explorer import CostExplorer, cache_key, cache_lifetime
from bot.core.cost_engine import answer_cost_command
from bot.core.errors import (
    CostAccessDenied,
    CostExplorerUnavailable,
    CostThrottled,
)
from bot.store.db import open_store

METRIC = "UnblendedCost"


class Clock:
    """A controllable clock (aware UTC)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 15, 12, 0, tzinfo=UTC))


@pytest.fixture
def explorer(clock: Clock) -> CostExplorer:
    return CostExplorer(session, open_store(":memory:"), clock=clock, account_id="123456789012")


@pytest.fixture
def ce_stub(explorer: CostExplorer) -> Iterator[Stubber]:
    with Stubber(explorer.client("ce")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def group(key: str, amount: str) -> dict[str, Any]:
    return {"Keys": [key], "Metrics": {METRIC: {"Amount": amount, "Unit": "USD"}}}


def bucket(
    start: str, end: str, groups: list[dict[str, Any]], estimated: bool = False
) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Total": {},
        "Groups": groups,
        "Estimated": estimated,
    }


def request(start: str, end: str, token: str | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "MONTHLY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        **extra,
    }
    if token:
        params["NextPageToken"] = token
    return params


def daily(start: str, end: str, amounts: dict[str, str], estimated: bool = True) -> dict[str, Any]:
    """A DAILY response over [start, end): EC2 costs on the days named in `amounts`."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    return {
        "ResultsByTime": [
            bucket(
                d.isoformat(),
                (d + timedelta(days=1)).isoformat(),
                [group("Amazon EC2", amounts[d.isoformat()])] if d.isoformat() in amounts else [],
                estimated,
            )
            for d in days
        ]
    }


def with_september(
    october: dict[str, Any], september: dict[str, str] | None = None
) -> dict[str, Any]:
    """`october` (a DAILY response) preceded by September's finalised days.

    The first fetch of this month's days brings last month's along (kept forever).
    """
    days = daily("2026-09-01", "2026-10-01", september or {}, estimated=False)
    return {"ResultsByTime": days["ResultsByTime"] + october["ResultsByTime"]}


def fetch(explorer: CostExplorer, start: date, end: date) -> dict[str, Any]:
    return explorer.cost_and_usage(
        start=start,
        end=end,
        granularity="MONTHLY",
        metric=METRIC,
        group_by=[{"Type": "DIMENSION", "Key": "SERVICE"}],
    )


TWO_GROUPINGS = [
    {"Type": "DIMENSION", "Key": "SERVICE"},
    {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
]


def test_pages_are_merged_and_the_total_matches_to_the_cent(
    explorer: CostExplorer, ce_stub: Stubber
) -> None:
    # Two groupings go to the exact-request path; September's groups are split across
    # pages 1 and 2, as Cost Explorer does with GroupBy.
    pages = [
        {
            "ResultsByTime": [
                bucket(
                    "2026-09-01",
                    "2026-10-01",
                    [group("Amazon EC2", "100.0049999999"), group("AWS Lambda", "0.0050000001")],
                )
            ],
            "NextPageToken": "page-2",
        },
        {
            "ResultsByTime": [
                bucket("2026-09-01", "2026-10-01", [group("Amazon S3", "33.3333333333")]),
                bucket(
                    "2026-10-01",
                    "2026-10-05",
                    [group("Amazon EC2", "10.1111111111")],
                    estimated=True,
                ),
            ],
            "NextPageToken": "page-3",
        },
        {
            "ResultsByTime": [
                bucket("2026-10-01", "2026-10-05", [group("Amazon S3", "0.004")], estimated=True)
            ]
        },
    ]
    tokens = [None, "page-2", "page-3"]
    for page, token in zip(pages, tokens, strict=True):
        ce_stub.add_response(
            "get_cost_and_usage",
            page,
            request("2026-09-01", "2026-10-05", token, GroupBy=TWO_GROUPINGS),
        )

    merged = explorer.cost_and_usage(
        start=date(2026, 9, 1),
        end=date(2026, 10, 5),
        granularity="MONTHLY",
        metric=METRIC,
        group_by=TWO_GROUPINGS,
    )

    assert explorer.requests_made == 3
    assert explorer.pages_by_path == {"exact": 3}
    assert [b["TimePeriod"]["Start"] for b in merged["ResultsByTime"]] == [
        "2026-09-01",
        "2026-10-01",
    ]
    assert [len(b["Groups"]) for b in merged["ResultsByTime"]] == [3, 2]
    assert merged["ResultsByTime"][1]["Estimated"] is True
    amounts = [
        Decimal(g["Metrics"][METRIC]["Amount"])
        for b in merged["ResultsByTime"]
        for g in b["Groups"]
    ]
    assert sum(amounts) == Decimal("143.4584444444")


def test_a_paginated_report_shows_the_exact_total(explorer: CostExplorer, ce_stub: Stubber) -> None:
    # last-month (September, finalised) brings August along for its comparison: one
    # MONTHLY request in two pages, each bucket's groups split across them.
    ce_stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [
                bucket("2026-08-01", "2026-09-01", [group("Amazon EC2", "900.00")]),
                bucket("2026-09-01", "2026-10-01", [group("Amazon EC2", "1000.005")]),
            ],
            "NextPageToken": "t",
        },
        request("2026-08-01", "2026-10-01"),
    )
    ce_stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [
                bucket("2026-08-01", "2026-09-01", [group("Amazon S3", "100.00")]),
                bucket("2026-09-01", "2026-10-01", [group("Amazon S3", "234.5649999")]),
            ]
        },
        request("2026-08-01", "2026-10-01", "t"),
    )

    answer = answer_cost_command(
        "last-month",
        source=explorer,
        today=date(2026, 10, 15),
        metric=METRIC,
        now=datetime(2026, 10, 15, 12, tzinfo=UTC),
    )

    # 1000.005 + 234.5649999 = 1234.5699999 -> $1,234.57; August 1000.00.
    assert answer.text.startswith("AWS cost, Last month (September 2026): $1,234.57")
    assert "+$234.57 (+23.5%)" in answer.text
    assert explorer.requests_made == 2


def test_a_cached_request_is_not_asked_again(explorer: CostExplorer, ce_stub: Stubber) -> None:
    ce_stub.add_response(
        "get_cost_and_usage",
        with_september(daily("2026-10-01", "2026-10-16", {"2026-10-03": "5"})),
        request("2026-09-01", "2026-10-16", Granularity="DAILY"),
    )

    first = fetch(explorer, date(2026, 10, 1), date(2026, 10, 16))
    second = fetch(explorer, date(2026, 10, 1), date(2026, 10, 16))
    week = fetch(explorer, date(2026, 10, 2), date(2026, 10, 9))  # same chunk, other days

    assert explorer.requests_made == 1
    assert second["ResultsByTime"] == first["ResultsByTime"]
    assert second["PennyFetchedAt"] == "2026-10-15T12:00:00+00:00"
    assert week["ResultsByTime"][0]["Groups"] == [group("Amazon EC2", "5")]
    assert week["ResultsByTime"][0]["TimePeriod"] == {"Start": "2026-10-02", "End": "2026-10-09"}


def test_a_finalised_month_is_cached_forever_but_the_current_month_expires(
    explorer: CostExplorer, ce_stub: Stubber, clock: Clock
) -> None:
    ce_stub.add_response(
        "get_cost_and_usage",
        {
            "ResultsByTime": [
                bucket("2026-08-01", "2026-09-01", [group("Amazon EC2", "1")]),
                bucket("2026-09-01", "2026-10-01", [group("Amazon EC2", "1")]),
            ]
        },
        request("2026-08-01", "2026-10-01"),
    )
    october = daily("2026-10-01", "2026-10-16", {"2026-10-01": "1"})
    ce_stub.add_response(
        "get_cost_and_usage",
        with_september(october),
        request("2026-09-01", "2026-10-16", Granularity="DAILY"),
    )
    # Expired after 8 hours: this month again, not September's days, kept forever.
    ce_stub.add_response(
        "get_cost_and_usage", october, request("2026-10-01", "2026-10-16", Granularity="DAILY")
    )

    fetch(explorer, date(2026, 9, 1), date(2026, 10, 1))
    fetch(explorer, date(2026, 10, 1), date(2026, 10, 16))
    clock.now += timedelta(hours=7)
    fetch(explorer, date(2026, 9, 1), date(2026, 10, 1))  # finalised on Oct 5: still cached
    fetch(explorer, date(2026, 10, 1), date(2026, 10, 16))  # 7 hours old: still fresh
    clock.now += timedelta(hours=2)
    fetch(explorer, date(2026, 10, 1), date(2026, 10, 16))  # 9 hours old: asked again
    clock.now += timedelta(days=400)
    fetch(explorer, date(2026, 9, 1), date(2026, 10, 1))

    assert explorer.requests_made == 3


def test_cache_lifetime_follows_aws_finalisation() -> None:
    assert cache_lifetime(date(2026, 10, 1), today=date(2026, 10, 5)) is None
    assert cache_lifetime(date(2026, 10, 1), today=date(2026, 10, 4)) == timedelta(hours=8)
    assert cache_lifetime(date(2026, 10, 16), today=date(2026, 10, 15)) == timedelta(hours=8)
    # A range ending mid-September is final once September is.
    assert cache_lifetime(date(2026, 9, 16), today=date(2026, 10, 5)) is None


def test_cache_key_ignores_key_order_but_not_the_metric() -> None:
    a = {"TimePeriod": {"Start": "2026-10-01", "End": "2026-10-02"}, "Metrics": ["UnblendedCost"]}
    b = {"Metrics": ["UnblendedCost"], "TimePeriod": {"End": "2026-10-02", "Start": "2026-10-01"}}
    c = {**a, "Metrics": ["AmortizedCost"]}
    assert cache_key("GetCostAndUsage", a) == cache_key("GetCostAndUsage", b)
    assert cache_key("GetCostAndUsage", a) != cache_key("GetCostAndUsage", c)


def test_access_denied_names_the_permission(explorer: CostExplorer, ce_stub: Stubber) -> None:
    ce_stub.add_client_error(
        "get_cost_and_usage",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: ce:GetCostAndUsage",
        http_status_code=400,
    )

    answer = answer_cost_command(
        "this-month",
        source=explorer,
        today=date(2026, 10, 15),
        metric=METRIC,
        now=datetime(2026, 10, 15, tzinfo=UTC),
    )

    assert answer.ephemeral
    assert "`ce:GetCostAndUsage`" in answer.text
    assert "Traceback" not in json.dumps(answer.blocks, ensure_ascii=False)


def test_access_denied_on_the_forecast_names_its_permission(
    explorer: CostExplorer, ce_stub: Stubber
) -> None:
    ce_stub.add_client_error(
        "get_cost_forecast", service_error_code="AccessDeniedException", http_status_code=400
    )

    with pytest.raises(CostAccessDenied) as raised:
        explorer.forecast(
            start=date(2026, 10, 15), end=date(2026, 11, 1), granularity="MONTHLY", metric=METRIC
        )

    assert raised.value.permission == "ce:GetCostForecast"


def stub_this_month(ce_stub: Stubber, october: dict[str, str], september: str) -> None:
    """Month to date on 2026-10-15 and its comparison: one DAILY fetch from September 1."""
    ce_stub.add_response(
        "get_cost_and_usage",
        with_september(daily("2026-10-01", "2026-10-16", october), {"2026-09-10": september}),
        request("2026-09-01", "2026-10-16", Granularity="DAILY"),
    )


SHARED_FORECAST = {
    "TimePeriod": {"Start": "2026-10-15", "End": "2027-02-01"},
    "Granularity": "MONTHLY",
    "Metric": "UNBLENDED_COST",
    "PredictionIntervalLevel": 80,
}


def test_an_unavailable_forecast_degrades_to_the_rest_of_the_answer(
    explorer: CostExplorer, ce_stub: Stubber
) -> None:
    stub_this_month(ce_stub, {"2026-10-15": "150.25"}, "100")
    ce_stub.add_client_error(
        "get_cost_forecast",
        service_error_code="DataUnavailableException",
        service_message="Insufficient amount of historical data to generate forecast.",
        http_status_code=400,
        expected_params=SHARED_FORECAST,
    )

    answer = answer_cost_command(
        "this-month",
        source=explorer,
        today=date(2026, 10, 15),
        metric=METRIC,
        now=datetime(2026, 10, 15, 12, tzinfo=UTC),
    )

    blocks = json.dumps(answer.blocks)
    assert not answer.ephemeral
    assert (
        answer.text
        == "AWS cost, This month to date: $150.25 (estimated), +$50.25 (+50.3%) vs same days last month"
    )
    assert "No forecast for the month" in blocks
    assert "Forecast, whole month" not in blocks


def forecast_bucket(start: str, end: str, mean: str, low: str, high: str) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "MeanValue": mean,
        "PredictionIntervalLowerBound": low,
        "PredictionIntervalUpperBound": high,
    }


def test_the_month_forecast_counts_today_once(explorer: CostExplorer, ce_stub: Stubber) -> None:
    # $100 before today, $20 so far today; the forecast from today says $120.50 more.
    stub_this_month(ce_stub, {"2026-10-01": "100", "2026-10-15": "20"}, "100")
    ce_stub.add_response(
        "get_cost_forecast",
        {
            "Total": {"Amount": "1000.5", "Unit": "USD"},
            "ForecastResultsByTime": [
                forecast_bucket("2026-10-15", "2026-11-01", "120.5", "100", "140"),
                forecast_bucket("2026-11-01", "2026-12-01", "300", "250", "350"),
                forecast_bucket("2026-12-01", "2027-01-01", "290", "240", "340"),
                forecast_bucket("2027-01-01", "2027-02-01", "290", "240", "340"),
            ],
        },
        SHARED_FORECAST,
    )

    answer = answer_cost_command(
        "this-month",
        source=explorer,
        today=date(2026, 10, 15),
        metric=METRIC,
        now=datetime(2026, 10, 15, 12, tzinfo=UTC),
    )
    forecast = explorer.forecast(
        start=date(2026, 10, 15), end=date(2026, 12, 1), granularity="MONTHLY", metric=METRIC
    )

    # Month to date is $120 (today included), but the whole month is $100 before today
    # plus the forecast from today: $220.50, not $240.50.
    blocks = json.dumps(answer.blocks, ensure_ascii=False)
    assert answer.text.startswith("AWS cost, This month to date: $120.00")
    assert "*Forecast, whole month*\\n$220.50 ($200.00 – $240.00)" in blocks
    # The month forecast and a two-month one are cut from one shared request.
    assert explorer.pages_by_path["forecast"] == 1
    assert forecast["Total"] == {"Amount": "420.5", "Unit": "USD"}
    assert len(forecast["ForecastResultsByTime"]) == 2


def test_budgets_read_the_account_from_sts_and_follow_pages(clock: Clock) -> None:
    explorer = CostExplorer(session, open_store(":memory:"), clock=clock)
    budget = {
        "BudgetName": "monthly",
        "BudgetLimit": {"Amount": "1000", "Unit": "USD"},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
    }
    with Stubber(explorer.client("sts")) as sts, Stubber(explorer.client("budgets")) as budgets:
        sts.add_response(
            "get_caller_identity",
            {"Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/p", "UserId": "AID"},
        )
        budgets.add_response(
            "describe_budgets",
            {"Budgets": [budget], "NextToken": "n"},
            {"AccountId": "210987654321"},
        )
        budgets.add_response(
            "describe_budgets",
            {"Budgets": [{**budget, "BudgetName": "yearly"}]},
            {"AccountId": "210987654321", "NextToken": "n"},
        )
        names = [b["BudgetName"] for b in explorer.budgets()]

    assert names == ["monthly", "yearly"]
    assert explorer.requests_made == 0  # Budgets calls are free


def test_no_budgets_is_an_empty_list(explorer: CostExplorer) -> None:
    with Stubber(explorer.client("budgets")) as budgets:
        budgets.add_client_error(
            "describe_budgets", service_error_code="NotFoundException", http_status_code=400
        )
        assert explorer.budgets() == []


# --- botocore's retries over real HTTP --------------------------------------------------


class ScriptedCostExplorer(ThreadingHTTPServer):
    """A Cost Explorer endpoint (JSON 1.1) answering from a script of (status, body) pairs."""

    def __init__(self, script: list[tuple[int, dict[str, Any]]]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.targets: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedCostExplorer

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.targets.append(self.headers.get("X-Amz-Target", ""))
        status, body = (
            self.server.script.pop(0) if len(self.server.script) > 1 else self.server.script[0]
        )
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


THROTTLED = (400, {"__type": "LimitExceededException", "message": "Rate exceeded"})
ONE_DAY = (
    200,
    {"ResultsByTime": [bucket("2026-10-14", "2026-10-15", [group("Amazon EC2", "7.5")])]},
)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's back-off delays, recorded instead of slept so the test stays fast."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", delays.append)
    return delays


@contextmanager
def serve(
    script: list[tuple[int, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ScriptedCostExplorer]:
    server = ScriptedCostExplorer(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The standard boto3 chain: the endpoint comes from the environment, not from our code.
    monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def http_explorer(clock: Clock) -> CostExplorer:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
    )
    return CostExplorer(session, open_store(":memory:"), clock=clock, retry_config=config)


def fetch_yesterday(explorer: CostExplorer) -> dict[str, Any]:
    return fetch(explorer, date(2026, 10, 14), date(2026, 10, 15))


def test_throttling_is_retried_with_back_off_then_succeeds(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], clock: Clock
) -> None:
    with serve([THROTTLED, THROTTLED, ONE_DAY], monkeypatch) as server:
        explorer = http_explorer(clock)
        response = fetch_yesterday(explorer)

    assert response["ResultsByTime"][0]["Groups"][0]["Metrics"][METRIC]["Amount"] == "7.5"
    assert server.targets == ["AWSInsightsIndexService.GetCostAndUsage"] * 3
    assert len(sleeps) == 2


def test_throttling_that_outlasts_the_retries_is_explained(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], clock: Clock
) -> None:
    with serve([THROTTLED], monkeypatch) as server:
        explorer = http_explorer(clock)
        with pytest.raises(CostThrottled) as raised:
            fetch_yesterday(explorer)
        answer = answer_cost_command(
            "yesterday", source=explorer, today=date(2026, 10, 15), metric=METRIC, now=clock()
        )

    assert raised.value.attempts == 3  # as configured for the test
    assert len(server.targets) == 6
    assert answer.ephemeral
    assert "throttling" in answer.text and "gave up after 3 attempts" in answer.text


def test_an_unreachable_endpoint_is_explained(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], clock: Clock
) -> None:
    with serve([ONE_DAY], monkeypatch) as server:
        pass  # started and stopped: its port now refuses connections
    monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
    explorer = http_explorer(clock)

    with pytest.raises(CostExplorerUnavailable):
        fetch_yesterday(explorer)
