"""Parsing PENNY_APPROVERS and the [approvals] TOML policy."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from bot.core.approval_policy import ApprovalPolicyError, parse_approval_policy

KNOWN = ["stop_ec2_instances", "start_ec2_instances", "reboot_rds_instance"]
HOUR = timedelta(hours=1)


def parse(toml: str = "", env=()):
    section = tomllib.loads(toml).get("approvals", {}) if toml else {}
    return parse_approval_policy(env, section, HOUR, KNOWN)


def test_nobody_approves_by_default():
    policy = parse()
    assert policy.approvers_for("stop_ec2_instances") == ()
    assert not policy.may_approve("stop_ec2_instances", "U123")
    assert "nobody" in policy.describe_approvers("stop_ec2_instances")


def test_env_and_file_approvers_are_merged_without_duplicates():
    policy = parse('[approvals]\napprovers = ["U0BOB", "U0ALICE"]', env=("U0ALICE",))
    assert policy.approvers_for("x") == ("U0ALICE", "U0BOB")


def test_defaults_self_approval_low_only_and_one_approval():
    policy = parse()
    assert policy.self_approval_allowed("a", "low")
    assert not policy.self_approval_allowed("a", "medium")
    assert not policy.self_approval_allowed("a", "high")
    assert [policy.required_for("a", r) for r in ("low", "medium", "high")] == [1, 1, 1]
    assert policy.ttl_for("a") == HOUR


def test_full_policy_with_per_action_overrides():
    policy = parse(
        """
[approvals]
approvers = ["U0ALICE"]
ttl = "30m"
allow_self_approval = { medium = true }
required_approvals = { high = 2 }

[approvals.actions.stop_ec2_instances]
approvers = ["S0OPS"]
required_approvals = 3
allow_self_approval = false
ttl = "15m"
"""
    )
    assert policy.ttl_for("start_ec2_instances") == timedelta(minutes=30)
    assert policy.ttl_for("stop_ec2_instances") == timedelta(minutes=15)
    assert policy.required_for("start_ec2_instances", "high") == 2
    assert policy.required_for("stop_ec2_instances", "low") == 3
    assert policy.self_approval_allowed("start_ec2_instances", "medium")
    assert not policy.self_approval_allowed("stop_ec2_instances", "low")
    # per-action approvers replace the defaults for that action only
    assert not policy.may_approve("stop_ec2_instances", "U0ALICE")
    assert policy.may_approve("stop_ec2_instances", "U0X", {"S0OPS": frozenset({"U0X"})})
    assert policy.group_ids_for("stop_ec2_instances") == ("S0OPS",)
    assert policy.all_group_ids() == ("S0OPS",)
    assert "<!subteam^S0OPS>" in policy.summary("stop_ec2_instances", "high")
    assert "3 distinct approvers" in policy.summary("stop_ec2_instances", "high")


def test_is_approver_anywhere_covers_per_action_lists():
    policy = parse('[approvals.actions.reboot_rds_instance]\napprovers = ["U0DBA"]')
    assert policy.is_approver_anywhere("U0DBA")
    assert not policy.is_approver_anywhere("U0OTHER")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[approvals]\napprover = ["U1"]', "unknown key 'approver'; valid: approvers, ttl"),
        ('[approvals]\napprovers = ["alice"]', "alice are not Slack user"),
        ('[approvals]\nttl = "soon"', "ttl 'soon' is not a duration"),
        (
            "[approvals]\nrequired_approvals = { critical = 2 }",
            "unknown risk 'critical'; valid: low, medium, high",
        ),
        ("[approvals]\nrequired_approvals = { high = 0 }", "from 1 to 5"),
        ('[approvals]\nallow_self_approval = { low = "yes" }', "must be true or false"),
        (
            '[approvals.actions.stop_ec2]\napprovers = ["U1"]',
            "unknown action; valid: reboot_rds_instance, start_ec2_instances, stop_ec2_instances",
        ),
        (
            "[approvals.actions.stop_ec2_instances]\nrisk = 1",
            "unknown key 'risk'; valid: approvers, ttl, allow_self_approval, required_approvals",
        ),
    ],
)
def test_validation_errors_name_the_valid_choices(toml, expected):
    with pytest.raises(ApprovalPolicyError) as err:
        parse(toml)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_every_problem_is_reported_at_once():
    with pytest.raises(ApprovalPolicyError) as err:
        parse('[approvals]\nttl = "x"\napprovers = ["bad"]\nfoo = 1')
    assert len(err.value.problems) == 3
