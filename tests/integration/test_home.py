"""App Home through the real app: app_home_opened publishes a view with every part."""

import json
from datetime import UTC, date, datetime

import pytest

from bot.devtools.demo_data import generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from tests.conftest import fixed_clock
from tests.fakes.slack_requests import event_body

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def billing(monkeypatch):
    with FakeBillingServer(generate_demo_billing(date(2026, 11, 22))) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BUDGETS", server.url)
        yield server


def open_home(penny, user="U0ALICE"):
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0ALICE",
        "tab": "home",
        "event_ts": "1.1",
    }
    assert penny.dispatch_json(event_body(event)).status == 200
    [call] = penny.fake.calls_to("views.publish")
    assert call.body["user_id"] == user
    return call.body["view"]


def test_home_shows_budgets_and_empty_states(make_app, billing):
    penny = make_app(clock=fixed_clock(NOW))
    penny.deps.cost._account_id = "123456789012"  # the payer account of the demo bill
    view = open_home(penny)
    text = json.dumps(view)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert "monthly-aws-total" in text
    assert "Nothing is waiting for approval" in text
    assert "No scheduled alerts posted yet" in text


def test_a_failing_part_is_reported_not_fatal(make_app, billing):
    penny = make_app(clock=fixed_clock(NOW))
    penny.deps.cost._account_id = "123456789012"
    billing.fail_next("DescribeBudgets", "AccessDeniedException")
    text = json.dumps(open_home(penny))
    assert "AWS Budgets could not be read" in text and "budgets unavailable" in text
    assert "Waiting for a decision" in text
