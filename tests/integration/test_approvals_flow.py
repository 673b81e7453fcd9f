"""Approval flows end to end: signed requests through the real Bolt app, the fake Slack
server on the other side, and moto holding the real resource state."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from bot.approvals_engine import get_engine, recover_after_restart
from bot.core import ids
from bot.store import approvals as st
from bot.store import open_store
from bot.store.audit import latest_audit, verify_audit_chain
from tests.approval_samples import ALICE, BOB, MALLORY, REQUESTER, T0
from tests.fakes.slack_requests import block_actions_body, slash_command_body, view_submission_body

CHANNEL = "C0OPS"
APPROVERS = f"{ALICE},{BOB}"


class CountingAws:
    """A boto3 session factory that counts every AWS operation made through its sessions."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        # one model loader for every session: re-reading EC2's JSON model costs ~0.3 s a session
        self._loader = botocore.loaders.create_loader()

    def __call__(self) -> boto3.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", self._loader)
        session = boto3.Session(botocore_session=core, region_name="us-east-1")
        session.events.register("before-call.*.*", self._count)
        return session

    def _count(self, model, **_: object) -> None:
        with self._lock:
            self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def aws(monkeypatch):
    # moto would otherwise load hundreds of public AMIs into every fresh EC2 backend
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield CountingAws()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def penny(make_app, aws, clock, tmp_path):
    """The real app, not in dry run, Alice and Bob approvers, a file database."""

    def build(**env):
        env = {"PENNY_APPROVERS": APPROVERS, "PENNY_DRY_RUN": "false", **env}
        store = env.pop("store", None) or open_store(str(tmp_path / "penny.db"))
        return make_app(store=store, clock=clock, aws=aws, **env)

    return build


def run_instance(aws) -> str:
    ec2 = aws().client("ec2")
    return ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro"
    )["Instances"][0]["InstanceId"]


def ec2_state(aws, iid) -> str:
    found = aws().client("ec2").describe_instances(InstanceIds=[iid])
    return found["Reservations"][0]["Instances"][0]["State"]["Name"]


def slash(app, text, user=REQUESTER, channel=CHANNEL):
    return app.dispatch(slash_command_body("/penny", text, user_id=user, channel_id=channel))


def click(app, request_id, user, ts, action=ids.APPROVE_ACTION, channel=CHANNEL):
    return app.dispatch(
        block_actions_body(action, request_id, user_id=user, channel_id=channel, message_ts=ts)
    )


def latest_card(fake, channel=CHANNEL):
    """(request id, ts, blocks) of the last card posted in the channel."""
    for message in reversed(fake.messages.get(channel, [])):
        buttons = [
            e for b in message["blocks"] if b.get("type") == "actions" for e in b["elements"]
        ]
        if buttons:
            return buttons[0]["value"], message["ts"], message
    raise AssertionError("no approval card was posted")


def card_text(fake, ts, channel=CHANNEL) -> str:
    [message] = [m for m in fake.messages[channel] if m["ts"] == ts]
    return json.dumps(message["blocks"])


def ephemerals_to(fake, user):
    return [e["text"] for e in fake.ephemerals if e.get("user") == user]


def events(app, request_id=None):
    return [e["event"] for e in reversed(latest_audit(app.deps.store, 200, request_id))]


def stop_request(app, aws, fake, reason="idle since March"):
    iid = run_instance(aws)
    slash(app, f'stop-ec2 {iid} --reason "{reason}"')
    request_id, ts, _ = latest_card(fake)
    return iid, request_id, ts


# -- approve and deny ---------------------------------------------------------------------------


def test_approve_stops_the_instance_and_updates_the_card(penny, aws, fake_slack):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    text = card_text(fake_slack, ts)
    assert "Approval needed" in text and iid in text and "idle since March" in text
    assert ephemerals_to(fake_slack, REQUESTER) == [
        f":inbox_tray: Request `{request_id}` for `stop_ec2_instances` is waiting for approval; see the card."
    ]
    response = click(app, request_id, ALICE, ts)
    assert response.status == 200
    assert ec2_state(aws, iid) == "stopped"
    assert aws.calls["ec2:StopInstances"] == 1
    final = card_text(fake_slack, ts)
    assert "Done" in final and f":white_check_mark: `{iid}` ok: running -> stopping" in final
    assert ids.APPROVE_ACTION not in final
    updates = [c.body for c in fake_slack.calls_to("chat.update") if c.body["ts"] == ts]
    assert [u["text"].split(":")[0] for u in updates] == ["Approved", "Executing", "Done"]
    assert events(app, request_id) == [
        "requested",
        "card_posted",
        "approved",
        "executing",
        "succeeded",
    ]
    assert st.get_request(app.deps.store, request_id).state == "succeeded"
    assert ephemerals_to(fake_slack, ALICE) == []
    assert verify_audit_chain(app.deps.store)[0]


