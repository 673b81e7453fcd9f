"""The real process over HTTP: signed requests in, Web API calls out."""

import json
import time
import urllib.request

import pytest

from tests.conftest import SIGNING_SECRET
from tests.fakes.slack_requests import (
    FORM,
    JSON,
    signed_headers,
    slash_command_body,
    url_verification_body,
)

pytestmark = pytest.mark.e2e


def answers(penny):
    """Penny's posts in the channel the tests talk in (scheduled reports go to C0REPORTS)."""
    return [
        c
        for c in penny.fake_slack.calls_to("chat.postMessage")
        if c.body.get("channel") == "C0FINOPS"
    ]


def wait_for_answers(penny, count=1, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline and len(answers(penny)) < count:
        time.sleep(0.05)
    return answers(penny)


def test_healthz(penny):
    with urllib.request.urlopen(penny.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "store": "open"}


def test_url_verification_challenge(penny):
    body = url_verification_body("c-h-a-l-l-e-n-g-e")
    status, text, _ = penny.post(body, signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert status == 200
    assert "c-h-a-l-l-e-n-g-e" in text


def test_forged_signature_is_refused(penny):
    body = slash_command_body("/cost", "this-month")
    headers = signed_headers("not-the-secret", body)
    status, _, _ = penny.post(body, headers)
    assert status == 401
    assert penny.billing.count() == 0
    assert not answers(penny)


def test_stale_timestamp_is_refused(penny):
    body = slash_command_body("/cost", "this-month")
    headers = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 10 * 60)
    status, _, _ = penny.post(body, headers)
    assert status == 401
    assert penny.billing.count() == 0


def test_cost_command_is_acked_at_once_then_answered(penny):
    body = slash_command_body("/cost", "this-month", response_url=penny.fake_slack.response_url())
    status, text, seconds = penny.post(
        body, signed_headers(SIGNING_SECRET, body, content_type=FORM)
    )
    assert status == 200
    assert "Working on" in text
    assert seconds < 3
    posts = wait_for_answers(penny)
    assert len(posts) == 1
    answer = posts[0].body
    assert answer["channel"] == "C0FINOPS"
    rendered = json.dumps(answer["blocks"])
    assert "Cost Explorer" in rendered and "UnblendedCost" in rendered
    assert penny.billing.count("GetCostAndUsage") >= 2  # this month and the comparison, paginated
    assert "xoxb-e2e-token-secret" not in penny.log()


def test_a_retried_command_is_answered_once(penny):
    body = slash_command_body("/cost", "last-month", response_url=penny.fake_slack.response_url())
    headers = signed_headers(SIGNING_SECRET, body)
    assert penny.post(body, headers)[0] == 200
    assert (
        penny.post(
            body, {**headers, "x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
        )[0]
        == 200
    )
    wait_for_answers(penny)
    time.sleep(0.5)
    assert len(answers(penny)) == 1


def test_unknown_path_and_wrong_method(penny):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(penny.url + "/nope", timeout=5)
    assert err.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(penny.url + "/slack/events", timeout=5)
    assert err.value.code == 405
