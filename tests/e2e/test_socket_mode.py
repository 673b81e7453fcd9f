"""The real `python -m bot` process in Socket Mode: envelopes in over a WebSocket, acks back
over it within Slack's 3 seconds, answers through the Web API, each delivery answered once."""

import json
import time
import urllib.parse
import urllib.request

import pytest

from bot.devtools.fake_slack import BOT_USER_ID, socket_envelope
from tests.e2e.conftest import start_penny, stop_penny
from tests.fakes.slack_requests import event_body, slash_command_body

pytestmark = pytest.mark.e2e

APP_TOKEN = "xapp-1-A0PENNY-e2e-app-token-secret"


@pytest.fixture
def penny_socket(tmp_path, fake_slack, billing):
    # No subcommand: SLACK_APP_TOKEN selects Socket Mode, which needs no signing secret.
    process = start_penny(
        tmp_path, fake_slack, billing, args=(), SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=""
    )
    assert fake_slack.wait_for_socket_client(timeout=10), process.log()
    yield process
    stop_penny(process)


def answers_in_channel(fake):
    return [c for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == "C0FINOPS"]


def test_healthz_is_served_on_port(penny_socket):
    with urllib.request.urlopen(penny_socket.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "store": "open"}
    [opened] = penny_socket.fake_slack.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"


def test_a_cost_command_is_acked_over_the_socket_then_answered_once(penny_socket):
    fake = penny_socket.fake_slack
    form = dict(
        urllib.parse.parse_qsl(
            slash_command_body("/cost", "this-month", response_url=fake.response_url())
        )
    )
    envelope = socket_envelope("slash_commands", form)

    sent = time.perf_counter()
    fake.socket_send(envelope)
    [ack] = fake.wait_for_socket_acks(envelope["envelope_id"], timeout=3)
    assert time.perf_counter() - sent < 3
    assert "Working on" in ack["payload"]["text"]

    [answer] = fake.wait_until(lambda: answers_in_channel(fake))
    rendered = json.dumps(answer.body["blocks"])
    assert "Cost Explorer" in rendered and "UnblendedCost" in rendered

    fake.socket_send(envelope)  # Slack's redelivery: the same trigger_id
    assert len(fake.wait_for_socket_acks(envelope["envelope_id"], count=2, timeout=3)) == 2
    penny_socket.wait_for_log("duplicate delivery", f"key=<command:{form['trigger_id']}>")
    assert len(answers_in_channel(fake)) == 1
    assert APP_TOKEN not in penny_socket.log()


def test_a_mention_is_answered_in_its_thread_once(penny_socket):
    fake = penny_socket.fake_slack
    ts = "1700000200.000200"
    event = {"type": "app_mention", "user": "U0ALICE", "channel": "C0FINOPS"}
    event.update(
        text=f"<@{BOT_USER_ID}> how much did we spend on rds last month?", ts=ts, event_ts=ts
    )
    callback = json.loads(event_body(event))
    first = socket_envelope("events_api", callback)
    retry = socket_envelope("events_api", callback, retry_attempt=1, retry_reason="timeout")

    fake.socket_send(first)
    assert fake.wait_for_socket_acks(first["envelope_id"], timeout=3)

    def in_thread():
        return [m for m in fake.messages.get("C0FINOPS", []) if m.get("thread_ts") == ts]

    [placeholder] = fake.wait_until(in_thread)
    update = fake.wait_until(
        lambda: [c for c in fake.calls_to("chat.update") if c.body.get("ts") == placeholder["ts"]]
    )[0]
    answer = json.dumps(update.body["blocks"])
    assert "Relational Database Service" in answer and "Cost Explorer" in answer

    fake.socket_send(retry)
    assert fake.wait_for_socket_acks(retry["envelope_id"], timeout=3)
    penny_socket.wait_for_log("duplicate delivery", f"key=<event:{callback['event_id']}>")
    assert len(in_thread()) == 1


def test_an_approval_click_over_the_socket_runs_the_action_once(tmp_path, fake_slack, demo_aws):
    from bot.core.ids import APPROVE_ACTION
    from bot.store import open_store
    from tests.fakes.slack_requests import block_actions_body

    process = start_penny(
        tmp_path,
        fake_slack,
        demo_aws.billing,
        args=(),
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET="",
        PENNY_APPROVERS="U0ALICE,U0BOB",
        PENNY_DRY_RUN="false",
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
        **demo_aws.env,
    )
    try:
        assert fake_slack.wait_for_socket_client(timeout=10), process.log()
        form = dict(
            urllib.parse.parse_qsl(
                slash_command_body(
                    "/penny",
                    'reboot-rds orders-db --reason "connections exhausted"',
                    user_id="U0ALICE",
                    response_url=fake_slack.response_url(),
                )
            )
        )
        fake_slack.socket_send(socket_envelope("slash_commands", form))

        def approve_buttons():
            return [
                (m["ts"], e)
                for m in fake_slack.messages.get("C0FINOPS", [])
                for b in m["blocks"]
                if b.get("type") == "actions"
                for e in b["elements"]
                if e["action_id"] == APPROVE_ACTION
            ]

        [(ts, approve)] = fake_slack.wait_until(approve_buttons, timeout=15)
        click = json.loads(
            dict(
                urllib.parse.parse_qsl(
                    block_actions_body(
                        APPROVE_ACTION, approve["value"], user_id="U0BOB", message_ts=ts
                    )
                )
            )["payload"]
        )
        envelope = socket_envelope("interactive", click)
        sent = time.perf_counter()
        fake_slack.socket_send(envelope)
        fake_slack.wait_for_socket_acks(envelope["envelope_id"], timeout=3)
        assert time.perf_counter() - sent < 3
        fake_slack.socket_send(envelope)  # redelivered: answered once

        store = open_store(process.db_path)

        def final_state():
            rows = store.query("SELECT id, state FROM approval_requests")
            return rows if rows and rows[0]["state"] in {"succeeded", "failed"} else None

        [request] = fake_slack.wait_until(final_state, timeout=20)
        assert request["state"] == "succeeded"
        events = [
            r["event"]
            for r in store.query(
                "SELECT event FROM audit_log WHERE request_id = ? ORDER BY seq", [request["id"]]
            )
        ]
        assert events.count("approved") == 1 and events.count("executing") == 1
        assert events.count("succeeded") == 1
    finally:
        stop_penny(process)
