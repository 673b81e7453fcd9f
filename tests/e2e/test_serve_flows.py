"""The real `python -m bot serve` process with the demo AWS account (moto + the Cost Explorer fake):
a question in a channel answered in its thread, and an approval executed exactly once."""

import json
import time

import pytest

from bot.core.ids import APPROVE_ACTION
from bot.store import open_store
from tests.conftest import SIGNING_SECRET
from tests.e2e.conftest import start_penny, stop_penny
from tests.fakes.fake_slack import BOT_USER_ID
from tests.fakes.slack_requests import (
    JSON,
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def penny_demo(tmp_path, fake_slack, demo_aws):
    process = start_penny(
        tmp_path,
        fake_slack,
        demo_aws.billing,
        **demo_aws.env,
        PENNY_APPROVERS="U0ALICE,U0BOB",
        PENNY_DRY_RUN="false",
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    yield process
    stop_penny(process)


def send(penny, body, content_type="application/x-www-form-urlencoded"):
    status, text, seconds = penny.post(
        body, signed_headers(SIGNING_SECRET, body, content_type=content_type)
    )
    assert status == 200, text
    assert seconds < 3
    return text


def wait_until(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_mention_is_answered_in_its_thread(penny_demo):
    event = {
        "type": "app_mention",
        "user": "U0ALICE",
        "text": f"<@{BOT_USER_ID}> how much did we spend on rds last month?",
        "channel": "C0FINOPS",
        "ts": "1700000100.000100",
        "event_ts": "1700000100.000100",
    }
    body = event_body(event)
    send(penny_demo, body, JSON)
    send(penny_demo, body, JSON)  # Slack's retry of the same event_id
    fake = penny_demo.fake_slack

    # The process's scheduler may post reports to the channel too: look at this thread only.
    def in_thread():
        return [
            c for c in fake.calls_to("chat.postMessage") if c.body.get("thread_ts") == event["ts"]
        ]

    [placeholder] = wait_until(in_thread)
    placeholder_ts = next(
        m["ts"] for m in fake.messages["C0FINOPS"] if m.get("thread_ts") == event["ts"]
    )
    update = wait_until(
        lambda: [c for c in fake.calls_to("chat.update") if c.body.get("ts") == placeholder_ts]
    )[0]
    answer = json.dumps(update.body["blocks"])
    assert "Relational Database Service" in answer and "Cost Explorer" in answer
    time.sleep(0.5)
    assert len(in_thread()) == 1  # the retry was answered once


def test_an_approved_reboot_runs_once_over_http(penny_demo):
    fake = penny_demo.fake_slack
    send(
        penny_demo,
        slash_command_body(
            "/penny",
            'reboot-rds orders-db --reason "too many connections"',
            user_id="U0ALICE",
            response_url=fake.response_url(),
        ),
    )

    def approve_buttons():
        # The process's scheduler may post reports to the channel too: find the card.
        return [
            (message["ts"], element)
            for message in fake.messages.get("C0FINOPS", [])
            for block in message["blocks"]
            if block.get("type") == "actions"
            for element in block["elements"]
            if element["action_id"] == APPROVE_ACTION
        ]

    ts, approve = wait_until(approve_buttons)[0]
    click = block_actions_body(APPROVE_ACTION, approve["value"], user_id="U0BOB", message_ts=ts)
    send(penny_demo, click)
    send(
        penny_demo,
        block_actions_body(APPROVE_ACTION, approve["value"], user_id="U0BOB", message_ts=ts),
    )  # double click
    final = wait_until(
        lambda: [
            c
            for c in fake.calls_to("chat.update")
            if "succeeded" in json.dumps(c.body).lower() or "done" in json.dumps(c.body).lower()
        ]
    )
    assert final
    store = open_store(penny_demo.db_path)
    [request] = store.query("SELECT id, state FROM approval_requests")
    assert request["state"] == "succeeded"
    events = [
        r["event"]
        for r in store.query(
            "SELECT event FROM audit_log WHERE request_id = ? ORDER BY seq", [request["id"]]
        )
    ]
    assert (
        events.count("approved") == 1
        and events.count("executing") == 1
        and events.count("succeeded") == 1
    )
    verify = json.dumps(
        [c.body for c in fake.calls_to("chat.postEphemeral") + fake.calls_to("response_url")]
    )
    assert "already" in verify.lower()  # the second click was told, not executed
