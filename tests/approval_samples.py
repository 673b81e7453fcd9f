"""Sample approval requests and policies shared by the approval tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.approval_policy import ApprovalPolicy
from bot.core.approvals import ApprovalRequest, Preview

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
REQUESTER = "UREQUESTER"
ALICE = "UALICE01"
BOB = "UBOB0001"
MALLORY = "UMALLORY1"


def sample_request(**overrides: Any) -> ApprovalRequest:
    """A pending medium-risk stop_ec2_instances request created at T0, open for an hour."""
    base = ApprovalRequest(
        id="apr-0123456789abcdef",
        action="stop_ec2_instances",
        params={"instance_ids": ["i-0123456789abcdef0"]},
        account="123456789012",
        region="us-east-1",
        reason="idle since March",
        requested_by=REQUESTER,
        channel="C0OPS",
        risk="medium",
        dry_run=False,
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
        preview=Preview(
            summary="Stop 1 EC2 instance(s)",
            current_state=("i-0123456789abcdef0: running (t3.micro)",),
            monthly_usd_effect=-7.59,
            expected={"i-0123456789abcdef0": "running"},
        ),
    )
    return replace(base, **overrides)


def sample_policy(**overrides: Any) -> ApprovalPolicy:
    """Alice and Bob approve everything; defaults otherwise."""
    return replace(ApprovalPolicy(default_approvers=(ALICE, BOB)), **overrides)