def test_deny_opens_a_modal_then_denies_with_the_reason(penny, aws, fake_slack):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, request_id, BOB, ts, action=ids.DENY_ACTION)
    [opened] = fake_slack.calls_to("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == ids.DENY_REASON_MODAL
    values = {
        ids.DENY_REASON_BLOCK: {
            ids.DENY_REASON_INPUT: {"type": "plain_text_input", "value": "needed for the demo"}
        }
    }
    app.dispatch(
        view_submission_body(
            ids.DENY_REASON_MODAL, values, private_metadata=view["private_metadata"], user_id=BOB
        )
    )
    assert f"Denied by <@{BOB}> at 14:00: needed for the demo" in card_text(fake_slack, ts)
    assert ec2_state(aws, iid) == "running" and aws.calls["ec2:StopInstances"] == 0
    [denied] = [e for e in latest_audit(app.deps.store, 50, request_id) if e["event"] == "denied"]
    assert denied["actor"] == BOB and denied["details"]["reason"] == "needed for the demo"


def test_requester_deny_cancels_their_own_request(penny, aws, fake_slack):
    app = penny()
    _, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, request_id, REQUESTER, ts, action=ids.DENY_ACTION)
    view = fake_slack.calls_to("views.open")[0].body["view"]
    app.dispatch(
        view_submission_body(
            ids.DENY_REASON_MODAL, {}, private_metadata=view["private_metadata"], user_id=REQUESTER
        )
    )
    assert st.get_request(app.deps.store, request_id).state == "cancelled"
    assert f"Cancelled by <@{REQUESTER}>" in card_text(fake_slack, ts)


def test_dry_run_says_so_and_changes_nothing(penny, aws, fake_slack):
    app = penny(PENNY_DRY_RUN="true")
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    assert "DRY RUN" in card_text(fake_slack, ts)
    click(app, request_id, ALICE, ts)
    final = card_text(fake_slack, ts)
    assert "DRY RUN: would stop (AWS permission check passed)" in final
    assert ec2_state(aws, iid) == "running"
    assert st.get_request(app.deps.store, request_id).state == "succeeded"


def test_target_changed_before_approval_fails_without_acting(penny, aws, fake_slack):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    aws().client("ec2").stop_instances(InstanceIds=[iid])
    calls_before = aws.calls["ec2:StopInstances"]
    click(app, request_id, ALICE, ts)
    assert aws.calls["ec2:StopInstances"] == calls_before
    request = st.get_request(app.deps.store, request_id)
    assert request.state == "failed"
    assert (
        "not run:" in request.outcomes[0].detail and "is now stopped" in request.outcomes[0].detail
    )


# -- refusals: each answered, audited, nothing executed ---------------------------------------


def assert_refused(app, fake, aws, request_id, user, code, message_part):
    text = ephemerals_to(fake, user)[-1]
    assert message_part in text, text
    refused = [e for e in latest_audit(app.deps.store, 100) if e["event"] == "click_refused"]
    assert refused and refused[0]["details"]["code"] == code and refused[0]["actor"] == user
    assert aws.calls["ec2:StopInstances"] == 0


def test_unauthorized_click_is_refused(penny, aws, fake_slack):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, request_id, MALLORY, ts)
    assert_refused(
        app, fake_slack, aws, request_id, MALLORY, "not_approver", "You are not an approver"
    )
    assert st.get_request(app.deps.store, request_id).state == "pending"
    assert ec2_state(aws, iid) == "running"


def test_nobody_may_approve_when_no_approvers_are_configured(penny, aws, fake_slack):
    app = penny(PENNY_APPROVERS="")
    _, request_id, ts = stop_request(app, aws, fake_slack)
    assert "nobody yet" in card_text(fake_slack, ts)
    click(app, request_id, ALICE, ts)
    assert_refused(app, fake_slack, aws, request_id, ALICE, "not_approver", "nobody yet")


def test_self_approval_is_refused_for_medium_risk(penny, aws, fake_slack):
    app = penny(PENNY_APPROVERS=f"{REQUESTER},{ALICE}")
    _, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, request_id, REQUESTER, ts)
    assert_refused(
        app, fake_slack, aws, request_id, REQUESTER, "self_approval", "someone else must approve"
    )


def test_user_group_members_may_approve(penny, aws, fake_slack):
    fake_slack.usergroups["S0OPS"] = [MALLORY]
    app = penny(PENNY_APPROVERS="S0OPS")
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, request_id, MALLORY, ts)
    assert ec2_state(aws, iid) == "stopped"
    assert fake_slack.calls_to("usergroups.users.list")[0].body["usergroup"] == "S0OPS"


