"""`[cost] accounts`: Penny only shows the linked accounts it is configured for.

Against the Cost Explorer fake over boto3: every request Penny sends carries the
allowlist, totals equal the dataset's sums for the allowed accounts only, and a question
naming another account is refused (through the real app and the agent's tool) without
asking AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.aws.cost_explorer import CostExplorer
from bot.config import ConfigError
from bot.core.cost_engine import answer_cost_command
from bot.devtools.billing_data import sum_metric
from bot.devtools.demo_data import DATA, PROD, STAGING, generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from bot.store.db import open_store
from tests.conftest import fixed_clock
from tests.fakes.slack_requests import slash_command_body

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
METRIC = "UnblendedCost"
ALLOWED = (PROD.account_id, STAGING.account_id)
OUTSIDE = DATA.account_id
SCOPE = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": sorted(ALLOWED)}}


@pytest.fixture
def billing(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBillingServer]:
    with FakeBillingServer(generate_demo_billing(TODAY), page_size=50) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BUDGETS", server.url)
        yield server


@pytest.fixture
def explorer(billing: FakeBillingServer) -> CostExplorer:
    return CostExplorer(
        boto3.Session,
        open_store(":memory:"),
        clock=fixed_clock(NOW),
        account_id=PROD.account_id,
        accounts=list(ALLOWED),
    )


def allowed_total(billing: FakeBillingServer, start: date, end: date) -> Decimal:
    rows = [r for r in billing.dataset.rows_between(start, end) if r.account in ALLOWED]
    return sum_metric(rows, METRIC)


def amount_of(bucket: dict[str, Any]) -> Decimal:
    if bucket["Groups"]:
        return sum((Decimal(g["Metrics"][METRIC]["Amount"]) for g in bucket["Groups"]), Decimal(0))
    return Decimal(bucket["Total"][METRIC]["Amount"]) if bucket["Total"] else Decimal(0)


def sent_filters(billing: FakeBillingServer) -> list[Any]:
    return [call.body.get("Filter") for call in billing.requests if call.service == "ce"]


def scoped(expression: dict[str, Any] | None) -> bool:
    """Whether a filter Penny sent restricts the request to the allowlist."""
    if expression == SCOPE:
        return True
    return bool(expression) and SCOPE in expression.get("And", [])  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("start", "end", "granularity", "group_by"),
    [
        (date(2026, 11, 1), date(2026, 11, 23), "MONTHLY", None),
        (
            date(2026, 10, 20),
            date(2026, 11, 23),
            "MONTHLY",
            [{"Type": "DIMENSION", "Key": "SERVICE"}],
        ),
        (
            date(2026, 9, 1),
            date(2026, 11, 1),
            "MONTHLY",
            [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        ),
        (date(2026, 11, 10), date(2026, 11, 17), "DAILY", [{"Type": "DIMENSION", "Key": "REGION"}]),
        # Two groupings take the exact-request path: scoped as well.
        (
            date(2026, 10, 1),
            date(2026, 11, 1),
            "MONTHLY",
            [
                {"Type": "DIMENSION", "Key": "SERVICE"},
                {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
            ],
        ),
    ],
)
def test_the_allowlist_restricts_every_total_and_every_request(
    explorer: CostExplorer,
    billing: FakeBillingServer,
    start: date,
    end: date,
    granularity: str,
    group_by: list[dict[str, str]] | None,
) -> None:
    response = explorer.cost_and_usage(
        start=start, end=end, granularity=granularity, metric=METRIC, group_by=group_by
    )

    total = sum((amount_of(b) for b in response["ResultsByTime"]), Decimal(0))
    everything = sum_metric(billing.dataset.rows_between(start, end), METRIC)
    assert total.quantize(Decimal("0.01")) == allowed_total(billing, start, end).quantize(
        Decimal("0.01")
    )
    assert total < everything  # the outside account has costs in every period here
    keys = {k for b in response["ResultsByTime"] for g in b["Groups"] for k in g["Keys"]}
    assert OUTSIDE not in keys
    assert sent_filters(billing) and all(scoped(f) for f in sent_filters(billing))


def test_a_filter_of_the_caller_is_anded_with_the_allowlist(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    ec2 = "Amazon Elastic Compute Cloud - Compute"
    response = explorer.cost_and_usage(
        start=date(2026, 11, 1),
        end=date(2026, 11, 23),
        granularity="MONTHLY",
        metric=METRIC,
        filter={"Dimensions": {"Key": "REGION", "Values": ["us-west-2"]}},
    )
    rows = [
        r
        for r in billing.dataset.rows_between(date(2026, 11, 1), date(2026, 11, 23))
        if r.account in ALLOWED and r.region == "us-west-2"
    ]
    assert amount_of(response["ResultsByTime"][0]) == sum_metric(rows, METRIC)
    for sent in sent_filters(billing):  # every page of the one chunk request
        assert SCOPE in sent["And"] and len(sent["And"]) == 2
    explorer.forecast(
        start=TODAY,
        end=date(2026, 12, 1),
        granularity="MONTHLY",
        metric=METRIC,
        filter={"Dimensions": {"Key": "SERVICE", "Values": [ec2]}},
    )
    forecast = billing.calls("GetCostForecast")[-1].body
    assert SCOPE in forecast["Filter"]["And"]


def test_an_allowed_account_is_answered_and_an_outside_one_refused_before_aws(
    explorer: CostExplorer, billing: FakeBillingServer
) -> None:
    allowed = answer_cost_command(
        f"this-month account:{STAGING.account_id}",
        source=explorer,
        today=TODAY,
        metric=METRIC,
        now=NOW,
    )
    assert not allowed.ephemeral
    asked = billing.count()

    refused = answer_cost_command(
        f"last-month account:{OUTSIDE}", source=explorer, today=TODAY, metric=METRIC, now=NOW
    )
    assert refused.ephemeral
    assert f"`{OUTSIDE}` is not one Penny is configured for" in refused.text
    assert billing.count() == asked


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "penny.toml"
    path.write_text(text)
    return str(path)


def test_cost_for_an_outside_account_through_the_real_app_is_a_short_refusal(
    make_app: Any, billing: FakeBillingServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, f"[cost]\naccounts = {json.dumps(list(ALLOWED))}\n")
    penny = make_app(clock=fixed_clock(NOW), PENNY_CONFIG=config)

    body = slash_command_body(
        "/cost", f"this-month account:{OUTSIDE}", response_url=penny.fake.response_url()
    )
    assert penny.dispatch(body).status == 200

    replies = penny.fake.calls_to("response_url") + penny.fake.calls_to("chat.postMessage")
    text = " ".join(json.dumps(c.body) for c in replies)
    assert f"{OUTSIDE}" in text and "not one Penny is configured for" in text
    assert "Traceback" not in text
    assert billing.count() == 0


def test_the_agent_cost_tool_returns_an_error_result_for_an_outside_account(
    make_deps: Any, billing: FakeBillingServer, tmp_path: Path
) -> None:
    from tools.aws_read import AwsReadTools

    config = write_config(tmp_path, f"[cost]\naccounts = {json.dumps(list(ALLOWED))}\n")
    tools = AwsReadTools(make_deps(clock=fixed_clock(NOW), PENNY_CONFIG=config))

    result = tools.cost_and_usage(
        start="2026-11-01", end="2026-11-23", filters={"LINKED_ACCOUNT": [OUTSIDE]}
    )

    assert result["status"] == "error"
    body = json.loads(result["content"][0]["text"])
    assert body["error"] == "AccountNotInScope"
    assert OUTSIDE in body["message"] and "not one Penny is configured for" in body["message"]
    assert billing.count() == 0
    allowed = tools.cost_and_usage(start="2026-11-01", end="2026-11-23")
    assert Decimal(str(allowed["total"])) == allowed_total(
        billing, date(2026, 11, 1), date(2026, 11, 23)
    ).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("[123456789012]", "123456789012"),  # an integer loses leading zeros: quote it
        ('["12345"]', "'12345'"),
        ('"123456789012"', "non-empty list"),
        ("[]", "non-empty list"),
    ],
)
def test_a_bad_allowlist_stops_start_up_naming_the_fix(
    make_deps: Any, tmp_path: Path, value: str, named: str
) -> None:
    config = write_config(tmp_path, f"[cost]\naccounts = {value}\n")
    with pytest.raises(ConfigError) as caught:
        make_deps(PENNY_CONFIG=config)
    message = str(caught.value)
    assert "[cost] accounts" in message and named in message
    assert 'accounts = ["123456789012"]' in message


def test_a_penny_budget_outside_the_allowlist_stops_start_up(make_deps, tmp_path):
    import pytest as _pytest

    from bot.config import ConfigError

    config = tmp_path / "penny.toml"
    config.write_text(
        '[cost]\naccounts = ["123456789012"]\n\n'
        '[budgets.data-team]\naccount = "345678901234"\nlimit = 1000\n'
    )
    with _pytest.raises(ConfigError) as err:
        make_deps(PENNY_CONFIG=str(config))
    assert "[budgets.data-team] account '345678901234' is not in [cost] accounts" in str(err.value)
    config.write_text(
        '[cost]\naccounts = ["123456789012"]\n\n[budgets.prod]\naccount = "123456789012"\nlimit = 1000\n'
    )
    assert make_deps(PENNY_CONFIG=str(config)).jobs is not None
