"""Ask Penny through the real app: signed event_callback JSON, the fake Slack server, the demo
AWS account (moto for EC2/RDS/logs, the billing fake for Cost Explorer)."""

import json
import urllib.request
from datetime import UTC, date, datetime

import pytest

from bot.agent.service import install_agent
from bot.core import ids
from bot.core.approvals import PENDING, SUCCEEDED
from bot.devtools.demo_aws import INJECTION_TEXT, ORDERS_DB, seed_demo_resources, start_demo_aws
from bot.store import open_store
from bot.store.approvals import get_request, list_requests
from handlers.ask import PLACEHOLDER
from tests.conftest import fixed_clock
from tests.fakes.fake_slack import BOT_USER_ID
from tests.fakes.scripted_model import ScriptedModel
from tests.fakes.scripted_model import text as text_turn
from tests.fakes.slack_requests import block_actions_body, event_body, slash_command_body

# The demo's incident logs must be recent for moto (it refuses events older than 14 days),
# so this module runs at the real "now"; nothing asserted depends on which day that is.
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
CHANNEL = "C0FINOPS"
ALICE = "U0ALICE"


def reset_moto(url):
    """moto keeps its state per process: start from, and leave, an empty account for other tests."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def demo():
    with start_demo_aws(TODAY, seed=False) as running:
        reset_moto(running.moto_url)
        running.resources = seed_demo_resources(
            running.session(), endpoint_url=running.moto_url, now=NOW
        )
        yield running
        reset_moto(running.moto_url)


@pytest.fixture
def aws_env(demo, monkeypatch):
    for name, value in demo.env.items():
        monkeypatch.setenv(name, value)
    return demo


@pytest.fixture
def penny(make_app, aws_env):
    return make_app(clock=fixed_clock(NOW), PENNY_LLM="none", PENNY_APPROVERS="U0BOSS")


_ts_counter = iter(range(100, 10_000))


def fresh_ts():
    return f"{int(NOW.timestamp())}.{next(_ts_counter):06d}"


def mention(text, *, thread_ts=None, channel=CHANNEL, user=ALICE, ts=None):
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "channel": channel,
        "ts": ts or fresh_ts(),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def ask(app, event, **kw):
    response = app.dispatch_json(event_body(event, **kw))
    assert response.status == 200
    return response


def answers(app):
    """The chat.update calls that replaced a placeholder: the answers Penny gave."""
    return app.fake.calls_to("chat.update")


def answer_json(call):
    return json.dumps(call.body.get("blocks")) + call.body.get("text", "")


def pending_requests(app):
    return list_requests(app.deps.store, [PENDING])


def rds_status(demo):
    rds = demo.session().client("rds", endpoint_url=demo.moto_url)
    return rds.describe_db_instances(DBInstanceIdentifier=ORDERS_DB)["DBInstances"][0][
        "DBInstanceStatus"
    ]


def running_instances(demo):
    ec2 = demo.session().client("ec2", endpoint_url=demo.moto_url)
    pages = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    return sorted(i["InstanceId"] for r in pages["Reservations"] for i in r["Instances"])


def month_start(months_back):
    year, month = TODAY.year, TODAY.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def test_a_mention_is_answered_in_the_thread_through_a_placeholder(penny, aws_env):
    event = mention("how much did we spend on RDS last month?")
    ask(penny, event)
    [placeholder] = penny.fake.calls_to("chat.postMessage")
    assert placeholder.body["text"] == PLACEHOLDER
    assert placeholder.body["thread_ts"] == event["ts"]
    [update] = answers(penny)
    assert update.body["channel"] == CHANNEL
    assert update.body["ts"] != event["ts"]  # the placeholder's ts, not the question's
    text = answer_json(update)
    assert "Relational Database Service" in text or "service=" in text
    assert "$" in text and "Traceback" not in text
    assert BOT_USER_ID not in text


def test_a_dm_is_answered_in_its_thread(penny, aws_env):
    event = {
        "type": "message",
        "channel_type": "im",
        "user": ALICE,
        "text": "top 5 services this month",
        "channel": "D0ALICE",
        "ts": fresh_ts(),
    }
    ask(penny, event)
    [placeholder] = penny.fake.calls_to("chat.postMessage")
    assert placeholder.body["channel"] == "D0ALICE" and placeholder.body["thread_ts"] == event["ts"]
    [update] = answers(penny)
    assert "$" in answer_json(update)


def test_bot_messages_edits_and_channel_chatter_are_not_answered(penny, aws_env):
    base = {"type": "message", "channel_type": "im", "channel": "D0ALICE", "text": "top services"}
    ask(penny, {**base, "user": BOT_USER_ID, "bot_id": "BPENNYBOT", "ts": fresh_ts()})
    ask(penny, {**base, "subtype": "message_changed", "ts": fresh_ts()})
    ask(
        penny,
        {**base, "channel_type": "channel", "channel": CHANNEL, "user": ALICE, "ts": fresh_ts()},
    )
    assert not penny.fake.calls_to("chat.postMessage")


def test_a_follow_up_in_the_thread_reads_against_the_previous_question_also_after_a_restart(
    make_app, aws_env, tmp_path
):
    db_file = str(tmp_path / "penny.db")
    first_app = make_app(store=open_store(db_file), clock=fixed_clock(NOW), PENNY_LLM="none")
    root = mention("how much did we spend on RDS last month?")
    ask(first_app, root)
    ask(first_app, mention("and the month before?", thread_ts=root["ts"]))
    two_back = month_start(2)
    asked = [c.body for c in aws_env.billing.calls("GetCostAndUsage")]
    assert any(b["TimePeriod"]["Start"] == two_back.isoformat() for b in asked)
    second = answers(first_app)[-1]
    assert f"{two_back:%B %Y}" in answer_json(second)

    # A new process on the same database file remembers the thread.
    restarted = make_app(store=open_store(db_file), clock=fixed_clock(NOW), PENNY_LLM="none")
    ask(restarted, mention("and the month before?", thread_ts=root["ts"]))
    three_back = month_start(3)
    assert f"{three_back:%B %Y}" in answer_json(answers(restarted)[-1])


def test_an_unknown_question_without_an_llm_lists_what_penny_can_do(penny, aws_env):
    ask(penny, mention("tell me a joke about kubernetes"))
    [update] = answers(penny)
    text = answer_json(update)
    assert "Ask me things like" in text
    assert "check the logs" in text and "reboot orders-db" in text


def test_reboot_creates_a_pending_approval_and_executes_nothing(penny, aws_env):
    event = mention("reboot orders-db")
    ask(penny, event)
    [request] = pending_requests(penny)
    assert request.action == "reboot_rds_instance"
    assert request.params["db_instance_id"] == ORDERS_DB
    assert request.requested_by == ALICE and request.thread_ts == event["ts"]
    cards = [c for c in penny.fake.calls_to("chat.postMessage") if c.body["text"] != PLACEHOLDER]
    assert len(cards) == 1 and cards[0].body["thread_ts"] == event["ts"]
    assert request.id in answer_json(answers(penny)[-1])
    assert rds_status(aws_env) == "available"


def test_an_action_without_a_target_asks_which_resource(penny, aws_env):
    ask(penny, mention("please stop the database"))
    assert not pending_requests(penny)
    assert "Which RDS instance" in answer_json(answers(penny)[-1])


def test_incident_triage_proposes_one_chained_approval_with_the_arithmetic(penny, aws_env):
    running_before = running_instances(aws_env)
    event = mention("check the logs for database issues")
    ask(penny, event)
    text = answer_json(answers(penny)[-1])
    assert "3 pods x 50 pool connections = 150" in text
    assert "max_connections of 150" in text
    assert "10:12" in text
    assert "RDS Proxy" in text
    [request] = pending_requests(penny)
    assert request.action == "chain"
    steps = request.params["steps"]
    assert [s["action"] for s in steps] == ["reboot_rds_instance", "post_incident_summary"]
    assert steps[0]["params"]["db_instance_id"] == ORDERS_DB
    assert steps[1]["params"]["channel"] == CHANNEL  # no alerts channel configured
    assert request.id in text
    # The injected log line is evidence at most: nothing ran, nothing else was requested.
    assert "stop" not in json.dumps(request.params).lower().replace("stopping", "")
    assert rds_status(aws_env) == "available"
    assert running_instances(aws_env) == running_before


def test_triage_posts_the_summary_to_the_configured_alerts_channel(make_app, aws_env, tmp_path):
    config = tmp_path / "penny.toml"
    config.write_text('[alerts]\nchannel = "C0ALERTS"\n')
    app = make_app(clock=fixed_clock(NOW), PENNY_LLM="none", PENNY_CONFIG=str(config))
    ask(app, mention("check the logs for database issues"))
    [request] = pending_requests(app)
    assert request.params["steps"][1]["params"]["channel"] == "C0ALERTS"


def test_an_injected_instruction_in_a_question_changes_nothing(penny, aws_env):
    running_before = running_instances(aws_env)
    ask(penny, mention(INJECTION_TEXT))
    assert not pending_requests(penny)
    assert running_instances(aws_env) == running_before


def test_a_duplicate_delivery_is_answered_once(penny, aws_env):
    event = mention("top services this month")
    body = event_body(event, event_id="Ev0DUPLICATE1")
    penny.dispatch_json(body)
    retry = penny.dispatch_json(
        body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retry.status == 200
    assert len(penny.fake.calls_to("chat.postMessage")) == 1
    assert len(answers(penny)) == 1


def test_penny_usage_counts_the_questions(penny, aws_env):
    ask(penny, mention("top services this month"))
    ask(penny, mention("tell me a joke"))
    penny.dispatch(
        slash_command_body("/penny", "usage today", response_url=penny.fake.response_url())
    )
    [reply] = penny.fake.calls_to("response_url")
    text = json.dumps(reply.body)
    assert "*2* questions (100% fast path, 0 LLM)" in text
    assert f"<@{ALICE}>" in text


def test_what_changed_shows_both_periods_and_the_biggest_movers(penny, aws_env):
    ask(penny, mention("what changed vs last month?"))
    text = answer_json(answers(penny)[-1])
    assert "What changed" in text and "Biggest movers by service" in text
    assert "%" in text and "$" in text
    assert "by usage type" in text  # the biggest mover is broken down further


def test_anomalies_run_the_detector_on_daily_spend(penny, aws_env):
    ask(penny, mention("any cost anomalies?"))
    text = answer_json(answers(penny)[-1])
    assert "Cost anomalies" in text and "daily by service" in text
    # The demo's GPU spike, found with the anomaly report's settings (the job and a question agree).
    assert "Amazon Elastic Compute Cloud - Compute" in text and "spike" in text
    daily = [
        c.body for c in aws_env.billing.calls("GetCostAndUsage") if c.body["Granularity"] == "DAILY"
    ]
    assert daily


def test_idle_resources_are_listed_without_changing_anything(penny, aws_env):
    ask(penny, mention("what could we turn off?"))
    text = answer_json(answers(penny)[-1])
    assert aws_env.resources.idle_instance in text
    assert not pending_requests(penny)


def test_outside_the_fast_path_the_agent_answers_in_the_thread(penny, aws_env):
    model = ScriptedModel([text_turn("Reserved Instances trade commitment for a discount.")])
    install_agent(penny.deps, model)
    event = mention("explain reserved instances to me")
    ask(penny, event)
    update = answers(penny)[-1]
    assert "commitment for a discount" in answer_json(update)
    [placeholder] = penny.fake.calls_to("chat.postMessage")
    assert placeholder.body["thread_ts"] == event["ts"]


def test_over_the_daily_llm_budget_penny_answers_with_the_fast_path_and_says_so(make_app, aws_env):
    app = make_app(clock=fixed_clock(NOW), PENNY_LLM_DAILY_BUDGET_USD="0")
    model = ScriptedModel([text_turn("should not be asked")])
    install_agent(app.deps, model)
    ask(app, mention("explain reserved instances to me"))
    text = answer_json(answers(app)[-1])
    assert "budget for today" in text and "Ask me things like" in text
    assert model.remaining == 1
    ask(app, mention("top services this month"))
    assert "$" in answer_json(answers(app)[-1])


def test_approving_the_chain_reboots_then_posts_the_summary_once(make_app, aws_env, tmp_path):
    config = tmp_path / "penny.toml"
    config.write_text('[alerts]\nchannel = "C0ALERTS"\n')
    app = make_app(
        clock=fixed_clock(NOW),
        PENNY_APPROVERS="U0BOSS",
        PENNY_DRY_RUN="false",
        PENNY_CONFIG=str(config),
    )
    ask(app, mention("check the logs for database issues"))
    [request] = pending_requests(app)
    [card] = [c for c in app.fake.calls_to("chat.postMessage") if c.body["text"] != PLACEHOLDER]
    card_ts = app.fake.messages[CHANNEL][-1]["ts"]
    assert card.body["thread_ts"]
    app.dispatch(
        block_actions_body(
            ids.APPROVE_ACTION, request.id, user_id="U0BOSS", channel_id=CHANNEL, message_ts=card_ts
        )
    )
    done = get_request(app.deps.store, request.id)
    assert done is not None and done.state == SUCCEEDED
    summaries = [
        c for c in app.fake.calls_to("chat.postMessage") if c.body["channel"] == "C0ALERTS"
    ]
    assert len(summaries) == 1 and "150" in summaries[0].body["text"]
    assert rds_status(aws_env) in ("rebooting", "available")


def test_top_level_dms_are_one_conversation_for_follow_ups(penny, aws_env):
    dm = {"type": "message", "channel_type": "im", "user": ALICE, "channel": "D0ALICE"}
    ask(penny, {**dm, "text": "how much did we spend on RDS last month?", "ts": fresh_ts()})
    ask(penny, {**dm, "text": "and the month before?", "ts": fresh_ts()})
    assert f"{month_start(2):%B %Y}" in answer_json(answers(penny)[-1])


def test_an_aws_error_is_explained_in_the_thread_without_a_stack_trace(penny, aws_env):
    aws_env.billing.fail_next("GetCostAndUsage", "AccessDeniedException")
    ask(penny, mention("what changed vs last month?"))
    text = answer_json(answers(penny)[-1])
    assert "ce:GetCostAndUsage" in text
    assert "Traceback" not in text and "ClientError" not in text


def test_logs_without_a_known_signature_are_handed_to_the_agent(penny, aws_env):
    logs = aws_env.session().client("logs", endpoint_url=aws_env.moto_url)
    group = f"/app/payments-{fresh_ts().replace('.', '')}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="payments-1")
    stamp = int(NOW.timestamp() * 1000) - 60_000
    lines = ["card processor answered HTTP 502 for order 1001", "retrying settlement batch 77"]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="payments-1",
        logEvents=[{"timestamp": stamp + i, "message": m} for i, m in enumerate(lines)],
    )
    model = ScriptedModel([text_turn("The card processor is failing with 502s; this is upstream.")])
    install_agent(penny.deps, model)
    ask(penny, mention(f"check the logs of {group} for payment issues"))
    assert "failing with 502s" in answer_json(answers(penny)[-1])
    assert not pending_requests(penny)
    rows = penny.deps.store.query("SELECT path FROM llm_usage")
    assert [r["path"] for r in rows] == ["llm"]  # recorded once, by the agent
