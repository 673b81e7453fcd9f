"""`approve_spend`: record that a person approved spending an amount for a purpose.

Budget alerts and reports read these through `bot.store.approvals.list_spend_approvals`.
It changes nothing in AWS; in a dry run it only says what it would record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.store.approvals import record_spend_approval
from tools.actions.base import (
    OUTCOME_OK,
    OUTCOME_SKIPPED,
    ActionContext,
    ActionUnit,
    ParamSpec,
    Preview,
    ResourceOutcome,
)


class ApproveSpend(ActionUnit):
    """Record a spend approval (amount in USD, purpose, optional account and service)."""

    name = "approve_spend"
    title = "Approve spend"
    risk = "medium"
    permissions = ()
    params = (
        ParamSpec("amount_usd", "float", minimum=0.01, maximum=10_000_000),
        ParamSpec("purpose", "str", max_length=300, pattern=r"\S.{1,299}"),
        ParamSpec("account", "str", required=False, pattern=r"\d{12}"),
        ParamSpec("service", "str", required=False, max_length=100),
    )

    def preview(self, ctx: ActionContext, params: dict[str, Any]) -> Preview:
        """What will be recorded."""
        scope = " / ".join(x for x in (params.get("account"), params.get("service")) if x)
        return Preview(
            summary=f"Record approval to spend ${params['amount_usd']:,.2f} for: {params['purpose']}",
            current_state=(f"Scope: {scope}",) if scope else (),
            monthly_usd_effect=None,
            estimate_note="a record for budget alerts; changes nothing in AWS",
        )

    def validate(
        self, ctx: ActionContext, params: dict[str, Any], expected: Mapping[str, str]
    ) -> None:
        """Nothing in the world to re-check."""

    def execute(
        self, ctx: ActionContext, params: dict[str, Any], dry_run: bool
    ) -> list[ResourceOutcome]:
        """Record it once per request."""
        resource = f"spend:${params['amount_usd']:,.2f}"
        if dry_run:
            return [
                ResourceOutcome(resource, OUTCOME_OK, "DRY RUN: would record this spend approval")
            ]
        recorded = record_spend_approval(
            ctx.store,
            ctx.request_id,
            float(params["amount_usd"]),
            params["purpose"],
            ctx.requested_by,
            ctx.approved_by,
            ctx.now,
            account=params.get("account"),
            service=params.get("service"),
        )
        if not recorded:
            return [ResourceOutcome(resource, OUTCOME_SKIPPED, "already recorded for this request")]
        return [ResourceOutcome(resource, OUTCOME_OK, "recorded")]