def test_two_approver_rule(penny, aws, fake_slack, tmp_path):
    policy = tmp_path / "penny.toml"
    policy.write_text("[approvals]\nrequired_approvals = { high = 2 }\n")
    app = penny(PENNY_CONFIG=str(policy))
    rds = aws().client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    slash(app, 'reboot-rds orders-db --reason "stuck connections"')
    request_id, ts, message = latest_card(fake_slack)
    approve = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]][0]
    assert "confirm" in approve  # high risk asks for confirmation
    click(app, request_id, ALICE, ts)
    assert ephemerals_to(fake_slack, ALICE) == [
        ":ballot_box_with_check: Your approval is recorded (1 of 2); it needs 1 more approver(s)."
    ]
    assert "Approved so far by <@UALICE01>" in card_text(fake_slack, ts)
    click(app, request_id, ALICE, ts)
    assert "You already approved this" in ephemerals_to(fake_slack, ALICE)[-1]
    assert aws.calls["rds:RebootDBInstance"] == 0
    click(app, request_id, BOB, ts)
    assert aws.calls["rds:RebootDBInstance"] == 1
    request = st.get_request(app.deps.store, request_id)
    assert request.state == "succeeded" and request.approvers_so_far() == (ALICE, BOB)
    assert "approval_recorded" in events(app, request_id)


def test_expired_request_is_refused_and_its_card_updated(penny, aws, fake_slack, clock):
    app = penny(PENNY_APPROVAL_TTL="15m")
    _, request_id, ts = stop_request(app, aws, fake_slack)
    clock.now = T0 + timedelta(minutes=16)
    click(app, request_id, ALICE, ts)
    assert_refused(app, fake_slack, aws, request_id, ALICE, "already_decided", "expired at 14:15")
    assert "Expired at 14:15" in card_text(fake_slack, ts)
    assert "expired" in events(app, request_id)


def test_expiry_sweep_updates_cards(penny, aws, fake_slack, clock):
    app = penny(PENNY_APPROVAL_TTL="15m")
    _, request_id, ts = stop_request(app, aws, fake_slack)
    assert get_engine(app.deps).expire_due(T0 + timedelta(minutes=14)) == 0
    assert get_engine(app.deps).expire_due(T0 + timedelta(minutes=15)) == 1
    assert "Expired at 14:15" in card_text(fake_slack, ts)


def test_stale_card_click_is_refused_with_who_and_when(penny, aws, fake_slack, clock):
    app = penny()
    _, request_id, ts = stop_request(app, aws, fake_slack)
    clock.now = T0 + timedelta(minutes=2)
    click(app, request_id, ALICE, ts)
    clock.now = T0 + timedelta(minutes=5)
    click(app, request_id, BOB, ts)
    [text] = ephemerals_to(fake_slack, BOB)
    assert text == "This request was already approved by <@UALICE01> at 14:02 (now succeeded)."
    assert aws.calls["ec2:StopInstances"] == 1


def test_double_click_executes_once(penny, aws, fake_slack):
    app = penny()
    _, request_id, ts = stop_request(app, aws, fake_slack)
    for _ in range(2):
        app.dispatch(
            block_actions_body(
                ids.APPROVE_ACTION, request_id, user_id=ALICE, channel_id=CHANNEL, message_ts=ts
            ),
            wait=False,
        )
    assert app.executor.wait_idle(60)
    assert aws.calls["ec2:StopInstances"] == 1
    assert events(app, request_id).count("succeeded") == 1


def test_unknown_request_id_is_refused(penny, aws, fake_slack):
    app = penny()
    click(app, "apr-00000000000000ff", ALICE, "1700000000.000001")
    [text] = ephemerals_to(fake_slack, ALICE)
    assert "I don't know that request" in text
    [entry] = latest_audit(app.deps.store, 1)
    assert entry["event"] == "click_refused" and entry["details"]["code"] == "unknown"


@pytest.mark.parametrize(
    "forged",
    [
        json.dumps({"request_id": "x", "params": {"instance_ids": ["i-0aaaaaaaaaaaaaaaa"]}}),
        "apr-ZZZ",
        "",
    ],
)
def test_forged_button_values_are_refused(penny, aws, fake_slack, forged):
    app = penny()
    _, request_id, ts = stop_request(app, aws, fake_slack)
    click(app, forged, ALICE, ts)
    assert_refused(
        app, fake_slack, aws, request_id, ALICE, "forged", "does not match a request card"
    )
    assert st.get_request(app.deps.store, request_id).state == "pending"


def test_a_real_id_on_another_card_is_refused(penny, aws, fake_slack):
    app = penny()
    _, first_id, first_ts = stop_request(app, aws, fake_slack)
    _, second_id, second_ts = stop_request(app, aws, fake_slack)
    click(app, first_id, ALICE, second_ts)  # value swapped to the other request's id
    assert_refused(app, fake_slack, aws, first_id, ALICE, "forged", "does not match a request card")
    assert {st.get_request(app.deps.store, i).state for i in (first_id, second_id)} == {"pending"}


