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
