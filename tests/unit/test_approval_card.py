"""Approval card builders as data, including Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core import ids
from bot.core.approvals import Approval, ResourceOutcome
from bot.core.blocks.approval_card import (
    build_approval_card,
    build_approvals_list,
    build_audit_list,
    build_card_for_state,
    build_deny_reason_modal,
    build_needs_check_card,
    build_outcome_card,
)
from tests.approval_samples import ALICE, BOB, T0, sample_request


def all_text(blocks) -> str:
    return json.dumps(blocks)


def assert_within_slack_limits(blocks):
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


def buttons(blocks):
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_open_card_shows_what_why_who_and_effect():
    request = sample_request()
    blocks = build_approval_card(request, request.preview, "<@UALICE01> (one approval)", T0)
    text = all_text(blocks)
    for expected in (
        "stop_ec2_instances",
        "i-0123456789abcdef0",
        "123456789012",
        "us-east-1",
        "idle since March",
        "<@UREQUESTER>",
        "running (t3.micro)",
        "saves about $7.59/month",
        "medium",
        "Who may approve: <@UALICE01>",
        "2024-05-01 15:00 UTC",
    ):
        assert expected in text, expected
    assert "DRY RUN" not in text
    assert_within_slack_limits(blocks)


def test_buttons_carry_only_the_request_id():
    blocks = build_approval_card(sample_request(), None, "", T0)
    approve, deny = buttons(blocks)
    assert (approve["action_id"], approve["style"], approve["value"]) == (
        ids.APPROVE_ACTION,
        "primary",
        "apr-0123456789abcdef",
    )
    assert (deny["action_id"], deny["style"], deny["value"]) == (
        ids.DENY_ACTION,
        "danger",
        "apr-0123456789abcdef",
    )
    assert "confirm" not in approve


def test_high_risk_approve_has_a_confirmation_dialog():
    approve, _ = buttons(build_approval_card(sample_request(risk="high"), None, "", T0))
    assert approve["confirm"]["confirm"]["text"] == "Approve"
    assert len(approve["confirm"]["title"]["text"]) <= 100


def test_dry_run_banner_and_header():
    blocks = build_approval_card(sample_request(dry_run=True), None, "", T0)
    assert blocks[0]["text"]["text"].startswith("DRY RUN")
    assert "nothing will change in AWS" in all_text(blocks)


def test_parameters_are_shown_exactly_as_stored():
    params = {"bucket": "logs-bucket", "prefix": "a/`b`", "glacier_days": 30}
    text = all_text(build_approval_card(sample_request(params=params), None, "", T0))
    assert json.dumps(json.dumps(params, sort_keys=True, indent=1))[1:-1] in text


def test_long_inputs_stay_inside_limits():
    request = sample_request(
        reason="x" * 5000,
        params={"instance_ids": [f"i-{n:017x}" for n in range(400)]},
        action="a" * 300,
    )
    assert_within_slack_limits(build_approval_card(request, None, "y" * 4000, T0))
    assert_within_slack_limits(build_outcome_card(replace(request, state="failed")))


def test_states_render_without_buttons_once_decided():
    for state, expect in (
        ("denied", "Denied by <@UALICE01> at 14:02: too risky"),
        ("cancelled", "Cancelled by <@UALICE01>"),
        ("expired", "Expired at 15:00"),
        ("executing", "Re-checking the target"),
        ("needs_check", "Needs a human check"),
    ):
        request = sample_request(
            state=state,
            decided_by=ALICE,
            decided_at=T0 + timedelta(minutes=2),
            deny_reason="too risky",
        )
        text, blocks = build_card_for_state(request, "", T0)
        assert not buttons(blocks), state
        assert expect in all_text(blocks), state


def test_pending_state_keeps_buttons_and_shows_partial_approvals():
    request = sample_request(required_approvals=2, approvals=(Approval(ALICE, T0),))
    _, blocks = build_card_for_state(request, "x", T0)
    assert len(buttons(blocks)) == 2
    assert "Approved so far by <@UALICE01> at 14:00 (1 of 2)" in all_text(blocks)


def test_outcome_card_lists_each_resource():
    request = sample_request(
        state="failed",
        approvals=(Approval(ALICE, T0), Approval(BOB, T0)),
        decided_by=BOB,
        decided_at=T0,
        outcomes=(
            ResourceOutcome("i-1", "ok", "stopping"),
            ResourceOutcome("i-2", "skipped", "already stopped"),
            ResourceOutcome("i-3", "error", "UnauthorizedOperation: ec2:StopInstances"),
        ),
    )
    text = all_text(build_outcome_card(request))
    assert "Failed" in text and "Approved by <@UALICE01>, <@UBOB0001>" in text
    assert ":white_check_mark: `i-1` ok: stopping" in text
    assert ":fast_forward: `i-2` skipped" in text
    assert ":x: `i-3` error: UnauthorizedOperation" in text


def test_needs_check_card_says_no_rerun():
    text = all_text(build_needs_check_card(sample_request(state="needs_check")))
    assert "will not run it again" in text


def test_deny_modal():
    view = build_deny_reason_modal(sample_request(), '{"request_id": "apr-1"}')
    assert view["callback_id"] == ids.DENY_REASON_MODAL
    assert len(view["title"]["text"]) <= 24
    block = view["blocks"][1]
    assert (block["block_id"], block["element"]["action_id"], block["optional"]) == (
        ids.DENY_REASON_BLOCK,
        ids.DENY_REASON_INPUT,
        True,
    )


def test_approvals_list_links_to_cards():
    requests = [sample_request(), sample_request(id="apr-2", action="reboot_rds_instance")]
    blocks = build_approvals_list(requests, {"apr-2": "https://slack.example/p/1"}, T0)
    text = all_text(blocks)
    assert "<https://slack.example/p/1|reboot_rds_instance>" in text
    assert "`stop_ec2_instances`" in text and "expires in 60 min" in text
    assert_within_slack_limits(blocks)


@pytest.mark.parametrize("count", [0, 49, 200])
def test_lists_never_exceed_fifty_blocks(count):
    requests = [sample_request(id=f"apr-{n}") for n in range(count)]
    assert_within_slack_limits(build_approvals_list(requests, {}, T0))
    entries = [
        {
            "seq": n,
            "ts": T0.isoformat(),
            "actor": "U0ALICE",
            "event": "approved",
            "request_id": "apr-1",
            "details": {"message": "m" * 400},
        }
        for n in range(count)
    ]
    assert_within_slack_limits(build_audit_list(entries))


def test_audit_list_shows_event_actor_and_note():
    entries = [
        {
            "seq": 7,
            "ts": T0.isoformat(),
            "actor": "U0ALICE",
            "event": "click_refused",
            "request_id": "apr-1",
            "details": {"code": "self_approval"},
        }
    ]
    text = all_text(build_audit_list(entries))
    assert "`#7`" in text and "*click_refused* by <@U0ALICE>" in text and "self_approval" in text