# -- restarts -------------------------------------------------------------------------------


def test_restart_while_executing_needs_a_human_check(penny, aws, fake_slack, tmp_path):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    store = app.deps.store
    request = st.get_request(store, request_id)
    approved = replace(request, state="approved", decided_by=ALICE, decided_at=T0)
    assert st.save_transition(store, request, approved, T0)
    approved = st.get_request(store, request_id)
    assert st.save_transition(store, approved, replace(approved, state="executing"), T0)
    # "the process died" here; a new process starts on the same database file
    restarted = penny(store=open_store(store.path))
    counts = recover_after_restart(restarted.deps)
    assert counts["needs_check"] == 1
    assert st.get_request(restarted.deps.store, request_id).state == "needs_check"
    assert "Needs a human check" in card_text(fake_slack, ts)
    click(restarted, request_id, BOB, ts)
    assert "now needs check" in ephemerals_to(fake_slack, BOB)[0]
    assert aws.calls["ec2:StopInstances"] == 0 and ec2_state(aws, iid) == "running"


def test_pending_requests_stay_decidable_after_a_restart(penny, aws, fake_slack):
    app = penny()
    iid, request_id, ts = stop_request(app, aws, fake_slack)
    restarted = penny(store=open_store(app.deps.store.path))
    recover_after_restart(restarted.deps)
    assert st.get_request(restarted.deps.store, request_id).state == "pending"
    click(restarted, request_id, ALICE, ts)
    assert ec2_state(aws, iid) == "stopped"


# -- /penny subcommands ---------------------------------------------------------------------


def test_bad_arguments_get_usage_and_the_closest_choice(penny, aws, fake_slack):
    app = penny()
    slash(app, 'stop-ec2 i-0123456789abcdef0 --reson "idle"')
    slash(app, "stop-ec2 i-xyz")
    slash(app, "s3-lifecycle logs-bucket --glacier-days soon")
    slash(app, "approve-spend lots of money")
    texts = ephemerals_to(fake_slack, REQUESTER)
    assert "unknown option `--reson`. Did you mean `--reason`?" in texts[0]
    assert "Usage: `/penny stop-ec2 <instance-id>..." in texts[0]
    assert "matching i-[0-9a-f]{8,17}" in texts[1]
    assert "needs a whole number of days" in texts[2]
    assert "is not an amount in dollars" in texts[3]
    assert fake_slack.messages.get(CHANNEL, []) == []


def test_s3_lifecycle_and_approve_spend_through_penny(penny, aws, fake_slack):
    app = penny()
    aws().client("s3").create_bucket(Bucket="logs-bucket")
    slash(app, "s3-lifecycle logs-bucket --prefix logs/ --glacier-days 30 --expire-days 365")
    request_id, ts, _ = latest_card(fake_slack)
    click(app, request_id, ALICE, ts)
    rules = aws().client("s3").get_bucket_lifecycle_configuration(Bucket="logs-bucket")["Rules"]
    assert [r["ID"] for r in rules] == ["penny-logs/"]
    slash(app, 'approve-spend $1,500 GPU training run --service "Amazon EC2"')
    request_id, ts, _ = latest_card(fake_slack)
    click(app, request_id, BOB, ts)
    [row] = st.list_spend_approvals(app.deps.store, T0 - timedelta(days=1))
    assert (row["amount_usd"], row["purpose"], row["approved_by"]) == (
        1500.0,
        "GPU training run",
        BOB,
    )


def test_penny_approvals_lists_open_requests_with_links(penny, aws, fake_slack):
    app = penny()
    _, request_id, ts = stop_request(app, aws, fake_slack)
    slash(app, "approvals", user=MALLORY)
    [call] = [c for c in fake_slack.calls_to("chat.postEphemeral") if c.body["user"] == MALLORY]
    text = json.dumps(call.body["blocks"])
    assert request_id in text and f"/archives/{CHANNEL}/p{ts.replace('.', '')}" in text


def test_penny_audit_is_for_approvers_only(penny, aws, fake_slack):
    app = penny()
    stop_request(app, aws, fake_slack)
    slash(app, "audit 5", user=MALLORY)
    assert "Only approvers can do that" in ephemerals_to(fake_slack, MALLORY)[0]
    slash(app, "audit 5", user=ALICE)
    [call] = [c for c in fake_slack.calls_to("chat.postEphemeral") if c.body["user"] == ALICE]
    text = json.dumps(call.body["blocks"])
    assert "*requested* by <@UREQUESTER>" in text and "*card_posted*" in text
