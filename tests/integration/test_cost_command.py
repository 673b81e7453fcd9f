"""/cost through the real Bolt app: signed slash commands, the Cost Explorer fake, the fake Slack server."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.devtools.demo_data import generate_demo_billing
from bot.devtools.fake_billing import FakeBillingServer
from tests.conftest import fixed_clock
from tests.fakes.slack_requests import slash_command_body

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def billing(monkeypatch):
    with FakeBillingServer(generate_demo_billing(TODAY), page_size=5) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_COST_EXPLORER", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BUDGETS", server.url)
        yield server


@pytest.fixture
def penny(make_app, billing):
    return make_app(clock=fixed_clock(NOW))


def run_cost(penny, text, **kw):
    body = slash_command_body("/cost", text, response_url=penny.fake.response_url(), **kw)
    response = penny.dispatch(body)
    assert response.status == 200
    return response


def posted_text(call):
    return json.dumps(call.body.get("blocks") or call.body.get("text"))


def dataset_total(billing, start, end, metric="UnblendedCost"):
    return sum(
        (r.amounts[metric] for r in billing.dataset.rows if start <= r.day < end), Decimal(0)
    )


def test_this_month_total_matches_the_data_to_the_cent_across_pages(penny, billing):
    run_cost(penny, "this-month")
    [post] = penny.fake.calls_to("chat.postMessage")
    expected = dataset_total(
        billing, date(2026, 11, 1), date(2026, 11, 23)
    )  # month to date, today included
    assert f"${expected:,.2f}" in posted_text(post)
    assert "estimated" in posted_text(post)
    pages = billing.calls("GetCostAndUsage")
    assert any(r.body.get("NextPageToken") for r in pages), "the fake paginated and Penny followed"


def test_cache_makes_the_second_identical_question_free(penny, billing):
    run_cost(penny, "last-month by service")
    first = billing.count()
    run_cost(penny, "last-month by service")
    assert billing.count() == first
    assert len(penny.fake.calls_to("chat.postMessage")) == 2


def test_bad_word_gets_an_ephemeral_hint_and_no_aws_call(penny, billing):
    run_cost(penny, "this-mnth")
    [reply] = penny.fake.calls_to("response_url")
    assert reply.body["response_type"] == "ephemeral"
    assert "this-month" in posted_text(reply)
    assert billing.count() == 0
    assert not penny.fake.calls_to("chat.postMessage")


def test_access_denied_names_the_missing_permission(penny, billing):
    billing.fail_next("GetCostAndUsage", "AccessDeniedException")
    run_cost(penny, "this-month")
    replies = penny.fake.calls_to("response_url") + penny.fake.calls_to("chat.postMessage")
    text = " ".join(posted_text(c) for c in replies)
    assert "ce:GetCostAndUsage" in text
    assert "Traceback" not in text


def test_throttling_is_retried_then_answered(penny, billing):
    billing.fail_next("GetCostAndUsage", "ThrottlingException", times=2)
    run_cost(penny, "last-month")
    [post] = penny.fake.calls_to("chat.postMessage")
    expected = dataset_total(billing, date(2026, 10, 1), date(2026, 11, 1))
    assert f"${expected:,.2f}" in posted_text(post)


def test_slack_rate_limit_is_honoured(penny, billing):
    penny.fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
    run_cost(penny, "yesterday")
    calls = penny.fake.calls_to("chat.postMessage")
    assert len(calls) == 2  # the 429, then the retry after Retry-After
    assert penny.deps.store.is_healthy()


def test_help_shows_the_grammar(penny, billing):
    run_cost(penny, "help")
    text = " ".join(
        posted_text(c)
        for c in penny.fake.calls_to("response_url") + penny.fake.calls_to("chat.postMessage")
    )
    assert "by usage-type" in text and "2026-10-01..2026-10-15" in text
    assert billing.count() == 0
