"""The approval state machine and the click decision, as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core import approvals as ap
from bot.core.approval_policy import ActionPolicy
from bot.core.approvals import (
    Approval,
    InvalidTransition,
    ResourceOutcome,
    check_transition,
    decide,
    outcome_state,
    with_approval,
)
from tests.approval_samples import ALICE, BOB, MALLORY, REQUESTER, T0, sample_policy, sample_request


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("pending", "approved"),
        ("pending", "denied"),
        ("pending", "expired"),
        ("pending", "cancelled"),
        ("approved", "executing"),
        ("executing", "succeeded"),
        ("executing", "failed"),
        ("executing", "needs_check"),
    ],
)
def test_allowed_transitions(current, new):
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("pending", "executing"),
        ("pending", "succeeded"),
        ("succeeded", "executing"),
        ("denied", "approved"),
        ("expired", "approved"),
        ("needs_check", "executing"),
        ("executing", "pending"),
    ],
)
def test_forbidden_transitions_raise_naming_allowed_moves(current, new):
    with pytest.raises(InvalidTransition, match="allowed"):
        check_transition(current, new)


def test_every_state_has_a_row_and_final_states_go_nowhere():
    assert set(ap.TRANSITIONS) == set(ap.STATES)
    for state in ap.FINAL_STATES:
        assert ap.TRANSITIONS[state] == frozenset()


def test_approver_click_approves():
    d = decide(sample_request(), ALICE, sample_policy(), T0 + timedelta(minutes=1))
    assert (d.allowed, d.code, d.new_state, d.completes) == (True, "ok", "approved", True)


def test_unknown_request_is_refused():
    d = decide(None, ALICE, sample_policy(), T0)
    assert not d.allowed and d.code == "unknown"


def test_non_approver_is_refused_and_told_who_may():
    d = decide(sample_request(), MALLORY, sample_policy(), T0)
    assert not d.allowed and d.code == "not_approver"
    assert f"<@{ALICE}>" in d.message


def test_nobody_is_an_approver_by_default():
    d = decide(sample_request(), ALICE, sample_policy(default_approvers=()), T0)
    assert d.code == "not_approver" and "nobody" in d.message


def test_user_group_membership_counts():
    policy = sample_policy(default_approvers=("S0OPS",))
    d = decide(sample_request(), MALLORY, policy, T0, group_members={"S0OPS": frozenset({MALLORY})})
    assert d.allowed
    assert not decide(sample_request(), MALLORY, policy, T0, group_members={}).allowed


def test_self_approval_refused_for_medium_risk():
    policy = sample_policy(default_approvers=(REQUESTER, ALICE))
    d = decide(sample_request(), REQUESTER, policy, T0)
    assert not d.allowed and d.code == "self_approval"


def test_self_approval_allowed_for_low_risk_by_default():
    policy = sample_policy(default_approvers=(REQUESTER,))
    assert decide(sample_request(risk="low"), REQUESTER, policy, T0).allowed


def test_self_approval_allowed_when_the_action_policy_says_so():
    policy = sample_policy(
        default_approvers=(REQUESTER,),
        actions={"stop_ec2_instances": ActionPolicy(allow_self_approval=True)},
    )
    assert decide(sample_request(risk="high"), REQUESTER, policy, T0).allowed


def test_expired_request_is_refused_even_if_still_pending_in_the_store():
    d = decide(sample_request(), ALICE, sample_policy(), T0 + timedelta(hours=1))
    assert not d.allowed and d.code == "expired" and "expired at 15:00" in d.message


def test_already_decided_names_who_and_when():
    request = sample_request(
        state="succeeded", decided_by=ALICE, decided_at=T0 + timedelta(minutes=2)
    )
    d = decide(request, BOB, sample_policy(), T0 + timedelta(minutes=5))
    assert not d.allowed and d.code == "already_decided"
    assert d.message.startswith(f"This request was already approved by <@{ALICE}> at 14:02")


def test_already_denied_message():
    request = sample_request(state="denied", decided_by=BOB, decided_at=T0)
    assert (
        "already denied by <@UBOB0001> at 14:00"
        in decide(request, ALICE, sample_policy(), T0).message
    )


def test_two_approver_rule_needs_a_second_distinct_person():
    policy = sample_policy(required_approvals={"low": 1, "medium": 1, "high": 2})
    request = sample_request(risk="high", required_approvals=2)
    first = decide(request, ALICE, policy, T0)
    assert (first.allowed, first.code, first.completes, first.new_state) == (
        True,
        "needs_second",
        False,
        None,
    )
    request = with_approval(request, ALICE, T0)
    again = decide(request, ALICE, policy, T0)
    assert not again.allowed and again.code == "already_approved_by_you"
    second = decide(request, BOB, policy, T0)
    assert second.allowed and second.completes and second.new_state == "approved"


def test_deny_by_approver_denies_and_by_requester_cancels():
    assert decide(sample_request(), ALICE, sample_policy(), T0, kind="deny").new_state == "denied"
    assert (
        decide(sample_request(), REQUESTER, sample_policy(), T0, kind="deny").new_state
        == "cancelled"
    )
    refused = decide(sample_request(), MALLORY, sample_policy(), T0, kind="deny")
    assert not refused.allowed and refused.code == "not_approver"


def test_outcome_state_fails_on_any_error():
    ok = ResourceOutcome("i-1", "ok")
    assert outcome_state([ok, ResourceOutcome("i-2", "skipped")]) == "succeeded"
    assert outcome_state([ok, ResourceOutcome("i-2", "error", "boom")]) == "failed"


def test_request_round_trips_its_parts():
    request = with_approval(sample_request(), ALICE, T0)
    assert request.approvals == (Approval(ALICE, T0),)
    assert request.approvers_so_far() == (ALICE,)
    assert replace(request, state="denied").is_open is False
